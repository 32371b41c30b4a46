"""Small synthetic rf_risk grids shared by the rf_risk figure tests
(``test_rf_risk.py``, ``test_rf_fitting_ratio.py``).

A synthetic grid has the layout of ``python -m sims.rf_risk --sweep``: theory values
from :func:`theory.rf_ridge.rf_ridge_risk` on the grid's own power-law spectrum, and
"simulation" values that are the theory times seeded log-normal noise over ``trial``.
The ``k_sweep`` fixture is imported by both test modules under its own name.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from theory.rf_ridge import rf_ridge_risk

ALPHA, BETA, MODES, NOISE = 1.5, 1.3, 300, 0.2
RIDGES = np.geomspace(1e-3, 1e1, 9)  # half-decade steps
TEST_ATTRS = {
    "long_name": "population test MSE",
    "units": "1",
    "math_symbol": r"E_{\mathrm{te}}",
    "description": "exact population test risk of the fitted predictor",
}
TRAIN_ATTRS = {
    "long_name": "train MSE",
    "units": "1",
    "math_symbol": r"E_{\mathrm{tr}}",
    "description": "mean squared training residual",
}


def make_grid(n, k, *, ridges=RIDGES, trials=6, seed=0) -> xr.Dataset:
    """A grid with the saved layout; sim = theory x exp(0.1 N(0,1)) per trial."""
    n, k = np.atleast_1d(n), np.atleast_1d(k)
    i = np.arange(1, MODES + 1, dtype=np.float64)
    out = rf_ridge_risk(
        i**-ALPHA,
        i**-BETA,
        n=n[:, None, None],
        k=k[None, :, None],
        ridge=ridges[None, None, :],
        noise_var=NOISE,
    )
    rng = np.random.default_rng(seed)
    shape = (n.size, k.size, ridges.size, trials)

    def noisy(theory):
        return theory[..., None] * np.exp(0.1 * rng.standard_normal(shape))

    dims4, dims3 = ("n", "k", "ridge", "trial"), ("n", "k", "ridge")
    theory_attrs = {"units": "1", "description": "theory"}
    ds = xr.Dataset(
        {
            "test_risk": (dims4, noisy(out.test_risk), TEST_ATTRS),
            "test_risk_heldout": (
                dims4,
                noisy(out.test_risk),
                {**TEST_ATTRS, "long_name": "held-out test MSE"},
            ),
            "train_risk": (dims4, noisy(out.train_risk), TRAIN_ATTRS),
            "test_risk_theory": (
                dims3,
                out.test_risk,
                {**TEST_ATTRS, "long_name": "theory test MSE"},
            ),
            "train_risk_theory": (
                dims3,
                out.train_risk,
                {**TRAIN_ATTRS, "long_name": "theory train MSE"},
            ),
            "kappa_theory": (
                dims3,
                out.kappa,
                {**theory_attrs, "long_name": "kappa", "math_symbol": r"\kappa"},
            ),
            "gamma_theory": (
                dims3,
                out.gamma,
                {**theory_attrs, "long_name": "gamma", "math_symbol": r"\gamma"},
            ),
        },
        coords={
            "n": ("n", n, {"long_name": "training samples", "math_symbol": "n"}),
            "k": ("k", k, {"long_name": "random features", "math_symbol": "k"}),
            "ridge": (
                "ridge",
                ridges,
                {"long_name": "ridge", "math_symbol": r"\delta"},
            ),
            "trial": np.arange(trials),
        },
        attrs={
            "alpha": ALPHA,
            "beta": BETA,
            "num_modes": MODES,
            "noise_var": NOISE,
            "config_json": "{}",
            "git_commit": "0" * 40,
            "created_utc": "2026-01-01T00:00:00Z",
        },
    )
    return ds


SWEEP = np.unique(np.geomspace(8, 512, 10).astype(int))


@pytest.fixture(scope="module")
def k_sweep() -> xr.Dataset:
    return make_grid(64, SWEEP)
