"""One declaration of a command's option (:class:`Option`) and one check for each value that both the command
line and the Python verbs take (docs/interfaces.md): seeds and other counts, replicas, times, width sweeps. Each refusal is one :class:`~asymexp.errors.SpecError` line naming
the value as the caller spells it (``--replicas`` on the command line, ``replicas =`` in Python) and what is
allowed; the CLI turns it into exit status 2.

:func:`integer` is the same rule as an argparse ``type`` (parse-time refusal, one line). Rank 0: it imports only
:mod:`asymexp.errors`.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
from typing import Any, Callable

from asymexp.errors import AsymexpError, SpecError

_UNSET = object()


@dataclasses.dataclass(frozen=True)
class Option:
    """One option of a command, declared once: argparse reads it (:meth:`add_to`), and so does the check of the
    same value given in Python (:meth:`check`).

    ``dest``: the attribute (and config field) name; ``flag``: the command-line spelling (default ``--dest`` with
    dashes); ``choices``: the allowed values, taken from their real table; ``minimum`` (and ``note``, words after
    the bound in the refusal): an integer option's least value; ``checked``: whether :meth:`check` checks it (False
    where a lower layer checks the value with its own message)."""

    dest: str
    default: Any = _UNSET
    help: str | None = None
    type: Callable | None = None
    choices: tuple | None = None
    action: str | None = None
    metavar: str | None = None
    required: bool = False
    flag: str | None = None
    minimum: int | None = None
    note: str = ""
    checked: bool = True

    @property
    def option(self) -> str:
        return self.flag or "--" + self.dest.replace("_", "-")

    def add_to(self, parser, **changes) -> None:
        """Add the option to an argparse ``parser``; ``changes`` replace fields (a command's own default)."""
        opt = dataclasses.replace(self, **changes) if changes else self
        kwargs = {"dest": opt.dest, "help": opt.help}
        for name in ("type", "choices", "action", "metavar"):
            if getattr(opt, name) is not None:
                kwargs[name] = getattr(opt, name)
        if opt.default is not _UNSET:
            kwargs["default"] = opt.default
        if opt.required:
            kwargs["required"] = True
        parser.add_argument(opt.option, **kwargs)

    def check(self, value) -> None:
        """One SpecError line when ``value`` (given in Python, not parsed) is not allowed: an unknown choice, or an
        integer option below its minimum."""
        if not self.checked:
            return
        if self.choices is not None and value not in self.choices:
            raise SpecError(f"{self.option} {value!r} is unknown; allowed: {', '.join(map(str, self.choices))}")
        if self.minimum is not None:
            check_integer(value, self.option, self.minimum, self.note)


def add_options(parser, options: dict[str, Option], names, **changes: dict) -> None:
    """Add ``options[name]`` for each of ``names`` to ``parser``, in that order; ``changes[name]``: field
    replacements for one option (:meth:`Option.add_to`)."""
    for name in names:
        options[name].add_to(parser, **changes.get(name, {}))


#: Replicas per width the fits need (and an even count for antithetic pairs is the caller's business).
MIN_REPLICAS = 4


def integer(minimum: int):
    """An argparse type: an integer >= ``minimum``; anything else is one line and exit status 2."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer (an integer >= {minimum} is required)")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is not allowed; an integer >= {minimum} is required")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def check_integer(value, name: str, minimum: int, note: str = "") -> int:
    """``value`` as an int once it is an integer (not a bool; NumPy integers too) >= ``minimum``; else one
    SpecError line ``{name} {value!r} is not allowed; an integer >= {minimum}{note} is required``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise SpecError(f"{name} {value!r} is not allowed; an integer >= {minimum}{note} is required")
    return int(value)


def is_whole(value) -> bool:
    """Whether ``value`` is a whole number (an int, a NumPy integer, or a finite float such as 2.0; not a bool, a
    string, NaN or infinity): the test before ``int(value)``, which raises on the others."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return isinstance(value, numbers.Integral) or (math.isfinite(value) and int(value) == value)


#: The largest count that a float holds exactly (2^53): a count derived from a ratio (T = M / rho) above it is
#: not a well-defined integer.
MAX_EXACT_COUNT = 2 ** 53


def check_samples_or_rho(samples, rho, widths) -> None:
    """Exactly one of ``samples`` T (checked by the caller) and ``rho`` = M / T; a rho must be finite and > 0 and
    give 2 <= T = round(M / rho) <= 2^53 at every width of ``widths`` (``asymexp fim`` and ``asymexp lr-scan
    --widths``); else one SpecError line naming the value and what is allowed."""
    if (samples is None) == (rho is None):
        raise SpecError("give exactly one of samples T and rho = M / T")
    if rho is None:
        return
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not (rho > 0 and math.isfinite(rho)):
        raise SpecError(f"rho = {rho!r} is not allowed; a finite rho > 0 is required")
    for m in widths:
        if not m / rho <= MAX_EXACT_COUNT:
            raise SpecError(f"rho = {rho!r} gives T = M / rho = {m / rho:.3g} samples at width {m}; "
                            f"T <= 2^53 is required (rho >= {m / MAX_EXACT_COUNT:.3g} here)")
        if round(m / rho) < 2:
            raise SpecError(f"rho = {rho!r} gives T = {round(m / rho)} samples at width {m}; "
                            f"T = round(M / rho) >= 2 is required (rho <= {m / 2} here)")


def samples_at(width: int, samples, rho) -> int:
    """T at width M: ``samples``, or round(M / rho) (after :func:`check_samples_or_rho`)."""
    return int(samples) if samples is not None else int(round(width / rho))


def check_seed(value, name: str = "--seed") -> int:
    return check_integer(value, name, 0)


def check_replicas(value, name: str = "--replicas") -> int:
    return check_integer(value, name, MIN_REPLICAS, " (even with antithetic pairs)")


def check_time(value, name: str = "--time") -> float:
    """A time t as a float once it is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise SpecError(f"{name} {value!r} is not allowed; a finite number >= 0 is required")
    return float(value)


def check_width_sweep(value, name: str = "--widths") -> list[int]:
    """The widths a fit runs over: ``"8,16,32"`` or a sequence (NumPy arrays too) of integers >= 1, distinct and
    increasing, as a list of ints."""
    if isinstance(value, str):
        items = value.split(",")
    elif getattr(value, "ndim", None) == 0 or isinstance(value, numbers.Number):
        items = [value]
    else:
        try:
            items = list(value)
        except TypeError:
            items = [value]
    out = []
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit() or int(text) < 1:
            raise SpecError(f"{name} {value!r}: {text!r} is not an integer >= 1")
        out.append(int(text))
    if not out or sorted(set(out)) != out:
        raise SpecError(f"{name} {value!r}: give distinct increasing integers >= 1 (e.g. 64,256,1024)")
    return out


def list_text(value) -> str:
    """A list option as the command line spells it: [64, 128] -> ``"64,128"``; a string stays as it is."""
    if isinstance(value, str):
        return value
    try:
        return ",".join(str(v) for v in value)
    except TypeError:
        return str(value)


def comma_list(value, option: str, parse, allowed: str) -> tuple:
    """``"a,b"`` (or [a, b]) -> (parse("a"), parse("b")); an item ``parse`` rejects (ValueError) is one
    :class:`~asymexp.errors.AsymexpError` line naming the option, the item and what is ``allowed``."""
    text = list_text(value)
    out = []
    for item in text.split(","):
        try:
            out.append(parse(item.strip()))
        except ValueError:
            raise AsymexpError(f"{option} {text!r}: {item.strip()!r} is not allowed; {allowed}") from None
    return tuple(out)


def finite_number(value, option: str) -> float:
    """``value`` as a finite float, else one :class:`~asymexp.errors.AsymexpError` line naming ``option``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AsymexpError(f"{option} {value!r} is not a number; a finite number is required") from None
    if not math.isfinite(number):
        raise AsymexpError(f"{option} {value!r} is not finite; a finite number is required")
    return number


def distinct_integers(value, option: str, minimum: int) -> list[int]:
    """Distinct integers >= ``minimum`` from ``"1,3,5"`` or a list, in the given order; else one
    :class:`~asymexp.errors.SpecError` line naming the option, the item and what is allowed."""
    text = list_text(value)
    out = []
    for item in text.split(","):
        try:
            number = int(item.strip())
        except ValueError:
            raise SpecError(f"{option} {text!r}: {item.strip()!r} is not an integer (an integer >= {minimum} "
                            "is required)") from None
        if number < minimum:
            raise SpecError(f"{option} {text!r}: {number} is not allowed; an integer >= {minimum} is required")
        out.append(number)
    if len(set(out)) != len(out):
        raise SpecError(f"{option} {text!r} repeats a value; distinct integers are required")
    return out
