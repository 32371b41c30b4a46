"""Swap an experiment's kernel for a test (experiments are frozen declarations)."""

import dataclasses


def use_kernel(monkeypatch, module, kernel, name: str = "EXPERIMENT") -> None:
    """Make ``module.<name>`` (and ``module.sweep``, ``module.EXPERIMENTS``) run
    ``kernel``."""
    old = getattr(module, name)
    experiment = dataclasses.replace(old, kernel=kernel)
    monkeypatch.setattr(module, name, experiment)
    if hasattr(module, "sweep"):
        monkeypatch.setattr(module, "sweep", experiment.run)
    if hasattr(module, "EXPERIMENTS"):
        swapped = tuple(experiment if e is old else e for e in module.EXPERIMENTS)
        monkeypatch.setattr(module, "EXPERIMENTS", swapped)
