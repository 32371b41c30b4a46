r"""Piecewise Chebyshev interpolation of smooth vector-valued functions of one variable.

Used where one expensive function of a scalar (a sum over ``M`` spectral modes) is
needed at many points: tabulate it once on Chebyshev nodes, then evaluate anywhere in
the range for a few flops per point. Functions analytic in a strip around the real
axis (such as :math:`\sum_i \lambda_i/(\lambda_i + e^t)`, whose poles sit at
:math:`\mathrm{Im}\, t = \pm\pi`) converge geometrically in the degree; every panel
checks that its trailing coefficients are below ``rtol`` times its largest value and
is split until they are, so the interpolant is accurate to about ``rtol`` relative to
the function's size on each panel.

The range may be a union of disjoint segments: a caller that knows which parts of a
long range it needs (``theory.rf_ridge`` brackets every root first) pays only for
those.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.fft

from theory._args import plain

__all__ = ["PiecewiseChebyshev", "log_gauss_rules"]


class PiecewiseChebyshev:
    """Interpolant of ``fun: (P,) -> (F, P)`` on ``[lo, hi]`` by panels.

    Args:
      fun: vectorized; maps points of shape ``(P,)`` to values of shape ``(F, P)``.
      lo, hi: the range, ``lo < hi``, finite; or 1-D arrays of the ends of sorted,
        non-overlapping segments (``lo[i] < hi[i] <= lo[i+1]``) whose union is the
        range.
      width: initial panel width; each segment is cut into equal panels no wider.
        A panel whose trailing coefficients fail the ``rtol`` check is halved (up to
        ``max_halvings`` times).
      degree: Chebyshev nodes per panel.
      rtol: bound on the trailing coefficients relative to each panel's largest
        function value.

    Raises:
      ValueError: a bad range, or a panel that did not pass the check after
        ``max_halvings`` halvings (the function is not smooth enough there).

    Examples:
      >>> f = PiecewiseChebyshev(lambda t: np.stack([np.exp(t), np.sin(t)]), -3, 3)
      >>> bool(np.allclose(f(np.array([0.5])), [[np.exp(0.5)], [np.sin(0.5)]],
      ...                  rtol=1e-14, atol=0))
      True
    """

    def __init__(
        self,
        fun: Callable[[np.ndarray], np.ndarray],
        lo,
        hi,
        *,
        width: float = 1.0,
        degree: int = 16,
        rtol: float = 1e-14,
        max_halvings: int = 4,
    ) -> None:
        lo_s = np.atleast_1d(np.asarray(lo, dtype=np.float64))
        hi_s = np.atleast_1d(np.asarray(hi, dtype=np.float64))
        if (
            lo_s.ndim != 1
            or lo_s.shape != hi_s.shape
            or not lo_s.size
            or not np.all(np.isfinite(lo_s) & np.isfinite(hi_s) & (lo_s < hi_s))
            or np.any(lo_s[1:] < hi_s[:-1])
        ):
            raise ValueError(f"need finite lo < hi, got lo={lo!r}, hi={hi!r}")
        nodes = np.cos(np.pi * (np.arange(degree) + 0.5) / degree)
        counts = np.maximum(1, np.ceil((hi_s - lo_s) / width)).astype(int)
        edges = [
            np.linspace(a, b, c + 1) for a, b, c in zip(lo_s, hi_s, counts, strict=True)
        ]
        left = np.concatenate([e[:-1] for e in edges])
        right = np.concatenate([e[1:] for e in edges])
        done_left, done_right, done_coef = [], [], []
        for _ in range(max_halvings + 1):
            half = 0.5 * (right - left)
            mid = 0.5 * (right + left)
            points = (mid[:, None] + half[:, None] * nodes).ravel()
            values = np.asarray(fun(points), dtype=np.float64)
            values = values.reshape(values.shape[0], left.size, degree)
            coef = scipy.fft.dct(values, type=2, axis=-1) / degree
            coef[..., 0] /= 2
            scale = np.abs(values).max(axis=-1)
            tail = np.abs(coef[..., -2:]).max(axis=-1)
            ok = np.all(tail <= rtol * scale, axis=0)
            done_left.append(left[ok])
            done_right.append(right[ok])
            done_coef.append(coef[:, ok])
            if ok.all():
                break
            left, right = left[~ok], right[~ok]  # split the failing panels in two
            mid = mid[~ok]
            left, right = np.concatenate([left, mid]), np.concatenate([mid, right])
        else:
            raise ValueError(
                f"Chebyshev panels did not converge to rtol={rtol:g} on "
                f"[{left.min()}, {right.max()}]"
            )
        left, right = np.concatenate(done_left), np.concatenate(done_right)
        order = np.argsort(left)
        self._left, self._right = left[order], right[order]
        self._coef = np.concatenate(done_coef, axis=1)[:, order]
        self._by_degree = np.ascontiguousarray(np.moveaxis(self._coef, -1, 0))
        self._mid = 0.5 * (self._left + self._right)
        self._half = 0.5 * (self._right - self._left)
        self.lo, self.hi = float(lo_s[0]), float(hi_s[-1])
        self.edges = np.unique(np.concatenate([self._left, self._right]))

    @property
    def num_nodes(self) -> int:
        """Function evaluations the table holds (panels times degree)."""
        return int(self._coef.shape[1] * self._coef.shape[2])

    def __call__(self, t: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        """Values at ``t`` (shape ``(P,)``, inside the range), shape ``(F, P)``.

        Points within a relative 1e-12 of a panel's end count as inside it (the
        ends of a caller's bracket come back from ``log(exp(t))``). ``rows``
        selects some of the ``F`` functions (cheaper than all of them).
        """
        t = np.asarray(t, dtype=np.float64)
        last = self._left.size - 1
        j = np.clip(np.searchsorted(self._left, t, side="right") - 1, 0, last)
        slack = 1e-12 * (1.0 + np.abs(t))
        nxt = np.minimum(j + 1, last)
        j = np.where((t > self._right[j]) & (t >= self._left[nxt] - slack), nxt, j)
        outside = (t < self._left[j] - slack) | (t > self._right[j] + slack)
        if np.any(outside):
            raise ValueError(
                f"point {plain(t[outside][0])!r} outside the tabulated range "
                f"[{self.lo}, {self.hi}] (or in a gap between its segments)"
            )
        x = (t - self._mid[j]) / self._half[j]
        c = self._by_degree[:, rows][:, :, j]  # (degree, F, P), contiguous per degree
        # Clenshaw recurrence for sum_m c_m T_m(x).
        x2 = 2 * x
        b1 = c[-1].copy()
        b2 = np.zeros_like(b1)
        for m in range(c.shape[0] - 2, 0, -1):
            b2 = x2 * b1 - b2 + c[m]
            b1, b2 = b2, b1
        return x * b1 - b2 + c[0]


def log_gauss_rules(lam: np.ndarray, weights: np.ndarray, *, width: float, m: int):
    r"""Gauss rules in :math:`u = \log\lambda` that replace groups of many modes.

    Sums :math:`\sum_i w_i f(\lambda_i)` with ``f`` analytic in a strip
    :math:`|\mathrm{Im}\,\log\lambda| < \pi` (such as
    :math:`\lambda/(\lambda+\gamma)` for every :math:`\gamma > 0`) are split into
    groups of modes whose :math:`\log\lambda` lie within ``width``. A group with more
    than ``3 m`` modes is replaced by the ``m``-point Gauss rule of its discrete
    measure, which integrates polynomials in ``u`` of degree ``2m - 1`` exactly; for
    such ``f`` the error decays like :math:`\rho^{-2m}` with
    :math:`\rho \approx 2\pi/\mathrm{width}`. The rule comes from the group's
    modified moments in monic Chebyshev polynomials (one pass over the modes) and the
    modified Chebyshev algorithm (Gautschi, "Orthogonal Polynomials", 2004, §2.1.7),
    which is well conditioned on an interval.

    Args:
      lam: shape ``(M,)``, positive, sorted ascending.
      weights: shape ``(F, M)``, ``>= 0``: ``F`` measures on the same modes.
      width: group width in :math:`\log\lambda`.
      m: nodes per rule.

    Returns:
      ``(keep, nodes, node_weights)``: ``keep`` (``(M,)`` bool) marks the modes of
      the groups kept as they are; ``nodes`` and ``node_weights`` have shape
      ``(F, G, m)`` for the ``G`` replaced groups (each measure its own nodes).
    """
    u = np.log(lam)
    key = np.floor((u - u[0]) / width)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    counts = np.diff(np.r_[starts, u.size])
    positive = np.add.reduceat((weights > 0).astype(np.int64), starts, axis=-1)
    big = (counts > 3 * m) & np.all(positive > 3 * m, axis=0)
    F = weights.shape[0]
    if not big.any():
        keep = np.ones(u.size, dtype=bool)
        return keep, np.empty((F, 0, m)), np.empty((F, 0, m))
    ends = starts + counts - 1
    c = 0.5 * (u[ends] + u[starts])
    h = np.where(big, 0.5 * (u[ends] - u[starts]), 1.0)
    x = (u - np.repeat(c, counts)) / np.repeat(h, counts)
    p = np.empty((2 * m, u.size))  # monic Chebyshev polynomials: p_l = T_l / 2^(l-1)
    p[0], p[1] = 1.0, x
    for ell in range(2, 2 * m):
        p[ell] = 2 * x * p[ell - 1] - p[ell - 2]
    p[2:] *= 0.5 ** np.arange(1, 2 * m - 1)[:, None]
    mom = np.add.reduceat(weights[:, None, :] * p, starts, axis=-1)[..., big]
    mom = np.moveaxis(mom, 1, -1)  # (F, G, 2m)
    b_cheb = np.full(2 * m, 0.25)  # p_{l+1} = x p_l - b_l p_{l-1}
    b_cheb[:2] = 0.0, 0.5
    alpha = np.zeros((*mom.shape[:2], m))
    beta = np.zeros_like(alpha)
    alpha[..., 0], beta[..., 0] = mom[..., 1] / mom[..., 0], mom[..., 0]
    s_prev2, s_prev = np.zeros_like(mom), mom
    quiet = np.errstate(divide="ignore", invalid="ignore", over="ignore")
    quiet.__enter__()  # a degenerate group (NaN or beta <= 0) is caught below
    for k in range(1, m):
        ell = np.arange(k, 2 * m - k)
        s = np.zeros_like(mom)
        s[..., ell] = (
            s_prev[..., ell + 1]
            - alpha[..., k - 1, None] * s_prev[..., ell]
            - beta[..., k - 1, None] * s_prev2[..., ell]
            + b_cheb[ell] * s_prev[..., ell - 1]
        )
        alpha[..., k] = s[..., k + 1] / s[..., k] - s_prev[..., k] / s_prev[..., k - 1]
        beta[..., k] = s[..., k] / s_prev[..., k - 1]
        s_prev2, s_prev = s_prev, s
    quiet.__exit__(None, None, None)
    jacobi = np.zeros((*mom.shape[:2], m, m))
    i = np.arange(m)
    jacobi[..., i, i] = alpha
    off = np.sqrt(beta[..., 1:])
    jacobi[..., i[1:], i[:-1]] = off
    jacobi[..., i[:-1], i[1:]] = off
    with np.errstate(invalid="ignore"):
        ok = np.all(np.isfinite(jacobi), axis=(0, 2, 3))
        ok &= np.all(beta[..., 1:] > 0, axis=(0, 2))
    jacobi[:, ~ok] = np.eye(m)  # a degenerate group keeps its modes instead
    theta, vec = np.linalg.eigh(jacobi)
    nodes = np.exp(c[big][:, None] + h[big][:, None] * theta)
    big[np.flatnonzero(big)[~ok]] = False
    keep = np.repeat(~big, counts)
    weight = mom[..., 0, None] * vec[..., 0, :] ** 2
    return keep, nodes[:, ok], weight[:, ok]
