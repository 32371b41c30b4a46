"""Engine contracts of :mod:`sims.selu`: chunking, the CLI, configs, presets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from sims import selu as sim
from sims.selu import SeluDeepSweep
from sims.selu import SeluLayerSweep
from sims.selu import SeluTrainSweep


def test_results_do_not_depend_on_chunking(tmp_path):
    layer = sim.LAYER_PRESETS["smoke"].replace(device="cpu")
    a, _ = sim.LAYER.run(layer, out=tmp_path / "l1.nc")
    b, _ = sim.LAYER.run(layer.replace(trial_batch=5), out=tmp_path / "l2.nc")
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    deep = sim.DEEP_PRESETS["smoke"].replace(device="cpu")
    c, _ = sim.DEEP.run(deep, out=tmp_path / "d1.nc")
    d, _ = sim.DEEP.run(deep.replace(trial_batch=1), out=tmp_path / "d2.nc")
    xr.testing.assert_allclose(c.drop_attrs(), d.drop_attrs(), rtol=1e-12)
    # A cell's numbers do not depend on which other cells are in the grid.
    sub, _ = sim.DEEP.run(
        deep.replace(activation=("tanh",), start_mean=(0.5,), start_var=(3.0,)),
        out=tmp_path / "d3.nc",
    )
    np.testing.assert_allclose(
        sub["var"].sel(activation="tanh", start=0).values,
        c["var"].sel(activation="tanh", start=1).values,
        rtol=1e-12,
    )


@pytest.mark.parametrize("experiment", ["layer", "deep", "train"])
def test_cli_smoke_writes_labelled_grid(tmp_path, capsys, experiment):
    out = tmp_path / f"{experiment}.nc"
    argv = ["--sweep", "--smoke", "--experiment", experiment, "--out", str(out)]
    assert sim.main([*argv, "-q", "--device", "cpu"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    ds = xr.open_dataset(out, engine="h5netcdf").load()
    expected_dims = {
        "layer": ("mu", "nu", "omega", "tau", "trial"),
        "deep": ("activation", "start", "width", "layer", "trial"),
        "train": ("activation", "depth", "seed", "step"),
    }[experiment]
    assert set(ds.dims) == set(expected_dims)
    assert ds.attrs["experiment"] == experiment
    assert ds.attrs["module"] == "sims.selu"
    for name in ds.data_vars:
        assert set(ds[name].attrs) >= {
            "long_name",
            "units",
            "math_symbol",
            "description",
        }
        if name.endswith("_theory"):
            assert ds[name].attrs["theory_fn"].startswith("theory.selu_moments.")
            assert name.removesuffix("_theory") in ds
    assert json.loads(ds.attrs["config_json"])["seed"] == 0
    if experiment != "train":
        assert any(n.endswith("_theory") for n in ds.data_vars)


@pytest.mark.parametrize(
    ("experiment", "setting", "name"),
    [
        ("layer", "nu=-1", "nu"),
        ("layer", "tau=0", "tau"),
        ("layer", "mu=nan", "mu"),
        ("layer", "inputs=cauchy", "inputs"),
        ("deep", "keep_rate=1.5", "keep_rate"),
        ("deep", "keep_rate=0", "keep_rate"),
        ("deep", "start_var=0,3,0.2", "start_var"),
        ("deep", "activation=gelu", "activation"),
        ("train", "lr=inf", "lr"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(capsys, experiment, setting, name):
    with pytest.raises(SystemExit) as exc:
        sim.main(["--sweep", "--experiment", experiment, "--set", setting])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and name in err


@pytest.mark.parametrize(
    "make",
    [
        lambda: SeluLayerSweep(nu=(0.0,)),
        lambda: SeluLayerSweep(tau=(-1.0,)),
        lambda: SeluLayerSweep(omega=(float("inf"),)),
        lambda: SeluLayerSweep(omega=(20.0,), tau=(1.0,), fan_in=64),
        lambda: SeluDeepSweep(keep_rate=0.0),
        lambda: SeluDeepSweep(start_mean=(0.0,), start_var=(1.0, 2.0)),
        lambda: SeluDeepSweep(width=(0,)),
        lambda: SeluTrainSweep(lr=0.0),
        lambda: SeluTrainSweep(activation=("tanh",)),
        # sizes and moments beyond the declared bounds
        lambda: SeluLayerSweep(fan_in=1),
        lambda: SeluLayerSweep(samples=10**12),
        lambda: SeluLayerSweep(mu=(1e308,)),
        lambda: SeluLayerSweep(nu=(1e308,)),
        lambda: SeluDeepSweep(width=(10**12,)),
        lambda: SeluDeepSweep(keep_rate=1e-3),
        lambda: SeluTrainSweep(lr=1e10),
        lambda: SeluTrainSweep(batch_size=1798),
    ],
)
def test_config_validation(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize(
    "presets", [sim.LAYER_PRESETS, sim.DEEP_PRESETS, sim.TRAIN_PRESETS]
)
def test_presets_round_trip_json(presets):
    assert {"smoke", "default", "paper"} <= set(presets)
    for cfg in presets.values():
        back = type(cfg).from_json(cfg.to_json())
        assert back == cfg and back.config_hash() == cfg.config_hash()


def test_a_sweep_too_big_for_memory_is_refused_before_work(tmp_path):
    """Within the per-field bounds, the chunk memory estimate still refuses a grid
    (here about 10^5 GiB per chunk) before any work or output."""
    config = SeluLayerSweep(samples=10**7, fan_in=10**5, units=10**5, device="cpu")
    out = tmp_path / "big.nc"
    with pytest.raises(ValueError, match="GiB"):
        sim.LAYER.run(config, out=out)
    assert not out.exists()


def test_a_diverging_training_run_is_flagged_not_silent(tmp_path):
    """An SGD step size that makes the loss overflow gives a ``diverged`` flag."""
    config = sim.TRAIN_PRESETS["smoke"].replace(
        device="cpu", activation=("selu",), lr=10.0, steps=20, trials=1, trial_batch=1
    )
    ds, _ = sim.TRAIN.run(config, out=tmp_path / "diverged.nc")
    assert "diverged" in ds and bool(ds["diverged"].any())
    bad = ~np.isfinite(ds["train_loss"])
    assert bool(bad.any()) and bool(ds["diverged"].where(bad, True).all())


def test_deep_memory_counts_at_most_trials_per_chunk(tmp_path, capsys):
    """A chunk holds min(trial_batch, trials) trials: a trial_batch beyond trials
    (one chunk of all trials) must not be refused as too big."""
    from sims.selu import deep

    smoke = sim.DEEP_PRESETS["smoke"]
    whole = smoke.replace(trial_batch=smoke.trials)
    assert deep._memory(smoke.replace(trial_batch=10**9)) == deep._memory(whole)
    assert deep._memory(smoke.replace(trial_batch=1)) < deep._memory(whole)
    out = tmp_path / "deep.nc"
    argv = ["--sweep", "--experiment", "deep", "--smoke", "--out", str(out), "-q",
            "--workers", "1", "--device", "cpu",
            "--set", "trial_batch=1000000000", "activation=tanh", "depth=2",
            "trials=2"]  # fmt: skip
    assert sim.main(argv) == 0, capsys.readouterr().err
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds.sizes["trial"] == 2
