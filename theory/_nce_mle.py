r"""The maximum-likelihood side: NLL, its compositional form, the tracker.

Private part of :mod:`theory.nce` (Jiang et al., ICML 2023, arXiv:2306.07485):
the Gaussian-mean NLL in closed and compositional form, the moments of the importance
weight, and the exact moments of MECO's moving-average tracker. Derivations:
``docs/derivations/nce.md`` §1, §2, §6.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import logsumexp

from theory._args import plain
from theory._args import require
from theory._nce_check import _arrays
from theory._nce_gaussian import gaussian_chi2_log1p
from theory._nce_quad import Z_MAX
from theory._nce_quad import blocks
from theory._nce_quad import gauss_breaks
from theory._nce_quad import panel_nodes

__all__ = [
    "GaussianMeanNLL",
    "ImportanceWeightMoments",
    "TrackerMoments",
    "gaussian_mean_nll",
    "importance_weight_moments",
    "tracker_moments",
]

#: Largest noise scale accepted by the quadrature under q.
_MAX_NOISE_STD = 25.0
#: Standard deviations of e^{-E_theta} the quadrature nodes must cover (the Gaussian
#: tail beyond is below 1e-16 of its mass).
_COVER_SD = 8.5


class GaussianMeanNLL(NamedTuple):
    r"""NLL of the Gaussian-mean model, closed form and compositional form.

    Attributes:
      nll: :math:`F(\theta) = \tfrac12(\theta-\theta^*)^2 + \tfrac12(1+\log 2\pi)`.
      nll_grad: :math:`F'(\theta) = \theta - \theta^*`.
      log_g: :math:`\log g(\theta) = \log E_q[h]` by quadrature under :math:`q`
        (equals :math:`\tfrac12\log 2\pi`).
      grad_g_over_g: :math:`g'(\theta)/g(\theta) = E_q[h\,(y-\theta)]/E_q[h]` by
        quadrature (equals :math:`-E_{p_\theta}[\nabla E_\theta] = 0`).
      nll_compositional: :math:`E_{p_d}[E_\theta] + f(g(\theta))` from ``log_g``.
      nll_grad_compositional: :math:`E_{p_d}[\nabla E_\theta] + g'/g`.
    """

    nll: np.ndarray
    nll_grad: np.ndarray
    log_g: np.ndarray
    grad_g_over_g: np.ndarray
    nll_compositional: np.ndarray
    nll_grad_compositional: np.ndarray


class ImportanceWeightMoments(NamedTuple):
    r"""Moments of :math:`h(y;\theta) = e^{-E_\theta(y)}/q(y)` under :math:`q`.

    Attributes:
      g: :math:`g(\theta) = E_q[h] = Z = \sqrt{2\pi}`.
      chi2: :math:`\chi^2(p_\theta\|q)` (``inf`` where :math:`s^2 \le 1/2` or it
        overflows).
      log1p_chi2: :math:`\log(1+\chi^2)`, finite wherever :math:`s^2 > 1/2`.
      variance: :math:`\mathrm{Var}_q[h] = Z^2\chi^2`.
      log_bias: first-order (delta-method) bias of :math:`\log\hat g_m`,
        :math:`E\log\hat g_m - \log Z \approx -\chi^2/(2m)`.
    """

    g: np.ndarray
    chi2: np.ndarray
    log1p_chi2: np.ndarray
    variance: np.ndarray
    log_bias: np.ndarray


class TrackerMoments(NamedTuple):
    r"""Mean and variance of the moving average :math:`u_t` at fixed :math:`\theta`.

    Attributes:
      mean: :math:`E u_t = g + (1-\gamma)^t (E u_0 - g)`.
      variance: :math:`\mathrm{Var}\,u_t = (1-\gamma)^{2t}\mathrm{Var}\,u_0 +
        \frac{\gamma}{2-\gamma}\sigma^2 (1 - (1-\gamma)^{2t})`.
      stationary_variance: :math:`\frac{\gamma}{2-\gamma}\sigma^2`.
    """

    mean: np.ndarray
    variance: np.ndarray
    stationary_variance: np.ndarray


def gaussian_mean_nll(
    theta: ArrayLike,
    *,
    data_mean: ArrayLike,
    noise_mean: ArrayLike = 0.0,
    noise_std: ArrayLike = 1.0,
) -> GaussianMeanNLL:
    r"""Population NLL of :math:`N(\theta,1)` on :math:`N(\theta^*,1)`, two ways.

    .. math::
        F(\theta) = \tfrac12(\theta-\theta^*)^2 + \tfrac12(1 + \log 2\pi)
        = E_{p_d}\big[\tfrac12(x-\theta)^2\big] + \log E_{y\sim q}\big[h(y;\theta)\big],
        \qquad \nabla F = E_{p_d}[\nabla E_\theta] + \frac{\nabla g(\theta)}{g(\theta)}

    (arXiv:2306.07485, the compositional rewrite of :math:`\log Z`, known to us from
    the abstract only: the paper's equation number is not confirmed; our notation in
    ``docs/derivations/nce.md`` §1). The compositional fields integrate
    :math:`g = E_q[h]` and :math:`\nabla g = E_q[h\,(y-\theta)]` by quadrature in
    the standardized noise variable, in log space.

    Args:
      theta: model mean :math:`\theta`.
      data_mean: :math:`\theta^*`.
      noise_mean: :math:`m`.
      noise_std: :math:`s \le 25`, with :math:`|\theta - m| + 8.5 \le 38.6\,s`
        (so :math:`s \ge 8.5/38.6 \approx 0.2202`): the nodes,
        :math:`|z| \le 38.6` in the standardized noise variable, must cover
        :math:`e^{-E_\theta}` to 8.5 of its standard deviations :math:`1/s`
        (truncation below 1e-16). The rule
        :math:`|\theta - m| \le 30 s` used before let :math:`\log g` be off by 1.3
        at :math:`s = 0.01`. Accuracy (measured on a 41 x 11 grid of the domain):
        :math:`\nabla g/g` within 2.3e-14 of its exact 0 and :math:`\log g` within
        2.5e-14 relative (a random search found 5e-14 and 2.8e-14 near the edge of
        the domain at :math:`s \approx 20`), for every accepted :math:`s` (the
        panels are split around
        the model, which is :math:`1/s` wide in the noise variable; before, the
        fixed 0.1-wide panels gave 1.4e-10 at :math:`s = 25`).

    Returns:
      :class:`GaussianMeanNLL`, broadcast over the arguments; ``nll`` and
      ``nll_compositional`` are ``inf`` where they exceed the float64 range
      (:math:`|\theta - \theta^*| \gtrsim 1.3\times10^{154}`).

    Raises:
      ValueError: non-finite input, ``noise_std`` outside its range, or shapes that
        do not broadcast.

    Example:
      >>> r = gaussian_mean_nll(1.0, data_mean=4.0)
      >>> float(r.nll_grad), round(float(r.nll_compositional - r.nll), 12)
      (-3.0, 0.0)
    """
    th, mu_d, m, s = _arrays(
        theta=theta,
        data_mean=data_mean,
        noise_mean=noise_mean,
        noise_std=noise_std,
    )
    bad = (s > _MAX_NOISE_STD) | (np.abs(th - m) + _COVER_SD > Z_MAX * s)
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        raise ValueError(
            "need noise_std <= 25 and |theta - noise_mean| + 8.5 <= 38.6 noise_std "
            f"for the quadrature under q, got theta={plain(th.ravel()[i])!r}, "
            f"noise_mean={plain(m.ravel()[i])!r}, noise_std={plain(s.ravel()[i])!r}"
        )
    with np.errstate(over="ignore"):  # inf where |theta - data_mean| > ~1.3e154
        half_sq = 0.5 * (th - mu_d) ** 2
    nll = half_sq + 0.5 * (1.0 + math.log(2.0 * math.pi))
    shape = th.shape
    log_g, ratio = _log_g_and_ratio(th.ravel(), m.ravel(), s.ravel())
    log_g, ratio = log_g.reshape(shape), ratio.reshape(shape)
    data_term = half_sq + 0.5
    return GaussianMeanNLL(
        nll=nll,
        nll_grad=th - mu_d,
        log_g=log_g,
        grad_g_over_g=ratio,
        nll_compositional=data_term + log_g,
        nll_grad_compositional=(th - mu_d) + ratio,
    )


def _log_g_and_ratio(th, m, s) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\log g` and :math:`g'/g` by quadrature in the standardized noise variable
    (flat arrays). The panels are split around the model's centre :math:`(\theta -
    m)/s` at half its width :math:`1/s` (``docs/derivations/nce.md`` §3.1), so the
    model is resolved for every accepted :math:`s`; each cell's nodes depend on its own
    parameters only."""
    n = th.size
    log_g, ratio = np.empty(n), np.empty(n)
    for sl in blocks(n):
        t, mm, ss = th[sl, None], m[sl, None], s[sl, None]
        z, log_w = panel_nodes(gauss_breaks((t - mm)[:, 0] / ss[:, 0], 1.0 / ss[:, 0]))
        dy = ss * z + (mm - t)  # y - theta at y = m + s z
        # log of w(z) phi(z) h(m + s z) = log(w s) - (y - theta)^2 / 2: q(y) cancels
        # against phi(z)/s, so phi is never formed.
        log_terms = log_w + np.log(ss) - 0.5 * dy * dy
        lg = logsumexp(log_terms, axis=1)
        log_g[sl] = lg
        ratio[sl] = np.sum(np.exp(log_terms - lg[:, None]) * dy, axis=1)
    return log_g, ratio


def importance_weight_moments(
    theta: ArrayLike,
    *,
    noise_mean: ArrayLike = 0.0,
    noise_std: ArrayLike = 1.0,
    batch_size: ArrayLike = 1,
) -> ImportanceWeightMoments:
    r"""Mean, :math:`\chi^2` and variance of the importance weight :math:`h`.

    .. math::
        \mathrm{Var}_q[h] = Z^2\chi^2(p_\theta\|q), \qquad
        1 + \chi^2 = \frac{s^2}{\sqrt{2s^2-1}}\exp\Big(\frac{(\theta-m)^2}{2s^2-1}\Big)

    for :math:`p_\theta = N(\theta, 1)`, :math:`q = N(m, s^2)`, :math:`s^2 > 1/2`
    (infinite otherwise). The rate of MECO depends on :math:`q` through such
    variances (arXiv:2306.07485, abstract; the theorem and the exact variance
    quantity it uses are not confirmed); closed form derived with sympy in
    ``docs/derivations/nce.md`` §2.

    Args:
      theta: model mean.
      noise_mean: :math:`m`.
      noise_std: :math:`s > 0`.
      batch_size: noise batch :math:`m_b \ge 1` of :math:`\hat g`, for ``log_bias``.

    Returns:
      :class:`ImportanceWeightMoments`; ``chi2``/``variance`` are ``inf`` where the
      variance is infinite (:math:`s^2 \le 1/2`) or exceeds the float64 range.

    Raises:
      ValueError: non-finite input, ``noise_std <= 0``, ``batch_size`` not an
        integer >= 1.

    Example:
      >>> r = importance_weight_moments(4.0)
      >>> float(r.log1p_chi2)
      16.0
    """
    th, m, s, b = _arrays(
        theta=theta,
        noise_mean=noise_mean,
        noise_std=noise_std,
        batch_size=batch_size,
    )
    require("batch_size", b, (b >= 1) & (b == np.floor(b)), "an integer >= 1")
    l1p = gaussian_chi2_log1p(th, m, s)
    z = math.sqrt(2.0 * math.pi)
    with np.errstate(over="ignore"):  # inf beyond the float64 range, as documented
        chi2 = np.expm1(l1p)
        variance = z**2 * chi2
    return ImportanceWeightMoments(
        g=np.full(th.shape, z),
        chi2=chi2,
        log1p_chi2=l1p,
        variance=variance,
        log_bias=-chi2 / (2.0 * b),
    )


# ======================================================================================
# The moving-average tracker
# ======================================================================================


def tracker_moments(
    t: ArrayLike,
    *,
    gamma: ArrayLike,
    g: ArrayLike,
    var_ghat: ArrayLike,
    u0: ArrayLike,
    u0_var: ArrayLike = 0.0,
) -> TrackerMoments:
    r"""Exact mean and variance of :math:`u_t = (1-\gamma)u_{t-1} + \gamma\hat g_t`.

    At fixed :math:`\theta`, with i.i.d. :math:`\hat g_t` of mean :math:`g` and
    variance :math:`\sigma^2` (``var_ghat``, i.e. :math:`\mathrm{Var}_q[h]/m` for a
    noise batch of :math:`m`), independent of :math:`u_0`:

    .. math::
        E u_t = g + (1-\gamma)^t(E u_0 - g), \qquad
        \mathrm{Var}\,u_t = (1-\gamma)^{2t}\mathrm{Var}\,u_0 +
        \frac{\gamma}{2-\gamma}\sigma^2\big(1-(1-\gamma)^{2t}\big).

    The inner-function tracker of MECO as we read it (arXiv:2306.07485; the
    moving-average estimator of stochastic compositional optimization; the paper's
    algorithm number and its choice of :math:`\gamma` are not confirmed). Derived in
    ``docs/derivations/nce.md`` §6.

    Args:
      t: steps :math:`t \ge 0`.
      gamma: :math:`\gamma \in (0, 1]`.
      g: :math:`g(\theta)`.
      var_ghat: :math:`\sigma^2 \ge 0`.
      u0: :math:`E u_0`.
      u0_var: :math:`\mathrm{Var}\,u_0 \ge 0` (``var_ghat`` when
        :math:`u_0 = \hat g_0`).

    Returns:
      :class:`TrackerMoments`, broadcast over the arguments.

    Raises:
      ValueError: non-finite input, ``t < 0``, ``gamma`` outside (0, 1], negative
        variances, or shapes that do not broadcast.

    Example:
      >>> r = tracker_moments(0, gamma=0.1, g=1.0, var_ghat=1.0, u0=2.0)
      >>> float(r.mean), float(r.variance), round(float(r.stationary_variance), 12)
      (2.0, 0.0, 0.052631578947)
    """
    t, gamma, g, v, u0, v0 = _arrays(
        t=t,
        gamma=gamma,
        g=g,
        var_ghat=var_ghat,
        u0=u0,
        u0_var=u0_var,
    )
    for name, arr, ok in (
        ("t", t, t >= 0),
        ("gamma", gamma, (gamma > 0) & (gamma <= 1)),
        ("var_ghat", v, v >= 0),
        ("u0_var", v0, v0 >= 0),
    ):
        require(name, arr, ok, "in (0, 1]" if name == "gamma" else ">= 0")
    # (1 - gamma)^t and 1 - (1 - gamma)^(2t) through log1p/expm1: the plain forms
    # lose digits for small gamma (2e-2 relative in the variance at gamma = 1e-15).
    with np.errstate(divide="ignore", invalid="ignore"):
        log_decay = np.where(t == 0, 0.0, t * np.log1p(-gamma))  # -inf at gamma = 1
    decay = np.exp(log_decay)
    fill = -np.expm1(2.0 * log_decay)  # 1 - decay^2
    stat = gamma / (2.0 - gamma) * v
    # decay u0 + (1 - decay) g: no cancellation when g is far larger than the mean.
    return TrackerMoments(
        mean=decay * u0 - np.expm1(log_decay) * g,
        variance=decay**2 * v0 + stat * fill,
        stationary_variance=stat,
    )
