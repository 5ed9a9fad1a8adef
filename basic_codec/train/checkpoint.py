"""Resumable training state in safetensors (tensors) + JSON metadata (counters, RNG states).

Checkpoints are written atomically, so a run killed mid-write leaves the previous one intact.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save

from ..files import atomic_write_bytes
from ..metadata import WeightsMeta

if TYPE_CHECKING:
    from .controller import Controller


def _named(modules: torch.nn.Module | dict[str, torch.nn.Module]) -> dict[str, torch.nn.Module]:
    """A bare module is saved under the name 'model' (the only one the backbone stage has)."""
    return {"model": modules} if isinstance(modules, torch.nn.Module) else modules


def save_checkpoint(path: Path, modules: torch.nn.Module | dict[str, torch.nn.Module],
                    optimizer: torch.optim.Optimizer, rng: np.random.Generator, info: dict) -> None:
    tensors = {f"{name}.{k}": v.detach().cpu().contiguous()
               for name, module in _named(modules).items() for k, v in module.state_dict().items()}
    opt = optimizer.state_dict()
    for pid, st in opt["state"].items():
        for key, val in st.items():
            tensors[f"opt.{pid}.{key}"] = torch.as_tensor(val).detach().cpu().contiguous().clone()
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {"info": json.dumps(info), "param_groups": json.dumps(opt["param_groups"]),
            "rng.numpy": json.dumps(rng.bit_generator.state)}
    atomic_write_bytes(path, save(tensors, metadata=meta))


def checkpoint_info(path: Path) -> dict:
    """The counters and settings saved with a checkpoint, without loading its tensors."""
    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()["info"])


def load_checkpoint(path: Path, modules: torch.nn.Module | dict[str, torch.nn.Module],
                    optimizer: torch.optim.Optimizer | None, rng: np.random.Generator | None) -> dict:
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for name, module in _named(modules).items():
        prefix = f"{name}."
        module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    if optimizer is not None:
        state: dict[int, dict] = {}
        for k, v in tensors.items():
            if k.startswith("opt."):
                _, pid, key = k.split(".", 2)
                state.setdefault(int(pid), {})[key] = v
        optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    if rng is not None:
        rng.bit_generator.state = json.loads(meta["rng.numpy"])
        torch.set_rng_state(tensors["rng.torch"])
    return json.loads(meta["info"])


def weights_meta(trained_steps: int, controller: "Controller | None") -> WeightsMeta:
    """Metadata of exported weights: steps behind them and, after the structure stage, the
    controller's greedy choices (which `search` scores as candidates)."""
    return WeightsMeta(trained_steps, controller.choices() if controller is not None else [])


def export_checkpoint(ckpt: Path, out: str | Path, levels=None) -> int:
    """A checkpoint's model as shipped weights (its EMA when the run kept one, as the run's own
    export does; the controller's choices when it is a structure-stage run) -> its step."""
    from torch.optim.swa_utils import AveragedModel

    from ..codec import BasicModel
    from ..config import ModelConfig
    from ..weights import save_weights
    from .controller import Controller

    info = checkpoint_info(ckpt)
    model = BasicModel(ModelConfig.from_json(info["config"]))
    modules: dict[str, torch.nn.Module] = {"model": model}
    if info.get("stage") == "structure":
        modules["controller"] = Controller(model.cfg)
    if info.get("ema_decay"):
        modules["ema"] = AveragedModel(model)
    load_checkpoint(ckpt, modules, None, None)
    export = modules["ema"].module if info.get("ema_decay") else model
    save_weights(export.eval(), out, levels,
                 weights_meta(info.get("prior_steps", 0) + info["step"], modules.get("controller")))
    return info["step"]
