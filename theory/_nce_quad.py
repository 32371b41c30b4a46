r"""Gaussian expectations by composite Gauss-Legendre quadrature, in log space.

Private helper of :mod:`theory.nce`. Every integral in the 1-D Gaussian-mean example
is an expectation :math:`E_{Z\sim N(0,1)}[f(\mu + \sigma Z)]` of a bounded (or
polynomially growing) function under one of the three Gaussians in play (data, model,
noise). Writing each integral in the standardized variable of its own Gaussian keeps
the nodes where the mass is, whatever the means and scales are, and the
log-weights :math:`\log(w_i\,\varphi(z_i))` never underflow before they are combined
with the integrand's own logarithm. Derivation of the error budget:
``docs/derivations/nce.md`` §3.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["HALF_LOG_2PI", "Z_LOGW", "Z_NODES", "blocks"]

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# Panels of width 0.1 on [-38.6, 38.6] with 8 Gauss-Legendre nodes each: beyond
# |z| = 38.6 the standard normal density is below 1e-323 (float64 subnormal floor),
# so truncation costs nothing; 8 nodes on a 0.1 panel integrate functions whose
# nearest complex singularity is at distance >= 0.15 (a logistic of slope <= 20) to
# ~1e-15 relative per panel.
_HALF_WIDTH = 38.6
_PANEL = 0.1


def _grid() -> tuple[np.ndarray, np.ndarray]:
    t, w = np.polynomial.legendre.leggauss(8)
    edges = np.arange(-_HALF_WIDTH, _HALF_WIDTH + 1e-12, _PANEL)
    left, right = edges[:-1, None], edges[1:, None]
    half = 0.5 * (right - left)
    z = (left + right) / 2 + half * t[None, :]
    wz = half * w[None, :]
    z, wz = z.ravel(), wz.ravel()
    return z, np.log(wz) - 0.5 * z**2 - HALF_LOG_2PI


Z_NODES, Z_LOGW = _grid()


def blocks(n: int, per: int = 2_000_000):
    """Yield slices of ``range(n)`` so a block times the node count stays ~``per``."""
    step = max(1, per // Z_NODES.size)
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))
