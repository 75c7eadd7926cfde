"""Package attributes loaded on first use (PEP 562), so that importing a package stays light."""
from __future__ import annotations

import importlib


def lazy_attributes(package: str, table: dict[str, str], namespace: dict):
    """A module ``__getattr__`` for ``package``: attribute ``name`` is ``package.<table[name]>.name``, imported on
    first access and then kept in ``namespace`` (the package's ``globals()``)."""

    def __getattr__(name):
        if name in table:
            value = getattr(importlib.import_module(f"{package}.{table[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
