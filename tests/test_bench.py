"""The benchmark's own parts: resumable records, the typed aggregate, the report's numbers, speed."""
import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from basic_codec.bench.metrics import psnr
from basic_codec.bench.records import BenchResult
from basic_codec.bench.report import quality_table, write_report
from basic_codec.bench.run import BenchConfig, run
from basic_codec.bench.speed import coder_throughput, measure_speed
from basic_codec.ops.metrics import rd_loss


@pytest.fixture(scope="module")
def images(tmp_path_factory, crop):
    d = tmp_path_factory.mktemp("set")
    Image.fromarray(crop[:64, :96]).save(d / "a.png")
    Image.fromarray(crop[64:128, 96:192]).save(d / "b.png")
    return d


def test_records_resume_and_aggregate_means(tmp_path, images, tiny_codec, crop):
    cfg = BenchConfig(str(images), str(tmp_path / "out"), qualities=(0.0, 1.0), levels=(0, 1), baselines=())
    agg = run(cfg, tiny_codec)
    lines = (tmp_path / "out" / "ours.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 2 * 2  # images x qualities x levels
    again = run(cfg, tiny_codec)  # everything measured already: nothing is coded twice
    assert (tmp_path / "out" / "ours.jsonl").read_text().splitlines() == lines
    assert again.ours == agg.ours
    # the aggregate is the mean of the records, and its RD loss the training objective's
    recs = [json.loads(line) for line in lines]
    point = next(p for p in agg.ours if p.level == 1 and p.quality == 1.0)
    mine = [r for r in recs if r["level"] == 1 and r["quality"] == 1.0]
    assert point.n_images == 2 and point.bpp == pytest.approx(np.mean([r["bpp"] for r in mine]))
    lam = tiny_codec.cfg.lmbda(1.0)
    assert point.rd_loss == pytest.approx(np.mean([rd_loss(r["bpp"], 10 ** (-r["psnr"] / 10), lam) for r in mine]))
    # a record is what a user gets: the file's bytes and the decoded picture's PSNR
    data = tiny_codec.compress(np.asarray(Image.open(images / "a.png")), 1.0, level=1)
    rec = next(r for r in mine if r["image"] == "a.png")
    assert rec["bytes"] == len(data)
    assert rec["psnr"] == pytest.approx(psnr(np.asarray(Image.open(images / "a.png")),
                                             np.asarray(tiny_codec.decompress(data))))
    # aggregate.json holds the same result
    stored = BenchResult.from_dict(json.loads((tmp_path / "out" / "aggregate.json").read_text()))
    assert stored == agg


def test_report_tables_come_from_the_aggregate(tmp_path, images, tiny_codec):
    agg = run(BenchConfig(str(images), str(tmp_path / "out"), qualities=(0.0, 0.5), baselines=()), tiny_codec)
    summary = write_report(agg, tmp_path / "R.md", None)
    levels = {lv.level: lv for lv in agg.levels}
    table = quality_table(agg, levels)
    assert table in summary
    for p in agg.ours:  # every measured point is printed with its own numbers
        assert f"{p.bpp:.3f} / {p.psnr:.2f}" in table
    rows = [line for line in summary.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 2 * len(agg.levels)  # the level table and the quality table
    assert "No published anchor is drawn" in (tmp_path / "R.md").read_text()


def test_report_says_where_reused_baseline_records_were_made(tmp_path, images, tiny_codec):
    """A resumed run reuses the classical codecs' records: the report names their machine and
    date, and says "measured here" only when they match this run's."""
    agg = run(BenchConfig(str(images), str(tmp_path / "out"), qualities=(0.0,), levels=(0,), baselines=()), tiny_codec)
    here = dataclasses.replace(agg, baselines_measured=[f"{agg.machine}, {agg.date}"])
    write_report(here, tmp_path / "here.md", None)
    assert "are measured here" in (tmp_path / "here.md").read_text()
    elsewhere = dataclasses.replace(agg, baselines_measured=["Other CPU, 2 cores, 2026-11-01", f"{agg.machine}, {agg.date}"])
    write_report(elsewhere, tmp_path / "elsewhere.md", None)
    text = (tmp_path / "elsewhere.md").read_text()
    assert "measured here" not in text and "Other CPU, 2 cores, 2026-11-01" in text
    assert BenchResult.from_dict(json.loads(json.dumps(elsewhere.to_dict()))) == elsewhere


def test_report_says_where_our_records_were_made(tmp_path, images, tiny_codec):
    """Our records carry their machine (thread count included) and date, so times measured with
    another thread count or on another machine are named in the report, not passed off as this run's."""
    out = tmp_path / "out"
    agg = run(BenchConfig(str(images), str(out), qualities=(0.0,), levels=(0,), baselines=()), tiny_codec)
    assert agg.ours_measured == [f"{agg.machine}, {agg.date}"]
    rows = [json.loads(line) for line in (out / "ours.jsonl").read_text().splitlines()]
    rows[0].update(machine="Other CPU, 2 cores, torch x (1 threads), Linux", date="2026-11-01")
    (out / "ours.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    again = run(BenchConfig(str(images), str(out), qualities=(0.0,), levels=(0,), baselines=()), tiny_codec)
    assert again.ours_measured == sorted(["Other CPU, 2 cores, torch x (1 threads), Linux, 2026-11-01",
                                          f"{agg.machine}, {agg.date}"])
    write_report(again, tmp_path / "R.md", None)
    text = (tmp_path / "R.md").read_text()
    assert "records were made on: " in text and "Other CPU, 2 cores, torch x (1 threads), Linux, 2026-11-01" in text
    assert BenchResult.from_dict(json.loads(json.dumps(again.to_dict()))) == again


def test_speed_rows_per_level(tiny_codec, crop):
    rows = measure_speed(tiny_codec, crop, repeats=1)
    assert [r["level"] for r in rows] == [lv.level for lv in tiny_codec.levels]
    for r in rows:
        assert 0 < r["dec_entropy_s"] < r["dec_s"] and 0 < r["enc_entropy_s"] < r["enc_s"]
        assert r["dec_network_s"] == pytest.approx(r["dec_s"] - r["dec_entropy_s"], abs=1e-9)
    c = coder_throughput(tiny_codec, crop, repeats=1)
    assert c["symbols"] == tiny_codec.cfg.latent_channels * 12 * 16  # 136 x 200, padded to 192 x 256, /16
    assert c["ours_sym_per_s"] > 0 and c["constriction_sym_per_s"] > 0


def test_effort_records_are_kept_apart_and_tabled(tmp_path, images, tiny_codec):
    """`bench --effort 0,2` codes at both efforts, keeps the records apart (efforts already
    measured are not measured again) and adds the effort table; the main tables show effort 0."""
    out = tmp_path / "out"
    plain = run(BenchConfig(str(images), str(out), qualities=(0.3, 0.7), levels=(0,), baselines=()), tiny_codec)
    both = run(BenchConfig(str(images), str(out), qualities=(0.3, 0.7), levels=(0,), baselines=(), efforts=(0, 2)),
               tiny_codec)
    recs = [json.loads(line) for line in (out / "ours.jsonl").read_text().splitlines()]
    assert sorted(r["effort"] for r in recs) == [0] * 4 + [2] * 4  # effort 0 was not coded twice
    assert both.efforts == [0, 2] and both.main == plain.ours == both.ours
    at = {(p.effort, p.quality): p for p in both.effort_points}
    assert at[(2, 0.7)].rd_loss < at[(0, 0.7)].rd_loss  # what effort is for
    write_report(both, tmp_path / "R.md", None)
    text = (tmp_path / "R.md").read_text()
    assert "## Encoder effort (`bench --effort 0,2`)" in text and "(all 2 images)" in text
    row = next(line for line in text.splitlines() if line.startswith("| 0 | 2 | "))
    assert f"{at[(2, 0.3)].bpp / 2 + at[(2, 0.7)].bpp / 2:.4f}" in row
    assert "## Encoder effort" not in write_report(plain, tmp_path / "P.md", None) + (tmp_path / "P.md").read_text()


def test_effort_table_on_a_subset_compares_the_same_images(tmp_path, images, tiny_codec):
    """`--effort-limit 1 --effort-levels 0`: the slow efforts code only the first image at
    level 0, and the effort table's reference is effort 0 on that image alone, not the set."""
    cfg = BenchConfig(str(images), str(tmp_path / "out"), qualities=(0.3, 0.7), levels=(0, 1), baselines=(),
                      efforts=(0, 1), effort_levels=(0,), effort_limit=1)
    agg = run(cfg, tiny_codec)
    recs = [json.loads(line) for line in (tmp_path / "out" / "ours.jsonl").read_text().splitlines()]
    refined = [r for r in recs if r["effort"] == 1]
    assert {(r["image"], r["level"]) for r in refined} == {("a.png", 0)} and len(refined) == 2
    assert len(recs) == 2 * 2 * 2 + 2  # every image and level at effort 0, plus the subset
    assert {p.n_images for p in agg.ours} == {2} and {p.effort for p in agg.ours} == {0}
    assert {(p.level, p.effort, p.n_images) for p in agg.effort_points} == {(0, 0, 1), (0, 1, 1)}
    ref = {r["quality"]: r["bpp"] for r in recs if r["effort"] == 0 and r["image"] == "a.png" and r["level"] == 0}
    assert {p.quality: p.bpp for p in agg.effort_points if p.effort == 0} == pytest.approx(ref)
    write_report(agg, tmp_path / "R.md", None)
    assert "the first 1 of the 2 images" in (tmp_path / "R.md").read_text()
    with pytest.raises(ValueError, match="effort levels"):
        run(BenchConfig(str(images), str(tmp_path / "o2"), qualities=(0.3,), levels=(0,), baselines=(),
                        efforts=(0, 1), effort_levels=(1,)), tiny_codec)
