"""How fast the Gram chain forgets its input: the geometric rate at which ||G_l - G*||_F decays from a nearly
collinear batch, at large width, against the linearization of the mean-field map at its fixed point
(docs/batchnorm.md, "The Gram chain", "Mixing rate"; the document ``asymexp gram --mixing --json`` prints,
docs/interfaces.md).

The start: G_0 = c 11^T + (1 - c) R with c = :data:`COLLINEARITY` and R the correlation matrix of n Gaussian
vectors drawn from the seed, so every mode of the deviation is excited (a batch-symmetric start would excite only
the batch-symmetric one). Per run D_l = ||G_l - G*||_F. The stationary noise floor F is the RMS of D over the last
third of the layers. The window of the fit runs from the first layer where the mean over runs of D is at most
:data:`LINEAR_FRACTION` of D_0 (the deviation small enough for the linearization) to the last layer before the
mean first falls below :data:`FLOOR_FACTOR` F; in it, y_l = log(mean over runs of D_l^2 - F^2) / 2 (the noise
removed in mean square, E D^2 = |mean-field deviation|^2 + E noise^2) is fitted by least squares in l, and the rate
is exp(slope), its 95% CI exp(slope +- t SE), SE the jackknife's over the runs (independent networks), t Student's
quantile with runs - 1 degrees of freedom.

The prediction is the largest modulus lambda among the eigenvalues of the Jacobian of K -> A(K) at K*
(:func:`asymexp.bn.gram.gram_bn_kernel.jacobian`; relu and the identity), with its error: a generic start decays
at that rate once the faster modes have died out and the deviation is small. For n = 2 the start (unit diagonal)
is unchanged by swapping the inputs, so only the batch-symmetric mode is excited and its eigenvalue is the
relevant one. Over a window that a finite width can
see (deviations of 0.1 to 0.5 at d = 2^16) the map is not yet linear, so the infinite-width trajectory from the
same start (K_{l+1} = A(K_l) by the one-integral kernel, K_0 the Gram of phi(H_0), or of H_0 for pre-bn) is
computed too: its rate over the same window is the exact infinite-width prediction there, and its distance from
lambda is the linearization's own error over the window (the interval of the measured rate is widened by it when
it is held against lambda). The trajectory's last ratio D_l / D_{l-1} (``tail_rate``, at the deepest layer l above
1e-9 D_0 within the depth) checks lambda against the map itself.
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.bn.gram.gram_batch_sweep import reference
from asymexp.activations import get as get_activation
from asymexp.bn.gram.gram_bn_kernel import HOMOGENEOUS, bn_maps, jacobian
from asymexp.bn.gram.gram_chain import centres, chain_name, check_sizes, gram, input_batch, simulate
from asymexp.errors import AsymexpError
from asymexp.stats.interval_verdicts import judge, not_judged, summary, undetermined

COLLINEARITY = 0.9
LINEAR_FRACTION = 0.25
FLOOR_FACTOR = 5.0
MIN_LAYERS = 3


def collinear_start(batch: int, seed: int) -> np.ndarray:
    """G_0 (batch, batch) = c 11^T + (1 - c) R, R a correlation matrix drawn from ``seed`` (module docstring)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, batch, 2]))  # pragma: no mutate (a stream label)
    X = rng.standard_normal((batch, batch))
    R = X @ X.T
    R = R / np.sqrt(np.outer(np.diag(R), np.diag(R)))
    return COLLINEARITY * np.ones((batch, batch)) + (1 - COLLINEARITY) * R


def _slopes(layers: np.ndarray, Y: np.ndarray) -> np.ndarray:
    x = layers - layers.mean()
    return (Y - Y.mean(axis=1, keepdims=True)) @ x / (x @ x)


def window(mean_distance: np.ndarray, floor: float) -> tuple[int, int] | None:
    """(first, last) layer of the fit window (module docstring), or None with fewer than :data:`MIN_LAYERS`."""
    start = next((l for l in range(1, mean_distance.size) if mean_distance[l] <= LINEAR_FRACTION * mean_distance[0]),
                 None)
    if start is None:
        return None
    last = start - 1
    while last + 1 < mean_distance.size and mean_distance[last + 1] >= FLOOR_FACTOR * floor:
        last += 1
    return (start, last) if last - start + 1 >= MIN_LAYERS else None


def _window_slope(layers: np.ndarray, mean_square: np.ndarray, floor: float) -> float:
    y = 0.5 * np.log(np.clip(mean_square - floor ** 2, 1e-300, None))
    return float(_slopes(layers, y[None])[0])


def measured_rate(distance: np.ndarray, tail_from: int | None = None) -> dict:
    """The geometric rate of ``distance`` (runs, depth + 1) over its fit window (module docstring):
    {"rate", "ci95", "slope", "slope_se", "window", "floor"}; rate None when the window is too short.

    The slope is that of log(mean over runs of D_l^2 - F^2) / 2, the mean-field deviation's log (the noise's mean
    square removed; no Jensen bias from a log of a noisy run); its SE is the leave-one-run-out jackknife's, the
    interval Student's t with runs - 1 degrees of freedom."""
    from scipy.stats import t as student

    runs, length = distance.shape
    tail_from = 2 * length // 3 if tail_from is None else tail_from
    floor = float(np.sqrt((distance[:, tail_from:] ** 2).mean()))
    mean = distance.mean(axis=0)
    win = window(mean, floor)
    out = {"floor": floor, "window": None if win is None else list(win), "mean_distance": mean,
           "mean_distance_se": distance.std(axis=0, ddof=1) / math.sqrt(runs)}
    if win is None:
        return dict(out, rate=None, ci95=None, slope=None, slope_se=None)
    layers = np.arange(win[0], win[1] + 1, dtype=float)
    square = distance[:, win[0]:win[1] + 1] ** 2
    slope = _window_slope(layers, square.mean(axis=0), floor)
    leave_one_out = np.array([_window_slope(layers, np.delete(square, r, axis=0).mean(axis=0), floor)
                              for r in range(runs)])
    se = float(math.sqrt((runs - 1) / runs * ((leave_one_out - leave_one_out.mean()) ** 2).sum()))
    q = float(student.ppf(0.975, runs - 1))
    return dict(out, rate=math.exp(slope), ci95=[math.exp(slope - q * se), math.exp(slope + q * se)],
                slope=slope, slope_se=se, t_quantile=q)


def _homogeneous(activation) -> bool:
    name = getattr(activation, "name", activation)
    return name in HOMOGENEOUS or name == "identity"


def mean_field_distance(chain: str, activation, start: np.ndarray, width: int, seed: int, depth: int,
                        fixed: np.ndarray) -> np.ndarray:
    """||G_l - G*||_F (depth + 1,) of the infinite-width chain from the input batch of
    :func:`asymexp.bn.gram.gram_chain.input_batch` (module docstring); relu and the identity only."""
    phi = get_activation(activation).value
    H0 = input_batch(width, start.shape[0], seed, start)
    center = centres(chain)
    K = gram(H0) if chain == "pre-bn" else gram(phi(H0))
    out = [float(np.linalg.norm(gram(H0) - fixed))]
    for _ in range(depth):
        A, B, _ = bn_maps(K, center, activation)
        out.append(float(np.linalg.norm((A if chain == "pre-bn" else B) - fixed)))
        K = A
    return np.array(out)


def window_rate(distance: np.ndarray, win) -> float | None:
    """exp of the least-squares slope of log ``distance`` (depth + 1,) over the layers ``win`` (first, last)."""
    if win is None:
        return None
    layers = np.arange(win[0], win[1] + 1, dtype=float)
    return math.exp(float(_slopes(layers, np.log(distance[None, win[0]:win[1] + 1]))[0]))


def predicted_rate(chain: str, activation, batch: int) -> dict | None:
    """The linearization's relevant eigenvalue modulus ``rate`` with its ``error``, the largest and the
    batch-symmetric mode's, or None where the one-integral kernel does not apply. Relevant: the largest, except for
    n = 2, where every start with a unit diagonal is unchanged by swapping the two inputs, so that (at infinite
    width) only the batch-symmetric mode is excited."""
    if not _homogeneous(activation):
        return None
    jac = jacobian(chain, activation, batch)
    symmetric_start = batch == 2
    return {"rate": jac["symmetric"] if symmetric_start else jac["largest"],
            "error": jac["symmetric_error"] if symmetric_start else jac["largest_error"],
            "relevant": "batch-symmetric mode (n = 2)" if symmetric_start else "largest",
            "largest": jac["largest"], "largest_error": jac["largest_error"], "symmetric_mode": jac["symmetric"],
            "symmetric_mode_error": jac["symmetric_error"], "eigenvalues": jac["eigenvalues"]}


def mixing_rate(chain: str, activation, batch: int, width: int, depth: int, runs: int, seed: int = 0,
                samples: int = 200_000) -> dict:
    """The ``asymexp gram --mixing`` document: the measured rate with its CI, the predicted one and the verdict."""
    chain = chain_name(chain)
    if chain == "none":
        raise AsymexpError("norm none is not allowed with --mixing (no attractor to mix towards); allowed: "
                           "row-scale, row-center, pre-bn")
    check_sizes(chain, batch, width, depth, runs)
    if runs < 2:
        raise AsymexpError(f"runs {runs} is not allowed; a standard error across runs needs runs >= 2")
    if depth < 6:
        raise AsymexpError(f"depth {depth} is not allowed with --mixing; at least 6 layers (a decay and a "
                           f"stationary tail) are required")
    ref = reference(chain, activation, batch, samples, seed)
    start = collinear_start(batch, seed)
    grams = simulate(chain, activation, batch, width, depth, runs, seed, start=start)
    distance = np.linalg.norm(grams - ref["gram"], axis=(-2, -1))
    measured = measured_rate(distance)
    predicted = predicted_rate(chain, activation, batch)
    trajectory = None
    if predicted is not None:
        trajectory = mean_field_distance(chain, activation, start, width, seed, depth, ref["gram"])
        predicted["window_rate"] = window_rate(trajectory, measured["window"])
        tail = int(np.nonzero(trajectory > 1e-9 * trajectory[0])[0][-1])   # the deepest layer above rounding
        predicted["tail_rate"] = float(trajectory[tail] / trajectory[tail - 1]) if tail >= 1 else None
        predicted["tail_layer"] = tail
    verdicts = _verdicts(measured, predicted)
    return {"study": "gram mixing", "chain": chain, "activation": str(getattr(activation, "name", activation)),
            "batch": batch, "width": width, "depth": depth, "runs": runs, "seed": seed,
            "collinearity": COLLINEARITY, "start_gram": start, "fixed_point": ref["gram"],
            "fixed_point_info": {"method": ref["method"], "error": ref["error"]},
            "measured": measured, "predicted": predicted, "mean_field_distance": trajectory,
            **verdicts, **summary(verdicts["verdicts"])}


def _verdicts(measured: dict, predicted: dict | None) -> dict:
    """The measured rate against the infinite-width trajectory's rate over the same window (the exact prediction
    there) and against the linearization lambda (widened by |window rate - lambda|, the map's nonlinearity over
    the window, and lambda's own error)."""
    settle = "more --runs or a larger --widths (a lower noise floor, a window nearer G*)"
    if measured["rate"] is None:
        why = (f"fewer than {MIN_LAYERS} layers between {LINEAR_FRACTION} D_0 and {FLOOR_FACTOR} x the noise floor")
        entry = undetermined("mixing rate", None, None if predicted is None else predicted["rate"], why, settle)
        return {"verdicts": [entry], "not_judged": []}
    if predicted is None:
        return {"verdicts": [], "not_judged": [not_judged("mixing rate", measured["rate"],
                                                          "no linearization for this activation (relu and the "
                                                          "identity have the one-integral kernel)")]}
    lam, window_rate_ = predicted["rate"], predicted["window_rate"]
    nonlinearity = abs(window_rate_ - lam)
    return {"verdicts": [
        judge("mixing rate against the infinite-width trajectory over the window", measured["rate"], window_rate_,
              ci95=measured["ci95"], settle=settle),
        judge("mixing rate against the linearization", measured["rate"], lam, ci95=measured["ci95"],
              predicted_error=nonlinearity + predicted["error"], settle=settle,
              note="the trajectory's window rate minus lambda is the linearization's error over the window")],
        "not_judged": []}
