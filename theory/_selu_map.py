r"""The SELU moment map :math:`g: (\mu, \nu) \mapsto (\tilde\mu, \tilde\nu)` and its
Jacobian, in closed form (arXiv:1706.02515; ``docs/derivations/selu_moments.md``
§3-§4). Re-exported by :mod:`theory.selu_moments`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import finite
from theory._args import floats
from theory._args import positive
from theory._args import require
from theory._selu_gauss import _FAR_BELOW
from theory._selu_gauss import _SQRT2PI
from theory._selu_gauss import ALPHA_01
from theory._selu_gauss import LAMBDA_01
from theory._selu_gauss import _broadcast
from theory._selu_gauss import _exp_below_kink
from theory._selu_gauss import _finite_result
from theory._selu_gauss import _pieces
from theory._selu_gauss import _pre_activation
from theory._selu_gauss import _selu_moments
from theory._selu_gauss import _selu_params

__all__ = ["MomentJacobian", "MomentMap", "moment_jacobian", "moment_map", "selu"]


class MomentMap(NamedTuple):
    r"""Mean and variance of a layer's output, :math:`(\tilde\mu, \tilde\nu)`.

    Attributes:
      mu_tilde: :math:`\tilde\mu = E\,f(z)`.
      nu_tilde: :math:`\tilde\nu = \mathrm{Var}\,f(z) \ge 0`.
    """

    mu_tilde: np.ndarray
    nu_tilde: np.ndarray


class MomentJacobian(NamedTuple):
    r"""Jacobian :math:`\mathcal{J}` of :math:`g: (\mu,\nu) \mapsto (\tilde\mu,
    \tilde\nu)`.

    Attributes:
      dmu_dmu: :math:`\partial\tilde\mu/\partial\mu` (:math:`\mathcal{J}_{11}`).
      dmu_dnu: :math:`\partial\tilde\mu/\partial\nu` (:math:`\mathcal{J}_{12}`).
      dnu_dmu: :math:`\partial\tilde\nu/\partial\mu` (:math:`\mathcal{J}_{21}`).
      dnu_dnu: :math:`\partial\tilde\nu/\partial\nu` (:math:`\mathcal{J}_{22}`).
      spectral_norm: largest singular value :math:`\|\mathcal{J}\|_2`.
    """

    dmu_dmu: np.ndarray
    dmu_dnu: np.ndarray
    dnu_dmu: np.ndarray
    dnu_dnu: np.ndarray
    spectral_norm: np.ndarray

    @property
    def matrix(self) -> np.ndarray:
        """The Jacobian as an array of shape ``(..., 2, 2)``."""
        row1 = np.stack(np.broadcast_arrays(self.dmu_dmu, self.dmu_dnu), axis=-1)
        row2 = np.stack(np.broadcast_arrays(self.dnu_dmu, self.dnu_dnu), axis=-1)
        return np.stack([row1, row2], axis=-2)


def selu(x: ArrayLike, *, alpha: ArrayLike = ALPHA_01, lam: ArrayLike = LAMBDA_01):
    r"""The scaled exponential linear unit, elementwise.

    .. math::

        \mathrm{selu}(x) = \lambda \begin{cases} x & x > 0 \\
        \alpha (e^x - 1) & x \le 0 \end{cases}

    The activation of arXiv:1706.02515; ``alpha`` = α, ``lam`` = λ.

    Args:
      x: any shape, float64.
      alpha: α (default :data:`ALPHA_01`).
      lam: λ > 0 (default :data:`LAMBDA_01`).

    Returns:
      float64 array of the broadcast shape.

    Raises:
      ValueError: non-finite ``alpha`` or ``lam <= 0``.

    Examples:
      >>> round(float(selu(-50.0)), 14)  # saturation value -λα
      -1.75809934084738
    """
    alpha, lam = _selu_params(alpha, lam)
    x = floats("x", x)
    require("x", x, ~np.isnan(x), "a number (not NaN)")
    _broadcast(x=x, alpha=alpha, lam=lam)
    with np.errstate(over="ignore", invalid="ignore"):
        out = lam * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    if not np.all(np.isfinite(out)):
        bad = np.broadcast_to(x, out.shape)[~np.isfinite(out)].ravel()[0]
        raise ValueError(
            f"selu(x) exceeds the float64 range at x={bad!r} (lam * x and lam * alpha "
            f"must stay below 1.8e308)"
        )
    return out


def moment_map(
    mu: ArrayLike,
    nu: ArrayLike,
    *,
    omega: ArrayLike = 0.0,
    tau: ArrayLike = 1.0,
    alpha: ArrayLike = ALPHA_01,
    lam: ArrayLike = LAMBDA_01,
) -> MomentMap:
    r"""Mean and variance of a SELU unit's output under a Gaussian pre-activation.

    With :math:`m = \mu\omega`, :math:`v = \nu\tau`, :math:`s = \sqrt{2v}`
    (the Gaussian closed form of the map g of arXiv:1706.02515, as evaluated in the
    authors' notebook ``SELU_calculations.nb``; derivations §3, §12.1):

    .. math::

        \tilde\mu = \tfrac{\lambda}{2}\Big[\alpha e^{m+v/2}
          \mathrm{erfc}\big(\tfrac{m+v}{s}\big)
          - \alpha\,\mathrm{erfc}\big(\tfrac{m}{s}\big)
          + m\big(1+\mathrm{erf}\big(\tfrac{m}{s}\big)\big)
          + \sqrt{\tfrac{2}{\pi}}\sqrt{v}\,e^{-m^2/(2v)}\Big],

        \tilde\xi = \tfrac{\lambda^2}{2}\Big[(m^2+v)
          \big(1+\mathrm{erf}\big(\tfrac{m}{s}\big)\big)
          + \alpha^2\Big(-2e^{m+v/2}\mathrm{erfc}\big(\tfrac{m+v}{s}\big)
          + e^{2(m+v)}\mathrm{erfc}\big(\tfrac{m+2v}{s}\big)
          + \mathrm{erfc}\big(\tfrac{m}{s}\big)\Big)
          + \sqrt{\tfrac{2}{\pi}}\,m\sqrt{v}\,e^{-m^2/(2v)}\Big],
        \qquad \tilde\nu = \tilde\xi - \tilde\mu^2.

    The products :math:`e^{(\cdot)}\mathrm{erfc}(\cdot)` are evaluated as
    :math:`e^{-m^2/(2v)}\mathrm{erfcx}(\cdot)`, and :math:`\tilde\nu` is computed as a
    centred second moment (``docs/derivations/selu_moments.md`` §3), so the map is
    finite for :math:`v` up to 1e300 and free of cancellation for large :math:`|m|`.
    Here μ = ``mu``, ν = ``nu``, ω = ``omega``, τ = ``tau``, α = ``alpha``,
    λ = ``lam``.

    Args:
      mu: input mean μ, finite; all arguments broadcast together.
      nu: input variance ν > 0.
      omega: weight sum ω = Σ w_i, finite.
      tau: weight square sum τ = Σ w_i² > 0.
      alpha: SELU α, finite (0 gives a scaled ReLU).
      lam: SELU λ > 0.

    Returns:
      :class:`MomentMap` of float64 arrays of the broadcast shape.

    Raises:
      ValueError: ``nu <= 0``, ``tau <= 0``, ``lam <= 0`` or a non-finite argument,
        naming it; shapes that do not broadcast; ``mu * omega`` or ``nu * tau``
        beyond float64; or moments beyond float64 (about
        :math:`\lambda^2\alpha^2\nu\tau > 10^{308}`). Any finite
        :math:`|\mu\omega|` is supported (the squares are never formed).

    Examples:
      >>> out = moment_map(0.0, 1.0)  # the fixed point (0, 1) at ω = 0, τ = 1
      >>> abs(float(out.mu_tilde)) < 1e-15, abs(float(out.nu_tilde) - 1) < 1e-14
      (True, True)
      >>> round(float(moment_map(0.0, 3.0).nu_tilde), 6)
      2.349062
    """
    alpha, lam = _selu_params(alpha, lam)
    m, v = _pre_activation(mu, nu, omega, tau)
    _broadcast(m=m, alpha=alpha, lam=lam)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        out = MomentMap(*_selu_moments(_pieces(m, v), alpha, lam))
    _finite_result("moment_map", out, mu=mu, nu=nu, omega=omega, tau=tau)
    return out


def _variance_gradient(p, alpha, lam, mean, var, rho0):
    """(dnu~/dm, dnu~/dv) as covariances, without the cancellation of
    d xi~ - 2 mu~ d mu~ (derivations §4).

    With h = f/lam, B = {z > 0}, P = Phi(a), Q = Phi(-a), e = e^z given z <= 0 and the
    law of total covariance over B: dnu~/dm = 2 lam^2 Cov(h, h') and
    dnu~/dv = lam^2 [E h'^2 + Cov(h, h'')], where h'' carries (1 - alpha) delta(z).
    """
    shift, cvar = _exp_below_kink(p)  # E[e] - 1, Var(e)
    a2 = alpha * alpha
    # G = P (E[h | B] - E[h | not B]); h = alpha expm1(z) below the kink
    G = p.relu1 - alpha * p.cdf * shift
    dnu_m = 2.0 * lam**2 * p.cdf_c * (a2 * cvar + G * (1.0 - alpha * (1.0 + shift)))
    dnu_v = lam**2 * (
        p.cdf
        + a2 * (p.e2 + p.cdf_c * cvar)
        - alpha * (1.0 + shift) * p.cdf_c * G
        - (1.0 - alpha) * (mean / lam) * rho0
    )
    # Far above the kink (a > _FAR_BELOW) f = lam z to rounding; far below it, f =
    # lam alpha expm1(z) is one branch and (mean, var) are lognormal, so
    # dnu~/dm = 2 var and dnu~/dv = 2 var + (lam alpha)^2 e^(2m+v).
    m, v = p.m, p.v
    above = p.a > _FAR_BELOW
    dnu_m = np.where(above, 0.0, dnu_m)
    dnu_v = np.where(above, lam**2, dnu_v)
    far = (m + 2.0 * v) < -_FAR_BELOW * p.sqrt_v
    dnu_m = np.where(far, 2.0 * var, dnu_m)
    dnu_v = np.where(far, 2.0 * var + (lam * alpha) ** 2 * np.exp(2.0 * m + v), dnu_v)
    return dnu_m, dnu_v


def _spectral_norm(h11, h12, h21, h22):
    """Largest singular value of [[h11, h12], [h21, h22]] (closed form for 2x2)."""
    return 0.5 * (np.hypot(h11 + h22, h21 - h12) + np.hypot(h11 - h22, h21 + h12))


def moment_jacobian(
    mu: ArrayLike,
    nu: ArrayLike,
    *,
    omega: ArrayLike = 0.0,
    tau: ArrayLike = 1.0,
    alpha: ArrayLike = ALPHA_01,
    lam: ArrayLike = LAMBDA_01,
) -> MomentJacobian:
    r"""Closed-form Jacobian of the SELU moment map and its spectral norm.

    With :math:`a = m/\sqrt v`, :math:`E_1 = e^{m+v/2}\Phi(-(m+v)/\sqrt v)` and
    :math:`E_2 = e^{2m+2v}\Phi(-(m+2v)/\sqrt v)` (the Jacobian of Theorem 1 of
    arXiv:1706.02515, derived via the heat equation
    :math:`\partial_v E f(z) = \tfrac12 E f''(z)`):

    .. math::

        \mathcal{J} = \begin{pmatrix} \omega\,\partial_m\tilde\mu &
          \tau\,\partial_v\tilde\mu \\
          \omega(\partial_m\tilde\xi - 2\tilde\mu\,\partial_m\tilde\mu) &
          \tau(\partial_v\tilde\xi - 2\tilde\mu\,\partial_v\tilde\mu)\end{pmatrix},
          \quad
        \begin{aligned}
        \partial_m\tilde\mu &= \lambda[\Phi(a) + \alpha E_1], &
        \partial_v\tilde\mu &= \tfrac{\lambda}{2}[\alpha E_1
          + (1-\alpha)\varphi(a)/\sqrt v],\\
        \partial_m\tilde\xi &= 2\lambda^2[m\Phi(a) + \sqrt v\varphi(a)
          + \alpha^2(E_2-E_1)], &
        \partial_v\tilde\xi &= \lambda^2[\Phi(a) + \alpha^2(2E_2 - E_1)].
        \end{aligned}

    The second row is evaluated as covariances, :math:`\partial_m\tilde\nu =
    2\,\mathrm{Cov}(f, f')` and :math:`\partial_v\tilde\nu = E f'^2 +
    \mathrm{Cov}(f, f'')`, split over the sign of z (law of total covariance), so that
    it keeps its relative accuracy where :math:`\tilde\nu \ll \tilde\xi` (far from
    the kink, or at small v; ``docs/derivations/selu_moments.md`` §4): every entry is
    within 3.3e-12 of a 60-digit reference over the grids tested there.

    The spectral norm is
    :math:`\tfrac12\sqrt{(\mathcal{J}_{11}+\mathcal{J}_{22})^2+(\mathcal{J}_{21}
    -\mathcal{J}_{12})^2} + \tfrac12\sqrt{(\mathcal{J}_{11}-\mathcal{J}_{22})^2
    +(\mathcal{J}_{21}+\mathcal{J}_{12})^2}`. Arguments as in :func:`moment_map`.

    Args:
      mu, nu, omega, tau, alpha, lam: as in :func:`moment_map`; they broadcast.

    Returns:
      :class:`MomentJacobian` of float64 arrays of the broadcast shape.

    Raises:
      ValueError: as :func:`moment_map`.

    Examples:
      >>> jac = moment_jacobian(0.0, 1.0, omega=0.0, tau=1.0)
      >>> round(float(jac.dmu_dnu), 10), round(float(jac.dnu_dnu), 10)
      (0.0888347551, 0.7826478832)
      >>> round(float(jac.spectral_norm), 10)
      0.7876733605
    """
    alpha, lam = _selu_params(alpha, lam)
    omega_arr = finite("omega", omega)
    tau_arr = positive("tau", tau)
    m, v = _pre_activation(mu, nu, omega_arr, tau_arr)
    _broadcast(m=m, alpha=alpha, lam=lam)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        p = _pieces(m, v)
        mean, var = _selu_moments(p, alpha, lam)
        dmu_m = lam * (p.cdf + alpha * p.e1)
        # the density of z at 0, phi(a)/sqrt(v), in logs: phi(a) is subnormal for
        # a > 37.6 (7e-12 relative error in J12 at a = 37.9, v = 1e-300)
        rho0 = np.exp(-0.5 * p.a * p.a - np.log(p.sqrt_v)) / _SQRT2PI
        dmu_v = 0.5 * lam * (alpha * p.e1 + (1.0 - alpha) * rho0)
        dnu_m, dnu_v = _variance_gradient(p, alpha, lam, mean, var, rho0)
        h11 = omega_arr * dmu_m
        h12 = tau_arr * dmu_v
        h21 = omega_arr * dnu_m
        h22 = tau_arr * dnu_v
        h11, h12, h21, h22 = np.broadcast_arrays(h11, h12, h21, h22)
        out = MomentJacobian(h11, h12, h21, h22, _spectral_norm(h11, h12, h21, h22))
    _finite_result("moment_jacobian", out, mu=mu, nu=nu, omega=omega, tau=tau)
    return out
