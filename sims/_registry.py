"""Every declared experiment of the package, for the CLI tests, figures and report."""

from __future__ import annotations

import importlib

from sims._experiment import Experiment

__all__ = ["MODULES", "all_experiments"]

#: The sim modules (``python -m <module>``), each exposing ``EXPERIMENTS``.
MODULES = (
    "sims.rf_risk",
    "sims.selu",
    "sims.neural_collapse",
    "sims.rf_real",
    "sims.ifm",
    "sims.nce",
)


def all_experiments() -> dict[str, tuple[Experiment, ...]]:
    """``{module: experiments}`` in declaration order.

    Examples:
      >>> [e.key for e in all_experiments()["sims.selu"]]
      ['layer', 'deep', 'train']
    """
    return {m: tuple(importlib.import_module(m).EXPERIMENTS) for m in MODULES}
