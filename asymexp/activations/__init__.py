"""The activations sigma: one registry entry per activation with every fact about it (docs/theory/1-network.md).

Each :class:`Activation` holds, side by side:

- its NumPy forms (float64, any shape, :mod:`asymexp.activations.numpy_forms`): :meth:`Activation.derivatives`,
  :meth:`Activation.value`, :meth:`Activation.derivative`, :meth:`Activation.derivative_from_value`;
- its kernel code (:class:`asymexp.kernel_codes.Act`); the Numba forms that branch on the code are in
  :mod:`asymexp.activations.numba_forms` (imported on demand, so that this module stays light);
- its Gaussian kernel rule (closed forms or quadrature, :mod:`asymexp.activations.gaussian`) and whether closed
  forms exist (``closed_gaussian``);
- the facts the symbolic, theory and validation layers reason with: sigma(0) and sigma'(0) (the collapse,
  docs/theory/4-deep-networks.md), the parity of each derivative (docs/theory/5-verified-formulas.md, "Facts"),
  the half-width of the strip of analyticity (:mod:`asymexp.activations.analyticity`), the critical weight
  variance, smoothness, whether the 1/N^gamma expansion covers it (``expandable``, :data:`EXPANDABLE`) and whether
  sigma' is a function of sigma (``derivative_in_value``; else the backward passes keep the pre-activation).

Six activations: sigmoid, tanh, relu, identity (also called ``linear``), sin and gelu. The 1/N^gamma layers (the
spec, the expansion, the simulators and the trainer) take sigmoid, tanh and gelu (:data:`EXPANDABLE`,
:func:`require_expandable`); the trainer also takes relu (:data:`TRAINER_ACTIVATIONS`); the others serve the
batch-normalization tools (docs/batchnorm.md). Code that needs a fact reads it here, never a name.

Kernels take the integer :class:`asymexp.kernel_codes.Act` code of an activation, never its name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from asymexp.activations import closed_gaussian as _closed
from asymexp.activations import numpy_forms as _np_forms
from asymexp.errors import SpecError
from asymexp.kernel_codes import Act


@dataclass(frozen=True)
class Parity:
    """Parity of the derivatives under u -> -u: sigma^(k)(-u) = (-1)^(k + shift) sigma^(k)(u) for k >= first;
    below ``first`` the derivative has no parity (it is a constant plus an odd or even function). ``text`` says
    why, in words."""

    shift: int
    first: int
    text: str

    def of(self, k: int) -> int | None:
        """+1 (even), -1 (odd) or None (no parity) for sigma^(k)."""
        return (-1) ** (k + self.shift) if k >= self.first else None

    def odd_product(self, orders) -> bool:
        """Whether prod_j sigma^(k_j)(w . x_j) over the derivative ``orders`` k_j is odd under w -> -w (False
        as soon as one factor has no parity)."""
        sign = 1
        for k in orders:
            p = self.of(k)
            if p is None:
                return False
            sign *= p
        return sign == -1


NO_PARITY = Parity(0, 10 ** 9, "no parity")


@dataclass(frozen=True)
class Activation:
    """One activation and its facts.

    Attributes:
        name: as the spec and the CLI write it.
        code: the :class:`~asymexp.kernel_codes.Act` code the Numba kernels branch on.
        at_zero: sigma(0), exact (1/2 for the sigmoid, 0 for the others).
        slope_at_zero: sigma'(0) (1/4 sigmoid, 1 tanh, 1/2 gelu; relu's step derivative gives 0).
        smooth: sigma is analytic on the real line, so the Taylor expansions of the hierarchy exist.
        max_order: the highest derivative :meth:`derivatives` provides.
        derivative_in_value: coefficients (constant first) of the polynomial p with sigma' = p(sigma), when one
            exists (1 - s^2 tanh, s - s^2 sigmoid, 1 identity); None otherwise (sin, gelu, relu).
        expandable: the 1/N^gamma layers (spec, expansion, simulators, trainer) cover it.
        trainer: the MNIST trainer takes it.
        parity: :class:`Parity` of the derivatives (used by the vanishing-term arguments).
        strip_half_width: distance from the real axis to the nearest complex singularity (math.inf for entire
            functions; None for relu, which is not analytic).
        critical_weight_var: the weight variance sigma_w^2 at the edge of chaos without biases (relu 2;
            tanh, identity and sin 1), None where none exists (gelu) or none is on record (sigmoid).
        closed_gaussian: E[phi(u) phi(v)] and E[phi'(u) phi'(v)] have closed forms (relu: arc-cosine; identity:
            c12 and 1); the symbolic order parameters use them.
        gaussian_closed_form: the closed kernel (q1, q2, c, derivative) -> value that
            :mod:`asymexp.activations.gaussian` evaluates (relu), or None: Gauss-Hermite quadrature, which is exact
            to rounding for the identity's polynomial integrands.
    """

    name: str
    code: Act
    at_zero: float
    slope_at_zero: float
    smooth: bool
    max_order: int
    derivative_in_value: tuple | None
    expandable: bool
    trainer: bool
    parity: Parity
    strip_half_width: float | None
    critical_weight_var: float | None
    closed_gaussian: bool
    _derivatives: object
    _from_value: object
    gaussian_closed_form: object = None

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

    @property
    def needs_preactivation(self) -> bool:
        """sigma' is not a function of sigma: backward passes keep the pre-activation z (sin, gelu)."""
        return self._from_value is None

    @property
    def collapse(self) -> str | None:
        """How E sigma(Z)^2 behaves as Var Z -> 0 (docs/theory/4-deep-networks.md): ``"constant"`` when
        sigma(0) != 0 (it tends to sigma(0)^2), ``"linear"`` when sigma(0) = 0 and sigma'(0) != 0 (it is
        sigma'(0)^2 E Z^2 to leading order, so collapse orders multiply); None where no rule is on record (relu)."""
        if self.at_zero != 0:
            return "constant"
        if self.slope_at_zero != 0:
            return "linear"
        return None                                  # relu: sigma(0) = sigma'(0) = 0, no rule on record

    def derivative_from_value(self, h):
        """sigma'(z) written through h = sigma(z): h (1 - h) for the sigmoid, 1 - h^2 for tanh, the step h > 0
        for relu, 1 for the identity. sin and gelu have none (cos z is not a function of sin z; gelu is not
        monotone): :class:`SpecError`."""
        if self._from_value is None:
            raise SpecError(f"{self.name}' is not a function of {self.name}; use derivative(u) of the pre-activation")
        return self._from_value(h)


def _step_of(h):
    import numpy as np

    return (np.asarray(h) > 0).astype(np.float64)


def _ones_of(h):
    import numpy as np

    return np.ones_like(np.asarray(h, dtype=np.float64))


_ODD = Parity(1, 0, "sigma is odd, so sigma^(k) has parity (-1)^(k+1) (sigma' even)")
#: The registry: adding an activation is one entry here (its NumPy derivatives in numpy_forms, its Numba branch in
#: numba_forms under a new :class:`~asymexp.kernel_codes.Act` code); tests/test_activation_registry.py then runs it
#: through every form.
ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (
    Activation("sigmoid", Act.SIGMOID, at_zero=0.5, slope_at_zero=0.25, smooth=True, max_order=3,
               derivative_in_value=(0.0, 1.0, -1.0), expandable=True, trainer=True,
               parity=Parity(1, 1, "sigma - 1/2 is odd, so sigma^(k), k >= 1, has parity (-1)^(k+1) (sigma' even)"),
               strip_half_width=math.pi, critical_weight_var=None, closed_gaussian=False,
               _derivatives=_np_forms.sigmoid_derivatives, _from_value=lambda h: h * (1.0 - h)),
    Activation("tanh", Act.TANH, at_zero=0.0, slope_at_zero=1.0, smooth=True, max_order=3,
               derivative_in_value=(1.0, 0.0, -1.0), expandable=True, trainer=True, parity=_ODD,
               strip_half_width=math.pi / 2, critical_weight_var=1.0, closed_gaussian=False,
               _derivatives=_np_forms.tanh_derivatives, _from_value=lambda h: 1.0 - h * h),
    Activation("relu", Act.RELU, at_zero=0.0, slope_at_zero=0.0, smooth=False, max_order=1,
               derivative_in_value=None, expandable=False, trainer=True, parity=NO_PARITY,
               strip_half_width=None, critical_weight_var=2.0, closed_gaussian=True,
               _derivatives=_np_forms.relu_derivatives, _from_value=_step_of, gaussian_closed_form=_closed.relu_pair),
    Activation("identity", Act.IDENTITY, at_zero=0.0, slope_at_zero=1.0, smooth=True, max_order=3,
               derivative_in_value=(1.0,), expandable=False, trainer=False, parity=_ODD,
               strip_half_width=math.inf, critical_weight_var=1.0, closed_gaussian=True,
               _derivatives=_np_forms.identity_derivatives, _from_value=_ones_of),
    # sin: E sin(sqrt(q) Z)^2 = (1 - e^{-2q}) / 2 = q - q^2 + ..., so s_w^2 = 1 makes q = 0 marginal (as tanh)
    Activation("sin", Act.SIN, at_zero=0.0, slope_at_zero=1.0, smooth=True, max_order=3,
               derivative_in_value=None, expandable=False, trainer=False, parity=_ODD,
               strip_half_width=math.inf, critical_weight_var=1.0, closed_gaussian=False,
               _derivatives=_np_forms.sin_derivatives, _from_value=None),
    # gelu: E gelu(sqrt(q) Z)^2 = q/4 + 3 q^2 / (2 pi) + ..., so q = 0 is never marginal: no critical variance
    Activation("gelu", Act.GELU, at_zero=0.0, slope_at_zero=0.5, smooth=True, max_order=12,
               derivative_in_value=None, expandable=True, trainer=True,
               parity=Parity(0, 2, "sigma - u/2 = u (Phi(u) - 1/2) is even, so sigma' - 1/2 is odd and sigma^(k), "
                                   "k >= 2, has parity (-1)^k (sigma'' even); sigma and sigma' have none"),
               strip_half_width=math.inf, critical_weight_var=None, closed_gaussian=False,
               _derivatives=_np_forms.gelu_derivatives, _from_value=None),
)}
NAMES = tuple(ACTIVATIONS)
#: Other names accepted by :func:`get`.
ALIASES = {"linear": "identity"}
#: The activations the 1/N^gamma layers (the spec, the expansion, the simulators, the trainer) are derived for, whose
#: parity and collapse facts (docs/theory/4-deep-networks.md) and Taylor expansions are on record.
EXPANDABLE = tuple(a.name for a in ACTIVATIONS.values() if a.expandable)
#: The activations the MNIST trainer takes (the expandable ones and relu).
TRAINER_ACTIVATIONS = tuple(a.name for a in ACTIVATIONS.values() if a.trainer)
#: The activations the trainer takes although the spec (the expansion layers) refuses them (relu).
TRAINER_ONLY = tuple(a.name for a in ACTIVATIONS.values() if a.trainer and not a.expandable)
#: The facts every :class:`Activation` exposes (the BN tools and the theory read these, never a name).
FACTS = ("at_zero", "slope_at_zero", "smooth", "max_order", "derivative_in_value", "needs_preactivation",
         "expandable", "trainer", "parity", "collapse", "strip_half_width", "critical_weight_var", "closed_gaussian",
         "gaussian_closed_form")


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
    docs/theory/3-shallow-expansion.md); identity and sin because their parity and collapse rules are not part of
    the derivation. All of them serve ``asymexp fim`` (docs/batchnorm.md)."""
    act = get(name)
    if act.expandable:
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
