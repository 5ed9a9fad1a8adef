"""Files coded under one set of kernels decode under another: every level, three qualities,
real photos, oneDNN on/off in both directions with 1 and 2 threads. The float32 transforms
differ in their last bits between these settings; the symbols must not."""
import numpy as np
import pytest
from PIL import Image

from basic_codec.bench.kernels import CROSSINGS, cross_code

from .conftest import KODAK, SAMPLE



def photos() -> list[np.ndarray]:
    out = [np.asarray(Image.open(SAMPLE).convert("RGB"))[64:256, 96:352]]  # 256 x 192
    kodak = KODAK / "kodim05.png"  # the image of the report; evaluation only
    if kodak.exists():
        out.append(np.asarray(Image.open(kodak).convert("RGB"))[200:392, 300:556])
    return out


@pytest.fixture(scope="module")
def shipped():
    import basic_codec

    return basic_codec.load()


def test_every_level_decodes_under_other_kernels(shipped):
    failures, n = [], 0
    for p, img in enumerate(photos()):
        for lv in shipped.levels:
            for q in (0.0, 0.5, 1.0):
                enc, dec = CROSSINGS[n % len(CROSSINGS)]
                n += 1
                problem = cross_code(shipped, img, q, lv.level, enc, dec)
                if problem:
                    failures.append(f"photo {p} level {lv.level} q {q}: {problem}")
    assert n >= 30
    assert not failures, "\n".join(failures)
