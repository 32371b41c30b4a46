"""Simulations producing labelled xarray grids, one module per result."""

from sims._config import SweepConfig
from sims._config import int_logspace
from sims._sweep import Chunk
from sims._sweep import plan_chunks
from sims._sweep import run_sweep

__all__ = [
    "Chunk",
    "SweepConfig",
    "int_logspace",
    "plan_chunks",
    "run_sweep",
]
