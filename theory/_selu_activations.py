r"""Moment maps of ReLU and tanh layers and the wide-network population map.

The comparison activations of arXiv:1706.02515's deep-network experiments, and the
mean-field map of a wide LeCun-normal layer (``docs/derivations/selu_moments.md``
§6). Re-exported by :mod:`theory.selu_moments`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from theory._args import finite
from theory._args import plain
from theory._args import require
from theory._selu_gauss import ALPHA_01
from theory._selu_gauss import LAMBDA_01
from theory._selu_gauss import _broadcast
from theory._selu_gauss import _pre_activation
from theory._selu_map import MomentMap
from theory._selu_map import moment_map

__all__ = ["population_moment_map", "relu_moment_map", "tanh_moment_map"]


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
            f"{plain(v.ravel()[i])!r} with step={step!r}; the supported work is "
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
    mu = finite("mu", mu)
    nu = finite("nu", nu)
    require("nu", nu, nu >= 0, ">= 0")
    _broadcast(mu=mu, nu=nu)
    with np.errstate(over="ignore"):
        second = nu + mu * mu
    require("nu + mu**2", second, np.isfinite(second), "finite (<= 1.8e308)")
    if activation == "selu":
        return moment_map(0.0, second, alpha=alpha, lam=lam)
    if activation == "relu":
        return relu_moment_map(0.0, second)
    return tanh_moment_map(0.0, second, step=step)
