"""The toolkit's error types. Every user-facing failure is one of these; the CLI turns them into exit 2."""


class AsymexpError(Exception):
    """Base class: a problem with the user's input that the message explains in one line."""


class SpecError(AsymexpError, ValueError):
    """An invalid network specification (names the offending value and what is allowed)."""


class DataError(AsymexpError):
    """A missing, truncated or corrupt data file (names the file and the defect)."""


class DivergenceError(AsymexpError, FloatingPointError):
    """Training produced a non-finite loss or weight (names where it happened)."""
