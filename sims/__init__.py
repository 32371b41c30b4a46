"""Simulations producing labelled xarray grids, one module per result."""

from sims._config import SweepConfig
from sims._config import int_logspace
from sims._config import param
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims._sweep import plan_chunks
from sims._sweep import run_sweep

__all__ = [
    "Chunk",
    "Experiment",
    "SweepConfig",
    "VarAttrs",
    "int_logspace",
    "param",
    "plan_chunks",
    "run_sweep",
]
