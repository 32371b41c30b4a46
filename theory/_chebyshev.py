r"""Piecewise Chebyshev interpolation of smooth vector-valued functions of one variable.

Used where one expensive function of a scalar (a sum over ``M`` spectral modes) is
needed at many points: tabulate it once on Chebyshev nodes, then evaluate anywhere in
the range for a few flops per point. Functions analytic in a strip around the real
axis (such as :math:`\sum_i \lambda_i/(\lambda_i + e^t)`, whose poles sit at
:math:`\mathrm{Im}\, t = \pm\pi`) converge geometrically in the degree; every panel
checks that its trailing coefficients are below ``rtol`` times its largest value and
is split until they are, so the interpolant is accurate to about ``rtol`` relative to
the function's size on each panel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.fft

__all__ = ["PiecewiseChebyshev"]


class PiecewiseChebyshev:
    """Interpolant of ``fun: (P,) -> (F, P)`` on ``[lo, hi]`` by equal panels.

    Args:
      fun: vectorized; maps points of shape ``(P,)`` to values of shape ``(F, P)``.
      lo, hi: the range, ``lo < hi``, finite.
      width: initial panel width; halved (up to ``max_halvings`` times) until every
        panel's trailing coefficients pass the ``rtol`` check.
      degree: Chebyshev nodes per panel.
      rtol: bound on the trailing coefficients relative to each panel's largest
        function value.

    Raises:
      ValueError: a bad range, or no panel width passed the check (the function is
        not smooth enough on this range).

    Examples:
      >>> f = PiecewiseChebyshev(lambda t: np.stack([np.exp(t), np.sin(t)]), -3, 3)
      >>> bool(np.allclose(f(np.array([0.5])), [[np.exp(0.5)], [np.sin(0.5)]],
      ...                  rtol=1e-14, atol=0))
      True
    """

    def __init__(
        self,
        fun: Callable[[np.ndarray], np.ndarray],
        lo: float,
        hi: float,
        *,
        width: float = 1.0,
        degree: int = 16,
        rtol: float = 1e-14,
        max_halvings: int = 4,
    ) -> None:
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"need finite lo < hi, got lo={lo!r}, hi={hi!r}")
        nodes = np.cos(np.pi * (np.arange(degree) + 0.5) / degree)
        for _ in range(max_halvings + 1):
            panels = max(1, int(np.ceil((hi - lo) / width)))
            edges = np.linspace(lo, hi, panels + 1)
            half = 0.5 * (edges[1:] - edges[:-1])
            mid = 0.5 * (edges[1:] + edges[:-1])
            points = (mid[:, None] + half[:, None] * nodes).ravel()
            values = np.asarray(fun(points), dtype=np.float64)
            values = values.reshape(values.shape[0], panels, degree)
            coef = scipy.fft.dct(values, type=2, axis=-1) / degree
            coef[..., 0] /= 2
            scale = np.abs(values).max(axis=-1)
            tail = np.abs(coef[..., -2:]).max(axis=-1)
            if np.all(tail <= rtol * scale):
                break
            width /= 2
        else:
            raise ValueError(
                f"Chebyshev panels did not converge to rtol={rtol:g} on [{lo}, {hi}]"
            )
        self.lo, self.hi, self.edges = float(lo), float(hi), edges
        self._mid, self._half, self._coef = mid, half, coef

    def __call__(self, t: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        """Values at ``t`` (shape ``(P,)``, inside ``[lo, hi]``), shape ``(F, P)``.

        ``rows`` selects some of the ``F`` functions (cheaper than all of them).
        """
        t = np.asarray(t, dtype=np.float64)
        if np.any((t < self.lo) | (t > self.hi)):
            bad = t[(t < self.lo) | (t > self.hi)][0]
            raise ValueError(f"point {bad!r} outside [{self.lo}, {self.hi}]")
        j = np.clip(
            np.searchsorted(self.edges, t, side="right") - 1, 0, self._mid.size - 1
        )
        x = (t - self._mid[j]) / self._half[j]
        c = self._coef[rows][:, j, :]  # (F, P, degree)
        # Clenshaw recurrence for sum_m c_m T_m(x).
        b1 = np.zeros(c.shape[:2])
        b2 = np.zeros(c.shape[:2])
        for m in range(c.shape[-1] - 1, 0, -1):
            b1, b2 = 2 * x * b1 - b2 + c[..., m], b1
        return x * b1 - b2 + c[..., 0]
