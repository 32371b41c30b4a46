r"""Finite differences of :mod:`sims.neural_collapse.perturbation` vs Theorems 4.1-4.2.

Central differences with a stated O(eps^2) budget; Theorem 4.2's first-order
predictions are checked for their 1/beta rate.
"""

from __future__ import annotations

import numpy as np
import pytest

from sims import neural_collapse as snc

PERT = snc.PRESETS["perturbation"]["smoke"].replace(device="cpu")

# Finite differences with eps = 1e-4 (central): truncation eps^2 = 1e-8 times a third
# derivative constant (budget 100), rounding 1e-16/eps = 1e-12.
FD_RTOL = 100 * PERT.eps**2


@pytest.fixture(scope="module")
def pert_grid(tmp_path_factory):
    ds, _ = snc.PERTURBATION.run(PERT, out=tmp_path_factory.mktemp("p") / "p.nc")
    return ds


def test_perturbation_finite_differences_equal_theorem_41(pert_grid):
    ds = pert_grid
    assert float(ds["response_gap"].max()) <= FD_RTOL
    assert float(ds["grad_residual"].max()) <= 1e-12
    gap = abs(ds["sv_intra"].isel(trial=0) - ds["sv_intra_schur"])  # every class
    assert float(gap.max()) <= FD_RTOL


def test_perturbation_theorem_42_rate(pert_grid):
    ds = pert_grid.isel(trial=0)
    assert float(abs(ds["sigma_max_intra"] - 1).max()) <= FD_RTOL
    assert float(ds["sigma2_inter"].max()) <= FD_RTOL  # rank one
    b_lo, b_hi = (float(b) for b in ds["beta"].values[[0, -1]])
    ratio = b_hi / b_lo
    for var in ("sigma_min_intra", "sigma_max_inter"):
        scaled = ds["beta"] * abs(ds[var] - ds[f"{var}_theory"])  # -> 0 like 1/beta
        shrink = scaled.sel(beta=b_lo) / scaled.sel(beta=b_hi)
        assert np.all((0.7 * ratio <= shrink) & (shrink <= 1.3 * ratio)), var
