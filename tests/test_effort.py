"""Encoder effort: refining the latents lowers the real RD loss (bytes of the file, pixels the
unchanged decoder gives), gives the same bytes for the same input, and is refused when silly."""
import numpy as np
import pytest

from basic_codec.errors import InputError
from basic_codec.ops.metrics import rd_loss


def file_rd_loss(codec, img, data, q):
    """The objective on what a user gets: the file's bytes and the decoded picture."""
    out = np.asarray(codec.decompress(data)).astype(np.float64)
    return rd_loss(8 * len(data) / (img.shape[0] * img.shape[1]), np.mean((out / 255 - img / 255) ** 2),
                   codec.cfg.lmbda(q))


@pytest.mark.parametrize("level", [0, -1])
def test_effort_lowers_the_rd_loss(tiny_codec, crop, level):
    img = np.ascontiguousarray(crop[:64, :96])
    lv = tiny_codec.levels[level].level
    q = 0.7
    base = tiny_codec.compress(img, q, level=lv)
    refined = tiny_codec.compress(img, q, level=lv, effort=3)
    assert refined != base
    assert file_rd_loss(tiny_codec, img, refined, q) < file_rd_loss(tiny_codec, img, base, q)
    assert tiny_codec.compress(img, q, level=lv, effort=3) == refined  # same input, same bytes


def test_effort_on_several_tiles_and_bad_values(tiny_codec, crop):
    img = np.ascontiguousarray(crop[:136, :200])  # 2 x 2 tiles of 128
    data = tiny_codec.compress(img, 0.5, effort=1)
    assert np.asarray(tiny_codec.decompress(data)).shape == img.shape
    for bad in (-1, 10, 1.5, "3", True):
        with pytest.raises(InputError, match="effort"):
            tiny_codec.compress(img, 0.5, effort=bad)
