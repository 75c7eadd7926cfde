"""The shape of the package (docs/architecture.md), checked from the source text: layers import only downwards,
packages import each other in no cycle, modules stay short, file names do not repeat, docstrings cite the
project's own documentation (never an issue number or a file outside the repository)."""
import ast
import re
from collections import defaultdict
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "asymexp"

# docs/architecture.md, bottom to top; a module may import from its own rank or below.
RANK = {"errors": 0, "figure_files": 0, "kernel_codes": 0, "provenance": 0, "jit": 0, "compile_notice": 0, "floatmath": 0, "lazy": 0,
        "run_folder": 0, "budget": 0, "json_out": 0, "input_checks": 0,
        "spec": 1, "activations": 1, "norms": 1, "stats": 1,
        "inputs": 2, "symbolic": 2,
        "numeric": 3, "nn": 3,
        "sim": 4, "executor": 4,
        "validation": 5, "mnist": 5, "bn": 5,
        "api": 6, "demo": 6, "cli": 7, "__main__": 7, "__init__": 7}


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        if "__pycache__" not in path.parts:
            yield path


def _unit(path: Path) -> str:
    """The top-level unit (subpackage or module) a file belongs to: asymexp/nn/dense.py -> nn."""
    rel = path.relative_to(PKG).parts
    return rel[0][:-3] if len(rel) == 1 else rel[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("asymexp."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "asymexp":
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("asymexp."))
    return out


def test_every_unit_has_a_rank():
    assert {_unit(p) for p in _modules()} <= set(RANK)


def test_no_upward_import():
    upward = []
    for path in _modules():
        unit = _unit(path)
        for target in _imports(path):
            if target in RANK and RANK[target] > RANK[unit]:
                upward.append(f"{path.relative_to(PKG)} imports asymexp.{target}")
    assert upward == []


def test_no_cycle_between_packages():
    graph = defaultdict(set)
    for path in _modules():
        unit = _unit(path)
        graph[unit].update(t for t in _imports(path) if t in RANK and t != unit)
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                raise AssertionError(f"import cycle: {' -> '.join(stack + [node, nxt])}")
            if nxt not in state:
                visit(nxt, stack + [node])
        state[node] = "done"

    for node in list(graph):
        if node not in state:
            visit(node, [])


def test_modules_stay_short():
    long = [f"{p.relative_to(PKG)}: {n}" for p in _modules() if (n := len(p.read_text().splitlines())) > 400]
    assert long == []


def test_no_two_modules_share_a_file_name():
    """cli/ modules are named after their command and __init__.py is a package's face; every other name is unique."""
    names = defaultdict(list)
    for path in _modules():
        if path.name != "__init__.py" and path.parent.name != "cli":
            names[path.stem].append(str(path.relative_to(PKG)))
    assert {k: v for k, v in names.items() if len(v) > 1} == {}


def test_docstrings_cite_the_repository_only():
    bad = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node) or ""
                if re.search(r"(?i:\bissue \d+)|THEORY\.md|INTERFACES\.md|shared/spec", doc):
                    bad.append(f"{path.relative_to(PKG)}:{getattr(node, 'name', '<module>')}")
    assert bad == []


def test_cited_documentation_exists():
    root = PKG.parent
    missing = set()
    for path in _modules():
        for ref in re.findall(r"docs/[\w./-]+\.md", path.read_text()):
            if not (root / ref).is_file():
                missing.add(f"{path.relative_to(PKG)} -> {ref}")
    assert missing == set()


def _module_name(path: Path) -> str:
    """asymexp/nn/dense.py -> nn.dense; asymexp/nn/__init__.py -> nn."""
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_imports(path: Path, known: set[str]) -> set[str]:
    """The asymexp modules ``path`` imports, at module level or inside functions (``from asymexp.x import y``
    counts module x.y when y is a module, else x)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and (node.module == "asymexp" or node.module.startswith("asymexp.")):
            base = node.module[len("asymexp."):] if node.module != "asymexp" else ""
            for alias in node.names:
                sub = f"{base}.{alias.name}" if base else alias.name
                out.add(sub if sub in known else base)
        elif isinstance(node, ast.Import):
            out.update(a.name[len("asymexp."):] for a in node.names if a.name.startswith("asymexp."))
    return {m for m in out if m in known}


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of ``graph`` with more than one node."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_no_cycle_between_modules():
    """No two modules import each other, directly or around a loop (module-level and function-level imports
    alike; a package's __init__ is a module of its own)."""
    paths = list(_modules())
    known = {_module_name(p) for p in paths}
    graph = {_module_name(p): _module_imports(p, known) - {_module_name(p)} for p in paths}
    cycles = [sorted(c) for c in _strongly_connected(graph)]
    assert cycles == []


def test_the_module_cycle_check_finds_a_cycle():
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
