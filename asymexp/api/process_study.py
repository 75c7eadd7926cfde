"""The verb of ``asymexp process`` and its typed result: the fluctuation of a one-hidden-layer network as a process
over evaluation points and times, its covariance against simulation and its Gaussianity (docs/validation.md,
"The fluctuation process"; :mod:`asymexp.validation.fluctuation_process`)."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from asymexp.api.results import _Result
from asymexp.input_checks import (check_integer, check_replicas, check_seed, check_width_sweep, comma_list,
                                  finite_number)
from asymexp.json_out import dumps
from asymexp.run_folder import claim_given


@dataclass(frozen=True, eq=False)
class ProcessResult(_Result):
    """:func:`asymexp.process`. Attributes: document (``asymexp process --json``), files (written
    under ``out``). The main parts: ``matrix_test``, ``limit`` (K, K), ``simulated`` (per width), ``cumulants``,
    ``verdict``."""

    document: dict
    files: tuple = field(default=(), repr=False)

    def to_dict(self) -> dict:
        """A copy of the ``--json`` document."""
        return copy.deepcopy(self.document)

    @property
    def matrix_test(self) -> dict:
        return self.document["matrix_test"]

    @property
    def limit(self) -> list:
        return self.document["limit"]

    @property
    def simulated(self) -> list:
        return self.document["simulated"]

    @property
    def cumulants(self) -> dict:
        return self.document["cumulants"]

    @property
    def verdict(self) -> str:
        return self.document["verdict"]

    def plot(self, figsize=None):
        """Left: the matrix test's z of every entry i <= j against width (judged entries filled) with the
        family-wise limit; right: |k3 / k2^1.5| and |k4 / k2^2| against width (mean over the cells, log-log)."""
        import numpy as np

        from asymexp.api.results import _figure

        doc = self.document
        test, widths = doc["matrix_test"], np.array(doc["widths"], dtype=float)
        upper = np.triu_indices(len(doc["labels"]))
        fig = _figure(figsize or (9.0, 3.6))
        left, right = fig.subplots(1, 2)
        for w, n in enumerate(widths):
            z, judged = np.asarray(test["z"][w])[upper], np.asarray(test["judged"][w])[upper]
            left.scatter(np.full(z.size, n)[judged], z[judged], s=8, color="C0")
            left.scatter(np.full(z.size, n)[~judged], z[~judged], s=8, facecolors="none", edgecolors="C7")
        for sign in (1, -1):
            left.axhline(sign * test["limit"], color="C3", lw=0.8)
        left.set_xscale("log")
        left.set_xlabel("width N")
        left.set_ylabel("z of covariance entries")
        left.set_title(f"matrix test: {test['verdict']}", fontsize=9)
        for q, color in (("skew", "C0"), ("kurt", "C1")):
            value = np.abs(np.asarray(doc["cumulants"][q])).reshape(len(widths), -1).mean(axis=1)
            right.loglog(widths, value, "o-", color=color, label=f"|{q}| (mean over cells)")
        right.set_xlabel("width N")
        right.legend(fontsize=8)
        right.set_title("standardized cumulants of g", fontsize=9)
        fig.tight_layout()
        return fig


def check_times(value) -> list[float]:
    """``"0.5,1"`` or a sequence: finite times >= 0, distinct and increasing (one SpecError line otherwise)."""
    from asymexp.errors import SpecError

    text = value if isinstance(value, str) else ",".join(str(v) for v in (value if hasattr(value, "__iter__")
                                                                         else [value]))
    times = list(comma_list(text, "--times", lambda item: finite_number(item, "--times"),
                            "a comma-separated list of finite times >= 0 is required"))
    if any(t < 0 for t in times) or sorted(set(times)) != times:
        raise SpecError(f"--times {text!r}: distinct increasing finite times >= 0 are required (e.g. 0.5,1)")
    return times


def process(problem, gamma, *, times="0.5,1", widths="64,128,256", replicas: int = 4096, seed: int = 0,
            chunk: int = 1024, flow_dt=None, out=None, yes_long_run: bool = False, progress=None) -> ProcessResult:
    """``asymexp process``: :func:`asymexp.validation.fluctuation_process.process_check`.

    Args:
        problem: a Problem or a problem file ("tanh4.toml"); gamma: one gamma in [1/2, 1).
        times: "0.5,1" or a sequence; widths: "64,128,256" or a sequence (distinct, increasing, at least two);
        replicas: independent networks per width (>= 16); seed; chunk: replicas per batch; flow_dt: the RK4 step
        (default chosen from the kernel). out: folder for process.json and summary.md. progress: True (stderr),
        a callable of one line, or None.
    Returns:
        :class:`ProcessResult`.
    """
    from asymexp.api.studies import _sink
    from asymexp.api.verbs import _problem, _problem_gammas
    from asymexp.errors import SpecError
    from asymexp.validation.fluctuation_process import prepare, process_check
    from asymexp.validation.process_report import lines

    prob = _problem(problem)
    gammas, _ = _problem_gammas(prob, gamma, None, "process")
    if len(gammas) != 1:
        raise SpecError(f"gamma {', '.join(map(str, gammas))}: one gamma is required (one hidden layer)")
    g = gammas[0]
    times = check_times(times)
    widths = check_width_sweep(widths)
    replicas, seed = check_replicas(replicas), check_seed(seed)
    chunk = check_integer(chunk, "--chunk", 1)
    if flow_dt is not None and not finite_number(flow_dt, "--flow-dt") > 0:
        raise SpecError(f"--flow-dt {flow_dt!r}: a step > 0 is required")
    say = _sink(progress)
    prepared = prepare(prob, g, times, widths, replicas, chunk, flow_dt and float(flow_dt), yes_long_run)
    params = {"problem": prob.path, "gamma": str(g), "times": times, "widths": widths, "replicas": replicas,
              "seed": seed, "flow_dt": prepared[1]}
    with claim_given(out or None, "process", params):
        doc = process_check(prob, g, times, widths, replicas, seed, chunk, prepared[1], yes_long_run, say, prepared)
        files = ()
        if out:
            from asymexp.figure_files import write_outputs

            files = write_outputs(out, doc, None, [("process.json", lambda d: dumps(d) + "\n"),
                                                   ("summary.md", lambda d: "\n".join(lines(d)) + "\n")])
    return ProcessResult(document=doc, files=tuple(files))
