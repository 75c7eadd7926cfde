"""Problem files: small data sets for theory and validation (docs/interfaces.md, "Problem files").

TOML::

    activation = "tanh"            # or "sigmoid", "gelu" (asymexp.activations.EXPANDABLE)
    alpha = 1.0
    [init]
    c = "uniform(-1,1)"            # output-layer law
    w = "normal(0,1)"              # input-layer law, i.i.d. per coordinate
    [data]
    x = [[0.1, -0.3, 1.0], ...]    # training inputs, a constant bias coordinate written explicitly
    y = [0.5, ...]
    probe = [[0.2, 0.2, 1.0]]      # optional extra evaluation points
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from asymexp.errors import AsymexpError, SpecError
from asymexp.spec import ACTIVATIONS, Law, NetworkSpec


class ProblemError(AsymexpError):
    """An invalid problem file (names the file, the key and what is allowed)."""


@dataclass(frozen=True, eq=False)
class Problem:
    """A small supervised problem and the initial laws of a network trained on it.

    Attributes:
        activation: "sigmoid", "tanh" or "gelu" (:data:`asymexp.activations.EXPANDABLE`).
        alpha: the base learning rate (float > 0).
        c_law, w_law: laws of the output weights C and of the first-layer weights W1 (i.i.d.).
        x: (M, d) training inputs; y: (M,) targets; probe: (Q, d) extra evaluation points (Q may be 0).
        path: where it was read from (or None).
    """

    activation: str
    alpha: float
    c_law: Law
    w_law: Law
    x: np.ndarray
    y: np.ndarray
    probe: np.ndarray
    path: str | None = None

    def __post_init__(self):
        """Check every field (however the Problem was built: from a file or from arrays) and store the arrays
        as float64 copies; :class:`ProblemError` names the value and what is allowed."""
        if self.activation not in ACTIVATIONS:
            raise ProblemError(f"activation = {self.activation!r}; allowed: {', '.join(ACTIVATIONS)}")
        alpha = self.alpha
        if (isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, (int, float, np.integer, np.floating))
                or not math.isfinite(float(alpha)) or alpha <= 0):
            raise ProblemError(f"alpha = {alpha!r}; a finite number > 0 is required")
        object.__setattr__(self, "alpha", float(alpha))
        for name in ("c_law", "w_law"):
            try:
                law = Law.parse(getattr(self, name))
            except SpecError as exc:
                raise ProblemError(f"{name}: {exc}") from None
            if law.kind == "torch-default":
                raise ProblemError(f"{name} = torch-default needs a fan-in; use normal(m,s) or uniform(a,b)")
            object.__setattr__(self, name, law)
        x = _array(self.x, "x", 2)
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ProblemError(f"x has shape {x.shape}; (M, d) with M >= 1 training points of d >= 1 numbers "
                               "is required")
        y = _array(self.y, "y", 1)
        if y.shape != (x.shape[0],):
            raise ProblemError(f"y has shape {y.shape}; ({x.shape[0]},) is required: one target per row of x")
        probe = np.zeros((0, x.shape[1])) if self.probe is None or np.size(self.probe) == 0 else \
            _array(self.probe, "probe", 2)
        if probe.shape[1] != x.shape[1]:
            raise ProblemError(f"probe has shape {probe.shape}; (Q, {x.shape[1]}) is required (the dimension "
                               "of x)")
        for name, arr in (("x", x), ("y", y), ("probe", probe)):
            object.__setattr__(self, name, arr)

    @property
    def points(self) -> np.ndarray:
        """(P, d): the M training points, then the probes."""
        return np.vstack([self.x, self.probe]) if len(self.probe) else self.x.copy()

    @property
    def n_train(self) -> int:
        return self.x.shape[0]

    @property
    def dim(self) -> int:
        return self.x.shape[1]

    def spec(self, gammas, widths) -> NetworkSpec:
        """The depth-L network on this data: W1 ~ w_law, inner W ~ normal(0,1), C ~ c_law, no biases."""
        gammas = list(gammas) if not isinstance(gammas, (str, int, float)) else [gammas]
        widths = list(widths) if not isinstance(widths, (str, int)) else [widths]
        depth = len(gammas)
        laws = [self.w_law] + [Law("normal", 0, 1)] * (depth - 1) + [self.c_law]
        return NetworkSpec(gammas=tuple(gammas), widths=tuple(widths), activation=self.activation,
                           input_dim=self.dim, output_dim=1, weight_laws=tuple(laws), bias=False)


def _array(value, name: str, ndim: int) -> np.ndarray:
    """A float64 copy of ``value`` with ``ndim`` dimensions and finite entries, else :class:`ProblemError`."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ProblemError(f"{name} = {value!r} is not an array of numbers; a {ndim}-D array of finite "
                           "numbers is required") from None
    if arr.ndim != ndim:
        raise ProblemError(f"{name} has shape {arr.shape}; a {ndim}-D array is required "
                           f"({'(M, d)' if ndim == 2 else '(M,)'})")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ProblemError(f"{name}{list(where)} = {arr[where]}; every entry must be a finite number")
    return arr


def _matrix(value, key: str, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ProblemError(f"{where}: [data] {key} must be a list of equal-length lists of numbers") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ProblemError(f"{where}: [data] {key} must be a non-empty list of equal-length lists of numbers")
    if not np.all(np.isfinite(arr)):
        raise ProblemError(f"{where}: [data] {key} has a non-finite entry")
    return arr


def _table(data: dict, name: str, allowed: set, where: str) -> dict:
    """The sub-table ``[name]`` of a problem: a table whose keys are all in ``allowed`` (a typo is an error, never
    a silent default)."""
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ProblemError(f"{where}: {name} = {table!r} is not a table; write [{name}] with keys "
                           f"{', '.join(sorted(allowed))}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ProblemError(f"{where}: [{name}] has unknown key(s) {', '.join(unknown)}; allowed: "
                           f"{', '.join(sorted(allowed))}")
    return table


def problem_from_mapping(data: dict, where: str = "<problem>") -> Problem:
    """Validate a parsed problem table (see the module docstring)."""
    allowed = {"activation", "alpha", "init", "data"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ProblemError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    activation = data.get("activation", "sigmoid")
    if activation not in ACTIVATIONS:
        raise ProblemError(f"{where}: activation = {activation!r}; allowed: {', '.join(ACTIVATIONS)}")
    alpha = data.get("alpha", 1.0)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha <= 0:
        raise ProblemError(f"{where}: alpha = {alpha!r}; a finite number > 0 is required")
    init = _table(data, "init", {"c", "w"}, where)
    table = _table(data, "data", {"x", "y", "probe"}, where)
    try:
        c_law = Law.parse(init.get("c", "uniform(-1,1)"))
        w_law = Law.parse(init.get("w", "normal(0,1)"))
    except SpecError as exc:
        raise ProblemError(f"{where}: [init] {exc}") from None
    if "torch-default" in (c_law.kind, w_law.kind):
        raise ProblemError(f"{where}: [init] torch-default needs a fan-in; use normal(m,s) or uniform(a,b)")
    if "x" not in table or "y" not in table:
        raise ProblemError(f"{where}: [data] needs x (M lists of d numbers) and y (M numbers)")
    x = _matrix(table["x"], "x", where)
    try:
        y = np.asarray(table["y"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ProblemError(f"{where}: [data] y must be a list of numbers") from None
    if y.shape != (x.shape[0],) or not np.all(np.isfinite(y)):
        raise ProblemError(f"{where}: [data] y has shape {y.shape}; {x.shape[0]} finite numbers (one per x) required")
    probe = table.get("probe", [])
    probe = _matrix(probe, "probe", where) if len(probe) else np.zeros((0, x.shape[1]))
    if probe.shape[1] != x.shape[1]:
        raise ProblemError(f"{where}: [data] probe points have dimension {probe.shape[1]}; x has {x.shape[1]}")
    return Problem(activation, float(alpha), c_law, w_law, x, y, probe, None if where == "<problem>" else where)


def load_problem(path) -> Problem:
    """Read and validate a TOML problem file; :class:`ProblemError` names the file and the key."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        builtin = resources.files("asymexp.inputs") / "problem_files" / f"{path.name}"
        if path.parent == Path(".") and builtin.is_file():
            return load_problem(Path(str(builtin)))
        raise ProblemError(f"problem file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProblemError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ProblemError(f"{path}: not UTF-8 text (byte {exc.start}); a problem file must be UTF-8 TOML") from None
    return problem_from_mapping(data, str(path))


def builtin_problem(name: str) -> Path:
    """Path of a problem shipped with asymexp (``tanh4``, ``sigmoid4``)."""
    p = Path(str(resources.files("asymexp.inputs") / "problem_files" / f"{name}.toml"))
    if not p.is_file():
        raise ProblemError(f"no built-in problem {name!r}")
    return p
