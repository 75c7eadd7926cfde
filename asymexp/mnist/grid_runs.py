"""The finished runs of an ``asymexp sweep mnist`` folder as plain dicts, the input of the grid's analysis
(:mod:`asymexp.mnist.grid_report`) and of the lr-scale choice (:mod:`asymexp.mnist.lr_choice`); both import it,
neither imports the other for it (docs/mnist.md)."""
from __future__ import annotations


def load_runs(out_dir) -> list[dict]:
    """Finished tasks of ``asymexp sweep mnist``: ``[{"gammas": (str,...), "seed", "history", "status"}]``."""
    from asymexp.executor import load_results

    return runs_of(load_results(out_dir), out_dir)


def runs_of(docs: list[dict], out_dir) -> list[dict]:
    """:func:`load_runs` from task documents already read (``asymexp.executor.load_results`` of ``out_dir``)."""
    from asymexp.executor import SweepError

    runs = []
    for doc in docs:
        cfg = doc.get("params", {}).get("config")
        if cfg is None or "history" not in doc.get("result", {}):
            raise SweepError(f"{out_dir}: task {doc.get('key')} is not an mnist sweep result")
        gammas = tuple(g.strip() for g in str(cfg["gammas"]).split(","))
        if cfg.get("layers") and len(gammas) == 1:
            gammas = gammas * int(cfg["layers"])
        runs.append({"gammas": gammas, "seed": cfg["seed"], "lr_scale": cfg["lr_scale"], "loss": cfg["loss"],
                     "history": doc["result"]["history"], "status": doc["result"]["status"]})
    if not runs:
        raise SweepError(f"{out_dir} holds no finished tasks yet")
    return runs
