"""Opening saved grids for figure scripts, with one-line errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import xarray as xr

__all__ = ["GridError", "open_grid"]


class GridError(ValueError):
    """A file that is not a readable grid of the expected kind; one-line message."""


def open_grid(
    path: str | Path, check: Callable[[xr.Dataset, str], object]
) -> xr.Dataset:
    """Open ``path``, load it into memory and ``check(ds, str(path))`` it.

    Raises:
      GridError: missing or unreadable file, or whatever ``check`` refuses.
    """
    path = Path(path)
    if not path.is_file():
        raise GridError(f"{path}: no such file")
    try:
        with xr.open_dataset(path) as opened:
            ds = opened.load()
    except Exception as err:  # any failure to read is "not a netCDF grid"
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise GridError(f"{path}: cannot read as netCDF ({reason})") from None
    check(ds, str(path))
    return ds
