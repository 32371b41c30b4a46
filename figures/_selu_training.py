"""What the ``selu_training`` figure states about its setup, read from the grid.

The figure is not the paper's Fig. 1 setup (arXiv:1706.02515): its title and axes say
what it is (scikit-learn digits, steps, lr, batch, width, depths).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import xarray as xr

from figures._grid import GridError

__all__: list[str] = []


def _training_setup(ds: xr.Dataset) -> dict[str, str]:
    """Steps, lr, batch size, width and depths of a ``train`` grid, as text.

    Read from the grid's ``config_json`` attr; a grid without one (written by hand)
    falls back to its attrs and coordinates ("?" where unknown).
    """
    try:
        config = json.loads(ds.attrs.get("config_json") or "{}")
    except json.JSONDecodeError as err:
        raise GridError(f"grid attr config_json is not JSON: {err}") from None
    if not isinstance(config, dict):
        raise GridError("grid attr config_json is not a JSON object")
    known = {"steps": int(ds["step"].max()), "depth": ds["depth"].values.tolist()}
    known |= {k: ds.attrs[k] for k in ("lr", "width", "batch_size") if k in ds.attrs}
    known |= config
    ints = ("steps", "width", "batch_size")
    setup = {k: str(int(known[k])) if k in known else "?" for k in ints}
    setup["lr"] = f"{float(known['lr']):g}" if "lr" in known else "?"
    setup["depth"] = ", ".join(str(int(d)) for d in np.atleast_1d(known["depth"]))
    return setup


def _pack(pieces: Sequence[str], chars: int) -> str:
    """Join ``pieces`` with ", " into lines of about ``chars`` characters, never
    breaking inside a piece (so "lr 0.02" stays on one line)."""
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 2 + len(piece) > chars:
            lines[-1] += ","
            lines.append(piece)
        else:
            lines[-1] += ", " + piece
    return "\n".join(lines)
