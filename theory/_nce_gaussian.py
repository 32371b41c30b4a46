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
from theory._nce_quad import HALF_LOG_2PI
from theory._nce_quad import blocks
from theory._nce_quad import gauss_breaks
from theory._nce_quad import logit_poles
from theory._nce_quad import panel_nodes
from theory._nce_quad import pole_breaks

__all__ = ["nce_hessian_flat", "nce_terms_flat"]


def _standard_nodes(breaks) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and log-weights of ``E_{N(0,1)}`` on the panels split at ``breaks``."""
    z, log_w = panel_nodes(*breaks, shift=-HALF_LOG_2PI)
    log_w -= 0.5 * z * z
    return z, log_w


def _logits(theta, cprime, mu_d, m, s, nu, *, model_and_noise=True):
    r"""Per-cell nodes, log-weights and the logit G of the data, model and noise
    expectations (each in its standardized variable z, ``docs/derivations/nce.md``
    §3.1). In every variable G is the quadratic :math:`a z^2 + b z + c`; its poles
    place the breakpoints, and in the noise variable the model's width :math:`1/s`
    does too. Returns ``{"d"|"m"|"q": (z, log_w, G + c')}`` (the logit without its
    :math:`-c'` term, so that callers can cancel :math:`c'` exactly) and
    ``x - theta`` at the data nodes."""
    th, md, mm, ss = (a[:, None] for a in (theta, mu_d, m, s))
    shift1 = -cprime - np.log(nu) + np.log(s)
    inv = 1.0 / s**2
    a_x = 0.5 * (inv - 1.0)
    u, v, w = mu_d - theta, mu_d - m, theta - m
    shift = (np.log(s) - np.log(nu))[:, None]
    out = {}
    poles = logit_poles(a_x, v * inv - u, 0.5 * v * v * inv - 0.5 * u * u + shift1)
    z, lw = _standard_nodes([pole_breaks(p) for p in poles])
    x_d = md + z
    g_d = -0.5 * (x_d - th) ** 2 + 0.5 * ((x_d - mm) / ss) ** 2 + shift
    out["d"] = (z, lw, g_d)
    if model_and_noise:
        poles = logit_poles(a_x, w * inv, 0.5 * w * w * inv + shift1)
        z, lw = _standard_nodes([pole_breaks(p) for p in poles])
        g_m = -0.5 * z**2 + 0.5 * ((th + z - mm) / ss) ** 2 + shift
        out["m"] = (z, lw, g_m)
        poles = logit_poles(0.5 * (1.0 - s * s), s * w, shift1 - 0.5 * w * w)
        breaks = [pole_breaks(p) for p in poles] + [gauss_breaks(w / s, 1.0 / s)]
        z, lw = _standard_nodes(breaks)
        g_q = -0.5 * (mm + ss * z - th) ** 2 + 0.5 * z**2 + shift
        out["q"] = (z, lw, g_q)
    return out, x_d - th


def _log1p_exp_neg_abs(g) -> np.ndarray:
    r""":math:`E = \log(1 + e^{-|G|})`, from which :math:`\mathrm{softplus}(\pm G) =
    \max(0, \pm G) + E`, :math:`\log\sigma(\pm G) = -\max(0, \mp G) - E` and
    :math:`\log(\sigma(G)\sigma(-G)) = -|G| - 2E`, each to full relative precision."""
    return np.log1p(np.exp(-np.abs(g)))


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
    :math:`e^{-c'}\sigma(-G)`, combined in log space) and a data expectation. Each
    cell's value depends on its own parameters only.
    """
    n = theta.size
    out = np.empty((4, n))
    for sl in blocks(n):
        args = (theta[sl], cprime[sl], mu_d[sl], m[sl], s[sl], nu[sl])
        nodes, dx_d = _logits(*args)
        (_, lw_d, g0_d), (z_m, lw_m, g0_m), (_, lw_q, g0_q) = (nodes[k] for k in "dmq")
        nu_b, cp = args[5], args[1][:, None]
        g_d, g_m, g_q = g0_d - cp, g0_m - cp, g0_q - cp
        e_d, e_m, e_q = (_log1p_exp_neg_abs(g) for g in (g_d, g_m, g_q))
        loss = np.sum(np.exp(lw_d) * (np.maximum(-g_d, 0.0) + e_d), 1)
        loss += nu_b * np.sum(np.exp(lw_q) * (np.maximum(g_q, 0.0) + e_q), 1)
        # e^{-c'} sigma(-G) and sigma(-G) on the model and data nodes, in log space;
        # for G > 0, -c' - G = -(G + c') exactly (c' may be -1e15: no cancellation).
        wm = np.exp(lw_m - e_m - np.where(g_m > 0.0, g0_m, cp))
        wd = np.exp(lw_d - np.maximum(g_d, 0.0) - e_d)
        grad_t = np.sum(wm * z_m, 1) - np.sum(wd * dx_d, 1)
        grad_c = np.sum(wd, 1) - np.sum(wm, 1)
        h_cc = np.sum(np.exp(lw_d - np.abs(g_d) - 2.0 * e_d), 1)
        h_cc += nu_b * np.sum(np.exp(lw_q - np.abs(g_q) - 2.0 * e_q), 1)
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
        args = (mu_d[sl], zero[sl], mu_d[sl], m[sl], s[sl], nu[sl])
        nodes, _ = _logits(*args, model_and_noise=False)
        z, lw, g_d = nodes["d"]
        wd = np.exp(lw + log_expit(-g_d))
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
        # Beyond float64 (s > ~9e153, so 1/s^2 < 1e-307): d = 2 s^2 to the last bit,
        # and the head is log s - log(2)/2.
        huge = ~np.isfinite(d)
        head = np.where(
            np.abs(e) <= 1.0,
            0.5 * np.log1p(e * e / d),
            2.0 * np.log(s) - 0.5 * np.log(d),
        )
        head = np.where(huge, np.log(s) - 0.5 * math.log(2.0), head)
        dm = theta - m
        quad = dm**2 / d
        # (theta - m)^2 or d beyond float64: the same ratio from ((theta - m)/s)^2.
        r = np.where(np.isfinite(dm), dm / s, theta / s - m / s)
        far = huge | ~np.isfinite(quad)
        quad = np.where(far, r**2 / (2.0 - 1.0 / s**2), quad)
        val = head + quad
    return np.where(huge | (d > 0), val, math.inf)
