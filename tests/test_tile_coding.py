"""The exact entropy path over tiles (format version 3): each tile's coding distributions are
what one pass over the whole image gives (h_s reads the neighbours' z, the context their
decoded partites), so the tiles' symbols equal the whole image's, cut into tiles. The reaches
in tile_coding are the smallest that do this (one less fails). Version-2 files, whose tiles
were coded each on its own, still decode."""
import numpy as np
import pytest
import torch

from basic_codec import format as fmt
from basic_codec import tile_coding as tc
from basic_codec import tiling
from basic_codec.errors import FormatError

H, W, TILE = 384, 320, 128  # 3 x 3 tiles of the tiny model


@pytest.fixture(scope="module")
def latents(tiny_codec):
    from PIL import Image

    from .conftest import SAMPLE

    img = np.asarray(Image.open(SAMPLE).convert("RGB"))[:H, :W]
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() / 255
    s = tiny_codec.levels[-1].structure
    y = tiling.analyse(tiny_codec.model, x, 0.7, s, TILE)
    return tiny_codec.model, s, y, tiling.windows(H, W, TILE)


def _whole_symbols(model, s, y, z):
    """One tile over the whole latent: (z symbol map, y symbol map)."""
    code = tc.encode(model, y, z, s, [tc.alone(*y.shape[2:])], 1)[0][0]
    z_sym, sym_map = tc.decode(model, [code], s, [tc.alone(*y.shape[2:])], tc.Reach(), 1)[1][0]
    return z_sym.reshape(model.cfg.hyper_channels, *z.shape[2:]), sym_map[0]


def _tiles_match(model, s, y, z, wins, reach) -> bool:
    z_map, y_map = _whole_symbols(model, s, y, z)
    for (z_sym, _, crc), win in zip(tc.symbols(model, y, z, s, wins, 2, reach), wins):
        cy, cx, ch, cw = win.core
        zy, zx, zh, zw = tc.z_core(win)
        if not np.array_equal(z_sym, z_map[:, zy:zy + zh, zx:zx + zw].reshape(-1)):
            return False
        if tc.checksum(z_sym, y_map[:, cy:cy + ch, cx:cx + cw].contiguous()) != crc:
            return False
    return True


def test_tiles_code_what_one_pass_codes(latents):
    model, s, y, wins = latents
    assert len(wins) == 9
    z = tc.hyper_analyse(model, y, s, wins, 2)
    assert torch.equal(z, tc.hyper_analyse(model, y, s, [tc.alone(*y.shape[2:])], 1))
    assert _tiles_match(model, s, y, z, wins, tc.Reach())
    # one less reach anywhere and the tiles no longer code what one pass does
    assert not torch.equal(z, tc.hyper_analyse(model, y, s, wins, 2, reach=tc.H_A_REACH - 1))
    assert not _tiles_match(model, s, y, z, wins, tc.Reach(tc.H_S_REACH - 1, tc.CONTEXT_REACH))
    assert not _tiles_match(model, s, y, z, wins, tc.Reach(tc.H_S_REACH, tc.CONTEXT_REACH - 1))


def test_multi_tile_files_round_trip_and_name_the_broken_tile(tiny_codec):
    from PIL import Image

    from .conftest import SAMPLE

    img = np.ascontiguousarray(np.asarray(Image.open(SAMPLE).convert("RGB"))[:H, :W])
    data = tiny_codec.compress(img, 0.5)
    f = fmt.unpack(data)
    assert f.version == fmt.VERSION == 3 and len(f.tiles) == 9
    out = np.asarray(tiny_codec.decompress(data))
    assert out.shape == img.shape
    # the same tiles decoded each on its own (version 2's rule) are refused at tile 0
    f.version = 2
    with pytest.raises(FormatError, match="in tile 0$"):
        tiny_codec.decompress(fmt.pack(f))


def test_version_2_files_still_decode(tiny_codec, latents):
    """A version-2 file: each tile's entropy model on its own. This build still reads it."""
    model, s, y, wins = latents
    z = torch.cat([torch.cat([tc.hyper_analyse(model, y[:, :, r:r + 8, c:c + 8], s, [tc.alone(8, 8)], 1)
                              for c in range(0, y.shape[3], 8)], 3) for r in range(0, y.shape[2], 8)], 2)
    codes = [code for code, _ in tc.encode(model, y, z, s, wins, 2, reach=tc.ALONE)]
    alone = [model.decode_tile(code, 0.7, s, win.core[2] * 16, win.core[3] * 16) for code, win in zip(codes, wins)]
    level = next(lv.level for lv in tiny_codec.levels if lv.structure == s)
    f = fmt.BsicFile(tiny_codec.model_id, H, W, "RGB", fmt.quantize_quality(0.7), level,
                     (*s.indices, s.partites), TILE, codes, version=2)
    out = np.asarray(tiny_codec.decompress(fmt.pack(f))).astype(int)
    assert out.shape == (H, W, 3)
    # its latents are each tile's own: synthesised each alone they give the picture up to the
    # seams the seamless synthesis removes (compare the tiles' centres)
    full = [(x_hat, win) for x_hat, win in zip(alone, wins) if win.core[2:] == (8, 8)]
    assert len(full) == 6
    for x_hat, win in full:
        cy, cx = win.core[0] * 16, win.core[1] * 16
        centre = x_hat[0].mul(255).round().permute(1, 2, 0).numpy()[40:88, 40:88]
        assert np.abs(out[cy + 40:cy + 88, cx + 40:cx + 88] - centre).max() <= 1
    f.version = 3  # read as tiles that see their neighbours, the streams no longer fit
    with pytest.raises(FormatError, match="in tile 0$"):
        tiny_codec.decompress(fmt.pack(f))
