"""Training on digits, the paper's Fig. 1 protocol (:mod:`sims.selu.train`)."""

from __future__ import annotations

import math

import numpy as np

from sims import selu as sim


def test_train_smoke_learns(tmp_path):
    cfg = sim.TRAIN_PRESETS["smoke"].replace(device="cpu", steps=60, eval_every=20)
    ds, _ = sim.TRAIN.run(cfg, out=tmp_path / "train.nc")
    assert ds.train_loss.dims == ("activation", "depth", "seed", "step")
    assert list(ds.step.values) == [0, 20, 40, 60]
    loss = ds.train_loss
    assert bool(np.isfinite(loss).all())
    # Untrained 10-class nets start near log(10); both models learn.
    assert bool((abs(loss.isel(step=0) - math.log(10)) < 1.5).all())
    assert bool((loss.diff("step") < 0).all())
    assert bool((loss.isel(step=-1) < 0.8 * loss.isel(step=0)).all())
    assert bool((ds.train_accuracy.isel(step=-1) > 0.3).all())


def test_digits_are_standardized_and_bundled():
    X, y = sim.load_digits_standardized()
    assert X.shape == (1797, 64) and set(np.unique(y)) == set(range(10))
    used = X.std(0) > 0
    np.testing.assert_allclose(X[:, used].mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(X[:, used].std(0), 1, rtol=1e-12)
