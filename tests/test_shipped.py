"""The shipped weights on a Kodak crop: every level round-trips, re-encodes to the same bytes,
decodes to the same symbols with 1 and 2 threads (pixels within one level: g_s runs in float on
every core), and codes within 2 % of its own estimate."""
import numpy as np
import pytest
import torch
from PIL import Image

from basic_codec.bench.metrics import psnr

from .conftest import KODAK, shared



@pytest.fixture(scope="module")
def shipped():
    import basic_codec

    return basic_codec.load()


@pytest.fixture(scope="module")
def kodak_crop():
    path = shared(KODAK / "kodim23.png")
    return np.asarray(Image.open(path).convert("RGB"))[100:420, 200:584]  # 384 x 320


def test_every_level_is_exact_and_deterministic(shipped, kodak_crop):
    assert len(shipped.levels) >= 6
    decs = [lv.dec_kmac_per_px for lv in shipped.levels]
    assert decs == sorted(decs) and decs[-1] >= 10 * decs[0]
    old = torch.get_num_threads()
    try:
        for lv in shipped.levels:
            torch.set_num_threads(1)
            rep = shipped.compress_report(kodak_crop, 0.5, level=lv.level)
            px1 = np.asarray(shipped.decompress(rep.data))
            torch.set_num_threads(2)
            again = shipped.compress(kodak_crop, 0.5, level=lv.level)
            px2 = np.asarray(shipped.decompress(rep.data))
            assert again == rep.data, f"level {lv.level}: re-encode differs"
            assert px1.shape == kodak_crop.shape, f"level {lv.level}"
            assert np.abs(px1.astype(int) - px2).max() <= 1, f"level {lv.level}"
            db = psnr(kodak_crop, px1)
            assert db > 20, f"level {lv.level}: {db:.1f} dB"
            # ANS spends at most a couple of words over the ideal code length per stream
            est = rep.est_payload_bits / 8
            assert 0.98 * est - 16 <= rep.payload_bytes <= 1.02 * est + 16, (lv.level, rep.payload_bytes, est)
    finally:
        torch.set_num_threads(old)
