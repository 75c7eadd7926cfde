"""The fourth cumulant of the output at initialization, through first order in 1/N
(docs/theory/8-initial-cumulants.md).

At t = 0, g = N_L^{-gamma_L} sum_i C^i phi_i with phi_i = sigma(Z^{L,i}(x)) and C^i i.i.d., symmetric, independent
of the hidden layers (E C^2 = s_c^2, E C^4 = m_4). Exactly, with G = N_L^{gamma_L - 1/2} g (the toolkit's scaling,
Var G = O(1)) and M_L = (1/N_L) sum_i phi_i^2::

    kappa_4(G) = (m_4 - 3 s_c^4) E[phi^4] / N_L + 3 s_c^4 Var(M_L)

(the law of C, and the fluctuation of the conditional variance s_c^2 M_L). Given layer l, the units of layer l+1 are
i.i.d. with Z ~ N(0, q) conditionally, q = s_{l+1}^2 nu_l M_l, nu_l = N_l^{1 - 2 gamma_l}, so with
F_k(q) = E sigma(sqrt(q) z)^k the moments of M_l follow one recursion per point, started exactly at layer 1::

    mu_{l+1} = E F_2(q),   Var M_{l+1} = Var F_2(q) + E[F_4(q) - F_2(q)^2] / N_{l+1}.

Two closures give the value and its error estimate: "linear" (Var F_2(q) = F_2'^2 Var q, every mean at the
limit: exact through 1/N, the coefficient of each 1/N_l in ``per_layer``) and "closure" (Var q kept to second
order with Gaussian higher cumulants of q: part of the 1/N^2 terms, exact for linear sigma). The reported value is
the closure, its error the difference of the two (the size of the neglected 1/N^2 order) plus the change under a
4/3 coarser z-rule. At L = 1 the units are i.i.d. and the formula is exact (quadrature error only).

The same recursion gives the finite-width variance Var g_0 = N_L^{1 - 2 gamma_L} s_c^2 E M_L
(:func:`initial_variance`: the closure's E M_L, its first order in 1/N and the limit chain), which the deep
validation holds against simulation (docs/validation.md, "Deep prediction at t = 0").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.errors import SpecError
from asymexp.spec import Law
from asymexp.activations import sigma_derivatives
from asymexp.numeric.quadrature import quadrature_samples

#: Step of the trapezoid rule over z ~ N(0, 1) on [-HALF_WIDTH, HALF_WIDTH] (the error estimate uses 4/3 of it):
#: for sigma analytic in a strip its error falls like exp(-2 pi a / step) (docs/theory-layer.md); Gauss-Hermite
#: converges only like exp(-c sqrt(n)) for tanh (poles at +-i pi / 2).
STEP = 0.05
HALF_WIDTH = 12.0
#: Nodes per dimension of the first-layer rule when W1 is not normal (a d-dimensional Gauss-Legendre product; the
#: error estimate uses 3/4 of them).
FIRST_LAYER_ORDER = 24


@dataclass(frozen=True)
class InitialCumulant:
    """Fourth cumulant of g^N_0 at P points, at the widths of the spec.

    Attributes:
        cumulant4: (P,) kappa_4(g^N_0); error: (P,) its error estimate (neglected order + quadrature).
        scaled: (P,) kappa_4 of G = N_L^{gamma_L - 1/2} g^N_0; scaled_error: (P,) its error estimate.
        leading: (P,) kappa_4(G) through first order in 1/N ("linear" closure).
        per_layer: (P, L) the first-order contribution to kappa_4(G) of each width N_l (the sum of a row is
            ``leading``); the last column holds the law of C and Var(phi^2) of the last layer.
        variance: (P,) Var G (the closure's E M_L times s_c^2; exact at L = 1).
        widths, gammas: the spec's.
    """

    cumulant4: np.ndarray
    error: np.ndarray
    scaled: np.ndarray
    scaled_error: np.ndarray
    leading: np.ndarray
    per_layer: np.ndarray
    variance: np.ndarray
    widths: tuple
    gammas: tuple


def _trapezoid(step: float):
    z = np.arange(-HALF_WIDTH, HALF_WIDTH + 0.5 * step, step)
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()


def _f_and_slope(activation: str, q: float, rule) -> np.ndarray:
    """[F_2, F_4, F_2', F_4'] at q >= 0; the slopes by dF/dq = E[(sigma^k)''(sqrt(q) z)] / 2."""
    z, w = rule
    u = np.sqrt(max(q, 0.0)) * z
    # pragma below: a higher order or a longer slice only adds derivatives that are never read (equivalent)
    s, s1, s2 = sigma_derivatives(activation, u, 2)[:3]  # pragma: no mutate
    return np.array([w @ s ** 2, w @ s ** 4, w @ (s1 ** 2 + s * s2), w @ (6 * s ** 2 * s1 ** 2 + 2 * s ** 3 * s2)])


def _moments(activation: str, q: float, rule):
    """F_2, F_4 and their first three q-derivatives at q (the second and third by a cubic fit of the exact slope on
    q .. q + 5h: good to a few digits, enough for the second-order terms they enter)."""
    f2, f4, d2, d4 = _f_and_slope(activation, q, rule)
    h = 1e-2 * max(q, 1e-2)
    grid = q + h * np.arange(6)
    slopes = np.array([_f_and_slope(activation, x, rule)[2:] for x in grid])
    der = []
    for col in range(2):
        c = np.polyfit(grid - q, slopes[:, col], 3)
        der.append((c[-2], 2.0 * c[-3]))
    return (f2, d2, der[0][0], der[0][1]), (f4, d4, der[1][0], der[1][1])


def _first_layer(activation: str, w_law: Law, x: np.ndarray, rule, order: int) -> tuple[float, float]:
    """E sigma(W1 . x)^2, E sigma(W1 . x)^4: W1 . x ~ N(m sum_j x_j, s^2 |x|^2) for W1 ~ normal(m, s) (the z-rule),
    else the first-layer product rule of asymexp.numeric.quadrature."""
    if w_law.kind == "normal":
        z, weight = rule
        u = float(w_law.a) * x.sum() + float(w_law.b) * np.linalg.norm(x) * z
        s = sigma_derivatives(activation, u, 0)[0]  # pragma: no mutate (order 1 only adds sigma', never read)
    else:
        if order ** x.size > 10 ** 6:
            raise SpecError(f"W1 ~ {w_law} on {x.size} input dimensions: the first layer's product rule would need "
                            f"{order}^{x.size} nodes; allowed: a normal law of W1, or at most 4 dimensions")
        # the law of C and its node count only set the c nodes, which this rule never reads (equivalent mutants)
        samples = quadrature_samples(Law("normal", 0, 1), w_law, x[None, :], order, c_nodes=1)  # pragma: no mutate
        weight = samples.weight
        s = sigma_derivatives(activation, samples.w @ x, 0)[0]  # pragma: no mutate (order 1 only adds sigma')
    return float(weight @ s ** 2), float(weight @ s ** 4)


def _check_laws(net) -> tuple[float, float, list[float]]:
    c = net.weight_laws[-1]
    if c.moment(1) != 0 or c.moment(3) != 0:
        raise SpecError(f"C ~ {c} is not symmetric (E C = {c.moment(1)}, E C^3 = {c.moment(3)}); the fourth cumulant "
                        "at t = 0 is derived for a symmetric law of C with mean zero (the theory preset)")
    inner = []
    for l, law in enumerate(net.weight_laws[1:-1], start=2):
        if law.kind == "torch-default" or law.moment(1) != 0:
            raise SpecError(f"W{l} ~ {law}; the fourth cumulant at t = 0 needs a mean-zero normal(0,s) or "
                            "uniform(-a,a) law of the inner weights")
        inner.append(float(law.moment(2)))
    return float(c.moment(2)), float(c.moment(4)), inner


def _point(net, x: np.ndarray, rule, first_order: int, sc2: float, m4: float, inner: list[float]):
    """(closure kappa_4(G), linear kappa_4(G), per-layer first-order terms (L,), Var G, Var G through first order in
    1/N, Var G of the limit chain) at one point."""
    widths = [float(n) for n in net.widths]
    depth = len(widths)
    mu, e4 = _first_layer(net.activation, net.weight_laws[0], x, rule, first_order)
    d1 = (e4 - mu * mu) / widths[0]
    lin = {"mu": mu, "e4": e4, "parts": np.zeros(depth), "mu1": mu}
    lin["parts"][0] = d1
    clo = {"mu": mu, "e4": e4, "v": d1}
    for l in range(1, depth):
        a = inner[l - 1] * widths[l - 1] ** (1.0 - 2.0 * float(net.gammas[l - 1]))
        (f2, d2, dd2, _), (f4, _, _, _) = _moments(net.activation, a * lin["mu"], rule)
        # E M_l through first order: the limit's slope times the shift of E q, plus F_2'' Var q / 2
        lin["mu1"] = f2 + d2 * a * (lin["mu1"] - lin["mu"]) + 0.5 * dd2 * a * a * lin["parts"].sum()
        lin["parts"] *= (a * d2) ** 2
        lin["parts"][l] = (f4 - f2 * f2) / widths[l]
        lin["mu"], lin["e4"] = f2, f4
        qv = a * a * clo["v"]
        (f2, d2, dd2, ddd2), (f4, _, dd4, _) = _moments(net.activation, a * clo["mu"], rule)
        var_f2 = d2 * d2 * qv + (0.5 * dd2 * dd2 + d2 * ddd2) * qv * qv
        e_f2sq = f2 * f2 + (d2 * d2 + f2 * dd2) * qv
        e_f4 = f4 + 0.5 * dd4 * qv
        clo = {"mu": f2 + 0.5 * dd2 * qv, "e4": e_f4, "v": var_f2 + (e_f4 - e_f2sq) / widths[l]}
    law_c = (m4 - 3.0 * sc2 * sc2) / widths[-1]
    parts = 3.0 * sc2 * sc2 * lin["parts"]
    parts[-1] += law_c * lin["e4"]
    closure = law_c * clo["e4"] + 3.0 * sc2 * sc2 * clo["v"]
    return closure, float(parts.sum()), parts, sc2 * clo["mu"], sc2 * lin["mu1"], sc2 * lin["mu"]


def _evaluate(net, pts: np.ndarray, step: float, first_order: int):
    sc2, m4, inner = _check_laws(net)
    rule = _trapezoid(step)
    rows = [_point(net, x, rule, first_order, sc2, m4, inner) for x in pts]
    return tuple(np.array([r[k] for r in rows]) for k in range(6))


@dataclass(frozen=True)
class Layers:
    """The facts the cumulant reads: an activation name of the registry (also ``identity``, outside NetworkSpec's
    range, for the deep linear check), gammas (L,), widths (L,), weight laws (W1, ..., WL, C)."""

    activation: str
    gammas: tuple
    widths: tuple
    weight_laws: tuple


def layers_of(spec) -> Layers:
    """The :class:`Layers` of a NetworkSpec; a spec without widths or with symbolic gammas is refused."""
    if spec.widths is None:
        raise SpecError("the fourth cumulant at t = 0 needs widths N_1..N_L; none were given")
    if spec.is_symbolic:
        raise SpecError("the fourth cumulant at t = 0 needs numeric gammas; symbols were given")
    return Layers(spec.activation, tuple(spec.gammas), tuple(spec.widths), tuple(spec.weight_laws))


def initial_cumulant4(net, points, step: float = STEP) -> InitialCumulant:
    """The fourth cumulant of g^N_0 at ``points`` (docs/theory/8-initial-cumulants.md).

    Args:
        net: :class:`asymexp.spec.NetworkSpec` with widths N_1..N_L and numeric gammas, or :class:`Layers`; C
            symmetric with mean zero, inner weights with mean zero (any depth, any smooth activation).
        points: (P, d) evaluation points. step: of the trapezoid z-rule (the error estimate reruns the
            computation with 4/3 of it).
    Returns:
        :class:`InitialCumulant`; ``error`` = |closure - linear| + |closure at step - closure at 4 step / 3|.
    """
    net = net if isinstance(net, Layers) else layers_of(net)
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2:
        raise SpecError(f"points have shape {pts.shape}; (P, d) is required")
    closure, linear, parts, var = _evaluate(net, pts, step, FIRST_LAYER_ORDER)[:4]
    coarse = _evaluate(net, pts, 4.0 * step / 3.0, (3 * FIRST_LAYER_ORDER) // 4)[0]
    scaled_error = np.abs(closure - linear) + np.abs(closure - coarse)
    n_l, g_l = float(net.widths[-1]), float(net.gammas[-1])
    to_g = n_l ** (2.0 - 4.0 * g_l)
    return InitialCumulant(closure * to_g, scaled_error * to_g, closure, scaled_error, linear, parts, var,
                           tuple(net.widths), tuple(net.gammas))


@dataclass(frozen=True)
class InitialVariance:
    """Var G = s_c^2 E[sigma(Z^L)^2] of G = N_L^{gamma_L - 1/2} g^N_0 at P points, at the finite widths of the spec
    (docs/theory/8-initial-cumulants.md: s_c^2 times E M_L of the recursion (2)); Var g^N_0 = N_L^{1 - 2 gamma_L} Var G.

    Attributes:
        value: (P,) the closure's s_c^2 E M_L (the same numbers as :attr:`InitialCumulant.variance`).
        first_order: (P,) s_c^2 E M_L through first order in 1/N_l (the "linear" closure's means).
        limit: (P,) s_c^2 times the limit chain's F_2(qbar_L) (no 1/N term; the collapse factors at these widths).
        error: (P,) |value - first_order| (the part of the O(N^-2) order the closure holds; zero at L <= 2, where
            both closures agree) plus the change of ``value`` under a 4/3 coarser rule.
    """

    value: np.ndarray
    first_order: np.ndarray
    limit: np.ndarray
    error: np.ndarray


def initial_variance(net, points, step: float = STEP) -> InitialVariance:
    """Var G at ``points`` for the network ``net`` (as in :func:`initial_cumulant4`: C symmetric with mean zero,
    inner weights with mean zero; anything else is refused with a :class:`SpecError`)."""
    net = net if isinstance(net, Layers) else layers_of(net)
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2:
        raise SpecError(f"points have shape {pts.shape}; (P, d) is required")
    value, first, limit = _evaluate(net, pts, step, FIRST_LAYER_ORDER)[3:]
    coarse = _evaluate(net, pts, 4.0 * step / 3.0, (3 * FIRST_LAYER_ORDER) // 4)[3]
    return InitialVariance(value, first, limit, np.abs(value - first) + np.abs(value - coarse))
