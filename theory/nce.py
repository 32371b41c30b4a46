r"""Maximum likelihood as compositional optimization (MECO) versus NCE.

Jiang, Qin, Wu, Chen, Yang & Zhang (2023), "Learning Unnormalized Statistical Models
via Compositional Optimization", ICML 2023, arXiv:2306.07485. An energy model
:math:`p_\theta(x) = e^{-E_\theta(x)}/Z(\theta)` has negative log-likelihood

.. math::
    F(\theta) = E_{p_d}[E_\theta(x)] + f(g(\theta)), \qquad f(u) = \log u, \qquad
    g(\theta) = E_{y\sim q}\Big[\frac{e^{-E_\theta(y)}}{q(y)}\Big] = Z(\theta),

a compositional objective whose inner function has unbiased minibatch estimates;
MECO tracks :math:`g(\theta_t)` with a moving average. Noise-contrastive estimation
(Gutmann & Hyvärinen 2010) instead learns a normalizer :math:`c` by logistic
regression against :math:`q` with noise ratio :math:`\nu` and, as Liu et al. (ICLR
2022, arXiv:2110.11271) showed, has an exponentially flat landscape when :math:`q`
is far from the data.

This module evaluates both objectives for the 1-D Gaussian-mean example
(:math:`E_\theta(x) = (x-\theta)^2/2`, data :math:`N(\theta^*, 1)`, noise
:math:`N(m, s^2)`) in float64: closed forms where they exist, otherwise composite
Gauss-Legendre quadrature in log space. The paper's full text was not available to
us (only its abstract), so no equation, section, algorithm, theorem or figure number
of the paper is cited in this module; ``docs/derivations/nce.md`` ("Citations to the
paper") lists which of them are still unconfirmed. Every formula here is re-derived
and checked numerically in ``docs/derivations/nce.md``; ``docs/nce.md`` says which
parts are the paper's and which are our reading.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import plain
from theory._args import require
from theory._nce_check import _arrays
from theory._nce_gaussian import nce_hessian_flat
from theory._nce_gaussian import nce_terms_flat
from theory._nce_mle import GaussianMeanNLL
from theory._nce_mle import ImportanceWeightMoments
from theory._nce_mle import TrackerMoments
from theory._nce_mle import gaussian_mean_nll
from theory._nce_mle import importance_weight_moments
from theory._nce_mle import tracker_moments
from theory._nce_quad import HALF_LOG_2PI
from theory._solve import solve_bracketed

__all__ = [
    "NCE_MAX_DISTANCE",
    "NCE_NOISE_STD_RANGE",
    "GaussianMeanLandscape",
    "GaussianMeanNLL",
    "ImportanceWeightMoments",
    "NCEFlatness",
    "NCEHessian",
    "NCEValue",
    "TrackerMoments",
    "gaussian_mean_landscape",
    "gaussian_mean_nll",
    "importance_weight_moments",
    "nce_flatness",
    "nce_gaussian_mean",
    "nce_hessian_at_optimum",
    "nce_optimal_offset",
    "tracker_moments",
]

#: Largest data-noise, model-noise or model-data distance accepted by the NCE
#: quadrature (measured within 1.3e-14 of 30-digit references up to it, with panels
#: refined at the logit's poles; ``docs/derivations/nce.md`` §3.1).
NCE_MAX_DISTANCE = 25.0
#: Noise scales :math:`s` accepted by the NCE quadrature.
NCE_NOISE_STD_RANGE = (0.25, 25.0)


# ======================================================================================
# Result types
# ======================================================================================


class NCEValue(NamedTuple):
    r"""NCE loss and gradient at :math:`(\theta, c)`.

    Attributes:
      loss: :math:`L_{NCE}(\theta, c)` (per data point, noise ratio :math:`\nu`).
      grad_theta: :math:`\partial L/\partial\theta`.
      grad_c: :math:`\partial L/\partial c`.
      curv_c: :math:`\partial^2 L/\partial c^2 > 0`.
    """

    loss: np.ndarray
    grad_theta: np.ndarray
    grad_c: np.ndarray
    curv_c: np.ndarray


class NCEHessian(NamedTuple):
    r"""Hessian of the NCE loss over :math:`(\theta, c)` at its minimizer.

    Attributes:
      h_tt, h_tc, h_cc: entries :math:`H_{\theta\theta}, H_{\theta c}, H_{cc}`.
      eig_small, eig_large: its eigenvalues, :math:`0 \le` small :math:`\le` large.
      profiled_curvature: :math:`\tilde L''(\theta^*) = H_{\theta\theta} -
        H_{\theta c}^2/H_{cc}`, the curvature with :math:`c` minimized out.
    """

    h_tt: np.ndarray
    h_tc: np.ndarray
    h_cc: np.ndarray
    eig_small: np.ndarray
    eig_large: np.ndarray
    profiled_curvature: np.ndarray


class GaussianMeanLandscape(NamedTuple):
    r"""Population NLL and NCE landscapes of the 1-D Gaussian-mean example.

    Attributes:
      nll: :math:`F(\theta)`.
      nll_grad: :math:`F'(\theta) = \theta - \theta^*`.
      nce_loss: :math:`L_{NCE}(\theta, c)` at the true normalizer
        :math:`c = \tfrac12\log 2\pi`.
      nce_grad_theta: :math:`\partial_\theta L_{NCE}` there.
      nce_grad_c: :math:`\partial_c L_{NCE}` there.
      nce_profiled_loss: :math:`\tilde L(\theta) = \min_c L_{NCE}(\theta, c)`.
      nce_profiled_grad: :math:`\tilde L'(\theta) = \partial_\theta L_{NCE}(\theta,
        c^*(\theta))` (envelope theorem).
      c_opt: :math:`c^*(\theta) = \arg\min_c L_{NCE}(\theta, c)`.
      c_opt_offset: :math:`c'^*(\theta) = c^*(\theta) - \tfrac12\log 2\pi`.
    """

    nll: np.ndarray
    nll_grad: np.ndarray
    nce_loss: np.ndarray
    nce_grad_theta: np.ndarray
    nce_grad_c: np.ndarray
    nce_profiled_loss: np.ndarray
    nce_profiled_grad: np.ndarray
    c_opt: np.ndarray
    c_opt_offset: np.ndarray


class NCEFlatness(NamedTuple):
    r"""Leading-order flatness of the profiled NCE landscape (:math:`s = \nu = 1`).

    Attributes:
      profiled_grad: :math:`-(R - 2a)\,e^{-a(R-a)/2}` with :math:`a = \theta - m`,
        :math:`R = \theta^* - m`; accurate for :math:`1 \lesssim a < R/2`.
      plateau: :math:`e^{-R^2/8}`, the scale of :math:`|\tilde L'|` for
        :math:`a \ge R/2` and of the curvature at the optimum.
      ratio_to_nll: :math:`|\text{profiled\_grad}| / |F'(\theta)|`.
    """

    profiled_grad: np.ndarray
    plateau: np.ndarray
    ratio_to_nll: np.ndarray


# ======================================================================================
# Validation
# ======================================================================================


def _check_nce_domain(theta, mu_d, m, s, nu) -> None:
    lo, hi = NCE_NOISE_STD_RANGE
    bad = (s < lo) | (s > hi)
    if bad.any():
        raise ValueError(
            f"noise_std must be in [{lo}, {hi}] for the NCE quadrature, got "
            f"noise_std={plain(s[bad].ravel()[0])!r}"
        )
    for label, d in (
        ("|data_mean - noise_mean|", mu_d - m),
        ("|theta - noise_mean|", theta - m),
        ("|theta - data_mean|", theta - mu_d),
    ):
        bad = np.abs(d) > NCE_MAX_DISTANCE
        if bad.any():
            raise ValueError(
                f"{label} must be <= {NCE_MAX_DISTANCE} for the NCE quadrature, got "
                f"{float(np.abs(d[bad]).ravel()[0])!r}"
            )
    require("nu", nu, (nu >= 1e-8) & (nu <= 1e8), "in [1e-8, 1e8]")


# ======================================================================================
# NLL and the compositional form
# ======================================================================================


# ======================================================================================
# NCE
# ======================================================================================


def _nce_inputs(theta, data_mean, noise_mean, noise_std, nu) -> list[np.ndarray]:
    """The arguments checked by name and against the quadrature's domain, broadcast."""
    args = _arrays(
        theta=theta,
        data_mean=data_mean,
        noise_mean=noise_mean,
        noise_std=noise_std,
        nu=nu,
    )
    _check_nce_domain(*args)
    return args


def nce_gaussian_mean(
    theta: ArrayLike,
    c: ArrayLike,
    *,
    data_mean: ArrayLike,
    noise_mean: ArrayLike = 0.0,
    noise_std: ArrayLike = 1.0,
    nu: ArrayLike = 1.0,
) -> NCEValue:
    r"""Population NCE loss and gradient of :math:`p_m = e^{-(x-\theta)^2/2 - c}`.

    .. math::
        L(\theta, c) = -E_{p_d}[\log\sigma(G)] - \nu E_q[\log\sigma(-G)], \quad
        G = \log p_m - \log(\nu q), \quad
        \nabla L = \nu\int\frac{q}{p_m + \nu q}(p_m - p_d)\nabla\log p_m\,dx

    (Gutmann & Hyvärinen 2012; the gradient form as in Liu et al.,
    arXiv:2110.11271, generalized to :math:`\nu \ne 1` and checked by finite
    differences in ``docs/derivations/nce.md`` §3). Data :math:`N(\theta^*,1)`,
    noise :math:`N(m, s^2)`.

    Args:
      theta: :math:`\theta`.
      c: learned log-normalizer :math:`c` (the truth is :math:`\tfrac12\log 2\pi`).
      data_mean: :math:`\theta^*`.
      noise_mean: :math:`m`.
      noise_std: :math:`s` in :data:`NCE_NOISE_STD_RANGE`.
      nu: noise ratio :math:`\nu = T_n/T_d` in :math:`[10^{-8}, 10^8]`.
        Pairwise distances of :math:`\theta, \theta^*, m` at most
        :data:`NCE_MAX_DISTANCE`.

    Returns:
      :class:`NCEValue`, broadcast over the arguments; over the whole accepted range
      ``loss`` and ``curv_c`` measured within 1.3e-14 relative of 30-digit
      references (``docs/derivations/nce.md`` §3.1), and the gradients within
      1.3e-14 of the size of their model and data halves: near a stationary point,
      where the halves cancel, the relative error grows like eps over the distance
      of θ from θ* (3.4e-7 of ``grad_c`` at θ − θ* = 1e-9, c at the truth). Any
      finite ``c`` is accepted.
      Each cell is independent of the other cells of the call.

    Raises:
      ValueError: non-finite input, a parameter outside its range, or shapes that do
        not broadcast.

    Example:
      >>> r = nce_gaussian_mean(0.0, 0.5 * np.log(2 * np.pi), data_mean=4.0)
      >>> round(float(r.loss), 12), round(float(r.grad_theta), 12)
      (1.38629436112, -2.0)
    """
    th, c, mu_d, m, s, nu = _arrays(
        theta=theta,
        c=c,
        data_mean=data_mean,
        noise_mean=noise_mean,
        noise_std=noise_std,
        nu=nu,
    )
    _check_nce_domain(th, mu_d, m, s, nu)
    shape = th.shape
    flat = (a.ravel() for a in (th, c - HALF_LOG_2PI, mu_d, m, s, nu))
    out = nce_terms_flat(*flat)
    return NCEValue(*(o.reshape(shape) for o in out))


def _offset_root(th, mu_d, m, s, nu) -> np.ndarray:
    """argmin over c' of the NCE loss, by the shared bracketed solver (flat arrays)."""
    d = np.maximum.reduce([np.abs(th - m), np.abs(mu_d - m), np.abs(th - mu_d)]) + 40
    bound = 50.0 + np.abs(np.log(nu)) + np.abs(np.log(s)) + d**2 * (1 + 1 / s**2)

    def fun(cp):
        out = nce_terms_flat(th, cp, mu_d, m, s, nu)
        return out[2], out[3]

    return solve_bracketed(fun, -bound, bound, log=False, xtol=1e-13).root


def nce_optimal_offset(
    theta: ArrayLike,
    *,
    data_mean: ArrayLike,
    noise_mean: ArrayLike = 0.0,
    noise_std: ArrayLike = 1.0,
    nu: ArrayLike = 1.0,
) -> np.ndarray:
    r"""The profiled offset :math:`c'^*(\theta) = \arg\min_c L - \tfrac12\log 2\pi`.

    For :math:`s = \nu = 1` it is the closed form :math:`c'^* = (\theta-m)(\theta^*
    - \theta)/2`, which puts the classifier's boundary at :math:`(m+\theta^*)/2`
    (``docs/derivations/nce.md`` §3.2); otherwise the root of
    :math:`\partial_c L = E_{p_d}[\sigma(-G)] - \nu E_q[\sigma(G)]` found by
    :func:`theory._solve.solve_bracketed` (the loss is strictly convex in :math:`c`).

    Args and Raises: as :func:`nce_gaussian_mean` (without ``c``).

    Returns:
      array broadcast over the arguments.

    Example:
      >>> float(nce_optimal_offset(2.0, data_mean=8.0))
      6.0
    """
    th, mu_d, m, s, nu = _nce_inputs(theta, data_mean, noise_mean, noise_std, nu)
    shape = th.shape
    th, mu_d, m, s, nu = (a.ravel() for a in (th, mu_d, m, s, nu))
    out = 0.5 * (th - m) * (mu_d - th)
    general = ~((s == 1.0) & (nu == 1.0))
    if general.any():
        g = general
        out[g] = _offset_root(th[g], mu_d[g], m[g], s[g], nu[g])
    out = out.reshape(shape)
    return out


def nce_hessian_at_optimum(
    *,
    data_mean: ArrayLike,
    noise_mean: ArrayLike = 0.0,
    noise_std: ArrayLike = 1.0,
    nu: ArrayLike = 1.0,
) -> NCEHessian:
    r"""Hessian of the NCE loss over :math:`(\theta, c)` at :math:`(\theta^*, \log Z)`.

    .. math::
        H = \nu\int\frac{p_d\,q}{p_d+\nu q}\,\nabla\log p_m\,\nabla\log p_m^\top dx,
        \qquad \nabla\log p_m = (x - \theta, -1)

    (Liu et al., arXiv:2110.11271, for :math:`\nu = 1`; general :math:`\nu` derived
    in ``docs/derivations/nce.md`` §4). It is PSD; both eigenvalues decay like
    :math:`e^{-R^2/8}` with :math:`R = \theta^* - m`, against :math:`F'' = 1`.

    Args and Raises: as :func:`nce_gaussian_mean` (no ``theta``, ``c``).

    Returns:
      :class:`NCEHessian`, broadcast over the arguments (entries measured within
      1e-14 relative of 30-digit references, ``docs/derivations/nce.md`` §3.1).

    Example:
      >>> h = nce_hessian_at_optimum(data_mean=0.0)
      >>> round(float(h.h_cc), 12), round(float(h.h_tt), 12)
      (0.5, 0.5)
    """
    mu_d, m, s, nu = _arrays(
        data_mean=data_mean,
        noise_mean=noise_mean,
        noise_std=noise_std,
        nu=nu,
    )
    _check_nce_domain(mu_d, mu_d, m, s, nu)
    shape = mu_d.shape
    h_tt, h_tc, h_cc = (
        o.reshape(shape)
        for o in nce_hessian_flat(*(a.ravel() for a in (mu_d, m, s, nu)))
    )
    half_tr = 0.5 * (h_tt + h_cc)
    disc = np.hypot(0.5 * (h_tt - h_cc), h_tc)
    large = half_tr + disc
    det = h_tt * h_cc - h_tc**2
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.where(large > 0, det / large, 0.0)
        prof = np.where(h_cc > 0, det / h_cc, 0.0)
    return NCEHessian(h_tt, h_tc, h_cc, small, large, prof)


def gaussian_mean_landscape(
    theta: ArrayLike,
    *,
    data_mean: ArrayLike,
    noise_mean: ArrayLike = 0.0,
    noise_std: ArrayLike = 1.0,
    nu: ArrayLike = 1.0,
) -> GaussianMeanLandscape:
    r"""NLL and NCE landscapes of the 1-D Gaussian-mean example, side by side.

    The comparison of arXiv:2306.07485 (1-D Gaussian mean estimation; abstract: MECO
    has "a much favorable loss landscape"; the paper's section and figure numbers for
    it are not confirmed): :math:`F(\theta) = \tfrac12(\theta -
    \theta^*)^2 + \mathrm{const}` for any :math:`q`, against NCE with :math:`c` at
    the truth and with :math:`c` minimized out,

    .. math::
        \tilde L(\theta) = \min_c L(\theta, c), \qquad
        \tilde L'(\theta) = \partial_\theta L(\theta, c^*(\theta)).

    For :math:`s = \nu = 1`, :math:`\tilde L(\theta) = 2E_Z[\mathrm{softplus}(-(\theta
    - m)(Z + R/2))]` and :math:`|\tilde L'|` is of order :math:`(R-2a)
    e^{-a(R-a)/2}`, :math:`a = \theta - m` (see :func:`nce_flatness`). Derivations
    and the reference table: ``docs/derivations/nce.md`` §3, §5.

    Args:
      theta: :math:`\theta`, broadcast against the other arguments.
      data_mean: :math:`\theta^*`.
      noise_mean: :math:`m`.
      noise_std: :math:`s` in :data:`NCE_NOISE_STD_RANGE`.
      nu: noise ratio :math:`\nu`.

    Returns:
      :class:`GaussianMeanLandscape`, broadcast over the arguments.

    Raises:
      ValueError: non-finite input, a parameter outside its range (see
        :func:`nce_gaussian_mean`), or shapes that do not broadcast.

    Example:
      >>> r = gaussian_mean_landscape(2.0, data_mean=8.0)
      >>> float(r.nll_grad), float(r.c_opt_offset), f"{float(r.nce_profiled_grad):.4g}"
      (-6.0, 6.0, '-0.009712')
    """
    th, mu_d, m, s, nu = _nce_inputs(theta, data_mean, noise_mean, noise_std, nu)
    kw = dict(data_mean=mu_d, noise_mean=m, noise_std=s, nu=nu)
    fixed = nce_gaussian_mean(th, HALF_LOG_2PI, **kw)
    offset = nce_optimal_offset(th, **kw)
    prof = nce_gaussian_mean(th, offset + HALF_LOG_2PI, **kw)
    return GaussianMeanLandscape(
        nll=0.5 * (th - mu_d) ** 2 + 0.5 * (1.0 + 2.0 * HALF_LOG_2PI),
        nll_grad=th - mu_d,
        nce_loss=fixed.loss,
        nce_grad_theta=fixed.grad_theta,
        nce_grad_c=fixed.grad_c,
        nce_profiled_loss=prof.loss,
        nce_profiled_grad=prof.grad_theta,
        c_opt=offset + HALF_LOG_2PI,
        c_opt_offset=offset,
    )


def nce_flatness(
    theta: ArrayLike, *, data_mean: ArrayLike, noise_mean: ArrayLike = 0.0
) -> NCEFlatness:
    r"""Leading-order profiled NCE gradient across the "density chasm" (s = ν = 1).

    With :math:`a = \theta - m`, :math:`R = \theta^* - m` and
    :math:`W = Z + R/2`, :math:`\tilde L'(\theta) = -2E[W\sigma(-aW)]`; replacing
    :math:`\sigma(-aW)` by :math:`e^{-aW}` on :math:`W > 0` gives

    .. math::
        \tilde L'(\theta) \approx -(R - 2a)\,e^{-a(R-a)/2}, \qquad 1 \lesssim a < R/2,

    and the remaining :math:`W < 0` part is :math:`O(e^{-R^2/8})`, the plateau for
    :math:`a \ge R/2` (``docs/derivations/nce.md`` §3.3; the flatness phenomenon of
    Liu et al., arXiv:2110.11271, in the setting of arXiv:2306.07485).

    Args:
      theta: :math:`\theta`.
      data_mean: :math:`\theta^*`.
      noise_mean: :math:`m`.

    Returns:
      :class:`NCEFlatness`, broadcast over the arguments.

    Raises:
      ValueError: non-finite input, :math:`\theta - m` or :math:`\theta^* - m`
        beyond the float64 range, or shapes that do not broadcast.

    Example:
      >>> f"{float(nce_flatness(2.0, data_mean=8.0).profiled_grad):.4g}"
      '-0.009915'
    """
    th, mu_d, m = _arrays(
        theta=theta,
        data_mean=data_mean,
        noise_mean=noise_mean,
    )
    with np.errstate(over="ignore"):
        a, r = th - m, mu_d - m
    require("theta - noise_mean", a, np.isfinite(a), "within the float64 range")
    require("data_mean - noise_mean", r, np.isfinite(r), "within the float64 range")
    # Far outside its range the asymptote is inf (R - a may overflow, and then the
    # exponential is inf too: the ratio inf/inf is inf). r^2 = inf: a plateau of 0.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        d = r - a
        grad = -(d - a) * np.exp(-a * d / 2.0)
        ratio = np.where(d != 0, np.abs(grad) / np.abs(d), np.inf)
        ratio = np.where(np.isnan(ratio), np.inf, ratio)
        plateau = np.exp(-(r**2) / 8.0)
    return NCEFlatness(grad, plateau, ratio)
