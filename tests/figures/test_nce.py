"""The nce figures, drawn from small synthetic grids with the saved layouts.

Each synthetic grid has the dims and variables that ``python -m sims.nce --sweep``
writes, filled with seeded values; what the figures draw is read back from the
matplotlib artists and compared with an independent computation (closed forms, the
reference values of docs/derivations/nce.md, or numpy means of the grid).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import xarray as xr

from figures import nce
from tests._tolerances import F64_RTOL
from tests._tolerances import NCE_TABLE_RTOL

RNG = np.random.default_rng(0)


def gaussian_grid(trials=4) -> xr.Dataset:
    methods, stars, stds, steps = (
        ["meco", "nce"],
        [2.0, 4.0],
        [1.0, 3.0],
        [0, 1, 10, 100],
    )
    shape = (2, 1, 2, 1, 2, 1, trials)
    dims = (
        "method",
        "batch_size",
        "theta_star",
        "noise_frac",
        "noise_std",
        "gamma",
        "trial",
    )
    theta = 3.0 + RNG.standard_normal((*shape, len(steps)))
    star = np.asarray(stars)[None, None, :, None, None, None, None, None]
    tail = 3.0 + RNG.standard_normal(shape)
    return xr.Dataset(
        {
            "theta": ((*dims, "step"), theta),
            "abs_err": ((*dims, "step"), np.abs(theta - star)),
            "tail_mean": (dims, tail),
            "tail_rmse": (dims, np.abs(RNG.standard_normal(shape)) + 0.1),
        },
        coords={
            "method": methods,
            "batch_size": [64],
            "theta_star": stars,
            "noise_frac": [0.0],
            "noise_std": stds,
            "gamma": [0.1],
            "trial": range(trials),
            "step": steps,
        },
    )


def landscape_grid(trials=3) -> xr.Dataset:
    methods, R, theta = ["meco", "nce_fixed_c", "nce_profiled"], [4.0], [0.0, 1.0, 2.0]
    loss = RNG.random((3, 1, 3, trials)) + 0.1
    grad = -RNG.random((3, 1, 3, trials)) - 0.1
    return xr.Dataset(
        {
            "loss": (("method", "R", "theta", "trial"), loss),
            "grad": (("method", "R", "theta", "trial"), grad),
            "grad_theory": (("method", "R", "theta"), grad.mean(-1)),
            "chi2_over_m": (("R", "theta"), [[0.0, 4e-4, 0.013]]),
        },
        coords={"method": methods, "R": R, "theta": theta, "trial": range(trials)},
        attrs={"noise_std": 1.0, "nu": 1.0},
    )


def density_grid(trials=2) -> xr.Dataset:
    axis = np.linspace(-2, 2, 5)
    lead = (2, 1, trials)
    return xr.Dataset(
        {
            "heldout_nll": (
                ("method", "dataset", "trial", "step"),
                3 + RNG.random((*lead, 3)),
            ),
            "log_density": (
                ("method", "dataset", "trial", "x1", "x2"),
                -RNG.random((*lead, 5, 5)),
            ),
            "log_density_theory": (("dataset", "x1", "x2"), -RNG.random((1, 5, 5))),
            "heldout_nll_theory": (("dataset",), [2.1]),
        },
        coords={
            "method": ["meco", "nce"],
            "dataset": ["mog"],
            "trial": range(trials),
            "step": [0, 10, 100],
            "x1": axis,
            "x2": axis,
        },
    )


def test_check_grid_identifies_each_kind_and_refuses_others():
    assert nce.check_grid(gaussian_grid()) == "gaussian"
    assert nce.check_grid(landscape_grid()) == "landscape"
    assert nce.check_grid(density_grid()) == "density"
    with pytest.raises(nce.GridError, match="not an nce grid"):
        nce.check_grid(xr.Dataset({"x": ("n", [1.0])}))


def test_theory_landscape_lines():
    fig = nce.plot_landscapes(R=(4.0, 8.0))
    bottom = fig.axes[3]  # |grad| panel of R = 8 (axes: row-major 2 x 2)
    lines = {ln.get_label(): ln for ln in bottom.get_lines()}
    x, y = lines["NLL / MECO"].get_data()
    np.testing.assert_allclose(y, np.abs(np.asarray(x) - 8.0), rtol=F64_RTOL)
    x, y = lines["NCE, c profiled"].get_data()
    i = int(np.argmin(np.abs(np.asarray(x) - 2.0)))
    assert x[i] == pytest.approx(2.0, abs=1e-12)  # the theory grid hits theta = 2
    # reference value |L~'(2)| = 9.712e-3 at R = 8 (docs/derivations/nce.md §5)
    assert y[i] == pytest.approx(9.712e-3, rel=NCE_TABLE_RTOL)
    assert bottom.get_yscale() == "log"


def test_landscape_markers_are_grid_means():
    ds = landscape_grid()
    fig = nce.plot_landscapes(ds)
    bottom = fig.axes[1]
    ys = [np.asarray(c.lines[0].get_ydata(), float) for c in bottom.containers]
    expected = np.abs(ds["grad"].mean("trial")).sel(R=4.0).values
    for got, want in zip(ys, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=F64_RTOL)


def test_error_vs_steps_lines_are_trial_means():
    ds = gaussian_grid()
    fig = nce.plot_error_vs_steps(ds)
    line = fig.axes[0].get_lines()[0]  # meco, theta* = 2, s = 1
    cell = dict(batch_size=0, gamma=0, noise_frac=0, theta_star=0, noise_std=0)
    want = ds["abs_err"].isel(cell).sel({"method": "meco"}).mean("trial")
    np.testing.assert_allclose(line.get_ydata(), want.values[1:], rtol=F64_RTOL)
    np.testing.assert_array_equal(line.get_xdata(), [1, 10, 100])


def wide_gaussian_grid(trials=3) -> xr.Dataset:
    """Nine noise distributions (more than the six line styles), two batch sizes and
    two γ: the paper grid's shape, small."""
    coords = {
        "method": ["meco", "nce"],
        "batch_size": [64, 256],
        "theta_star": [2.0],
        "noise_frac": [0.0, 0.5, 1.0],
        "noise_std": [1.0, 2.0, 3.0],
        "gamma": [0.1, 1.0],
        "trial": range(trials),
        "step": [0, 1, 10, 100],
    }
    shape = tuple(len(v) for v in coords.values())
    err = np.abs(RNG.standard_normal(shape)) + 0.01
    return xr.Dataset({"abs_err": (tuple(coords), err)}, coords=coords)


def test_error_vs_steps_bands_setting_and_distinct_lines():
    ds = wide_gaussian_grid()
    fig = nce.plot_error_vs_steps(ds)
    ax = fig.axes[0]
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    bands = {c.get_gid(): c for c in ax.collections}
    for method in ("meco", "nce"):
        looks = set()
        for frac in (0.0, 0.5, 1.0):
            for s in (1.0, 2.0, 3.0):
                key = f"{method}:2:{frac:g}:{s:g}"
                line = lines[f"err:{key}"]
                looks.add((str(line.get_linestyle()), line.get_marker()))
                cell = {"method": method, "noise_frac": frac, "noise_std": s}
                err = ds["abs_err"].isel(batch_size=0, gamma=0, theta_star=0)
                err = err.sel(cell).values[:, 1:]  # (trial, step > 0)
                mean = err.mean(axis=0)
                sem = err.std(axis=0, ddof=1) / np.sqrt(err.shape[0])
                np.testing.assert_allclose(line.get_ydata(), mean, rtol=F64_RTOL)
                edge = np.concatenate(
                    [p.vertices for p in bands[f"band:{key}"].get_paths()]
                )
                for x, hi, lo in zip([1, 10, 100], mean + sem, mean - sem, strict=True):
                    at = edge[np.isclose(edge[:, 0], x)][:, 1]
                    assert np.isclose(at, hi, rtol=F64_RTOL).any()
                    assert np.isclose(at, max(lo, 0.0), rtol=F64_RTOL).any()
        assert len(looks) == 9  # nine distributions, nine distinct lines
    title = fig.get_suptitle()
    assert "batch size = 64 (of 64, 256)" in title and "γ = 0.1 (of 0.1, 1)" in title
    assert "± SEM over 3 trials" in title
    other = nce.plot_error_vs_steps(ds, batch_size=256, gamma=1.0)
    assert "batch size = 256 (of 64, 256)" in other.get_suptitle()
    got = {ln.get_gid(): ln for ln in other.axes[0].get_lines()}["err:nce:2:0.5:3"]
    cell = {
        "batch_size": 256,
        "gamma": 1.0,
        "method": "nce",
        "noise_frac": 0.5,
        "noise_std": 3.0,
        "theta_star": 2.0,
    }
    want = ds["abs_err"].sel(cell)
    np.testing.assert_allclose(
        got.get_ydata(), want.mean("trial").values[1:], rtol=F64_RTOL
    )


def test_landscape_legend_and_notes_say_what_the_marks_are():
    ds = landscape_grid()
    ds["chi2_over_m"][0, 2] = 3.0  # MECO's plug-in estimate meaningless at theta 2
    grad = ds["grad"].values
    grad[1, 0, 1] = [0.5, -0.45, 0.0]  # NCE (c = log Z) at theta 1: SEM > |mean|
    fig = nce.plot_landscapes(ds)
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    handles = dict(zip(texts, legend.legend_handles, strict=True))
    assert handles["theory"].get_marker() in ("None", "", None)
    assert handles["theory"].get_linestyle() == "-"
    mc = handles["Monte Carlo (mean ± SEM, 3 trials)"]
    assert mc.get_marker() == "o" and mc.get_linestyle() == "None"
    assert "left out in 1 of 3 cells" in fig.get_suptitle()
    # lower bars longer than 0.9 x mean are cut at 0.1 x mean, marked and counted
    cut = 0
    for method in ("meco", "nce_fixed_c", "nce_profiled"):
        for var in ("loss", "grad"):
            values = ds[var].sel({"method": method, "R": 4.0}).values  # (theta, trial)
            mean = np.abs(values.mean(axis=1))
            sem = values.std(axis=1, ddof=1) / np.sqrt(values.shape[1])
            short = sem > 0.9 * mean
            if method == "meco":
                short &= ds["chi2_over_m"].sel(R=4.0).values < 1
            cut += int(short.sum())
    assert cut >= 1
    assert f"lower bar cut at 0.1 × mean ({cut})" in texts
    (marks,) = [
        ln for ln in fig.axes[1].get_lines() if ln.get_gid() == "cut:nce_fixed_c:4:grad"
    ]
    assert list(marks.get_xdata()) == [1.0]
    mean = abs(np.mean([0.5, -0.45, 0.0]))
    assert marks.get_ydata()[0] == pytest.approx(0.1 * mean, rel=F64_RTOL)


def test_stationary_error_points():
    ds = gaussian_grid()
    fig = nce.plot_stationary_error(ds)
    first = fig.axes[0].containers[0].lines[0]
    want = ds["tail_rmse"].isel(batch_size=0, gamma=0, noise_frac=0, theta_star=0)
    want = want.sel({"method": "meco"}).mean("trial").values
    np.testing.assert_allclose(
        np.asarray(first.get_ydata(), float), want, rtol=F64_RTOL
    )
    np.testing.assert_array_equal(np.asarray(first.get_xdata(), float), [1.0, 3.0])


def test_stationary_bias_keeps_its_sign():
    """The bias panel draws tail mean − θ* with its sign (|bias| hid that the methods'
    biases can have opposite signs); the synthetic tails sit near 3, so θ* = 2 gives
    positive and θ* = 4 negative biases."""
    ds = gaussian_grid()
    fig = nce.plot_stationary_error(ds)
    lines = {ln.get_gid(): ln for ln in fig.axes[1].get_lines() if ln.get_gid()}
    for method in ("meco", "nce"):
        for star in (2.0, 4.0):
            sel = {"method": method, "theta_star": star}
            want = (ds["tail_mean"].sel(sel) - star).isel(
                batch_size=0, gamma=0, noise_frac=0
            )
            got = np.asarray(lines[f"bias:{method}:{star:g}"].get_ydata(), float)
            np.testing.assert_allclose(got, want.mean("trial").values, rtol=F64_RTOL)
            assert np.all(np.sign(got) == (1 if star == 2.0 else -1))
    assert fig.axes[1].get_yscale() == "symlog"


def test_stationary_error_draws_the_chosen_noise_mean():
    """With ``noise_frac=1`` (q = N(θ*, s²)) the title names it and the top axis gives
    1 + χ² = s²/√(2s² − 1) (no mean shift), not the ρ = 0 values."""
    ds = xr.concat(
        [gaussian_grid(), gaussian_grid().assign_coords(noise_frac=[1.0])],
        "noise_frac",
    )
    fig = nce.plot_stationary_error(ds, noise_frac=1.0)
    assert fig.get_suptitle().startswith("q = N(θ*, s²)")
    top = [a for a in fig.axes[1].child_axes if a.get_xlabel().startswith("1+χ²")]
    labels = [tick.get_text() for tick in top[0].get_xticklabels()]
    s = np.array([1.0, 3.0])
    assert labels == [f"{v:.3g}" for v in s**2 / np.sqrt(2 * s**2 - 1)]


def test_density_panels_and_floor():
    ds = density_grid()
    fig = nce.plot_densities(ds)
    img = fig.axes[1].get_images()[0].get_array()
    want = np.exp(ds["log_density"].sel({"method": "meco"}).isel(dataset=0, trial=0))
    np.testing.assert_allclose(np.asarray(img), want.values.T, rtol=F64_RTOL)
    (nll,) = [ax for ax in fig.axes if ax.get_ylabel() == "held-out NLL [nats]"]
    floor = [ln for ln in nll.get_lines() if ln.get_label() == "true density"]
    assert floor[0].get_ydata()[0] == pytest.approx(2.1)
    # one colour bar per row, on the panels' shared scale: 0 to the truth's max
    (bar,) = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    truth = np.exp(ds["log_density_theory"].isel(dataset=0)).values.max()
    assert bar.get_ylim() == pytest.approx((0.0, truth), rel=F64_RTOL)


def test_write_figures_and_main(tmp_path):
    paths = nce.write_figures([density_grid()], tmp_path)
    assert sorted({p.stem for p in paths}) == ["nce_density", "nce_landscape"]
    assert sorted(p.suffix for p in paths) == [".pdf", ".pdf", ".png", ".png"]
    assert all(p.stat().st_size > 0 for p in paths)
    grid = tmp_path / "g.nc"
    landscape_grid().to_netcdf(grid)
    assert nce.main([str(grid), "--out", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "nce_landscape.png").is_file()
    assert nce.main([str(tmp_path / "missing.nc")]) == 2
