"""The neural-collapse figures, drawn from tiny grids saved by the real sweeps.

Each grid is produced by ``sims.neural_collapse`` at a reduced smoke size and written
to ``tmp_path``; the figures must then come from the saved files alone (every
simulate function is disabled while drawing), and what they draw is read back from
the matplotlib artists and compared with the grids and with the theory.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import xarray as xr

from figures import neural_collapse as fig_nc
from sims import neural_collapse as snc
from sims._backend import cpu_threads
from tests._tolerances import PLOTTED_RTOL as F64
from theory import neural_collapse as nc


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one torch and one BLAS thread (see sims.neural_collapse)."""
    with cpu_threads(torch.device("cpu")):
        yield


@pytest.fixture(scope="module")
def grids(tmp_path_factory):
    root = tmp_path_factory.mktemp("nc_grids")
    presets = snc.PRESETS
    configs = {
        "ufm": (
            snc.UFM.run,
            presets["ufm"]["smoke"].replace(
                steps=40, checkpoints=5, loss=("mse", "ce"), trials=2
            ),
        ),
        "perturbation": (snc.PERTURBATION.run, presets["perturbation"]["smoke"]),
        "central_path": (
            snc.CENTRAL_PATH.run,
            presets["central_path"]["smoke"].replace(
                t_max=0.2, checkpoints=5, max_iter=500
            ),
        ),
        "digits": (
            snc.DIGITS.run,
            presets["digits"]["smoke"].replace(layers=1, steps=5, trials=2),
        ),
    }
    paths = {}
    for name, (sweep, config) in configs.items():
        _, paths[name] = sweep(config.replace(device="cpu"), out=root / f"{name}.nc")
    return paths


@pytest.fixture
def no_simulation(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("figures must not simulate")

    for name in (
        "simulate_ufm",
        "simulate_perturbation",
        "simulate_central_path",
        "simulate_digits",
    ):
        monkeypatch.setattr(snc, name, boom)
    monkeypatch.setattr("sims._sweep.run_sweep", boom)


def test_every_figure_from_saved_grids(grids, tmp_path, no_simulation, capsys):
    assert fig_nc.main([*map(str, grids.values()), "--out", str(tmp_path)]) == 0
    written = capsys.readouterr().out.split()
    stems = {
        "nc_perturbation_spectrum",
        "nc_central_path",
        "nc_ufm_metrics",
        "nc_ufm_metrics_ce",
        "nc_ufm_lengths",
        "nc_digits_layers",
    }
    assert {p.rsplit("/", 1)[-1] for p in written} == {
        f"{s}.{ext}" for s in stems for ext in ("png", "pdf")
    }
    for path in written:
        assert (tmp_path / path.rsplit("/", 1)[-1]).stat().st_size > 1000


def test_write_figures_uses_the_newest_grid_of_each_kind(grids, tmp_path):
    ds = fig_nc.load_grid(grids["digits"])
    older = ds.copy()
    older["nc1"] = older["nc1"] * 0 + 1.0
    paths = fig_nc.write_figures([ds, older], tmp_path)
    assert [p.name for p in paths] == ["nc_digits_layers.png", "nc_digits_layers.pdf"]
    fig = fig_nc.plot_digits_layers(ds)
    line = fig.axes[0].lines[0]
    mean = ds["nc1"].sel(loss=ds["loss"].values[0]).mean("trial").values
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float), mean, rtol=F64)


def test_perturbation_figure_draws_grid_points_and_theorem_42_lines(grids):
    ds = fig_nc.load_grid(grids["perturbation"])
    fig = fig_nc.plot_perturbation_spectrum(ds, beta=100.0)
    ax = fig.axes[0]
    sub = ds.sel(beta=100.0).isel(lam_w=0)
    points = [ln for ln in ax.lines if ln.get_linestyle() == "None"]
    assert len(points) == sub.sizes["sv_index"]
    for i, ln in enumerate(points):  # every class and trial, not only the first
        x, y = np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())
        for lam_h in sub["lam_h"].values:
            want = sub["sv_intra"].isel(sv_index=i).sel(lam_h=lam_h).values.ravel()
            np.testing.assert_allclose(np.sort(y[x == lam_h]), np.sort(want), rtol=F64)
    curves = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    x = curves[0].get_xdata()
    pred = nc.near_collapse_spectrum(
        int(ds.attrs["classes"]),
        int(ds.attrs["n"]),
        int(ds.attrs["width"]),
        beta=100.0,
        lam_w=float(ds["lam_w"][0]),
        lam_h=x,
    )
    present = [j for j in range(5) if pred.multiplicity[j] > 0]
    for ln, j in zip(curves, present, strict=True):
        np.testing.assert_allclose(
            ln.get_ydata(), 1 - pred.kappa[:, j] / 100.0, rtol=F64
        )


def test_lengths_figure_curves_are_the_closed_form(grids):
    ds = fig_nc.load_grid(grids["ufm"])
    fig = fig_nc.plot_ufm_lengths(ds)
    ax = fig.axes[0]
    lam = float(ds["lam"][0])
    curves = [ln for ln in ax.lines if ln.get_label().startswith("M=")]
    assert len(curves) == ds.sizes["depth"]
    for ln, depth in zip(curves, ds["depth"].values, strict=True):
        expected = nc.deep_linear_class_a2(
            ln.get_xdata(), num_samples=40, depth=int(depth), lam_w=lam, lam_h=lam
        )
        np.testing.assert_allclose(ln.get_ydata(), expected, rtol=F64)


def test_central_path_and_metrics_figures_draw(grids):
    flow = fig_nc.load_grid(grids["central_path"])
    fig = fig_nc.plot_central_path(flow)
    first = fig.axes[0].lines[0]
    rel = flow["nc1_tilde"] / flow["nc1_tilde"].isel(time=0)
    expected = rel.isel(lam_w=0, lam_h=0).mean("trial").values
    np.testing.assert_allclose(first.get_ydata(), expected, rtol=F64)
    ufm = fig_nc.load_grid(grids["ufm"])
    fig = fig_nc.plot_ufm_metrics(ufm)
    assert len(fig.axes) == 5 * ufm.sizes["profile"]


def test_bad_grids_are_refused(tmp_path, grids, capsys):
    missing = tmp_path / "missing.nc"
    with pytest.raises(fig_nc.GridError, match="no such file"):
        fig_nc.load_grid(missing)
    with pytest.raises(fig_nc.GridError, match="a directory, not a grid file"):
        fig_nc.load_grid(tmp_path)
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("a", [1.0])}).to_netcdf(other, engine="h5netcdf")
    with pytest.raises(fig_nc.GridError, match="not a neural_collapse grid"):
        fig_nc.load_grid(other)
    text = tmp_path / "text.nc"
    text.write_text("not netcdf")
    with pytest.raises(fig_nc.GridError, match="not a netCDF4 grid"):
        fig_nc.load_grid(text)
    broken = xr.open_dataset(grids["digits"]).load().drop_vars("nc1_tilde")
    with pytest.raises(fig_nc.GridError, match="lacks variables"):
        fig_nc.check_grid(broken)
    assert fig_nc.main([str(other), "--out", str(tmp_path)]) == 2
    assert "error" in capsys.readouterr().err


def test_lengths_threshold_panel_marks_where_the_minority_class_collapses(grids):
    """The dotted n_c of each depth is where the closed form drops to w_k = 0."""
    ds = fig_nc.load_grid(grids["ufm"])
    ax = fig_nc.plot_ufm_lengths(ds).axes[1]
    lo, hi = ax.get_xlim()
    for depth in ds["depth"].values:
        (line,) = [ln for ln in ax.lines if ln.get_gid() == f"threshold:{depth}"]
        n_c = line.get_xdata()[0]
        assert lo < n_c < hi  # the threshold shows
        (curve,) = [ln for ln in ax.lines if ln.get_gid() == f"a2:{depth}"]
        lam = fig_nc.threshold_lambda(ds["depth"].values, 40, np.sqrt(5 * 20))
        assert f"{lam:.2g}" in ax.get_title(loc="left")
        a2 = nc.deep_linear_class_a2(
            [n_c * 0.98, n_c * 1.02],
            num_samples=40,
            depth=int(depth),
            lam_w=lam,
            lam_h=lam,
        )
        assert a2[0] == 0 and a2[1] > 0
        x, y = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
        assert np.all(y[x < n_c * 0.999] == 0) and np.all(y[x > n_c * 1.001] > 0)


def test_labels_say_what_is_drawn(grids):
    ax = fig_nc.plot_perturbation_spectrum(fig_nc.load_grid(grids["perturbation"]))
    title = ax.axes[0].get_legend().get_title().get_text()
    assert "Theorem 4.2" in title and r"\sigma = 1-\kappa/\beta" in title
    flow = fig_nc.plot_central_path(fig_nc.load_grid(grids["central_path"]))
    legends = [
        t.get_text()
        for a in flow.axes
        if a.get_legend()
        for t in a.get_legend().get_texts()
    ]
    assert "first order (Cor. 3.2)" in legends
    assert any(t.startswith("± SEM") for t in legends)
    ufm = fig_nc.load_grid(grids["ufm"])
    fig = fig_nc.plot_ufm_metrics(ufm)
    ylabels = [a.get_ylabel() for a in fig.axes[:5]]
    assert ylabels[0].startswith(ufm["nc1"].attrs["long_name"])
    assert f"over {ufm.sizes['trial']} trials" in fig.get_suptitle()
    digits = fig_nc.load_grid(grids["digits"])
    legend = fig_nc.plot_digits_layers(digits).axes[0].get_legend()
    assert f"n = {digits.sizes['trial']}" in legend.get_texts()[0].get_text()


def test_ufm_metrics_mark_exact_zeros_instead_of_dropping_them(grids):
    """Converged runs clamp NC1 at exactly 0, which a log axis cannot show: a zero
    mean is a ▼ on the lower edge (the line does not plunge off the axis), a band
    reaching 0 runs to the edge (it was cut at 1e-3 x mean), and both are counted."""
    ds = fig_nc.load_grid(grids["ufm"]).copy(deep=True)
    prof = str(ds["profile"].values[0])
    d0, d1 = (int(d) for d in ds["depth"].values[:2])
    last = int(ds["step"].values[-1])
    ds["nc1"].loc[{"profile": prof, "depth": d0, "step": last}] = 0.0
    ds["nc1"].loc[{"profile": prof, "depth": d1, "step": last, "trial": 0}] = 0.0
    fig = fig_nc.plot_ufm_metrics(ds)
    ax = fig.axes[0]
    by_gid = {ln.get_gid(): ln for ln in ax.get_lines()}
    zeros = by_gid[f"zeros:nc1:{prof}:{d0}"]
    assert list(zeros.get_xdata()) == [last] and list(zeros.get_ydata()) == [0.0]
    assert np.isnan(by_gid[f"mean:nc1:{prof}:{d0}"].get_ydata()[-1])
    assert f"zeros:nc1:{prof}:{d1}" not in by_gid  # its mean is positive
    (band,) = [c for c in ax.collections if c.get_gid() == f"band:nc1:{prof}:{d1}"]
    lower = min(p.vertices[:, 1].min() for p in band.get_paths())
    assert lower == 0.0  # mean − SEM of (0, v) is 0: down to the lower edge
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("trial mean exactly 0 (1)") for t in legend), legend
    assert any(t.startswith("mean − SEM <= 0 (") for t in legend), legend
    assert "trial values are exactly 0" in fig.get_suptitle()


def test_ufm_metrics_for_cross_entropy(grids):
    """CE draws NC1, NC2 against the ETF, NC3 and the excess over the minimum (the
    GOF columns are MSE's closed form); the excess panel of the imbalanced profile,
    which has no closed form, says so instead of staying blank."""
    ds = fig_nc.load_grid(grids["ufm"])
    fig = fig_nc.plot_ufm_metrics(ds, loss="ce")
    profiles = list(ds["profile"].values)
    assert len(fig.axes) == 4 * len(profiles)
    for r, prof in enumerate(profiles):
        for c, var in enumerate(("nc1", "nc2_etf", "nc3", "excess")):
            ax = fig.axes[4 * r + c]
            if var == "excess":
                sel = ds.sel(profile=prof, loss="ce", bias=0).isel(lam=0)
                blank = bool((sel["objective_theory"]).isnull().all())
                texts = [t.get_gid() for t in ax.texts]
                assert (f"none:excess:{prof}" in texts) == blank
                assert ax.get_yscale() == "symlog"
                continue
            depth = int(ds["depth"].values[0])
            gid = f"mean:{var}:{prof}:{depth}"
            (line,) = [ln for ln in ax.lines if ln.get_gid() == gid]
            da = ds[var].sel(profile=prof, depth=depth, loss="ce", bias=0).isel(lam=0)
            want = np.abs(da.mean("trial").values[ds["step"].values > 0])
            np.testing.assert_allclose(line.get_ydata(), want, rtol=F64)
    # Depth >= 2 can end below the ETF value (docs/derivations/neural_collapse.md
    # §6.5): the excess keeps its sign (|excess| drew it as a positive gap).
    prof, depth, last = profiles[0], int(ds["depth"].values[-1]), ds["step"].values[-1]
    at = (ds["profile"] == prof) & (ds["depth"] == depth) & (ds["step"] == last)
    below = ds.assign(
        objective=xr.where(at, ds["objective_theory"] - 1e-3, ds["objective"])
    )
    ax = fig_nc.plot_ufm_metrics(below, loss="ce").axes[3]
    (line,) = [ln for ln in ax.lines if ln.get_gid() == f"mean:excess:{prof}:{depth}"]
    assert line.get_ydata()[-1] == pytest.approx(-1e-3, rel=1e-9)
    blanks = [t for a in fig.axes for t in a.texts if t.get_gid().startswith("none:")]
    assert blanks  # the imbalanced smoke profile has no CE closed form
    with pytest.raises(ValueError, match="closed form a_k\\^2 is MSE's; got loss='ce'"):
        fig_nc.plot_ufm_lengths(ds, loss="ce")


def test_digits_layers_mark_a_zero_mean(grids):
    ds = fig_nc.load_grid(grids["digits"]).copy(deep=True)
    layer = int(ds["layer"].values[1])
    ds["nc1"].loc[{"layer": layer}] = 0.0
    fig = fig_nc.plot_digits_layers(ds)
    loss = ds["loss"].values[0]
    (zeros,) = [
        ln for ln in fig.axes[0].get_lines() if ln.get_gid() == f"zeros:nc1:{loss}"
    ]
    assert list(zeros.get_xdata()) == [layer]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "mean exactly 0 (1), on the axis edge" in legend
