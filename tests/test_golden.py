"""Golden files (tests/golden/, written once by scripts/make_golden.py with the shipped weights):
they decode under every kernel setting to the very symbols they were written with, and to
pixels within one level of the reference decode (g_s runs in float and may use every core)."""
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from basic_codec.bench.kernels import OFF1, OFF2, ON1, ON2, symbols_sha256

from .conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
META = json.loads((GOLDEN / "golden.json").read_text())



@pytest.fixture(scope="module")
def shipped():
    import basic_codec

    codec = basic_codec.load()
    if codec.model_id.hex() != META["model_id"]:
        pytest.fail(f"golden files were written by model {META['model_id']}, the shipped weights are "
                    f"{codec.model_id.hex()}: run scripts/make_golden.py")
    return codec


def test_golden_set_covers_levels_qualities_and_tiles():
    files = META["files"].values()
    assert len({f["level"] for f in files}) >= 3 and len({f["quality"] for f in files}) >= 3
    assert any(f["tiles"] >= 2 for f in files)


@pytest.mark.parametrize("name", sorted(META["files"]))
@pytest.mark.parametrize("setting", [ON2, OFF1, ON1, OFF2], ids=str)
def test_golden_file_decodes_exactly(shipped, name, setting):
    info = META["files"][name]
    data = (GOLDEN / f"{name}.bsic").read_bytes()
    ref = np.asarray(Image.open(GOLDEN / f"{name}.png"))
    with setting.active():
        assert symbols_sha256(shipped.decompress_symbols(data)) == info["symbols_sha256"]
        pixels = np.asarray(shipped.decompress(data))
    assert pixels.shape == (info["height"], info["width"], 3)
    assert np.abs(pixels.astype(int) - ref).max() <= 1
    assert hashlib.sha256(ref.tobytes()).hexdigest() == info["pixels_sha256"]


def test_encoder_still_writes_the_golden_bytes(shipped):
    """No behaviour change behind a refactor: the same crops coded again give the very files
    make_golden.py wrote. The encoder's g_a runs in float, so bytes are only promised on the CPU
    (and kernel setting) that wrote them; elsewhere only the decoder tests above apply."""
    import importlib.util

    from basic_codec.bench.run import cpu_name

    if META.get("cpu") != cpu_name():
        pytest.skip(f"golden files written on {META.get('cpu')!r}, this is {cpu_name()!r}")
    spec = importlib.util.spec_from_file_location("make_golden", ROOT / "scripts" / "make_golden.py")
    make_golden = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_golden)
    sample = np.asarray(Image.open(ROOT / "basic_codec" / "data" / "sample.png").convert("RGB"))
    with ON2.active():
        for name, img, _, q in make_golden.cases(sample):
            info = META["files"][name]
            data = shipped.compress(np.ascontiguousarray(img), q, level=info["level"])
            assert data == (GOLDEN / f"{name}.bsic").read_bytes(), name
