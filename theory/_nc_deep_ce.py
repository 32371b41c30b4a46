r"""Paper B: the balanced deep linear UFM with cross-entropy on the ETF ansatz.

Dang, Tran, Osher, Tran-The, Ho & Nguyen, "Neural Collapse in Deep Linear Networks:
From Balanced to Imbalanced Data", ICML 2023, arXiv:2301.00437. The model is the
deep linear UFM of ``theory._nc_deep_linear`` with the squared loss replaced by
cross-entropy (mean over samples, no bias), ``K`` classes of ``n`` samples each.
Giving the end-to-end classifier and the class means ``K-1`` equal, aligned singular
values reduces it to one scalar equation; the reduction, and why for ``M >= 2`` its
root is a stationary point rather than the global minimum, were derived for this
package (``docs/derivations/neural_collapse.md`` §4, §6.5); the paper's own theorem
statement was not available to check against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import integer
from theory._nc_deep_linear import _XTOL
from theory._nc_deep_linear import DeepLinearPoint
from theory._nc_deep_linear import _depth
from theory._nc_deep_linear import _lam
from theory._nc_deep_linear import _layer_lams
from theory._nc_deep_linear import _point

# used by a docstring example (doctests run in this module's namespace)
from theory._nc_deep_objectives import deep_linear_ce_objective  # noqa: F401
from theory._solve import solve_bracketed

__all__ = [
    "CrossEntropyETF",
    "deep_linear_ce_etf",
    "deep_linear_ce_point",
]


class CrossEntropyETF(NamedTuple):
    r"""The best simplex-ETF point of the balanced deep linear UFM with CE.

    Attributes:
      a: singular value of :math:`W = W_M\cdots W_1` (``K-1`` equal ones).
      h: singular value of :math:`\bar H` (``K-1`` equal ones).
      u: the margin variable :math:`u = ah` (logit gap).
      objective: the objective at that point.
      zero_objective: the objective at the origin, :math:`\log K`.
      nonzero: the ETF point beats the origin (else ``a = h = 0`` is returned).
      residual: residual of the scalar stationarity equation.
    """

    a: float
    h: float
    u: float
    objective: float
    zero_objective: float
    nonzero: bool
    residual: float


def deep_linear_ce_etf(
    K: int,
    n: int,
    *,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
) -> CrossEntropyETF:
    r"""Scalar reduction of the balanced deep linear CE UFM on the ETF ansatz.

    Give :math:`W` and :math:`\bar H` ``K-1`` equal, aligned singular values
    ``a`` and ``h`` (so :math:`W\bar H = ah P_K`) and minimize (derivations §4)

    .. math::

        J(a, h) = \log\big(1 + (K-1)e^{-ah}\big)
        + \frac{M\bar\lambda}{2}(K-1)a^{2/M} + \frac{\lambda_H n}{2}(K-1)h^2.

    Stationarity gives :math:`\lambda_H n h^2 = \bar\lambda a^{2/M}` and, with
    :math:`u = ah`, the scalar equation

    .. math::

        \frac{u^{(M-1)/(M+1)}}{e^u + K - 1}
        = \bar\lambda\Big(\frac{\lambda_H n}{\bar\lambda}\Big)^{1/(M+1)},

    whose largest root is taken (for ``M = 1`` it is
    :math:`u = \log(1/\sqrt{\bar\lambda\lambda_H n} - K + 1)`). For ``M = 1`` this
    is the global minimum; for ``M >= 2`` it is a stationary point of the full
    problem but lower-rank solutions can have a lower objective (derivations §6.5),
    so do not read it as the global optimum.

    Args:
      K: classes, ``>= 2``.
      n: samples per class, ``>= 1``.
      depth: ``M >= 1``.
      lam_w: a number or ``M`` values, ``> 0``.
      lam_h: :math:`\lambda_H > 0`.

    Returns:
      :class:`CrossEntropyETF`.

    Raises:
      ValueError: bad sizes or :math:`\lambda`.

    Examples:
      >>> e = deep_linear_ce_etf(4, 20, depth=3, lam_w=5e-3, lam_h=5e-3)
      >>> round(e.objective, 6)
      0.160882
    """
    K, n = integer("K", K, 2), integer("n", n, 1)
    M = _depth(depth)
    lw = _layer_lams(lam_w, M)
    lh = _lam("lam_h", lam_h)
    lbar = float(np.exp(np.mean(np.log(lw))))
    # log C, C = lbar (lh n / lbar)^(1/(M+1)): C underflows for decays near 1e-300
    log_ratio = np.log(lh) + np.log(n) - np.log(lbar)  # log(lh n / lbar)
    log_C = np.log(lbar) + log_ratio / (M + 1)
    p = (M - 1) / (M + 1)
    zero = float(np.log(K))

    def J(u):
        a = np.exp(M / (M + 1) * (np.log(u) + 0.5 * log_ratio))
        h = u / a
        return (
            float(
                np.log1p((K - 1) * np.exp(-u))
                + 0.5 * M * lbar * (K - 1) * a ** (2 / M)
                + 0.5 * lh * n * (K - 1) * h**2
            ),
            a,
            h,
        )

    if M == 1:
        # u = log(1/sqrt(lbar lh n) - K + 1), with the square root in logs (the
        # product underflows for weight decays near 1e-300)
        inv = np.exp(-0.5 * (np.log(lbar) + np.log(lh) + np.log(n)))
        arg = inv - K + 1
        if not arg > 1:
            return CrossEntropyETF(0.0, 0.0, 0.0, zero, zero, False, 0.0)
        if np.isfinite(inv):
            u = float(np.log1p(inv - K))  # log(arg) without rounding arg near 1
        else:  # inv > 1.8e308 >> K: log(inv - K + 1) = log(inv) to rounding
            u = float(-0.5 * (np.log(lbar) + np.log(lh) + np.log(n)))
        res = 0.0
    else:
        # r(u) = u^p / (e^u + K - 1) rises to its maximum at u*, where
        # p (1 + (K-1) e^-u) = u (u* in [p, pK]), then falls to 0.
        star = solve_bracketed(
            lambda v: (
                v - p * (1 + (K - 1) * np.exp(-v)),
                v * (1 + p * (K - 1) * np.exp(-v)),
            ),
            p * 0.999,
            p * K * 1.001,
            log=True,
            xtol=_XTOL,
        )
        u_star = float(star.root[0])

        def fun(v):
            f = p * np.log(v) - np.logaddexp(v, np.log(K - 1)) - log_C
            return f, p - v / (1 + (K - 1) * np.exp(-v))

        if fun(np.array([u_star]))[0][0] < 0:
            return CrossEntropyETF(0.0, 0.0, 0.0, zero, zero, False, 0.0)
        hi = max(2 * u_star, 1.0)
        while fun(np.array([hi]))[0][0] > 0:
            hi *= 2
        sol = solve_bracketed(fun, u_star, hi, log=True, xtol=_XTOL)
        u, res = float(sol.root[0]), float(abs(sol.residual[0]))
    obj, a, h = J(u)
    # M = 1: the root beats the origin wherever it exists (arg > 1); near arg = 1 the
    # two objectives differ by less than rounding, so comparing them would decide
    # on rounding.
    if M > 1 and obj >= zero:
        return CrossEntropyETF(0.0, 0.0, 0.0, zero, zero, False, 0.0)
    return CrossEntropyETF(float(a), float(h), u, obj, zero, True, res)


def deep_linear_ce_point(
    K: int,
    n: int,
    *,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
    width: int,
    rotation: ArrayLike | None = None,
) -> DeepLinearPoint:
    r"""Explicit layers and features of the ETF point of :func:`deep_linear_ce_etf`.

    Layer ``l`` has ``K-1`` singular values :math:`\sigma_l` with
    :math:`\lambda_{W_l}\sigma_l^2 = \bar\lambda a^{2/M}` (so
    :math:`\prod_l\sigma_l = a`) and :math:`\bar H = hUQ^\top`, ``Q`` an orthonormal
    basis of :math:`1_K^\perp`; no bias.

    Args:
      K, n, depth, lam_w, lam_h: as :func:`deep_linear_ce_etf`.
      width: ``d >= K``.
      rotation: ``(d, K-1)`` orthonormal columns.

    Returns:
      :class:`DeepLinearPoint` (all zeros when the origin is better).

    Raises:
      ValueError: as :func:`deep_linear_ce_etf`, ``width < K``, or a ``rotation``
        that is not finite with orthonormal columns (to 1e-10).

    Examples:
      >>> p = deep_linear_ce_point(3, 2, depth=2, lam_w=1e-3, lam_h=1e-3, width=4)
      >>> v = deep_linear_ce_objective(p.weights, p.H, p.labels, lam_w=1e-3,
      ...                              lam_h=1e-3)
      >>> e = deep_linear_ce_etf(3, 2, depth=2, lam_w=1e-3, lam_h=1e-3)
      >>> bool(abs(v - e.objective) < 1e-13)
      True
    """
    e = deep_linear_ce_etf(K, n, depth=depth, lam_w=lam_w, lam_h=lam_h)
    M = _depth(depth)
    lw = _layer_lams(lam_w, M)
    lbar = float(np.exp(np.mean(np.log(lw))))
    sv = np.sqrt(lbar * e.a ** (2 / M) / lw)
    layer = np.repeat(sv[:, None], K - 1, axis=1)
    return _point(
        np.full(K, n),
        layer,
        np.full(K - 1, e.h),
        width=width,
        frame="etf",
        rotation=rotation,
    )
