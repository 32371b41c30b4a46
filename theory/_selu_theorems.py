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


#: Grid points evaluated at once: bounds the memory of a scan at any ``points``.
_CHUNK = 2**16


def _axes(domain: Domain, points: tuple[int, int, int, int]) -> list[np.ndarray]:
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
    if math.prod(int(p) for p in points) > 2**62:
        raise ValueError(
            f"points must make at most 2^62 grid points, got points={plain(points)!r}"
        )
    for name, (lo, hi) in domain._asdict().items():
        ok = all(
            isinstance(x, float | int) and not isinstance(x, bool) for x in (lo, hi)
        )
        if not (ok and math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"domain.{name} must be finite lo <= hi, got {(lo, hi)}")
    return [np.linspace(lo, hi, p) for (lo, hi), p in zip(domain, points, strict=True)]


def _scan(domain, points, values, kinds) -> list[Extreme]:
    """Extremes of ``values(mu, omega, nu, tau)`` (a tuple of arrays) over the grid.

    ``kinds[j]`` is ``"max"`` or ``"min"`` for the ``j``-th array. The grid is walked
    in C order, ``_CHUNK`` points at a time; a tie goes to the first point, as
    ``argmax`` over the whole grid would give it.
    """
    axes = _axes(domain, points)
    shape = tuple(int(p) for p in points)
    total = math.prod(shape)
    best: list[Extreme | None] = [None] * len(kinds)
    for start in range(0, total, _CHUNK):
        flat = np.arange(start, min(start + _CHUNK, total), dtype=np.int64)
        coords = [
            a[i] for a, i in zip(axes, np.unravel_index(flat, shape), strict=True)
        ]
        for j, (v, kind) in enumerate(zip(values(*coords), kinds, strict=True)):
            k = int(np.argmax(v) if kind == "max" else np.argmin(v))
            here = Extreme(float(v[k]), *(float(c[k]) for c in coords))
            old = best[j]
            if old is None or (
                here.value > old.value if kind == "max" else here.value < old.value
            ):
                best[j] = here
    return best


def _nu_change(alpha, lam):
    """``(mu, omega, nu, tau) -> (nu_tilde - nu,)`` for :func:`_scan`."""

    def values(mu, omega, nu, tau):
        out = moment_map(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
        return (out.nu_tilde - nu,)

    return values


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

    def values(mu, omega, nu, tau):
        out = moment_map(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
        jac = moment_jacobian(mu, nu, omega=omega, tau=tau, alpha=alpha, lam=lam)
        return jac.spectral_norm, out.mu_tilde, out.mu_tilde, out.nu_tilde, out.nu_tilde

    kinds = ("max", "min", "max", "min", "max")
    return Theorem1Extremes(*_scan(domain, points, values, kinds))


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
    return _scan(domain, points, _nu_change(alpha, lam), ("max",))[0]


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
    values = _nu_change(alpha, lam)
    return Theorem3Extremes(*(_scan(d, points, values, ("min",))[0] for d in domains))
