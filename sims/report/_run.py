"""Runs (or reuses) the grids the claims need, at one preset, under one results dir."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import xarray as xr

from sims._cli import _identity
from sims._config import SweepConfig
from sims._experiment import Experiment
from sims._sweep import result_path

__all__ = ["Runner"]


@dataclasses.dataclass
class Runner:
    """``runner.grid(experiment)`` -> the finished grid of its ``preset`` config.

    Grids go to ``results/<name>/<config-hash>.nc``, the path ``python -m <module>
    --sweep`` uses, so a rerun (or a sweep run by hand) is reused; a file left by
    other code is recomputed.
    """

    preset: str
    device: str = "auto"
    results: Path = Path("results")
    workers: int | None = None
    command: str = ""
    #: The grid files computed (in whole or part) by this runner, and those only
    #: reused as they were (a finished file of the same config and code version).
    ran: set[Path] = dataclasses.field(default_factory=set)
    reused: set[Path] = dataclasses.field(default_factory=set)

    def config(self, experiment: Experiment) -> SweepConfig | None:
        """The experiment's config at this preset (``None``: it has no such preset)."""
        config = experiment.presets.get(self.preset)
        return None if config is None else config.replace(device=self.device)

    def grid(
        self, experiment: Experiment, config: SweepConfig | None = None
    ) -> xr.Dataset | None:
        config = config if config is not None else self.config(experiment)
        if config is None:
            return None
        path = result_path(experiment.name, config, self.results)
        before = _identity(path)
        ds, _ = experiment.run(
            config,
            out=path,
            overwrite=True,
            workers=self.workers,
            command=self.command,
        )
        if before is not None and before == _identity(path):
            if path not in self.ran:
                self.reused.add(path)
        else:
            self.ran.add(path)
        return ds
