"""Hypothesis profiles and shared fixtures.

``HYPOTHESIS_PROFILE=ci`` (what ``.ci/run`` sets) is derandomized with no deadline;
``dev`` is the fast default for local runs.
"""

import os

import pytest
import torch
from hypothesis import HealthCheck
from hypothesis import settings

# Under pytest-xdist every worker is one process on a small machine: one intra-op
# torch thread each avoids oversubscribing the cores (measured 7-8x slowdowns of the
# small-tensor sims with two threads per worker on 2 cores).
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
# Sweeps run in-process unless a test asks for workers (a pool per sweep call would
# cost a process start each); results do not depend on it (tests/sims/test_sweep.py).
os.environ.setdefault("LD_WORKERS", "1")

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=25)
# Many random examples, to hunt for failures the other profiles miss (slow).
settings.register_profile(
    "fuzz",
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(config, items):
    """Skip ``@pytest.mark.gpu`` tests where CUDA is not available."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
