"""Argument checks shared by :mod:`theory.nce` and its private modules."""

from __future__ import annotations

import numpy as np

__all__ = ["_broadcast", "_finite", "_positive"]


def _finite(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name} must be finite, got {name}={arr[bad].ravel()[0]!r}")
    return arr


def _positive(name: str, value) -> np.ndarray:
    arr = _finite(name, value)
    bad = ~(arr > 0)
    if bad.any():
        raise ValueError(f"{name} must be > 0, got {name}={arr[bad].ravel()[0]!r}")
    return arr


def _broadcast(**arrays) -> list[np.ndarray]:
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"shapes do not broadcast: {shapes}") from None
