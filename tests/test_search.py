"""Structure search and export: the level table is a true Pareto front measured on held-out files."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from basic_codec.cli import main
from basic_codec.context import fixed_assignment
from basic_codec.structure import Structure
from basic_codec.train.data import split
from basic_codec.train.search import FIXED_ORDERS, Score, SearchConfig, contains, nested_ladder, pareto_front, thin
from basic_codec.weights import load_weights, save_weights


def _score(dec, loss):
    return Score(Structure(0, 0, 0, 0, 1), dec, dec, loss, 0.0, 0.0)


def test_pareto_front_keeps_only_improvements():
    scores = [_score(5, 1.0), _score(1, 3.0), _score(3, 2.0), _score(4, 2.5), _score(2, 3.5)]
    front = pareto_front(scores)
    assert [(s.dec_kmac, s.rd_loss) for s in front] == [(1, 3.0), (3, 2.0), (5, 1.0)]
    # with a margin: steps under 10 % go, and the best score still ends the front
    close = [_score(1, 3.0), _score(2, 2.9), _score(3, 2.0), _score(4, 1.9), _score(5, 1.7)]
    assert [(s.dec_kmac, s.rd_loss) for s in pareto_front(close, 0.1)] == [(1, 3.0), (3, 2.0), (5, 1.7)]
    assert [(s.dec_kmac, s.rd_loss) for s in pareto_front(close[:4], 0.1)] == [(1, 3.0), (4, 1.9)]
    many = [_score(float(2**i), 10.0 - i) for i in range(20)]
    kept = thin(many, 8)
    assert len(kept) <= 8 and kept[0] is many[0] and kept[-1] is many[-1]


def test_nested_ladder_never_trades_partites_for_width():
    """The Pareto front may step from K = 8 to a wider K = 1 (the trade other images rank
    differently); the nested ladder only adds width or partites, ends at the best score, and
    among the nested chains keeps the one with the lower RD loss over the budgets."""
    a = Score(Structure(0, 0, 0, 0, 1), 1.0, 1.0, 3.0, 0.0, 0.0)
    b = Score(Structure(0, 0, 0, 0, 8), 2.0, 2.0, 2.8, 0.0, 0.0)
    c = Score(Structure(1, 0, 0, 1, 1), 3.0, 3.0, 2.7, 0.0, 0.0)  # wider than b, fewer partites
    d = Score(Structure(1, 0, 0, 1, 8), 4.0, 4.0, 2.5, 0.0, 0.0)
    e = Score(Structure(1, 1, 1, 1, 8), 5.0, 5.0, 2.6, 0.0, 0.0)  # costs more, no better: never kept
    assert pareto_front([a, b, c, d, e], 0.01) == [a, b, c, d]
    ladder = nested_ladder([e, d, c, b, a], 0.01)
    assert ladder == [a, b, d]  # a-c-d is nested too, but holds a's loss over more of the budgets
    assert all(contains(up.structure, low.structure) for low, up in zip(ladder, ladder[1:]))
    assert nested_ladder([b, a], 0.1) == [a, b]  # within the margin: the best still ends it
    assert nested_ladder([a], 0.01) == [a] and nested_ladder([], 0.01) == []
    assert not contains(c.structure, b.structure) and contains(d.structure, c.structure)
    with pytest.raises(ValueError, match="--ladder"):
        SearchConfig("x", ladder="greedy")


def _check_tables(model, picked):
    """Each K's shipped table is the one with the lowest validation RD loss among those tried."""
    assert sorted(picked) == [k for k in model.cfg.partite_options if k > 1]
    for k, p in picked.items():
        assert p.table == min(p.rd_loss, key=p.rd_loss.get)
        want = (torch.tensor(p.learned) if p.table == "learned"
                else fixed_assignment(FIXED_ORDERS[p.table], k, model.cfg.channel_groups))
        assert torch.equal(model.tables.assignment(k), want)


def test_search_and_export_cli(tmp_path, crop, tiny_weights, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(40):  # enough files that the 5 % split holds some out
        Image.fromarray(np.roll(crop, 7 * i, axis=1)).save(data / f"f{i:02d}.png")
    assert split(data)[1], "no validation files"
    out, scores = tmp_path / "searched.safetensors", tmp_path / "scores.json"
    code = main(["search", str(data), "--weights", str(tiny_weights), "--out", str(out), "--crop", "64",
                 "--scores", str(scores)])
    assert code == 0, capsys.readouterr().err
    model, levels, meta = load_weights(out)
    _check_tables(model, meta.search.tables)
    rows = json.loads(scores.read_text())
    assert len(rows) == 2 * 2 * 4 and meta.search.candidates == len(rows)
    decs = [lv.dec_kmac_per_px for lv in levels]
    assert decs == sorted(decs) and all(lv.val_bpp is not None for lv in levels)
    # each level is better (lower RD loss) on validation than every cheaper one
    loss = {(tuple(r["width_indices"]), r["partites"]): r["rd_loss"] for r in rows}
    ladder = [loss[(lv.structure.indices, lv.structure.partites)] for lv in levels]
    assert all(a > b for a, b in zip(ladder, ladder[1:]))
    code = main(["levels", "--weights", str(out)])
    assert code == 0 and "val" in capsys.readouterr().out
    # a second run refuses to overwrite
    assert main(["search", str(data), "--weights", str(tiny_weights), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    # a crop too large for one batch is refused before any work, and nothing is written
    big = tmp_path / "big.safetensors"
    assert main(["search", str(data), "--weights", str(tiny_weights), "--out", str(big), "--crop", "5000"]) == 2
    assert "--crop" in capsys.readouterr().err and not big.exists()
    # searching searched weights again still knows the learned tables, whatever the first pick was
    picked = tmp_path / "picked.safetensors"
    for k in meta.search.tables:
        model.tables.set_assignment(k, fixed_assignment("channel", k, model.cfg.channel_groups))
    save_weights(model, picked, levels, meta)
    again = tmp_path / "again.safetensors"
    assert main(["search", str(data), "--weights", str(picked), "--out", str(again), "--crop", "64"]) == 0
    model2, _, meta2 = load_weights(again)
    _check_tables(model2, meta2.search.tables)
    assert all(meta2.search.tables[k].learned == t.learned for k, t in meta.search.tables.items())


def test_analysis_cache_scores_like_a_fresh_pass(crop):
    """The search shares g_a's outputs among the candidates of one analysis width: every score
    must be what a pass of its own gives, bit for bit."""
    from basic_codec.train.search import AnalysisCache, candidates, score
    from tests.conftest import tiny_model

    model = tiny_model()
    x = torch.from_numpy(crop[:64, :128].copy()).permute(2, 0, 1)[None].float().div(255.0).repeat(2, 1, 1, 1)
    cache = AnalysisCache(model, x)
    qualities = (0.0, 0.5, 1.0)
    cands = candidates(model)
    for s in cands + cands[:3]:  # back to an earlier width: the cache starts over
        assert score(model, x, s, qualities, cache=cache) == score(model, x, s, qualities)
    assert len(cache.ys) == len(qualities)
