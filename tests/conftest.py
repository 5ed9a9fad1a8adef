import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from basic_codec.api import Codec
from basic_codec.codec import BasicModel
from basic_codec.config import preset
from basic_codec.structure import default_structures, make_levels

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("BASIC_CODEC_SHARED", ROOT.parent / "shared"))
KODAK = SHARED / "data" / "kodak"
TRAIN = SHARED / "data" / "train"
SAMPLE = ROOT / "basic_codec" / "data" / "sample.png"


def shared(path: Path) -> Path:
    """A file or folder of ../shared (data, anchors) that a test needs. One rule for all tests:
    a checkout with no ../shared at all skips them (said in the summary); where ../shared is
    there (CI always has it), a missing piece of it fails the test."""
    if not SHARED.exists():
        pytest.skip(f"no shared folder at {SHARED} (set BASIC_CODEC_SHARED)")
    assert path.exists(), f"{path} is missing from the shared folder {SHARED}"
    return path


def tiny_model(seed: int = 0) -> BasicModel:
    torch.manual_seed(seed)
    m = BasicModel(preset("tiny"))
    with torch.no_grad():  # an untrained y is ~0 everywhere; make the symbols non-trivial
        m.g_a.convs[3].weight.mul_(30.0)
        m.h_a.convs[2].weight.mul_(10.0)
    m.freeze()
    return m.eval()


@pytest.fixture(scope="session")
def tiny_codec() -> Codec:
    m = tiny_model()
    return Codec(m, make_levels(m.cfg, default_structures(m.cfg), m.steps))


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    from basic_codec.weights import save_weights

    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_weights(tiny_model(), path)
    return path


@pytest.fixture(scope="session")
def crop() -> np.ndarray:
    """A 200x136 crop of the repo's sample image (odd sizes on purpose: exercises padding)."""
    img = np.asarray(Image.open(SAMPLE).convert("RGB"))
    return np.ascontiguousarray(img[:136, :200])


# Lines that tests want in the run's output even when it passes (fuzz counts and the like).
SUMMARY: list[str] = []
EXAMPLES: dict[str, int] = {}  # property test -> examples run


def pytest_terminal_summary(terminalreporter):
    if SUMMARY or EXAMPLES:
        terminalreporter.section("basic-codec test counts")
        for line in SUMMARY:
            terminalreporter.write_line(line)
        for name, n in EXAMPLES.items():
            terminalreporter.write_line(f"{name}: {n} hypothesis examples")
