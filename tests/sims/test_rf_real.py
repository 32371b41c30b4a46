r"""The real-data experiments (``sims.rf_real``): smoke sweeps, exact checks, theory.

(a) exact checks: the KRR solver of the fitting-ratio experiment against direct
    solves, interpolation at ridge 0, chunking independence of the RF kernel, the
    eigen-data's target power summing to the target norm;
(b) random ReLU features on digits against the RF eigenframework fed with the
    empirical NNGP eigen-data, ``|mean - theory| <= Z_SEM * SEM + allowance``
    away from the interpolation peak;
(c) the fitting-ratio experiment: the measured optimal fitting ratio rises with
    the noise, as the theory's :math:`R^*` does;
(d) the CLI: a smoke sweep, and bad input exits 2 with one line.
"""

from __future__ import annotations

import numpy as np
import pytest

from sims.rf_real import _data
from sims.rf_real import fitting_ratio
from sims.rf_real import rf
from sims.rf_real import spectra
from sims.rf_real.__main__ import main
from sims.rf_risk import away_from_peak
from tests._tolerances import F64_RTOL
from tests._tolerances import RF_REAL_TEST_REL
from tests._tolerances import Z_SEM
from theory.kernels import alpha_proxy
from theory.kernels import relu_nngp_ntk
from theory.kernels import trace_inverse_scale

# n = 64 of the 1797 digits, 12 trials: the size at which RF_REAL_TEST_REL was set.
RF_CHECK = rf.PRESETS["smoke"].replace(
    device="cpu",
    n=(64,),
    k=(8, 16, 128, 256),
    ridge=(1e-2, 1.0),
    pool=256,
    test_size=600,
    trials=12,
    trial_batch=6,
)


@pytest.fixture(scope="module")
def rf_grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("rf_real") / "rf.nc"
    ds, _ = rf.EXPERIMENT.run(RF_CHECK, out=out, workers=1)
    return ds


# ------------------------------------------------------------------ (a) exact checks


def test_fit_krr_matches_direct_solves():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6))
    K = relu_nngp_ntk(x).ntk
    Y = rng.normal(size=(50, 3))
    ridges = [0.0, 1e-2, 3.0]
    train, test = fitting_ratio.fit_krr(
        K[:40, :40], K[40:, :40], Y[:40], Y[40:], ridges
    )
    for i, r in enumerate(ridges):
        coef = np.linalg.solve(K[:40, :40] + r * np.eye(40), Y[:40])
        tr = np.mean(np.sum((K[:40, :40] @ coef - Y[:40]) ** 2, axis=1))
        te = np.mean(np.sum((K[40:, :40] @ coef - Y[40:]) ** 2, axis=1))
        assert test[i] == pytest.approx(te, rel=1e-7)  # solve vs eigh, cond ~1e4
        assert train[i] == pytest.approx(tr, rel=1e-6, abs=1e-12 * np.sum(Y**2))
    assert train[0] <= 1e-20 * np.sum(Y**2)  # ridge 0 interpolates (K full rank)


def test_rf_cells_do_not_depend_on_the_batch():
    config = RF_CHECK.replace(k=(8, 128), trials=3)
    both = rf.simulate(config, 64, [0, 2])
    alone = rf.simulate(config, 64, [2])
    for key in ("test_risk", "train_risk"):
        # the same draws; batched BLAS may round differently
        np.testing.assert_allclose(both[key][..., 1], alone[key][..., 0], rtol=F64_RTOL)


def test_rf_spectrum_is_the_mean_feature_kernel():
    lam, v2 = rf.rf_spectrum(2.0)
    x = _data.digits().x
    K = relu_nngp_ntk(x).nngp / 2.0
    assert lam.sum() == pytest.approx(np.trace(K) / x.shape[0], rel=F64_RTOL)
    assert v2.sum() == pytest.approx(1.0, rel=F64_RTOL)  # labels are +-1


# ----------------------------------------------------------------- (b) RF vs theory


def test_rf_on_digits_matches_theory_away_from_peak(rf_grid):
    ds = rf_grid
    mask = away_from_peak(ds)["k not in [n/2,1.2n]"]
    sim = ds["test_risk"]
    mean = sim.mean("trial")
    sem = sim.std("trial", ddof=1) / np.sqrt(sim.sizes["trial"])
    theory = ds["test_risk_theory"]
    bound = Z_SEM * sem + RF_REAL_TEST_REL * abs(theory)
    ok = (abs(mean - theory) <= bound) | ~mask
    assert bool(ok.all()), ((mean - theory) / theory).where(mask).values
    assert int(mask.sum()) >= 4


def test_rf_grid_dims_and_attrs(rf_grid):
    ds = rf_grid
    assert ds["test_risk"].dims == ("n", "k", "ridge", "trial")
    assert ds["test_risk_theory"].dims == ("n", "k", "ridge")
    for name in ("test_risk", "train_risk", "test_risk_theory"):
        assert {"long_name", "units", "description"} <= set(ds[name].attrs)


# ------------------------------------------------- (c) spectra and fitting ratio


def test_spectra_smoke(tmp_path):
    config = spectra.PRESETS["smoke"].replace(device="cpu")
    ds, _ = spectra.EXPERIMENT.run(config, out=tmp_path / "s.nc", workers=1)
    assert "diverged" not in ds  # NaN beyond mode n is "no such mode", declared
    for name in ds.coords:
        assert ds[name].attrs.get("long_name"), name
    assert ds.attrs["num_points"] == config.num_points
    # One-hot rows have unit norm: sum_i v_i^2 = |Y|^2 / n = 1 at every n.
    total = ds["target_power"].sum("mode")
    np.testing.assert_allclose(total.values, 1.0, rtol=F64_RTOL)
    # The grid's alpha is the proxy of theory.kernels on the same orderings.
    idx = _data.draw(config.seed, "order", 1)[: config.num_points]
    K = relu_nngp_ntk(_data.digits().x[idx]).ntk
    m = config.num_points - config.test_size
    curve = trace_inverse_scale(K[:m, :m], config.sizes)
    np.testing.assert_allclose(
        ds["trace_scale"].sel(kernel="ntk", trial=1).values, curve, rtol=F64_RTOL
    )
    fit = alpha_proxy(
        config.sizes,
        ds["trace_scale"].sel(kernel="ntk").transpose("trial", "size").values,
        window=config.alpha_window,
    )
    assert float(ds["alpha"].sel(kernel="ntk")) == pytest.approx(fit.exponent)
    assert np.all(np.isfinite(ds["beta"].values))


def test_fitting_ratio_smoke_optimum_rises_with_noise(tmp_path):
    config = fitting_ratio.PRESETS["smoke"].replace(device="cpu")
    ds, _ = fitting_ratio.EXPERIMENT.run(config, out=tmp_path / "f.nc", workers=1)
    assert "diverged" not in ds
    assert ds["test_mse"].dims == ("noise_rel", "ridge", "trial")
    r = ds["fitting_ratio"]
    assert bool((r >= 0).all())
    # the train MSE of ridge regression grows with the ridge (exactly)
    assert bool((ds["train_mse"].diff("ridge") >= 0).all())
    # ridge 0 interpolates the training set (n_train < 1797 distinct points)
    assert float(r.sel(ridge=0.0).max()) <= 1e-12
    opt = ds["optimal_ratio"].mean("trial").values
    assert opt[-1] > opt[0] and opt[-1] > 0.3  # sigma^2_rel = 50 vs 0
    if int(ds["theory_in_domain"]):
        assert np.all(np.diff(ds["optimal_ratio_theory"].values) >= 0)


# --------------------------------------------------------------------------- (d) CLI


def test_cli_smoke_sweep(tmp_path, capsys):
    out = tmp_path / "cli.nc"
    argv = ["--sweep", "--experiment", "fitting_ratio", "--smoke", "--out", str(out)]
    assert main([*argv, "--set", "trials=1", "-q"]) == 0
    assert out.exists()
    assert "optimal_ratio" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [
        ["--experiment", "rf", "--set", "n=1500"],  # n + test_size > 1797
        ["--experiment", "spectra", "--set", "kernel=rbf"],
        ["--experiment", "fitting_ratio", "--set", "sizes=5000"],
        ["--experiment", "nope"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(extra, capsys):
    try:
        code = main(["--sweep", *extra])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err


def test_fitting_ratio_noise_rel_bound_is_declared(capsys):
    # theory.rf_powerlaw.optimal_fitting_ratio refuses noise_rel > 1e100: the config
    # refuses it when built (before any chunk is computed), and --help shows it.
    with pytest.raises(ValueError, match=r"^noise_rel: 1e\+300 must be <= 1e\+100"):
        fitting_ratio.PRESETS["smoke"].replace(noise_rel=(0.0, 1e300))
    assert fitting_ratio.PRESETS["smoke"].replace(noise_rel=(1e100,)).noise_rel == (
        1e100,
    )
    argv = ["--experiment", "fitting_ratio", "--smoke", "--print-config"]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--set", "noise_rel=0,1e300", "trials=1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "noise_rel" in err[0], err
    with pytest.raises(SystemExit):
        main(["--help"])
    line = next(
        ln
        for ln in capsys.readouterr().out.splitlines()
        if ln.split()[:1] == ["noise_rel"]
    )
    assert "<= 1e+100" in line
