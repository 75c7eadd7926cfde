"""Typed, frozen results of the five verbs of :mod:`asymexp.api`.

Each has ``to_dict()`` (JSON-ready through :func:`asymexp.json_out.jsonable`, the encoder of the command line
too: fractions as ``"7/10"``, arrays as nested lists, NumPy scalars as numbers, non-finite floats as None, specs
as ``NetworkSpec.to_dict()``), ``to_json(**kw)`` (``json.dumps`` of it) and
``plot(...)``, which returns a ``matplotlib.figure.Figure`` built without pyplot: the global backend is left
alone, a notebook displays the figure, ``fig.savefig(path)`` writes it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Any

import numpy as np

from asymexp.errors import AsymexpError
from asymexp.json_out import dumps, jsonable  # noqa: F401 - jsonable: the one encoder, re-exported
from asymexp.spec import NetworkSpec

_HIDDEN = {"json": False}  # field metadata: not part of to_dict()


def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


class _Result:
    """to_dict / to_json shared by the result classes (fields with metadata json=False are left out)."""

    def to_dict(self) -> dict:
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self) if f.metadata.get("json", True)}

    def to_json(self, **kw) -> str:
        """``json.dumps(self.to_dict(), **kw)`` (e.g. ``indent=1``) through :func:`asymexp.json_out.dumps`."""
        return dumps(self.to_dict(), **kw)


@dataclass(frozen=True, eq=False)
class DerivationResult(_Result):
    """Exact exponents of one spec (:func:`asymexp.derive`).

    Attributes:
        spec: the network; order: the expansion order K.
        document: the ``asymexp derive --json`` document (exponents as strings: ``{"N1": "2*g1 - 1"}``).
        derivation: the SymPy-level :class:`asymexp.symbolic.derivation.Derivation` (not in ``to_dict``).
    """

    spec: NetworkSpec
    order: int
    document: dict
    derivation: Any = field(default=None, repr=False, metadata=_HIDDEN)

    @property
    def gammas(self) -> tuple:
        return self.spec.gammas

    @property
    def learning_rates(self) -> dict:
        """{"W1": {"N1": <SymPy>, ...}, ..., "C": {...}}: exponents of alpha_m / alpha
        (docs/theory/2-learning-rates.md)."""
        return {name: dict(zip(self.derivation.widths, e)) for name, e in self.derivation.learning_rates.items()}

    @property
    def time_scale(self) -> dict:
        return dict(zip(self.derivation.widths, self.derivation.time_scale))

    @property
    def variance_exponent(self) -> dict | None:
        e = self.derivation.variance_exponent
        return None if e is None else dict(zip(self.derivation.widths, e))

    def plot(self, figsize=None):
        """Learning-rate exponents per weight group and width (bars; a table when the gammas are symbols)."""
        rows = {**{f"rate {g}": e for g, e in self.document["learning_rates"].items()},
                "time scale": self.document["time_scale"]}
        if self.document.get("variance_exponent"):
            rows["variance"] = self.document["variance_exponent"]
        cols = [f"N{l}" for l in range(1, self.spec.depth + 1)]
        fig = _figure(figsize or (min(12.0, 2 + 0.4 * len(rows) * len(cols)), 3.8))
        ax = fig.subplots()
        title = "exponents of N_l, gammas " + ",".join(str(g) for g in self.spec.gammas)
        if self.spec.is_symbolic:
            ax.axis("off")
            ax.table(cellText=[[r[c] for c in cols] for r in rows.values()], rowLabels=list(rows), colLabels=cols,
                     loc="center")
        else:
            width = 0.8 / len(cols)
            for j, c in enumerate(cols):
                ax.bar(np.arange(len(rows)) + j * width, [float(Fraction(r[c])) for r in rows.values()], width,
                       label=c)
            ax.set_xticks(np.arange(len(rows)) + 0.4 - width / 2, list(rows), rotation=30, fontsize=8)
            ax.axhline(0, color="k", lw=0.8)
            ax.set_ylabel("exponent")
            ax.legend(fontsize=8)
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        return fig


@dataclass(frozen=True, eq=False)
class TheoryResult(_Result):
    """The numeric theory on a problem's training points then probes (:func:`asymexp.numeric`), any depth.

    Attributes:
        gammas: exact gamma_1..gamma_L; widths: N_1..N_L (deep: finite-width kernel) or None (deep: the
            sequential limit; one hidden layer: the terms do not depend on N); problem: the problem file.
        times: (T,); points: (P, d); n_train: M, the training points come first.
        h, V: (T, P) leading term and variance constant (Var g ~ N_L^{1 - 2 gamma_L} V).
        Q1, Q2, Q3: (T, P) mean corrections (one hidden layer, up to ``order``) or None; A, S: (P, P).
        kernel_error: estimated absolute error of A and S; method; regime; notes (plain-language remarks).
        errors: per-entry error estimates of every reported array, keyed like the arrays ("h", "V", "Q1", "Q2",
            "Q3", "A", "S"; docs/theory-layer.md, "Error estimates"), each of the array's shape.
        tolerance: the target and whether it was met (one hidden layer: ``{"abs", "rel", "met", "reason",
            "worst"}``; see ``tol``), or None.
        details: the rest (one hidden layer: q1_vanishes, q1_reason, theory_error, ode_error; deep: collapse);
            with a time 0 also ``cov`` (P, P) and, with widths, ``cumulant4`` (P,), ``widths`` and ``t0_note``,
            whose errors are in ``errors`` (the keys of ``asymexp theory --json``).
    """

    gammas: tuple
    widths: tuple | None
    problem: str | None
    times: np.ndarray
    points: np.ndarray
    n_train: int
    h: np.ndarray
    V: np.ndarray
    Q1: np.ndarray | None = None
    Q2: np.ndarray | None = None
    Q3: np.ndarray | None = None
    A: np.ndarray | None = None
    S: np.ndarray | None = None
    kernel_error: float = 0.0
    method: str = "quadrature"
    regime: str = ""
    notes: tuple = ()
    errors: dict = field(default_factory=dict)
    tolerance: dict | None = None
    details: dict = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return len(self.gammas)

    def mean(self, width: int) -> np.ndarray:
        """E g^N_t ~ h + eps Q1 + eps^2 Q2 (+ eps^3 Q3), eps = N^{gamma_L - 1}, with the terms computed: (T, P)."""
        eps = float(width) ** (float(self.gammas[-1]) - 1.0)
        return self.h + sum(eps ** k * q for k, q in ((1, self.Q1), (2, self.Q2), (3, self.Q3)) if q is not None)

    def variance(self, width: int) -> np.ndarray:
        """The leading Var g^N_t = N_L^{1 - 2 gamma_L} V_t: (T, P)."""
        return float(width) ** (1.0 - 2.0 * float(self.gammas[-1])) * self.V

    def plot(self, figsize=None):
        """One panel per quantity (h, V, Q1, ...): against t, one curve per point (or per point, one time)."""
        panels = [(n, q) for n, q in (("h", self.h), ("V", self.V), ("Q1", self.Q1), ("Q2", self.Q2),
                                      ("Q3", self.Q3)) if q is not None]
        fig = _figure(figsize or (3.4 * len(panels), 3.4))
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, (name, q) in zip(axes, panels):
            if len(self.times) > 1:
                for p in range(q.shape[1]):
                    ax.plot(self.times, q[:, p], "-" if p < self.n_train else "--", label=f"x{p}")
                ax.set_xlabel("t")
            else:
                ax.plot(np.arange(q.shape[1]), q[0], "o")
                ax.axvline(self.n_train - 0.5, color="k", ls=":", lw=0.8)
                ax.set_xlabel(f"point (probes right of the line), t = {self.times[0]:g}")
            ax.set_title(name)
        if len(self.times) > 1:
            axes[0].legend(fontsize=7)
        fig.suptitle("gammas " + ",".join(map(str, self.gammas)) + f" ({self.regime})", fontsize=9)
        fig.tight_layout()
        return fig


@dataclass(frozen=True, eq=False)
class SimulationResult(_Result):
    """Outputs of R finite-width networks (:func:`asymexp.simulate`).

    Attributes:
        spec: the network; times: (T,); points: (P, d); outputs: (R, T, P) g^N_t(x); g0: (R, P) at t = 0;
        seed, dynamics, antithetic: as run (antithetic: replicas 2p, 2p+1 are the pair (C, W), (-C, W)).
        flow_step: with ``dynamics="flow"``, the RK4 step and how it was chosen
            (:func:`asymexp.validation.flow_step.choose_step`'s document, or ``{"flow_dt", "chosen_by"}`` when given).
    """

    spec: NetworkSpec
    times: np.ndarray
    points: np.ndarray
    outputs: np.ndarray
    g0: np.ndarray
    seed: int
    dynamics: str
    antithetic: bool
    flow_step: dict | None = None

    @property
    def replicas(self) -> int:
        return int(self.outputs.shape[0])

    @property
    def mean(self) -> np.ndarray:
        """(T, P) mean over replicas."""
        return self.outputs.mean(axis=0)

    @property
    def variance(self) -> np.ndarray:
        """(T, P) sample variance over replicas (plain; :func:`asymexp.validation` gives error bars)."""
        return self.outputs.var(axis=0, ddof=1)

    def plot(self, figsize=None):
        """Mean over replicas against t (t = 0 included), one curve per point, band = one standard deviation."""
        t = np.concatenate([[0.0], self.times])
        g = np.concatenate([self.g0[:, None, :], self.outputs], axis=1)
        m, s = g.mean(axis=0), g.std(axis=0, ddof=1)
        fig = _figure(figsize or (5, 4))
        ax = fig.subplots()
        for p in range(g.shape[2]):
            ax.plot(t, m[:, p], "o-", ms=3, label=f"x{p}")
            ax.fill_between(t, m[:, p] - s[:, p], m[:, p] + s[:, p], alpha=0.2)
        ax.set_xlabel("t (units of N_L steps)")
        ax.set_ylabel("g^N_t(x): mean +- sd over replicas")
        ax.set_title(f"gammas {','.join(map(str, self.spec.gammas))}, widths {self.spec.widths}, "
                     f"{self.replicas} replicas, {self.dynamics}", fontsize=9)
        ax.legend(fontsize=7)
        return fig


@dataclass(frozen=True, eq=False)
class ValidationResult(_Result):
    """The derived expansion held against finite-width networks (:func:`asymexp.validation`).

    Attributes:
        problem: the problem file; gammas: exact gamma_1..gamma_L; widths: the N fitted over; replicas: per width.
        verdict: "agree", "disagree" or "undetermined"; verdict_reason: the numbers behind it.
        document: the full ``asymexp validate --json`` document (fits, CIs, mean residuals, ...).
    """

    problem: str | None
    gammas: tuple
    widths: tuple
    replicas: int
    verdict: str
    verdict_reason: str
    document: dict

    @property
    def depth(self) -> int:
        return len(self.gammas)

    def plot(self, panel: str | None = None):
        """All panels side by side, or one: one hidden layer "variance", "ratio", "mean_residual"; deep
        "variance", "sensitivity" (:mod:`asymexp.validation.figures`)."""
        from asymexp.validation import figures

        return (figures.shallow_figure if self.depth == 1 else figures.deep_figure)(self.document, panel)


@dataclass(frozen=True, eq=False)
class TrainingResult(_Result):
    """An MNIST training run (:func:`asymexp.train`).

    Attributes:
        spec: the trained network; config: the :class:`asymexp.mnist.train.TrainConfig` as a dict;
        history: one record per evaluated epoch (every epoch unless ``eval_every`` > 1; epoch, train_loss,
            train_acc, test_acc, seconds, ...);
        summary: the final ``asymexp mnist --json`` line (best/final accuracy, learning rates and exponents).
    """

    spec: NetworkSpec
    config: dict
    history: tuple
    summary: dict

    @property
    def final_test_acc(self) -> float | None:
        return self.history[-1]["test_acc"] if self.history else None

    def plot(self):
        """Test accuracy against epoch (the panel of :func:`asymexp.mnist.grid_report.figure`)."""
        if not self.history:
            raise AsymexpError("this run has no epochs to plot (epochs = 0); train for at least one epoch")
        from asymexp.mnist.grid_report import figure

        run = {"gammas": tuple(str(g) for g in self.spec.gammas), "seed": self.config.get("seed"),
               "history": list(self.history), "status": "finished"}
        return figure([run])
