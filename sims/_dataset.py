"""The Datasets a kernel or a theory grid builds: the chunk's coordinates in front.

Every kernel returns its chunk's numbers as an ``xr.Dataset`` carrying the chunk's
coordinate values; :func:`chunk_dataset` builds it from the arrays over the dims the
kernel computes, and :func:`config_coords` gives the coordinates a kernel or a theory
grid takes whole from the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np
import xarray as xr

from sims._config import SweepConfig
from sims._sweep import Chunk

__all__ = ["chunk_dataset", "config_coords"]


def config_coords(config: SweepConfig, *fields: str) -> dict[str, list]:
    """``{field: list(config.<field>)}`` for each named axis field.

    Examples:
      >>> from sims.rf_risk import PRESETS
      >>> config_coords(PRESETS["smoke"], "n", "ridge")
      {'n': [48], 'ridge': [0.01, 1.0]}
    """
    return {name: list(getattr(config, name)) for name in fields}


def chunk_dataset(
    chunk: Chunk,
    data: Mapping[str, tuple[Sequence[str], np.ndarray]],
    coords: Mapping[str, Sequence] | None = None,
) -> xr.Dataset:
    """A kernel's result: ``data`` with the chunk's coordinates (and ``coords``).

    ``data`` maps each variable to ``(dims, values)`` over the dims the kernel
    computes; every chunked dim a variable does not name is put in front of its dims
    (the chunk holds one value along it).

    Examples:
      >>> from sims._sweep import Chunk
      >>> chunk = Chunk({"n": (8,), "trial": (0, 1)})
      >>> ds = chunk_dataset(chunk, {"risk": (("trial",), np.zeros(2))})
      >>> ds["risk"].dims, ds["risk"].shape
      (('n', 'trial'), (1, 2))
    """
    out = {}
    for name, (dims, values) in data.items():
        lead = tuple(d for d in chunk.coords if d not in dims)
        wide = [d for d in lead if len(chunk.coords[d]) != 1]
        if wide:
            raise ValueError(
                f"variable {name} lacks the chunked dims {wide}, which hold more "
                "than one value"
            )
        values = np.asarray(values)
        out[name] = ((*lead, *dims), values.reshape((1,) * len(lead) + values.shape))
    grid = {dim: list(values) for dim, values in chunk.coords.items()}
    return xr.Dataset(out, coords={**grid, **(coords or {})})
