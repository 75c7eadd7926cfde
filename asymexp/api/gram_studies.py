"""The Gram chain's verbs (docs/batchnorm.md, "The Gram chain"): :func:`gram` (the chain over widths),
:func:`gram_batches` (over batch sizes at one width) and :func:`gram_mixing` (how fast it forgets its input Gram).

They follow the conventions of :mod:`asymexp.api.studies` (checks with the command's messages, pricing, the run
folder's claim, a typed result whose ``to_dict()`` is the command's ``--json`` document).
"""
from __future__ import annotations

from asymexp import budget
from asymexp.api.studies import GRAM_ACTIVATIONS, GRAM_NORMS, _choice
from asymexp.errors import SpecError
from asymexp.input_checks import distinct_integers, list_text
from asymexp.json_out import dumps
from asymexp.norms import RENAMED
from asymexp.run_folder import claim_given


def gram(widths="32,128,512", *, activation: str = "linear", batch: int = 4, depth: int = 600,
         burn_in: int | None = None, norm: str = "row-scale", runs: int = 20, seed: int = 0, samples: int = 200_000,
         out=None, yes_long_run: bool = False):
    """``asymexp gram``: the Gram chain of a batch through deep random networks (docs/batchnorm.md, "The Gram
    chain").

    Args:
        widths: d (distinct, >= 2 and >= batch). activation: one of ``GRAM_ACTIVATIONS``. batch: n.
        depth: layers. burn_in: layers left out of the averages (default depth // 4). norm: one of the chains in
        ``GRAM_NORMS``. runs: networks per width (>= 2). samples: Monte Carlo draws for G* where it is not
        exact. out: folder for gram.json and the figures gram_depth, gram_width (gram_log_scale without BN).
    Returns:
        :class:`~asymexp.api.study_results.GramResult`.
    """
    from asymexp.api.study_results import GramResult, plain
    from asymexp.bn.gram import run_experiment

    _choice(activation, "--activation", GRAM_ACTIVATIONS)
    _choice(norm, "--norm", GRAM_NORMS)
    ws = distinct_integers(widths, "--widths", 2)
    burn_in = depth // 4 if burn_in is None else burn_in
    budget.check(budget.gram_chain(ws, batch, depth, runs), yes_long_run, prog="asymexp gram")
    settings = dict(activation=activation, norm=RENAMED.get(("gram", norm), norm), batch=batch, widths=ws,
                    depth=depth, burn_in=burn_in, runs=runs, seed=seed, samples=samples)
    with claim_given(out, "gram", settings):
        doc = plain(run_experiment(norm, activation, batch, ws, depth, burn_in, runs, seed=seed, samples=samples))
        files = ()
        if out is not None:
            from asymexp.bn.gram.gram_figures import save_figures
            from asymexp.figure_files import write_outputs

            files = write_outputs(out, doc, save_figures, [("gram.json", lambda d: dumps(d, indent=1) + "\n")],
                                  listed=False)
    return GramResult(document=doc, files=tuple(files))



def _one_width(widths, option_mode: str) -> int:
    ws = distinct_integers(widths, "--widths", 2)
    if len(ws) != 1:
        raise SpecError(f"--widths {list_text(widths)!r} is not allowed with {option_mode}; one width is required")
    return ws[0]


def gram_batches(batches="2,4,8,16,32", *, width=512, activation: str = "linear", depth: int = 300,
                 burn_in: int | None = None, norm: str = "row-scale", runs: int = 20, seed: int = 0,
                 samples: int = 200_000, out=None, yes_long_run: bool = False):
    """``asymexp gram --batch N1,N2,...``: the Gram chain over several batch sizes at one width, the gap against n
    next to the linear chain's closed form and the bound of Daneshmand et al. (docs/batchnorm.md, "Batch size").

    Args:
        batches: n (distinct, >= 2). width: d (one, >= every n). Others as :func:`gram`. out: folder for
        gram_batch.json and the figure gram_batch.
    Returns:
        :class:`~asymexp.api.study_results.GramResult` whose document is the sweep's (docs/interfaces.md).
    """
    from asymexp.api.study_results import GramResult, plain
    from asymexp.bn.gram.gram_batch_sweep import batch_sweep

    _choice(activation, "--activation", GRAM_ACTIVATIONS)
    _choice(norm, "--norm", GRAM_NORMS)
    ns = distinct_integers(batches, "--batch", 2)
    d = _one_width(width, "several --batch values")
    burn_in = depth // 4 if burn_in is None else burn_in
    budget.check(budget.gram_chain([d] * len(ns), max(ns), depth, runs), yes_long_run, prog="asymexp gram")
    settings = dict(mode="batch sweep", activation=activation, norm=RENAMED.get(("gram", norm), norm), batch=ns,
                    width=d, depth=depth, burn_in=burn_in, runs=runs, seed=seed, samples=samples)
    with claim_given(out, "gram", settings):
        doc = plain(batch_sweep(norm, activation, ns, d, depth, burn_in, runs, seed=seed, samples=samples))
        files = _gram_files(out, doc, "gram_batch.json")
    return GramResult(document=doc, files=tuple(files))


def gram_mixing(*, batch: int = 4, width=65536, activation: str = "linear", depth: int = 30,
                norm: str = "row-scale", runs: int = 20, seed: int = 0, samples: int = 200_000, out=None,
                yes_long_run: bool = False):
    """``asymexp gram --mixing``: how fast the chain forgets a nearly collinear input, against the linearization
    of the mean-field map at G* (docs/batchnorm.md, "Mixing rate").

    Args:
        batch: n (>= 2). width: d (one). depth: layers (>= 6). Others as :func:`gram`. out: folder for
        gram_mixing.json and the figure gram_mixing.
    Returns:
        :class:`~asymexp.api.study_results.GramResult` whose document is the mixing study's (docs/interfaces.md).
    """
    from asymexp.api.study_results import GramResult, plain
    from asymexp.bn.gram.gram_mixing import mixing_rate

    _choice(activation, "--activation", GRAM_ACTIVATIONS)
    _choice(norm, "--norm", GRAM_NORMS)
    d = _one_width(width, "--mixing")
    budget.check(budget.gram_chain([d], batch, depth, runs), yes_long_run, prog="asymexp gram")
    settings = dict(mode="mixing", activation=activation, norm=RENAMED.get(("gram", norm), norm), batch=batch,
                    width=d, depth=depth, runs=runs, seed=seed, samples=samples)
    with claim_given(out, "gram", settings):
        doc = plain(mixing_rate(norm, activation, batch, d, depth, runs, seed=seed, samples=samples))
        files = _gram_files(out, doc, "gram_mixing.json")
    return GramResult(document=doc, files=tuple(files))


def _gram_files(out, doc: dict, name: str) -> tuple:
    if out is None:
        return ()
    from asymexp.bn.gram.gram_figures import save_figures
    from asymexp.figure_files import write_outputs

    return tuple(write_outputs(out, doc, save_figures, [(name, lambda d: dumps(d, indent=1) + "\n")], listed=False))
