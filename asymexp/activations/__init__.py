"""The activations sigma: one home for their values, derivatives and codes (docs/theory/1-network.md).

Every stage imports sigma from here:

- NumPy forms (float64, any shape) for the theory layer and the simulators' NumPy side:
  :func:`sigma_derivatives`, :meth:`Activation.value`, :meth:`Activation.derivative`;
- the Numba forms compiled into the kernels, in :mod:`asymexp.activations.numba_forms` (imported on demand, so
  that this module stays light: NumPy too loads on first use, so the spec can import the names);
- the facts the symbolic and theory layers reason with: sigma(0) (a collapsed layer outputs sigma(0),
  docs/theory/4-deep-networks.md) and whether a Taylor expansion of sigma exists (``smooth``);
- their Gaussian kernels E[phi(u) phi(v)] and E[phi'(u) phi'(v)] (closed arc-cosine forms for relu, quadrature
  with an error estimate otherwise) in :mod:`asymexp.activations.gaussian` (docs/batchnorm.md).

Five activations: sigmoid, tanh, relu, identity (also called ``linear``) and sin. The 1/N^gamma layers (the spec,
the expansion, the simulators and the trainer) are derived for sigmoid and tanh only (:data:`EXPANDABLE`,
:func:`require_expandable`); the others serve the batch-normalization tools (docs/batchnorm.md).

Kernels take the integer :class:`asymexp.kernel_codes.Act` code of an activation, never its name.
"""
from __future__ import annotations

from dataclasses import dataclass

from asymexp.errors import SpecError
from asymexp.kernel_codes import Act


def _sigmoid_derivatives(u, order):
    import numpy as np

    s = 0.5 * (1.0 + np.tanh(0.5 * u))  # overflow-free logistic
    s1 = s * (1.0 - s)
    return [s, s1, s1 * (1.0 - 2.0 * s), s1 * (1.0 - 6.0 * s1)][: order + 1]


def _tanh_derivatives(u, order):
    import numpy as np

    t = np.tanh(u)
    t1 = 1.0 - t * t
    return [t, t1, -2.0 * t * t1, t1 * (6.0 * t * t - 2.0)][: order + 1]


def _relu_derivatives(u, order):
    """max(u, 0) and its step derivative (0 at u = 0); no higher derivative exists (the kink)."""
    import numpy as np

    return [np.maximum(u, 0.0), (u > 0).astype(np.float64)][: order + 1]


def _identity_derivatives(u, order):
    import numpy as np

    zero = np.zeros_like(u)
    return [u.copy(), np.ones_like(u), zero, zero.copy()][: order + 1]


def _sin_derivatives(u, order):
    import numpy as np

    s, c = np.sin(u), np.cos(u)
    return [s, c, -s, -c][: order + 1]


@dataclass(frozen=True)
class Activation:
    """One activation: its name (as the spec and the CLI write it), kernel code and NumPy forms.

    Attributes:
        name: ``"sigmoid"`` (the logistic function), ``"tanh"``, ``"relu"``, ``"identity"`` or ``"sin"``.
        code: the :class:`~asymexp.kernel_codes.Act` code the Numba kernels branch on.
        at_zero: sigma(0), exact (1/2 for the sigmoid, 0 for tanh).
        smooth: sigma is analytic, so the Taylor expansions of the hierarchy exist (false for relu).
        max_order: the highest derivative :meth:`derivatives` provides (1 for relu: its step derivative).
        derivative_in_value: coefficients (constant first) of the polynomial p with sigma' = p(sigma), when one
            exists: 1 - s^2 for tanh, s - s^2 for the sigmoid, 1 for the identity (the theory builds sigma^(k)
            from it); None otherwise.
    """

    name: str
    code: Act
    at_zero: float
    smooth: bool
    max_order: int
    derivative_in_value: tuple
    _derivatives: object

    def derivatives(self, u, order: int = 3) -> list:
        """[sigma(u), sigma'(u), ..., sigma^(order)(u)], float64 arrays of u's shape."""
        import numpy as np

        if order > self.max_order and not self.smooth:
            raise SpecError(f"{self.name} is not smooth: derivative order {order} does not exist; "
                            f"allowed: 0..{self.max_order}")
        if not 0 <= order <= self.max_order:
            raise SpecError(f"derivative order {order} of {self.name} is not available; allowed: 0..{self.max_order}")
        return self._derivatives(np.asarray(u, dtype=np.float64), order)

    def value(self, u):
        """sigma(u)."""
        return self.derivatives(u, 0)[0]

    def derivative(self, u):
        """sigma'(u)."""
        return self.derivatives(u, 1)[1]

    def derivative_from_value(self, h):
        """sigma'(z) written through h = sigma(z): h (1 - h) for the sigmoid, 1 - h^2 for tanh, the step h > 0
        for relu, 1 for the identity. sin has none (cos z is not a function of sin z): :class:`SpecError`."""
        import numpy as np

        if self.code == Act.SIGMOID:
            return h * (1.0 - h)
        if self.code == Act.TANH:
            return 1.0 - h * h
        if self.code == Act.RELU:
            return (np.asarray(h) > 0).astype(np.float64)
        if self.code == Act.IDENTITY:
            return np.ones_like(np.asarray(h, dtype=np.float64))
        raise SpecError(f"{self.name}' is not a function of {self.name}; use derivative(u) of the pre-activation")


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", Act.SIGMOID, 0.5, True, 3, (0.0, 1.0, -1.0), _sigmoid_derivatives),
    "tanh": Activation("tanh", Act.TANH, 0.0, True, 3, (1.0, 0.0, -1.0), _tanh_derivatives),
    "relu": Activation("relu", Act.RELU, 0.0, False, 1, None, _relu_derivatives),
    "identity": Activation("identity", Act.IDENTITY, 0.0, True, 3, (1.0,), _identity_derivatives),
    "sin": Activation("sin", Act.SIN, 0.0, True, 3, None, _sin_derivatives),
}
NAMES = tuple(ACTIVATIONS)
#: Other names accepted by :func:`get`.
ALIASES = {"linear": "identity"}
#: The activations the 1/N^gamma layers (spec, expansion, simulators, trainer) are derived for. Their parity
#: and collapse rules (docs/theory/4-deep-networks.md) and their Taylor expansions cover these two only.
EXPANDABLE = ("sigmoid", "tanh")


def get(name: "str | Activation") -> Activation:
    """The activation called ``name`` (or an alias such as ``"linear"``); :class:`SpecError` naming the allowed
    ones otherwise."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[ALIASES.get(name, name)]
    except (KeyError, TypeError):
        allowed = ", ".join(NAMES + tuple(f"{a} (= {b})" for a, b in ALIASES.items()))
        raise SpecError(f"activation {name!r} is unknown; allowed: {allowed}") from None


def require_expandable(name: "str | Activation", where: str = "the 1/N^gamma layers") -> Activation:
    """The activation ``name`` if the expansion layers can use it; else :class:`SpecError` saying why.

    relu is refused because it is not smooth (the hierarchy Taylor-expands sigma to order 3,
    docs/theory/3-shallow-expansion.md); identity and sin because the parity and collapse rules are derived for
    sigmoid and tanh only. All five serve ``asymexp fim`` (docs/batchnorm.md)."""
    act = get(name)
    if act.name in EXPANDABLE:
        return act
    if not act.smooth:
        raise SpecError(f"activation {act.name!r} is not smooth: {where} Taylor-expand sigma "
                        f"(docs/theory/3-shallow-expansion.md); allowed here: {', '.join(EXPANDABLE)}")
    raise SpecError(f"activation {act.name!r} is outside {where} (their parity and collapse rules cover "
                    f"{', '.join(EXPANDABLE)} only); allowed here: {', '.join(EXPANDABLE)}")


def by_code(code: int) -> Activation:
    """The activation whose kernel code is ``code``."""
    for act in ACTIVATIONS.values():
        if act.code == code:
            return act
    codes = ", ".join(str(int(a.code)) for a in ACTIVATIONS.values())
    raise SpecError(f"activation code {code!r} is unknown; allowed: {codes}")


def sigma_derivatives(activation: "str | Activation", u, order: int = 3) -> list:
    """[sigma(u), sigma'(u), ..., sigma^(order)(u)] for a named activation (see :meth:`Activation.derivatives`)."""
    return get(activation).derivatives(u, order)


def sigma_at_zero(activation: "str | Activation") -> float:
    """sigma(0): 1/2 for the logistic sigmoid, 0 for the others (docs/theory/4-deep-networks.md, the collapse)."""
    return get(activation).at_zero
