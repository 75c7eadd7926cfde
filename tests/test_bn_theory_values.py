"""Numbers of the batch-normalization wing's theory (asymexp/bn: order parameters, FIM laws, the constant mode)
against values computed another way: closed forms, hand computations, plain transcriptions and the spectrum of an
explicitly built matrix (docs/batchnorm.md; docs/architecture.md, "Testing").

Tolerances: every comparison is deterministic; sums of a few hundred float64 terms of size <= 1e3 round to
< 1e-10 relative (ROUND), eigenvalues of an explicit symmetric matrix to <= 100 eps ||Theta|| (LAPACK's backward
error)."""
import itertools
import math

import numpy as np

from asymexp.bn.constant_mode import karakida_prediction, rank_one_bound
from asymexp.bn.dual import spectrum
from asymexp.bn.order_parameters import fim_predictions, input_overlaps, order_parameters, parameter_count
from asymexp.spec import Law, NetworkSpec
from test_constant_mode import assert_karakida_spectrum

ROUND = 1e-10
EPS = np.finfo(np.float64).eps


def test_relu_kappa_properties_are_the_closed_forms():
    """relu, s_w^2 = 2, s_b^2 = 0, N(0, I) inputs: qhat^l = qtilde^l = 1 at every layer, so kappa1 = L / H
    (docs/batchnorm.md, "The laws"); kappa2 = 0.342854 for H = 2 (docs/batchnorm.md, the closed forms)."""
    for layers in (1, 2, 3):
        op = order_parameters("relu", layers)
        assert abs(op.kappa1 - (layers + 1) / layers) <= ROUND
    assert abs(order_parameters("relu", 2).kappa2 - 0.342854) <= 1e-6


def test_input_overlaps_and_their_standard_errors_by_a_plain_loop():
    """qhat^0 = mean |x_t|^2 / d with SE std / sqrt(T); qhat_st^0 = mean over the T (T - 1) / 2 pairs s < t of
    x_s . x_t / d with SE std over pairs / sqrt(pairs). The module takes the std over ordered pairs (each twice):
    its ddof = 1 differs from the per-pair one by a factor sqrt((2 n - 2) / (2 n - 1)), n pairs (below 1 / n)."""
    rng = np.random.default_rng(11)
    t, d = 9, 5
    x = rng.standard_normal((t, d)) * rng.uniform(0.5, 2.0, size=(t, 1))     # unequal norms: a non-zero SE
    norms = [float(x[i] @ x[i]) / d for i in range(t)]
    pairs = [float(x[i] @ x[j]) / d for i, j in itertools.combinations(range(t), 2)]
    n = len(pairs)
    q0, q0_se, qs0, qs0_se = input_overlaps(x)
    assert abs(q0 - np.mean(norms)) <= ROUND
    assert abs(q0_se - np.std(norms, ddof=1) / math.sqrt(t)) <= ROUND
    assert abs(qs0 - np.mean(pairs)) <= ROUND
    assert abs(qs0_se / (np.std(pairs, ddof=1) / math.sqrt(n)) - 1.0) <= 1.0 / n


def test_parameter_count_by_hand():
    # d = 4 -> 3 -> 3 -> C = 2: (4 + 1) 3 + (3 + 1) 3 + (3 + 1) 2 weights and biases
    assert parameter_count(3, 2, 2, 4) == 15 + 12 + 8
    assert parameter_count(5, 1, 1, 7) == 8 * 5 + 6 * 1


def _explicit_theta(k1: float, k2: float, outputs: int, samples: int) -> np.ndarray:
    block = (k1 - k2) * np.eye(samples) + k2 * np.ones((samples, samples))
    return np.kron(np.eye(outputs), block)


def test_fim_laws_are_the_spectrum_of_the_isotropic_dual():
    """F = J^T J / T has the dual Theta / T with Theta = blockdiag_C(K1 I + K2 (11^T - I)): its eigenvalues,
    tr F / P and sum lambda^2 / P from an eigendecomposition of that explicit matrix, K1 and K2 summed here from
    the order parameters (with the bias, and without it for the asymptotic forms: sum r_l qtilde qhat = alpha
    kappa1 per unit of width)."""
    op = order_parameters("tanh", 2, 1.5, 0.1)
    for width, samples, outputs, d in ((6, 5, 2, 9), (10, 4, 3, 10)):
        fans = [d, width, width]
        k1 = sum(op.qtilde[i] * (fans[i] * op.qhat[i] + 1.0) for i in range(3))
        k2 = sum(op.qtilde_st[i] * (fans[i] * op.qhat_st[i] + 1.0) for i in range(3))
        p = (d + 1) * width + (width + 1) * width + (width + 1) * outputs
        pr = fim_predictions(op, width, samples, outputs, d)
        assert pr["parameters"] == p
        for law, (a, b) in (("", (k1, k2)), ("_asymptotic", (k1 - sum(op.qtilde), k2 - sum(op.qtilde_st)))):
            theta = _explicit_theta(a, b, outputs, samples)
            sp = spectrum(theta, samples, outputs, p)
            tol = 100 * EPS * float(np.abs(theta).sum(axis=1).max())
            assert abs(pr["lambda_max" + law] - sp["lambda_max"]) <= tol
            if not law:
                assert abs(pr["mean_eig"] - float(np.sum(sp["eigenvalues"])) / p) <= tol
                assert abs(pr["bulk"] - sp["eigenvalues"][-1]) <= tol
                assert abs(pr["second_moment"] - sp["second_moment"]) <= ROUND * sp["second_moment"]
                assert abs(pr["lower_bound"] - sp["eigenvalues"][-1]) <= tol
        # the asymptotic mean eigenvalue takes P ~ alpha M^2 (-> C kappa1 / M); the asymptotic lower bound is
        # (K1 - K2) / T without the bias terms
        k1_nobias = k1 - sum(op.qtilde)
        assert abs(pr["mean_eig_asymptotic"] - outputs * k1_nobias / (op.alpha * width ** 2)) <= ROUND * k1
        kap1, kap2 = op.kappas(d / width)
        assert abs(pr["lower_bound_asymptotic"] - width / samples * op.alpha * (kap1 - kap2)) <= ROUND * k1


def test_fim_error_covers_the_first_order_propagation_of_the_order_parameters_error():
    """K1 = sum_l qtilde^l (fan_in(l) qhat^{l-1} + 1): an error e in each qtilde^l qhat^{l-1} moves K1 by up to
    sum_l fan_in(l) e, so the laws' error is at least op.error times that sum (first layer fan-in d)."""
    op = order_parameters("tanh", 2, 1.5, 0.1)
    width, d = 6, 40
    pr = fim_predictions(op, width, 5, 2, d)
    assert pr["error"] >= op.error * (d + 2 * width) * (1 - ROUND)


def test_rank_one_bound_of_a_two_by_two_matrix_by_hand():
    """A = [[0.5, 0.4], [0.4, 0.4]]: c = 0.425, R = A - c = [[0.075, -0.025], [-0.025, -0.025]],
    lambda_max(R) = 0.025 + sqrt(0.05^2 + 0.025^2), |R u| = 0.05 for u = (1, 1) / sqrt 2; the gap c P -
    lambda_max(R) is below 1 (and above 0), so the bound applies."""
    out = rank_one_bound(np.array([[0.5, 0.4], [0.4, 0.4]]))
    lam_r = 0.025 + math.sqrt(0.05 ** 2 + 0.025 ** 2)
    sine = 0.05 / (0.85 - lam_r)
    assert abs(out["constant_part"] - 0.85) <= ROUND
    assert abs(out["lambda_max_rest"] - lam_r) <= ROUND
    assert abs(out["sine_bound"] - sine) <= ROUND
    assert abs(out["overlap_bound"] - math.sqrt(1 - sine ** 2)) <= ROUND


def _isotropic_inputs(p=5, d=7):
    x = np.zeros((p, d))
    x[:, :p] = 1.2 * np.eye(p)
    x[:, p] = 0.8
    return x


def test_karakida_prediction_is_exact_for_isotropic_inputs_with_a_non_unit_inner_variance():
    """As tests/test_constant_mode.py with W2, W3 ~ N(0, 1.5^2) and W1 ~ N(0, 0.7^2): A = K1 I + K2 (11^T - I)
    exactly, its eigenvalues (K1 + (P-1) K2) / P and (K1 - K2) / P; the order parameters must give the same with
    s_w^2 = 2.25 (every 1/s_w^2 of the rescaled recursion in place)."""
    x = _isotropic_inputs()
    spec = NetworkSpec.from_strings(gammas="1/2,1/2,1/2", preset="paper-mnist").replace(input_dim=x.shape[1])
    spec = spec.replace(weight_laws=(Law("normal", 0, 0.7), Law("normal", 0, 1.5), Law("normal", 0, 1.5),
                                     spec.weight_laws[-1]))
    assert_karakida_spectrum(spec, x, ROUND)


def test_karakida_input_overlaps_and_their_errors_by_a_plain_loop():
    """qhat^0 = s_1^2 |x|^2 / s_w^2 averaged over inputs (W1 ~ N(0, s_1^2) is not scaled by its fan-in), with SE
    std / sqrt(P); qhat_st^0 likewise over the pairs (module docstring of asymexp.bn.constant_mode)."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0.0, 1.0, size=(6, 8)) * rng.uniform(0.5, 1.5, size=(6, 1))
    spec = NetworkSpec.from_strings(gammas="1/2,1/2,1/2", preset="paper-mnist").replace(input_dim=x.shape[1])
    spec = spec.replace(weight_laws=(Law("normal", 0, 0.7), Law("normal", 0, 1.5), Law("normal", 0, 1.5),
                                     spec.weight_laws[-1]))
    pred = karakida_prediction(spec, x)
    scale = 0.7 ** 2 / 1.5 ** 2
    norms = [scale * float(v @ v) for v in x]
    pairs = [scale * float(x[i] @ x[j]) for i, j in itertools.combinations(range(len(x)), 2)]
    assert abs(pred["qhat0"] - np.mean(norms)) <= ROUND
    assert abs(pred["qhat0_se"] - np.std(norms, ddof=1) / math.sqrt(len(x))) <= ROUND
    assert abs(pred["qhat_st0"] - np.mean(pairs)) <= ROUND
    se_pairs = np.std(pairs, ddof=1) / math.sqrt(len(pairs))
    assert abs(pred["qhat_st0_se"] / se_pairs - 1.0) <= 1.0 / len(pairs)


def test_spectrum_of_the_dual_equals_that_of_an_explicit_fim():
    """For an explicit J (C T x P), F = J^T J / T (P x P): lambda_max, lambda_{C+1}, tr F / P, sum lambda^2 / P,
    and the fraction of each mean gradient g_k = (1/T) sum_t J_(k,t) (a P-vector) in the top-C eigenspace of F,
    averaged over k, all computed on F itself (docs/batchnorm.md, "The dual")."""
    rng = np.random.default_rng(8)
    outputs, samples, params = 2, 4, 30
    J = rng.standard_normal((outputs * samples, params)) + 0.7 * rng.standard_normal(params)   # a shared mean
    sp = spectrum(J @ J.T, samples, outputs, params)
    F = J.T @ J / samples
    lam, vec = np.linalg.eigh(F)
    lam, vec = lam[::-1], vec[:, ::-1]
    tol = 100 * EPS * float(np.abs(F).sum(axis=1).max())
    assert abs(sp["lambda_max"] - lam[0]) <= tol
    assert abs(sp["lambda_c_plus_1"] - lam[outputs]) <= tol
    assert abs(sp["mean_eig"] - np.trace(F) / params) <= tol
    assert abs(sp["second_moment"] - np.sum(lam ** 2) / params) <= tol * lam[0]
    top = vec[:, :outputs]
    fractions = []
    for k in range(outputs):
        g = J[k * samples:(k + 1) * samples].mean(axis=0)
        fractions.append(float(np.sum((top.T @ g) ** 2) / (g @ g)))
    assert 0.05 < np.mean(fractions) < 0.999                        # neither trivial case
    assert abs(sp["mean_gradient_overlap"] - np.mean(fractions)) <= 1e-9
