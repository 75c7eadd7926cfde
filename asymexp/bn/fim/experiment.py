"""The FIM study behind ``asymexp fim``: theory against finite-width measurement over a grid of widths.

For every width M (and every normalization asked for): T = ``samples`` or round(M / rho) inputs, ``networks``
independent networks (seed (seed, M, n) each, so a width's numbers do not depend on the grid around it), the
exact dual Theta (:mod:`asymexp.bn.dual`) and its spectral statistics, averaged with their standard errors, next
to the predictions of :mod:`asymexp.bn.order_parameters`. Fits and verdicts are in :mod:`asymexp.bn.fim.verdicts`
(docs/batchnorm.md, "What asymexp fim reports").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asymexp.activations import get
from asymexp.errors import SpecError
from asymexp.input_checks import check_samples_or_rho, is_whole, samples_at
from asymexp.norms import check, entry, names
from asymexp.bn.dual import network_theta, spectrum
from asymexp.bn.model import FimNetwork
from asymexp.bn.fim.predictions import NetTheory, predicted_exponent
from asymexp.bn.fim.verdicts import constant_verdict, exponent_verdict
from asymexp.bn.order_parameters import fim_predictions, input_overlaps, order_parameters

DATA = ("gaussian", "mnist")
#: The per-network statistics averaged into a row.
STATS = ("lambda_max", "lambda_c_plus_1", "mean_eig", "second_moment", "mean_gradient_overlap",
         "plain_lambda_max", "plain_lambda_c_plus_1")


@dataclass(frozen=True)
class FimStudy:
    """What ``asymexp fim`` measures: H = ``layers`` hidden layers, ``widths`` (M, each >= 2), either ``samples``
    T or ``rho`` = M / T, C = ``outputs``, activation, (s_w^2, s_b^2), ``norms`` (tuple of the norms
    :mod:`asymexp.norms` lists for ``fim``, ``asymexp.norms.names("fim")``), ``data`` (gaussian:
    x ~ N(0, I_M); mnist: T digits, d = 784), ``networks`` >= 2 per width and ``seed``."""

    layers: int
    widths: tuple
    samples: int | None = None
    rho: float | None = None
    outputs: int = 2
    activation: str = "relu"
    weight_var: float = 2.0
    bias_var: float = 0.0
    norms: tuple = ("none",)
    data: str = "gaussian"
    networks: int = 4
    seed: int = 0

    def __post_init__(self):
        if not is_whole(self.layers) or self.layers < 1:
            raise SpecError(f"layers = {self.layers!r} is not allowed; at least 1 hidden layer is required")
        if not self.widths:
            raise SpecError("widths is empty; give at least one width >= 2")
        for m in self.widths:
            if not is_whole(m) or m < 2:
                raise SpecError(f"width {m!r} is not allowed; widths must be integers >= 2")
        check_samples_or_rho(self.samples, self.rho, self.widths)
        if self.samples is not None and (not is_whole(self.samples) or self.samples < 2):
            raise SpecError(f"samples = {self.samples!r} is not allowed; T >= 2 is required")
        for n in self.norms:
            check(n, "fim")
        if not self.norms:
            raise SpecError(f"no norm given; allowed: {', '.join(names('fim'))}")
        if self.data not in DATA:
            raise SpecError(f"data {self.data!r} is unknown; allowed: {', '.join(DATA)}")
        if not is_whole(self.networks) or self.networks < 2:
            raise SpecError(f"networks = {self.networks!r} is not allowed; at least 2 are needed for a standard error")
        get(self.activation)
        if not (self.weight_var > 0 and self.bias_var >= 0):
            raise SpecError(f"(s_w^2, s_b^2) = ({self.weight_var!r}, {self.bias_var!r}) is not allowed; "
                            "s_w^2 > 0 and s_b^2 >= 0 are required")

    def samples_at(self, width: int) -> int:
        """T at width M."""
        return samples_at(width, self.samples, self.rho)

    def input_dim(self, width: int) -> int:
        return width if self.data == "gaussian" else 784


def _inputs(study: FimStudy, width: int, rng, pool):
    T = study.samples_at(width)
    if study.data == "gaussian":
        return rng.standard_normal((T, width))
    if T > pool.shape[0]:
        raise SpecError(f"T = {T} samples exceed the {pool.shape[0]} MNIST training digits")
    return pool[rng.choice(pool.shape[0], size=T, replace=False)]


def _mean_se(values) -> tuple:
    v = np.asarray([x for x in values if x is not None], dtype=np.float64)
    if v.size < 2:
        return None, None
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))


def measure_width(study: FimStudy, width: int, norm: str, pool=None, keep_spectrum: bool = False) -> dict:
    """One row: mean and SE over the networks of every statistic in :data:`STATS`, and the theory at this width
    (qhat^0, qhat_st^0 measured on the batches for mnist). ``keep_spectrum``: also the last network's eigenvalues."""
    T = study.samples_at(width)
    d = study.input_dim(width)
    net = FimNetwork(study.layers, width, study.outputs, d, study.activation, study.weight_var,
                     study.bias_var, norm)
    per, overlaps, eigs = {k: [] for k in STATS}, [], None
    for n in range(study.networks):
        rng = np.random.default_rng([study.seed, width, n])
        x = _inputs(study, width, rng, pool)
        if study.data == "mnist":
            overlaps.append(input_overlaps(x))
        theta, raw, _ = network_theta(net, net.draw(rng), x)
        s = spectrum(theta, T, study.outputs, net.parameters)
        if raw is not None:
            plain = spectrum(raw, T, study.outputs, net.parameters, vectors=False)
            s["plain_lambda_max"], s["plain_lambda_c_plus_1"] = plain["lambda_max"], plain["lambda_c_plus_1"]
        for k in STATS:
            per[k].append(s.get(k))
        eigs = s["eigenvalues"]
    row = {"width": width, "samples": T, "norm": norm, "networks": study.networks, "parameters": net.parameters}
    for k in STATS:
        row[k], row[f"{k}_se"] = _mean_se(per[k])
    qhat0, qhat_st0 = (1.0, 0.0) if not overlaps else (float(np.mean([o[0] for o in overlaps])),
                                                       float(np.mean([o[2] for o in overlaps])))
    row.update(_theory_row(study, width, T, d, norm, qhat0, qhat_st0))
    if keep_spectrum:
        row["eigenvalues"] = eigs
    return row


def _theory_row(study: FimStudy, width: int, T: int, d: int, norm: str, qhat0: float, qhat_st0: float) -> dict:
    """The predicted values of one row (None where docs/batchnorm.md has no law)."""
    op = order_parameters(study.activation, study.layers, study.weight_var, study.bias_var, qhat0, qhat_st0)
    pr = fim_predictions(op, width, T, study.outputs, d)
    out = {"qhat0": qhat0, "qhat_st0": qhat_st0, "predicted_lambda_max": None, "predicted_mean_eig": None,
           "predicted_bulk": pr["bulk"], "lower_bound": None, "predicted_second_moment": None,
           "theory_error": pr["error"]}
    k1_minus_k2 = pr["bulk"] * T                       # K1 - K2 (docs/batchnorm.md)
    # the batch variance of an output: q^L - q_st^L (the common part across samples is centred away)
    p, C, q_last = pr["parameters"], study.outputs, op.q[-1] - op.q_st[-1]
    norm = entry(norm, "fim").name                   # an alias (bn-hidden) as what it stands for (bn)
    if norm == "none":
        out.update(predicted_lambda_max=pr["lambda_max"], predicted_mean_eig=pr["mean_eig"],
                   predicted_second_moment=pr["second_moment"])
    elif norm == "mean-last":
        out.update(lower_bound=pr["lower_bound"], predicted_mean_eig=C * k1_minus_k2 * (T - 1) / (T * p))
    elif norm == "bn-last":
        out.update(lower_bound=pr["lower_bound"] / q_last,
                   predicted_mean_eig=C * k1_minus_k2 * (T - 2) / (T * p * q_last))
    elif norm == "bn":
        mean_phi = _mean_phi(study.activation)
        out["lower_bound"] = width * mean_phi ** 2      # the output block alone, h centred per unit by BN
    else:                                              # ln: the unit-variance chain
        ln = order_parameters(study.activation, study.layers, study.weight_var, study.bias_var, qhat0, qhat_st0,
                              normalized=True)
        out["lower_bound"] = width * ln.qhat_st[-1]
    return out


def _mean_phi(activation) -> float:
    """E phi(z), z ~ N(0, 1) (Gauss-Hermite, 200 nodes; relu: 1/sqrt(2 pi) exactly)."""
    return _mean_phi_and_error(activation)[0]


def _mean_phi_and_error(activation) -> tuple[float, float]:
    """(E phi(z), its error): relu exact (error: one rounding); the smooth ones by 200-node Gauss-Hermite, whose
    error is that of the 100-node rule at most plus the rounding of the weighted sum (200 eps times the sum of
    abs(w phi))."""
    act = get(activation)
    if act.name == "relu":
        return 1.0 / math.sqrt(2 * math.pi), np.finfo(float).eps
    values = []
    for n in (200, 100):
        z, w = np.polynomial.hermite_e.hermegauss(n)
        values.append(float((w / w.sum()) @ act.value(z)))
    z, w = np.polynomial.hermite_e.hermegauss(200)
    rounding = 200 * np.finfo(float).eps * float((w / w.sum()) @ np.abs(act.value(z)))
    return values[0], abs(values[0] - values[1]) + rounding


def theory_summary(study: FimStudy) -> dict:
    """The order parameters of the study (Gaussian inputs; kappa1, kappa2, alpha and the recursions)."""
    return order_parameters(study.activation, study.layers, study.weight_var, study.bias_var).to_dict()


def run_study(study: FimStudy, progress=None) -> tuple[dict, dict]:
    """(the document of docs/interfaces.md, "asymexp fim"; the eigenvalues of one network per norm at the largest
    width). ``progress``: a callable given one line per finished width."""
    pool = None
    if study.data == "mnist":
        from asymexp.inputs.datasets import load

        pool = load("mnist").arrays(dtype="float64")[0]
    theory = theory_summary(study)
    rows, spectra, fits, constants = [], {}, [], []
    for norm in study.norms:
        norm_rows = []
        for m in study.widths:
            row = measure_width(study, m, norm, pool, keep_spectrum=(m == max(study.widths)))
            if "eigenvalues" in row:
                spectra[norm] = {"width": m, "eigenvalues": row.pop("eigenvalues"),
                                 "predicted_bulk": row["predicted_bulk"],
                                 "predicted_lambda_max": row["predicted_lambda_max"]}
            norm_rows.append(row)
            if progress:
                progress(f"fim: norm {norm}, width {m}: lambda_max {row['lambda_max']:.4g} "
                         f"+- {row['lambda_max_se']:.2g}")
        rows += norm_rows
        norm_fits, norm_constants = judge_norm(study, theory, norm, norm_rows)
        fits += norm_fits
        constants += norm_constants
    doc = {"settings": {"activation": study.activation, "layers": study.layers, "widths": list(study.widths),
                        "samples": study.samples, "rho": study.rho, "outputs": study.outputs,
                        "weight_var": study.weight_var, "bias_var": study.bias_var, "norms": list(study.norms),
                        "data": study.data, "networks": study.networks, "seed": study.seed},
           "theory": theory, "rows": rows, "fit": fits[0], "fits": fits, "constants": constants}
    return doc, spectra


def judge_norm(study: FimStudy, theory: dict, norm: str, norm_rows: list) -> tuple[list, list]:
    """(fits, constants) of one norm's rows (docs/batchnorm.md, "What asymexp fim reports"): a function of the
    rows and the theory block alone."""
    net = net_theory(study, theory, norm)
    fits, constants, by_quantity = [], [], {}
    for quantity in ("lambda_max", "mean_eig"):
        pred, why = predicted_exponent(norm, study.activation, study.rho is not None, quantity, net)
        if study.data == "mnist":
            pred, why = _effective_exponent(norm_rows, quantity, study)
        by_quantity[quantity] = exponent_verdict(norm_rows, quantity, pred, why, fixed_rho=study.rho is not None)
        fits.append(by_quantity[quantity])
    if study.data == "gaussian" and norm == "none":
        a, k1, k2 = theory["alpha"], theory["kappa1"], theory["kappa2"]
        slope = a * k2 if study.rho is not None else a * ((study.samples - 1) / study.samples * k2
                                                          + k1 / study.samples)
        if study.rho is not None and net.kappa2_is_zero():
            slope = 0.0                                  # kappa2 = 0 within its quadrature error
        constants.append(dict(constant_verdict(norm_rows, "lambda_max", slope, by_quantity["lambda_max"]),
                              norm=norm))
        constants.append(dict(constant_verdict(norm_rows, "mean_eig", study.outputs * k1, by_quantity["mean_eig"]),
                              norm=norm))
    return fits, constants


def _effective_exponent(rows, quantity, study=None):
    """With MNIST the input dimension stays 784, so the first layer's share of Theta does not grow with M and no
    single exponent is predicted: the log-log slope of the predicted values between the extreme widths is. The
    why names kappa2 at the batches' own overlaps (MNIST inputs are not centred: qhat_st^0 > 0)."""
    pred = [r[f"predicted_{quantity}"] for r in rows]
    if len(rows) < 2 or any(p is None or p <= 0 for p in pred):
        return None, "input dimension fixed at 784: no exponent predicted for this norm"
    slope = math.log(pred[-1] / pred[0]) / math.log(rows[-1]["width"] / rows[0]["width"])
    why = "effective exponent of the predicted values over these widths (input dimension fixed at 784)"
    if study is not None:
        last = rows[-1]
        op = order_parameters(study.activation, study.layers, study.weight_var, study.bias_var, last["qhat0"],
                              last["qhat_st0"])
        why += (f"; at M = {last['width']} the batches give qhat_st^0 = {last['qhat_st0']:.3g} and kappa2 = "
                f"{op.kappas(784 / last['width'])[1]:.4g} (quadrature error {op.error:.1e})")
    return slope, why


def net_theory(study: FimStudy, theory: dict, norm: str) -> NetTheory:
    """The numbers that name the case of :func:`asymexp.bn.fim.predictions.predicted_exponent`: the theory
    block's kappas, and for ``bn`` and ``ln`` the coefficient c of lambda_max >= c M (the row's ``lower_bound``
    divided by M) with its error."""
    name, floor, floor_error = entry(norm, "fim").name, None, 0.0
    if name == "bn":
        mean, err = _mean_phi_and_error(study.activation)
        floor, floor_error = mean ** 2, 2 * abs(mean) * err + err ** 2
    elif name == "ln":
        ln = order_parameters(study.activation, study.layers, study.weight_var, study.bias_var, normalized=True)
        floor, floor_error = ln.qhat_st[-1], ln.error
    return NetTheory(theory["kappa1"], theory["kappa2"], theory["kappa_error"], theory["alpha"], study.rho, floor,
                     floor_error)
