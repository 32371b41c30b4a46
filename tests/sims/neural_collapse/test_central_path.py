"""The central-path flow of :mod:`sims.neural_collapse.central_path` vs the theory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sims import neural_collapse as snc
from sims._backend import cpu_threads
from sims.neural_collapse.central_path import _h0
from tests._tolerances import NC_SIM_IMPL_RTOL as IMPL_RTOL
from theory import neural_collapse as nc

CPU = torch.device("cpu")
FLOW = snc.PRESETS["central_path"]["smoke"].replace(device="cpu")


def test_torch_flow_equals_the_theory_flow():
    config = FLOW.replace(lam_h=(0.1,), trials=1, trial_batch=1, beta=(1e3,))
    with cpu_threads(CPU):
        res = snc.simulate_central_path(config, [0])
    H0 = _h0(config, 0, CPU, torch.float64).numpy()
    path = nc.central_path_flow(
        H0,
        K=config.classes,
        lam_w=config.lam_w[0],
        lam_h=0.1,
        t=config.times(),
        dt=config.dt,
    )
    np.testing.assert_allclose(
        res["nc1_tilde"][0, 0, 0], path.nc1_tilde, rtol=IMPL_RTOL
    )
    np.testing.assert_allclose(
        res["tr_sigma_b"][0, 0, 0], path.tr_sigma_b, rtol=IMPL_RTOL
    )


@pytest.fixture(scope="module")
def flow_grid(tmp_path_factory):
    ds, _ = snc.CENTRAL_PATH.run(FLOW, out=tmp_path_factory.mktemp("f") / "f.nc")
    return ds


def test_central_path_theorem_31_monotonicities(flow_grid):
    ds = flow_grid
    assert float(ds["nc1_tilde"].diff("time").max()) < 0
    rise_w = ds["scaled_tr_sigma_w"].diff("time") / ds["scaled_tr_sigma_w"]
    assert float(rise_w.max()) <= 1e-12
    assert float(ds["scaled_tr_sigma_b"].diff("time").min()) > 0


def test_central_path_corollary_32(flow_grid):
    ds = flow_grid
    assert float(ds["prox_residual"].max()) <= 1e-10
    big = ds.sel(beta=[b for b in ds["beta"].values if b >= 1e3])
    assert bool((big["nc1_tilde_prox"] < big["nc1_tilde_h0"]).all())
    # first order in 1/beta: the remainder falls like 1/beta^2 from beta=10 to 1e3
    gap = abs(ds["nc1_tilde_prox"] - ds["nc1_tilde_prox_first_order"])
    shrink = gap.sel(beta=10.0) / gap.sel(beta=1e3)
    assert bool((shrink >= 0.5 * 1e4).all()) and bool((shrink <= 2 * 1e4).all())
