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
