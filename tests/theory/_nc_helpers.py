"""Helpers shared by the neural-collapse theory tests.

``test_neural_collapse.py`` (metrics, Paper A) and ``test_nc_deep_linear.py``
(Paper B) import these; references and tolerances are described there and in
``docs/derivations/neural_collapse.md`` §6.6.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import strategies as st
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_thread():
    """The matrices here are tiny: BLAS/torch thread pools only add contention, which
    on a busy 2-core machine made single calls 10-50x slower (sims.neural_collapse)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(old)


def lam_st(lo=-3.0, hi=0.0):
    """log-uniform lambda in [10^lo, 10^hi] (§6.6)."""
    return st.floats(lo, hi).map(lambda e: float(10.0**e))


def _lbfgs(fg, x0, gtol=1e-12):
    res = minimize(
        fg,
        x0,
        jac=True,
        method="L-BFGS-B",
        options={"gtol": gtol, "ftol": 1e-16, "maxiter": 50_000, "maxcor": 30},
    )
    return res
