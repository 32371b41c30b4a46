r"""Gaussian expectations by composite Gauss-Legendre quadrature, in log space.

Private helper of :mod:`theory.nce`. Every integral in the 1-D Gaussian-mean example
is an expectation :math:`E_{Z\sim N(0,1)}[f(\mu + \sigma Z)]` of a bounded (or
polynomially growing) function under one of the three Gaussians in play (data, model,
noise). Writing each integral in the standardized variable of its own Gaussian keeps
the nodes where the mass is, whatever the means and scales are, and the
log-weights :math:`\log(w_i\,\varphi(z_i))` never underflow before they are combined
with the integrand's own logarithm.

Each cell (one set of parameters) gets its own panels: the fixed 0.1-wide panels on
:math:`|z| \le 38.6` split further at breakpoints placed from that cell's parameters
only (so a value never depends on the other cells of a call):

- around the real part of each pole of :math:`\sigma(\pm G)` nearest the real axis
  (:func:`logit_poles`), spaced half its distance to the axis, over the transition
  :math:`|G| \lesssim 40` (:func:`pole_breaks`);
- around a Gaussian narrower than the base panels, e.g. the model seen in the noise
  variable (width :math:`1/s`), spaced half its width over 10 widths
  (:func:`gauss_breaks`).

Derivation of the error budget and the measured errors: ``docs/derivations/nce.md``
§3.1.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "HALF_LOG_2PI",
    "Z_MAX",
    "blocks",
    "gauss_breaks",
    "logit_poles",
    "panel_nodes",
    "pole_breaks",
]

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# Panels of width 0.1 on [-38.6, 38.6] with 8 Gauss-Legendre nodes each: beyond
# |z| = 38.6 the standard normal density is below 1e-323 (float64 subnormal floor),
# so truncation costs nothing; 8 nodes on a 0.1 panel integrate functions whose
# nearest complex singularity is at distance >= 0.2 to ~3e-15 relative per panel
# (Bernstein ellipse parameter >= 8 on the panel's half-width 0.05).
_HALF_WIDTH = 38.6
_PANEL = 0.1
_GL_T, _GL_W = np.polynomial.legendre.leggauss(8)
_GL_LOGW = np.log(_GL_W)
_EDGES = np.arange(-_HALF_WIDTH, _HALF_WIDTH + 1e-12, _PANEL)
#: Largest node of the base grid; ``gaussian_mean_nll`` accepts
#: :math:`|\theta - m| + 8.5 \le` ``Z_MAX`` :math:`s`.
Z_MAX = float(
    (_EDGES[-2] + _EDGES[-1]) / 2 + 0.5 * (_EDGES[-1] - _EDGES[-2]) * _GL_T[-1]
)
# Breakpoints on each side of a pole, spaced half its distance d to the real axis
# (ellipse parameter >= 8 for a panel centred under the pole): 26 steps reach
# 13 d = 40.8 / |G'| from a simple root, where sigma(+-G) is within e^-40 of 0 or 1.
_POLE_STEPS = np.arange(-26, 27, dtype=np.float64)
# Breakpoints around a narrow Gaussian: half a standard deviation apart, out to 10
# standard deviations (its mass beyond is below 1e-22).
_GAUSS_STEPS = np.arange(-20, 21, dtype=np.float64)


def logit_poles(a, b, c) -> tuple[np.ndarray, np.ndarray]:
    r"""The two solutions of :math:`a z^2 + b z + c = i\pi` (flat real arrays).

    :math:`\sigma(\pm G)` and :math:`\log\sigma(\pm G)` are analytic except where
    :math:`G = i\pi(2k+1)`; for a quadratic logit the :math:`k = 0` solutions and their
    conjugates are the ones nearest the real axis wherever :math:`\sigma` changes from
    0 to 1 (at distance :math:`\pi/|G'|` from a simple real root, :math:`\sqrt{\pi/|a|}`
    at a double one). Non-finite where they do not exist (:math:`a = 0`: one pole).
    """
    cc = c - 1j * math.pi
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        disc = np.sqrt(b * b - 4.0 * a * cc)
        sign = np.where((b * disc).real >= 0, 1.0, -1.0)
        q = -0.5 * (b + sign * disc)  # no cancellation between b and the root
        return q / a, cc / q


def pole_breaks(pole) -> np.ndarray:
    """``(C, 53)`` breakpoints around ``Re pole``, ``min(|Im pole|/2, 0.1)`` apart."""
    h = np.minimum(0.5 * np.abs(pole.imag), _PANEL)
    return pole.real[:, None] + h[:, None] * _POLE_STEPS


def gauss_breaks(center, sd) -> np.ndarray:
    """``(C, 41)`` breakpoints around ``center``, ``min(sd/2, 0.1)`` apart."""
    h = np.minimum(0.5 * sd, _PANEL)
    return center[:, None] + h[:, None] * _GAUSS_STEPS


def panel_nodes(*breaks, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes and log Gauss-Legendre weights of each cell's panels.

    Args:
      breaks: ``(C, k)`` arrays of extra breakpoints per cell (non-finite entries
        and those beyond :math:`|z| = 38.6` add nothing).
      shift: a constant added to every log-weight.

    Returns:
      ``(z, log_w)`` of shape ``(C, 8 P)``: the nodes and :math:`\log w_i` of the
      panels between the sorted union of the base edges and ``breaks``. The
      standard normal density is not included (callers add
      :math:`-z^2/2 - \tfrac12\log 2\pi` where they need it). Zero-width panels get
      weight 0 (``log_w = -inf``).
    """
    n = breaks[0].shape[0]
    extra = np.concatenate(breaks, axis=1)
    extra = np.where(np.isfinite(extra), extra, -_HALF_WIDTH)
    np.clip(extra, -_HALF_WIDTH, _HALF_WIDTH, out=extra)
    edges = np.concatenate([np.broadcast_to(_EDGES, (n, _EDGES.size)), extra], 1)
    edges.sort(axis=1)
    half = 0.5 * (edges[:, 1:] - edges[:, :-1])
    mid = 0.5 * (edges[:, 1:] + edges[:, :-1])
    z = (mid[:, :, None] + half[:, :, None] * _GL_T).reshape(n, -1)
    with np.errstate(divide="ignore"):
        log_half = np.log(half)
    log_w = (log_half[:, :, None] + (_GL_LOGW + shift)).reshape(n, -1)
    return z, log_w


def blocks(n: int, width: int = 8 * 930, per: int = 2_000_000):
    """Yield slices of ``range(n)`` so a block times ``width`` nodes stays ~``per``."""
    step = max(1, per // width)
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))
