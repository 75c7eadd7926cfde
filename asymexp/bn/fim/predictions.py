"""The width exponent that the laws predict for ``asymexp fim``, and which case of the net gives it
(docs/batchnorm.md, "The laws" and "What asymexp fim reports").

The case is named from the numbers the study computes, not from the activation's name: kappa2 of the theory
block (Gaussian inputs) against its quadrature bound, and for hidden-layer batch norm and layer norm the
coefficient c of the output block's bound lambda_max >= c M. For lambda_max:

- no normalization, kappa2 > 0 beyond its error: the C mean-gradient outliers
  alpha M ((T-1)/T kappa2 + kappa1/T) grow like M: exponent 1;
- no normalization, kappa2 = 0 within its error (a centred net: an odd activation, no bias, centred inputs):
  no outlier grows like M. At fixed rho, K1 / T = alpha rho kappa1, the O(1) bias part of K2 and the bulk
  (K1 - K2) / T are all O(1): exponent 0. At fixed T, K1 / T = alpha M kappa1 / T grows like M: exponent 1;
- ``mean-last``, ``bn-last``: the outliers are removed and the bulk (K1 - K2) / T remains: 0 at fixed rho,
  1 at fixed T;
- ``bn`` (hidden layers), ``ln``: the output block alone gives lambda_max >= c M, with c = (E phi(zhat))^2
  (batch norm centres every pre-activation per unit) or qhat_st^{L-1} of the unit-variance chain (layer norm),
  and lambda_max <= tr F = C K1 = O(M): c > 0 beyond its error gives exponent 1. With c = 0 (a centred
  activation after the normalization) docs/batchnorm.md has no law for lambda_max: no prediction (None).

m_lambda = tr F / P = C K1 / P: K1 grows like M and P like M^2, exponent -1, in every case.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

from asymexp.norms import entry

#: Rounding of a kappa (a sum of a few products of quadratures) relative to kappa1, which bounds |kappa2|.
KAPPA_ROUNDING = 64 * sys.float_info.epsilon


@dataclass(frozen=True)
class NetTheory:
    """What names the case: ``kappa1``, ``kappa2`` and their quadrature bound ``kappa_error`` (the theory block
    of ``asymexp fim``), ``alpha`` = H, ``rho`` = M / T (None at fixed T), and for ``bn``/``ln`` the coefficient
    ``floor`` = c of lambda_max >= c M with its error ``floor_error`` (None for the other norms)."""

    kappa1: float
    kappa2: float
    kappa_error: float
    alpha: int
    rho: float | None = None
    floor: float | None = None
    floor_error: float = 0.0

    def kappa2_is_zero(self) -> bool:
        """abs(kappa2) within its quadrature bound plus the rounding of the sums."""
        return abs(self.kappa2) <= self.kappa_error + KAPPA_ROUNDING * abs(self.kappa1)

    def floor_is_zero(self) -> bool:
        return self.floor is not None and abs(self.floor) <= self.floor_error


def predicted_exponent(norm: str, activation: str, fixed_rho: bool, quantity: str,
                       net: NetTheory | None = None) -> tuple:
    """(predicted width exponent or None, why) for ``quantity`` = ``lambda_max`` or ``mean_eig`` (module
    docstring). Without ``net`` the case is not known and kappa2 > 0 and relu's floor are assumed (the
    prediction of the laws for a net that is not centred)."""
    if quantity == "mean_eig":
        return -1.0, "m_lambda = C K1 / P: tr F grows like M and P like M^2"
    norm = entry(norm, "fim").name
    if norm == "none":
        return _none(fixed_rho, net)
    if norm in ("mean-last", "bn-last"):
        if fixed_rho:
            return 0.0, "outliers removed; the bulk alpha rho (kappa1 - kappa2) is fixed at fixed rho"
        return 1.0, "outliers removed, but at fixed T the bulk (M/T) alpha (kappa1 - kappa2) grows like M"
    return _hidden(norm, activation, net)


def _none(fixed_rho: bool, net: NetTheory | None) -> tuple:
    if net is None:
        return 1.0, "the C mean-gradient outliers alpha M kappa2"
    k1, k2, a, err = net.kappa1, net.kappa2, net.alpha, net.kappa_error
    if not net.kappa2_is_zero():
        why = (f"kappa2 = {k2:.4g} > 0 (quadrature error {err:.1e}): the C mean-gradient outliers grow like "
               f"alpha M ((T-1)/T kappa2 + kappa1/T)")
        if fixed_rho and net.rho is not None:
            bulk = a * net.rho * (k1 - k2)
            why += (f", slope alpha kappa2 = {a * k2:.4g} on top of the O(1) offset alpha rho (kappa1 - kappa2) = "
                    f"{bulk:.4g} (they are equal at M = {bulk / (a * k2):.3g})")
        return 1.0, why
    zero = (f"kappa2 = {k2:.2g}, zero within its quadrature error {err:.1e} (a centred net: odd activation, no "
            "bias, centred inputs): no mean-gradient outlier grows like M")
    if fixed_rho:
        return 0.0, (zero + f"; K1/T = alpha rho kappa1 = {a * (net.rho or 0.0) * k1:.4g}, the bias-gradient part "
                            "of K2 and the bulk are O(1) at fixed rho")
    return 1.0, zero + "; but at fixed T, K1/T = alpha M kappa1 / T and the bulk grow like M"


def _hidden(norm: str, activation: str, net: NetTheory | None) -> tuple:
    what, note = (("(E phi(zhat))^2", "batch norm centres every pre-activation per unit") if norm == "bn"
                  else ("qhat_st^{L-1}", "of the unit-variance chain"))
    if net is None or net.floor is None:
        if activation == "relu":
            return 1.0, "relu after the normalization is not centred: the output block alone gives ~ M qhat_st"
        return None, f"docs/batchnorm.md predicts the {norm} exponent for relu only"
    if not net.floor_is_zero():
        return 1.0, (f"the output block alone gives lambda_max >= c M with c = {what} = {net.floor:.4g} > 0 "
                     f"({note}), and lambda_max <= tr F = C K1 grows like M")
    return None, (f"no law: the output block's bound c M vanishes (c = {what} = {net.floor:.2g}, zero within "
                  f"{net.floor_error:.1e}; {note}) and docs/batchnorm.md has no law for the rest of the {norm} "
                  "spectrum")
