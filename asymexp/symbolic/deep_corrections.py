"""The finite-width corrections of a deep network's mean and variance (L >= 2), listed with their orders and
equations (docs/theory/4-deep-networks.md, "The variance constant and the deep mean" and "The last two layers,
given the inner ones"; the one-hidden-layer pieces of docs/theory/7-random-terms.md; the t = 0 recursion of
docs/theory/8-initial-cumulants.md).

Given the inner layers, the last two are a one-hidden-layer network of width N_L and gamma_L on the Gram matrix G
of layer L - 1, so each correction is a one-hidden-layer term (the node flow at eps_L, c_t/N_L, V_t(eps_L),
B^N_t/N_L, full-batch GD's step), a term of the law of G (its mean through the collapse moments, its fluctuation
of order 1/N_{L-1}), or the inner weights' training. Orders are exponent maps over (N_1..N_L) relative to the
quantity's leading term: h_t for the mean, N_L^{1 - 2 gamma_L} V_t for the variance. Each entry names the
numeric function that computes it and says whether the deep prediction at t > 0
(docs/validation.md, "Deep prediction at t > 0") computes it, estimates its size among the omitted terms, or
omits it unestimated.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from asymexp.activations import get as get_activation
from asymexp.errors import SpecError
from asymexp.spec import parse_gammas
from asymexp.symbolic import scalings
from asymexp.symbolic.collapse import collapse_orders, degeneracies
from asymexp.symbolic.scalings import HALF, add_maps, scale_map, unit_map

CONDITIONAL = "asymexp.numeric.deep_conditional"
ESTIMATE = "asymexp.validation.deep_training_prediction.predict_training"
INITIAL = "asymexp.numeric.initial_cumulants.initial_variance"
STATUSES = ("computed", "estimated", "omitted")


@dataclass(frozen=True)
class CorrectionTerm:
    """One finite-width correction of the deep mean or variance.

    Attributes:
        name: a short identifier (``gram_curvature``, ``collapse_q3``, ...); quantity: "mean" or "variance".
        order: exponent map over (N_1..N_L), relative to the quantity's leading term; path_exponent: its exponent
            of N along the width path N_l = c_l N^{beta_l}.
        equation: SymPy objects (equations where the coefficient satisfies one) for ``sympy.latex``; text: the
            same in one plain line.
        present: True, False (it vanishes or is no separate term here) or None (depends on the symbolic gammas);
            reason: why.
        numeric: "module.function" or "module.function: key" computing it ("" where nothing does).
        status: "computed" (in the prediction's value), "estimated" (left out, its size in the prediction's
            omitted-term estimate) or "omitted" (left out and not estimated).
        part: for a computed term, the index of the prediction's TERMS entry of its quantity that holds it.
    """

    name: str
    quantity: str
    order: tuple
    path_exponent: sympy.Expr
    equation: tuple
    text: str
    present: bool | None
    reason: str
    numeric: str
    status: str
    part: int | None = None

    @property
    def latex(self) -> str:
        return ",\\quad ".join(sympy.latex(e) for e in self.equation)

    @property
    def decays(self) -> bool | None:
        """True when the path exponent is negative, False when it is not (a leading-order part), None when it
        depends on the symbolic gammas."""
        e = sympy.sympify(self.path_exponent)
        return bool(e < 0) if e.is_number else None


def _gammas(gammas) -> tuple:
    raw = [str(g) if isinstance(g, sympy.Symbol) else g for g in gammas]
    parsed = scalings.gamma_symbols(parse_gammas(raw))
    if len(parsed) < 2:
        raise SpecError(f"gammas {','.join(map(str, parsed))} has depth {len(parsed)}; the deep corrections need "
                        "depth L >= 2 (one gamma per hidden layer)")
    return parsed


def _betas(betas, L: int) -> tuple:
    if betas is None:
        return (sympy.Integer(1),) * L
    out = tuple(sympy.Rational(str(b)) for b in betas)
    if len(out) != L or any(b <= 0 for b in out):
        raise SpecError(f"width path {','.join(map(str, out))} is not allowed; give {L} positive exponents beta_l "
                        "for N_l = c_l N^beta_l")
    return out


def _is(value) -> bool | None:
    """A SymPy relation as True/False, or None where it depends on symbols."""
    return bool(value) if value in (sympy.true, sympy.false) else None


def _present(condition, yes: str, no: str, unknown: str) -> tuple[bool | None, str]:
    return condition, {True: yes, False: no, None: unknown}[condition]


# --- the symbols the equations are written in -----------------------------------------------------------------
t, alpha, M = sympy.symbols("t alpha M", positive=True)
k, J = sympy.symbols("k J", integer=True, positive=True)
lam, u = sympy.IndexedBase("lambda"), sympy.IndexedBase("u")
E, Var, Cov = sympy.Function(r"\mathrm{E}"), sympy.Function(r"\mathrm{Var}"), sympy.Function(r"\mathrm{Cov}")
nu = sympy.Symbol("nu")
big_o = sympy.Function("O")     # a plain order symbol: sympy.O would print its limit point for two variables


def _width(l: int) -> sympy.Symbol:
    return sympy.Symbol(f"N_{l}", positive=True)


def _f(name: str, *args):
    return sympy.Function(name)(*args)


def _mean_terms(g, L, activation, c_symmetric, orders, flags) -> list[dict]:
    gL, eps = g[-1], sympy.Symbol(f"epsilon_{L}", positive=True)
    end = _is(sympy.Eq(gL, 1))
    out = [dict(name="eps_Q10", order=orders["eps"], status="computed", part=0,
                numeric=f"{CONDITIONAL}.conditional_terms: D",
                equation=(sympy.Eq(_f("D", t, eps) - _f("h", t), eps * _f("Q_1", t)),),
                text=f"eps_{L} Q_{{1,0}}: the first order of the node flow at eps_{L} (docs/theory/3-shallow-expansion.md)",
                present=not c_symmetric,
                reason="every piece of Q_{1,0} has an odd power of C, whose law is symmetric" if c_symmetric
                else "the law of C is not symmetric: Q_{1,0} is not zero by parity")]
    out.append(dict(name="node_flow_eps", order=scale_map(orders["eps"], 2), status="computed", part=0,
                    numeric=f"{CONDITIONAL}.conditional_terms: D",
                    equation=(sympy.Eq(_f("D", t, eps), _f("h", t) + eps ** 2 * _f("Q_2", t) + sympy.O(eps ** 4)),),
                    text=f"D_t(eps_{L}) = h_t + eps_{L}^2 Q_{{2,0}} + O(eps_{L}^4): the last two layers' node flow at "
                         f"eps_{L} = N_{L}^(gamma_{L} - 1), every order (docs/theory/7-random-terms.md)",
                    **dict(zip(("present", "reason"), _present(
                        None if end is None else not end, f"eps_{L}^2 = N_{L}^(2 gamma_{L} - 2) -> 0",
                        f"gamma_{L} = 1: eps_{L} = 1, the node flow at eps_{L} is the mean-field limit itself, not a "
                        "correction", f"depends on gamma_{L}: no correction at gamma_{L} = 1 (eps_{L} = 1)")))))
    out.append(dict(name="c_over_N", order=unit_map(L, L, -1), status="computed", part=0,
                    numeric=f"{CONDITIONAL}.conditional_terms: c_over_n", present=True,
                    reason="the mean of the measure's second-order response; zero only by accident",
                    equation=(sympy.Eq(_f("c", t), HALF * E(_f("D^{2}G_{t}", nu, nu))),),
                    text=f"c_t / N_{L}, c_t = (1/2) E D^2 G_t[nu, nu] of the last two layers at eps_{L} "
                         "(docs/theory/7-random-terms.md, 'The 1/N term of the mean')"))
    out.append(dict(name="gd_step_mean", order=unit_map(L, L, -1), status="computed", part=0,
                    numeric=f"{CONDITIONAL}.conditional_terms: D", present=True,
                    reason=f"full-batch GD (round(t N_{L}) steps of 1/N_{L}); zero under gradient flow",
                    equation=(sympy.Eq(_f(r"\Delta^{h}", t), _f("D^{h}", t, eps) - _f("D", t, eps)),
                              sympy.Eq(sympy.Symbol("h"), 1 / _width(L))),
                    text=f"D^h_t(eps_{L}) - D_t(eps_{L}) with h = 1/N_{L}: the Euler map of the nodes minus their flow "
                         "(docs/theory/7-random-terms.md, 'Full-batch GD')"))
    out += _collapse_terms(g, L, activation, "mean", orders, flags)
    out.append(dict(name="gram_curvature", order=unit_map(L, L - 1, -1), status="computed", part=1,
                    numeric=f"{CONDITIONAL}.conditional_terms: gram_curvature", present=True,
                    reason=f"the N_{L - 1} units of layer {L - 1} are i.i.d. given the layers below, so G fluctuates at "
                           f"1/N_{L - 1} whatever gamma_{L - 1} (the W^{L} part of the kernel reads G itself)",
                    equation=(HALF * sympy.Sum(lam[k] * _f(r"\mathrm{d}^{2}M", u[k], u[k]), (k, 1, J)),
                              sympy.Eq(Cov(sympy.Symbol("G")), (E(sympy.Symbol("HHHH")) - sympy.Symbol(
                                  r"\bar{G}\bar{G}")) / _width(L - 1))),
                    text=f"(1/2) sum_k lam_k d^2 M[u_k, u_k], (lam_k, u_k) the eigenpairs of Cov(G) = "
                         f"(E[H H H H] - Gbar Gbar) / N_{L - 1}"))
    out.append(dict(name="inner_training", order=orders["inner"], status="computed", part=2,
                    numeric=f"{CONDITIONAL}.conditional_terms: inner_training", present=True,
                    reason=f"at initialization W^{L - 1} changes g by N_{L}^-1 times the trained groups' N_{L}^-1 per step "
                           "(its tangent kernel part, docs/theory/2-learning-rates.md): a first-order kernel response",
                    equation=_inner_training_equation(L),
                    text=f"d rho/dt = -(alpha/M) A rho - (alpha/M) dA r_t, rho(0) = 0, dA = E[C^2] s_{L}^2 "
                         f"D_{L} o D_{L - 1} o K_{L - 2} / N_{L}"))
    for l in range(1, L - 1):
        out.append(dict(name=f"lower_training_W{l}", order=orders[f"W{l}"], status="estimated",
                        numeric=f"{ESTIMATE}: omitted_mean", present=True,
                        reason=f"W^{l} trains at the order of its tangent kernel part at initialization; estimated by "
                               "the next order of the 1/N terms (their size over min_l N_l)",
                        equation=(sympy.Eq(sympy.Symbol(f"K_{{W^{l}}}"), big_o(sympy.Mul(*[
                            _width(m) ** -1 for m in range(l + 1, L + 1)]))),),
                        text=f"the training of W^{l}: its kernel part relative to N_{L}^-1"))
    out += _inner_fluctuation_terms(g, L, "mean", orders)
    out.append(dict(name="c_over_N2", order=unit_map(L, L, -2), status="estimated",
                    numeric=f"{ESTIMATE}: omitted_mean", present=True,
                    reason=f"the second order in 1/N_{L} of the one-hidden-layer block; estimated by |c|/N_{L}^2 and "
                           "the next order of each 1/N term",
                    equation=(big_o(_width(L) ** -2),), text=f"|c|/N_{L}^2 and the 1/N_{L}^2 terms"))
    out.append(dict(name="gram_next_order", order=unit_map(L, L - 1, -2), status="estimated",
                    numeric=f"{ESTIMATE}: omitted_mean", present=True,
                    reason="the third and fourth orders of the Gram expansion; estimated by the Gram curvature over "
                           "min_l N_l",
                    equation=(big_o(_width(L - 1) ** -2),), text=f"O(1/N_{L - 1}^2) of E M(G)"))
    out.append(dict(name="eps_c_over_N", order=add_maps(scale_map(orders["eps"], 2), unit_map(L, L, -1)),
                    status="computed", part=0, numeric=f"{CONDITIONAL}.conditional_terms: c_eps_over_n", present=True,
                    reason=f"c_t depends on eps_{L} at O(eps^2); c_t(eps_{L}) - c_t(0) comes from the particle method "
                           "at the width's eps (docs/theory/7-random-terms.md, 'The 1/N correction of the variance at "
                           "finite eps')",
                    equation=(sympy.Eq(_f("c", t, eps) - _f("c", t, 0), HALF * (E(_f("D^{2}G_{t,eps}", nu, nu))
                                                                                - E(_f("D^{2}G_{t,0}", nu, nu)))),),
                    text=f"(c_t(eps_{L}) - c_t(0)) / N_{L}: the eps-dependence of c_t, O(eps_{L}^2 / N_{L})"))
    return out


def _inner_training_equation(L: int) -> tuple:
    rho, r = sympy.Function("rho", commutative=False)(t), sympy.Function("r", commutative=False)(t)
    A, dA = sympy.Symbol("A", commutative=False), sympy.Symbol(r"\delta A", commutative=False)
    p = sympy.Symbol("P", integer=True, positive=True)
    d_last, d_below = sympy.MatrixSymbol(f"D_{{{L}}}", p, p), sympy.MatrixSymbol(f"D_{{{L - 1}}}", p, p)
    kernel = sympy.MatrixSymbol(f"K_{{{L - 2}}}", p, p)
    return (sympy.Eq(sympy.Derivative(rho, t), -(alpha / M) * A * rho - (alpha / M) * dA * r),
            sympy.Eq(sympy.MatrixSymbol(r"\delta A", p, p), E(sympy.Symbol("C") ** 2) * sympy.Symbol(f"s_{L}") ** 2
                     * sympy.HadamardProduct(d_last, d_below, kernel) / _width(L)))


def _collapse_terms(g, L, activation, quantity, orders, flags) -> list[dict]:
    """One collapse moment q_{l+1} = E (Z^{l+1})^2 per inner layer l; present iff gamma_l > 1/2."""
    linear = get_activation(activation).collapse == "linear"
    vanishing = [f for f in flags if f.kind in ("vanishing-kernel", "output-kernel-vanishes") and f.holds is not False]
    out = []
    for l in range(1, L):
        gl = g[l - 1]
        zed = sympy.Symbol(f"Z^{l}")
        where = (f"through the mean Gram matrix of layer {L - 1}" if l < L - 1 else
                 f"through the variance s_{L}^2 nu_{L - 1} of the last layer's weights")
        yes = f"gamma_{l} > 1/2: Z^{l + 1} collapses, q_{l + 1} -> 0 like the order given; it enters {where}"
        if linear:
            yes += (f"; {activation}: sigma(0) = 0, so the collapse orders multiply (E sigma(Z)^2 ~ E Z^2)")
            if vanishing:
                yes += "; " + "; ".join(f"{f.kind} ({f.condition}): relative to a vanishing limit" for f in vanishing)
            if quantity == "variance":
                yes += (f"; the variance's exponent already holds it (Var g ~ N_{L}^(1 - 2 gamma_{L}) q_{L}): "
                        "relative to N_L^(1-2gamma_L) the sequential-limit V_t is 0")
        present, reason = _present(_is(gl > HALF), yes,
                                   f"gamma_{l} = 1/2: layer {l} adds no collapse of its own, there is no collapse moment "
                                   f"(its O(1/N_{l}) fluctuation takes its place)",
                                   f"depends on gamma_{l}: a collapse moment only where gamma_{l} > 1/2")
        numeric = f"{CONDITIONAL}.layers_below" if l < L - 1 else f"{CONDITIONAL}.conditional_problem"
        out.append(dict(name=f"collapse_q{l + 1}", order=orders["collapse"][l], status="computed", part=0,
                        numeric=numeric, present=present, reason=reason,
                        equation=(sympy.Eq(sympy.Symbol(f"q_{l + 1}"), _width(l) ** (1 - 2 * gl)
                                           * sympy.Symbol(f"s_{l + 1}") ** 2 * E(_f("sigma", zed) ** 2)),),
                        text=f"q_{l + 1} = E (Z^{l + 1})^2 = N_{l}^(1 - 2 gamma_{l}) s_{l + 1}^2 E sigma(Z^{l})^2, "
                             f"in the finite-width law of the layers ({'the t = 0 recursion, ' + INITIAL if quantity == 'variance' else 'collapse factors nu_l'})"))
    return out


def _inner_fluctuation_terms(g, L, quantity, orders) -> list[dict]:
    """The O(1/N_l) fluctuation of the conditional variance of Z^{l+1}, l <= L-2 (not propagated at t > 0)."""
    out = []
    for l in range(1, L - 1):
        gl = g[l - 1]
        qn = sympy.Symbol(f"q_{l + 1}")
        present, reason = _present(
            _is(sympy.Eq(gl, HALF)),
            f"gamma_{l} = 1/2: q_{l + 1} = s_{l + 1}^2 M_{l} fluctuates at 1/N_{l} (docs/theory/8-initial-cumulants.md); "
            f"at t > 0 the layers below {L - 1} are taken at their mean kernel, so it is not propagated "
            f"(at most this order: a collapsed layer above damps it); computed at t = 0 by {INITIAL}",
            f"gamma_{l} > 1/2: nu_{l} damps the fluctuation to Var q_{l + 1} ~ N_{l}^(1 - 4 gamma_{l}), below the "
            f"collapse moment's own second order N_{l}^(2 - 4 gamma_{l}): no separate 1/N_{l} term",
            f"depends on gamma_{l}: a 1/N_{l} term only where gamma_{l} = 1/2")
        mean = quantity == "mean"
        out.append(dict(name=f"inner_fluctuation_{l}" + ("" if mean else "_spread"),
                        order=unit_map(L, l, -1) if mean else add_maps(orders["outer"], unit_map(L, l, -1)),
                        status="estimated", numeric=f"{ESTIMATE}: omitted_{'mean' if mean else 'var'}",
                        present=present, reason=reason + ("; estimated as large as the Gram curvature term" if mean
                                                          else "; estimated as large as the Gram spread"),
                        equation=(sympy.Eq(Var(qn), sympy.Symbol(f"s_{l + 1}") ** 4 * sympy.Symbol(f"nu_{l}") ** 2
                                           * Var(sympy.Symbol(f"M_{l}"))),
                                  sympy.Eq(Var(sympy.Symbol(f"M_{l}")),
                                           Var(_f("F_2", sympy.Symbol(f"q_{l}"))) + E(
                                               _f("F_4", sympy.Symbol(f"q_{l}")) - _f("F_2", sympy.Symbol(f"q_{l}")) ** 2)
                                           / _width(l))),
                        text=f"Var q_{l + 1} = s_{l + 1}^4 nu_{l}^2 Var M_{l}, Var M_{l} = Var F_2(q_{l}) + "
                             f"E[F_4(q_{l}) - F_2(q_{l})^2] / N_{l}" + ("" if mean else
                                                                        f"; its spread of M relative to N_{L}^(1 - 2 gamma_{L})")))
    return out


def _variance_terms(g, L, activation, orders, flags) -> list[dict]:
    gL, eps = g[-1], sympy.Symbol(f"epsilon_{L}", positive=True)
    end = _is(sympy.Eq(gL, 1))
    out = [dict(name="V_eps", order=scale_map(orders["eps"], 2), status="computed", part=0,
                numeric=f"{CONDITIONAL}.conditional_terms: V_eps",
                equation=(sympy.Eq(_f("V", t, eps), eps ** 2 * Var(_f("DG_{t}", nu))),),
                text=f"V_t(eps_{L}) = eps_{L}^2 Var DG_t[nu]: V_t + eps_{L}^2 B_t + ... at eps_{L}, every order "
                     "(docs/theory/7-random-terms.md, 'All eps-orders of the variance')",
                **dict(zip(("present", "reason"), _present(
                    None if end is None else not end, f"eps_{L}^2 = N_{L}^(2 gamma_{L} - 2) -> 0",
                    f"gamma_{L} = 1: eps_{L} = 1, V_t(1) is the mean-field variance itself, not a correction",
                    f"depends on gamma_{L}: no correction at gamma_{L} = 1")))),
           dict(name="BN_over_N", order=unit_map(L, L, -1), status="computed", part=0,
                numeric=f"{CONDITIONAL}.conditional_terms: BN_over_n", present=True,
                reason="the third cumulant of the measure and the second-order responses (no parity zero)",
                equation=(sympy.Eq(_f("B^{N}", t), 2 * Cov(sympy.Symbol("Q_{0,1}"), sympy.Symbol("Q_{2,3}"))
                                   + Var(sympy.Symbol("Q_{1,2}"))
                                   + 2 * _f(r"\mathrm{Cov}_{3}", sympy.Symbol("Q_{0,1}"), sympy.Symbol("Q_{1,2}"))),),
                text=f"B^N_t / N_{L}, B^N_t = 2 Cov(Q_{{0,1}}, Q_{{2,3}}) + Var Q_{{1,2}} + 2 Cov_3(Q_{{0,1}}, Q_{{1,2}}) "
                     "(docs/theory/7-random-terms.md, 'The 1/N correction of the variance')"),
           dict(name="gd_step_variance", order=unit_map(L, L, -1), status="computed", part=0,
                numeric=f"{CONDITIONAL}.conditional_terms: V_eps", present=True,
                reason=f"full-batch GD (steps of 1/N_{L}); zero under gradient flow",
                equation=(sympy.Eq(_f(r"\Delta V^{h}", t), _f("V^{h}", t, eps) - _f("V", t, eps)),),
                text=f"V^h_t(eps_{L}) - V_t(eps_{L}), steps h = 1/N_{L}: the particle method on the Euler map "
                     "(docs/theory/7-random-terms.md, 'Full-batch GD')")]
    out += _collapse_terms(g, L, activation, "variance", orders, flags)
    out.append(dict(name="gram_spread", order=add_maps(orders["outer"], unit_map(L, L - 1, -1)), status="computed",
                    part=1, numeric=f"{CONDITIONAL}.conditional_terms: gram_spread", present=True,
                    reason=f"Var M(G) is O(1/N_{L - 1}) absolutely, so N_{L}^(2 gamma_{L} - 1) / N_{L - 1} relative to "
                           f"the leading variance; at gamma_{L} = 1 and equal widths as large as the leading variance",
                    equation=(sympy.Eq(Var(_f("M", sympy.Symbol("G"))),
                                       sympy.Sum(lam[k] * _f(r"\mathrm{d}M", u[k]) ** 2, (k, 1, J))),),
                    text="Var M(G) = sum_k lam_k (dM[u_k])^2 over the eigenpairs of Cov(G)"))
    out += _inner_fluctuation_terms(g, L, "variance", orders)
    out.append(dict(name="inner_training_variance", order=orders["inner"], status="computed", part=2,
                    numeric=f"{CONDITIONAL}.conditional_terms: inner_training_var", present=True,
                    reason=f"the kernel dA of W^{L - 1} (order 1/N_{L}) also moves the propagator, hence V_t, at "
                           f"relative order 1/N_{L} (as B^N/N_{L})",
                    equation=(sympy.Eq(sympy.Symbol(r"\delta V_{t}"),
                                       _f("diag", _f(r"\Phi^{A+\delta A}_{t}", t) * sympy.Symbol("S")
                                          * _f(r"\Phi^{A+\delta A}_{t}", t)) - _f("V", t)),),
                    text=f"dV_t = diag(Phi^(A+dA)_t S Phi^(A+dA)_t^T) - V_t, dA the W^{L - 1} kernel of order 1/N_{L}"))
    out.append(dict(name="eps_BN_over_N", order=add_maps(scale_map(orders["eps"], 2), unit_map(L, L, -1)),
                    status="computed", part=0, numeric=f"{CONDITIONAL}.conditional_terms: BN_eps_over_n", present=True,
                    reason="the eps-dependence of B^N: the N^-2 coefficient of the variance of the rule's empirical "
                           "measure at the width's eps (docs/theory/7-random-terms.md, 'The 1/N correction of the "
                           "variance at finite eps')",
                    equation=(sympy.Eq(_f("K_2", t, eps), E(_f("d.xi", t) * _f("H", sympy.Symbol("xi"), sympy.Symbol("xi")))
                                       + _f("T", sympy.Symbol("Sd"), sympy.Symbol("S"))
                                       + HALF * _f("tr", sympy.Symbol("HSHS"))),
                              sympy.Eq(_f("B^{N}", t, eps), eps ** 2 * _f("K_2", t, eps))),
                    text=f"(B^N_t(eps_{L}) - B^N_t(0)) / N_{L}, B^N(eps) = eps^2 (E[(d.xi) H[xi, xi]] + T[S d, S] + "
                         "tr(H S H S)/2)"))
    out.append(dict(name="variance_N2", order=unit_map(L, L, -2), status="estimated",
                    numeric=f"{ESTIMATE}: omitted_var", present=True,
                    reason="the second order in 1/N_L of the one-hidden-layer block; estimated as "
                           "N_L^(1-2gamma_L) max(V, |B^N|) N^-2",
                    equation=(big_o(_width(L) ** -2),), text=f"O(1/N_{L}^2) relative"))
    out.append(dict(name="spread_next_order", order=add_maps(orders["outer"], unit_map(L, L - 1, -2)),
                    status="estimated", numeric=f"{ESTIMATE}: omitted_var", present=True,
                    reason="the Gram expansion's next order; estimated as the spread over min_l N_l",
                    equation=(big_o(_width(L - 1) ** -2),), text=f"O(1/N_{L - 1}^2) of Var M(G)"))
    return out


def deep_correction_terms(gammas, activation: str = "sigmoid", betas=None,
                          c_symmetric: bool = True) -> list[CorrectionTerm]:
    """Every finite-width correction of the deep mean and variance (module docstring), leading first.

    Args:
        gammas: L >= 2 values in [1/2, 1] (str, Fraction, int, float, SymPy Rational) or symbol names / SymPy
            Symbols, read by :func:`asymexp.spec.parse_gammas`.
        activation: a registry name (:mod:`asymexp.activations`); it decides how collapse orders compose.
        betas: the width path N_l = c_l N^{beta_l} (default: equal widths), L positive numbers.
        c_symmetric: whether the law of C is symmetric (then eps_L Q_{1,0} vanishes).
    Returns:
        :class:`CorrectionTerm` entries sorted by path exponent, largest first (mean before variance on a tie);
        with symbolic gammas in the order mean, variance as built.
    Raises:
        SpecError: depth below 2, a gamma outside [1/2, 1], a bad width path or activation.
    """
    g = _gammas(gammas)
    L = len(g)
    b = _betas(betas, L)
    groups = {gr.name: gr for gr in scalings.group_scalings(g)}
    excess = {name: add_maps(gr.kernel_at_init, unit_map(L, L, 1)) for name, gr in groups.items()}
    orders = {"eps": scalings.small_parameters(g[-1], L)["eps"], "collapse": collapse_orders(g, activation),
              "outer": unit_map(L, L, 2 * g[-1] - 1), "inner": excess[f"W{L - 1}"],
              **{f"W{l}": excess[f"W{l}"] for l in range(1, L - 1)}}
    flags = degeneracies(g, activation)
    raw = [dict(d, quantity="mean") for d in _mean_terms(g, L, activation, c_symmetric, orders, flags)]
    raw += [dict(d, quantity="variance") for d in _variance_terms(g, L, activation, orders, flags)]
    terms = [CorrectionTerm(d["name"], d["quantity"], d["order"], scalings.path_exponent(d["order"], b),
                            d["equation"], d["text"], d["present"], d["reason"], d["numeric"], d["status"],
                            d.get("part")) for d in raw]
    if all(term.path_exponent.is_number for term in terms):
        rank = {"mean": 0, "variance": 1}
        terms = [terms[i] for i in sorted(range(len(terms)), key=lambda i: (-terms[i].path_exponent,
                                                                           rank[terms[i].quantity], i))]
    return terms
