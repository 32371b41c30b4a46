"""Argument checks shared by every theory module.

Each check raises ``ValueError`` naming the argument and its first bad value, written
as a user writes it (``nu=nan``, ``beta=-1.0``; never ``np.float64(nan)``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class _Shape:
    """Stands for a large array in a message: ``array of shape (1000, 3)``."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape

    def __repr__(self) -> str:
        return f"array of shape {self.shape}"


def plain(value):
    """``value`` for a message: numpy scalars and small arrays as Python ones."""
    if isinstance(value, np.ndarray) and value.size > 8:
        return _Shape(value.shape)
    return value.tolist() if isinstance(value, np.ndarray | np.generic) else value


def floats(name: str, value) -> np.ndarray:
    """``value`` as a float64 array, or ValueError if it is not real numbers: ``None``
    (which numpy would turn into NaN), strings and booleans (which it would turn into
    numbers) are refused, and so are integers beyond the float64 range."""
    try:
        raw = np.asarray(value)
        if raw.dtype.kind in "iuf":
            return raw.astype(np.float64, copy=False)
        if raw.dtype.kind == "O" and all(map(_real_number, raw.flat)):
            return np.asarray(value, dtype=np.float64)
    except OverflowError:  # a Python int beyond float64
        raise ValueError(
            f"{name} must be within the float64 range, got {name}={plain(value)!r}"
        ) from None
    except (TypeError, ValueError):
        pass
    raise ValueError(f"{name} must be numeric, got {name}={plain(value)!r}")


def _real_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)


def require(name: str, value: np.ndarray, ok, rule: str) -> None:
    """ValueError ``"{name} must be {rule}, got {name}=<first value where not ok>"``."""
    if not np.all(ok):
        bad = np.broadcast_to(value, np.shape(ok))[~np.asarray(ok)].ravel()[0]
        raise ValueError(f"{name} must be {rule}, got {name}={plain(bad)!r}")


def finite(name: str, value) -> np.ndarray:
    """``value`` as a float64 array of finite numbers."""
    arr = floats(name, value)
    require(name, arr, np.isfinite(arr), "finite")
    return arr


def positive(name: str, value) -> np.ndarray:
    """``value`` as a float64 array of finite numbers > 0."""
    arr = finite(name, value)
    require(name, arr, arr > 0, "> 0")
    return arr


def real(name: str, value) -> float:
    """``value`` as a float: a real number (Python, numpy scalar or 0-d array)."""
    arr = floats(name, value)
    if arr.ndim:
        raise ValueError(f"{name} must be a real number, got shape {arr.shape}")
    return float(arr)


def bounded(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float in the interval the bounds give (``None``: none).

    >>> bounded("rcond", 1e-12, low=0.0, high=1.0, low_open=True, high_open=True)
    1e-12
    >>> bounded("lam", -1, low=0.0, low_open=True)
    Traceback (most recent call last):
    ValueError: lam must be finite and > 0, got lam=-1.0
    """
    v = real(name, value)
    ok = math.isfinite(v)
    if low is not None:
        ok = ok and (v > low if low_open else v >= low)
    if high is not None:
        ok = ok and (v < high if high_open else v <= high)
    if not ok:
        rule = ""
        if low is not None and high is not None:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            rule = f" and in {left}{low:g}, {high:g}{right}"
        elif low is not None:
            rule = f" and {'>' if low_open else '>='} {low:g}"
        elif high is not None:
            rule = f" and {'<' if high_open else '<='} {high:g}"
        raise ValueError(f"{name} must be finite{rule}, got {name}={v!r}")
    return v


def integer(name: str, value, low: int) -> int:
    """``value`` as an int >= ``low``: a Python or numpy integer (not a bool/float)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | np.integer)
        or value < low
    ):
        raise ValueError(
            f"{name} must be an integer >= {low}, got {name}={plain(value)!r}"
        )
    return int(value)


def broadcast(**arrays) -> list[np.ndarray]:
    """The arrays broadcast together, or ValueError naming them and their shapes."""
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(a)}" for k, a in arrays.items())
        raise ValueError(f"shapes do not broadcast: {shapes}") from None


def broadcast_shape(**arrays) -> tuple[int, ...]:
    """The broadcast shape of the arrays, or ValueError naming them and their shapes."""
    try:
        return np.broadcast_shapes(*(np.shape(a) for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k}{np.shape(a)}" for k, a in arrays.items())
        raise ValueError(f"shapes do not broadcast: {shapes}") from None
