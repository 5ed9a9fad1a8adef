"""The analytic MAC count must equal what the layers really execute (counted by forward hooks)."""
import pytest
import torch
from torch import nn

from basic_codec.codec import BasicModel
from basic_codec.config import preset
from basic_codec.nn import SlimConv2d, SlimConvTranspose2d, SlimGDN
from basic_codec.structure import Structure, cost


class HookCounter:
    def __init__(self, model: nn.Module) -> None:
        self.macs = 0
        self.handles = [m.register_forward_hook(self.hook) for m in model.modules()
                        if isinstance(m, (SlimConv2d, SlimConvTranspose2d, SlimGDN, nn.Conv2d))]

    def hook(self, module, inputs, output) -> None:
        x = inputs[0]
        if isinstance(module, SlimGDN):
            self.macs += x[0].numel() * x.shape[1]
        elif isinstance(module, SlimConvTranspose2d):  # per input position
            self.macs += x[0].numel() * output.shape[1] * module.kernel**2
        else:
            k = module.kernel if isinstance(module, SlimConv2d) else module.kernel_size[0]
            self.macs += output[0].numel() * x.shape[1] * k * k

    def close(self) -> None:
        for h in self.handles:
            h.remove()


@pytest.mark.parametrize("name", ["tiny", "basic-s"])
def test_analytic_macs_match_hooks(name):
    torch.manual_seed(0)
    model = BasicModel(preset(name)).eval()
    model.freeze()
    cfg = model.cfg
    h, w = 128, 192
    x = torch.rand(1, 3, h, w)
    n = len(cfg.widths)
    structures = [Structure.uniform(0, 1), Structure.uniform(n - 1, 8), Structure(0, n - 1, 1 % n, n - 1, 2),
                  Structure(n - 1, 0, 0, 1 % n, 4)]
    for s in structures:
        enc = HookCounter(model)
        code, _ = model.encode_tile(model.analyse(x, 0.5, s), s)
        enc.close()
        dec = HookCounter(model)
        model.decode_tile(code, 0.5, s, h, w)
        dec.close()
        expected = cost(cfg, s, model.steps(s))
        assert enc.macs / (h * w) == pytest.approx(expected.encoder, rel=1e-9), s
        assert dec.macs / (h * w) == pytest.approx(expected.decoder, rel=1e-9), s


def test_top_level_costs_10x_bottom():
    from basic_codec.structure import default_structures, make_levels

    cfg = preset("basic-s")
    levels = make_levels(cfg, default_structures(cfg))
    assert levels[-1].dec_kmac_per_px >= 10 * levels[0].dec_kmac_per_px
    assert [lv.dec_kmac_per_px for lv in levels] == sorted(lv.dec_kmac_per_px for lv in levels)
