"""Structure stage: controller costs are exact, the penalty fits budgets, VIMCO prefers the
cheaper table, and a structure-stage run resumes bit-for-bit and exports its choices."""
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from basic_codec.config import preset
from basic_codec.context import PartiteTables
from basic_codec.structure import Structure
from basic_codec.train.controller import Controller, round_trip_macs
from basic_codec.train.loop import TrainConfig, train
from basic_codec.train.structure_stage import vimco_signals
from basic_codec.weights import load_weights


def test_sampled_cost_is_the_exact_mac_count():
    cfg = preset("basic-s")
    ctrl = Controller(cfg)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        ch = ctrl.sample(ctrl.target(rng.random()), rng.random(), 1.0, rng.random(ctrl.n_uniforms))
        assert float(ch.macs.detach()) == round_trip_macs(cfg, ch.structure)
        assert ch.log_prob.requires_grad and float(ch.log_prob.detach()) < 0
        seen.add(ch.structure)
    assert len(seen) > 20  # an untrained controller explores


def _train_controller(u: float, seed: int, steps: int, loss_of):
    """Adam on a fresh basic-s controller for the target at `u`; loss_of(ctrl, budget, rng) -> loss."""
    torch.manual_seed(0)
    ctrl = Controller(preset("basic-s"))
    opt = torch.optim.Adam(ctrl.parameters(), lr=1e-2)
    rng = np.random.default_rng(seed)
    budget = ctrl.target(u)
    before = ctrl.greedy(budget, 0.5)
    for _ in range(steps):
        loss = loss_of(ctrl, budget, rng)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return before, ctrl.greedy(budget, 0.5), budget


def test_penalty_teaches_the_controller_to_fit_a_budget():
    def penalty(ctrl, budget, rng):
        ch = ctrl.sample(budget, 0.5, 0.5, rng.random(ctrl.n_uniforms))
        return torch.relu(ch.macs - budget) / budget

    cfg = preset("basic-s")
    before, after, budget = _train_controller(0.3, 1, 150, penalty)
    assert round_trip_macs(cfg, before) > budget >= round_trip_macs(cfg, after), (before, after, budget)


def test_vimco_signals():
    f = torch.tensor([[-1.0, -2.0], [-1.5, -1.0]])  # 2 samples x 2 images, higher is better
    sig = vimco_signals(f)
    assert sig.shape == (2,)
    assert torch.allclose(vimco_signals(torch.zeros(3, 4)), torch.zeros(3))
    better = vimco_signals(torch.tensor([[-1.0], [-2.0]]))
    assert better[0] > 0 > better[1]


def test_vimco_moves_the_table_towards_the_lower_rate():
    cfg = preset("tiny")
    tables = PartiteTables(cfg)
    opt = torch.optim.Adam(tables.parameters(), lr=0.1)
    start = tables.assignment(2)  # the checkerboard the tables start from
    g = cfg.channel_groups
    good = torch.tensor([[0] * 4] * (g // 2) + [[1] * 4] * (g - g // 2))  # channel order instead
    assert tables.log_prob(2, start) > tables.log_prob(2, good) + 1.0
    rng = np.random.default_rng(0)
    for _ in range(200):
        samples = [tables.sample(2, torch.from_numpy(rng.random((cfg.channel_groups, 4, 2)))) for _ in range(4)]
        # toy rate: one bit per table cell that differs from `good`
        rate = torch.tensor([[float((a != good).sum())] for a in samples])
        sig = vimco_signals(-rate)
        loss = -sum(s * tables.log_prob(2, a) for s, a in zip(sig, samples))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert tables.log_prob(2, good) > tables.log_prob(2, start) + 1.0
    assert torch.equal(tables.assignment(2), good)


def test_structure_stage_resumes_exactly_and_exports_choices(tmp_path):
    from tests.test_train import _data_dir

    data = _data_dir(tmp_path / "data")
    init = train(TrainConfig(data=str(data), out=str(tmp_path / "backbone"), config="tiny", steps=4,
                             batch=2, crop=64, warmup=1))
    from basic_codec.errors import CodecError

    with pytest.raises(CodecError, match="backbone-stage run"):  # --resume with the other stage
        train(TrainConfig(data=str(data), out=str(tmp_path / "backbone"), config="tiny", steps=8,
                          batch=2, crop=64, stage="structure"))
    common = dict(data=str(data), steps=10, batch=2, crop=64, lr=1e-3, warmup=2, stage="structure",
                  init_weights=str(init))
    straight = train(TrainConfig(out=str(tmp_path / "a"), **common))
    train(TrainConfig(out=str(tmp_path / "b"), stop_after=6, **common))
    resumed = train(TrainConfig(out=str(tmp_path / "b"), **common))
    a, b = load_file(str(straight)), load_file(str(resumed))
    assert all(torch.equal(a[k], b[k]) for k in a)
    model, _, meta = load_weights(resumed)
    assert meta.trained_steps == 14  # 4 backbone + 10 structure steps
    choices = meta.controller_choices
    assert len(choices) == 36 and all(c.structure in meta.controller_structures() for c in choices)
    assert all(0 <= i < len(model.cfg.widths) for c in choices for i in c.structure.indices)
    # export of the structure-stage checkpoint writes the same weights and choices
    from basic_codec.cli import main

    assert main(["export", str(tmp_path / "b"), str(tmp_path / "e.safetensors")]) == 0
    _, _, exported = load_weights(tmp_path / "e.safetensors")
    assert exported.controller_choices == choices and exported.trained_steps == 14


def test_controller_spends_its_budget_where_the_rd_loss_gains():
    """Toy RD loss that only a wide g_s lowers: within the budget, the controller learns to
    pick a wide g_s (score-function term against a random baseline) and to stay under the
    budget (penalty)."""
    from basic_codec.train.structure_stage import controller_terms

    def toy(ctrl, budget, rng):
        ch = ctrl.sample(budget, 0.5, 0.5, rng.random(ctrl.n_uniforms))
        baseline = Structure.random(ctrl.cfg, rng)
        reinforce, penalty, _ = controller_terms(ch, 1.0 - 0.1 * ch.structure.g_s, 1.0 - 0.1 * baseline.g_s,
                                                 budget, 1.0, 0.01)
        return reinforce + penalty

    cfg = preset("basic-s")
    _, s, budget = _train_controller(0.7, 2, 300, toy)
    assert s.g_s == len(cfg.widths) - 1 and round_trip_macs(cfg, s) <= budget, s
