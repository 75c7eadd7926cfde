"""Memory and work estimates made before anything is allocated (docs/validation.md, "Sizes and costs").

Every command that can be asked for an absurd size (widths, replicas, time, flow step, Monte Carlo samples,
quadrature nodes, MNIST sizes) builds an :class:`Estimate` from its options and calls :func:`check` first:

- memory above what this machine has available (:func:`available_memory`) is refused, naming the estimate and
  the limit (no override: the run would fail with a MemoryError anyway);
- work above :data:`WORK_LIMIT_S` seconds at :data:`RATE_FLOPS` is refused unless ``long_run_ok`` (the CLI's
  ``--yes-long-run``);
- an estimate above :data:`NOTICE_S` seconds or :data:`NOTICE_BYTES` is printed as one line on stderr.

The estimates are order-of-magnitude bounds (the dominant arrays and floating-point operations), not
predictions to better than a factor of a few; they exist so that a typo cannot run silently for hours or end in
a traceback. Units: bytes, floating-point operations, seconds.
"""
from __future__ import annotations

import functools
import inspect
import math
import os
import sys
from dataclasses import dataclass

from asymexp.errors import AsymexpError

GIB = 2 ** 30
#: Sustained rate assumed for time estimates: the simulators' effective rate on a 2-core machine
#: (11-45 GFLOP/s, docs/validation.md "Performance"), taken at the low end.
RATE_FLOPS = 1.0e10
#: Work above this many seconds is refused without ``--yes-long-run`` (one day).
WORK_LIMIT_S = 86_400.0
#: Estimates above these are printed on stderr before the work starts.
NOTICE_S = 60.0
NOTICE_BYTES = 1 * GIB
#: Fraction of the available memory a run may plan to use (the rest: Python, NumPy temporaries, other processes).
MEMORY_FRACTION = 0.8


class BudgetError(AsymexpError):
    """A run whose estimated memory or work is above the limit (names the estimate and the limit)."""


@dataclass(frozen=True)
class Estimate:
    """What a run will cost: ``what`` (a short description), ``bytes`` (peak memory), ``flops`` (work)."""

    what: str
    bytes: float
    flops: float

    @property
    def seconds(self) -> float:
        """Wall time at :data:`RATE_FLOPS` (an order of magnitude)."""
        return self.flops / RATE_FLOPS

    def describe(self) -> str:
        return f"about {format_bytes(self.bytes)}, ~{format_seconds(self.seconds)}"


def saturating(builder):
    """An estimate builder that never raises on absurd sizes: where its arithmetic overflows (a float power out of
    range, an integer too large for a float, ``int`` of an infinite or NaN size) the estimate is infinite, which
    :func:`check` refuses with its one line, instead of an OverflowError; so is one with a NaN in it (a NaN size,
    which ``max`` would otherwise drop from the memory)."""
    signature = inspect.signature(builder)

    @functools.wraps(builder)
    def build(*args, **kwargs) -> Estimate:
        try:
            estimate = builder(*args, **kwargs)
            if not (math.isnan(estimate.bytes) or math.isnan(estimate.flops)):
                return estimate
        except (OverflowError, ValueError):
            pass
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return Estimate(bound.arguments["what"], math.inf, math.inf)

    return build


def format_bytes(n: float) -> str:
    if not math.isfinite(n):
        return "more memory than a float can count"
    for unit, size in (("EiB", 2 ** 60), ("PiB", 2 ** 50), ("TiB", 2 ** 40), ("GiB", GIB), ("MiB", 2 ** 20)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1024:.3g} KiB"


def format_seconds(s: float) -> str:
    if not math.isfinite(s):
        return "longer than a float can count"
    if s >= 365.25 * 86_400:
        return f"{s / (365.25 * 86_400):.3g} years"
    if s >= 86_400:
        return f"{s / 86_400:.3g} days"
    if s >= 3600:
        return f"{s / 3600:.3g} h"
    return f"{s:.2g} s"


def available_memory() -> tuple[int, str]:
    """(bytes available to a new run, where that number comes from): MemAvailable of /proc/meminfo (Linux),
    else os.sysconf's available pages, else its physical pages."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "MemAvailable in /proc/meminfo"
    except (OSError, ValueError, IndexError):
        pass
    for name in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            pages, size = os.sysconf(name), os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            continue
        if pages > 0 and size > 0:
            return pages * size, f"os.sysconf {name}"
    return 2 ** 62, "unknown (no limit applied)"


def check(estimate: Estimate, long_run_ok: bool = False, memory: tuple[int, str] | None = None,
          stream=None, prog: str = "asymexp") -> Estimate:
    """Refuse ``estimate`` if it cannot fit (:class:`BudgetError`), else print it on ``stream`` (stderr) when
    large; returns it. ``memory``: (bytes, source) instead of :func:`available_memory` (tests)."""
    check_memory(estimate, memory)
    if not math.isfinite(estimate.flops) or (estimate.seconds > WORK_LIMIT_S and not long_run_ok):
        raise BudgetError(f"{estimate.what} needs {estimate.describe()} (~{estimate.flops:.3g} floating-point "
                          f"operations at an assumed {RATE_FLOPS:.3g}/s), above the work limit of "
                          f"{format_seconds(WORK_LIMIT_S)}: reduce the sizes, or pass --yes-long-run to run it anyway")
    if estimate.seconds > NOTICE_S or estimate.bytes > NOTICE_BYTES:
        print(f"{prog}: estimated cost of {estimate.what}: {estimate.describe()}", file=stream or sys.stderr)
    return estimate


def check_memory(estimate: Estimate, memory: tuple[int, str] | None = None) -> Estimate:
    """The memory half of :func:`check` alone, silent (also for library calls such as ``asymexp.sim.simulate``,
    run once per chunk inside validations whose work was checked already)."""
    limit, source = memory if memory is not None else available_memory()
    if not math.isfinite(estimate.bytes) or estimate.bytes > MEMORY_FRACTION * limit:
        raise BudgetError(f"{estimate.what} needs {estimate.describe()}; this machine has {format_bytes(limit)} "
                          f"available ({source}) and a run may plan {MEMORY_FRACTION:.0%} of it: reduce the sizes")
    return estimate


def flow_steps(t: float, dt: float) -> float:
    """Steps of an RK4 flow to time t with step dt (as :mod:`asymexp.sim.replicas` rounds them)."""
    if not t > 0:
        return 0
    ratio = t / dt
    return math.ceil(ratio - 1e-9) if math.isfinite(ratio) else math.inf


@saturating
def simulation(widths, replicas: int, chunk: int, steps: float, n_train: int, n_points: int, dim: int,
               evaluations: int = 1, what: str = "the simulation") -> Estimate:
    """Networks with hidden widths ``widths`` (N_1..N_L; one output), ``replicas`` of them trained for
    ``steps`` steps on ``n_train`` points of dimension ``dim`` (``evaluations`` gradient evaluations per step:
    4 for RK4), outputs at ``n_points`` points.

    Memory: a chunk's parameters with the RK4 stages (6 copies), its hidden activations at every point
    (3 copies: values, derivatives, tangent-kernel products), and the per-replica results kept for all
    replicas until the fits (outputs, initial outputs and tangent kernel, about (3 + n_train + n_points) P
    numbers each, held as Python lists: about 32 bytes a number).
    Work: about 8 flops per weight and training point per gradient evaluation (forward and backward)."""
    sizes = [int(dim)] + [int(n) for n in widths] + [1]
    params = float(sum(a * b for a, b in zip(sizes[:-1], sizes[1:])))
    units = float(sum(sizes[1:-1]))
    per_chunk = 8.0 * min(chunk, replicas) * (6 * params + 3 * units * n_points)
    kept = 32.0 * replicas * n_points * (3 + n_train + n_points)
    flops = 8.0 * params * n_train * evaluations * float(steps) * replicas
    flops += 8.0 * params * n_points * replicas            # initial outputs and kernels
    return Estimate(what, per_chunk + kept, flops)


#: Fraction of MNIST pixels that are non-zero (about 150 of 784): the trainer's first layer touches only these.
NONZERO_PIXELS = 0.2


@saturating
def training(layer_sizes, n_train: int, n_test: int, epochs: int, batch: int, itemsize: int,
             what: str = "the training run", eval_every: int = 1) -> Estimate:
    """An MLP with ``layer_sizes`` (input, N_1..N_L, output) trained by SGD for ``epochs`` epochs on ``n_train``
    images and evaluated on the training and ``n_test`` test images at epochs 1, K+1, 2K+1, ... and the last
    (K = ``eval_every``); ``itemsize`` bytes a number.

    Memory: 4 copies of the parameters (weights, the first layer's transposed copy, the checkpoint being
    written, the best epoch's), the images stored sparsely (about a fifth of 784 pixels non-zero, index and
    value), and per-thread workspaces of max(batch, 32) rows of every layer (values, deltas, 3 copies).
    Work per image: 2 flops per weight for the forward pass and 2 for the weight gradients, the first layer's
    weights counted only on the non-zero pixels (:data:`NONZERO_PIXELS`, as the trainer's sparse first layer
    does), 2 per weight above the first layer for the deltas sent back, and 2 per parameter and step for the
    update; an evaluated image costs one forward pass."""
    sizes = [int(n) for n in layer_sizes]
    params = float(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))
    first = float(sizes[0] * sizes[1])
    upper = params - first
    touched = NONZERO_PIXELS * first + upper
    units = float(sum(sizes[1:]))
    rows = max(int(batch), 32) * (os.cpu_count() or 1)
    memory = (4 * params * itemsize + 0.2 * sizes[0] * (n_train + n_test) * (4 + itemsize)
              + 3 * rows * units * itemsize)
    steps = math.ceil(n_train / max(int(batch), 1))
    k = max(int(eval_every), 1)
    evaluated = 0 if epochs <= 0 else (epochs - 1) // k + 1 + (1 if (epochs - 1) % k else 0)
    flops = (float(epochs) * (n_train * (4.0 * touched + 2.0 * upper) + 2.0 * params * steps)
             + evaluated * 2.0 * touched * (n_train + n_test))
    return Estimate(what, memory, flops)


@saturating
def quadrature(nodes_total: float, dim: int, n_points: int, what: str = "the theory") -> Estimate:
    """A theory-layer expectation over ``nodes_total`` (c, w) nodes or Monte Carlo draws in ``dim`` dimensions at
    ``n_points`` points. Memory: the nodes and weights (c, w, weight and the tensor-product copies: about
    3 (dim + 2) numbers a node); chunks of derivative tensors are bounded separately. Work: about
    20 P^3 flops a node (derivative tensors to second order over the points)."""
    memory = 8.0 * nodes_total * 3 * (dim + 2)
    flops = 20.0 * nodes_total * float(n_points) ** 3
    return Estimate(what, memory, flops)


#: Interpreter overhead of one small network evaluation (about a millisecond), as flops at RATE_FLOPS: without it
#: a run of many tiny networks or steps would be priced as free.
OVERHEAD_FLOPS = 1.0e7


@saturating
def fim_study(layers: int, widths, samples_at, outputs: int, networks: int, norms: int, input_dim_at,
              what: str = "the FIM study") -> Estimate:
    """``asymexp fim``: per network, width M and norm, the forward pass (2 H T M^2), the dual Theta layer by layer
    (2 H (C T)^2 M), the batch Jacobians of normalized layers (bounded by 2 H T^2 M^2) and its eigendecomposition
    (10 (C T)^3), and :data:`OVERHEAD_FLOPS`. Memory at the largest width: the weights, three (C T)^2 matrices and the per-layer signals.
    ``samples_at(M)`` and ``input_dim_at(M)`` give T and d for a width."""
    flops, memory = 0.0, 0.0
    for m in widths:
        t, d, c, h = float(samples_at(m)), float(input_dim_at(m)), float(outputs), float(layers)
        flops += networks * norms * (2 * h * t * m * m + 2 * h * (c * t) ** 2 * m + 2 * h * t * t * m * m
                                     + 10 * (c * t) ** 3 + OVERHEAD_FLOPS)
        memory = max(memory, 8.0 * (h * m * m + m * d + 3 * (c * t) ** 2 + 4 * h * c * t * m + t * d))
    return Estimate(what, memory, flops)


@saturating
def gram_chain(widths, batch: int, depth: int, runs: int, what: str = "the Gram chain") -> Estimate:
    """``asymexp gram``: per width d, run and layer, a d x n Gaussian draw and its products with n x n matrices
    (about 10 d n^2); memory: the runs' d x n activations (a few copies) and the error profiles (depth x runs)."""
    flops = sum(10.0 * runs * depth * float(d) * batch * batch for d in widths)
    memory = 8.0 * (4 * runs * max(widths) * batch + 2 * depth * runs * len(widths))
    return Estimate(what, memory, flops)


@saturating
def lr_scan(layers, width: int, samples: int, steps: int, outputs: int, norms: int, input_dim: int,
            what: str = "the learning-rate scan") -> Estimate:
    """``asymexp lr-scan``: per row (depth H, norm), about 40 bisection runs of K full-batch steps
    (6 H T M^2 each, plus a hundredth of :data:`OVERHEAD_FLOPS` a step), plus the FIM dual of the initial network (:func:`fim_study`)."""
    flops, memory = 0.0, 0.0
    for h in layers:
        gd = 40.0 * steps * (6 * h * samples * float(width) ** 2 + OVERHEAD_FLOPS / 100)
        fim = fim_study(h, [width], lambda m: samples, outputs, 1, 1, lambda m: input_dim)
        flops += norms * (gd + fim.flops)
        memory = max(memory, fim.bytes + 8.0 * 3 * h * width * width)
    return Estimate(what, memory, flops)


@saturating
def time_integration(rate_time: float, points: int, train: int, order: int, solves: int = 4,
                     what: str = "the time integration") -> Estimate:
    """The explicit Dormand-Prince (DOP853) integration of the shallow hierarchy's Q1/Q2 (docs/theory-layer.md)
    over [0, t] for a problem with P = ``points``, M = ``train``: ``rate_time`` = alpha lam_max t, the time in
    units of the fastest relaxation, which bounds the step (stability) once the start is resolved. Evaluations:
    ``solves`` (the tight solve and its check, for two rules) times 4 (alpha lam_max t) + 400 (measured on
    tanh4: 3.5 per unit of alpha lam_max t at t = 1e4, about 400 to resolve the start); each costs the source
    contractions (4 P M^3 flops at order 2, a quarter at order 1) and a tenth of :data:`OVERHEAD_FLOPS`
    (NumPy calls, about 1e-4 s measured). Memory: the state (M^2 + 3 P numbers) at a few saved times."""
    evaluations = solves * (4.0 * float(rate_time) + 400.0)
    p, m = float(points), float(train)
    per = (4.0 if order >= 2 else 1.0) * p * m * m * m + OVERHEAD_FLOPS / 10
    return Estimate(what, 8.0 * 16 * (m * m + 3 * p), evaluations * per)


@saturating
def order_parameters(layers: int, symbolic: bool, what: str = "the order parameters") -> Estimate:
    """``asymexp derive --order-parameters``: exact SymPy recursions over H = ``layers`` hidden layers. The
    expressions (or exact rationals) of layer l have O(l) terms (digits), so the work and memory grow like H^2:
    measured on 2 cores, about 1.7e-3 H^2 s with symbols (H = 100: 17 s) and 3.5e-4 H^2 s with numbers for
    s_w^2 and s_b^2 (H = 100: 3.5 s); memory about 250 bytes a symbolic term (H^2 / 2 terms), or a byte a digit
    of the exact rationals (H^2 / 2 digits)."""
    h2 = float(layers) * float(layers)
    seconds = (1.7e-3 if symbolic else 3.5e-4) * h2
    return Estimate(what, (125.0 if symbolic else 0.5) * h2, seconds * RATE_FLOPS)


def derivation(depth: int, what: str = "the derivation") -> Estimate:
    """``asymexp derive`` for L = ``depth`` hidden layers: the SymPy exponents and term orders of every layer
    pair, about 6.5e-6 L^3 s on 2 cores whatever the order K (measured: L = 80, 160, 200 gave 4.8, 27 and 52 s;
    K = 1, 3, 5 at L = 80 the same); memory small (a few MiB)."""
    cube = float(depth) ** 3
    return Estimate(what, 4.0 * 2 ** 20, 6.5e-6 * cube * RATE_FLOPS)


def add_long_run_argument(parser) -> None:
    """The ``--yes-long-run`` override of :func:`check`'s work limit, as every sized command declares it."""
    parser.add_argument("--yes-long-run", action="store_true",
                        help="run even when the estimated work is above a day (default: refuse; memory that cannot "
                             "fit is always refused; docs/interfaces.md)")


@saturating
def one_step(layers: int, width: int, batch: int, lr_points: int, norms: int, seeds: int, outputs: int,
             fraction_depths, what: str = "the one-step study") -> Estimate:
    """``asymexp one-step``: per seed and norm, two gradients (forward and backward, 6 H B M^2 each), one
    forward pass per rate after its step (2 H B M^2 each), 11 forward passes along the heat-map step (2 H B M^2 each) and two network
    draws (about 20 flops a normal); per seed and fraction configuration (depths ``fraction_depths``) a draw, the
    teacher and the forward pass, and the dual at the cost of the batch function's (2 H (C B)^2 M + 2 H C B^3 M,
    an upper bound for the per-sample networks), plus the order parameters' Gauss-Hermite rules once per configuration
    (about 5e8 flops per layer, measured); :data:`OVERHEAD_FLOPS` / 100 per pass. Memory at the largest
    depth: four copies of the weights (parameters, gradient, stepped parameters, teacher), the activations, and
    the batch-norm dual's (C B, B, M) Jacobian rows and (C B)^2 matrices, and the relative losses kept per seed,
    norm and rate."""
    m, b, c = float(width), float(batch), float(outputs)
    h = float(layers)
    per_net = 2 * 6 * h * b * m * m + (lr_points + 11) * 2 * h * b * m * m + 2 * 20 * h * m * m
    flops = seeds * norms * (per_net + (lr_points + 13) * OVERHEAD_FLOPS / 100) + seeds * 2 * h * b * m * m
    deepest = max([layers] + [int(d) for d in fraction_depths])
    for d in fraction_depths:
        d = float(d)
        flops += seeds * (20 * d * m * m + 4 * d * b * m * m + 2 * d * (c * b) ** 2 * m + 2 * d * c * b ** 3 * m
                          + OVERHEAD_FLOPS / 100) + 5e8 * d            # + the order parameters' quadrature
    memory = 8.0 * (4 * deepest * m * m + 4 * deepest * b * m + 3 * c * b * b * m + 3 * (c * b) ** 2)
    memory += 64.0 * seeds * norms * lr_points        # the per-seed relative losses kept for the document
    return Estimate(what, memory, flops)


#: Flops per node, point, coordinate, width and unit of time of the shallow validation's prediction (below),
#: calibrated so that :func:`prediction` gives the measured time at RATE_FLOPS: tanh4.toml, gamma 3/4, t = 1,
#: widths 64, 128, 256, 512 (3.98e5 nodes; nodes (M + P) (d + 1) (E + 2) (1 + t) = 1.72e8) took 172 s on the shared
#: 2-core machine under a load average of about 9, and 85 to 110 s under about 5 (62 s unloaded before these
#: changes): the slowest of these, so that the estimate errs long.
PREDICTION_FLOPS = 1.0e4


def prediction(nodes: float, n_train: int, n_points: int, dim: int, widths: int, t: float,
               what: str = "the prediction") -> Estimate:
    """The parameter-free prediction of ``asymexp validate`` (asymexp.validation.prediction; docs/validation.md,
    "Predictions") on a rule of ``nodes`` quadrature nodes (c, w) in ``dim`` dimensions, ``n_train`` training
    and ``n_points`` evaluation points, ``widths`` widths, time ``t``.

    Work: every stage moves each node through the flow (d + 1 coordinates, each step touching every training
    point) or its adjoint (every evaluation point): about PREDICTION_FLOPS nodes (M + P) (d + 1) flops per width
    and unit of time, the width-independent random terms counting as two widths and a unit of time as one more
    (the refinement and the t = 0 terms). PREDICTION_FLOPS is calibrated from a measurement (its comment), an
    order of magnitude like the rest of this module. Memory: the flow's state and its DOP853 stages (about 20
    copies of nodes (d + 1)), the activations at the training points (6 copies of nodes M) and the adjoints at the
    evaluation points (6 copies of nodes P (d + 1))."""
    nodes, d1 = float(nodes), float(dim) + 1.0
    flops = PREDICTION_FLOPS * nodes * (n_train + n_points) * d1 * (widths + 2.0) * (1.0 + max(float(t), 0.0))
    memory = 8.0 * nodes * (20.0 * d1 + 6.0 * n_train + 6.0 * n_points * d1)
    return Estimate(what, memory, flops)
