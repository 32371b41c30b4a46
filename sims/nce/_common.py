r"""Batched MECO / NCE / naive updates for the 1-D Gaussian-mean model (torch).

Shared by :mod:`sims.nce.gaussian`, :mod:`sims.nce.landscape` and ``bench/nce.py``.
Every tensor has leading batch dims ``(...)`` (cells x trials); one call advances all
of them. Model :math:`E_\theta(x) = (x-\theta)^2/2`, noise :math:`q = N(m, s^2)`.
Importance weights are kept in log space: :math:`\log h = -(y-\theta)^2/2 - \log q(y)`
and the tracker as :math:`\log u_t`, so nothing overflows for any noise.

The update rules are our reading of MECO (Jiang et al., ICML 2023,
arXiv:2306.07485); see ``docs/nce.md`` ("What is the paper's, what is ours").
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

__all__ = [
    "HALF_LOG_2PI",
    "MAX_CHUNK_BYTES",
    "REFERENCES",
    "MecoState",
    "NceState",
    "check_chunk_bytes",
    "log_weights",
    "meco_direction",
    "meco_step",
    "meco_weights",
    "nce_direction",
    "nce_step",
]

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
REFERENCES = "Jiang et al. (2023), arXiv:2306.07485"
#: Working memory one chunk of an NCE sweep may ask for.
MAX_CHUNK_BYTES = 4 * 2**30


def check_chunk_bytes(need: float, sizes: str, lower: str) -> None:
    """ValueError when a chunk needs more than :data:`MAX_CHUNK_BYTES`, naming the
    ``sizes`` that ask for it and what to ``lower``."""
    if need > MAX_CHUNK_BYTES:
        raise ValueError(
            f"{sizes} needs ~{need / 2**30:.1f} GiB per chunk (limit "
            f"{MAX_CHUNK_BYTES / 2**30:.0f} GiB); lower {lower}"
        )


class MecoState(NamedTuple):
    """theta, log u (inner-value tracker) and v (gradient average), shape (...)."""

    theta: torch.Tensor
    log_u: torch.Tensor
    v: torch.Tensor


class NceState(NamedTuple):
    """theta, the learned log-normalizer c, and the gradient averages."""

    theta: torch.Tensor
    c: torch.Tensor
    v_theta: torch.Tensor
    v_c: torch.Tensor


def log_weights(theta, y, z_y, noise_std):
    r""":math:`\log h(y;\theta) = -(y-\theta)^2/2 + z^2/2 + \log s + \tfrac12\log 2\pi`.

    ``y = m + s z_y`` are the noise samples, shape ``(..., M)``; ``theta`` ``(...)``.
    """
    return (
        -0.5 * (y - theta[..., None]) ** 2
        + 0.5 * z_y**2
        + torch.log(noise_std)[..., None]
        + HALF_LOG_2PI
    )


def meco_weights(lh, log_u_prev, log_keep, log_gamma):
    r"""The MECO inner-value tracker and the importance weights it normalizes.

    .. math::
        \log\hat g_t = \mathrm{logsumexp}_j \log h_j - \log M, \quad
        \log u_t = \mathrm{logaddexp}(\log(1-\gamma) + \log u_{t-1},
                   \log\gamma + \log\hat g_t), \quad
        w_j = \frac{h_j}{M u_t}

    from the log importance weights ``lh`` ``(..., M)``; ``log_keep`` and
    ``log_gamma`` are :math:`\log(1-\gamma)` and :math:`\log\gamma`.
    ``log_u_prev`` may be ``None`` (initialize :math:`u_{-1} = \hat g_0`). Shared by
    the 1-D model's :func:`meco_direction` and the MLP energies of
    :mod:`sims.nce.density`.

    Returns:
      ``(w, log_u)`` of shapes ``(..., M)`` and ``(...)``.
    """
    log_m = math.log(lh.shape[-1])
    log_ghat = torch.logsumexp(lh, dim=-1) - log_m
    if log_u_prev is None:
        log_u = log_ghat
    else:
        log_u = torch.logaddexp(log_keep + log_u_prev, log_gamma + log_ghat)
    return torch.exp(lh - log_m - log_u[..., None]), log_u


def meco_direction(theta, log_u_prev, x, y, z_y, noise_std, gamma):
    r"""One MECO inner-value update and the compositional gradient estimate.

    .. math::
        \log u_t = \mathrm{logaddexp}(\log(1-\gamma) + \log u_{t-1},
                   \log\gamma + \log\hat g_t), \quad
        d_t = \frac1B\sum_i \nabla E_\theta(x_i)
              + \frac{1}{u_t}\frac1M\sum_j \nabla_\theta h(y_j;\theta)

    with :math:`\nabla E_\theta(x) = \theta - x` and
    :math:`\nabla_\theta h = -h\,\nabla E_\theta(y) = h\,(y-\theta)`. ``gamma = 1``
    is the naive estimator :math:`\nabla\log\hat g` (self-normalized importance
    sampling). ``log_u_prev`` may be ``None`` (initialize :math:`u_{-1} = \hat g_0`).
    """
    lh = log_weights(theta, y, z_y, noise_std)
    # log(1 - gamma) is -inf at gamma = 1: logaddexp then gives log_ghat
    w, log_u = meco_weights(lh, log_u_prev, torch.log1p(-gamma), torch.log(gamma))
    # grad_theta h = h (y - theta) = -h grad E(y): the SNIS negative phase enters +
    d = (theta - x.mean(-1)) + (w * (y - theta[..., None])).sum(-1)
    return d, log_u


def meco_step(state: MecoState, x, y, z_y, noise_std, gamma, beta, lr) -> MecoState:
    """theta_{t+1} = theta_t - lr v_t, v_t = (1 - beta) v_{t-1} + beta d_t."""
    d, log_u = meco_direction(state.theta, state.log_u, x, y, z_y, noise_std, gamma)
    v = (1 - beta) * state.v + beta * d
    return MecoState(state.theta - lr * v, log_u, v)


def nce_direction(theta, c, x, y, noise_mean, noise_std, nu):
    r"""Minibatch gradient of the NCE loss over :math:`(\theta, c)`.

    .. math::
        \hat\nabla L = -\frac1B\sum_i\sigma(-G(x_i))\nabla G(x_i)
                       + \frac{\nu}{M}\sum_j\sigma(G(y_j))\nabla G(y_j),
        \quad \nabla G = (x - \theta, -1),

    :math:`G = -(x-\theta)^2/2 - c - \log\nu - \log q(x)`.
    """

    def logit(pts):
        log_q = (
            -0.5 * ((pts - noise_mean[..., None]) / noise_std[..., None]) ** 2
            - torch.log(noise_std)[..., None]
            - HALF_LOG_2PI
        )
        return (
            -0.5 * (pts - theta[..., None]) ** 2 - c[..., None] - math.log(nu) - log_q
        )

    sx = torch.sigmoid(-logit(x))
    sy = torch.sigmoid(logit(y))
    m = y.shape[-1]
    g_theta = -(sx * (x - theta[..., None])).mean(-1) + nu / m * (
        sy * (y - theta[..., None])
    ).sum(-1)
    g_c = sx.mean(-1) - nu / m * sy.sum(-1)
    return g_theta, g_c


def nce_step(state: NceState, x, y, noise_mean, noise_std, nu, beta, lr) -> NceState:
    """SGD with the same gradient averaging (beta) as MECO, on (theta, c)."""
    g_t, g_c = nce_direction(state.theta, state.c, x, y, noise_mean, noise_std, nu)
    v_t = (1 - beta) * state.v_theta + beta * g_t
    v_c = (1 - beta) * state.v_c + beta * g_c
    return NceState(state.theta - lr * v_t, state.c - lr * v_c, v_t, v_c)
