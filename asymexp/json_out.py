"""One JSON encoding for every result asymexp writes: the ``--json`` lines of the commands, the result files of
their ``--out`` folders and ``to_dict()`` / ``to_json()`` of the verbs' results (docs/interfaces.md).

:func:`jsonable` makes a value strict JSON, recursively:

- floats (NumPy's included) stay numbers; NaN and +-inf become ``null`` (strict JSON has no spelling for them);
- NumPy scalars and arrays become Python numbers and nested lists (then the float rule applies);
- ``Fraction`` becomes ``"p/q"`` (``"7/10"``; an integer fraction ``"1"``), as the spec writes gammas;
- objects with ``to_dict()`` (``NetworkSpec``, the verbs' results) become that dict;
- dict keys become strings as ``json.dumps`` spells them (``True`` -> ``"true"``, ``None`` -> ``"null"``);
- anything else (paths, SymPy expressions) becomes ``str(value)``.

:func:`dumps` is ``json.dumps`` of it (``allow_nan=False``: a non-finite number can no longer slip through).
Rank 0: imports nothing from asymexp, and nothing of NumPy at import time.
"""
from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any


def _key(key) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(float(key) if isinstance(key, float) else key)
    return str(jsonable(key))


def jsonable(value: Any) -> Any:
    """``value`` as strict-JSON-ready Python values (see the module docstring)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, dict):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # NumPy arrays and scalars
        return jsonable(value.tolist())
    if callable(getattr(value, "to_dict", None)):
        return jsonable(value.to_dict())
    return str(value)


def dumps(document: Any, **kw) -> str:
    """``json.dumps(jsonable(document), **kw)`` (``kw``: ``indent``, ``sort_keys``, ...), strict JSON."""
    return json.dumps(jsonable(document), allow_nan=False, **kw)
