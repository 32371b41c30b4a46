"""Error-free float64 products, for differences that must not cancel.

Dekker's product: with Veltkamp's split of each factor into halves of 26 bits,
``a * b = p + e`` exactly, ``p = fl(a * b)``, barring overflow and underflow. Used where
a result depends on ``1 - a * b`` or ``2 s^2 - 1`` near 0 (``theory._nc_ufm``,
``theory._nce_gaussian``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["two_product"]

_SPLIT = 134217729.0  # 2^27 + 1


def two_product(a, b) -> tuple[np.ndarray, np.ndarray]:
    """``(p, e)`` with ``p = fl(a * b)`` and ``a * b = p + e`` exactly, elementwise.

    Exact for factors below about 1e300 in magnitude whose product and partial
    products stay in the normal range; elsewhere ``e`` may be inf or NaN (callers
    fall back there).

    Example:
      >>> p, e = two_product(1.0 + 2.0**-30, 1.0 - 2.0**-30)
      >>> float(p), float(e)  # 1 - 2^-60 rounds to 1; the error is -2^-60
      (1.0, -8.673617379884035e-19)
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        p = a * b
        ta, tb = _SPLIT * a, _SPLIT * b
        ah, bh = ta - (ta - a), tb - (tb - b)
        al, bl = a - ah, b - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e
