"""The input-independent fraction of the output's gradient at initialization, against kappa2 / kappa1
(docs/batchnorm.md, "One-step divergence and gradients at initialization"; the order parameters and the dual
Theta are those of "The FIM spectrum").

For output k and a batch of B inputs, with G_t = grad_theta f_k(t) the per-sample gradient of the output with
respect to all P weights and biases (for ``bn``: row (k, t) of the Jacobian of the batch function),

    fraction = || mean_t G_t ||^2 / mean_t ||G_t||^2 = 1^T Theta_kk 1 / (B tr Theta_kk),

Theta = J J^T the dual of :mod:`asymexp.bn.dual` (no P x P matrix). It is 1 when every sample has the same
gradient and 1/B for B orthogonal gradients of equal norm. Theory (no normalization, width M -> infinity at fixed
B): Theta_kk ~= K1 I + K2 (11^T - I) with K1 = sum_l qtilde^l (fan_in qhat^{l-1} + 1), K2 the same with the _st
quantities, so

    fraction -> ((B - 1) K2 + K1) / (B K1) = lambda_max / (lambda_max + (B - 1) bulk)   (the FIM laws)
             -> kappa2 / kappa1  as M, B -> infinity.

With last-layer mean subtraction Theta_kk -> P_B Theta_kk P_B and 1^T P_B = 0: the fraction is 0 exactly (up to
rounding). With batch norm in the hidden layers there is no law here (null).
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.bn.model import fim_network, make_data
from asymexp.bn.order_parameters import fim_predictions, order_parameters


def fraction_parts(theta: np.ndarray, samples: int, outputs: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, D), two arrays (C,): N_k = ||mean_t G_t||^2 = 1^T Theta_kk 1 / B^2 and D_k = mean_t ||G_t||^2
    = tr Theta_kk / B, from the dual ``theta`` (C B, C B) with rows (k, t) -> k B + t."""
    t4 = np.asarray(theta).reshape(outputs, samples, outputs, samples)
    blocks = t4[np.arange(outputs), :, np.arange(outputs), :]              # (C, B, B)
    return blocks.sum(axis=(1, 2)) / samples ** 2, np.trace(blocks, axis1=1, axis2=2) / samples


def common_fraction(theta: np.ndarray, samples: int, outputs: int) -> float:
    """The fraction of the module docstring, averaged over the C outputs."""
    n, d = fraction_parts(theta, samples, outputs)
    with np.errstate(all="ignore"):
        return float(np.mean(n / d))


def fraction_theory(activation: str, layers: int, width: int, samples: int, input_dim: int,
                    weight_var: float = 2.0, bias_var: float = 0.0) -> dict:
    """The theory of the module docstring for Gaussian inputs (qhat^0 = 1, qhat_st^0 = 0): ``kappa1``,
    ``kappa2``, ``kappa_ratio`` = kappa2 / kappa1 (the M, B -> infinity limit), ``theory`` (the finite-B form
    with the bias terms), ``theory_error`` (the quadrature bound carried through, first order). All None when
    the Gaussian integrals underflow or overflow (an extreme s_w^2 to the power H)."""
    try:
        op = order_parameters(activation, layers, weight_var, bias_var)
        k1, k2 = op.kappas(input_dim / width)
        pr = fim_predictions(op, width, samples, 1, input_dim)
        num, den = pr["lambda_max"], pr["lambda_max"] + (samples - 1) * pr["bulk"]     # K_B and K1
        frac = num / den
        return {"kappa1": k1, "kappa2": k2, "kappa_ratio": k2 / k1 if k1 > 0 else None, "theory": frac,
                "theory_error": pr["error"] * (1.0 + abs(frac)) / den}
    except (ArithmeticError, ValueError):
        return dict.fromkeys(("kappa1", "kappa2", "kappa_ratio", "theory", "theory_error"))


def measure_fraction(activation: str, layers: int, width: int, samples: int, norm: str, seeds, outputs: int = 1,
                     weight_var: float = 2.0, bias_var: float = 0.0) -> dict:
    """The fraction of networks at initialization on Gaussian batches, one network and batch per seed.

    Seed s uses the inputs of ``asymexp lr-scan`` with seed s (x ~ N(0, I_M), B = ``samples`` rows) and the
    network drawn from seed (s, H, 3). Returns per seed ``fractions``, ``numerators`` and ``denominators``
    (C-averaged N and D, units of Theta), their mean ``fraction`` and its standard error ``fraction_se`` over the
    seeds (None with one seed). Theta is the FIM's dual, :func:`asymexp.bn.dual.network_theta`."""
    from asymexp.bn.dual import network_theta

    fr, nums, dens = [], [], []
    for s in seeds:
        x, _ = make_data("gaussian", samples, width, outputs, activation, layers, s)
        net = fim_network(layers, width, outputs, width, activation, norm, weight_var, bias_var, "one-step")
        with np.errstate(all="ignore"):                    # an overflowing net gives a nan fraction (null)
            theta, _, _ = network_theta(net, net.draw(np.random.default_rng([s, layers, 3])), x)
        n, d = fraction_parts(theta, samples, outputs)
        with np.errstate(all="ignore"):                    # 0 / 0 when an overflowing or dead net has no gradient
            fr.append(float(np.mean(n / d)))
        nums.append(float(n.mean()))
        dens.append(float(d.mean()))
    se = float(np.std(fr, ddof=1) / math.sqrt(len(fr))) if len(fr) > 1 else None
    return {"fraction": float(np.mean(fr)), "fraction_se": se, "fractions": fr, "numerators": nums,
            "denominators": dens}


def fraction_row(activation: str, layers: int, width: int, samples: int, norm: str, seeds, outputs: int = 1,
                 weight_var: float = 2.0, bias_var: float = 0.0) -> dict:
    """One row of the contract (docs/interfaces.md, "asymexp one-step"): the measurement of
    :func:`measure_fraction` next to :func:`fraction_theory` (``theory`` None for bn; 0 for mean-last), and
    ``z`` = (fraction - theory) / SE for ``none`` (mean-last is 0 up to rounding by construction: no z).
    ``theory_error`` is reported beside it, not in z: it is the worst-case first-order quadrature bound of
    :func:`asymexp.bn.order_parameters.order_parameters`, tiny for relu (closed forms) and sigmoid, but
    loose for deep tanh (above 1 at H = 8), where it says nothing."""
    th = fraction_theory(activation, layers, width, samples, width, weight_var, bias_var)
    m = measure_fraction(activation, layers, width, samples, norm, seeds, outputs, weight_var, bias_var)
    theory = {"none": th["theory"], "mean-last": 0.0}.get(norm)
    err = th["theory_error"] if norm == "none" else 0.0
    z = None
    if norm == "none" and theory is not None and m["fraction_se"]:
        z = (m["fraction"] - theory) / m["fraction_se"]
    row = {"activation": activation, "layers": layers, "bias_var": bias_var, "weight_var": weight_var,
           "norm": norm, "width": width, "samples": samples, "seeds": len(m["fractions"]),
           "fraction": m["fraction"], "fraction_se": m["fraction_se"], "theory": theory,
           "theory_error": err if theory is not None else None, "z": z,
           "kappa1": th["kappa1"], "kappa2": th["kappa2"], "kappa_ratio": th["kappa_ratio"],
           "fractions": m["fractions"]}
    return row
