"""CLI: real files in and out; every bad input -> one line on stderr, exit code 2, no output file."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from basic_codec.cli import main


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def png(tmp_path, crop):
    p = tmp_path / "in.png"
    Image.fromarray(crop).save(p)
    return p


def test_compress_decompress_info_levels(tmp_path, png, tiny_weights, capsys):
    bsic, out = tmp_path / "a.bsic", tmp_path / "out.png"
    code, _, err = run(["compress", png, bsic, "--weights", tiny_weights, "-q", "0.3", "--level", "1"], capsys)
    assert code == 0, err
    code, _, err = run(["decompress", bsic, out, "--weights", tiny_weights], capsys)
    assert code == 0, err
    assert Image.open(out).size == Image.open(png).size
    code, text, _ = run(["info", bsic, "--json"], capsys)
    info = json.loads(text)
    assert code == 0 and info["level"] == 1 and abs(info["quality"] - 0.3) < 1e-4
    assert info["bytes"] == bsic.stat().st_size and info["width"] == 200 and info["height"] == 136
    code, text, _ = run(["levels", "--json", "--weights", tiny_weights], capsys)
    rows = json.loads(text)
    assert code == 0 and {"level", "widths", "partites", "enc_kmac_per_px", "dec_kmac_per_px"} <= set(rows[0])


def _expect_error(args, capsys, output=None):
    code, _, err = run(args, capsys)
    assert code == 2
    assert err.startswith("basic-codec: error: ") and err.count("\n") == 1, err
    if output is not None:
        assert not output.exists(), "partial output left behind"
        assert not list(output.parent.glob(f".{output.name}*")), "temp file left behind"


def test_bad_inputs(tmp_path, png, tiny_weights, capsys):
    w = ["--weights", tiny_weights]
    out = tmp_path / "x.bsic"
    _expect_error(["compress", tmp_path / "missing.png", out, *w], capsys, out)
    (tmp_path / "empty.png").write_bytes(b"")
    _expect_error(["compress", tmp_path / "empty.png", out, *w], capsys, out)
    (tmp_path / "text.png").write_text("hello")
    _expect_error(["compress", tmp_path / "text.png", out, *w], capsys, out)
    _expect_error(["compress", png, out, "-q", "3", *w], capsys, out)
    _expect_error(["compress", png, out, "--level", "99", *w], capsys, out)
    _expect_error(["compress", png, out, "--weights", tmp_path / "nope.safetensors"], capsys, out)
    Image.new("F", (20, 20)).save(tmp_path / "float.tif")
    _expect_error(["compress", tmp_path / "float.tif", out, *w], capsys, out)

    good = tmp_path / "good.bsic"
    assert run(["compress", png, good, *w], capsys)[0] == 0
    data = good.read_bytes()
    dec = tmp_path / "dec.png"
    for name, blob in [("trunc", data[: len(data) // 2]), ("empty", b""), ("version", data[:4] + b"\x07" + data[5:]),
                       ("flip", data[:40] + bytes([data[40] ^ 1]) + data[41:])]:
        (tmp_path / f"{name}.bsic").write_bytes(blob)
        _expect_error(["decompress", tmp_path / f"{name}.bsic", dec, *w], capsys, dec)
    _expect_error(["info", tmp_path / "trunc.bsic"], capsys)
    # a file from other weights
    other = tmp_path / "other.safetensors"
    from basic_codec.weights import save_weights
    from tests.conftest import tiny_model

    save_weights(tiny_model(seed=1), other)
    _expect_error(["decompress", good, dec, "--weights", other], capsys, dec)


def test_refuses_to_overwrite(tmp_path, png, tiny_weights, capsys):
    out = tmp_path / "a.bsic"
    out.write_bytes(b"keep")
    _expect_error(["compress", png, out, "--weights", tiny_weights], capsys)
    assert out.read_bytes() == b"keep"
    assert run(["compress", png, out, "--weights", tiny_weights, "--force"], capsys)[0] == 0


def test_python_dash_m_and_help():
    r = subprocess.run([sys.executable, "-m", "basic_codec", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "compress" in r.stdout
    r = subprocess.run([sys.executable, "-m", "basic_codec", "decompress", "/nonexistent.bsic", "/tmp/x.png"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1


def test_many_files_with_a_process_pool(tmp_path, crop, tiny_weights, capsys):
    src, enc, dec = tmp_path / "src", tmp_path / "enc", tmp_path / "dec"
    for d in (src, enc, dec):
        d.mkdir()
    for i in range(3):
        Image.fromarray(crop[:, i * 20 :]).save(src / f"img{i}.png")
    (src / "broken.png").write_bytes(b"not an image")
    code, out, err = run(["compress", src, "--out-dir", enc, "--jobs", "2", "--weights", tiny_weights, "-q", "0.4"],
                         capsys)
    errors = [line for line in err.splitlines() if line.startswith("basic-codec: error:")]
    assert code == 2 and len(errors) == 1 and "broken.png" in errors[0]
    assert "3 of 4 files" in out
    assert sorted(p.name for p in enc.iterdir()) == ["img0.bsic", "img1.bsic", "img2.bsic"]  # nothing partial
    code, out, err = run(["decompress", enc, "--out-dir", dec, "--weights", tiny_weights], capsys)
    assert code == 0, err
    for i in range(3):
        assert Image.open(dec / f"img{i}.png").size == Image.open(src / f"img{i}.png").size
    # the pool's bytes are the single-process bytes
    code, _, err = run(["compress", src / "img1.png", tmp_path / "one.bsic", "--weights", tiny_weights, "-q", "0.4"],
                       capsys)
    assert code == 0 and (tmp_path / "one.bsic").read_bytes() == (enc / "img1.bsic").read_bytes()
    code, _, err = run(["compress", src / "img1.png", "--weights", tiny_weights], capsys)
    assert code == 2 and "--out-dir" in err


def test_outputs_honour_the_umask(tmp_path, tiny_weights):
    from basic_codec.cli import main

    src = tmp_path / "in.png"
    Image.fromarray(np.full((40, 56, 3), 120, np.uint8)).save(src)
    old = os.umask(0o022)
    try:
        assert main(["compress", str(src), str(tmp_path / "a.bsic"), "--weights", str(tiny_weights)]) == 0
        assert main(["decompress", str(tmp_path / "a.bsic"), str(tmp_path / "a.png"), "--weights", str(tiny_weights)]) == 0
        os.umask(0o077)
        assert main(["compress", str(src), str(tmp_path / "b.bsic"), "--weights", str(tiny_weights)]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "a.bsic").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.bsic").stat().st_mode & 0o777 == 0o600
