"""The training run's parts, each on its own: lr plan, spike guard, checkpoint clock, run log."""
import json
import math

import pytest
import torch

from basic_codec.train.parts import CheckpointClock, RunLog, SpikeGuard, lr_at, set_lr


def test_lr_plan_warms_up_then_decays_to_the_floor():
    lrs = [lr_at(s, peak=1e-3, steps=100, warmup=10, floor=1e-5) for s in range(101)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)  # linear warm-up
    assert all(a < b for a, b in zip(lrs[:9], lrs[1:10]))
    assert lrs[10] == pytest.approx(1e-3)  # the cosine starts at the peak ...
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))  # ... falls monotonically ...
    assert lrs[100] == pytest.approx(1e-5) and lr_at(500, 1e-3, 100, 10, 1e-5) == pytest.approx(1e-5)  # ... to the floor
    assert lrs[55] == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5))  # halfway: the mean of peak and floor


def test_set_lr_scales_each_group_by_its_own_peak():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([{"params": [a], "peak": 1e-4}, {"params": [b], "peak": 1e-2}], lr=1e-4)
    set_lr(opt, 5e-5, peak=1e-4)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([5e-5, 5e-3])


def test_spike_guard_skips_outliers_and_non_finite_losses():
    g = SpikeGuard(factor=10, window=5, limit=3)
    assert not g.is_spike(2.0) and g.mean == 2.0
    assert not g.is_spike(4.0) and g.mean == pytest.approx(0.98 * 2 + 0.02 * 4)
    mean = g.mean
    assert g.is_spike(10.5 * mean) and g.is_spike(math.nan) and g.is_spike(math.inf)
    assert g.mean == mean  # skipped losses do not move the running mean
    assert g.skipped == 3 and g.diverging and not g.healthy
    g.restart(1.5)
    assert g.mean == 1.5 and not g.diverging and g.healthy and g.skipped == 3  # the count is the run's


def test_spike_guard_forgets_spikes_outside_its_window():
    g = SpikeGuard(window=4, limit=2)
    g.is_spike(1.0)
    g.is_spike(math.nan)
    for _ in range(3):
        g.is_spike(1.0)
    assert not g.healthy  # still in the last 4
    g.is_spike(1.0)
    assert g.healthy  # the spike left the window of 4
    g.is_spike(math.nan)
    assert not g.diverging  # one spike in the window, limit 2


def test_checkpoint_clock_waits_its_minutes_and_for_health():
    c = CheckpointClock(minutes=1.0, last=100.0)
    assert not c.due(159.0, healthy=True)
    assert c.due(161.0, healthy=True) and not c.due(161.0, healthy=False)
    c.written(161.0)
    assert not c.due(200.0, healthy=True)


def test_run_log_appends_json_lines_every_n_steps(tmp_path):
    path = tmp_path / "log.jsonl"
    log = RunLog(path, every=5)
    assert [s for s in range(1, 13) if log.wants(s, last=12)] == [5, 10, 12]
    log.write({"step": 5, "loss": 1.0})
    log.close()
    log = RunLog(path, every=5)  # a resumed run appends to the same file
    log.write({"step": 10, "rollback": 1})
    log.close()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10] and all("time" in r for r in rows)
    off = RunLog(tmp_path / "other.jsonl", every=5, enabled=False)  # processes other than 0
    off.write({"step": 5})
    assert not off.wants(5, 10) and not (tmp_path / "other.jsonl").exists()


def test_stop_request_catches_the_first_signal_and_restores_handlers():
    import os
    import signal

    from basic_codec.train.parts import StopRequest

    before = signal.getsignal(signal.SIGINT)
    with StopRequest() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested  # the run goes on to the end of its step
        with pytest.raises(KeyboardInterrupt):  # a second signal stops at once
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_ends_a_run_with_a_checkpoint_and_weights(tmp_path):
    """SIGINT to `basic-codec train`: exit 0 at a step boundary, checkpoint and weights written,
    and --resume continues from that step."""
    import signal
    import subprocess
    import sys
    import time

    from tests.test_train import _data_dir

    data, out = _data_dir(tmp_path / "data"), tmp_path / "run"
    cmd = [sys.executable, "-m", "basic_codec", "train", str(data), "--out", str(out), "--config", "tiny",
           "--steps", "100000", "--batch", "2", "--crop", "64", "--threads", "1"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (out / "log.jsonl").exists() or not (out / "log.jsonl").read_text().strip():
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()[0]
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    text = p.communicate(timeout=120)[0]
    assert p.returncode == 0, text
    step = int(text.split("stopped at step ")[1].split(";")[0])
    assert step >= 25 and (out / "checkpoint.safetensors").exists() and (out / "weights.safetensors").exists()
    from basic_codec.train.checkpoint import checkpoint_info

    assert checkpoint_info(out / "checkpoint.safetensors")["step"] == step


@pytest.mark.parametrize("every, widest, narrowest", [(4, 25, 25), (2, 50, 25)])
def test_sandwich_rule_shares(every, widest, narrowest):
    """The widest structure every `every` steps, the narrowest every 4th (step % 4 == 1)."""
    import numpy as np

    from basic_codec.config import preset
    from basic_codec.train.loop import sample_structure

    cfg = preset("basic-m")
    top, bottom = len(cfg.widths) - 1, 0
    rng = np.random.default_rng(0)
    picks = [sample_structure(step, cfg, rng, every) for step in range(100)]
    widths = [s.indices for s in picks]
    assert sum(w == (top,) * 4 for w in widths[::every]) == 100 // every
    assert sum(w == (top,) * 4 for w in widths) >= widest
    assert sum(w == (bottom,) * 4 for w in widths[1::4]) == narrowest
