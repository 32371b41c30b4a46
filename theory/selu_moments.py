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
``docs/derivations/selu_moments.md``. The map and its Jacobian, the other
activations and the theorem checks live in private modules (``theory._selu_*``)
and are re-exported here.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import finite
from theory._args import integer
from theory._args import plain
from theory._args import positive
from theory._args import require
from theory._selu_activations import population_moment_map
from theory._selu_activations import relu_moment_map
from theory._selu_activations import tanh_moment_map
from theory._selu_gauss import ALPHA_01
from theory._selu_gauss import LAMBDA_01
from theory._selu_gauss import _broadcast
from theory._selu_gauss import _finite_result
from theory._selu_gauss import _keep_rate
from theory._selu_gauss import _selu_params
from theory._selu_map import MomentJacobian
from theory._selu_map import MomentMap
from theory._selu_map import moment_jacobian
from theory._selu_map import moment_map
from theory._selu_map import selu
from theory._selu_theorems import OMEGA
from theory._selu_theorems import OMEGA_MINUS_A
from theory._selu_theorems import OMEGA_MINUS_B
from theory._selu_theorems import OMEGA_PLUS
from theory._selu_theorems import Domain
from theory._selu_theorems import Extreme
from theory._selu_theorems import Theorem1Extremes
from theory._selu_theorems import Theorem3Extremes
from theory._selu_theorems import theorem1_extremes
from theory._selu_theorems import theorem2_extreme
from theory._selu_theorems import theorem3_extremes
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


class FixedPoint(NamedTuple):
    r"""Fixed point :math:`(\mu^*, \nu^*) = g(\mu^*, \nu^*)` found by iterating ``g``.

    Attributes:
      mu: :math:`\mu^*`.
      nu: :math:`\nu^*`.
      iterations: steps (of g, or Newton steps) until every element converged.
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
    r"""Alpha-dropout :math:`y = a\,(x d + \alpha'(1-d)) + b`, d ~ Bernoulli(q).

    Attributes:
      a: affine scale :math:`a`.
      b: affine shift :math:`b`.
      alpha_prime: value of a dropped unit, :math:`\alpha' = -\lambda\alpha`.
    """

    a: np.ndarray
    b: np.ndarray
    alpha_prime: float


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
    integer("steps", steps, 0)
    mu = finite("mu0", mu0)
    nu = positive("nu0", nu0)
    shape = _broadcast(mu0=mu, nu0=nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
    mus, nus = [np.broadcast_to(mu, shape)], [np.broadcast_to(nu, shape)]
    for _ in range(int(steps)):
        out = moment_map(mus[-1], nus[-1], omega=omega, tau=tau, alpha=alpha, lam=lam)
        mus.append(np.broadcast_to(out.mu_tilde, shape))
        nus.append(np.broadcast_to(out.nu_tilde, shape))
    return MomentMap(np.stack(mus), np.stack(nus))


# fixed_point switches from g to Newton steps on g(x) - x once a step of g is below
# this (relative): where g contracts slowly (rate q near 1) a small step of g still
# leaves an error of step * q / (1 - q).
_NEWTON_FROM = 1e-4


def _step(mu, nu, new_mu, new_nu):
    return np.maximum(
        np.abs(new_mu - mu) / (1 + np.abs(mu)), np.abs(new_nu - nu) / (1 + np.abs(nu))
    )


def _newton(mu, nu, g_mu, g_nu, jac):
    """x - (J - I)^(-1) (g(x) - x), elementwise over 2x2 systems."""
    r_mu, r_nu = g_mu - mu, g_nu - nu
    a, b = jac.dmu_dmu - 1.0, jac.dmu_dnu
    c, d = jac.dnu_dmu, jac.dnu_dnu - 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        det = a * d - b * c
        return mu - (d * r_mu - b * r_nu) / det, nu - (a * r_nu - c * r_mu) / det


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
    converge geometrically to the unique fixed point from any start in Ω). Once a step
    is below 1e-4 (relative) it takes Newton steps on :math:`g(x) - x` with the
    closed-form Jacobian instead, so that a slow contraction (rate q near 1, whose
    small steps still leave an error of step·q/(1 − q)) ends at the fixed point to
    rounding. Elementwise over the broadcast arguments; stops when every step is below
    ``xtol * (1 + |x|)``. Where the variance collapses (e.g. ω = 0, τ ≤ 0.4) the
    iterates tend to ν = 0 and the result is that limit to within ``xtol``.

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
    integer("maxiter", maxiter, 1)
    finite("omega", omega)
    positive("tau", tau)
    _selu_params(alpha, lam)
    mu = finite("mu0", mu0)
    nu = positive("nu0", nu0)
    shape = _broadcast(mu0=mu, nu0=nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
    mu, nu = np.broadcast_to(mu, shape).copy(), np.broadcast_to(nu, shape).copy()
    kw = dict(omega=omega, tau=tau, alpha=alpha, lam=lam)
    done = np.zeros(shape, dtype=bool)
    it = 0
    while it < maxiter and not np.all(done):
        it += 1
        out = moment_map(mu, nu, **kw)
        new_mu, new_nu = out.mu_tilde, out.nu_tilde
        near = _step(mu, nu, new_mu, new_nu) < _NEWTON_FROM
        if np.any(near & ~done):
            nmu, nnu = _newton(mu, nu, new_mu, new_nu, moment_jacobian(mu, nu, **kw))
            use = near & np.isfinite(nmu) & np.isfinite(nnu) & (nnu > 0)
            new_mu, new_nu = np.where(use, nmu, new_mu), np.where(use, nnu, new_nu)
        step = _step(mu, nu, new_mu, new_nu)
        mu = np.where(done, mu, new_mu)
        nu = np.where(done, nu, new_nu)
        done |= step <= xtol
    if not np.all(done):
        i = np.unravel_index(int(np.flatnonzero(~done.ravel())[0]), shape)
        raise FixedPointError(
            f"no fixed point within {maxiter} iterations of g at element {i} "
            f"(last iterate mu={plain(mu[i])!r}, nu={plain(nu[i])!r})"
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
    mu_f = finite("mu_f", mu_f)
    nu_f = positive("nu_f", nu_f)
    omega = finite("omega", omega)
    tau = positive("tau", tau)
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
        with np.errstate(over="ignore", invalid="ignore"):  # +-inf keep their sign
            return out.mu_tilde * np.sqrt(nu_c[idx]) - mu_c[idx] * np.sqrt(out.nu_tilde)

    grid = np.linspace(0.0, alpha_max, 501)
    scan = residual(grid[:, None])  # (G, C), one vectorized call
    change = np.sign(scan[:-1]) * np.sign(scan[1:]) <= 0
    if not np.all(change.any(axis=0)):
        i = int(np.flatnonzero(~change.any(axis=0))[0])
        raise ValueError(
            f"no alpha in [0, {alpha_max:g}] makes (mu_f, nu_f)="
            f"({plain(mu_c[i])!r}, {plain(nu_c[i])!r}) a fixed point "
            f"(omega={plain(om_c[i])!r}, tau={plain(ta_c[i])!r})"
        )
    first = change.argmax(axis=0)
    res = solve_bracketed(residual, grid[first], grid[first + 1], log=False, xtol=1e-15)
    alpha = res.root
    out = moment_map(mu_c, nu_c, omega=om_c, tau=ta_c, alpha=alpha, lam=1.0)
    with np.errstate(over="ignore", divide="ignore"):
        lam = np.sqrt(nu_c / out.nu_tilde)
    if not np.all(np.isfinite(lam)):
        i = int(np.flatnonzero(~np.isfinite(lam))[0])
        raise ValueError(
            f"lambda exceeds the float64 range for (mu_f, nu_f)="
            f"({plain(mu_c[i])!r}, {plain(nu_c[i])!r}) (omega={plain(om_c[i])!r}, "
            f"tau={plain(ta_c[i])!r})"
        )
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
    mu_f = finite("mu_f", mu_f)
    nu_f = positive("nu_f", nu_f)
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
        # b = mu_f (1 - a q) - a (1 - q) alpha', with 1 - a q = (1 - q + ratio) /
        # ((1 + ratio)(1 + a q)): a q -> 1 as q -> 1, and 1 - a q formed as a
        # difference lost digits (4e-5 relative in b at q = 1 - 1e-12).
        omq = 1.0 - q
        one_minus_aq = (omq + ratio) / ((1.0 + ratio) * (1.0 + a * q))
        b = mu_f * one_minus_aq - a * omq * alpha_prime
    out = AlphaDropout(a, b, alpha_prime)
    for name, value in [("a", a), ("b", b), ("alpha_prime", alpha_prime)]:
        require(
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
    mu = finite("mu", mu)
    nu = positive("nu", nu)
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
