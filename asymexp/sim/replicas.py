"""Orchestration of the Monte Carlo simulators: initial draws, chunks, streaming to disk.

Replica r's initial parameters come from ``numpy.random.default_rng([seed, r])`` (or ``[seed, r // 2]`` for an
antithetic pair, whose odd member has C negated), drawn here, outside the parallel kernel; a chunk's numbers
are therefore the same whatever the chunk size, the start index or the thread count.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asymexp import budget
from asymexp.activations import by_code
from asymexp.errors import AsymexpError
from asymexp import provenance
from asymexp.spec import NetworkSpec


class SimError(AsymexpError):
    """A simulation that cannot run as asked (names the value and what is allowed)."""


@dataclass
class SimResult:
    """Outputs of R trained networks.

    Attributes:
        times: (T,) times t (in units of N_L steps) at which outputs were recorded.
        points: (P, d) evaluation points (training points first, then probes).
        outputs: (R, T, P) g^N_t(x) per replica.
        g0: (R, P) outputs at initialization.
        hidden_sq: (R, P) sum_i H^{L,i}_0(x)^2 at initialization (for the Rao-Blackwell variance at t = 0).
        hidden_gram: (R, P, P) sum_i H^{L,i}_0(x) H^{L,i}_0(x') (its diagonal is hidden_sq), or None.
        antithetic: replicas 2p, 2p+1 are the pair (C, W), (-C, W).
        start: index of the first replica.
        ntk0: (R, P, M) the finite-N tangent kernel at initialization, A_N(x, x_m) in time units t = k/N
            (one hidden layer only, else None); E A_N = A exactly, so A_N - A is a mean-zero control.
    """

    times: np.ndarray
    points: np.ndarray
    outputs: np.ndarray
    g0: np.ndarray
    hidden_sq: np.ndarray
    antithetic: bool
    start: int = 0
    ntk0: np.ndarray | None = None
    hidden_gram: np.ndarray | None = None


def _replica_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(index)])


def check_antithetic(spec: NetworkSpec, antithetic: bool) -> None:
    """Antithetic pairs (C, W), (-C, W) stay inside the spec's law of C only when that law is symmetric about 0;
    :class:`SimError` otherwise, saying what to pass instead."""
    if antithetic and not spec.c_law.is_symmetric:
        raise SimError(f"antithetic pairs (C, W), (-C, W) need a law of C symmetric about 0; C ~ {spec.c_law} is not "
                       "(its pairs would leave the law): use independent replicas (antithetic=False, --no-antithetic)")


def initial_parameters(spec: NetworkSpec, layout, seed: int, start: int, count: int, antithetic: bool,
                       n_steps_sgd: int = 0, n_train: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Initial thetas (count, n_params) of replicas start..start+count-1 and their SGD data indices
    (count, n_steps_sgd) int64 (one stream per pair when antithetic)."""
    from asymexp.nn.layout import init_params

    check_antithetic(spec, antithetic)
    if antithetic and (start % 2 or count % 2):
        raise SimError(f"antithetic replicas come in pairs: start {start} and count {count} must be even")
    thetas = np.empty((count, layout.n_params))
    idx = np.zeros((count, max(n_steps_sgd, 1)), dtype=np.int64)
    c0, n_c = layout.table[-1, 0], layout.table[-1, 2] * layout.table[-1, 3]
    r = 0
    while r < count:
        index = start + r
        rng = _replica_rng(seed, index // 2 if antithetic else index)
        thetas[r] = init_params(spec, rng, layout)
        if n_steps_sgd:
            idx[r] = rng.integers(0, n_train, n_steps_sgd)
        if antithetic:
            thetas[r + 1] = thetas[r]
            thetas[r + 1, c0:c0 + n_c] *= -1.0
            idx[r + 1] = idx[r]
            r += 2
        else:
            r += 1
    return thetas, idx


def hidden_gram(thetas: np.ndarray, layout, points: np.ndarray) -> np.ndarray:
    """(R, P, P): sum_i H^{L,i}(x) H^{L,i}(x') of the last hidden layer for every replica (plain NumPy)."""
    act = by_code(layout.activation).value
    out = np.empty((thetas.shape[0], points.shape[0], points.shape[0]))
    for r, theta in enumerate(thetas):
        H = act(layout.block(theta, 0) @ points.T)
        for m in range(1, layout.n_layers - 1):
            H = act(layout.scales[m] * (layout.block(theta, m) @ H))
        out[r] = H.T @ H
    return out


def shallow_ntk(thetas: np.ndarray, layout, points: np.ndarray, n_train: int) -> np.ndarray:
    """(R, P, M): A_N(x, x_m) = N^-1 sum_i [sigma(w_i.x) sigma(w_i.x_m) + c_i^2 sigma'(w_i.x) sigma'(w_i.x_m) x.x_m]
    for one-hidden-layer replicas (the tangent kernel of docs/theory/3-shallow-expansion.md at finite N, time units t
    = k/N)."""
    n, d = layout.table[0, 2], layout.table[0, 3]
    c0 = layout.table[1, 0]
    W = thetas[:, layout.table[0, 0]: layout.table[0, 0] + n * d].reshape(-1, n, d)
    c = thetas[:, c0: c0 + n]
    Z = W @ points.T
    sigma = by_code(layout.activation)
    H = sigma.value(Z)
    D = sigma.derivative(Z) if sigma.needs_preactivation else sigma.derivative_from_value(H)   # gelu: from z
    gram = points @ points[:n_train].T
    first = np.einsum("rnp,rnm->rpm", H, H[:, :, :n_train])
    second = np.einsum("rnp,rnm->rpm", D * (c * c)[:, :, None], D[:, :, :n_train])
    return (first + second * gram) / n


def _schedule(times, dynamics: str, time_scale: float, flow_dt: float | None):
    times = np.asarray(times, dtype=np.float64).ravel()
    if times.size == 0 or np.any(~np.isfinite(times)) or np.any(times < 0) or np.any(np.diff(times) < 0):
        raise SimError(f"times {times.tolist()} must be finite, >= 0 and increasing")
    limit = 2.0 ** 53                                  # steps must be exact integers
    if dynamics in ("gd", "sgd"):
        if not float(times[-1]) * time_scale < limit:
            raise SimError(f"time {times[-1]} needs {float(times[-1]) * time_scale:.3g} steps; at most 2^53 are "
                           "possible")
        steps = np.rint(times * time_scale).astype(np.int64)
        return steps, 1.0 / time_scale
    dt = float(flow_dt) if flow_dt is not None else 1.0 / time_scale
    if not dt > 0:
        raise SimError(f"flow step {flow_dt} must be > 0")
    t_max = float(times[-1])
    if not t_max / dt < limit:
        raise SimError(f"time {t_max} with flow step {dt:.3g} needs {t_max / dt:.3g} steps; at most 2^53 are possible")
    if t_max > 0:
        dt = t_max / max(1, int(np.ceil(t_max / dt - 1e-9)))
    steps = np.rint(times / dt).astype(np.int64)
    bad = np.abs(steps * dt - times) > 1e-9 * max(1.0, t_max)
    if np.any(bad):
        raise SimError(f"time {times[bad][0]} is not on the flow grid of step {dt}; choose times that are "
                       "multiples of the step")
    return steps, dt


def simulate(spec: NetworkSpec, x, y, points, times, replicas: int, seed: int = 0, dynamics: str = "flow",
             alpha: float = 1.0, antithetic: bool = True, flow_dt: float | None = None, engine: str = "auto",
             start: int = 0, chunk: int = 256, out_dir=None, progress: bool = False) -> SimResult:
    """Train ``replicas`` independent networks of ``spec`` on (x (M, d), y (M,)) and record g at ``points``.

    Args:
        spec: network (widths, gammas, activation, laws; no biases, one output), docs/theory/1-network.md.
        times: (T,) increasing times >= 0; t = k / N_L for GD/SGD (k = round(t N_L) steps), section 2.
        dynamics: ``"flow"`` (RK4, step ``flow_dt``, default 1/N_L here; validations choose it from the kernel,
            docs/validation.md "Flow step"), ``"gd"`` (full batch) or ``"sgd"``
            (one uniformly drawn data point per step).
        antithetic: replicas in pairs (C, W), (-C, W) (docs/theory/5-verified-formulas.md).
        engine: ``"auto"`` (a fused kernel when one applies: asymexp.nn.shallow_kernel for one hidden layer,
            asymexp.nn.deep_kernel for two or more), ``"fused"`` (that kernel, an error if none applies) or
            ``"generic"`` (asymexp.nn.generic_kernel).
        start: index of the first replica (a chunk of a larger run).
        chunk: replicas per parallel batch; with ``out_dir`` each finished chunk is saved as .npz and reused.
    Returns:
        :class:`SimResult` with outputs (R, T, P).
    """
    from asymexp.nn import shallow_kernel
    from asymexp.nn import deep_kernel
    from asymexp.nn.layout import build_layout
    from asymexp.kernel_codes import DYNAMICS_BY_NAME, Engine
    from asymexp.sim import engine as E
    from asymexp.sim.blas import single_threaded_blas
    from asymexp.symbolic.rules import rules_for

    if dynamics not in DYNAMICS_BY_NAME:
        raise SimError(f"dynamics {dynamics!r} is unknown; allowed: flow, gd, sgd")
    if engine not in ("auto", "fused", "generic"):
        raise SimError(f"engine {engine!r} is unknown; allowed: auto, fused, generic")
    replicas, chunk = int(replicas), int(chunk)
    check_antithetic(spec, antithetic)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SimError(f"seed = {seed!r}; an integer >= 0 is required")
    if replicas < 2 or (antithetic and replicas % 2):
        raise SimError(f"replicas = {replicas}; at least 2 (an even number with antithetic pairs) are required")
    if spec.output_dim != 1 or spec.bias:
        raise SimError("the simulators train one-output networks without biases (the theory preset)")
    x = np.ascontiguousarray(x, dtype=np.float64)
    points = np.ascontiguousarray(points, dtype=np.float64)
    Y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).reshape(1, -1))
    if x.ndim != 2 or Y.shape[1] != x.shape[0] or points.ndim != 2 or points.shape[1] != x.shape[1]:
        raise SimError(f"shapes x {x.shape}, y {np.shape(y)}, points {points.shape} do not fit: x (M, d), y (M,) "
                       "one target per training point, points (P, d)")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(Y)) and np.all(np.isfinite(points))):
        raise SimError("x, y and points must be finite numbers")
    if spec.input_dim is None:
        spec = spec.replace(input_dim=x.shape[1])
    layout = build_layout(spec)
    fused_code = (Engine.SHALLOW if shallow_kernel.qualifies(layout)
                  else Engine.DEEP if deep_kernel.qualifies(layout) else Engine.GENERIC)
    if engine == "fused" and fused_code == Engine.GENERIC:
        raise SimError("engine 'fused' needs a network without biases and with one output")
    engine_code = Engine.GENERIC if engine == "generic" else fused_code
    rules = rules_for(spec)
    time_scale = rules.time_scale(spec.require_widths())
    rec_steps, dt = _schedule(times, dynamics, time_scale, flow_dt)
    n_steps = int(rec_steps[-1])
    rates = rules.learning_rates(spec.widths, alpha)
    chunk = max(2, chunk - chunk % 2) if antithetic else max(1, chunk)
    steps = float(rec_steps[-1]) if len(rec_steps) else 0.0
    need = budget.simulation(spec.widths, replicas, chunk, steps, x.shape[0], points.shape[0], x.shape[1],
                             4 if dynamics == "flow" else 1, f"simulate of {replicas} networks of widths "
                             f"{','.join(map(str, spec.widths))}")
    budget.check_memory(budget.Estimate(need.what, need.bytes + 8.0 * replicas * len(rec_steps) * points.shape[0],
                                        need.flops))
    meta = json.dumps({"spec": spec.to_dict(), "x": x.tolist(), "y": Y.tolist(), "points": points.tolist(),
                       "times": np.asarray(times, float).tolist(), "seed": seed, "dynamics": dynamics,
                       "alpha": alpha, "antithetic": antithetic, "dt": dt, "code": provenance.code_version()},
                      sort_keys=True)
    tag = hashlib.sha1(meta.encode()).hexdigest()[:12]
    folder = Path(out_dir) if out_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    parts = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=replicas, desc=f"simulate N={spec.widths}", file=sys.stderr, unit="rep")
    for s in range(start, start + replicas, chunk):
        count = min(chunk, start + replicas - s)
        path = folder / f"chunk-{tag}-{s:09d}-{count}.npz" if folder is not None else None
        if path is not None and path.is_file():
            with np.load(path) as z:
                parts.append((z["outputs"], z["g0"], np.einsum("rpp->rp", z["hidden_gram"]),
                              z["ntk0"] if "ntk0" in z else None, z["hidden_gram"]))
        else:
            thetas, idx = initial_parameters(spec, layout, seed, s, count, antithetic,
                                             n_steps if dynamics == "sgd" else 0, x.shape[0])
            gram = hidden_gram(thetas, layout, points)
            hsq = np.einsum("rpp->rp", gram)
            ntk = shallow_ntk(thetas, layout, points, x.shape[0]) if spec.depth == 1 else None
            rec = np.empty((count, len(rec_steps) + 1, points.shape[0]))
            with single_threaded_blas():
                E.train_many(engine_code, DYNAMICS_BY_NAME[dynamics] if n_steps else E.NO_STEPS)(
                    thetas, layout.table, layout.scales, layout.activation, layout.n_hidden, x, Y, points, rates,
                    n_steps, dt, float(time_scale), np.concatenate([[0], rec_steps]).astype(np.int64), idx, rec)
            if not np.all(np.isfinite(rec)):
                from asymexp.errors import DivergenceError

                raise DivergenceError(f"a replica in {s}..{s + count - 1} produced a non-finite output "
                                      f"(spec {spec.to_dict()['gammas']}, dynamics {dynamics})")
            parts.append((rec[:, 1:], rec[:, 0], hsq, ntk, gram))
            if path is not None:
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
                extra = {} if ntk is None else {"ntk0": ntk}
                np.savez(tmp, outputs=rec[:, 1:], g0=rec[:, 0], hidden_gram=gram, meta=np.array(meta), **extra)
                os.replace(tmp, path)
        if bar is not None:
            bar.update(count)
    if bar is not None:
        bar.close()
    return SimResult(np.asarray(times, dtype=np.float64).ravel(), points,
                     np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                     np.concatenate([p[2] for p in parts]), antithetic, start,
                     None if parts[0][3] is None else np.concatenate([p[3] for p in parts]),
                     np.concatenate([p[4] for p in parts]))
