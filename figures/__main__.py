"""Regenerate every figure: ``python -m figures [--results results] [--out DIR]``.

Each figure module draws from the newest saved grids under ``<results>/<module>/``
(``*.nc`` directly in that folder, newest by modification time first) plus any
theory-only figures it has. An experiment with no saved grid there is first run at its
``default`` preset (one line on stderr names the command; ``--no-run`` skips it and
draws only what is saved); an unreadable grid, or one another sim module wrote, is
skipped with one line on stderr and the next newest is used. Every figure is written
as PNG and PDF; the written paths are printed one a line. A ``--results`` or ``--out``
that cannot be written exits 2 with one line, before anything runs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from figures import ifm
from figures import nce
from figures import neural_collapse
from figures import rf_real
from figures import rf_risk
from figures import selu
from figures._grid import add_out_option
from sims._cli import _Parser
from sims._cli import quiet_on_closed_pipe
from sims._io import check_folder
from sims._registry import all_experiments
from sims._sweep import result_path

# module stem (the folder under results/) -> its figure module.
MODULES = {
    "rf_risk": rf_risk,
    "selu": selu,
    "neural_collapse": neural_collapse,
    "rf_real": rf_real,
    "ifm": ifm,
    "nce": nce,
}


def _grids(folder: Path, module) -> list:
    """Checked grids in ``folder``, newest first; unreadable ones reported, skipped."""
    files = sorted(
        folder.glob("*.nc") if folder.is_dir() else [],
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    grids = []
    for path in files:
        try:
            grids.append(module.load_grid(path))
        except module.GridError as err:
            print(f"skipped {err}", file=sys.stderr)
    return grids


def _saved_fields(folder: Path) -> list[set[str]]:
    """The config field names of every saved grid in ``folder`` (its experiment)."""
    import xarray as xr

    fields = []
    for path in folder.glob("*.nc") if folder.is_dir() else []:
        try:
            with xr.open_dataset(path) as ds:
                fields.append(set(json.loads(ds.attrs.get("config_json", "{}"))))
        except (OSError, ValueError):
            continue
    return fields


def run_missing(stem: str, results: Path) -> None:
    """Run the ``default`` preset of each experiment of ``sims.<stem>`` that has no
    saved grid under ``results/<stem>/`` (a grid's experiment is the one whose config
    fields its ``config_json`` holds)."""
    saved = _saved_fields(results / stem)
    for experiment in all_experiments()[f"sims.{stem}"]:
        names = {f.name for f in dataclasses.fields(experiment.config)}
        if names in saved or "default" not in experiment.presets:
            continue
        config = experiment.presets["default"]
        out = result_path(experiment.name, config, results)
        print(
            f"figures: no saved {stem}/{experiment.key} grid under {results / stem}; "
            f"running `python -m sims.{stem} --sweep --experiment {experiment.key} "
            f"--preset default --out {out}` first",
            file=sys.stderr,
        )
        experiment.run(config, out=out)


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m figures",
        description="Regenerate every figure from the newest saved grids.",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="results folder (default: %(default)s)",
    )
    add_out_option(parser)
    parser.add_argument(
        "--no-run",
        action="store_true",
        help="draw only from saved grids; never run a missing default sweep",
    )
    args = parser.parse_args(argv)
    try:  # before any sweep runs or any figure is drawn
        # Missing sweeps write their grids there, unless --no-run.
        check_folder("--results", args.results, write=not args.no_run)
        check_folder("--out", args.out)
    except ValueError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    for stem, module in MODULES.items():
        folder = args.results / stem
        if not args.no_run:
            try:
                run_missing(stem, args.results)
            except ValueError as err:  # the sweep refused (one line), as sims do
                print(f"{parser.prog}: error: {err}", file=sys.stderr)
                return 2
        grids = _grids(folder, module)
        if not grids:
            print(
                f"{stem}: no saved grid under {folder}; its grid figures skipped",
                file=sys.stderr,
            )
        # Theory-only figures are drawn even without a grid.
        for path in module.write_figures(grids, args.out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
