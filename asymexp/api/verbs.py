"""The five verbs: one spec (or plain values) in, one typed result out (see :mod:`asymexp.api`).

Each verb wraps one entry point by keyword and adds nothing numerical: :func:`derive` ->
``asymexp.symbolic.derive``; :func:`theory` -> ``shallow_theory`` (one gamma) or ``deep_theory`` (several);
:func:`simulate` -> ``asymexp.sim.simulate``; :func:`validate` -> ``validate_shallow`` / ``validate_deep``;
:func:`train` -> ``asymexp.mnist.train``. Gammas are parsed by :class:`~asymexp.spec.NetworkSpec` alone.
Heavy modules (NumPy, SymPy, Numba) load inside the verbs, on first call.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

from asymexp.errors import AsymexpError, SpecError
from asymexp.input_checks import check_replicas, check_seed, check_time, check_width_sweep
from asymexp.spec import NetworkSpec


def _items(value):
    """A sequence (NumPy arrays included) as a list, one value as [value]; a str stays whole (NetworkSpec splits
    "0.7,1" itself)."""
    if isinstance(value, str):
        return value
    if getattr(value, "ndim", None) == 0 or isinstance(value, Mapping):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def _network(spec, widths=None, **fields) -> NetworkSpec:
    """The NetworkSpec of a verb's first argument: a NetworkSpec (``widths`` and the given fields replace its
    own), a mapping as ``NetworkSpec.to_dict()`` writes it, or gammas (then ``fields`` go to ``from_strings``)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    if isinstance(spec, Mapping):
        spec = NetworkSpec.from_mapping(spec)
    if isinstance(spec, NetworkSpec):
        if "preset" in fields and fields["preset"] != spec.preset:
            raise SpecError(f"preset = {fields['preset']!r} applies to plain gammas; this NetworkSpec already has "
                            f"its laws (preset {spec.preset!r}): build the spec with that preset instead")
        fields.pop("preset", None)
        if widths is not None:
            fields["widths"] = _items(widths)
        return spec.replace(**fields) if fields else spec
    if spec is None:
        raise SpecError("no gammas given; pass a NetworkSpec or gammas such as '7/10,1', 0.75 or [0.7, 1]")
    return NetworkSpec.from_strings(gammas=_items(spec), widths=None if widths is None else _items(widths),
                                    **fields)


def _numeric(spec: NetworkSpec, verb: str) -> NetworkSpec:
    if spec.is_symbolic:
        raise SpecError(f"{verb}: gammas {', '.join(map(str, spec.gammas))} are symbols; numbers in [1/2, 1] "
                        "are required (e.g. 0.75); only derive() takes symbols")
    return spec


def _problem(problem):
    """A Problem, or the path / built-in name ("tanh4.toml" or "tanh4") of a problem file."""
    from asymexp.inputs.problems import Problem, load_problem

    if isinstance(problem, Problem):
        return problem
    if not isinstance(problem, (str, os.PathLike)):
        raise AsymexpError(f"problem = {problem!r} is not a Problem or a problem file; give a path or a built-in "
                           "name such as 'tanh4.toml' (asymexp.inputs.problems.load_problem)")
    path = Path(problem)
    if not path.suffix and not path.exists():
        path = path.with_suffix(".toml")
    return load_problem(path)


def _problem_gammas(problem, gammas, widths=None, verb="theory"):
    """Exact gammas (and validated widths or None) for ``problem``; a NetworkSpec must match the problem's
    activation and laws (the problem fixes them)."""
    if isinstance(gammas, NetworkSpec):
        spec = gammas
        widths = spec.widths if widths is None else widths
        expected = problem.spec(spec.gammas, spec.widths or [1] * spec.depth)
        if (spec.activation, spec.weight_laws) != (expected.activation, expected.weight_laws):
            have = ", ".join(map(str, spec.weight_laws))
            want = ", ".join(map(str, expected.weight_laws))
            raise SpecError(f"{verb}: the spec ({spec.activation}; {have}) does not match the problem "
                            f"({expected.activation}; {want}); the problem fixes activation and laws, so pass "
                            "the gammas alone")
    else:
        spec = NetworkSpec(gammas=_items(gammas))
    _numeric(spec, verb)
    if widths is not None:
        widths = problem.spec(spec.gammas, _items(widths)).widths
    return spec.gammas, widths


def derive(spec, order: int = 2, *, widths=None, activation=None, preset=None, betas=None,
           yes_long_run: bool = False, **options):
    """Exact learning-rate, time and variance exponents and the expansion terms of ``spec``.

    Args:
        spec: a NetworkSpec, or gammas (numbers or symbol names: ``"g1,g2"``, ``[0.7, 1]``, ``0.75``).
        order: expansion order K (1..5). widths, activation, preset: for plain gammas (or to replace a spec's).
        betas: the width path N_l = c_l N^{beta_l} (default: equal widths). yes_long_run: ``--yes-long-run``
            (the work grows like L^3: :func:`asymexp.budget.derivation`). options: more ``derive`` keywords.
    Returns:
        :class:`~asymexp.api.results.DerivationResult`.
    """
    from asymexp import budget
    from asymexp.api.results import DerivationResult
    from asymexp.symbolic import derive as run

    net = _network(spec, widths, activation=activation, preset=preset)
    budget.check(budget.derivation(net.depth, f"the derivation of {net.depth} layers"), yes_long_run,
                 prog="asymexp derive")
    d = run(net, order=order, betas=betas, **options)
    return DerivationResult(spec=net, order=order, document=d.to_json(), derivation=d)


def theory(problem, gamma, times=1.0, order: int = 2, *, widths=None, method: str = "quadrature",
           n_samples=None, seed: int = 0, quad_order=None, tol=None, yes_long_run: bool = False):
    """h, V (and for one hidden layer Q1, Q2, Q3 up to ``order``) on the problem's training points then probes.

    Args:
        problem: a Problem or a problem file ("tanh4.toml"). gamma: one gamma (one hidden layer: shallow theory)
            or several (depth L: frozen limit kernel, docs/theory/4-deep-networks.md), or a NetworkSpec matching the
            problem.
        times: t >= 0, one or a sequence. order: 0..3 (one hidden layer; depth >= 2 gives h and V only).
        widths: depth >= 2: N_1..N_L for the finite-width kernel (default: the sequential limit).
        method, n_samples, seed: "quadrature" or "monte-carlo" (one hidden layer). quad_order: nodes per dimension.
        tol: one hidden layer: the target error, ``"ABS[,REL]"`` or an
            :class:`asymexp.numeric.error_control.Tolerance` (as ``asymexp theory --tol``; default 1e-8, 1e-6).
        yes_long_run: ``--yes-long-run``: run a Q1/Q2 time integration priced above a day (its work grows with
            the time; :func:`asymexp.budget.time_integration`).
    Returns:
        :class:`~asymexp.api.results.TheoryResult`, one type for every depth; ``errors`` holds the error estimate
        of every array.
    """
    from asymexp.api.results import TheoryResult

    prob = _problem(problem)
    gammas, widths = _problem_gammas(prob, gamma, widths, "theory")
    common = dict(gammas=gammas, widths=widths, problem=prob.path, n_train=prob.n_train)
    if len(gammas) == 1:
        from asymexp.numeric.shallow_theory import shallow_theory

        from asymexp.numeric.error_control import Tolerance, parse_tolerance

        if tol is not None and not isinstance(tol, Tolerance):
            tol = parse_tolerance(tol)
        th = shallow_theory(prob, gamma=gammas[0], times=times, order=order, method=method, n_samples=n_samples,
                            seed=seed, quad_order=quad_order, tol=tol, long_run_ok=yes_long_run)
        errors, details = dict(th.errors), {"q1_vanishes": th.q1_vanishes, "q1_reason": th.q1_reason,
                                            "theory_error": th.theory_error, "ode_error": th.ode_error,
                                            "mean_f": th.mean_f}
        _t0(details, errors, prob, gammas, widths, th.times, th.S, th.errors["S"])
        return TheoryResult(**common, times=th.times, points=th.points, h=th.h, V=th.V, Q1=th.Q1, Q2=th.Q2,
                            Q3=th.Q3, A=th.A, S=th.S, kernel_error=th.kernel_error, method=th.method,
                            regime=th.regime, notes=tuple(th.notes), errors=errors, tolerance=th.tolerance,
                            details=details)
    if isinstance(order, bool) or order not in (0, 1, 2, 3):
        raise SpecError(f"order = {order!r}; allowed: 0, 1, 2, 3")
    if method != "quadrature":
        raise SpecError(f"method = {method!r}: depth {len(gammas)} is evaluated by quadrature only; "
                        "allowed: 'quadrature'")
    if tol is not None:
        raise SpecError(f"tol = {tol!r}: depth {len(gammas)} uses a fixed rule with a difference estimate (errors); "
                        "a target applies to one hidden layer only")
    from asymexp.numeric.deep_theory import deep_theory

    d = deep_theory(prob, gammas=list(gammas), widths=None if widths is None else list(widths), times=times,
                    order=quad_order)
    notes = tuple(d["notes"]) + ((f"depth {len(gammas)}: h and V only (the corrections Q1, Q2 are derived for one "
                                  "hidden layer)",) if order >= 1 else ())
    errors, details = dict(d["errors"]), {"collapse": tuple(d["collapse"])}
    _t0(details, errors, prob, gammas, widths, d["times"], d["S"], d["errors"]["S"])
    return TheoryResult(**common, times=d["times"], points=d["points"], h=d["h"], V=d["V"], A=d["A"], S=d["S"],
                        kernel_error=d["kernel_error"], method="quadrature", regime=d["regime"], notes=notes,
                        errors=errors, details=details)


def _t0(details: dict, errors: dict, problem, gammas, widths, times, cov, cov_error) -> None:
    """With a time 0: ``cov`` and (with widths) ``cumulant4`` into ``details`` and their errors into ``errors``,
    as ``asymexp theory --json`` names them (:func:`asymexp.numeric.t0_terms.t0_terms`, its implementation too)."""
    import numpy as np

    from asymexp.numeric.t0_terms import t0_terms

    terms = t0_terms(problem, gammas, widths, times, cov, cov_error)
    if terms is None:
        return
    details.update({k: (v if k == "widths" else np.asarray(v)) for k, v in terms["values"].items()},
                   t0_note=terms["note"])
    errors.update({k: np.asarray(v) for k, v in terms["errors"].items()})


def simulate(spec, x, y, points=None, times=1.0, replicas: int = 2, *, widths=None, activation=None,
             seed: int = 0, dynamics: str = "flow", **options):
    """Train ``replicas`` independent finite-width networks on (x (M, d), y (M,)) and record g at ``points``.

    Args:
        spec: a NetworkSpec with widths, or gammas with ``widths`` (and ``activation``; theory preset).
        points: (P, d) evaluation points (default: x). times: increasing t >= 0 (t = k / N_L).
        replicas: networks (even with antithetic pairs). dynamics: "flow", "gd" or "sgd".
        options: more ``asymexp.sim.simulate`` keywords (alpha, antithetic, flow_dt, engine, chunk, out_dir, ...).
            Without ``flow_dt``, the flow's RK4 step comes from the frozen limit kernel on x (docs/validation.md,
            "Flow step"; the same for every width); the result's ``flow_step`` says which step ran and its error.
    Returns:
        :class:`~asymexp.api.results.SimulationResult`.
    """
    import numpy as np

    from asymexp.api.results import SimulationResult
    from asymexp.sim import simulate as run

    net = _numeric(_network(spec, widths, activation=activation), "simulate")
    if net.widths is None:
        raise SpecError("simulate needs widths: pass widths=[N_1, ..., N_L] or a NetworkSpec with widths")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise SpecError(f"x has shape {x.shape}; (M, d) training inputs are required")
    if net.input_dim is None:
        net = net.replace(input_dim=x.shape[1])
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    step = None
    if dynamics == "flow":
        step = _flow_step(net, x, times, options)
        options = dict(options, flow_dt=step["flow_dt"])
    res = run(net, x, y, x if points is None else points, times, replicas=replicas, seed=seed, dynamics=dynamics,
              **options)
    return SimulationResult(spec=net, times=res.times, points=res.points, outputs=res.outputs, g0=res.g0,
                            seed=seed, dynamics=dynamics, antithetic=res.antithetic, flow_step=step)


def _flow_step(net, x, times, options: dict) -> dict:
    """The RK4 step of :func:`simulate`: ``options["flow_dt"]`` when given, else the default rule on the frozen
    limit kernel of ``net`` at x (:func:`asymexp.validation.flow_step.spec_step`); where that kernel is not
    defined (e.g. an inner weight law with a mean), 1/N_L, with a warning."""
    import warnings

    import numpy as np

    from asymexp.validation.flow_step import spec_step

    t_max = float(times.max()) if times.size else 0.0
    if options.get("flow_dt") is not None:
        return {"flow_dt": float(options["flow_dt"]), "chosen_by": "given by flow_dt"}
    if not t_max > 0 or not np.isfinite(t_max):
        return {"flow_dt": None, "chosen_by": "no step: no time > 0"}
    try:
        return dict(spec_step(net, x, t_max, float(options.get("alpha", 1.0))), chosen_by="default rule")
    except SpecError as e:
        dt = 1.0 / float(net.widths[-1])
        warnings.warn(f"simulate: no frozen kernel to choose the flow step from ({e}); using 1/N_L = {dt:.3g}; "
                      "pass flow_dt= to choose it", stacklevel=3)
        return {"flow_dt": dt, "chosen_by": f"1/N_L (no frozen kernel: {e})"}


#: Settings of validate that do not define the run (how and where it executes), left out of the manifest.
_EXECUTION = ("out", "workers", "scheduler", "progress", "long_run_ok")


def _validate_parameters(problem, gammas, widths, kw: dict) -> dict:
    """The manifest parameters of a validate run (:func:`asymexp.validation.validate_options.folder_parameters`,
    the one the CLI's ``asymexp validate`` uses too), with the defaults of validate_shallow / validate_deep
    resolved, so that a folder started from the shell is continued here and the other way round."""
    from asymexp.validation.validate_options import folder_parameters

    deep = len(gammas) > 1
    settings = {k: v for k, v in kw.items() if k not in _EXECUTION}
    settings.setdefault("t", 0.0 if deep else 1.0)
    settings.setdefault("dynamics", "gd" if deep else "flow")
    settings.setdefault("chunk", 128 if deep else 256)
    if deep:
        settings.setdefault("sensitivity_width", 128)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()}
    return folder_parameters(problem, gammas, widths, **settings)


def _legacy_validate_parameters(problem, gammas, widths, kw: dict) -> dict:
    """The manifest parameters the Python verb wrote before it shared the CLI's (keyword names, defaults left
    out): a folder holding them is the same run and is adopted (:func:`asymexp.run_folder.claim_folder`)."""
    from asymexp.provenance import problem_key
    from asymexp.run_folder import digest

    rest = {k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(kw.items()) if k not in _EXECUTION}
    return {"problem": digest(problem_key(problem)), "gammas": [str(g) for g in gammas], "widths": list(widths),
            **rest}


def _claimed(out, command: str, parameters, continuable=None, legacy=None):
    """Hold ``out`` for the run (lock and manifest, :func:`asymexp.run_folder.claim_folder`) as the CLI does;
    ``parameters`` (and ``legacy``, earlier forms of them) are called only when there is a folder."""
    import contextlib

    if out is None:
        return contextlib.nullcontext()
    from asymexp.run_folder import claim_folder

    return claim_folder(out, command, parameters(), continuable, option="out",
                        legacy=None if legacy is None else [legacy()])


def validate(problem, gammas, widths, replicas: int = 64, *, time=None, seed: int = 0, dynamics=None,
             progress: bool = False, **options):
    """Hold the derived expansion against ``replicas`` finite-width networks per width (fits, CIs, verdict).

    Args:
        problem: a Problem or a problem file. gammas: one gamma or a depth-1 spec (shallow validation) or
            several (deep validation, equal widths); widths: the N to fit over, increasing.
        time: t >= 0 (default: 1 for one hidden layer, 0 for deep). dynamics: default "flow" (one hidden layer),
            "gd" (deep). options: more keywords of validate_shallow / validate_deep (antithetic, control, out,
            workers, scheduler, chunk, quad_order; deep: sensitivity_width (None: no table), width_path, ...).
    Returns:
        :class:`~asymexp.api.results.ValidationResult`.
    """
    from asymexp.api.results import ValidationResult

    prob = _problem(problem)
    gs, _ = _problem_gammas(prob, gammas, None, "validate")
    ns = check_width_sweep(widths, "widths =")
    check_replicas(replicas, "replicas =")
    check_seed(seed, "seed =")
    kw = dict(replicas=replicas, seed=seed, progress=progress, **options)
    if time is not None:
        kw["t"] = check_time(time, "time =")
    if dynamics is not None:
        kw["dynamics"] = dynamics
    with _claimed(kw.get("out"), "validate", lambda: _validate_parameters(prob, gs, ns, kw),
                  legacy=lambda: _legacy_validate_parameters(prob, gs, ns, kw)):
        if len(gs) == 1:
            from asymexp.validation.shallow_validation import validate_shallow

            doc = validate_shallow(prob, gamma=gs[0], widths=ns, **kw)
        else:
            from asymexp.validation.deep_validation import validate_deep

            doc = validate_deep(prob, gammas=list(gs), widths=ns, **kw)
    return ValidationResult(problem=prob.path, gammas=gs, widths=tuple(ns), replicas=replicas,
                            verdict=doc.get("verdict", "undetermined"), verdict_reason=doc.get("verdict_reason", ""),
                            document=doc)


def train(spec, widths=None, epochs: int = 1, *, out=None, **config):
    """Train a sigmoid MLP on MNIST (the paper's set-up by default) and return its per-epoch history.

    Args:
        spec: a NetworkSpec (its preset, activation and bias; its laws must be the preset's), or gammas
            (with ``layers=L`` one value serves every layer). widths: N_1..N_L (or one with ``layers``).
        epochs: epochs to run. out: checkpoint folder (the same call resumes from it).
        config: more TrainConfig fields: preset ("paper-mnist"), loss, lr_scale, batch, dtype, seed, shuffle,
            threads, dataset, data_dir, n_train, n_test, layers, activation, bias, norm, norm_placement, init,
            optimizer (docs/mnist.md, "Normalization, initialization, optimizer"), eval_every, checkpoint_every
            (docs/mnist.md, "Throughput").
    Returns:
        :class:`~asymexp.api.results.TrainingResult`.
    """
    from asymexp.api.results import TrainingResult
    from asymexp.mnist.train import TrainConfig, build_spec, run_summary, train as run

    allowed = {f.name for f in dataclasses.fields(TrainConfig)} - {"gammas", "widths", "epochs"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise SpecError(f"train: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    given = spec
    if isinstance(given, (NetworkSpec, Mapping)):
        given = _network(given, widths)
        clash = sorted(k for k in ("preset", "activation", "bias") if k in config)
        if clash:
            raise SpecError(f"train: {', '.join(clash)} come from the NetworkSpec; set them on the spec instead")
        if given.widths is None:
            raise SpecError("train needs widths: pass widths=[N_1, ..., N_L] or a NetworkSpec with widths")
        config.update(preset=given.preset, activation=given.activation, bias=given.bias)
        gammas, ws = given.gammas, given.widths
    else:
        if widths is None:
            raise SpecError("train needs widths: pass widths=[N_1, ..., N_L] (or one width with layers=L)")
        gammas = _numeric(NetworkSpec(gammas=_items(spec)), "train").gammas
        ws = _items(widths)
        ws = ws.split(",") if isinstance(ws, str) else ws
    cfg = TrainConfig(gammas=",".join(str(g) for g in gammas), widths=",".join(str(w).strip() for w in ws),
                      epochs=epochs, **config)
    net = build_spec(cfg)
    if isinstance(given, NetworkSpec) and (net.weight_laws, net.bias_law) != (given.weight_laws, given.bias_law):
        raise SpecError(f"train uses the laws of preset {given.preset!r} ({', '.join(map(str, net.weight_laws))}); "
                        f"this spec has {', '.join(map(str, given.weight_laws))}: use the preset's laws")
    resumed: list = []
    with _claimed(out, "mnist", cfg.canonical_identity, {"epochs": cfg.epochs}):
        new = list(run(cfg, out=out, resumed=resumed))
    history = tuple(resumed + new)
    return TrainingResult(spec=net, config=dataclasses.asdict(cfg), history=history,
                          summary=run_summary(cfg, list(history)))
