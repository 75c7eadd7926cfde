"""The MNIST trainer's checkpoint file ``checkpoint.npz`` (docs/mnist.md): the parameters ``theta`` (P,) in the run's
dtype, the JSON metadata ``meta`` (``config``: the run's identity, ``epoch``: the last finished epoch, ``history``:
the records of the evaluated epochs, ``rng_state``: the NumPy generator's state, ``spec``) and, for normalized
networks, ``norm_state`` (float64). Written atomically; read with a one-line error naming a damaged file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from asymexp.errors import AsymexpError

CHECKPOINT = "checkpoint.npz"


def save_checkpoint(path: Path, theta, meta: dict, norm_state=None) -> None:
    """Write the checkpoint file ``path`` atomically (a temporary file, fsynced, then renamed): ``theta`` (P,)
    the parameters, ``meta`` the JSON metadata, ``norm_state`` the normalization layers' float64 vector (when the
    run has them)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    extra = {} if norm_state is None else {"norm_state": norm_state}
    with open(tmp, "wb") as fh:
        np.savez(fh, theta=theta, meta=np.array(json.dumps(meta)), **extra)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


_META_KEYS = {"config": dict, "epoch": int, "history": list, "rng_state": dict}


def load_checkpoint(path) -> tuple[np.ndarray, dict]:
    """``(theta, meta)`` of a checkpoint file; meta has ``config``, ``epoch``, ``history``, ``rng_state``.

    An empty, truncated or corrupt file is an :class:`AsymexpError` naming it and what to do (exit status 2)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            theta, meta = z["theta"].copy(), json.loads(str(z["meta"]))
        if not isinstance(meta, dict) or any(not isinstance(meta.get(k), t) for k, t in _META_KEYS.items()):
            raise ValueError(f"its metadata lacks one of {', '.join(_META_KEYS)}")
        if theta.ndim != 1 or not np.issubdtype(theta.dtype, np.floating):
            raise ValueError(f"its parameters are {theta.dtype} of shape {theta.shape}, not a float vector")
    except Exception as exc:  # noqa: BLE001 - a damaged file fails anywhere in zipfile's and NumPy's parsers
        # (BadZipFile, zlib.error, EOFError, NotImplementedError for a garbled compression method, RuntimeError
        # for a garbled encryption flag, SyntaxError or tokenize.TokenError for a garbled .npy header, ...)
        size = path.stat().st_size if path.is_file() else None
        why = "empty file" if size == 0 else str(exc) or type(exc).__name__
        raise AsymexpError(f"{path}: not a readable asymexp checkpoint ({why}); delete it to restart that run "
                           "from epoch 0, or use another --out") from None
    return theta, meta


def checkpoint_epoch(path) -> int:
    """The last finished epoch stored in the checkpoint file ``path`` (reads its metadata only); 0 when there is no
    readable checkpoint there (the run then starts, or reports the damaged file, when it runs)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return int(json.loads(str(z["meta"]))["epoch"])
    except Exception:  # noqa: BLE001 - missing or damaged: the run itself names it (load_checkpoint)
        return 0


def load_norm_state(path) -> np.ndarray:
    """The normalization layers' state vector of a checkpoint (:meth:`asymexp.mnist.norm_net.NormNet.state_vector`);
    an :class:`AsymexpError` naming the file when it has none."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return z["norm_state"].astype(np.float64)
    except KeyError:
        raise AsymexpError(f"{path}: the checkpoint holds no normalization state; delete it to restart that run, "
                           "or use another --out") from None
