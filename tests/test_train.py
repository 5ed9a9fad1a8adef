"""Training: the loss falls, and a resumed run is bit-for-bit the uninterrupted one."""
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from basic_codec.structure import Structure
from basic_codec.train.loop import TrainConfig, batch_loss, train
from basic_codec.weights import load_weights


def _data_dir(d):
    """Six crops of the sample image: a tiny training folder."""
    d.mkdir(parents=True, exist_ok=True)
    img = np.asarray(Image.open(__import__("tests.conftest", fromlist=["SAMPLE"]).SAMPLE).convert("RGB"))
    for i in range(6):
        Image.fromarray(img[i * 40 : i * 40 + 160, i * 60 : i * 60 + 200]).save(d / f"img{i}.png")
    return d


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, crop):
    return _data_dir(tmp_path_factory.mktemp("data"))


def _eval_loss(model, x):
    torch.manual_seed(123)
    s = Structure.uniform(len(model.cfg.widths) - 1, 4)
    with torch.no_grad():
        loss, _ = batch_loss(model, x, torch.full((x.shape[0],), 0.5), s)
    return float(loss)


@pytest.mark.parametrize("bf16", [False, True])
def test_loss_falls(tmp_path, data_dir, bf16):
    tc = TrainConfig(data=str(data_dir), out=str(tmp_path / "run"), config="tiny", steps=60, batch=4,
                     crop=64, lr=5e-4, warmup=5, checkpoint_minutes=100, bf16=bf16)
    from basic_codec.codec import BasicModel
    from basic_codec.config import preset
    from basic_codec.train.data import CropSampler, list_images

    x = CropSampler(list_images(data_dir), 64).batch(4, np.random.default_rng(5))
    torch.manual_seed(tc.seed)
    before = _eval_loss(BasicModel(preset("tiny")), x)  # same init as the run (same seed)
    model, _, _ = load_weights(train(tc))
    after = _eval_loss(model, x)
    assert after < 0.8 * before, (before, after)


@pytest.mark.parametrize("options", [{}, {"ema": 0.9, "downscale": 0.5, "rate_sandwich": True}],
                         ids=["plain", "ema-downscale-sandwich"])
def test_resume_is_exact(tmp_path, data_dir, options):
    common = dict(data=str(data_dir), config="tiny", steps=10, batch=2, crop=64, lr=1e-3, warmup=2, **options)
    straight = train(TrainConfig(out=str(tmp_path / "a"), **common))
    train(TrainConfig(out=str(tmp_path / "b"), stop_after=4, **common))
    train(TrainConfig(out=str(tmp_path / "b"), stop_after=3, **common))
    resumed = train(TrainConfig(out=str(tmp_path / "b"), **common))
    a, b = load_file(str(straight)), load_file(str(resumed))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # export turns the checkpoint into the same weights the run wrote (no optimizer state)
    from basic_codec.cli import main

    assert main(["export", str(tmp_path / "b"), str(tmp_path / "exported.safetensors")]) == 0
    e = load_file(str(tmp_path / "exported.safetensors"))
    assert e.keys() == b.keys() and all(torch.equal(e[k], b[k]) for k in e)


def test_bf16_keeps_the_entropy_model_in_float32(data_dir):
    """--bf16 runs the networks in bfloat16 but hands float32 to noise, likelihoods and MSE,
    so the loss stays within a percent of float32's; evaluation ignores the flag."""
    from basic_codec.codec import BasicModel
    from basic_codec.config import preset
    from basic_codec.train.data import CropSampler, list_images

    torch.manual_seed(0)
    model = BasicModel(preset("tiny"))
    with torch.no_grad():  # an untrained y rounds to 0 everywhere (x_hat = g_s(0) = 0 whatever the dtype)
        model.g_a.convs[3].weight.mul_(30.0)
    x = CropSampler(list_images(data_dir), 64).batch(4, np.random.default_rng(5))
    q = torch.full((4,), 0.5)
    s = Structure.uniform(1, 4)
    losses = {}
    for bf16 in (False, True):
        model.set_training(bf16=bf16)
        torch.manual_seed(1)
        out = model(x, q, s)
        assert all(out[k].dtype == torch.float32 for k in ("x_hat", "bits_y", "bits_z"))
        losses[bf16], _ = batch_loss(model, x, q, s)
    assert losses[True].item() != losses[False].item()  # bfloat16 did run
    assert abs(losses[True].item() / losses[False].item() - 1) < 0.01
    losses[True].backward()
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in model.parameters())
    model.eval()
    a = model(x, q, s, noise=False)
    model.set_training(bf16=False)
    b = model(x, q, s, noise=False)
    assert torch.equal(a["x_hat"], b["x_hat"]) and torch.equal(a["bits_y"], b["bits_y"])


def test_ema_is_what_gets_exported(tmp_path, data_dir):
    """With --ema the exported weights are the average, not the last step's weights."""
    common = dict(data=str(data_dir), config="tiny", steps=6, batch=2, crop=64, lr=1e-3, warmup=2)
    plain = load_file(str(train(TrainConfig(out=str(tmp_path / "a"), **common))))
    averaged = load_file(str(train(TrainConfig(out=str(tmp_path / "b"), ema=0.5, **common))))
    key = "g_a.convs.0.weight"
    assert not torch.equal(plain[key], averaged[key])


def test_downscaled_crops_have_the_crop_size(data_dir):
    from basic_codec.train.data import CropSampler, list_images

    rng = np.random.default_rng(0)
    full = CropSampler(list_images(data_dir), 64).batch(6, np.random.default_rng(0))
    small = CropSampler(list_images(data_dir), 64, downscale=0.5).batch(6, rng)
    assert small.shape == full.shape == (6, 3, 64, 64)
    assert not torch.equal(small, full)
