"""The API reference (docs/api/*.md) names every public module of the package in an ``automodule`` directive, and
names no module that does not exist; the rule is stated in docs/api/index.md, "What the reference covers": a
module is public when no part of its dotted name starts with "_", and asymexp.cli with its modules (documented as
commands) is left out. A module added without a place in the reference fails here.

The package is walked as a file tree (no imports): every ``.py`` file, a package by its ``__init__.py``."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "asymexp"
API = ROOT / "docs" / "api"
AUTOMODULE = re.compile(r"^\s*\.\. automodule::\s*(\S+)\s*$", re.M)
COMMANDS = "asymexp.cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> set[str]:
    names = set()
    for path in PKG.rglob("*.py"):
        if "__pycache__" not in path.parts:
            names.add(_module_name(path))
    return names


def _public(name: str) -> bool:
    parts = name.split(".")
    commands = name == COMMANDS or name.startswith(COMMANDS + ".")
    return not commands and not any(part.startswith("_") for part in parts)


def _documented() -> dict[str, list[str]]:
    """Module name -> the docs/api pages whose automodule directives name it."""
    pages: dict[str, list[str]] = {}
    for page in sorted(API.glob("*.md")):
        for name in AUTOMODULE.findall(page.read_text()):
            pages.setdefault(name, []).append(page.name)
    return pages


def test_module_names_follow_the_files():
    assert _module_name(PKG / "__init__.py") == "asymexp"
    assert _module_name(PKG / "bn" / "rmt" / "fuss_catalan.py") == "asymexp.bn.rmt.fuss_catalan"
    assert _public("asymexp.bn.constant_mode") and _public("asymexp")
    assert not _public("asymexp.cli") and not _public("asymexp.cli.validate")
    assert not _public("asymexp.cli._common") and not _public("asymexp.__main__")
    assert not _public("asymexp.jit._private")


def test_every_public_module_is_in_the_reference():
    public = {name for name in _modules() if _public(name)}
    assert {"asymexp", "asymexp.bn.constant_mode", "asymexp.budget"} <= public   # the walk finds the package
    missing = sorted(public - set(_documented()))
    assert missing == [], f"public modules named by no automodule in docs/api/*.md: {missing}"


def test_the_reference_names_only_existing_public_modules():
    modules = _modules()
    stale = sorted(name for name in _documented() if name not in modules or not _public(name))
    assert stale == [], f"docs/api/*.md automodule directives naming no public module: {stale}"


def test_each_module_is_documented_once():
    twice = {name: pages for name, pages in _documented().items() if len(pages) > 1}
    assert twice == {}
