"""The training loop: one variable-rate model over every structure of the BayesNet.

Stage `backbone` (DESIGN.md section 2): per step a quality per image and one structure per
batch, drawn uniformly with the sandwich rule (every fourth step the widest structure, every
fourth the narrowest), partites drawn from {1, 2, 4, 8} with the current partite tables.
Stage `structure` (structure_stage.py): the controller picks the structure for a sampled
compute target and quality, partite tables are learned with VIMCO, the backbone fine-tunes.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ..ops.metrics import psnr_from_mse, rate_and_mse, rd_loss
from ..codec import BasicModel
from ..config import ModelConfig, preset
from ..errors import CodecError
from ..progress import Progress
from ..structure import Structure, cost
from ..weights import load_weights, save_weights
from .checkpoint import checkpoint_info, load_checkpoint, save_checkpoint, weights_meta
from .controller import Controller
from .structure_stage import structure_loss
from .data import CropSampler, split
from .grow import grow
from .parts import CheckpointClock, RunLog, SpikeGuard, StopRequest, lr_at, set_lr
from .distributed import setup, teardown


@dataclass
class TrainConfig:
    data: str
    out: str
    config: str | None = None  # None: the init weights' config, else basic-s; another one grows them
    steps: int = 10000
    batch: int = 8
    crop: int = 128
    lr: float = 1.5e-4  # 3e-4 diverged once on the wide structures (docs/TRAINING.md)
    min_lr: float = 1e-5
    warmup: int = 300
    clip: float = 1.0
    seed: int = 0
    checkpoint_minutes: float = 10.0
    log_every: int = 25
    max_minutes: float | None = None  # stop (with a checkpoint) after this long; --resume continues
    init_weights: str | None = None  # start from exported weights (e.g. the shipped ones)
    stop_after: int | None = None  # stop (with a checkpoint) after this many steps of this invocation
    rollback_spikes: int = 10  # this many skipped steps among the last 50: roll back, halve the lr
    max_rollbacks: int = 6
    stage: str = "backbone"  # or "structure": controller + VIMCO tables (start it from backbone weights)
    controller_lr: float = 1e-3  # peak learning rates of the structure stage's own parameters
    table_lr: float = 1e-2
    lambda_c: float = 1.0  # weight of the complexity penalty max(C - c, 0) / c
    vimco_samples: int = 2  # partite tables drawn per step (S >= 2)
    entropy_bonus: float = 0.01  # weight of the controller's entropy (without it, it collapsed in 300 steps)
    bf16: bool = False  # networks' convolutions in bfloat16 (the entropy model stays float32)
    downscale: float = 1.0  # each crop comes from the image scaled by U(downscale, 1): < 1 removes JPEG artifacts
    rate_sandwich: bool = False  # the first two images of every batch at q = 0 and q = 1
    ema: float = 0.0  # decay of an exponential moving average of the weights, exported instead (0: off)
    widest_every: int = 4  # the widest structure every this many steps (4: the sandwich rule; 2: half the steps)
    lambda_range: tuple[float, float] | None = None  # override the config's (lambda(q=0), lambda(q=1))

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {self.stage!r}")
        if self.vimco_samples < 2:
            raise ValueError("VIMCO needs at least 2 samples")
        if not 0.1 <= self.downscale <= 1.0:
            raise ValueError(f"downscale must be in [0.1, 1], got {self.downscale}")
        if self.widest_every not in (2, 4):
            raise ValueError(f"widest_every must be 2 or 4, got {self.widest_every}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema decay must be in [0, 1), got {self.ema}")
        if self.lambda_range is not None:
            lo, hi = self.lambda_range
            if not 0 < lo < hi:
                raise ValueError(f"lambda range must be 0 < low < high, got {lo}, {hi}")


STAGES = ("backbone", "structure")


def sample_structure(step: int, cfg: ModelConfig, rng: np.random.Generator, widest_every: int = 4) -> Structure:
    """The sandwich rule: the widest structure every 4th step, the narrowest the next, otherwise
    each edge's width at random; K uniform. widest_every=2 gives the widest every other step
    (the top level and the transforms' ceiling at high q need more of it, docs/TRAINING.md),
    the narrowest and a random one a quarter each."""
    if step % widest_every == 0:
        return Structure.uniform(len(cfg.widths) - 1, int(rng.choice(cfg.partite_options)))
    if step % 4 == 1:
        return Structure.uniform(0, int(rng.choice(cfg.partite_options)))
    return Structure.random(cfg, rng)


def batch_loss(model: BasicModel, x: torch.Tensor, q: torch.Tensor, s: Structure) -> tuple[torch.Tensor, dict]:
    bpp, mse = rate_and_mse(model(x, q, s), x)
    loss = rd_loss(bpp, mse, torch.tensor([model.cfg.lmbda(float(v)) for v in q])).mean()
    psnr = psnr_from_mse(mse.detach()).mean()
    return loss, {"bpp": float(bpp.detach().mean()), "mse": float(mse.detach().mean()), "psnr": float(psnr)}


def _target_config(tc: TrainConfig, current: ModelConfig) -> ModelConfig:
    """The config to train: --config's preset if it names another one, else `current`; with
    --lambda-range applied."""
    cfg = preset(tc.config) if tc.config and tc.config != current.name else current
    if tc.lambda_range is not None:
        cfg = replace(cfg, lambda_min=float(tc.lambda_range[0]), lambda_max=float(tc.lambda_range[1]))
    return cfg


def _saved_train_config(out: Path) -> dict:
    try:
        return json.loads((out / "train_config.json").read_text())
    except (OSError, ValueError):
        return {}


def train(tc: TrainConfig) -> Path:
    d = setup(tc.batch)
    out = Path(tc.out)
    out.mkdir(parents=True, exist_ok=True)
    d.barrier()
    ckpt = out / "checkpoint.safetensors"
    torch.manual_seed(tc.seed)
    rng = np.random.default_rng(tc.seed)
    prior_steps = 0
    if tc.lambda_range is None and ckpt.exists():  # a resumed run keeps the range it started with
        saved = _saved_train_config(out)
        if saved.get("lambda_range"):
            tc = replace(tc, lambda_range=tuple(saved["lambda_range"]))
    if tc.init_weights:
        model, _, init_meta = load_weights(tc.init_weights)
        prior_steps = init_meta.trained_steps
        target = _target_config(tc, model.cfg)
        if target != model.cfg:
            model = grow(model, target)  # warm start of a larger model and/or another lambda range
        model.train()
    else:
        model = BasicModel(_target_config(tc, preset(tc.config or "basic-s")))
    cfg = model.cfg
    model.set_training(bf16=tc.bf16, batch_share=(d.rank, d.world))
    modules: dict[str, torch.nn.Module] = {"model": model}
    if tc.stage == "structure":
        controller = modules["controller"] = Controller(cfg)
        tables = list(model.tables.parameters())
        backbone = [p for p in model.parameters() if all(p is not t for t in tables)]
        groups = [{"params": backbone, "peak": tc.lr}, {"params": tables, "peak": tc.table_lr},
                  {"params": list(controller.parameters()), "peak": tc.controller_lr}]
    else:
        groups = [{"params": list(model.parameters()), "peak": tc.lr}]
    params = [p for g in groups for p in g["params"]]
    optimizer = torch.optim.Adam(groups, lr=tc.lr)
    if tc.ema:
        modules["ema"] = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(tc.ema))
    step, lr_scale, rollbacks = 0, 1.0, 0
    guard = SpikeGuard(window=50, limit=tc.rollback_spikes)
    if ckpt.exists():
        saved_stage = checkpoint_info(ckpt).get("stage", "backbone")
        if saved_stage != tc.stage:
            raise CodecError(f"{ckpt} is a {saved_stage}-stage run; resume it with --stage {saved_stage}, "
                             f"or start the {tc.stage} stage in a new folder with --init-weights")
        info = load_checkpoint(ckpt, modules, optimizer, rng)
        step, guard.mean, guard.skipped = info["step"], info.get("ema"), info.get("skipped", 0)
        lr_scale, rollbacks = info.get("lr_scale", 1.0), info.get("rollbacks", 0)
        if d.main:
            print(f"resumed from {ckpt} at step {step}", flush=True)
    train_files, val_files = split(tc.data)
    sampler = CropSampler(train_files, tc.crop, tc.downscale)
    if d.main:
        (out / "train_config.json").write_text(json.dumps({**asdict(tc), "processes": d.world}, indent=2))
        print(f"{len(train_files)} training images, {len(val_files)} held out for validation"
              + (f"; {d.world} processes" if d.world > 1 else ""), flush=True)
    log = RunLog(out / "log.jsonl", tc.log_every, enabled=d.main)
    bar = Progress(tc.steps, "train", start=step, enabled=d.main)
    t_start = time.monotonic()
    clock = CheckpointClock(tc.checkpoint_minutes, last=t_start)
    first_step = step
    model.train()
    with StopRequest() as stop:  # Ctrl-C / SIGTERM: end at the next step with a checkpoint
        while step < tc.steps:
            lr = lr_at(step, tc.lr, tc.steps, tc.warmup, tc.min_lr) * lr_scale
            set_lr(optimizer, lr, tc.lr)
            # every process draws the whole global batch (same RNG) and trains on its slice
            if tc.stage == "structure":
                x = d.slice(sampler.batch(tc.batch, rng))
                loss, guard_value, m = structure_loss(model, controller, x, step / tc.steps, rng,
                                                      tc.lambda_c, tc.vimco_samples, tc.entropy_bonus, d.mean)
                s = m.pop("structure")
            else:
                s = sample_structure(step, cfg, rng, tc.widest_every)
                q_all = torch.from_numpy(rng.random(tc.batch)).float()
                if tc.rate_sandwich and tc.batch >= 2:
                    q_all[:2] = torch.tensor([0.0, 1.0])
                q = d.slice(q_all)
                x = d.slice(sampler.batch(tc.batch, rng))
                loss, m = batch_loss(model, x, q, s)
                guard_value = float(loss.detach())
            # the spike guard watches the RD loss (the complexity penalty is large by design early on)
            loss_value, m["bpp"], m["mse"], m["psnr"] = d.mean([guard_value, m["bpp"], m["mse"], m["psnr"]])
            aux = model.prior.aux_loss(cfg.z_bound)
            optimizer.zero_grad(set_to_none=True)
            if not guard.is_spike(loss_value):
                (loss + aux).backward()
                d.average_gradients(params)
                torch.nn.utils.clip_grad_norm_(groups[0]["params"], tc.clip)  # the backbone's
                optimizer.step()
                if tc.ema:
                    modules["ema"].update_parameters(model)
            if guard.diverging and ckpt.exists():
                # Many skipped steps: go back to the last healthy checkpoint with half the learning
                # rate; the data RNG runs on, so other batches follow.
                info = load_checkpoint(ckpt, modules, optimizer, None)
                step, lr_scale = info["step"], 0.5 * lr_scale
                guard.restart(info.get("ema"))
                rollbacks += 1
                if rollbacks > tc.max_rollbacks:
                    raise CodecError(f"training diverged {rollbacks} times; last healthy checkpoint: {ckpt}")
                log.write({"step": step, "rollback": rollbacks, "lr_scale": lr_scale})
                if d.main:
                    print(f"\ndiverging: back to step {step}, learning rate x{lr_scale:g}", flush=True)
                bar.n = step
                continue
            step += 1
            bar.update(1, loss=loss_value, bpp=m["bpp"], psnr=m["psnr"])
            if log.wants(step, tc.steps):
                log.write({"step": step, "loss": loss_value, "aux": float(aux.detach()), "lr": lr, **m,
                           **s.to_dict(), "dec_kmac": cost(cfg, s).decoder / 1000,
                           "skipped": guard.skipped, "steps_per_s": round(bar.rate(), 3)})
            now = time.monotonic()
            # clocks differ between processes: process 0's decision counts for all
            out_of_time = d.any(d.main and (stop.requested or (tc.max_minutes is not None
                                                               and now - t_start > tc.max_minutes * 60))) or (
                tc.stop_after is not None and step - first_step >= tc.stop_after)
            if d.any(d.main and clock.due(now, guard.healthy)) or step == tc.steps or out_of_time:
                if d.main:
                    save_checkpoint(ckpt, modules, optimizer, rng, {
                        "step": step, "ema": guard.mean, "skipped": guard.skipped, "lr_scale": lr_scale,
                        "rollbacks": rollbacks, "config": cfg.to_json(), "processes": d.world, "stage": tc.stage,
                        "ema_decay": tc.ema, "prior_steps": prior_steps})
                clock.written(now)
            if out_of_time:
                if d.main:
                    print(f"stopped at step {step}; --resume continues", flush=True)
                break
    model.eval()
    log.close()
    if d.main:
        export = modules["ema"].module.eval() if tc.ema else model
        save_weights(export, out / "weights.safetensors",
                     meta=weights_meta(prior_steps + step, modules.get("controller")))
    d.barrier()
    teardown(d)
    return out / "weights.safetensors"
