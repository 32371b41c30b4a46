r"""Theorems 1-3 of arXiv:1706.02515 evaluated on grids of their domains.

The domains Ω, Ω⁺ and Ω⁻ of the paper, and the extremes over a grid of each of the
quantities the theorems bound (contraction, the image of Ω, and the sign of
:math:`\tilde\nu - \nu`). Re-exported by :mod:`theory.selu_moments`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from theory._args import plain
from theory._selu_gauss import ALPHA_01
from theory._selu_gauss import LAMBDA_01
from theory._selu_map import moment_jacobian
from theory._selu_map import moment_map

__all__ = [
    "OMEGA",
    "OMEGA_MINUS_A",
    "OMEGA_MINUS_B",
    "OMEGA_PLUS",
    "Domain",
    "Extreme",
    "Theorem1Extremes",
    "Theorem3Extremes",
    "theorem1_extremes",
    "theorem2_extreme",
    "theorem3_extremes",
]


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


#: Theorem 1 domain Ω, μ, ω ∈ [−0.1, 0.1], ν ∈ [0.8, 1.5], τ ∈ [0.95, 1.1].
OMEGA = Domain(mu=(-0.1, 0.1), omega=(-0.1, 0.1), nu=(0.8, 1.5), tau=(0.95, 1.1))
#: Theorem 2 domain Ω⁺, μ ∈ [−1, 1], ω ∈ [−0.1, 0.1], ν ∈ [3, 16], τ ∈ [0.8, 1.25].
OMEGA_PLUS = Domain(mu=(-1.0, 1.0), omega=(-0.1, 0.1), nu=(3.0, 16.0), tau=(0.8, 1.25))
#: Theorem 3 domain Ω⁻, part (a), ν ∈ [0.02, 0.16], τ ∈ [0.8, 1.25].
OMEGA_MINUS_A = Domain(
    mu=(-0.1, 0.1), omega=(-0.1, 0.1), nu=(0.02, 0.16), tau=(0.8, 1.25)
)
#: Theorem 3 domain Ω⁻, part (b), ν ∈ [0.02, 0.24], τ ∈ [0.9, 1.25].
OMEGA_MINUS_B = Domain(
    mu=(-0.1, 0.1), omega=(-0.1, 0.1), nu=(0.02, 0.24), tau=(0.9, 1.25)
)


def _grid(domain: Domain, points: tuple[int, int, int, int]):
    if not isinstance(domain, Domain):
        raise ValueError(f"domain must be a Domain, got domain={domain!r}")
    if (
        not isinstance(points, tuple | list)
        or len(points) != 4
        or any(not isinstance(p, int | np.integer) or p < 2 for p in points)
    ):
        raise ValueError(
            f"points must be four integers >= 2, got points={plain(points)!r}"
        )
    for name, (lo, hi) in domain._asdict().items():
        ok = all(
            isinstance(x, float | int) and not isinstance(x, bool) for x in (lo, hi)
        )
        if not (ok and math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"domain.{name} must be finite lo <= hi, got {(lo, hi)}")
    axes = [np.linspace(lo, hi, p) for (lo, hi), p in zip(domain, points, strict=True)]
    return axes, np.meshgrid(*axes, indexing="ij")


def _grid_map(domain: Domain, points, alpha, lam):
    """The (μ, ω, ν, τ) grid of ``domain`` and the moment map on it."""
    _, grids = _grid(domain, points)
    mu, omega, nu, tau = grids
    return tuple(grids), moment_map(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)


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
    grids, out = _grid_map(domain, points, alpha, lam)
    mu, omega, nu, tau = grids
    norm = moment_jacobian(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
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
      points, alpha, lam: as in :func:`theorem1_extremes`.

    Returns:
      :class:`Extreme`; ``ValueError`` as :func:`theorem1_extremes`.

    Examples:
      >>> ext = theorem2_extreme(points=(3, 3, 3, 3))
      >>> round(ext.value, 6), ext[1:]
      (-0.119744, (-1.0, -0.1, 3.0, 1.25))
    """
    grids, out = _grid_map(domain, points, alpha, lam)
    return _extreme(out.nu_tilde - grids[2], grids, "max")


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
      points, alpha, lam: as in :func:`theorem1_extremes`.

    Returns:
      :class:`Theorem3Extremes`; ``ValueError`` as :func:`theorem1_extremes`.

    Examples:
      >>> ext = theorem3_extremes(points=(3, 3, 3, 3))
      >>> round(ext.a.value, 7), round(ext.b.value, 7)
      (0.0077361, 0.0110293)
    """
    if not isinstance(domains, tuple | list) or len(domains) != 2:
        raise ValueError(f"domains must be two Domain boxes, got domains={domains!r}")
    found = []
    for domain in domains:
        grids, out = _grid_map(domain, points, alpha, lam)
        found.append(_extreme(out.nu_tilde - grids[2], grids, "min"))
    return Theorem3Extremes(*found)
