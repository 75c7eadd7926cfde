"""The documentation site (docs/conf.py, docs/index.md "About this site") builds warning-free.

The build here runs Sphinx with ``-W`` but without executing the tutorials (``nb_execution_mode=off``): it checks
the configuration, every toctree, cross-reference and page, and that autodoc imports and parses every documented
module's docstrings. The executed build is ``make docs`` (run by .ci/run after ``make test``). The build test
needs the ``docs`` extra (``pip install -e '.[docs]'``, done by ``make docs``) and is skipped, with that reason,
without it; the checks of the tutorial sources below need nothing.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("*.md"))
DOCS_EXTRA = all(importlib.util.find_spec(m) is not None for m in ("sphinx", "myst_nb", "ipykernel"))


def test_tutorials_are_executable_notebooks():
    """Each tutorial is a MyST-NB text notebook with a Python kernel and code cells, so the build executes it."""
    assert len(TUTORIALS) >= 4, [p.name for p in TUTORIALS]
    for path in TUTORIALS:
        text = path.read_text()
        front = re.match(r"---\n(.*?)\n---\n", text, re.S)
        assert front, f"{path.name}: no front matter"
        assert "file_format: mystnb" in front.group(1) and "name: python3" in front.group(1), path.name
        assert text.count("```{code-cell} python") >= 2, f"{path.name}: fewer than two code cells"


def test_conf_executes_tutorials_and_fails_on_errors():
    """The configuration re-executes every notebook and turns a failing cell into a failed build."""
    conf = (DOCS / "conf.py").read_text()
    assert re.search(r'^nb_execution_mode = "force"$', conf, re.M)
    assert re.search(r"^nb_execution_raise_on_error = True$", conf, re.M)


@pytest.mark.skipif(not DOCS_EXTRA, reason="docs extra not installed (pip install -e '.[docs]'; make docs does it)")
def test_site_builds_warning_free(tmp_path):
    out = tmp_path / "html"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-E", "-W", "--keep-going", "-q",
           "-D", "nb_execution_mode=off", "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-4000:]
    # the API reference holds the verbs, the results and the spec, generated from their docstrings
    api = (out / "api" / "toplevel.html").read_text() + (out / "api" / "spec.html").read_text()
    for name in ("asymexp.api.verbs.derive", "asymexp.api.verbs.validate", "asymexp.api.results.ValidationResult",
                 "asymexp.spec.NetworkSpec"):
        assert f'id="{name}"' in api, name
    # every tutorial is linked from the front page
    index = (out / "index.html").read_text()
    for path in TUTORIALS:
        assert f'href="tutorials/{path.stem}.html"' in index, path.name
