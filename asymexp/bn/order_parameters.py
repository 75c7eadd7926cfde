"""Order parameters of a wide random network in the standard parameterization, and the FIM laws they give.

Network (docs/batchnorm.md, section "Network"): u^l = W^l h^{l-1} + b^l, h^l = phi(u^l), l = 1..L, with H = L - 1
hidden layers of width M, W^l_ij ~ N(0, s_w^2 / fan_in), b^l_i ~ N(0, s_b^2), C linear outputs f_k = u^L_k.
Inputs enter through qhat^0 = |x|^2 / d and qhat_st^0 = x(s).x(t) / d (1 and 0 for N(0, I) inputs; measured on a
batch for real data, :func:`input_overlaps`).

Recursions (large width, gradient independence; each Gaussian integral from :mod:`asymexp.activations.gaussian`
with its error)::

    q^l = s_w^2 qhat^{l-1} + s_b^2          qhat^l = E phi(u)^2,              u ~ N(0, q^l)
    q_st^l = s_w^2 qhat_st^{l-1} + s_b^2    qhat_st^l = E phi(u) phi(v),      Cov(u, v) = q_st^l
    qtilde^L = qtilde_st^L = 1,  qtilde^l = s_w^2 qtilde^{l+1} E phi'(u)^2,  qtilde_st^l = s_w^2 qtilde_st^{l+1}
    E phi'(u) phi'(v)   (l = L-1 .. 1)
    kappa1 = sum_l r_l qtilde^l qhat^{l-1} / alpha,   kappa2 = the same with the _st quantities,   alpha = H

with r_l = fan_in(l) / M (1 except the first layer, whose fan-in is the input dimension d). ``normalized=True``
is the layer-norm chain (every pre-activation rescaled to unit variance: q^l = 1, correlation q_st^l / q^l).
The FIM laws built from them are in :func:`fim_predictions`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asymexp.activations import get
from asymexp.activations.gaussian import pair_kernel, self_kernel
from asymexp.errors import SpecError


@dataclass(frozen=True)
class OrderParameters:
    """Order parameters of one (activation, depth, s_w^2, s_b^2, input overlaps).

    Tuples are indexed by layer: ``q[l - 1]`` is q^l (l = 1..L), ``qhat[l]`` is qhat^l (l = 0..L-1), ``qtilde[l - 1]``
    is qtilde^l (l = 1..L); the _st tuples alike. ``kappa1_error``/``kappa2_error`` bound the quadrature error
    (propagated to first order, a sum of absolute values). Units: all dimensionless (per unit of width)."""

    activation: str
    layers: int
    weight_var: float
    bias_var: float
    qhat0: float
    qhat_st0: float
    q: tuple
    q_st: tuple
    qhat: tuple
    qhat_st: tuple
    qtilde: tuple
    qtilde_st: tuple
    error: float

    @property
    def alpha(self) -> int:
        """alpha = L - 1 = H, the number of hidden layers."""
        return self.layers

    def kappas(self, input_ratio: float = 1.0) -> tuple[float, float]:
        """(kappa1, kappa2) with the first layer's fan-in ``input_ratio`` = d / M times the width."""
        r = [input_ratio] + [1.0] * self.layers
        k1 = sum(r[i] * self.qtilde[i] * self.qhat[i] for i in range(self.layers + 1)) / self.alpha
        k2 = sum(r[i] * self.qtilde_st[i] * self.qhat_st[i] for i in range(self.layers + 1)) / self.alpha
        return k1, k2

    @property
    def kappa1(self) -> float:
        return self.kappas()[0]

    @property
    def kappa2(self) -> float:
        return self.kappas()[1]

    def to_dict(self) -> dict:
        k1, k2 = self.kappas()
        return {"activation": self.activation, "alpha": self.alpha, "weight_var": self.weight_var,
                "bias_var": self.bias_var, "kappa1": k1, "kappa2": k2, "kappa_error": self.error,
                "q": list(self.q), "q_st": list(self.q_st), "qhat": list(self.qhat), "qhat_st": list(self.qhat_st),
                "qtilde": list(self.qtilde), "qtilde_st": list(self.qtilde_st)}


def order_parameters(activation, layers: int, weight_var: float = 2.0, bias_var: float = 0.0,
                     qhat0: float = 1.0, qhat_st0: float = 0.0, normalized: bool = False) -> OrderParameters:
    """The recursions of the module docstring for H = ``layers`` >= 1 hidden layers (L = H + 1)."""
    act = get(activation)
    if int(layers) != layers or layers < 1:
        raise SpecError(f"layers = {layers!r} is not allowed; an integer >= 1 (hidden layers) is required")
    if not (weight_var > 0 and bias_var >= 0 and math.isfinite(weight_var) and math.isfinite(bias_var)):
        raise SpecError(f"(s_w^2, s_b^2) = ({weight_var!r}, {bias_var!r}); s_w^2 > 0 and s_b^2 >= 0 are required")
    L = int(layers) + 1
    q, q_st, qhat, qhat_st, dd, dd_st = [], [], [float(qhat0)], [float(qhat_st0)], [], []
    err = 0.0
    for layer in range(1, L):
        ql = _variance(weight_var * qhat[-1] + bias_var, layer, weight_var, bias_var)
        qs = weight_var * qhat_st[-1] + bias_var
        q.append(ql)
        q_st.append(qs)
        var, cov = (1.0, qs / ql) if normalized else (ql, qs)
        for store, deriv in ((qhat, False), (dd, True)):
            v, e = self_kernel(act, var, deriv)
            store.append(v)
            err += e
        for store, deriv in ((qhat_st, False), (dd_st, True)):
            v, e = pair_kernel(act, var, var, cov, deriv)
            store.append(v)
            err += e
    q.append(_variance(weight_var * qhat[-1] + bias_var, L, weight_var, bias_var))
    q_st.append(weight_var * qhat_st[-1] + bias_var)
    qtilde, qtilde_st = [1.0], [1.0]
    for l in range(L - 1, 0, -1):          # layer l = L-1..1 uses E phi'(u^l)^2 = dd[l - 1]
        qtilde.insert(0, weight_var * qtilde[0] * dd[l - 1])
        qtilde_st.insert(0, weight_var * qtilde_st[0] * dd_st[l - 1])
    try:
        gain = max(1.0, max(qtilde) * weight_var ** L)
    except OverflowError:       # the error bound is then unbounded, not a traceback
        gain = math.inf
    return OrderParameters(act.name, int(layers), float(weight_var), float(bias_var), float(qhat0), float(qhat_st0),
                           tuple(q), tuple(q_st), tuple(qhat[:L]), tuple(qhat_st[:L]), tuple(qtilde),
                           tuple(qtilde_st), float(err * gain * L))


#: The layer variances q^l must lie here (or be 0): products and ratios of two of them stay finite floats.
VARIANCE_RANGE = (1e-150, 1e150)


def _variance(ql: float, layer: int, weight_var: float, bias_var: float) -> float:
    """``ql`` once the variance q^layer is 0 or inside :data:`VARIANCE_RANGE`; else one SpecError line."""
    low, high = VARIANCE_RANGE
    if not (ql == 0 or low <= ql <= high):
        raise SpecError(f"(s_w^2, s_b^2) = ({weight_var!r}, {bias_var!r}) gives the layer variance q^{layer} = "
                        f"{ql:.3g}; variances in [{low:g}, {high:g}] are required (a product of two must be a "
                        "float): choose s_w^2 and s_b^2 nearer 1")
    return ql


def input_overlaps(x) -> tuple[float, float, float, float]:
    """(qhat^0, its SE, qhat_st^0, its SE) of a batch x (T, d): the mean of |x_t|^2 / d over samples and of
    x_s . x_t / d over pairs s != t (SE: the spread over samples / pairs, pairs treated as independent)."""
    x = np.asarray(x, dtype=np.float64)
    t, d = x.shape
    if t < 2:
        raise SpecError(f"a batch of {t} input(s) cannot measure qhat_st^0; at least 2 are required")
    g = x @ x.T / d
    diag = np.diag(g)
    off = g[~np.eye(t, dtype=bool)]
    return (float(diag.mean()), float(diag.std(ddof=1) / math.sqrt(t)), float(off.mean()),
            float(off.std(ddof=1) / math.sqrt(off.size / 2)))


def parameter_count(width: int, layers: int, outputs: int, input_dim: int) -> int:
    """P: weights and biases of all L = layers + 1 layers (fan-in d for the first)."""
    fans = [input_dim] + [width] * layers + [outputs]
    return sum((fans[i] + 1) * fans[i + 1] for i in range(layers + 1))


def fim_predictions(op: OrderParameters, width: int, samples: int, outputs: int, input_dim: int) -> dict:
    """The FIM laws (docs/batchnorm.md, "FIM spectrum") at width M, T samples, C outputs, input dimension d.

    Per output, Theta ~= K1 I + K2 (11^T - I) with K1 = sum_l qtilde^l (fan_in(l) qhat^{l-1} + 1) = alpha M kappa1
    + O(1) (the +1 is the bias), K2 the same with the _st quantities. F = J^T J / T has the C outliers
    ((T-1) K2 + K1) / T (Karakida: alpha M ((T-1)/T kappa2 + kappa1/T)), the bulk (K1 - K2) / T with
    multiplicity C (T-1), mean eigenvalue tr F / P = C K1 / P (-> C kappa1 / M), second moment
    sum lambda^2 / P = C (K1^2 + (T-1) K2^2) / (T P). With last-layer mean subtraction the outliers go and
    lambda_max >= the mean of the remaining non-zero eigenvalues, (K1 - K2) / T (-> rho alpha (kappa1 - kappa2)).
    Also the leading asymptotic forms (``*_asymptotic``) and ``error``, the quadrature bound carried through."""
    fans = [input_dim] + [width] * op.layers
    k1 = sum(op.qtilde[i] * (fans[i] * op.qhat[i] + 1.0) for i in range(op.layers + 1))
    k2 = sum(op.qtilde_st[i] * (fans[i] * op.qhat_st[i] + 1.0) for i in range(op.layers + 1))
    kap1, kap2 = op.kappas(input_dim / width)
    p = parameter_count(width, op.layers, outputs, input_dim)
    T, a, M = samples, op.alpha, width
    scale = max(fans) * (op.layers + 1)
    return {"lambda_max": ((T - 1) * k2 + k1) / T, "bulk": (k1 - k2) / T,
            "mean_eig": outputs * k1 / p, "second_moment": outputs * (k1 ** 2 + (T - 1) * k2 ** 2) / (T * p),
            "lower_bound": (k1 - k2) / T, "parameters": p,
            "lambda_max_asymptotic": a * M * ((T - 1) / T * kap2 + kap1 / T),
            "mean_eig_asymptotic": outputs * kap1 / M,
            "lower_bound_asymptotic": M / T * a * (kap1 - kap2),
            "error": op.error * scale}
