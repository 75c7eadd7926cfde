"""The batch-normalization studies as verbs (docs/batchnorm.md, docs/rmt.md): :func:`fim`, :func:`lr_scan`,
:func:`one_step`, :func:`rmt`; the Gram chain's verbs (``gram``, its batch-size sweep and mixing rate) are in
:mod:`asymexp.api.gram_studies`.

Each takes the parameters of its command under their Python names, with the same defaults (lists, or the
command's comma-separated strings such as ``"64,128"``, for the list options), checks them with the same
messages (``asymexp CMD`` turns the error into one line and exit status 2), prices the run
(:func:`asymexp.budget.check`; ``yes_long_run`` is ``--yes-long-run``), runs the study's entry point, writes the
command's files under ``out`` when given, and returns a typed result (:mod:`asymexp.api.study_results`) whose
``to_dict()`` is the document the command prints with ``--json``. The commands in :mod:`asymexp.cli` are thin
shells over these functions.

``out`` is a run folder (docs/interfaces.md, "Output folders"): once the inputs are checked and the run priced,
and before any work, it is claimed (:func:`asymexp.run_folder.claim_given`: ``manifest.json`` naming the command
and the settings that define the run, canonical with defaults resolved; a lock), so a folder holding another
command's run, or this command's with other settings, is refused with one :class:`AsymexpError` naming it. The
same command with the same settings reruns into its folder: the study is computed again and replaces its own
files (same seed, same numbers). The files are written only when the study has finished: an interrupted or
failed run leaves the folder as it was (and a new folder without a manifest).

``progress``: None or False (silent), True (the command's progress lines on stderr) or a callable given each
line.
"""
from __future__ import annotations

import dataclasses
import math
import sys

from asymexp import budget
from asymexp.bn.gram.gram_chain import ACTIVATIONS as GRAM_ACTIVATIONS
from asymexp.errors import AsymexpError, SpecError
from asymexp.input_checks import comma_list, distinct_integers, finite_number, is_whole, list_text
from asymexp.json_out import dumps
from asymexp.norms import RENAMED, accepted
from asymexp.run_folder import claim_given

#: The Gram chain's chains (``asymexp gram --norm``): the normalization registry's names for the gram tool, the
#: old names included; its activations (``--activation``) are the chain's own table, GRAM_ACTIVATIONS.
GRAM_NORMS = accepted("gram")
#: ``asymexp rmt``: flops (samples * (factors + orders + 10) * size^3) beyond which a run is refused.
RMT_MAX_WORK = 2e12


def _sink(progress):
    if progress is None or progress is False:
        return None
    if progress is True:
        return lambda line: print(line, file=sys.stderr, flush=True)
    return progress


def _norms(value) -> tuple:
    return tuple(n.strip() for n in list_text(value).split(","))


def _choice(value, option: str, allowed: tuple) -> None:
    if value not in allowed:
        raise SpecError(f"{option} {value!r} is not allowed; allowed: {', '.join(allowed)}")


def _settings(study) -> dict:
    """The settings of a study dataclass that define its run (the folder's manifest parameters), with an
    activation alias (``linear``) under the name it stands for."""
    from asymexp.activations import ALIASES

    settings = dataclasses.asdict(study)
    settings["activation"] = ALIASES.get(settings["activation"], settings["activation"])
    return settings


def fim(widths, *, layers: int = 2, samples: int | None = None, rho=None, outputs: int = 2,
        activation: str = "relu", weight_var=2.0, bias_var=0.0, norm="none", data: str = "gaussian",
        networks: int = 4, seed: int = 0, out=None, yes_long_run: bool = False, progress=None):
    """``asymexp fim``: the FIM spectrum of random networks against width (docs/batchnorm.md).

    Args:
        widths: M >= 2 ("64,128,256" or a list). samples: T at every width, or rho: M / T (exactly one).
        layers: H hidden layers. outputs: C. weight_var, bias_var: s_w^2 > 0, s_b^2 >= 0. norm: one or several
            of ``asymexp.norms.names("fim")`` ("none,mean-last" or a list). data: "gaussian" or "mnist".
        networks: per width (>= 2). out: folder for fim.json and the figures fim_lambda_max, fim_spectrum.
    Returns:
        :class:`~asymexp.api.study_results.FimResult`.
    """
    from asymexp.api.study_results import FimResult, plain
    from asymexp.bn.fim.experiment import FimStudy, run_study

    study = FimStudy(layers=layers, widths=comma_list(widths, "--widths", int, "integer widths >= 2 are required"),
                     samples=samples, rho=None if rho is None else finite_number(rho, "--rho"), outputs=outputs,
                     activation=activation, weight_var=finite_number(weight_var, "--weight-var"),
                     bias_var=finite_number(bias_var, "--bias-var"), norms=_norms(norm), data=data, networks=networks,
                     seed=seed)
    budget.check(budget.fim_study(study.layers, study.widths,
                                  lambda m: study.samples or max(2, round(m / study.rho)), study.outputs,
                                  study.networks, len(study.norms), lambda m: 784 if study.data == "mnist" else m),
                 yes_long_run, prog="asymexp fim")
    with claim_given(out or None, "fim", _settings(study)):
        doc, spectra = run_study(study, progress=_sink(progress))
        doc, spectra = plain(doc), plain(spectra)
        files = ()
        if out:
            from asymexp.bn.fim.fim_figures import save_figures
            from asymexp.figure_files import write_outputs

            files = write_outputs(out, doc, lambda d, folder: save_figures(dict(d, spectra=spectra), folder),
                                  [("fim.json", lambda d: dumps(dict(d, spectra=spectra)) + "\n")])
    return FimResult(document=doc, spectra=spectra, files=tuple(files))


def lr_scan(layers, width: int | None = None, *, widths=None, activation: str = "relu", norm="none",
            data: str = "gaussian", samples: int | None = None, rho=None, steps: int = 30, outputs: int = 1,
            ratio: float = 1.1, seed: int = 0, networks: int | None = None, search: str | None = None, out=None,
            yes_long_run: bool = False, progress=None):
    """``asymexp lr-scan``: the largest monotone and loss-reducing full-batch GD step sizes against depth, or
    against width, next to 2 / lambda_max (docs/batchnorm.md, "Learning-rate thresholds").

    Args:
        layers: hidden-layer counts H >= 1 ("2,3,4" or a list). width: M >= 2, one network per depth and norm;
            or widths: at least 2 distinct M ("64,128,256" or a list), ``networks`` K per width (default 4), with
            the width exponents in ``fits``. norm: one or several of :data:`asymexp.bn.lrscan.full_batch.NORMS`.
            data: "gaussian" or "mnist". samples: T at every width (default 256), or rho: M / T (T = round(M /
            rho)); not both. steps: K. outputs: C (gaussian only). ratio: the bisection stops at hi / lo <= ratio.
            search: how lr_stable is searched from 2 / lambda_max, "bisect" (the default with width) or "creep"
            (the default with widths). out: folder for the figure lr_scan and lr_scan.json.
    Returns:
        :class:`~asymexp.api.study_results.LrScanResult`.
    """
    from asymexp.api.study_results import LrScanResult, plain

    if (width is None) == (widths is None):
        raise SpecError("give exactly one of --width M and --widths M1,M2,...")
    if samples is not None and rho is not None:
        raise SpecError("--samples and --rho: give one of T and rho = M / T, not both")
    if data == "mnist" and outputs != 1:
        raise SpecError(f"--outputs {outputs} with --data mnist: MNIST has its 10 one-hot outputs; drop --outputs")
    rho = None if rho is None else finite_number(rho, "--rho")
    depths = comma_list(layers, "--layers", int, "hidden-layer counts >= 1 (integers) are required")
    if widths is None:
        if networks is not None:
            raise SpecError(f"--networks {networks} needs --widths: a single --width scans one network per depth "
                            "and norm (its --seed)")
        from asymexp.bn.lrscan.scan import run_scan as run

        study = _single_scan(depths, width, rho, samples, activation=activation, norms=_norms(norm), data=data,
                             steps=steps, seed=seed, outputs=outputs, ratio=ratio, search=search or "bisect")
        sizes = [(study.width, study.samples)]
    else:
        from asymexp.bn.lrscan.widths import LrWidthScan, run_widths as run

        study = LrWidthScan(layers=depths, widths=tuple(distinct_integers(widths, "--widths", 2)),
                            activation=activation, norms=_norms(norm), data=data,
                            samples=256 if samples is None and rho is None else samples, rho=rho, steps=steps,
                            seed=seed, outputs=outputs, ratio=ratio, networks=4 if networks is None else networks,
                            search=search or "creep")
        sizes = [(m, study.samples_at(m)) for m in study.widths]
    budget.check(_lr_scan_cost(study, sizes, getattr(study, "networks", 1)), yes_long_run, prog="asymexp lr-scan")
    settings = _settings(study)
    if widths is None and study.search == "bisect":
        del settings["search"]                      # the manifest of a single-width run as before --search
    with claim_given(out or None, "lr-scan", settings):
        doc = plain(run(study, progress=_sink(progress)))
        files = ()
        if out:
            from asymexp.bn.lrscan.lr_figures import save_figures
            from asymexp.figure_files import write_outputs

            files = write_outputs(out, doc, save_figures, [("lr_scan.json", lambda d: dumps(d) + "\n")])
    return LrScanResult(document=doc, files=tuple(files))


def _single_scan(depths, width, rho, samples, **kwargs):
    """The single-width :class:`~asymexp.bn.lrscan.scan.LrScan`; T = samples (default 256) or round(M / rho)."""
    from asymexp.bn.lrscan.scan import LrScan

    if rho is not None and is_whole(width):          # (a width that is not whole is refused by LrScan)
        if not (rho > 0 and round(width / rho) >= 2):
            raise SpecError(f"--rho {rho!r} with --width {width!r}: T = round(M / rho) >= 2 samples is required")
        samples = int(round(width / rho))
    return LrScan(layers=depths, width=width, samples=256 if samples is None else samples, **kwargs)


def _lr_scan_cost(study, sizes, networks: int):
    """:func:`asymexp.budget.lr_scan` summed over the (width, T) ``sizes`` and the networks per width, plus the
    (C T, T, M) seeds of the batch-norm dual where the hidden layers are batch-normalized."""
    mnist = study.data == "mnist"
    c = 10 if mnist else study.outputs
    parts = [budget.lr_scan(study.layers, m, t, study.steps, c, len(study.norms), 784 if mnist else m)
             for m, t in sizes]
    try:
        batch = 16.0 * max(float(c) * t * t * m for m, t in sizes) if "bn" in study.norms else 0.0
    except OverflowError:                            # an absurd width: refused by budget.check, not a traceback
        batch = math.inf
    return budget.Estimate(parts[0].what, max(p.bytes for p in parts) + batch,
                           networks * sum(p.flops for p in parts))


def one_step(*, layers: int = 8, width: int = 256, batch: int = 64, activation: str = "relu",
             norm=None, lr_min=1e-4, lr_max=1e3, lr_points: int = 29, heat_lr=None, seeds: int = 8,
             seed: int = 0, outputs: int = 1, weight_var=2.0, fraction_activations="relu,tanh,sigmoid",
             fraction_layers="1,2,4,8", fraction_bias_vars="0,0.5", out=None, yes_long_run: bool = False,
             progress=None):
    """``asymexp one-step``: one SGD step at initialization with and without batch norm (docs/batchnorm.md,
    "One-step divergence and gradients at initialization").

    Args:
        layers: H. width: M. batch: B. norm: one or several of :data:`asymexp.bn.onestep.onestep_study.NORMS`
            (default None: all of them, in that order, as the command's default).
        lr_min, lr_max, lr_points: the log grid of rates. heat_lr: the heat map's rate (None: chosen). seeds: R
        networks and batches from ``seed``. outputs: C. weight_var: s_w^2. fraction_activations,
        fraction_layers, fraction_bias_vars: the grid of the gradient fraction. out: folder for result.json,
        report.md and the figures one_step_loss, one_step_heatmap, one_step_gradients, one_step_fraction.
    Returns:
        :class:`~asymexp.api.study_results.OneStepResult`.
    """
    from asymexp.activations import get
    from asymexp.api.study_results import OneStepResult, plain
    from asymexp.bn.onestep.onestep_study import NORMS, OneStepStudy, fraction_configs, run_study

    def items(value, option, parse):
        return comma_list(value, option, parse, "a comma-separated list is required")

    acts = items(fraction_activations, "--fraction-activations", str)
    for a in acts:
        get(a)
    study = OneStepStudy(
        layers=layers, width=width, batch=batch, activation=activation,
        norms=tuple(dict.fromkeys(_norms(NORMS if norm is None else norm))),
        lr_min=finite_number(lr_min, "--lr-min"), lr_max=finite_number(lr_max, "--lr-max"), lr_points=lr_points, seeds=seeds,
        seed=seed, outputs=outputs, weight_var=finite_number(weight_var, "--weight-var"), fraction_activations=acts,
        fraction_layers=items(fraction_layers, "--fraction-layers", int),
        fraction_bias_vars=tuple(finite_number(v, "--fraction-bias-vars")
                                 for v in items(fraction_bias_vars, "--fraction-bias-vars", str)),
        heat_lr=None if heat_lr is None else finite_number(heat_lr, "--heat-lr"))
    budget.check(budget.one_step(study.layers, study.width, study.batch, study.lr_points, len(study.norms),
                                 study.seeds, study.outputs, [c[1] for c in fraction_configs(study)]),
                 yes_long_run, prog="asymexp one-step")
    with claim_given(out or None, "one-step", _settings(study)):
        doc = plain(run_study(study, progress=_sink(progress)))
        files = ()
        if out:
            from asymexp.bn.onestep.onestep_figures import save_figures
            from asymexp.bn.onestep.onestep_report import markdown
            from asymexp.figure_files import write_outputs

            files = write_outputs(out, doc, save_figures,
                                  [("result.json", lambda d: dumps(d) + "\n"), ("report.md", markdown)])
    return OneStepResult(document=doc, files=tuple(files))


def rmt(factors="1,3,5", *, size: int | None = None, sizes=None, samples: int = 100, orders: int = 3,
        seed: int = 0, out=None, progress=None):
    """``asymexp rmt``: squared singular values of products of L Gaussian N x N matrices against the
    Fuss-Catalan law (docs/rmt.md).

    Args:
        factors: numbers L >= 1 ("1,3,5" or a list). size: N (default 300), or sizes: several N (then the
            finite-N slope of each moment's relative error is fitted). samples: products per row. orders: moments
            k = 1..orders. out: folder for rmt.json (the ``--json`` document) and the figure rmt_moments.
    Returns:
        :class:`~asymexp.api.study_results.RmtResult`.
    """
    from asymexp.api.study_results import RmtResult, plain
    from asymexp.bn.rmt.products_check import products_report

    if size is not None and sizes is not None:
        raise AsymexpError(f"size {size!r} and sizes {list_text(sizes)!r} were both given; give one of them")
    factor_list = sorted(distinct_integers(factors, "--factors", 1))
    size_list = (sorted(distinct_integers(sizes, "--sizes", 2)) if sizes is not None
                 else [300 if size is None else size])
    from asymexp.bn.rmt.fuss_catalan import check_orders
    from asymexp.input_checks import check_integer

    check_integer(samples, "--samples", 2), check_integer(seed, "--seed", 0), check_integer(size_list[0], "--size", 2)
    check_orders(factor_list, orders)
    work = sum(samples * (L + orders + 10) * float(n) ** 3 for L in factor_list for n in size_list)
    if work > RMT_MAX_WORK:
        raise AsymexpError(f"--samples {samples} with factors {','.join(map(str, factor_list))} and sizes "
                           f"{','.join(map(str, size_list))} is about {work:.1e} flops (over {RMT_MAX_WORK:.0e}, "
                           "hours on a laptop); lower --samples, the factors or the sizes")
    total = len(factor_list) * len(size_list)
    say, done = _sink(progress), [0]

    def tick():
        done[0] += 1
        if say is not None:
            say(f"asymexp rmt: {done[0]}/{total} rows")

    settings = dict(factors=factor_list, sizes=size_list, samples=samples, orders=orders, seed=seed)
    with claim_given(out or None, "rmt", settings):
        doc = plain(products_report(factor_list, size_list, samples, orders, seed, progress=tick))
        files = ()
        if out:
            from asymexp.bn.rmt.rmt_figures import save_figures
            from asymexp.figure_files import write_outputs

            files = write_outputs(out, doc, save_figures, [("rmt.json", lambda d: dumps(d) + "\n")])
    return RmtResult(document=doc, files=tuple(files))
