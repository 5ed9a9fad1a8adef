"""Training images: a folder of PNG/JPEG of any size, a validation split by file, random crops."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..files import IMAGE_EXTENSIONS
from ..imageio import load_rgb



def list_images(root: str | Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"not a directory: {root}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images (png/jpeg/...) under {root}")
    return files


def is_validation(path: Path, root: Path, percent: int = 5) -> bool:
    """Stable split by file name hash: the same files are held out on every machine."""
    key = str(path.relative_to(root)).encode()
    return int(hashlib.sha1(key).hexdigest(), 16) % 100 < percent


def split(root: str | Path, percent: int = 5) -> tuple[list[Path], list[Path]]:
    root = Path(root)
    files = list_images(root)
    val = [p for p in files if is_validation(p, root, percent)]
    train = [p for p in files if not is_validation(p, root, percent)]
    return train, val


class CropSampler:
    """Random crops with horizontal/vertical flips from images held in memory (uint8).

    downscale < 1: each crop is cut from the image scaled by a factor drawn from
    U(downscale, 1) (a region of crop/factor pixels, resized with antialiasing), as Ballé et
    al. did: downscaling removes JPEG artifacts that a codec would otherwise learn to spend
    bits on, and shows the model finer detail per pixel."""

    def __init__(self, files: list[Path], crop: int, downscale: float = 1.0) -> None:
        self.crop, self.downscale = crop, downscale
        self.images = []
        for f in files:
            img = load_rgb(f)
            if min(img.shape[:2]) < crop:  # small images: reflect-pad up to the crop size
                ph, pw = max(0, crop - img.shape[0]), max(0, crop - img.shape[1])
                img = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect")
            self.images.append(img)

    def batch(self, n: int, rng: np.random.Generator) -> torch.Tensor:
        out = np.empty((n, self.crop, self.crop, 3), dtype=np.uint8)
        for i in range(n):
            img = self.images[rng.integers(len(self.images))]
            size = self.crop
            if self.downscale < 1.0:
                size = min(int(self.crop / rng.uniform(self.downscale, 1.0)), *img.shape[:2])
            y = rng.integers(img.shape[0] - size + 1)
            x = rng.integers(img.shape[1] - size + 1)
            c = img[y : y + size, x : x + size]
            if size != self.crop:
                c = np.asarray(Image.fromarray(c).resize((self.crop, self.crop), Image.Resampling.LANCZOS))
            if rng.random() < 0.5:
                c = c[:, ::-1]
            if rng.random() < 0.5:
                c = c[::-1]
            out[i] = c
        return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)
