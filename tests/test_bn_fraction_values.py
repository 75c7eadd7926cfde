"""The input-independent gradient fraction (asymexp/bn/onestep/gradient_fraction.py; docs/batchnorm.md,
"One-step divergence and gradients at initialization") against plain loops over an explicit dual, the closed
relu order parameters, and the worst case of its first-order error propagation evaluated directly
(docs/architecture.md, "Testing"). Tolerances: rounding of sums of <= 100 terms (ROUND, relative)."""
import itertools
import math
import statistics

import numpy as np

from asymexp.bn.onestep.gradient_fraction import (common_fraction, fraction_parts, fraction_row, fraction_theory,
                                                  measure_fraction)
from asymexp.bn.order_parameters import fim_predictions, order_parameters

ROUND = 1e-12


def test_fraction_parts_by_plain_loops_over_the_blocks():
    """N_k = (1/B^2) sum_{s,t} Theta_(k,s),(k,t) and D_k = (1/B) sum_t Theta_(k,t),(k,t); the fraction is the
    mean of N_k / D_k over k. Off-diagonal output blocks are not read."""
    rng = np.random.default_rng(3)
    outputs, samples = 3, 4
    g = rng.standard_normal((outputs * samples, 7)) + rng.standard_normal(7)
    theta = g @ g.T
    n, d = fraction_parts(theta, samples, outputs)
    for k in range(outputs):
        rows = range(k * samples, (k + 1) * samples)
        nk = sum(theta[s, t] for s, t in itertools.product(rows, rows)) / samples ** 2
        dk = sum(theta[t, t] for t in rows) / samples
        assert abs(n[k] - nk) <= ROUND * abs(dk) and abs(d[k] - dk) <= ROUND * abs(dk)
    expected = np.mean([n[k] / d[k] for k in range(outputs)])
    assert abs(common_fraction(theta, samples, outputs) - expected) <= ROUND


def test_fraction_theory_by_hand_for_relu_with_a_wide_input():
    """relu, s_w^2 = 2, s_b^2 = 0: qhat = qtilde = 1, so kappa1 = (d/M + H) / H; the finite-B theory is
    ((B - 1) K2 + K1) / (B K1), K1 = sum_l qtilde^l (fan_in qhat^{l-1} + 1), K2 alike, summed here."""
    layers, width, samples, d = 2, 10, 4, 30
    th = fraction_theory("relu", layers, width, samples, d)
    assert abs(th["kappa1"] - (d / width + layers) / layers) <= ROUND
    op = order_parameters("relu", layers)
    fans = [d, width, width]
    k1 = sum(op.qtilde[i] * (fans[i] * op.qhat[i] + 1) for i in range(3))
    k2 = sum(op.qtilde_st[i] * (fans[i] * op.qhat_st[i] + 1) for i in range(3))
    assert abs(th["theory"] - ((samples - 1) * k2 + k1) / (samples * k1)) <= ROUND


def test_fraction_theory_error_is_the_worst_first_order_propagation():
    """frac = num / den with num = lambda_max and den = K1 each known within e (the FIM laws' error): the worst
    case of |(num +- e) / (den +- e) - frac| is e (1 + |frac|) / (den - e): e (1 + |frac|) / den to first order,
    the relative difference e / den (2e-4 here: tanh, where e is not negligible)."""
    layers, width, samples, d, sw2, sb2 = 2, 16, 4, 48, 1.5, 0.1
    th = fraction_theory("tanh", layers, width, samples, d, sw2, sb2)
    pr = fim_predictions(order_parameters("tanh", layers, sw2, sb2), width, samples, 1, d)
    num, e = pr["lambda_max"], pr["error"]
    den = num + (samples - 1) * pr["bulk"]
    worst = max(abs((num + a * e) / (den + b * e) - num / den) for a in (-1, 1) for b in (-1, 1))
    assert e > 1e-6 * num
    assert abs(th["theory_error"] - worst) <= 2 * e / den * worst


def test_measured_fraction_and_its_standard_error_by_hand():
    """One output: each seed's fraction is its N / D; the mean and SE (sample std / sqrt(seeds)) over seeds are
    the plain ones; one seed has no SE."""
    m = measure_fraction("tanh", 1, 8, 4, "none", range(3), 1, 1.5, 0.1)
    for f, n, d in zip(m["fractions"], m["numerators"], m["denominators"]):
        assert abs(f - n / d) <= ROUND
    assert abs(m["fraction"] - statistics.mean(m["fractions"])) <= ROUND
    assert abs(m["fraction_se"] - statistics.stdev(m["fractions"]) / math.sqrt(3)) <= ROUND
    assert measure_fraction("tanh", 1, 8, 4, "none", [0], 1, 1.5, 0.1)["fraction_se"] is None


def test_fraction_rows_state_theory_error_and_z_by_norm():
    """none: z = (fraction - theory) / SE with the theory's own error beside it; mean-last: theory 0 exactly (by
    construction), no error, no z."""
    none = fraction_row("tanh", 1, 8, 4, "none", range(3), 1, 1.5, 0.1)
    th = fraction_theory("tanh", 1, 8, 4, 8, 1.5, 0.1)
    assert none["theory"] == th["theory"] and none["theory_error"] == th["theory_error"]
    assert abs(none["z"] - (none["fraction"] - th["theory"]) / none["fraction_se"]) <= ROUND * (1 + abs(none["z"]))
    mean_last = fraction_row("tanh", 1, 8, 4, "mean-last", range(3), 1, 1.5, 0.1)
    assert mean_last["theory"] == 0.0 and mean_last["theory_error"] == 0.0 and mean_last["z"] is None
