r"""Moment maps of SELU layers: fixed point, contraction, variance bounds, dropout.

Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing Neural Networks",
NeurIPS 2017, arXiv:1706.02515. A unit receives :math:`z = \sum_i w_i x_i` from
independent inputs with mean :math:`\mu` and variance :math:`\nu`; with the weight
summaries :math:`\omega = \sum_i w_i` and :math:`\tau = \sum_i w_i^2` the
pre-activation is (by the CLT) :math:`z \sim N(\mu\omega, \nu\tau)`, and the layer
maps :math:`g: (\mu, \nu) \mapsto (\tilde\mu, \tilde\nu)`, the mean and variance of
:math:`\mathrm{selu}(z)`. Everything here is the exact Gaussian closed form of that
map, evaluated in float64 with the scaled complementary error function ``erfcx`` so
that it stays finite for large variances.

Derivations (closed forms, the stable centred variance, the Jacobian via the heat
equation, the alpha-dropout affine map and the wide-network "population" map):
``docs/derivations/selu_moments.md``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import erfc
from scipy.special import erfcx

from theory._solve import FixedPointError
from theory._solve import solve_bracketed

__all__ = [
    "ALPHA_01",
    "LAMBDA_01",
    "OMEGA",
    "OMEGA_MINUS_A",
    "OMEGA_MINUS_B",
    "OMEGA_PLUS",
    "AlphaDropout",
    "Domain",
    "Extreme",
    "FixedPoint",
    "MomentJacobian",
    "MomentMap",
    "SeluParameters",
    "Theorem1Extremes",
    "Theorem3Extremes",
    "alpha_dropout_affine",
    "alpha_dropout_moments",
    "fixed_point",
    "iterate_map",
    "moment_jacobian",
    "moment_map",
    "population_moment_map",
    "relu_moment_map",
    "selu",
    "selu_parameters",
    "tanh_moment_map",
    "theorem1_extremes",
    "theorem2_extreme",
    "theorem3_extremes",
]

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _constants_01() -> tuple[float, float]:
    """α01, λ01 from the closed forms (derivations §2), correctly rounded to float64.

    Evaluated at 40 significant digits so that the float64 values are the nearest
    doubles to the exact constants; plain float64 evaluation is off by 2-3 ulp.
    """
    import mpmath

    with mpmath.workdps(40):
        e, pi = mpmath.e, mpmath.pi
        c = mpmath.erfc(1 / mpmath.sqrt(2))
        alpha = mpmath.sqrt(2 / pi) / (1 - mpmath.sqrt(e) * c)
        lam = (1 - mpmath.sqrt(e) * c) * mpmath.sqrt(
            2
            * pi
            / (
                2
                + pi
                - 2 * mpmath.sqrt(e) * (2 + pi) * c
                + e * pi * c**2
                + 2 * e**2 * mpmath.erfc(mpmath.sqrt(2))
            )
        )
        return float(alpha), float(lam)


_ALPHA_01, _LAMBDA_01 = _constants_01()
#: :math:`\alpha_{01} = \sqrt{2/\pi}\,/\,(1 - \sqrt{e}\,\mathrm{erfc}(1/\sqrt2))
#: = 1.67326324235437728481…`, the SELU α that makes
#: :math:`\tilde\mu(\mu, 0, 1, 1) = 0` (``docs/derivations/selu_moments.md`` §2).
ALPHA_01: float = _ALPHA_01
#: :math:`\lambda_{01} = 1.05070098735548049341…`, the SELU scale that then makes
#: :math:`\tilde\nu(\mu, 0, 1, 1) = 1` (closed form in
#: ``docs/derivations/selu_moments.md`` §2, §12.2).
LAMBDA_01: float = _LAMBDA_01


# ======================================================================================
# Result types
# ======================================================================================


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


class FixedPoint(NamedTuple):
    r"""Fixed point :math:`(\mu^*, \nu^*) = g(\mu^*, \nu^*)` found by iterating ``g``.

    Attributes:
      mu: :math:`\mu^*`.
      nu: :math:`\nu^*`.
      iterations: map applications until every element converged.
      residual: :math:`\max(|\tilde\mu - \mu^*|, |\tilde\nu - \nu^*|)` at the result.
    """

    mu: np.ndarray
    nu: np.ndarray
    iterations: int
    residual: np.ndarray


class SeluParameters(NamedTuple):
    r"""SELU parameters :math:`(\alpha, \lambda)` with a prescribed fixed point.

    Attributes:
      alpha: :math:`\alpha`.
      lam: :math:`\lambda > 0`.
      residual: :math:`\max(|\tilde\mu - \mu_f|, |\tilde\nu - \nu_f|)` at the result.
    """

    alpha: np.ndarray
    lam: np.ndarray
    residual: np.ndarray


class AlphaDropout(NamedTuple):
    r"""Alpha-dropout: :math:`y = a\,(x d + \alpha'(1-d)) + b`, :math:`d\sim`Bern(q).

    Attributes:
      a: affine scale :math:`a`.
      b: affine shift :math:`b`.
      alpha_prime: value of a dropped unit, :math:`\alpha' = -\lambda\alpha`.
    """

    a: np.ndarray
    b: np.ndarray
    alpha_prime: float


class Domain(NamedTuple):
    r"""A box of :math:`(\mu, \omega, \nu, \tau)`, each a ``(low, high)`` pair."""

    mu: tuple[float, float]
    omega: tuple[float, float]
    nu: tuple[float, float]
    tau: tuple[float, float]


class Extreme(NamedTuple):
    r"""An extreme value over a :class:`Domain` grid and where it is attained."""

    value: float
    mu: float
    omega: float
    nu: float
    tau: float


class Theorem1Extremes(NamedTuple):
    r"""Theorem 1 checks on :data:`OMEGA`: contraction and the image of the domain.

    Attributes:
      spectral_norm_max: largest :math:`\|\mathcal{J}\|_2` (must be < 1).
      mu_tilde_min, mu_tilde_max, nu_tilde_min, nu_tilde_max: the range of
        :math:`g` over the domain (must lie inside the :math:`(\mu,\nu)` box).
    """

    spectral_norm_max: Extreme
    mu_tilde_min: Extreme
    mu_tilde_max: Extreme
    nu_tilde_min: Extreme
    nu_tilde_max: Extreme


class Theorem3Extremes(NamedTuple):
    r"""Theorem 3 checks: :math:`\min(\tilde\nu - \nu)` on both parts of Ω⁻ (> 0)."""

    a: Extreme
    b: Extreme


#: Theorem 1 domain Ω: μ, ω ∈ [−0.1, 0.1], ν ∈ [0.8, 1.5], τ ∈ [0.95, 1.1].
OMEGA = Domain(mu=(-0.1, 0.1), omega=(-0.1, 0.1), nu=(0.8, 1.5), tau=(0.95, 1.1))
#: Theorem 2 domain Ω⁺: μ ∈ [−1, 1], ω ∈ [−0.1, 0.1], ν ∈ [3, 16], τ ∈ [0.8, 1.25].
OMEGA_PLUS = Domain(mu=(-1.0, 1.0), omega=(-0.1, 0.1), nu=(3.0, 16.0), tau=(0.8, 1.25))
#: Theorem 3 domain Ω⁻, part (a): ν ∈ [0.02, 0.16], τ ∈ [0.8, 1.25].
OMEGA_MINUS_A = Domain(
    mu=(-0.1, 0.1), omega=(-0.1, 0.1), nu=(0.02, 0.16), tau=(0.8, 1.25)
)
#: Theorem 3 domain Ω⁻, part (b): ν ∈ [0.02, 0.24], τ ∈ [0.9, 1.25].
OMEGA_MINUS_B = Domain(
    mu=(-0.1, 0.1), omega=(-0.1, 0.1), nu=(0.02, 0.24), tau=(0.9, 1.25)
)


# ======================================================================================
# Validation
# ======================================================================================


def _finite(name: str, value: ArrayLike) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)] if arr.ndim else arr
        raise ValueError(f"{name} must be finite, got {name}={bad.ravel()[0]!r}")
    return arr


def _positive(name: str, value: ArrayLike) -> np.ndarray:
    arr = _finite(name, value)
    if not np.all(arr > 0):
        bad = arr[~(arr > 0)] if arr.ndim else arr
        raise ValueError(f"{name} must be > 0, got {name}={bad.ravel()[0]!r}")
    return arr


def _keep_rate(q: ArrayLike) -> np.ndarray:
    arr = _finite("q", q)
    ok = (arr > 0) & (arr <= 1)
    if not np.all(ok):
        bad = arr[~ok] if arr.ndim else arr
        raise ValueError(f"keep rate q must be in (0, 1], got q={bad.ravel()[0]!r}")
    return arr


def _selu_params(alpha: ArrayLike, lam: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    return _finite("alpha", alpha), _positive("lam", lam)


# ======================================================================================
# Gaussian building blocks
# ======================================================================================


class _Pieces(NamedTuple):
    """Gaussian integrals of z ~ N(m, v) shared by the map and its Jacobian."""

    m: np.ndarray
    v: np.ndarray
    sqrt_v: np.ndarray
    a: np.ndarray  # m / sqrt(v)
    cdf: np.ndarray  # Φ(a) = P(z > 0)
    cdf_c: np.ndarray  # Φ(-a) = P(z <= 0)
    pdf: np.ndarray  # φ(a)
    e1: np.ndarray  # E[e^z 1{z<=0}] = e^{m+v/2} Φ(-(m+v)/√v)
    e2: np.ndarray  # E[e^{2z} 1{z<=0}] = e^{2m+2v} Φ(-(m+2v)/√v)


def _scaled_tail(t: np.ndarray, log_prefactor: np.ndarray, a: np.ndarray):
    r"""``½ exp(log_prefactor) erfc(t)`` with ``t² = a²/2 + log_prefactor``.

    For ``t >= 0`` this is ``½ exp(-a²/2) erfcx(t)``, which never overflows (the
    plain form overflows near v = 1400). For ``t < 0`` the prefactor is below 1
    (``log_prefactor < 0`` there), so the plain form is used; erfcx of a large
    negative argument would overflow instead.
    """
    pos = t >= 0
    scaled = 0.5 * np.exp(-0.5 * a * a) * erfcx(np.where(pos, t, 0.0))
    plain = 0.5 * np.exp(np.minimum(log_prefactor, 0.0)) * erfc(np.where(pos, 0.0, t))
    return np.where(pos, scaled, plain)


def _pieces(m: np.ndarray, v: np.ndarray) -> _Pieces:
    sqrt_v = np.sqrt(v)
    a = m / sqrt_v
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # (m + v)/s and (m + 2v)/s; near v = 1e308, 2v (and so s = sqrt(2v))
        # overflow, so there they are split as m/s + sqrt(v/2) and m/s + sqrt(2v).
        huge = v > 1e300
        s = np.where(huge, _SQRT2 * sqrt_v, np.sqrt(2.0 * v))
        t1 = np.where(huge, m / s + sqrt_v / _SQRT2, (m + v) / s)
        t2 = np.where(huge, m / s + _SQRT2 * sqrt_v, (m + 2.0 * v) / s)
        cdf = 0.5 * erfc(-a / _SQRT2)
        cdf_c = 0.5 * erfc(a / _SQRT2)
        pdf = np.exp(-0.5 * a * a) / _SQRT2PI
        e1 = _scaled_tail(t1, m + 0.5 * v, a)
        e2 = _scaled_tail(t2, 2.0 * m + 2.0 * v, a)
    return _Pieces(m, v, sqrt_v, a, cdf, cdf_c, pdf, e1, e2)


def _selu_moments(p: _Pieces, alpha, lam) -> tuple[np.ndarray, np.ndarray]:
    """(E selu(z), Var selu(z)) with the variance centred to avoid cancellation.

    Var f = E(f - c)² - (E f - c)² for any c. With c = λm for m >= 0 the large
    linear part cancels analytically; with c = -λα for m < 0 the saturation value
    does. See docs/derivations/selu_moments.md §3.
    """
    m, v, sqrt_v, a, cdf, cdf_c, pdf, e1, e2 = p
    mean = lam * (m * cdf + sqrt_v * pdf + alpha * (e1 - cdf_c))
    tail = v * (cdf - a * pdf)  # E[(z - m)² 1{z > 0}]
    # m >= 0, c = λ m:
    d = alpha + m
    # d * (d * P) rather than d² P: for |m| > 1.3e154, d² overflows where P = 0.
    second_pos = tail + alpha**2 * e2 - 2.0 * alpha * d * e1 + d * (d * cdf_c)
    shift_pos = sqrt_v * pdf + alpha * e1 - d * cdf_c
    var_pos = second_pos - shift_pos**2
    # m < 0, c = -λ α:
    second_neg = d * (d * cdf) + 2.0 * d * sqrt_v * pdf + tail + alpha**2 * e2
    shift_neg = d * cdf + sqrt_v * pdf + alpha * e1
    var_neg = second_neg - shift_neg**2
    var = lam * lam * np.where(m >= 0, var_pos, var_neg)
    return mean, np.maximum(var, 0.0)


def _broadcast(**arrays) -> tuple[int, ...]:
    """The broadcast shape of the named arrays, or ValueError naming them."""
    try:
        return np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(a)}" for k, a in arrays.items())
        raise ValueError(f"the shapes of {shapes} do not broadcast") from None


def _pre_activation(mu, nu, omega, tau) -> tuple[np.ndarray, np.ndarray]:
    mu = _finite("mu", mu)
    nu = _positive("nu", nu)
    omega = _finite("omega", omega)
    tau = _positive("tau", tau)
    _broadcast(mu=mu, nu=nu, omega=omega, tau=tau)
    with np.errstate(over="ignore", under="ignore"):
        m, v = mu * omega, nu * tau
    _in_range("mu * omega", m, np.isfinite(m), "finite (|m| <= 1.8e308)")
    _in_range("nu * tau", v, np.isfinite(v) & (v > 0), "in (0, 1.8e308]")
    return m, v


def _in_range(name: str, value: np.ndarray, ok: np.ndarray, rule: str) -> None:
    if not np.all(ok):
        bad = np.broadcast_to(value, np.shape(ok))[~ok].ravel()[0]
        raise ValueError(f"{name} must be {rule}, got {name}={bad!r}")


def _finite_result(name: str, out, **inputs) -> None:
    """ValueError where a result left float64 (a true value beyond 1.8e308)."""
    for field, value in out._asdict().items():
        bad = ~np.isfinite(value)
        if np.any(bad):
            i = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), bad.shape)
            at = ", ".join(
                f"{k}={np.broadcast_to(v, bad.shape)[i]!r}" for k, v in inputs.items()
            )
            raise ValueError(
                f"{name}: {field} exceeds the float64 range (|value| > 1.8e308) at "
                f"{at}; the moments are finite only while about lam**2 * alpha**2 * "
                f"nu * tau and lam * |mu * omega| stay below 1e308"
            )


# ======================================================================================
# The moment map and its Jacobian
# ======================================================================================


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
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"x must be numeric, got x={x!r}") from None
    _in_range("x", x, ~np.isnan(x), "a number (not NaN)")
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
    omega_arr = _finite("omega", omega)
    tau_arr = _positive("tau", tau)
    m, v = _pre_activation(mu, nu, omega_arr, tau_arr)
    _broadcast(m=m, alpha=alpha, lam=lam)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        p = _pieces(m, v)
        mean, _ = _selu_moments(p, alpha, lam)
        dmu_m = lam * (p.cdf + alpha * p.e1)
        dmu_v = 0.5 * lam * (alpha * p.e1 + (1.0 - alpha) * p.pdf / p.sqrt_v)
        dxi_m = 2.0 * lam**2 * (m * p.cdf + p.sqrt_v * p.pdf + alpha**2 * (p.e2 - p.e1))
        dxi_v = lam**2 * (p.cdf + alpha**2 * (2.0 * p.e2 - p.e1))
        h11 = omega_arr * dmu_m
        h12 = tau_arr * dmu_v
        h21 = omega_arr * (dxi_m - 2.0 * mean * dmu_m)
        h22 = tau_arr * (dxi_v - 2.0 * mean * dmu_v)
        h11, h12, h21, h22 = np.broadcast_arrays(h11, h12, h21, h22)
        out = MomentJacobian(h11, h12, h21, h22, _spectral_norm(h11, h12, h21, h22))
    _finite_result("moment_jacobian", out, mu=mu, nu=nu, omega=omega, tau=tau)
    return out


# ======================================================================================
# Iterates and fixed points
# ======================================================================================


def iterate_map(
    mu0: ArrayLike,
    nu0: ArrayLike,
    *,
    steps: int,
    omega: ArrayLike = 0.0,
    tau: ArrayLike = 1.0,
    alpha: ArrayLike = ALPHA_01,
    lam: ArrayLike = LAMBDA_01,
) -> MomentMap:
    r"""The trajectory :math:`(\mu_l, \nu_l) = g^l(\mu_0, \nu_0)`, l = 0 .. ``steps``.

    Layer-to-layer propagation of the moments in a network whose every unit has the
    same (ω, τ) (the map g of arXiv:1706.02515 applied ``steps`` times).

    Args:
      mu0, nu0: start (μ₀, ν₀), ν₀ > 0; broadcast with ``omega, tau, alpha, lam``.
      steps: number of map applications, >= 0.
      omega, tau, alpha, lam: as in :func:`moment_map`.

    Returns:
      :class:`MomentMap` whose arrays have a leading axis of length ``steps + 1``
      (index 0 is the start).

    Raises:
      ValueError: ``steps < 0`` or a bad argument as in :func:`moment_map`.

    Examples:
      >>> traj = iterate_map(0.1, 1.5, steps=2, omega=0.1, tau=1.1)
      >>> [round(float(x), 5) for x in traj.nu_tilde]
      [1.5, 1.48157, 1.46592]
    """
    if not isinstance(steps, int | np.integer) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got steps={steps!r}")
    mu = _finite("mu0", mu0)
    nu = _positive("nu0", nu0)
    shape = _broadcast(mu0=mu, nu0=nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
    mus, nus = [np.broadcast_to(mu, shape)], [np.broadcast_to(nu, shape)]
    for _ in range(int(steps)):
        out = moment_map(mus[-1], nus[-1], omega=omega, tau=tau, alpha=alpha, lam=lam)
        mus.append(np.broadcast_to(out.mu_tilde, shape))
        nus.append(np.broadcast_to(out.nu_tilde, shape))
    return MomentMap(np.stack(mus), np.stack(nus))


def fixed_point(
    *,
    omega: ArrayLike = 0.0,
    tau: ArrayLike = 1.0,
    alpha: ArrayLike = ALPHA_01,
    lam: ArrayLike = LAMBDA_01,
    mu0: ArrayLike = 0.0,
    nu0: ArrayLike = 1.0,
    xtol: float = 1e-14,
    maxiter: int = 5000,
) -> FixedPoint:
    r"""The fixed point of :math:`g` for given (ω, τ), by Banach iteration.

    Iterates :math:`(\mu, \nu) \leftarrow g(\mu, \nu)` (Theorem 1 of
    arXiv:1706.02515: on Ω the map is a contraction of Ω into itself, so the iterates
    converge geometrically to the unique fixed point from any start in Ω). Elementwise
    over the broadcast arguments; stops when every step is below
    ``xtol * (1 + |x|)``.

    Args:
      omega, tau, alpha, lam: as in :func:`moment_map`; they broadcast.
      mu0, nu0: start, ν₀ > 0.
      xtol: step tolerance, > 0.
      maxiter: iteration cap, >= 1.

    Returns:
      :class:`FixedPoint` with the residual :math:`\|g(x^*) - x^*\|_\infty`.

    Raises:
      ValueError: bad arguments, naming them.
      FixedPointError: no convergence within ``maxiter`` (e.g. (ω, τ) far outside
        Ω, where the map need not contract); the message names the first such element.

    Examples:
      >>> fp = fixed_point(omega=0.1, tau=1.1)
      >>> round(float(fp.mu), 5), round(float(fp.nu), 5)
      (0.05471, 1.41029)
      >>> float(fp.residual) < 1e-13
      True
    """
    if not (math.isfinite(xtol) and xtol > 0):
        raise ValueError(f"xtol must be > 0, got xtol={xtol!r}")
    if not isinstance(maxiter, int | np.integer) or maxiter < 1:
        raise ValueError(f"maxiter must be an integer >= 1, got maxiter={maxiter!r}")
    _finite("omega", omega)
    _positive("tau", tau)
    _selu_params(alpha, lam)
    mu = _finite("mu0", mu0)
    nu = _positive("nu0", nu0)
    shape = _broadcast(mu0=mu, nu0=nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
    mu, nu = np.broadcast_to(mu, shape).copy(), np.broadcast_to(nu, shape).copy()
    done = np.zeros(shape, dtype=bool)
    it = 0
    while it < maxiter and not np.all(done):
        it += 1
        out = moment_map(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
        step = np.maximum(
            np.abs(out.mu_tilde - mu) / (1 + np.abs(mu)),
            np.abs(out.nu_tilde - nu) / (1 + np.abs(nu)),
        )
        mu = np.where(done, mu, out.mu_tilde)
        nu = np.where(done, nu, out.nu_tilde)
        done |= step <= xtol
    if not np.all(done):
        i = np.unravel_index(int(np.flatnonzero(~done.ravel())[0]), shape)
        raise FixedPointError(
            f"no fixed point within {maxiter} iterations of g at element {i} "
            f"(last iterate mu={mu[i]!r}, nu={nu[i]!r})"
        )
    out = moment_map(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
    residual = np.maximum(np.abs(out.mu_tilde - mu), np.abs(out.nu_tilde - nu))
    return FixedPoint(mu, nu, it, residual)


def selu_parameters(
    mu_f: ArrayLike,
    nu_f: ArrayLike,
    *,
    omega: ArrayLike = 1.0,
    tau: ArrayLike = 1.0,
    alpha_max: float = 50.0,
) -> SeluParameters:
    r"""The SELU (α, λ) whose moment map has the fixed point :math:`(\mu_f, \nu_f)`.

    Solves :math:`\tilde\mu(\mu_f, \omega, \nu_f, \tau; \alpha, \lambda) = \mu_f` and
    :math:`\tilde\nu(\cdot) = \nu_f` (the general fixed point of arXiv:1706.02515,
    §"Self-normalizing neural networks"; the authors' ``getSELUparameters`` uses
    z ~ N(μ_f, ν_f), i.e. the defaults ω = τ = 1). Since
    :math:`\tilde\mu = \lambda M(\alpha)` and :math:`\tilde\nu = \lambda^2 V(\alpha)`,
    eliminating λ leaves one equation in α,

    .. math::

        r(\alpha) = M(\alpha)\sqrt{\nu_f} - \mu_f\sqrt{V(\alpha)} = 0, \qquad
        \lambda = \sqrt{\nu_f / V(\alpha)},

    solved by :func:`theory._solve.solve_bracketed` on the first sign change of
    :math:`r` on a grid of :math:`[0, \alpha_{max}]` (``r(0) > 0`` when the target
    is attainable). ``(0, 1)`` gives :data:`ALPHA_01`, :data:`LAMBDA_01` for any ω.

    Args:
      mu_f: target mean; broadcasts with the other arguments.
      nu_f: target variance > 0.
      omega, tau: weight summaries of the layer (ω finite, τ > 0).
      alpha_max: upper end of the search for α, > 0.

    Returns:
      :class:`SeluParameters`, float64 arrays of the broadcast shape.

    Raises:
      ValueError: bad arguments, or a target that no α in ``[0, alpha_max]`` attains
        (naming the target).
      FixedPointError: the bracketed solve failed.

    Examples:
      >>> p = selu_parameters(-0.1, 2.0)
      >>> round(float(p.alpha), 8), round(float(p.lam), 8)
      (1.9769022, 1.07385124)
    """
    mu_f = _finite("mu_f", mu_f)
    nu_f = _positive("nu_f", nu_f)
    omega = _finite("omega", omega)
    tau = _positive("tau", tau)
    if not (math.isfinite(alpha_max) and alpha_max > 0):
        raise ValueError(f"alpha_max must be > 0, got alpha_max={alpha_max!r}")
    shape = _broadcast(mu_f=mu_f, nu_f=nu_f, omega=omega, tau=tau)
    mu_c, nu_c, om_c, ta_c = (
        np.broadcast_to(x, shape).ravel() for x in (mu_f, nu_f, omega, tau)
    )

    def residual(alpha: np.ndarray, idx=slice(None)) -> np.ndarray:
        out = moment_map(
            mu_c[idx], nu_c[idx], omega=om_c[idx], tau=ta_c[idx], alpha=alpha, lam=1.0
        )
        return out.mu_tilde * np.sqrt(nu_c[idx]) - mu_c[idx] * np.sqrt(out.nu_tilde)

    grid = np.linspace(0.0, alpha_max, 501)
    scan = residual(grid[:, None])  # (G, C), one vectorized call
    change = np.sign(scan[:-1]) * np.sign(scan[1:]) <= 0
    if not np.all(change.any(axis=0)):
        i = int(np.flatnonzero(~change.any(axis=0))[0])
        raise ValueError(
            f"no alpha in [0, {alpha_max:g}] makes (mu_f, nu_f)=({mu_c[i]!r}, "
            f"{nu_c[i]!r}) a fixed point (omega={om_c[i]!r}, tau={ta_c[i]!r})"
        )
    first = change.argmax(axis=0)
    res = solve_bracketed(residual, grid[first], grid[first + 1], log=False, xtol=1e-15)
    alpha = res.root
    out = moment_map(mu_c, nu_c, omega=om_c, tau=ta_c, alpha=alpha, lam=1.0)
    lam = np.sqrt(nu_c / out.nu_tilde)
    check = moment_map(mu_c, nu_c, omega=om_c, tau=ta_c, alpha=alpha, lam=lam)
    resid = np.maximum(np.abs(check.mu_tilde - mu_c), np.abs(check.nu_tilde - nu_c))
    return SeluParameters(
        alpha.reshape(shape), lam.reshape(shape), resid.reshape(shape)
    )


# ======================================================================================
# Alpha-dropout
# ======================================================================================


def alpha_dropout_affine(
    q: ArrayLike,
    *,
    mu_f: ArrayLike = 0.0,
    nu_f: ArrayLike = 1.0,
    alpha: float = ALPHA_01,
    lam: float = LAMBDA_01,
) -> AlphaDropout:
    r"""Affine correction (a, b) that makes alpha-dropout keep (μ_f, ν_f) fixed.

    A unit is kept with probability ``q`` and otherwise set to
    :math:`\alpha' = -\lambda\alpha` (the SELU saturation value); then
    :math:`y = a(xd + \alpha'(1-d)) + b` (alpha-dropout, arXiv:1706.02515). If x has
    mean :math:`\mu_f` and variance :math:`\nu_f`, so does y exactly, for

    .. math::

        a = \sqrt{\frac{\nu_f}{q\big((1-q)(\alpha'-\mu_f)^2 + \nu_f\big)}}, \qquad
        b = \mu_f - a\big(q\mu_f + (1-q)\alpha'\big),

    which for (0, 1) is :math:`a = (q + \alpha'^2 q(1-q))^{-1/2}`,
    :math:`b = -a(1-q)\alpha'`.

    Args:
      q: keep probability in (0, 1]; broadcasts with ``mu_f, nu_f``.
      mu_f: mean to preserve, finite.
      nu_f: variance to preserve, > 0.
      alpha, lam: SELU parameters defining α' = −λα.

    Returns:
      :class:`AlphaDropout`.

    Raises:
      ValueError: ``q`` outside (0, 1], ``nu_f <= 0``, non-finite values.

    Examples:
      >>> d = alpha_dropout_affine(0.9)
      >>> round(float(d.a), 10), round(float(d.b), 10)
      (0.9212845161, 0.1619709701)
    """
    q = _keep_rate(q)
    mu_f = _finite("mu_f", mu_f)
    nu_f = _positive("nu_f", nu_f)
    alpha_arr, lam_arr = _selu_params(alpha, lam)
    if alpha_arr.ndim or lam_arr.ndim:
        raise ValueError(
            f"alpha and lam must be scalars here, got shapes {alpha_arr.shape} and "
            f"{lam_arr.shape}"
        )
    _broadcast(q=q, mu_f=mu_f, nu_f=nu_f)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        alpha_prime = float(-lam_arr * alpha_arr)
        # a^2 = nu_f / (q ((1-q) D^2 + nu_f)), D = alpha' - mu_f, written so that
        # D^2 and nu_f may be near 1e308: (1-q) D^2 / nu_f = ((1-q)^(1/2) D)^2 / nu_f.
        ratio = (np.sqrt(1.0 - q) * (alpha_prime - mu_f) / np.sqrt(nu_f)) ** 2
        a = 1.0 / np.sqrt(q * (ratio + 1.0))
        b = mu_f - a * (q * mu_f + (1.0 - q) * alpha_prime)
    out = AlphaDropout(a, b, alpha_prime)
    for name, value in [("a", a), ("b", b), ("alpha_prime", alpha_prime)]:
        _in_range(
            f"alpha-dropout {name}",
            np.asarray(value),
            np.isfinite(value),
            "finite (q too small or mu_f, alpha, lam too large for float64)",
        )
    return out


def alpha_dropout_moments(
    mu: ArrayLike,
    nu: ArrayLike,
    *,
    q: ArrayLike,
    mu_f: ArrayLike = 0.0,
    nu_f: ArrayLike = 1.0,
    alpha: float = ALPHA_01,
    lam: float = LAMBDA_01,
) -> MomentMap:
    r"""Mean and variance after alpha-dropout of an input with moments (μ, ν).

    .. math::

        \tilde\mu = a\big(q\mu + (1-q)\alpha'\big) + b, \qquad
        \tilde\nu = a^2 q\big(\nu + (1-q)(\mu - \alpha')^2\big),

    with (a, b, α') from :func:`alpha_dropout_affine` for the keep rate ``q`` and the
    preserved point (``mu_f``, ``nu_f``). Exact (no Gaussian assumption).

    Args:
      mu, nu: input mean and variance (ν > 0); broadcast with ``q``.
      q, mu_f, nu_f, alpha, lam: as in :func:`alpha_dropout_affine`.

    Returns:
      :class:`MomentMap`.

    Raises:
      ValueError: bad arguments, naming them.

    Examples:
      >>> out = alpha_dropout_moments(0.0, 1.0, q=0.8)
      >>> abs(float(out.mu_tilde)) < 1e-15, round(float(out.nu_tilde), 14)
      (True, 1.0)
    """
    mu = _finite("mu", mu)
    nu = _positive("nu", nu)
    d = alpha_dropout_affine(q, mu_f=mu_f, nu_f=nu_f, alpha=alpha, lam=lam)
    q = np.asarray(q, dtype=np.float64)
    _broadcast(mu=mu, nu=nu, q=q, mu_f=mu_f, nu_f=nu_f)
    ap = d.alpha_prime
    with np.errstate(over="ignore", invalid="ignore"):
        mean = d.a * (q * mu + (1.0 - q) * ap) + d.b
        var = d.a**2 * q * (nu + (1.0 - q) * (mu - ap) ** 2)
    out = MomentMap(mean, var)
    _finite_result("alpha_dropout_moments", out, mu=mu, nu=nu, q=q)
    return out


# ======================================================================================
# Other activations and the wide-network population map
# ======================================================================================


def relu_moment_map(
    mu: ArrayLike, nu: ArrayLike, *, omega: ArrayLike = 0.0, tau: ArrayLike = 1.0
) -> MomentMap:
    r"""Mean and variance of :math:`\max(z, 0)`, :math:`z \sim N(\mu\omega, \nu\tau)`.

    .. math::

        \tilde\mu = m\Phi(a) + \sqrt v\,\varphi(a), \qquad
        \tilde\nu = (m^2 + v)\Phi(a) + m\sqrt v\,\varphi(a) - \tilde\mu^2,

    with :math:`a = m/\sqrt v` (the α = 0, λ = 1 case of :func:`moment_map`, which is
    what is evaluated, with its cancellation-free variance).

    Args:
      mu, nu, omega, tau: as in :func:`moment_map`.

    Returns:
      :class:`MomentMap`.

    Raises:
      ValueError: as :func:`moment_map`.

    Examples:
      >>> out = relu_moment_map(0.0, 1.0)
      >>> round(float(out.mu_tilde), 12), round(float(out.nu_tilde), 12)
      (0.398942280401, 0.340845056908)
    """
    return moment_map(mu, nu, omega=omega, tau=tau, alpha=0.0, lam=1.0)


def tanh_moment_map(
    mu: ArrayLike,
    nu: ArrayLike,
    *,
    omega: ArrayLike = 0.0,
    tau: ArrayLike = 1.0,
    step: float = 0.2,
) -> MomentMap:
    r"""Mean and variance of :math:`\tanh z`, :math:`z \sim N(\mu\omega, \nu\tau)`.

    No closed form exists; this is the trapezoid rule on the real line,

    .. math::

        E f(z) \approx \frac{\sum_k f(z_k)\,\varphi_v(z_k - m)}
        {\sum_k \varphi_v(z_k - m)}, \qquad z_k = m + k h,\ |k h| \le 12\sqrt v,

    with :math:`h = \min(\text{step}, \sqrt v/4)`, and the variance taken about the
    computed mean. Approximate, with an explicit knob: both tanh (poles at
    :math:`\pm i\pi/2`) and the Gaussian are analytic in a strip, so the error
    decays like :math:`e^{-2\pi d/h}`; the default ``step = 0.2`` gives ~1e-16
    absolute error for :math:`10^{-4} \le v \le 10^4` (tested against 30-digit
    mpmath quadrature), using :math:`\approx 120\max(1, \sqrt v)` nodes.
    Gauss–Hermite quadrature is not used: for tanh it converges slowly once
    :math:`v \gtrsim 1` (deg = 96 is off by 6e-6 at v = 4 and by 4e-2 at v = 100).

    Args:
      mu, nu, omega, tau: as in :func:`moment_map`.
      step: largest trapezoid step in units of z, in (0, 1].

    Returns:
      :class:`MomentMap`.

    Raises:
      ValueError: as :func:`moment_map`, or ``step`` outside (0, 1].

    Examples:
      >>> out = tanh_moment_map(0.0, 1.0)
      >>> abs(float(out.mu_tilde)) < 1e-15, round(float(out.nu_tilde), 12)
      (True, 0.394294490398)
    """
    if not (
        isinstance(step, float | int | np.floating | np.integer)
        and not isinstance(step, bool)
        and math.isfinite(step)
        and 0 < step <= 1
    ):
        raise ValueError(f"step must be a number in (0, 1], got step={step!r}")
    m, v = _pre_activation(mu, nu, omega, tau)
    m, v = np.broadcast_arrays(m, v)
    sd = np.sqrt(v)
    h = np.minimum(step, sd / 4.0)
    half = int(np.ceil(np.max(12.0 * sd / h))) if sd.size else 0
    if half * max(m.size, 1) > _TANH_MAX_NODES:
        i = int(np.argmax(sd))
        raise ValueError(
            f"tanh_moment_map needs {2 * half + 1} nodes per cell at nu * tau="
            f"{v.ravel()[i]!r} with step={step!r}; the supported work is "
            f"{_TANH_MAX_NODES:.0e} nodes in all (nu * tau up to about "
            f"{(_TANH_MAX_NODES * step / 12) ** 2:.1e} for one cell)"
        )
    k = np.arange(-half, half + 1, dtype=np.float64)
    x = (h / sd)[..., None] * k  # standardized nodes, spacing h / sd
    w = np.exp(-0.5 * x * x)
    w = w / w.sum(axis=-1, keepdims=True)
    y = np.tanh(m[..., None] + sd[..., None] * x)
    mean = (y * w).sum(axis=-1)
    var = ((y - mean[..., None]) ** 2 * w).sum(axis=-1)
    return MomentMap(mean, var)


_ACTIVATIONS = ("selu", "relu", "tanh")
# Work cap of tanh_moment_map (cells x nodes): 1e7 nodes is ~0.5 s and 80 MB.
_TANH_MAX_NODES = 10**7


def population_moment_map(
    mu: ArrayLike,
    nu: ArrayLike,
    *,
    activation: str = "selu",
    alpha: ArrayLike = ALPHA_01,
    lam: ArrayLike = LAMBDA_01,
    step: float = 0.2,
) -> MomentMap:
    r"""Layer map of the moments over units *and* samples of a wide LeCun-normal net.

    With weights :math:`w_{ji} \sim N(0, 1/n)` (LeCun normal, fan-in ``n``) the
    per-unit sums :math:`\omega_j` are N(0, 1), not 0, so the paper's map at ω = 0
    does not describe the layer's population statistics when μ ≠ 0 (derivations §6). As
    :math:`n \to \infty`, :math:`z_j = \sum_i w_{ji} x_i` is N(0, :math:`\|x\|^2/n`)
    with :math:`\|x\|^2/n \to \nu + \mu^2`, so the population mean and variance of
    :math:`f(z)` are

    .. math::

        (\tilde\mu, \tilde\nu) = g_f(0, \nu + \mu^2;\ \omega = 0, \tau = 1),

    the mean-field second-moment recursion. At μ = 0 it equals :func:`moment_map` at
    ω = 0, τ = 1; for SELU, (0, 1) is its fixed point. See
    ``docs/derivations/selu_moments.md`` §6.

    Args:
      mu: population mean of the layer input, finite; broadcasts with ``nu``.
      nu: population variance of the layer input, >= 0 (``nu + mu**2 > 0``).
      activation: ``"selu"``, ``"relu"`` or ``"tanh"``.
      alpha, lam: SELU parameters (``"selu"`` only).
      step: trapezoid step of :func:`tanh_moment_map` (``"tanh"`` only).

    Returns:
      :class:`MomentMap`.

    Raises:
      ValueError: unknown activation, non-finite values, ``nu < 0`` or
        ``nu + mu² == 0``.

    Examples:
      >>> out = population_moment_map(0.5, 3.0)
      >>> round(float(out.mu_tilde), 3), round(float(out.nu_tilde), 3)
      (0.195, 2.5)
    """
    if not isinstance(activation, str) or activation not in _ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {_ACTIVATIONS}, got activation={activation!r}"
        )
    mu = _finite("mu", mu)
    nu = _finite("nu", nu)
    if not np.all(nu >= 0):
        bad = nu[~(nu >= 0)] if nu.ndim else nu
        raise ValueError(f"nu must be >= 0, got nu={bad.ravel()[0]!r}")
    _broadcast(mu=mu, nu=nu)
    with np.errstate(over="ignore"):
        second = nu + mu * mu
    _in_range("nu + mu**2", second, np.isfinite(second), "finite (<= 1.8e308)")
    if activation == "selu":
        return moment_map(0.0, second, alpha=alpha, lam=lam)
    if activation == "relu":
        return relu_moment_map(0.0, second)
    return tanh_moment_map(0.0, second, step=step)


# ======================================================================================
# Theorem checks on grids
# ======================================================================================


def _grid(domain: Domain, points: tuple[int, int, int, int]):
    if not isinstance(domain, Domain):
        raise ValueError(f"domain must be a Domain, got domain={domain!r}")
    if (
        not isinstance(points, tuple | list)
        or len(points) != 4
        or any(not isinstance(p, int | np.integer) or p < 2 for p in points)
    ):
        raise ValueError(f"points must be four integers >= 2, got points={points!r}")
    for name, (lo, hi) in domain._asdict().items():
        ok = all(
            isinstance(x, float | int) and not isinstance(x, bool) for x in (lo, hi)
        )
        if not (ok and math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"domain.{name} must be finite lo <= hi, got {(lo, hi)}")
    axes = [np.linspace(lo, hi, p) for (lo, hi), p in zip(domain, points, strict=True)]
    return axes, np.meshgrid(*axes, indexing="ij")


def _extreme(values: np.ndarray, grids, kind: str) -> Extreme:
    flat = int(np.argmax(values) if kind == "max" else np.argmin(values))
    idx = np.unravel_index(flat, values.shape)
    return Extreme(float(values[idx]), *(float(g[idx]) for g in grids))


def theorem1_extremes(
    *,
    domain: Domain = OMEGA,
    points: tuple[int, int, int, int] = (21, 21, 36, 16),
    alpha: float = ALPHA_01,
    lam: float = LAMBDA_01,
) -> Theorem1Extremes:
    r"""Theorem 1 of arXiv:1706.02515 evaluated on a grid of Ω.

    Theorem 1 (stable and attracting fixed point) rests on two facts over
    Ω = {μ ∈ [−0.1, 0.1], ω ∈ [−0.1, 0.1], ν ∈ [0.8, 1.5], τ ∈ [0.95, 1.1]}:

    .. math::

        \max_\Omega \|\mathcal{J}(\mu,\omega,\nu,\tau)\|_2 < 1, \qquad
        g(\Omega) \subseteq [-0.1, 0.1] \times [0.8, 1.5].

    This evaluates both on a ``points`` grid (μ, ω, ν, τ) including the corners
    (where the extremes lie) and returns the extremes with their arguments. A grid
    evaluation is evidence, not the paper's computer-assisted proof (which adds
    Lipschitz bounds between grid points).

    Args:
      domain: the box, default :data:`OMEGA`.
      points: grid points per axis (μ, ω, ν, τ), each >= 2.
      alpha, lam: SELU parameters.

    Returns:
      :class:`Theorem1Extremes`.

    Raises:
      ValueError: a bad ``points`` or ``domain``.

    Examples:
      >>> ext = theorem1_extremes(points=(3, 3, 3, 3))
      >>> round(ext.spectral_norm_max.value, 7), ext.spectral_norm_max[1:]
      (0.8976084, (-0.1, -0.1, 0.8, 1.1))
    """
    _, (mu, omega, nu, tau) = _grid(domain, points)
    out = moment_map(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
    norm = moment_jacobian(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
    grids = (mu, omega, nu, tau)
    return Theorem1Extremes(
        _extreme(norm.spectral_norm, grids, "max"),
        _extreme(out.mu_tilde, grids, "min"),
        _extreme(out.mu_tilde, grids, "max"),
        _extreme(out.nu_tilde, grids, "min"),
        _extreme(out.nu_tilde, grids, "max"),
    )


def theorem2_extreme(
    *,
    domain: Domain = OMEGA_PLUS,
    points: tuple[int, int, int, int] = (21, 21, 27, 19),
    alpha: float = ALPHA_01,
    lam: float = LAMBDA_01,
) -> Extreme:
    r"""Theorem 2 of arXiv:1706.02515 on a grid: the max of ν̃ − ν over Ω⁺.

    Theorem 2 (decreasing ν): on Ω⁺ = {μ ∈ [−1, 1], ω ∈ [−0.1, 0.1], ν ∈ [3, 16],
    τ ∈ [0.8, 1.25]}, :math:`\tilde\nu(\mu,\omega,\nu,\tau) < \nu`. Returns the
    largest :math:`\tilde\nu - \nu` on the grid (negative when the theorem holds
    there) and where it is attained.

    Args:
      domain: the box, default :data:`OMEGA_PLUS`.
      points: grid points per axis (μ, ω, ν, τ), each >= 2.
      alpha, lam: SELU parameters.

    Returns:
      :class:`Extreme`.

    Raises:
      ValueError: a bad ``points`` or ``domain``.

    Examples:
      >>> ext = theorem2_extreme(points=(3, 3, 3, 3))
      >>> round(ext.value, 6), ext[1:]
      (-0.119744, (-1.0, -0.1, 3.0, 1.25))
    """
    _, (mu, omega, nu, tau) = _grid(domain, points)
    out = moment_map(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
    return _extreme(out.nu_tilde - nu, (mu, omega, nu, tau), "max")


def theorem3_extremes(
    *,
    domains: tuple[Domain, Domain] = (OMEGA_MINUS_A, OMEGA_MINUS_B),
    points: tuple[int, int, int, int] = (21, 21, 29, 19),
    alpha: float = ALPHA_01,
    lam: float = LAMBDA_01,
) -> Theorem3Extremes:
    r"""Theorem 3 of arXiv:1706.02515 on grids: the min of ν̃ − ν on both parts of Ω⁻.

    Theorem 3 (increasing ν): for μ, ω ∈ [−0.1, 0.1] and either (a) ν ∈ [0.02, 0.16],
    τ ∈ [0.8, 1.25] or (b) ν ∈ [0.02, 0.24], τ ∈ [0.9, 1.25],
    :math:`\tilde\nu(\mu,\omega,\nu,\tau) > \nu`. Returns the smallest
    :math:`\tilde\nu - \nu` on a grid of each part (positive when the theorem holds
    there) and where it is attained.

    Args:
      domains: the two boxes, default (:data:`OMEGA_MINUS_A`, :data:`OMEGA_MINUS_B`).
      points: grid points per axis (μ, ω, ν, τ), each >= 2.
      alpha, lam: SELU parameters.

    Returns:
      :class:`Theorem3Extremes`.

    Raises:
      ValueError: a bad ``points`` or domain.

    Examples:
      >>> ext = theorem3_extremes(points=(3, 3, 3, 3))
      >>> round(ext.a.value, 7), round(ext.b.value, 7)
      (0.0077361, 0.0110293)
    """
    if not isinstance(domains, tuple | list) or len(domains) != 2:
        raise ValueError(f"domains must be two Domain boxes, got domains={domains!r}")
    found = []
    for domain in domains:
        _, (mu, omega, nu, tau) = _grid(domain, points)
        out = moment_map(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
        found.append(_extreme(out.nu_tilde - nu, (mu, omega, nu, tau), "min"))
    return Theorem3Extremes(*found)
