"""The rf_real figures, drawn from small synthetic grids with known content.

Each grid has the saved layout of ``python -m sims.rf_real``; what the figures draw is
read back from the matplotlib artists (by gid) and compared with the values the grid
was built from.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import xarray as xr

from figures import rf_real
from sims.rf_real import rf
from sims.rf_real.spectra import fit_exponents
from tests._tolerances import F64_RTOL
from tests._tolerances import PLOTTED_RTOL
from tests.figures._artists import line_by_gid
from theory.rf_powerlaw import optimal_fitting_ratio

SIZES = np.array([20, 40, 80, 160, 320])
ALPHA, BETA = 1.4, 1.6


def spectra_grid() -> xr.Dataset:
    """Exact power laws times a per-ordering constant (slopes are exact)."""
    scale = np.array([1.0, 1.1, 0.9])
    trace = 2.0 * SIZES[None, :, None] ** -ALPHA * scale[None, None, :]
    mse = 0.5 * SIZES[None, :, None] ** (1 - BETA) * scale[None, None, :]
    modes = np.arange(1, 21, dtype=float)
    eig = np.full((1, 2, 20, 3), np.nan)
    power = np.full((1, 2, 20, 3), np.nan)
    for j, n in enumerate((10, 20)):
        eig[0, j, :n] = (modes[:n] ** -ALPHA)[:, None]
        power[0, j, :n] = (modes[:n] ** -BETA)[:, None]
    ds = xr.Dataset(
        {
            "trace_scale": (("kernel", "size", "trial"), trace),
            "test_mse": (("kernel", "size", "trial"), mse),
            "eigval": (("kernel", "eig_n", "mode", "trial"), eig),
            "target_power": (("kernel", "eig_n", "mode", "trial"), power),
        },
        coords={
            "kernel": ["ntk"],
            "size": SIZES,
            "eig_n": [10, 20],
            "mode": np.arange(1, 21),
            "trial": [0, 1, 2],
        },
        attrs={"alpha_window": np.array([40, 320]), "beta_window": np.array([20, 160])},
    )
    return fit_exponents(ds, (40, 320), (20, 160))


def fitting_grid() -> xr.Dataset:
    noise = np.array([0.0, 5.0])
    ridge = np.array([0.0, 1.0, 10.0, 100.0])
    rng = np.random.default_rng(0)
    train = np.sort(rng.uniform(0, 0.5, size=(2, 4, 3)), axis=1)
    test = 1.0 + rng.uniform(0, 0.2, size=(2, 4, 3))
    test[1, 2] = 0.5  # the optimum at ridge 10 for noise 5
    ds = xr.Dataset(
        {
            "train_mse": (("noise_rel", "ridge", "trial"), train),
            "test_mse": (("noise_rel", "ridge", "trial"), test),
        },
        coords={"noise_rel": noise, "ridge": ridge, "trial": [0, 1, 2]},
    )
    ds["fitting_ratio"] = ds["train_mse"] / ds["test_mse"]
    ds["optimal_ratio"] = ds["fitting_ratio"].isel(ridge=ds["test_mse"].argmin("ridge"))
    ds["optimal_ratio_theory"] = (
        "noise_rel",
        optimal_fitting_ratio(ALPHA, BETA, noise),
    )
    ds["alpha"], ds["beta"] = ALPHA, BETA
    ratios = np.linspace(0, 1, 20, endpoint=False)
    ds = ds.assign_coords(ratio=ratios)
    ds["test_mse_curve"] = (
        ("noise_rel", "ratio"),
        1 + ratios[None, :] + noise[:, None],
    )
    return ds


def test_exponent_figure_draws_the_known_power_laws():
    ds = spectra_grid()
    assert float(ds["alpha"].sel(kernel="ntk")) == pytest.approx(ALPHA, rel=F64_RTOL)
    assert float(ds["beta"].sel(kernel="ntk")) == pytest.approx(BETA, rel=F64_RTOL)
    fig = rf_real.plot_exponents(ds)
    fit = line_by_gid(fig, "fit:trace_scale:ntk").get_ydata()
    # the mean log curve of 2 n^-alpha * (1, 1.1, 0.9)
    expected = 2.0 * np.exp(np.log([1.0, 1.1, 0.9]).mean()) * SIZES**-ALPHA
    np.testing.assert_allclose(fit, expected, rtol=1e-12)
    sim = line_by_gid(fig, "sim:test_mse:ntk").get_ydata()
    np.testing.assert_allclose(sim, ds["test_mse"].mean("trial")[0], rtol=PLOTTED_RTOL)


@pytest.mark.parametrize("reverse", [False, True])
def test_eigenspectra_figure_guides_follow_the_fitted_exponents(reverse):
    """In any dim order: the sims write trial before size and mode (the engine's
    order), and a check that wanted this grid's order once skipped every saved grid."""
    ds = spectra_grid()
    if reverse:
        ds = ds.transpose(*reversed(list(ds.dims)))
        assert ds["eigval"].dims[-1] == "kernel"
    assert rf_real.grid_kind(ds) == "spectra"
    fig = rf_real.plot_eigenspectra(ds)
    lam = line_by_gid(fig, "eigval:ntk:20")
    np.testing.assert_allclose(lam.get_ydata(), np.arange(1, 21.0) ** -ALPHA)
    # exact power law: the guide is the data
    guide = line_by_gid(fig, "guide:alpha:ntk")
    np.testing.assert_allclose(guide.get_ydata(), lam.get_ydata(), rtol=1e-12)


def test_eigenspectra_mark_values_a_log_axis_cannot_show():
    """A Gram eigenvalue at or below 0 (rounding) was dropped without a word."""
    ds = spectra_grid()
    ds["eigval"].loc[{"eig_n": 20, "mode": 19}] = 0.0
    ds["eigval"].loc[{"eig_n": 20, "mode": 20}] = -1e-17
    fig = rf_real.plot_eigenspectra(ds)
    zeros = line_by_gid(fig, "zeros:eigval:ntk:20")
    assert list(zeros.get_xdata()) == [19, 20] and list(zeros.get_ydata()) == [0, 0]
    assert np.isnan(line_by_gid(fig, "eigval:ntk:20").get_ydata()[-2:]).all()
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("2 values <= 0") for t in legend), legend


def test_fitting_ratio_figure_marks_theory_and_measured_optimum():
    ds = fitting_grid()
    fig = rf_real.plot_fitting_ratio(ds)
    rstar = line_by_gid(fig, "rstar:5.0").get_xdata()[0]
    assert rstar == pytest.approx(
        float(ds["optimal_ratio_theory"][1]), rel=PLOTTED_RTOL
    )
    star = line_by_gid(fig, "measured:5.0")
    measured = float(ds["fitting_ratio"].sel(noise_rel=5.0, ridge=10.0).mean())
    assert star.get_xdata()[0] == pytest.approx(measured, rel=PLOTTED_RTOL)
    sim = line_by_gid(fig, "sim:0.0")
    np.testing.assert_allclose(
        sim.get_xdata(), ds["fitting_ratio"].sel(noise_rel=0.0).mean("trial")
    )


def _errorbar(fig, gid):
    """The errorbar container whose data line has ``gid``."""
    for ax in fig.axes:
        for c in ax.containers:
            if c.lines[0].get_gid() == gid:
                return c
    raise AssertionError(f"no errorbar with gid {gid!r}")


def _bar_ends(container):
    """(x bars, y bars) of an errorbar container: arrays of segment end points."""
    bars = [np.array(c.get_segments()) for c in container.lines[2]]
    xbars = [b for b in bars if np.allclose(b[:, 0, 1], b[:, 1, 1])]
    ybars = [b for b in bars if np.allclose(b[:, 0, 0], b[:, 1, 0])]
    return xbars[0], ybars[0]


def disagreeing_fitting_grid() -> xr.Dataset:
    """Orderings that disagree on the best ridge: the mean of their R at their own
    optimum is no ridge's mean R."""
    ds = fitting_grid()
    test = ds["test_mse"].values
    test[1] = [[1.0, 1.0, 1.0], [0.6, 0.9, 0.5], [0.7, 0.5, 0.6], [1.0, 1.0, 1.0]]
    ds["test_mse"] = (ds["test_mse"].dims, test)
    ds["fitting_ratio"] = ds["train_mse"] / ds["test_mse"]
    ds["optimal_ratio"] = ds["fitting_ratio"].isel(ridge=ds["test_mse"].argmin("ridge"))
    return ds


def test_fitting_ratio_points_have_sem_bars_in_both_directions():
    ds = disagreeing_fitting_grid()
    fig = rf_real.plot_fitting_ratio(ds)
    for s in ds["noise_rel"].values:
        sub = ds.sel(noise_rel=s)
        R, E = sub["fitting_ratio"].values, sub["test_mse"].values  # (ridge, trial)
        sem = {
            name: v.std(axis=1, ddof=1) / np.sqrt(v.shape[1])
            for name, v in (("R", R), ("E", E))
        }
        xbars, ybars = _bar_ends(_errorbar(fig, f"sim:{float(s)!r}"))
        np.testing.assert_allclose(
            xbars[:, 1, 0] - xbars[:, 0, 0], 2 * sem["R"], rtol=1e-9
        )
        np.testing.assert_allclose(
            ybars[:, 1, 1] - ybars[:, 0, 1], 2 * sem["E"], rtol=1e-9
        )
        np.testing.assert_allclose(ybars[:, :, 1].mean(axis=1), E.mean(axis=1))


def test_measured_optimum_is_one_of_the_measured_points():
    """x and y of the star come from one ridge: the least trial-mean test MSE."""
    ds = disagreeing_fitting_grid()
    sub = ds.sel(noise_rel=5.0)
    per_trial = float(sub["optimal_ratio"].mean())
    E = sub["test_mse"].mean("trial")
    best = int(E.argmin("ridge"))
    R = sub["fitting_ratio"].mean("trial")
    assert abs(per_trial - float(R[best])) > 0.01  # the two readings differ here
    fig = rf_real.plot_fitting_ratio(ds)
    star = line_by_gid(fig, "measured:5.0")
    assert star.get_xdata()[0] == pytest.approx(float(R[best]), rel=PLOTTED_RTOL)
    assert star.get_ydata()[0] == pytest.approx(float(E[best]), rel=PLOTTED_RTOL)
    dots = line_by_gid(fig, "sim:5.0")
    on_a_dot = np.isclose(dots.get_xdata(), star.get_xdata()[0]) & np.isclose(
        dots.get_ydata(), star.get_ydata()[0]
    )
    assert on_a_dot.sum() == 1


def test_fitting_ratio_legend_names_every_kind_of_mark():
    fig = rf_real.plot_fitting_ratio(fitting_grid())
    (legend,) = fig.legends
    entries = dict(
        zip(
            [t.get_text() for t in legend.get_texts()],
            legend.legend_handles,
            strict=True,
        )
    )
    theory = [h for t, h in entries.items() if t.startswith("theory $E_{te}(R)$")]
    assert len(theory) == 1 and theory[0].get_linestyle() == "-"
    assert entries["theory $R^*$"].get_linestyle() == ":"
    measured = [h for t, h in entries.items() if t.startswith("measured, one per")]
    assert measured[0].get_marker() == "o"
    assert any("mean ± SEM, 3 orderings" in t for t in entries)


def _rf_grid(ridges, trials=4):
    """An rf grid from the sim's theory, with seeded log-normal noise over trials."""
    config = rf.PRESETS["smoke"].replace(n=(48,), k=(8, 16, 96), ridge=tuple(ridges))
    theory = rf.theory_grid(config)
    rng = np.random.default_rng(1)
    shape = (1, 3, len(ridges), trials)
    noise = np.exp(0.05 * rng.standard_normal(shape))
    dims = ("n", "k", "ridge", "trial")
    ds = theory.assign(
        test_risk=(dims, theory["test_risk_theory"].values[..., None] * noise),
        train_risk=(dims, theory["train_risk_theory"].values[..., None] * noise),
    ).assign_coords(trial=np.arange(trials))
    ds["test_risk"].attrs = {"long_name": "test MSE", "units": "1"}
    ds["train_risk"].attrs = {"long_name": "train MSE", "units": "1"}
    ds.attrs = {"weight_var": 2.0, "pool_size_correction": 1797}
    return ds


def test_rf_figure_draws_five_ridges_with_a_bounded_y_range():
    """The paper preset saves 31 ridges: drawn all, they merge into one band and the
    tiny train risks squash the test curves."""
    from figures.rf_risk import select_ridges

    saved = np.geomspace(1e-4, 1e2, 31)
    ds = _rf_grid(saved)
    fig = rf_real.plot_risk_vs_k(ds, num_theory=10)
    ax = fig.axes[0]
    drawn = sorted(
        float(ln.get_gid().rsplit(":", 1)[1])
        for ln in ax.get_lines()
        if (ln.get_gid() or "").startswith("theory:test_risk:")
    )
    np.testing.assert_allclose(drawn, select_ridges(saved, 5))
    assert ax.get_ylabel() == "test MSE and train MSE"
    tests = [
        ln.get_ydata()
        for ln in ax.get_lines()
        if (ln.get_gid() or "").startswith("theory:test_risk:")
    ]
    least = min(np.nanmin(t) for t in tests)
    lo = ax.get_ylim()[0]
    assert lo >= least / 100 / 1.5 * (1 - 1e-12)  # at most two decades below
    trains = {
        float(ln.get_gid().rsplit(":", 1)[1]): ln.get_ydata()
        for ln in ax.get_lines()
        if (ln.get_gid() or "").startswith("theory:train_risk:")
    }
    cut = [r for r, y in trains.items() if np.nanmin(y) < lo]
    notes = [t.get_text() for t in ax.texts if t.get_gid() == "clipped"]
    assert cut and len(notes) == 1  # the interpolating train risk of a small ridge
    assert f"{max(cut):.3g}" in notes[0]
    two = rf_real.plot_risk_vs_k(ds, ridges=2, num_theory=10).axes[0].get_lines()
    assert len([ln for ln in two if (ln.get_gid() or "").startswith("theory:t")]) == 4


def test_rf_figure_theory_agrees_with_the_saved_theory():
    config = rf.PRESETS["smoke"].replace(n=(48,), k=(8, 16, 96), ridge=(1e-2, 1.0))
    theory = rf.theory_grid(config)
    rng = np.random.default_rng(1)
    noisy = theory["test_risk_theory"].values[..., None] * np.exp(
        0.05 * rng.standard_normal((1, 3, 2, 4))
    )
    dims = ("n", "k", "ridge", "trial")
    ds = theory.assign(
        test_risk=(dims, noisy), train_risk=(dims, noisy / 2)
    ).assign_coords(trial=np.arange(4))
    ds["test_risk"].attrs = {"long_name": "test MSE", "units": "1"}
    ds.attrs = {"weight_var": 2.0, "pool_size_correction": 1797}
    assert rf_real.grid_kind(ds) == "rf"
    fig = rf_real.plot_risk_vs_k(ds, num_theory=10)
    line = line_by_gid(fig, "theory:test_risk:1.0")
    at_saved = np.interp(
        np.log([8, 16, 96]), np.log(line.get_xdata()), line.get_ydata()
    )
    np.testing.assert_allclose(
        at_saved, theory["test_risk_theory"].sel(n=48, ridge=1.0), rtol=1e-10
    )


def test_write_figures_and_cli(tmp_path, capsys):
    spectra_path = tmp_path / "spectra.nc"
    spectra_grid().to_netcdf(spectra_path)
    fitting_path = tmp_path / "fit.nc"
    fitting_grid().to_netcdf(fitting_path)
    code = rf_real.main([str(spectra_path), str(fitting_path), "--out", str(tmp_path)])
    assert code == 0
    written = capsys.readouterr().out.split()
    stems = {p.rsplit("/", 1)[-1] for p in written}
    assert stems == {
        f"rf_real_{s}.{ext}"
        for s in ("eigenspectra", "exponents", "fitting_ratio")
        for ext in ("png", "pdf")
    }
    bad = tmp_path / "bad.nc"
    xr.Dataset({"x": ("a", [1.0])}).to_netcdf(bad)
    assert rf_real.main([str(bad)]) == 2
    assert "not an rf_real grid" in capsys.readouterr().err
