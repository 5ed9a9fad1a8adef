"""Write the golden files: small `.bsic` files coded by the shipped weights, with the SHA-256 of
their decoded symbols and pixels, and the decoded pixels as PNG (tests/test_golden.py decodes
them under other kernel settings: symbols must match exactly, pixels within one level).

    python scripts/make_golden.py          # -> tests/golden/

Run it again whenever the shipped weights change (the files carry the weights' model id).
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import basic_codec  # noqa: E402
from basic_codec.bench.kernels import ON2, symbols_sha256  # noqa: E402
from basic_codec.bench.run import cpu_name  # noqa: E402

OUT = ROOT / "tests" / "golden"


def cases(sample: np.ndarray) -> list[tuple[str, np.ndarray, str, float]]:
    """(name, image, level ('bottom'/'middle'/'top'), quality)."""
    wide = np.concatenate([sample[:64], sample[:64, ::-1]], axis=1)[:, :1088]  # 1088 x 64: two tiles
    return [("bottom_q0", sample[100:164, 200:296], "bottom", 0.0),
            ("middle_q05", sample[40:136, 300:428], "middle", 0.5),
            ("top_q1", sample[200:328, 100:260], "top", 1.0),
            ("two_tiles_q03", np.ascontiguousarray(wide), "top", 0.3)]


def main() -> None:
    codec = basic_codec.load()
    sample = np.asarray(Image.open(ROOT / "basic_codec" / "data" / "sample.png").convert("RGB"))
    OUT.mkdir(parents=True, exist_ok=True)
    levels = {"bottom": 0, "middle": len(codec.levels) // 2, "top": len(codec.levels) - 1}
    # the encoder's g_a runs in float: its bytes are only promised on the CPU that wrote them
    meta = {"model_id": codec.model_id.hex(), "setting": str(ON2), "cpu": cpu_name(), "files": {}}
    with ON2.active():
        for name, img, which, q in cases(sample):
            data = codec.compress(np.ascontiguousarray(img), q, level=levels[which])
            pixels = np.asarray(codec.decompress(data))
            tiles = codec.decompress_symbols(data)
            (OUT / f"{name}.bsic").write_bytes(data)
            Image.fromarray(pixels).save(OUT / f"{name}.png")
            meta["files"][name] = {"level": levels[which], "quality": q, "width": img.shape[1],
                                   "height": img.shape[0], "tiles": len(tiles), "bytes": len(data),
                                   "symbols_sha256": symbols_sha256(tiles),
                                   "pixels_sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}
            print(f"{name}: level {levels[which]}, q {q}, {img.shape[1]}x{img.shape[0]}, "
                  f"{len(tiles)} tile(s), {len(data)} bytes")
    (OUT / "golden.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
