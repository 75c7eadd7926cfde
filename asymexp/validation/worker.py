"""The unit of work of a validation: one chunk of replicas at one width (importable, JSON in and out).

Used by ``asymexp validate`` and ``asymexp sweep validate`` through :func:`asymexp.executor.run_tasks`, so both
resume after an interruption and both run on local processes or a Dask cluster.
"""
from __future__ import annotations

import numpy as np

from asymexp.inputs.problems import Problem, problem_from_mapping
from asymexp.spec import NetworkSpec


def problem_to_params(problem: Problem) -> dict:
    """A JSON-ready description of a problem (round-trips through :func:`problem_from_params`)."""
    data = {"x": problem.x.tolist(), "y": problem.y.tolist()}
    if len(problem.probe):
        data["probe"] = problem.probe.tolist()
    return {"activation": problem.activation, "alpha": problem.alpha,
            "init": {"c": str(problem.c_law), "w": str(problem.w_law)}, "data": data}


def problem_from_params(params: dict) -> Problem:
    return problem_from_mapping(params)


def simulate_chunk(params: dict) -> dict:
    """Train replicas ``start .. start+count-1`` of one width and return their outputs.

    params: {"problem": problem_to_params(...), "spec": NetworkSpec.to_dict() of the network,
    "time": t, "dynamics", "seed", "start", "count", "antithetic", "flow_dt" (or None)}.
    In a child process of a process pool the Numba kernel runs on one thread (the pool supplies the parallelism);
    the numbers do not depend on it.
    Returns {"g0": (count, P), "gt": (count, P), "hidden_sq": (count, P)} and, for one hidden layer,
    "ntk0": (count, P*M) (the finite-N tangent kernel at initialization), for L >= 2 "hidden_gram": (count, P*P)
    (sum_i H^{L,i}(x) H^{L,i}(x') at initialization), as nested lists.
    """
    from asymexp.sim import simulate

    import multiprocessing

    if multiprocessing.parent_process() is not None:
        import numba

        numba.set_num_threads(1)
    problem = problem_from_params(params["problem"])
    spec = NetworkSpec.from_dict(params["spec"])
    res = simulate(spec, problem.x, problem.y, problem.points, [float(params["time"])], int(params["count"]),
                   seed=int(params["seed"]), dynamics=params["dynamics"], alpha=problem.alpha,
                   antithetic=bool(params["antithetic"]), flow_dt=params.get("flow_dt"), start=int(params["start"]),
                   chunk=int(params["count"]))
    out = {"g0": res.g0.tolist(), "gt": res.outputs[:, 0, :].tolist(), "hidden_sq": res.hidden_sq.tolist()}
    if res.hidden_gram is not None and len(spec.widths) > 1:
        out["hidden_gram"] = res.hidden_gram.reshape(res.hidden_gram.shape[0], -1).tolist()
    if res.ntk0 is not None:
        out["ntk0"] = res.ntk0.reshape(res.ntk0.shape[0], -1).tolist()
    return out


def stack_chunks(results: list[dict]) -> dict[str, np.ndarray]:
    """Concatenate chunk results (in replica order) into arrays (R, P)."""
    keys = [k for k in ("g0", "gt", "hidden_sq", "ntk0", "hidden_gram") if k in results[0]]
    return {k: np.concatenate([np.asarray(r[k], dtype=np.float64) for r in results]) for k in keys}
