"""Helpers shared by the neural-collapse theory tests.

``test_neural_collapse.py`` (metrics, Paper A) and ``test_nc_deep_linear.py``
(Paper B) import these; references and tolerances are described there and in
``docs/derivations/neural_collapse.md`` §6.6.
"""

from __future__ import annotations

import numpy as np
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


def nearly_collinear_features(off: float, seed: int = 11):
    """Features ``(H, y)`` of K = 3 classes (5 samples each, d = 4) whose means lie
    ``off`` away from a line (randomly rotated), with noise 0.3·off: the
    ill-conditioned case of NC1 (Sigma_B nearly singular)."""
    K, n, d = 3, 5, 4
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(K), n)
    M = np.zeros((d, K))
    M[0] = [-1.0, 1.0, 0.0]
    M[1, 2] = off
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return Q @ (M[:, y] + 0.3 * off * rng.standard_normal((d, K * n))), y


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
