"""One torch and one BLAS thread for every neural-collapse sim test."""

from __future__ import annotations

import pytest
import torch

from sims._backend import cpu_threads


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one torch and one BLAS thread (see sims.neural_collapse)."""
    with cpu_threads(torch.device("cpu")):
        yield
