r"""Argument checks shared by the power-law modules.

Domain rules of the power-law tasks of Section 5 of Simon, Karkada, Ghosh & Belkin
(2024), arXiv:2311.14646 (:math:`\lambda_i = i^{-\alpha}`, :math:`v_i^2 = i^{-\beta}`):
:math:`\alpha > 1` (trace-class kernel), :math:`\beta > 1` (finite target norm) and,
for the continuum closed form, :math:`\beta < 2\alpha + 1`
(``docs/derivations/rf_powerlaw.md``). Each check raises ``ValueError`` naming the
bad value; used by :mod:`theory.rf_powerlaw` and ``theory._rf_tail``.
"""

from __future__ import annotations

import math

import numpy as np

from theory._args import broadcast as _broadcast
from theory._args import floats
from theory._args import require


def _as_float(name: str, value) -> np.ndarray:
    arr = floats(name, value)
    require(name, arr, ~np.isnan(arr), "a number (not NaN)")
    return arr


def _check_alpha(alpha) -> np.ndarray:
    a = _as_float("alpha", alpha)
    require("alpha", a, (a > 1) & np.isfinite(a), "> 1 and finite")
    return a


def _check_beta(beta, alpha: np.ndarray | None = None) -> np.ndarray:
    """beta > 1; with ``alpha`` also beta < 2 alpha + 1 (the continuum integrals)."""
    b = _as_float("beta", beta)
    require("beta", b, (b > 1) & np.isfinite(b), "> 1 and finite")
    if alpha is not None:
        _broadcast(alpha=alpha, beta=b)
        ok = b < 2 * alpha + 1
        if not np.all(ok):
            a_b, b_b = np.broadcast_arrays(alpha, b)
            i = np.flatnonzero(~np.broadcast_to(ok, a_b.shape))[0]
            raise ValueError(
                f"beta must be < 2*alpha + 1 for the continuum closed form, got "
                f"beta={b_b.ravel()[i].item()!r} with alpha={a_b.ravel()[i].item()!r}"
            )
    return b


def _check_nonneg(name: str, value) -> np.ndarray:
    arr = _as_float(name, value)
    require(name, arr, (arr >= 0) & np.isfinite(arr), ">= 0 and finite")
    return arr


def _check_count(name: str, value, low: int) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}") from None
    if not (math.isfinite(f) and f.is_integer() and f >= low):
        raise ValueError(f"{name} must be an integer >= {low}, got {name}={value!r}")
    return int(f)


def _check_scalar(name: str, arr: np.ndarray) -> float:
    if arr.ndim:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)
