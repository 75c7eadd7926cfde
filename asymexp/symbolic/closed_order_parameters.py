"""Exact order parameters of wide random networks for the activations whose Gaussian kernels are closed forms.

The recursions are those of docs/batchnorm.md ("Order parameters"): H = ``layers`` hidden layers, L = H + 1,
alpha = H, Gaussian-like inputs entering through qhat^0 and qhat_st^0 (1 and 0 for N(0, I) inputs). Closed forms:

- relu (arc-cosine kernels of degree 1 and 0, rho = q_st / q, theta = arccos rho):
  E relu(u)^2 = q/2, E step(u)^2 = 1/2, E relu(u) relu(v) = q (sqrt(1 - rho^2) + (pi - theta) rho) / (2 pi),
  E step(u) step(v) = (pi - theta) / (2 pi);
- identity (also ``linear``): E u^2 = q, E u v = q_st, and the derivative kernels are 1.

The diagonal chain is linear, so q^l, qhat^l, qtilde^l and kappa1 are closed forms in (s_w^2, s_b^2, qhat^0) for
every depth (:func:`general_q` in a symbolic layer index). For relu the off-diagonal chain is an iterated map of
the angle: it is returned as the L-fold composition written as equations, one per layer, each in terms of the
previous layer (:attr:`ClosedOrderParameters.equations`); kappa2 is a sum over those symbols, and
:meth:`ClosedOrderParameters.composed` substitutes the equations into one finite nested expression. For identity
every quantity is closed.

Predictions (docs/batchnorm.md, "FIM spectrum"), in symbols M (width), T (samples), C (outputs)::

    lambda_max = alpha M ((T-1)/T kappa2 + kappa1/T),  m_lambda = C kappa1 / M,
    s_lambda = C alpha (kappa1^2/T + (T-1)/T kappa2^2),  lower bound (mean-last) = (M/T) alpha (kappa1 - kappa2)
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from asymexp.activations import get
from asymexp.errors import SpecError
from asymexp.spec import exact_number

#: The activations with closed Gaussian kernels (others need quadrature: tanh, sigmoid, sin).
CLOSED_FORM = ("relu", "identity")

# Symbol names are valid Python names, so every printed expression parses back with sympy.sympify.
SW2 = sympy.Symbol("s_w2", positive=True)           # s_w^2
SB2 = sympy.Symbol("s_b2", nonnegative=True)        # s_b^2
QHAT0 = sympy.Symbol("qhat_0", positive=True)
QHAT_ST0 = sympy.Symbol("qhat_st_0", real=True)
M, T, C = sympy.symbols("M T C", positive=True)
KAPPA1, KAPPA2 = sympy.symbols("kappa1 kappa2", real=True)
ELL = sympy.Symbol("l", positive=True, integer=True)


def layer_symbol(name: str, layer: int) -> sympy.Symbol:
    """The symbol of one layer's quantity, e.g. ``qhat_st_2`` (name ``qhat_st``, layer 2)."""
    return sympy.Symbol(f"{name}_{layer}", real=True)


_TEX_BASES = {"q_st": "q^{st}", "qhat_st": "\\hat{q}^{st}", "qtilde_st": "\\tilde{q}^{st}", "rho": "\\rho",
              "theta": "\\theta", "qhat": "\\hat{q}"}


def latex(expr) -> str:
    """LaTeX of ``expr`` with s_w^2, s_b^2 and layer quantities such as \\hat{q}^{st}_{2} written as in the docs."""
    names = {SW2: "s_w^{2}", SB2: "s_b^{2}"}
    for sym in sympy.sympify(expr).free_symbols:
        base, _, layer = sym.name.rpartition("_")
        if base in _TEX_BASES and layer.isdigit():
            names[sym] = f"{_TEX_BASES[base]}_{{{layer}}}"
    return sympy.latex(expr, symbol_names=names)


def _parameter(value, symbol: sympy.Symbol, what: str, minimum: str):
    """``value`` parsed exactly (a SymPy Rational), or ``symbol`` when ``value`` is None."""
    if value is None:
        return symbol
    if isinstance(value, sympy.Basic):
        return value
    x = sympy.Rational(exact_number(value, what))
    if (minimum == "positive" and not x > 0) or (minimum == "nonnegative" and x < 0):
        raise SpecError(f"{what} = {value} is not allowed; a number {'> 0' if minimum == 'positive' else '>= 0'} "
                        "is required")
    return x


def require_closed_form(activation) -> str:
    """The canonical name of ``activation`` if its order parameters have closed forms; else :class:`SpecError`."""
    act = get(activation)
    if act.name not in CLOSED_FORM:
        raise SpecError(f"activation {act.name!r} has no closed-form Gaussian kernels (its order parameters need "
                        f"quadrature: asymexp fim computes them); closed forms exist for relu, identity (= linear)")
    return act.name


def general_q(activation, weight_var=None, bias_var=None, qhat0=None):
    """q^l for a symbolic layer l >= 1 (SymPy, a Piecewise at gain a = 1): the linear diagonal chain solved.

    The gain per layer is a = s_w^2 / 2 (relu) or s_w^2 (identity); q^l = a^{l-1} q^1 + s_b^2 sum_{k<l-1} a^k."""
    name = require_closed_form(activation)
    sw2, sb2 = _parameter(weight_var, SW2, "s_w^2", "positive"), _parameter(bias_var, SB2, "s_b^2", "nonnegative")
    q0 = _parameter(qhat0, QHAT0, "qhat^0", "positive")
    a = sw2 / 2 if name == "relu" else sw2
    k = sympy.Dummy("k", integer=True, nonnegative=True)
    geometric = sympy.Sum(a ** k, (k, 0, ELL - 2)).doit()
    return sympy.piecewise_fold(a ** (ELL - 1) * (sw2 * q0 + sb2) + sb2 * geometric)


@dataclass(frozen=True)
class ClosedOrderParameters:
    """Exact order parameters for one (activation, H hidden layers, s_w^2, s_b^2, qhat^0, qhat_st^0).

    Tuples are indexed like :class:`asymexp.bn.order_parameters.OrderParameters`: ``q[l - 1]`` = q^l
    (l = 1..L), ``qhat[l]`` = qhat^l (l = 0..H), ``qtilde[l - 1]`` = qtilde^l (l = 1..L); all closed SymPy
    expressions. ``equations``: (symbol, right-hand side) pairs of the off-diagonal chain in evaluation order,
    each right-hand side in the parameters and symbols defined before it; ``kappa2`` is written in those symbols.
    """

    activation: str
    layers: int
    weight_var: sympy.Expr
    bias_var: sympy.Expr
    qhat0: sympy.Expr
    qhat_st0: sympy.Expr
    q: tuple
    qhat: tuple
    qtilde: tuple
    equations: tuple
    kappa1: sympy.Expr
    kappa2: sympy.Expr

    @property
    def alpha(self) -> int:
        return self.layers

    def composed(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with every equation substituted (a finite nested closed form in the parameters)."""
        known = {}
        for lhs, rhs in self.equations:
            known[lhs] = rhs.xreplace(known)
        return expr.xreplace(known)

    def evaluate(self, values: dict | None = None, digits: int = 40) -> dict:
        """Floats of kappa1, kappa2 and the per-layer quantities (``values``: numbers for the free symbols, e.g.
        ``{SW2: 2}``; floats taken at their exact binary value), every equation evaluated in turn at ``digits``
        significant digits (mpmath)."""
        subs = {k: sympy.Rational(v) if isinstance(v, (int, float)) else v for k, v in (values or {}).items()}
        free = {p for p in (self.weight_var, self.bias_var, self.qhat0, self.qhat_st0) if p.free_symbols} - set(subs)
        if free:
            raise SpecError(f"no value for {', '.join(sorted(map(str, free)))}; give numbers for every free symbol")
        known = dict(subs)
        for lhs, rhs in self.equations:
            known[lhs] = rhs.evalf(digits, subs=known)
        out = {"kappa1": self.kappa1.evalf(digits, subs=known), "kappa2": self.kappa2.evalf(digits, subs=known)}
        for name in ("q", "qhat", "qtilde"):
            out[name] = [e.evalf(digits, subs=known) for e in getattr(self, name)]
        for name in ("q_st", "qhat_st", "qtilde_st"):
            first = 0 if name == "qhat_st" else 1
            last = self.layers if name == "qhat_st" else self.layers + 1
            out[name] = [(self.qhat_st0 if (name, l) == ("qhat_st", 0) else layer_symbol(name, l)).evalf(
                digits, subs=known) for l in range(first, last + 1)]
        for key, value in out.items():
            out[key] = [float(v) for v in value] if isinstance(value, list) else float(value)
        return out


def closed_order_parameters(activation, layers: int, weight_var=None, bias_var=None, qhat0=1,
                            qhat_st0=0) -> ClosedOrderParameters:
    """The exact recursions of the module docstring. ``None`` for s_w^2, s_b^2, qhat^0 or qhat_st^0 keeps that
    parameter a symbol; numbers are parsed exactly (0.5 or 1/2). The defaults qhat^0 = 1, qhat_st^0 = 0 are
    N(0, I) inputs."""
    name = require_closed_form(activation)
    if isinstance(layers, bool) or int(layers) != layers or layers < 1:
        raise SpecError(f"layers = {layers!r} is not allowed; an integer >= 1 (hidden layers) is required")
    H = int(layers)
    L = H + 1
    sw2, sb2 = _parameter(weight_var, SW2, "s_w^2", "positive"), _parameter(bias_var, SB2, "s_b^2", "nonnegative")
    q0 = _parameter(qhat0, QHAT0, "qhat^0", "positive")
    qs0 = _parameter(qhat_st0, QHAT_ST0, "qhat_st^0", "any")
    if q0.is_number and qs0.is_number and abs(qs0) > q0:
        raise SpecError(f"qhat_st^0 = {qs0} is not allowed; |qhat_st^0| <= qhat^0 = {q0} is required (an overlap "
                        "of two inputs of squared norm qhat^0)")
    relu = name == "relu"
    half = sympy.Rational(1, 2)
    q, qhat = [], [q0]
    for _ in range(L):
        q.append(sympy.expand(sw2 * qhat[-1] + sb2))
        qhat.append(sympy.expand(q[-1] * half if relu else q[-1]))
    gain = sw2 * half if relu else sw2                    # s_w^2 E phi'(u)^2, the same at every layer
    qtilde = [gain ** (L - l) for l in range(1, L + 1)]
    kappa1 = sympy.expand(sum(qtilde[l - 1] * qhat[l - 1] for l in range(1, L + 1)) / H)

    equations, prev = [], qs0
    for l in range(1, L):
        q_st = layer_symbol("q_st", l)
        equations.append((q_st, sw2 * prev + sb2))
        if relu:
            rho, theta = layer_symbol("rho", l), layer_symbol("theta", l)
            equations += [(rho, q_st / q[l - 1]), (theta, sympy.acos(rho))]
            kernel = q[l - 1] * (sympy.sqrt(1 - rho ** 2) + (sympy.pi - theta) * rho) / (2 * sympy.pi)
        else:
            kernel = q_st
        prev = layer_symbol("qhat_st", l)
        equations.append((prev, kernel))
    equations.append((layer_symbol("q_st", L), sw2 * prev + sb2))
    equations.append((layer_symbol("qtilde_st", L), sympy.Integer(1)))
    for l in range(L - 1, 0, -1):
        step = (sympy.pi - layer_symbol("theta", l)) / (2 * sympy.pi) if relu else sympy.Integer(1)
        equations.append((layer_symbol("qtilde_st", l), sw2 * layer_symbol("qtilde_st", l + 1) * step))
    qhat_st = [qs0] + [layer_symbol("qhat_st", l) for l in range(1, L)]
    kappa2 = sum(layer_symbol("qtilde_st", l) * qhat_st[l - 1] for l in range(1, L + 1)) / H
    return ClosedOrderParameters(name, H, sw2, sb2, q0, qs0, tuple(q), tuple(qhat[:L]), tuple(qtilde),
                                 tuple(equations), kappa1, kappa2)


def predictions(alpha) -> dict:
    """The FIM laws of docs/batchnorm.md as SymPy expressions in M, T, C, kappa1, kappa2 (alpha = H given)."""
    a = sympy.Integer(alpha) if isinstance(alpha, int) else alpha
    return {"lambda_max": a * M * ((T - 1) / T * KAPPA2 + KAPPA1 / T),
            "m_lambda": C * KAPPA1 / M,
            "s_lambda": C * a * (KAPPA1 ** 2 / T + (T - 1) / T * KAPPA2 ** 2),
            "lower_bound": M / T * a * (KAPPA1 - KAPPA2)}


#: The composition of the off-diagonal equations is printed only up to this depth and length (it grows about
#: 4-fold per layer: every angle enters three times).
COMPOSED_MAX_LAYERS = 4
COMPOSED_MAX_CHARS = 5000
#: Significant digits of the evaluation behind ``values`` (the reported floats carry float64 rounding only).
DIGITS = 40


def _entry(expr) -> dict:
    return {"expression": str(expr), "latex": latex(expr)}


def _numbers(cop: ClosedOrderParameters) -> bool:
    return all(p.is_number for p in (cop.weight_var, cop.bias_var, cop.qhat0, cop.qhat_st0))


def _composed_kappa2(cop: ClosedOrderParameters):
    if cop.layers > COMPOSED_MAX_LAYERS:
        return None
    expr = cop.composed(cop.kappa2)
    return expr if len(str(expr)) <= COMPOSED_MAX_CHARS else None


def to_json(cop: ClosedOrderParameters) -> dict:
    """The ``asymexp derive --order-parameters --json`` document (docs/symbolic.md): every expression as a SymPy
    string and its LaTeX; ``values`` (floats) only when every parameter is a number."""
    L = cop.layers + 1
    composed = _composed_kappa2(cop)
    notes = [f"layers = H = {cop.layers} hidden layers, depth L = {L}, alpha = H; inputs enter through qhat^0 and "
             "qhat_st^0 (1 and 0: N(0, I) inputs)"]
    if cop.activation == "relu":
        notes.append("the off-diagonal chain has no closed form in the depth: it is the iterated arc-cosine map, "
                     "one equation per step in 'off_diagonal' (each in terms of the ones before)")
    if composed is None:
        notes.append(f"kappa2 composed: not printed beyond {COMPOSED_MAX_LAYERS} hidden layers or "
                     f"{COMPOSED_MAX_CHARS} characters (it grows about 4-fold per layer); the equations define it")
    values = None
    if _numbers(cop):
        v = cop.evaluate(digits=DIGITS)
        values = {"kappa1": v["kappa1"], "kappa2": v["kappa2"],
                  "error": 2.0 ** -52 * max(abs(v["kappa1"]), abs(v["kappa2"]), 1e-300)}
        notes.append(f"values: the exact expressions evaluated at {DIGITS} significant digits; error = float64 "
                     "rounding of the reported numbers")
    return {"activation": cop.activation, "layers": cop.layers, "alpha": cop.alpha, "depth": L,
            "parameters": {"s_w2": str(cop.weight_var), "s_b2": str(cop.bias_var), "qhat_0": str(cop.qhat0),
                           "qhat_st_0": str(cop.qhat_st0)},
            "diagonal": {name: [dict(layer=l, **_entry(e)) for l, e in enumerate(getattr(cop, name), start=first)]
                         for name, first in (("q", 1), ("qhat", 0), ("qtilde", 1))},
            "q_general": _entry(general_q(cop.activation, cop.weight_var, cop.bias_var, cop.qhat0)),
            "off_diagonal": [dict(symbol=str(lhs), **_entry(rhs)) for lhs, rhs in cop.equations],
            "kappa1": _entry(cop.kappa1),
            "kappa2": dict(_entry(cop.kappa2), composed=None if composed is None else _entry(composed)),
            "predictions": {k: _entry(e) for k, e in predictions(cop.alpha).items()},
            "values": values, "notes": notes}


def to_text(cop: ClosedOrderParameters, tex: bool = False) -> str:
    """The same content as equations, one per line: plain text (Markdown) or LaTeX (amsmath)."""
    doc = to_json(cop)
    key = "latex" if tex else "expression"

    def line(lhs: str, entry: dict) -> str:
        return f"  {lhs} &= {entry[key]} \\\\" if tex else f"    {lhs} = {entry[key]}"

    def block(title: str, lines: list) -> list:
        if tex:
            return [f"\\section*{{{title}}}", "\\begin{align*}"] + lines + ["\\end{align*}", ""]
        return [f"## {title}", ""] + lines + [""]

    sym = {"q": "q", "qhat": "\\hat{q}" if tex else "qhat", "qtilde": "\\tilde{q}" if tex else "qtilde"}
    params = ", ".join(f"{k} = {v}" for k, v in doc["parameters"].items())
    title = f"Order parameters: {cop.activation}, H = {cop.layers} hidden layers (alpha = {cop.alpha})"
    out = (["\\documentclass{article}", "\\usepackage{amsmath}", "\\allowdisplaybreaks", "\\begin{document}",
            f"\\section*{{{title}}}", f"Parameters: \\verb|{params}|.", ""] if tex else
           [f"# {title}", "", f"Parameters: {params}. Notes:", ""] + [f"- {n}" for n in doc["notes"]] + [""])
    diag = [line(f"{sym[n]}_{{{e['layer']}}}" if tex else f"{n}_{e['layer']}", e)
            for n in ("q", "qhat", "qtilde") for e in doc["diagonal"][n]]
    diag.append(line("q_{l}" if tex else "q_l", doc["q_general"]))
    diag.append(line("\\kappa_1" if tex else "kappa1", doc["kappa1"]))
    out += block("Diagonal chain (closed forms)", diag)
    off = [line(latex(sympy.Symbol(e["symbol"])) if tex else e["symbol"], e) for e in doc["off_diagonal"]]
    off.append(line("\\kappa_2" if tex else "kappa2", doc["kappa2"]))
    if doc["kappa2"]["composed"] is not None:
        off.append(line("\\kappa_2" if tex else "kappa2 (composed)", doc["kappa2"]["composed"]))
    out += block("Off-diagonal chain (in evaluation order)", off)
    pred = [line(n.replace("_", "\\_") if tex else n, e) for n, e in doc["predictions"].items()]
    out += block("Predictions (M width, T samples, C outputs)", pred)
    if doc["values"] is not None:
        v = doc["values"]
        k1, k2 = ("\\kappa_1", "\\kappa_2") if tex else ("kappa1", "kappa2")
        text = f"{k1} = {v['kappa1']!r}, {k2} = {v['kappa2']!r}"
        out += [f"Values: ${text}$ (error {v['error']:.1e})." if tex else f"Values: {text} (error {v['error']:.1e}).",
                ""]
    if tex:
        out.append("\\end{document}")
    return "\n".join(out) + "\n"
