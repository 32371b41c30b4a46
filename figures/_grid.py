"""Opening saved grids for figure scripts, with one-line errors."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from sims._cli import _Parser
from sims._cli import quiet_on_closed_pipe
from sims._io import check_folder

__all__ = [
    "GridError",
    "add_out_option",
    "check_kind",
    "figure_main",
    "grid_module",
    "match_kind",
    "open_grid",
]


class GridError(ValueError):
    """A file that is not a readable grid of the expected kind; one-line message."""


def check_kind(
    ds: xr.Dataset, kind: str, dims: Sequence[str], names: Sequence[str], source: str
) -> None:
    """:class:`GridError` unless ``ds`` has the ``dims`` (none empty) and the
    variables ``names`` of a grid of ``kind``."""
    missing = [d for d in dims if d not in ds.dims]
    if missing:
        raise GridError(f"{source}: {kind} grid lacks dims {missing}")
    missing = [v for v in names if v not in ds.data_vars]
    if missing:
        raise GridError(f"{source}: {kind} grid lacks variables {missing}")
    empty = [d for d in dims if ds.sizes[d] == 0]
    if empty:
        raise GridError(f"{source}: empty dims {empty}")


def match_kind(
    ds: xr.Dataset,
    kinds: Mapping[str, tuple[Sequence[str], Sequence[str]]],
    source: str,
    module: str,
) -> str:
    """The first kind of ``kinds`` (kind -> (dims, variables)) whose dims and
    variables ``ds`` has, none of the dims empty; else :class:`GridError`."""
    for key, (dims, names) in kinds.items():
        if all(d in ds.dims for d in dims) and all(v in ds for v in names):
            check_kind(ds, key, dims, names, source)
            return key
    raise GridError(
        f"{source}: not an {module} grid (needs the dims and variables of one of "
        f"{sorted(kinds)})"
    )


@functools.cache
def _writers() -> dict[tuple[str, frozenset[str]], tuple[str, ...]]:
    """``{(experiment key, its config field names): sim modules declaring it}``."""
    from sims._registry import all_experiments

    out: dict[tuple[str, frozenset[str]], tuple[str, ...]] = {}
    for module, experiments in all_experiments().items():
        for e in experiments:
            names = frozenset(f.name for f in dataclasses.fields(e.config))
            out[e.key, names] = (*out.get((e.key, names), ()), module)
    return out


@functools.cache
def _keys() -> dict[str, frozenset[str]]:
    """``{sim module: its experiment keys}``."""
    from sims._registry import all_experiments

    return {m: frozenset(e.key for e in es) for m, es in all_experiments().items()}


def grid_module(ds: xr.Dataset) -> str | None:
    """The sim module (``sims.<name>``) whose sweep wrote ``ds``, or ``None`` when its
    attrs do not tell.

    A grid records its module (attr ``module``), its experiment key (``experiment``)
    and its config (``config_json``); the module is the one of attr ``module`` when
    that module declares an experiment of that key. A grid written before grids named
    their module is told apart by key and config: two modules may share a key
    (``sims.rf_risk`` and ``sims.rf_real`` both have ``rf``), so the module is the one
    declaring an experiment of that key with exactly those config fields. A grid made
    by other code, or by a code version whose config fields have changed since, gives
    ``None``.
    """
    key, named = ds.attrs.get("experiment"), ds.attrs.get("module")
    if not isinstance(key, str):
        return None
    if named is not None:
        known = isinstance(named, str) and key in _keys().get(named, ())
        return named if known else None
    try:
        fields = json.loads(ds.attrs.get("config_json", ""))
    except (TypeError, ValueError):
        return None
    if not isinstance(fields, dict):
        return None
    modules = _writers().get((key, frozenset(fields)), ())
    return modules[0] if len(modules) == 1 else None


def open_grid(
    path: str | Path,
    check: Callable[[xr.Dataset, str], object],
    module: str | None = None,
) -> xr.Dataset:
    """Open ``path``, load it into memory and ``check(ds, str(path))`` it.

    Args:
      module: the sim module the grid must come from (``sims.<name>``); a grid whose
        attrs say another module wrote it (:func:`grid_module`) is refused even when
        it has the variables ``check`` looks for.

    Raises:
      GridError: missing or unreadable file, a grid of another module, or whatever
        ``check`` refuses.
    """
    path = Path(path)
    if not path.is_file():
        what = "a directory, not a grid file" if path.is_dir() else "no such file"
        raise GridError(f"{path}: {what}")
    try:  # the sims write netCDF4 (HDF5) with h5netcdf
        with xr.open_dataset(path, engine="h5netcdf") as opened:
            ds = opened.load()
    except Exception as err:  # any failure to read is "not a netCDF grid"
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise GridError(f"{path}: not a netCDF4 grid ({reason})") from None
    writer = grid_module(ds) if module is not None else None
    if writer is not None and writer != module:
        raise GridError(
            f"{path} is a {writer} grid (experiment {ds.attrs['experiment']!r}), "
            f"not {module}"
        )
    check(ds, str(path))
    return ds


def add_out_option(parser) -> None:
    """The ``--out`` option of every figure command (default ``figures/out``)."""
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("figures/out"),
        help="output folder (default: %(default)s)",
    )


def figure_main(
    *,
    name: str,
    what: str,
    load: Callable[[Path], xr.Dataset],
    write: Callable[[list, Path], list],
) -> Callable[..., int]:
    """The ``main(argv=None) -> exit status`` of ``python -m figures.<name> GRID.nc
    [GRID.nc ...] [--out DIR]``: draw ``what`` (PNG and PDF) from saved grids; a bad
    grid exits 2 with one line."""

    @quiet_on_closed_pipe
    def main(argv: Sequence[str] | None = None) -> int:
        import sys

        parser = _Parser(
            prog=f"python -m figures.{name}",
            description=f"Draw the {what} figures (PNG and PDF) from saved grids.",
        )
        parser.add_argument(
            "grids", type=Path, nargs="*", help=f"netCDF grids of sims.{name}"
        )
        add_out_option(parser)
        args = parser.parse_args(argv)
        try:
            grids = [load(path) for path in args.grids]
            check_folder("--out", args.out)
        except ValueError as err:  # GridError included
            print(f"{parser.prog}: error: {err}", file=sys.stderr)
            return 2
        for path in write(grids, args.out):
            print(path)
        return 0

    main.__doc__ = (
        f"``python -m figures.{name} GRID.nc [GRID.nc ...] [--out DIR]``; exit status."
    )
    return main
