"""The network specification: one immutable description that every layer of asymexp consumes.

A network with L hidden layers (docs/theory/1-network.md)::

    H^{1,i}(x) = sigma(W^{1,i} . x)                                   i <= N_1
    Z^{l,i}(x) = N_{l-1}^{-gamma_{l-1}} sum_j W^{l,i,j} H^{l-1,j}(x)   l = 2..L
    H^{l,i}(x) = sigma(Z^{l,i}(x))
    g(x)       = N_L^{-gamma_L} sum_i C^i H^{L,i}(x)

Weight groups are ``W1 .. WL`` and ``C`` (= W^{L+1}), one :class:`Law` each. Gammas are exact Fractions in
[1/2, 1] (parsed once, by :func:`parse_gammas`) or symbol names such as ``"g1"``; widths may be ``None``.
Presets: ``theory`` (W ~ normal(0,1), C ~ uniform(-1,1), no biases, one output) and ``paper-mnist`` (the
authors' set-up: C ~ uniform(0,1), biases with PyTorch's ``Linear`` law, 784 inputs, 10 outputs, sigmoid).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Mapping, Sequence, Union

from asymexp.activations import EXPANDABLE as ACTIVATIONS
from asymexp.activations import require_expandable
from asymexp.errors import SpecError

LAW_KINDS = ("normal", "uniform", "torch-default")
_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LAW = re.compile(r"^\s*([a-z\-]+)\s*(?:\(\s*([^,()]*?)\s*(?:,\s*([^,()]*?)\s*)?\))?\s*$")

Gamma = Union[Fraction, str]


def _exact(text: Any, what: str) -> Fraction:
    """Parse a finite number exactly: "0.7", "7/10", 7/10 as a Fraction, ints, and floats (Python's or NumPy's)
    through their shortest decimal, so that 0.9 gives 9/10 (not the binary 8106479329266893/2^53)."""
    if isinstance(text, bool) or type(text).__name__ == "bool_":
        raise SpecError(f"{what} = {text!r} is not a number")
    if isinstance(text, Fraction):
        return text
    if isinstance(text, numbers.Integral):
        return Fraction(int(text))
    if isinstance(text, numbers.Real) and not isinstance(text, numbers.Rational):
        value = float(text)
        if not math.isfinite(value):
            raise SpecError(f"{what} = {value!r} is not finite; a finite number is required")
        # NumPy scalars print their own shortest decimal (a float32 0.9 gives "0.9"); Python floats use repr
        return Fraction(str(text) if type(text).__module__ == "numpy" else float.__repr__(value))
    try:
        value = Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"{what} = {text!r} is not a number (write e.g. 0.7 or 7/10)") from None
    return value


@dataclass(frozen=True)
class Law:
    """A law for i.i.d. initial weights: ``normal(mean, std)``, ``uniform(a, b)`` or ``torch-default``.

    ``torch-default`` is PyTorch's ``nn.Linear`` law U(-1/sqrt(fan_in), 1/sqrt(fan_in)); its bounds depend on
    the layer's fan-in, supplied when sampling. Parameters are exact fractions.
    """

    kind: str
    a: Fraction = Fraction(0)
    b: Fraction = Fraction(1)

    def __post_init__(self):
        if self.kind not in LAW_KINDS:
            raise SpecError(f"law {self.kind!r} is unknown; allowed: normal(mean,std), uniform(a,b), torch-default")
        object.__setattr__(self, "a", _exact(self.a, f"{self.kind} parameter"))
        object.__setattr__(self, "b", _exact(self.b, f"{self.kind} parameter"))
        if self.kind == "normal" and self.b < 0:
            raise SpecError(f"normal std = {self.b} is negative; a std >= 0 is required")
        if self.kind == "uniform" and not self.a < self.b:
            raise SpecError(f"uniform({self.a},{self.b}) is empty; uniform(a,b) needs a < b")

    @classmethod
    def parse(cls, text: "str | Law") -> "Law":
        """Parse ``"normal(0,1)"``, ``"uniform(-1,1)"`` or ``"torch-default"``."""
        if isinstance(text, Law):
            return text
        m = _LAW.match(str(text))
        if not m:
            raise SpecError(f"law {text!r} is not understood; allowed: normal(mean,std), uniform(a,b), torch-default")
        kind, p1, p2 = m.groups()
        if kind == "torch-default":
            if p1:
                raise SpecError(f"law {text!r}: torch-default takes no parameters")
            return cls("torch-default")
        if kind not in ("normal", "uniform"):
            raise SpecError(f"law {text!r} is unknown; allowed: normal(mean,std), uniform(a,b), torch-default")
        if p1 is None or p2 is None:
            raise SpecError(f"law {text!r} needs two parameters, e.g. {kind}(0,1)")
        return cls(kind, _exact(p1, f"{kind} parameter"), _exact(p2, f"{kind} parameter"))

    def __str__(self) -> str:
        if self.kind == "torch-default":
            return "torch-default"
        return f"{self.kind}({self.a},{self.b})"

    @property
    def is_symmetric(self) -> bool:
        """True when the law is symmetric about zero (all odd moments vanish)."""
        if self.kind == "normal":
            return self.a == 0
        if self.kind == "uniform":
            return self.a == -self.b
        return True

    def moment(self, k: int, fan_in: int | None = None) -> Fraction | float:
        """E[X^k], exact (a Fraction) for normal and uniform laws with rational parameters."""
        if k < 0:
            raise SpecError(f"moment order {k} is negative")
        if self.kind == "torch-default":
            if fan_in is None:
                raise SpecError("torch-default moments need the layer's fan-in")
            r = 1.0 / math.sqrt(fan_in)
            return 0.0 if k % 2 else r**k / (k + 1)
        if self.kind == "uniform":
            a, b = self.a, self.b
            return (b ** (k + 1) - a ** (k + 1)) / ((k + 1) * (b - a))
        mu, s = self.a, self.b  # E[(mu + s Z)^k] = sum_j C(k,j) mu^{k-j} s^j E[Z^j], E[Z^j] = (j-1)!! for even j
        total = Fraction(0)
        for j in range(0, k + 1, 2):
            total += math.comb(k, j) * mu ** (k - j) * s**j * _double_factorial(j - 1)
        return total

    def sample(self, rng, shape, fan_in: int | None = None):
        """Draw i.i.d. samples with a NumPy ``Generator``; returns float64 array of ``shape``."""
        if self.kind == "normal":
            return float(self.a) + float(self.b) * rng.standard_normal(shape)
        if self.kind == "uniform":
            return rng.uniform(float(self.a), float(self.b), shape)
        if fan_in is None:
            raise SpecError("torch-default sampling needs the layer's fan-in")
        r = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-r, r, shape)


def _double_factorial(n: int) -> int:
    return 1 if n <= 0 else n * _double_factorial(n - 2)


def _parse_gamma(value: Any, index: int) -> Gamma:
    what = f"gamma_{index}"
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "infinity", "oo"):
        raise SpecError(f"{what} = {value.strip()!r} is not finite; allowed: 1/2 <= gamma <= 1 (or a symbol name)")
    if isinstance(value, str) and _SYMBOL.match(value.strip()):
        return value.strip()
    if type(value).__module__.startswith("sympy"):
        if getattr(value, "free_symbols", None):
            return str(value)
        if getattr(value, "is_Rational", False):
            value = Fraction(int(value.p), int(value.q))
    g = _exact(value, what)
    if not Fraction(1, 2) <= g <= 1:
        raise SpecError(f"{what} = {_show(value)} is outside [1/2, 1]; allowed: 1/2 <= gamma <= 1")
    return g


def parse_gammas(values: "str | Sequence", numeric: bool = False) -> tuple[Gamma, ...]:
    """The one gamma parser: "0.7,7/10,1" or a sequence of str, int, float, Fraction, NumPy scalars (e.g.
    ``np.linspace(0.5, 1, 3)``) or symbol names, to exact Fractions in [1/2, 1] (or names). :class:`SpecError`
    names a bad value and what is allowed; ``numeric=True`` refuses symbol names."""
    raw = _split(values, "gammas") if isinstance(values, str) else list(values)
    if not raw:
        raise SpecError("gammas is empty; at least one hidden layer (one gamma) is required")
    gammas = tuple(_parse_gamma(g, i + 1) for i, g in enumerate(raw))
    for i, g in enumerate(gammas):
        if numeric and isinstance(g, str):
            raise SpecError(f"gamma_{i + 1} = {g!r} is a symbol; a number in [1/2, 1] is required here (e.g. 0.75)")
    return gammas


def exact_number(value: Any, what: str, positive: bool = False) -> Fraction:
    """A finite number parsed exactly, as gammas are (floats through their shortest decimal); ``what`` names it
    in the error; ``positive=True`` also requires value > 0."""
    x = _exact(value, what)
    if positive and not x > 0:
        raise SpecError(f"{what} = {_show(value)} is not allowed; a number > 0 is required")
    return x


def _show(value: Any) -> str:
    return value.strip() if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)


def _parse_width(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise SpecError(f"{what} = {value!r} is not allowed; {what} must be an integer >= 1")
    if isinstance(value, int):
        w = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[+]?\d+", text):
            raise SpecError(f"{what} = {_show(value)} is not allowed; {what} must be an integer >= 1")
        w = int(text)
    if w < 1:
        raise SpecError(f"{what} = {_show(value)} is not allowed; {what} must be an integer >= 1")
    return w


def _split(text: str | Sequence, what: str) -> list:
    if isinstance(text, str):
        items = [t.strip() for t in text.split(",")]
        if not text.strip() or any(not t for t in items):
            raise SpecError(f"--{what} {text!r} is not a comma-separated list (e.g. 0.7,0.8,1)")
        return items
    return list(text)


def _laws(c_law: str):
    """W1..WL ~ normal(0,1) and C ~ ``c_law``, for any depth."""
    return lambda depth: tuple([Law("normal", 0, 1)] * depth + [Law.parse(c_law)])


PRESETS: dict[str, dict[str, Any]] = {
    "theory": {"laws": _laws("uniform(-1,1)"), "bias": False, "bias_law": None, "output_dim": 1, "input_dim": None},
    "paper-mnist": {"laws": _laws("uniform(0,1)"), "bias": True, "bias_law": Law("torch-default"), "output_dim": 10,
                    "input_dim": 784, "activation": "sigmoid"},
}


@dataclass(frozen=True)
class NetworkSpec:
    """Depth, widths, gammas, activation and initial laws of a 1/N^gamma-normalized MLP.

    Arguments are validated and normalized on construction (gammas to exact fractions or symbol names,
    laws to :class:`Law`); an invalid value raises :class:`SpecError` naming it and what is allowed.

    Attributes:
        gammas: exponents gamma_1..gamma_L, each a Fraction in [1/2, 1] or a symbol name.
        widths: N_1..N_L (integers >= 1) or None when unspecified.
        activation: ``"sigmoid"`` (logistic) or ``"tanh"`` (:data:`asymexp.activations.EXPANDABLE`).
        input_dim: d, the input dimension (bias coordinate included), or None when set by the data.
        output_dim: number of outputs (1 for the theory, 10 for MNIST).
        weight_laws: one law per weight group W1..WL, C.
        bias: whether hidden and output units carry trainable biases.
        bias_law: law of the biases when ``bias`` is true.
        preset: the name of the preset the spec started from.
    """

    gammas: tuple[Gamma, ...]
    widths: tuple[int, ...] | None = None
    activation: str = "sigmoid"
    input_dim: int | None = None
    output_dim: int = 1
    weight_laws: tuple[Law, ...] | None = None
    bias: bool = False
    bias_law: Law | None = None
    preset: str = "theory"
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        gammas = parse_gammas(self.gammas)
        object.__setattr__(self, "gammas", gammas)
        depth = len(gammas)
        if self.widths is not None:
            wraw = _split(self.widths, "widths") if isinstance(self.widths, str) else list(self.widths)
            widths = tuple(_parse_width(w, f"N_{i + 1}") for i, w in enumerate(wraw))
            if len(widths) != depth:
                raise SpecError(f"widths has {len(widths)} entries but gammas has {depth}; "
                                "give one width per hidden layer")
            object.__setattr__(self, "widths", widths)
        require_expandable(self.activation, "the 1/N^gamma layers")  # names why relu, identity, sin are refused
        if self.preset not in PRESETS:
            raise SpecError(f"preset {self.preset!r} is unknown; allowed: {', '.join(PRESETS)}")
        if self.input_dim is not None:
            object.__setattr__(self, "input_dim", _parse_width(self.input_dim, "input_dim"))
        object.__setattr__(self, "output_dim", _parse_width(self.output_dim, "output_dim"))
        laws = self.weight_laws
        if laws is None:
            laws = PRESETS[self.preset]["laws"](depth)
        laws = tuple(Law.parse(w) for w in laws)
        if len(laws) != depth + 1:
            raise SpecError(f"weight_laws has {len(laws)} entries; depth {depth} needs {depth + 1} (W1..W{depth}, C)")
        object.__setattr__(self, "weight_laws", laws)
        if self.bias and self.bias_law is None:
            object.__setattr__(self, "bias_law", PRESETS[self.preset]["bias_law"] or Law("torch-default"))
        if self.bias_law is not None:
            object.__setattr__(self, "bias_law", Law.parse(self.bias_law))

    # --- derived views -------------------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """L, the number of hidden layers."""
        return len(self.gammas)

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names of the weight groups: ``("W1", ..., "WL", "C")``."""
        return tuple(f"W{i}" for i in range(1, self.depth + 1)) + ("C",)

    @property
    def is_symbolic(self) -> bool:
        """True when some gamma is a symbol name rather than a number."""
        return any(isinstance(g, str) for g in self.gammas)

    @property
    def c_law(self) -> Law:
        """The output-layer law (of C)."""
        return self.weight_laws[-1]

    def require_widths(self) -> tuple[int, ...]:
        if self.widths is None:
            raise SpecError("this operation needs widths (e.g. --widths 100,100); none were given")
        return self.widths

    def replace(self, **changes) -> "NetworkSpec":
        """A new spec with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: exact numbers as rational strings."""
        return {
            "depth": self.depth,
            "gammas": [str(g) for g in self.gammas],
            "widths": list(self.widths) if self.widths is not None else None,
            "activation": self.activation,
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "weight_laws": {name: str(law) for name, law in zip(self.layer_names, self.weight_laws)},
            "bias": self.bias,
            "bias_law": str(self.bias_law) if self.bias_law is not None else None,
            "preset": self.preset,
        }

    # --- constructors --------------------------------------------------------------------------------------
    @classmethod
    def from_strings(cls, gammas: str, widths: str | None = None, activation: str | None = None,
                     preset: str = "theory", **kwargs) -> "NetworkSpec":
        """Build from CLI-style strings: ``gammas="0.7,0.7,1"``, ``widths="100,100,100"``."""
        if preset not in PRESETS:
            raise SpecError(f"preset {preset!r} is unknown; allowed: {', '.join(PRESETS)}")
        p = PRESETS[preset]
        fields = {"preset": preset, "bias": p["bias"], "bias_law": p["bias_law"], "output_dim": p["output_dim"],
                  "input_dim": p["input_dim"], "activation": activation or p.get("activation", "sigmoid")}
        fields.update({k: v for k, v in kwargs.items() if v is not None})
        return cls(gammas=_split(gammas, "gammas"), widths=None if widths is None else _split(widths, "widths"),
                   **fields)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "NetworkSpec":
        """Build from a mapping such as a parsed TOML table (keys as in :meth:`to_dict`; laws as a list or
        as a table with keys W1..WL, C)."""
        data = dict(data)
        allowed = {"gammas", "widths", "activation", "input_dim", "output_dim", "weight_laws", "bias", "bias_law",
                   "preset", "depth"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise SpecError(f"unknown spec key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
        if "gammas" not in data:
            raise SpecError("the spec has no 'gammas'; give one gamma per hidden layer")
        depth = data.pop("depth", None)
        preset = data.pop("preset", "theory")
        gammas = data.pop("gammas")
        laws = data.pop("weight_laws", None)
        if isinstance(laws, Mapping):
            n = len(_split(gammas, "gammas") if isinstance(gammas, str) else gammas)
            names = [f"W{i}" for i in range(1, n + 1)] + ["C"]
            bad = sorted(set(laws) - set(names))
            if bad:
                raise SpecError(f"weight_laws has unknown group(s) {', '.join(bad)}; allowed: {', '.join(names)}")
            defaults = PRESETS.get(preset, PRESETS["theory"])["laws"](n)
            laws = [laws.get(name, defaults[i]) for i, name in enumerate(names)]
        spec = cls.from_strings(gammas=gammas if isinstance(gammas, str) else ",".join(map(str, gammas)),
                                widths=None if data.get("widths") is None else (
                                    data["widths"] if isinstance(data["widths"], str)
                                    else ",".join(map(str, data["widths"]))),
                                activation=data.get("activation"), preset=preset,
                                **{k: data[k] for k in ("input_dim", "output_dim", "bias", "bias_law") if k in data},
                                weight_laws=laws)
        if depth is not None and depth != spec.depth:
            raise SpecError(f"depth = {depth} but {spec.depth} gammas were given")
        return spec

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NetworkSpec":
        """The inverse of :meth:`to_dict`: ``NetworkSpec.from_dict(spec.to_dict()) == spec``, gammas exact."""
        return cls.from_mapping(data)

    @classmethod
    def from_toml(cls, path) -> "NetworkSpec":
        """Read a spec from a TOML file (a ``[spec]`` table, or top-level keys)."""
        import tomllib

        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise SpecError(f"spec file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"spec file {path} is not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise SpecError(f"spec file {path} is not UTF-8 text (byte {exc.start}); it must be UTF-8 TOML") from None
        return cls.from_mapping(data.get("spec", data))
