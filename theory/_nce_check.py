"""Argument checks shared by :mod:`theory.nce` and its private modules."""

from __future__ import annotations

import numpy as np

from theory._args import broadcast
from theory._args import finite
from theory._args import positive

__all__ = ["_arrays"]

#: Arguments that must be > 0 wherever they appear; every argument must be finite.
_POSITIVE = frozenset({"noise_std", "nu"})


def _arrays(**values) -> list[np.ndarray]:
    """``values`` as float64 arrays broadcast together, each checked by its name.

    Raises ``ValueError`` naming the first bad value: not numeric, non-finite,
    ``<= 0`` for a name in :data:`_POSITIVE`, or shapes that do not broadcast.
    """
    return broadcast(
        **{k: (positive if k in _POSITIVE else finite)(k, v) for k, v in values.items()}
    )
