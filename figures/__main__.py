"""Regenerate every figure: ``python -m figures [--results results] [--out DIR]``.

Each figure module draws from the newest saved grids under ``<results>/<module>/``
(``*.nc`` directly in that folder, newest by modification time first) plus any
theory-only figures it has. A module without a saved grid is skipped with one line on
stderr; an unreadable grid is skipped the same way and the next newest is used.
Written paths are printed one a line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from figures import ifm
from figures import nce
from figures import neural_collapse
from figures import rf_real
from figures import rf_risk
from figures import selu

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m figures",
        description="Regenerate every figure from the newest saved grids.",
    )
    parser.add_argument(
        "--results", type=Path, default=Path("results"), help="results folder"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("figures/out"), help="output folder"
    )
    args = parser.parse_args(argv)
    for stem, module in MODULES.items():
        folder = args.results / stem
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
