"""The activations sigma: one home for their values, derivatives and codes (docs/theory/1-network.md).

Every stage imports sigma from here:

- NumPy forms (float64, any shape) for the theory layer and the simulators' NumPy side:
  :func:`sigma_derivatives`, :meth:`Activation.value`, :meth:`Activation.derivative`;
- the Numba forms compiled into the kernels, in :mod:`asymexp.activations.numba_forms` (imported on demand, so
  that this module stays light: NumPy too loads on first use, so the spec can import the names);
- the facts the symbolic and theory layers reason with: sigma(0) (a collapsed layer outputs sigma(0),
  docs/theory/4-deep-networks.md) and whether a Taylor expansion of sigma exists (``smooth``).

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


@dataclass(frozen=True)
class Activation:
    """One activation: its name (as the spec and the CLI write it), kernel code and NumPy forms.

    Attributes:
        name: ``"sigmoid"`` (the logistic function) or ``"tanh"``.
        code: the :class:`~asymexp.kernel_codes.Act` code the Numba kernels branch on.
        at_zero: sigma(0), exact (1/2 for the sigmoid, 0 for tanh).
        smooth: sigma is analytic, so the Taylor expansions of the hierarchy exist.
        max_order: the highest derivative :meth:`derivatives` provides.
        derivative_in_value: coefficients (constant first) of the polynomial p with sigma' = p(sigma), when one
            exists: 1 - s^2 for tanh, s - s^2 for the sigmoid (the theory builds sigma^(k) from it).
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
        """sigma'(z) written through h = sigma(z): h (1 - h) for the sigmoid, 1 - h^2 for tanh."""
        return h * (1.0 - h) if self.code == Act.SIGMOID else 1.0 - h * h


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", Act.SIGMOID, 0.5, True, 3, (0.0, 1.0, -1.0), _sigmoid_derivatives),
    "tanh": Activation("tanh", Act.TANH, 0.0, True, 3, (1.0, 0.0, -1.0), _tanh_derivatives),
}
NAMES = tuple(ACTIVATIONS)


def get(name: "str | Activation") -> Activation:
    """The activation called ``name``; :class:`SpecError` naming the allowed ones otherwise."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise SpecError(f"activation {name!r} is unknown; allowed: {', '.join(NAMES)}") from None


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
    """sigma(0): 1/2 for the logistic sigmoid, 0 for tanh (docs/theory/4-deep-networks.md, the collapse)."""
    return get(activation).at_zero
