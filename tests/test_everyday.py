"""What cwebp/avifenc/cjxl and Pillow users take for granted: stdin/stdout, --version, any output
format, metadata and alpha kept, one EXIF-orientation rule, numpy scalars and float arrays,
the Pillow plugin's options, the table vocabulary, and a bench that leaves docs/ alone."""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from basic_codec.api import Codec
from basic_codec.cli import main
from basic_codec.errors import InputError
from basic_codec.format import VERSION
from basic_codec.version import __version__

from .conftest import ROOT

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


def cli(args, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "basic_codec", *map(str, args)], input=stdin,
                          capture_output=True, cwd=ROOT, timeout=300)


def exif_bytes(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "basic-codec test camera"
    return exif.tobytes()


@pytest.fixture()
def png_bytes(crop) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(crop[:64, :96]).save(buf, "PNG")
    return buf.getvalue()


def test_version():
    r = cli(["--version"])
    assert r.returncode == 0 and r.stdout.decode().strip() == f"basic-codec {__version__} (.bsic format version {VERSION})"


def test_stdin_stdout_round_trip(png_bytes, tiny_weights):
    enc = cli(["compress", "-", "-", "--weights", tiny_weights], png_bytes)
    assert enc.returncode == 0, enc.stderr
    assert enc.stdout[:4] == b"BSIC" and b"->" in enc.stderr  # the summary goes to stderr
    dec = cli(["decompress", "-", "-", "--weights", tiny_weights], enc.stdout)
    assert dec.returncode == 0, dec.stderr
    out = Image.open(io.BytesIO(dec.stdout))
    assert out.format == "PNG" and out.size == (96, 64)
    info = cli(["info", "-", "--json", "--weights", tiny_weights], enc.stdout)
    assert json.loads(info.stdout)["width"] == 96
    empty = cli(["decompress", "-", "-", "--weights", tiny_weights])
    assert empty.returncode == 2 and empty.stderr.decode().count("\n") == 1


def test_quiet_verbose_and_any_output_format(tmp_path, png_bytes, tiny_weights, capsys):
    src = tmp_path / "in.png"
    src.write_bytes(png_bytes)
    w = ["--weights", str(tiny_weights)]
    assert main(["compress", str(src), str(tmp_path / "a.bsic"), "--quiet", *w]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["compress", str(src), str(tmp_path / "b.bsic"), "-v", *w]) == 0
    assert "partites" in capsys.readouterr().out
    for name, fmt_name in (("o.jpg", "JPEG"), ("o.webp", "WEBP"), ("o.tiff", "TIFF"), ("o.png", "PNG")):
        assert main(["decompress", str(tmp_path / "a.bsic"), str(tmp_path / name), "--quiet", *w]) == 0
        assert Image.open(tmp_path / name).format == fmt_name
    assert main(["decompress", str(tmp_path / "a.bsic"), str(tmp_path / "o.xyz"), *w]) == 2
    assert "image format" in capsys.readouterr().err
    assert main(["compress", str(src), str(tmp_path / "named.png"), *w]) == 0  # a .bsic under a .png name
    assert "does not end in .bsic" in capsys.readouterr().err


def rgba_image(crop) -> Image.Image:
    rgb = crop[:48, :80]
    alpha = np.tile(np.arange(80, dtype=np.uint8) * 3, (48, 1))
    alpha[10:20, 10:30] = 0
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def test_alpha_and_metadata_round_trip_api(tiny_codec, crop):
    img = rgba_image(crop)
    img.info.update({"icc_profile": ICC, "exif": exif_bytes(), "xmp": XMP})
    out = tiny_codec.decompress(tiny_codec.compress(img, 0.5))
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out.getchannel("A")), np.asarray(img.getchannel("A")))
    assert out.info["icc_profile"] == ICC and out.info["xmp"] == XMP
    exif = Image.open(io.BytesIO(_jpeg_with(out.info["exif"]))).getexif()
    assert exif[0x010F] == "basic-codec test camera"
    la = Image.fromarray(np.dstack([crop[:32, :32, 0], crop[:32, :32, 1]]), "LA")
    back = tiny_codec.decompress(tiny_codec.compress(la, 0.5))
    assert back.mode == "LA" and np.array_equal(np.asarray(back.getchannel("A")), np.asarray(la.getchannel("A")))


def _jpeg_with(exif: bytes) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_alpha_and_metadata_round_trip_cli(tmp_path, crop, tiny_weights):
    src = tmp_path / "in.png"
    rgba_image(crop).save(src, icc_profile=ICC, exif=exif_bytes())
    w = ["--weights", str(tiny_weights)]
    assert main(["compress", str(src), str(tmp_path / "a.bsic"), *w]) == 0
    assert main(["decompress", str(tmp_path / "a.bsic"), str(tmp_path / "out.png"), *w]) == 0
    back, orig = Image.open(tmp_path / "out.png"), Image.open(src)
    assert back.mode == "RGBA" and np.array_equal(np.asarray(back.getchannel("A")), np.asarray(orig.getchannel("A")))
    assert back.info["icc_profile"] == ICC
    assert back.getexif()[0x010F] == "basic-codec test camera"
    # JPEG output keeps the profile, says that it drops alpha
    r = cli(["decompress", tmp_path / "a.bsic", tmp_path / "out.jpg", *w])
    assert r.returncode == 0 and b"alpha plane is dropped" in r.stderr
    assert Image.open(tmp_path / "out.jpg").info["icc_profile"] == ICC


def test_exif_orientation_same_in_api_plugin_and_cli(tmp_path, crop, tiny_codec, tiny_weights):
    import basic_codec.pil_plugin as plugin

    path = tmp_path / "rot6.jpg"
    Image.fromarray(crop[:40, :72]).save(path, quality=95, exif=exif_bytes(6))
    assert main(["compress", str(path), str(tmp_path / "cli.bsic"), "--weights", str(tiny_weights)]) == 0
    cli_bytes = (tmp_path / "cli.bsic").read_bytes()
    api_path = Codec(tiny_codec.model, tiny_codec.levels).compress(path)  # a path, as the CLI reads it
    api_pil = tiny_codec.compress(Image.open(path))
    plugin.set_codec(tiny_codec)
    try:
        Image.open(path).save(tmp_path / "plugin.bsic")
    finally:
        plugin.set_codec(None)
    assert cli_bytes == api_path == api_pil == (tmp_path / "plugin.bsic").read_bytes()
    assert tiny_codec.decompress(api_pil).size == (40, 72)  # stored 72 x 40, orientation 6: turned


def test_numpy_scalars_floats_paths_and_bytes(tiny_codec, crop, tmp_path):
    arr = np.ascontiguousarray(crop[:64, :64])
    ref = tiny_codec.compress(arr, 0.5, level=1)
    assert tiny_codec.compress(arr, np.float32(0.5), level=np.int64(1)) == ref
    assert tiny_codec.compress(arr.astype(np.float32) / 255.0, 0.5, level=1) == ref
    path = tmp_path / "x.png"
    Image.fromarray(arr).save(path)
    assert tiny_codec.compress(path, 0.5, level=1) == ref == tiny_codec.compress(str(path), 0.5, level=1)
    assert tiny_codec.compress(path.read_bytes(), 0.5, level=1) == ref
    (tmp_path / "x.bsic").write_bytes(ref)
    assert np.array_equal(np.asarray(tiny_codec.decompress(tmp_path / "x.bsic")), np.asarray(tiny_codec.decompress(ref)))
    from basic_codec.errors import CodecWarning, InputError

    with pytest.raises(InputError, match=r"\[0, 1\]"):
        tiny_codec.compress(arr.astype(np.float32), 0.5)
    with pytest.raises(InputError):
        tiny_codec.compress(arr, True)
    with pytest.warns(CodecWarning, match="8 bits"):
        tiny_codec.compress(arr.astype(np.uint16) * 257, 0.5)


def test_plugin_passes_every_option(tiny_codec, crop, tmp_path):
    import basic_codec.pil_plugin as plugin

    img = Image.fromarray(np.ascontiguousarray(crop[:64, :64]))
    plugin.set_codec(tiny_codec)
    try:
        img.save(tmp_path / "a.bsic", quality=0.2, level=0)
        with pytest.raises(InputError):
            img.save(tmp_path / "c.bsic", quality=0.2, enc_budget=1e-9)  # no level fits: the option arrives
        img.save(tmp_path / "d.bsic", quality=0.2, level=0, icc_profile=ICC)
        opened = Image.open(tmp_path / "d.bsic")
        assert opened.info["icc_profile"] == ICC
        opened.load()
    finally:
        plugin.set_codec(None)
    assert (tmp_path / "a.bsic").read_bytes() == tiny_codec.compress(img, 0.2, level=0)


def test_levels_and_info_speak_channels(tmp_path, tiny_weights, crop, capsys):
    w = ["--weights", str(tiny_weights)]
    assert main(["levels", "--json", *w]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["widths"] == {"g_a": 16, "h_a": 16, "h_s": 16, "g_s": 16}
    src = tmp_path / "in.png"
    Image.fromarray(crop[:64, :64]).save(src)
    assert main(["compress", str(src), str(tmp_path / "a.bsic"), "--level", "0", *w]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "a.bsic"), *w]) == 0
    text = capsys.readouterr().out
    assert "decoder kMAC/px" in text and "{" not in text and "quality: 0.5\n" in text


def test_demo_from_a_wheel_install(tmp_path):
    """Build the wheel, install it into a fresh venv (the deps from this one), run demo elsewhere."""
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                        "-w", str(tmp_path / "dist"), "-q"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    wheel = next((tmp_path / "dist").glob("basic_codec-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    import zipfile

    zipfile.ZipFile(wheel).extractall(site)  # what pip install does for a pure wheel
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "deps.pth").write_text("\n".join(deps) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run([str(py), "-c", "import basic_codec, sys; print(basic_codec.__file__)"],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith(str(site)), (r.stdout, r.stderr)
    r = subprocess.run([str(py), "-m", "basic_codec", "demo"], capture_output=True, text=True, cwd=tmp_path,
                       env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "sample.png: 640x448" in r.stdout and len(r.stdout.splitlines()) >= 4


def test_bench_on_another_folder_leaves_docs_alone(tmp_path, tiny_weights, crop, monkeypatch):
    """`bench` on two non-Kodak photos: report and plots under --out, titled by the folder, no
    published anchor (they are Kodak means), and docs/ untouched."""
    images = tmp_path / "holiday"
    images.mkdir()
    Image.fromarray(crop[:64, :96]).save(images / "a.png")
    Image.fromarray(crop[64:128, 96:192]).save(images / "b.png")
    from basic_codec.bench import plots

    drawn = []
    real = plots.plot_rd
    monkeypatch.setattr(plots, "plot_rd", lambda curves, *a, **k: (drawn.extend(curves), real(curves, *a, **k))[1])
    docs = ROOT / "docs"
    before = {p: p.stat().st_mtime_ns for p in docs.rglob("*") if p.is_file()}
    out = tmp_path / "results"
    assert main(["bench", str(images), "--out", str(out), "--baselines", "none", "--qualities", "0,0.5,1",
                 "--weights", str(tiny_weights)]) == 0
    after = {p: p.stat().st_mtime_ns for p in docs.rglob("*") if p.is_file()}
    assert after == before
    report = (out / "RESULTS.md").read_text()
    assert report.startswith("# Results on holiday")
    assert drawn and not [c for c in drawn if getattr(c, "published", False)]  # no published anchor drawn
    assert "No published anchor is drawn" in report and "VTM is the" not in report
    assert (out / "img" / "rd.png").exists()
    agg = json.loads((out / "aggregate.json").read_text())
    assert agg["kodak"] is False and agg["levels"][0]["widths"]["g_a"] == 8


def test_progress_bars_on_request_and_quiet(tiny_codec, crop, tmp_path, tiny_weights, capsys):
    img = np.ascontiguousarray(crop[:136, :200])  # 2 x 2 tiles of the tiny model's 128 px
    data = tiny_codec.compress_report(img, 0.5, progress=True).data
    tiny_codec.decompress(data, progress=True)
    err = capsys.readouterr().err
    assert "encode [" in err and "decode [" in err
    tiny_codec.decompress(data, progress=False)
    assert capsys.readouterr().err == ""
    src = tmp_path / "in.png"
    Image.fromarray(img).save(src)
    r = cli(["compress", src, tmp_path / "a.bsic", "--quiet", "--weights", tiny_weights])
    assert r.returncode == 0 and r.stderr == b"" and r.stdout == b""
