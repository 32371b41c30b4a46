"""Layer-wise training on digits (:mod:`sims.neural_collapse.digits`)."""

from __future__ import annotations

import numpy as np

from sims import neural_collapse as snc

DIGITS = snc.PRESETS["digits"]["smoke"].replace(device="cpu")


def test_digits_layers_reduce_nc1(tmp_path):
    ds, _ = snc.DIGITS.run(DIGITS, out=tmp_path / "d.nc")
    nc1 = ds["nc1"].sel(loss="mse").values
    assert np.all(np.isfinite(nc1)) and np.all(nc1[..., -1] < nc1[..., 0])
    assert np.all(ds["train_error"].isel(layer=slice(1, None)) < 0.2)
