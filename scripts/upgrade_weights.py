"""Give weights written before the exact entropy path (format-1 files) their integer y tables.

    python scripts/upgrade_weights.py OLD.safetensors NEW.safetensors

The networks' parameters stay as they are (the fixed-point layers round them when they run);
`freeze` adds y's scale thresholds and pmf tables. Quantization-aware fine-tuning from the
result is `basic-codec train ... --init-weights NEW.safetensors`.
"""
from __future__ import annotations

import argparse
import json

from safetensors import safe_open

from basic_codec.codec import BasicModel
from basic_codec.config import ModelConfig
from basic_codec.structure import Level
from basic_codec.weights import save_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    args = ap.parse_args()
    with safe_open(args.old, framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model = BasicModel(ModelConfig.from_json(meta["config"]))
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if unexpected or any(not k.startswith("y_entropy.") for k in missing):
        raise SystemExit(f"error: {args.old} is not a basic-codec weights file of this architecture")
    levels = [Level.from_dict(d) for d in json.loads(meta["levels"])]
    extra = {k: json.loads(v) for k, v in meta.items() if k not in ("format", "config", "levels")}
    save_weights(model.eval(), args.new, levels, extra)
    print(f"wrote {args.new}")


if __name__ == "__main__":
    main()
