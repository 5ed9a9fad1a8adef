"""Package layout rules that a newcomer relies on."""
import subprocess
import sys


def test_container_and_cli_parsing_do_not_import_torch():
    code = ("import basic_codec, basic_codec.format, basic_codec.cli, sys; "
            "basic_codec.cli.build_parser(); assert 'torch' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_layers_do_not_import_the_entropy_models():
    from pathlib import Path

    nn = Path(__file__).resolve().parents[1] / "basic_codec" / "nn"
    for f in nn.glob("*.py"):
        assert "entropy" not in f.read_text(), f"{f.name} reaches into entropy/ (use ops/)"


def test_each_formula_has_one_home():
    """PSNR, the RD objective and atomic file writing are written once (issue 21); everything
    else imports them. A second copy elsewhere in the package fails this test."""
    from pathlib import Path

    pkg = Path(__file__).resolve().parents[1] / "basic_codec"
    homes = {"log10(": "ops/metrics.py", "255**2": "ops/metrics.py", "os.replace(": "files.py",
             "mkstemp(": "files.py"}
    for needle, home in homes.items():
        found = sorted(str(p.relative_to(pkg)) for p in pkg.rglob("*.py") if needle in p.read_text())
        assert found == [home], (needle, found)
