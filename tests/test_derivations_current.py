"""The committed derivations/ are exactly what the code generates (run `make derivations` when this fails)."""
import shutil
import subprocess
from pathlib import Path

import pytest

from asymexp.symbolic.regenerate import documents

ROOT = Path(__file__).resolve().parents[1] / "derivations"


def test_committed_derivations_are_current():
    expected = documents()
    stale = [name for name, text in expected.items()
             if not (ROOT / name).exists() or (ROOT / name).read_text() != text]
    assert not stale, f"stale or missing derivations (run `make derivations`): {', '.join(sorted(stale))}"


def test_generation_is_deterministic():
    assert documents() == documents()


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX system (pdflatex) installed")
def test_tex_compiles(tmp_path):
    src = tmp_path / "doc.tex"
    src.write_text(documents()["L1_g3-5.tex"])
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", src.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:]


def test_tex_structure_without_tex_system():
    """Always-on sanity for every .tex: one package (amsmath), matched environments and braces."""
    import re

    for name, text in documents().items():
        if not name.endswith(".tex"):
            continue
        assert re.findall(r"\\usepackage\{([^}]*)\}", text) == ["amsmath"], name
        begins = re.findall(r"\\begin\{([^}]*)\}", text)
        ends = re.findall(r"\\end\{([^}]*)\}", text)
        assert sorted(begins) == sorted(ends), name
        unescaped = re.sub(r"\\[{}]", "", text)
        assert unescaped.count("{") == unescaped.count("}"), name
        assert text.count("$") % 2 == 0, name
