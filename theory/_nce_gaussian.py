r"""NCE loss, gradient and curvature for the 1-D Gaussian-mean model, by quadrature.

Private core of :mod:`theory.nce`. Model :math:`p_m(x;\theta,c) = \exp(-(x-\theta)^2/2
- c)`, data :math:`p_d = N(\theta^*, 1)`, noise :math:`q = N(m, s^2)`, noise ratio
:math:`\nu`; the offset :math:`c' = c - \tfrac12\log 2\pi` is zero at the true
normalizer. Jiang et al. (ICML 2023, arXiv:2306.07485), its 1-D Gaussian mean
estimation example (the paper's section and figure numbers are not confirmed; see
``docs/derivations/nce.md``, "Citations to the paper"), following Liu et al. (ICLR
2022, arXiv:2110.11271) for the NCE loss.
All functions here take flat float64 arrays of one common length ``C``.
Derivations: ``docs/derivations/nce.md`` §2-§4.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_expit

from theory._exact import two_product
from theory._nce_quad import Z_LOGW
from theory._nce_quad import Z_NODES
from theory._nce_quad import blocks

__all__ = ["nce_hessian_flat", "nce_terms_flat"]


def _logits(theta, cprime, mu_d, m, s, nu):
    """The logit G at the nodes of the data, model and noise expectations."""
    z = Z_NODES[None, :]
    th, cp, md, mm, ss = (a[:, None] for a in (theta, cprime, mu_d, m, s))
    shift = -cp - np.log(nu)[:, None] + np.log(ss)
    x_d = md + z
    g_d = -0.5 * (x_d - th) ** 2 + 0.5 * ((x_d - mm) / ss) ** 2 + shift
    g_m = -0.5 * z**2 + 0.5 * ((th + z - mm) / ss) ** 2 + shift
    g_q = -0.5 * (mm + ss * z - th) ** 2 + 0.5 * z**2 + shift
    return x_d - th, g_d, g_m, g_q


def nce_terms_flat(theta, cprime, mu_d, m, s, nu):
    r"""NCE loss, its gradient over :math:`(\theta, c)` and :math:`\partial_c^2 L`.

    .. math::
        L = E_{p_d}[\mathrm{softplus}(-G)] + \nu E_q[\mathrm{softplus}(G)], \qquad
        \nabla_{(\theta,c)} L = \int \sigma(-G)\,(p_m - p_d)\,
        \nabla_{(\theta,c)}\log p_m\,dx,

    with :math:`\nabla\log p_m = (x-\theta, -1)` and
    :math:`\partial_c^2 L = E_{p_d}[\sigma(G)\sigma(-G)]
    + \nu E_q[\sigma(G)\sigma(-G)]`.
    The gradient integral is split into a model expectation (weight
    :math:`e^{-c'}\sigma(-G)`, combined in log space) and a data expectation, so both
    halves use the same nodes and cancel exactly at :math:`p_m = p_d`.
    """
    n = theta.size
    out = np.empty((4, n))
    for sl in blocks(n):
        args = (theta[sl], cprime[sl], mu_d[sl], m[sl], s[sl], nu[sl])
        dx_d, g_d, g_m, g_q = _logits(*args)
        lw = Z_LOGW[None, :]
        w = np.exp(lw)
        nu_b = args[5][:, None]
        cp = args[1][:, None]
        loss = np.sum(w * np.logaddexp(0.0, -g_d), 1)
        loss += nu_b[:, 0] * np.sum(w * np.logaddexp(0.0, g_q), 1)
        wm = np.exp(lw - cp + log_expit(-g_m))
        wd = np.exp(lw + log_expit(-g_d))
        grad_t = np.sum(wm * Z_NODES[None, :], 1) - np.sum(wd * dx_d, 1)
        grad_c = np.sum(wd, 1) - np.sum(wm, 1)
        h_cc = np.sum(np.exp(lw + log_expit(g_d) + log_expit(-g_d)), 1)
        h_cc += nu_b[:, 0] * np.sum(np.exp(lw + log_expit(g_q) + log_expit(-g_q)), 1)
        out[:, sl] = loss, grad_t, grad_c, h_cc
    return out


def nce_hessian_flat(mu_d, m, s, nu):
    r"""Hessian of the NCE loss over :math:`(\theta, c)` at :math:`p_m = p_d`.

    .. math::
        H = \int p_d\,\sigma(-G^*)\,\nabla\log p_m\nabla\log p_m^\top dx
          = \nu\int \frac{p_d\,q}{p_d + \nu q}\nabla\log p_m\nabla\log p_m^\top dx,

    ``docs/derivations/nce.md`` §4. Returns ``(h_tt, h_tc, h_cc)``.
    """
    n = mu_d.size
    out = np.empty((3, n))
    zero = np.zeros(n)
    for sl in blocks(n):
        _, g_d, _, _ = _logits(mu_d[sl], zero[sl], mu_d[sl], m[sl], s[sl], nu[sl])
        wd = np.exp(Z_LOGW[None, :] + log_expit(-g_d))
        z = Z_NODES[None, :]
        out[:, sl] = np.sum(wd * z**2, 1), -np.sum(wd * z, 1), np.sum(wd, 1)
    return out


def gaussian_chi2_log1p(theta, m, s):
    r""":math:`\log(1+\chi^2(N(\theta,1)\|N(m,s^2)))`; ``inf`` where :math:`s^2\le 1/2`.

    .. math:: 1 + \chi^2 = \frac{s^2}{\sqrt{2s^2-1}}
              \exp\Big(\frac{(\theta-m)^2}{2s^2-1}\Big)
    """
    # s^2 = p + err exactly: e = s^2 - 1 and d = 2 s^2 - 1 = 1 + 2e without the
    # cancellation of forming them from a rounded s^2 (d -> 0 as s^2 -> 1/2). Near
    # s = 1, 2 log s - log(d)/2 = log1p(e^2/d)/2, since s^4 = d + e^2.
    p, err = two_product(s, s)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        e = (p - 1.0) + err
        d = (2.0 * p - 1.0) + 2.0 * err
        d = np.where(np.isfinite(d), d, 2.0 * s**2 - 1.0)
        head = np.where(
            np.abs(e) <= 1.0,
            0.5 * np.log1p(e * e / d),
            2.0 * np.log(s) - 0.5 * np.log(d),
        )
        val = head + (theta - m) ** 2 / d
    return np.where(d > 0, val, math.inf)
