"""Shipped weights: `.safetensors` with the architecture config and the level table in the
metadata. Only safetensors is ever read, so loading weights never runs pickle."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import save

from .codec import BasicModel
from .config import ModelConfig
from .errors import WeightsError
from .files import write_output
from .metadata import WeightsMeta
from .structure import Level, default_structures, make_levels

FORMAT_TAG = "basic-codec-weights/1"
DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "pretrained" / "basic-m.safetensors"


def model_id(model: BasicModel) -> bytes:
    """First 8 bytes of SHA-256 over the config and every tensor: what a .bsic file depends on."""
    h = hashlib.sha256(model.cfg.to_json().encode())
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.digest()[:8]


def save_weights(model: BasicModel, path: str | Path, levels: list[Level] | None = None,
                 meta: WeightsMeta | None = None) -> None:
    """Export: freezes the z coding table, drops nothing the decoder needs, writes atomically."""
    model.freeze()
    if levels is None:
        levels = make_levels(model.cfg, default_structures(model.cfg), model.steps)
    header = {"format": FORMAT_TAG, "config": model.cfg.to_json(),
              "levels": json.dumps([lv.to_dict() for lv in levels])}
    header.update((meta or WeightsMeta()).to_metadata())
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if str(path) != "-":  # '-': standard output
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_output(path, save(tensors, metadata=header))


def load_weights(path: str | Path | None = None) -> tuple[BasicModel, list[Level], WeightsMeta]:
    """-> (model in eval mode, level table, training and search history)."""
    if str(path) == "-":
        raise WeightsError("weights must be a file (standard input is for images and .bsic files)")
    path = Path(path) if path else DEFAULT_WEIGHTS
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT_TAG:
                raise WeightsError(f"{path} is not a basic-codec weights file")
            cfg = ModelConfig.from_json(meta["config"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except WeightsError:
        raise
    except Exception as e:
        raise WeightsError(f"cannot read weights {path}: {e}") from None
    model = BasicModel(cfg)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise WeightsError(f"weights {path} do not match their config: {str(e).splitlines()[0]}") from None
    model.eval()
    levels = [Level.from_dict(d) for d in json.loads(meta["levels"])]
    return model, levels, WeightsMeta.from_metadata(meta)
