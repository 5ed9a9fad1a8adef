"""torchrun with 2 CPU processes: runs, checkpoints, and matches one process on the same global batch."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from tests.conftest import SAMPLE

TORCHRUN = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")


def _one_vs_two(tmp_path, extra: list[str], port: str, init_state: dict) -> None:
    data = tmp_path / "data"
    if not data.exists():
        data.mkdir()
        img = np.asarray(Image.open(SAMPLE).convert("RGB"))
        for i in range(6):
            Image.fromarray(img[i * 40 : i * 40 + 160, i * 60 : i * 60 + 200]).save(data / f"img{i}.png")
    args = [str(data), "--config", "tiny", "--steps", "8", "--batch", "4", "--crop", "64",
            "--lr", "2e-3", "--warmup", "2", *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    two = subprocess.run([TORCHRUN, "--nproc_per_node", "2", "--master_port", port, "-m", "basic_codec", "train",
                          *args, "--out", str(tmp_path / "two")], capture_output=True, text=True, env=env, timeout=300)
    assert two.returncode == 0, two.stderr[-2000:]
    assert (tmp_path / "two" / "checkpoint.safetensors").exists()
    assert "2 processes" in two.stdout
    one = subprocess.run([sys.executable, "-m", "basic_codec", "train", *args, "--out", str(tmp_path / "one"),
                          "--threads", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    a = load_file(str(tmp_path / "one" / "weights.safetensors"))
    b = load_file(str(tmp_path / "two" / "weights.safetensors"))
    keys = [k for k in init_state if k != "z_pmf"]
    moved = max(float((a[k] - init_state[k]).abs().max()) for k in keys)
    drift = max(float((a[k] - b[k]).abs().max()) for k in keys)
    # Same batches, same noise: the runs differ only by float summation order (all-reduce),
    # which the first steps amplify a little; a wrong split or a missed gradient would not.
    print(f"weights moved {moved:.2e}, 1 vs 2 processes differ by {drift:.2e}")
    assert moved > 5e-3 and drift < 0.1 * moved, (moved, drift)


@pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="torchrun not installed")
def test_two_processes_match_one(tmp_path):
    from basic_codec.codec import BasicModel
    from basic_codec.config import preset

    torch.manual_seed(0)
    _one_vs_two(tmp_path, [], "29533", BasicModel(preset("tiny")).state_dict())


@pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="torchrun not installed")
def test_structure_stage_two_processes_match_one(tmp_path):
    """The controller and the VIMCO tables see the whole batch in both runs, too."""
    from basic_codec.codec import BasicModel
    from basic_codec.config import preset
    from basic_codec.weights import save_weights

    torch.manual_seed(0)
    init = BasicModel(preset("tiny"))
    save_weights(init, tmp_path / "init.safetensors")
    _one_vs_two(tmp_path, ["--stage", "structure", "--init-weights", str(tmp_path / "init.safetensors")],
                "29534", load_file(str(tmp_path / "init.safetensors")))
