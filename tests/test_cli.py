"""CLI contracts: exit codes, one-line errors, JSON documents, a light import."""
import json
import subprocess
import sys

import pytest

from asymexp.cli import main


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "asymexp", *args], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_bad_gamma_exits_2_with_one_line_naming_it():
    rc, out, err = run_cli("spec", "--gammas", "0.4,0.7", "--widths", "100,100")
    assert rc == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "0.4" in lines[0] and "[1/2, 1]" in lines[0] and "Traceback" not in err


def test_unknown_option_is_one_line_exit_2():
    rc, _, err = run_cli("spec", "--gammas", "0.7", "--activation", "relu")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "relu" in err


def test_spec_json(capsys):
    assert main(["spec", "--gammas", "0.7,0.8,1", "--widths", "100,200,300", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["gammas"] == ["7/10", "4/5", "1"] and doc["widths"] == [100, 200, 300] and doc["depth"] == 3


def test_data_json_embedded(capsys):
    assert main(["data", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dataset"] == "mnist" and doc["md5_ok"] is True
    assert doc["train"] == {"n": 8000, "shape": [28, 28]} and doc["test"] == {"n": 2000, "shape": [28, 28]}


def test_data_dir_with_truncated_file_exits_2_naming_it(tmp_path):
    from asymexp.inputs.datasets import embedded_dir

    src = (embedded_dir() / "t10k-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(src[: len(src) // 3])
    rc, out, err = run_cli("data", "--data-dir", str(tmp_path), "--json")
    assert rc == 2 and out == "" and "t10k-images-idx3-ubyte.gz" in err and len(err.strip().splitlines()) == 1


def test_import_is_light():
    code = "import sys, asymexp; print(sorted(m for m in ('numpy','numba','sympy','scipy','matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("argv", [["info", "--json"]])
def test_info(argv, capsys):
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["versions"]["numpy"] and doc["numba_threads"] >= 1
