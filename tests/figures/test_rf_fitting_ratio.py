"""The rf_risk fitting-ratio figure, and the command lines that write the rf_risk
figures (``figures.rf_risk.main``, ``python -m figures``) from small synthetic grids
written to tmp_path (``_rf_risk_grid.py``). The risk-versus-n/k figures are tested
in ``test_rf_risk.py``.

Everything the figures draw is read back from the matplotlib artists and compared
with an independent computation.
"""

from __future__ import annotations

import sys
import types

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import xarray as xr

from figures import __main__ as figures_main
from figures import rf_risk
from tests.figures._rf_risk_grid import RIDGES
from tests.figures._rf_risk_grid import SWEEP
from tests.figures._rf_risk_grid import k_sweep as k_sweep  # the shared fixture
from tests.figures._rf_risk_grid import make_grid


@pytest.fixture
def stub_powerlaw(monkeypatch):
    """A stand-in theory.rf_powerlaw with the agreed names (not the closed form)."""
    stub = types.ModuleType("theory.rf_powerlaw")

    def optimal_fitting_ratio(alpha, beta, noise_rel):
        return 0.9 * noise_rel / (1.0 + noise_rel) + 0.01 * (alpha - beta)

    def powerlaw_test_risk(R, *, alpha, beta, n, noise_rel):
        r_star = optimal_fitting_ratio(alpha, beta, noise_rel)
        return (1 + noise_rel) * n ** (1 - beta) * (1 + (np.asarray(R) - r_star) ** 2)

    stub.optimal_fitting_ratio = optimal_fitting_ratio
    stub.powerlaw_test_risk = powerlaw_test_risk
    monkeypatch.setitem(sys.modules, "theory.rf_powerlaw", stub)
    return stub


def test_fitting_ratio_plots_the_normalized_powerlaw_functions(stub_powerlaw):
    datasets = (("A", 1.17, 1.14, 0.5), ("B", 1.12, 1.36, 0.04))
    noise = (0.0, 5.0)
    fig = rf_risk.plot_fitting_ratio(datasets, noise, n=500, real=None)
    assert len(fig.axes) == 2
    for ax, (name, alpha, beta, base) in zip(fig.axes, datasets, strict=True):
        title = ax.get_title()
        assert title.startswith(f"{name}\n")  # names its data set and its exponents
        assert f"$\\alpha = {alpha:g}$, $\\beta = {beta:g}$" in title
        assert ax.get_xlim() == (-0.15, 1.15)
        texts = {t.get_text() for t in ax.texts}
        assert {"fully interpolating", "∞ regularization"} <= texts
        assert len(ax.patches) == 2  # the shaded R < 0 and R > 1 bands
        for s in noise:
            key = f"{alpha!r},{beta!r},{s!r}"
            (curve,) = [
                ln for ln in ax.get_lines() if ln.get_gid() == f"theory:test_risk:{key}"
            ]
            R = np.asarray(curve.get_xdata())
            assert R[0] == 0 and R[-1] < 1 and np.all(np.diff(R) > 0)
            raw = stub_powerlaw.powerlaw_test_risk(
                R, alpha=alpha, beta=beta, n=500, noise_rel=s
            )
            at0 = stub_powerlaw.powerlaw_test_risk(
                0.0, alpha=alpha, beta=beta, n=500, noise_rel=0.0
            )
            want = raw / at0 * base / (1 + s * base)  # the paper's unit-norm labels
            np.testing.assert_allclose(curve.get_ydata(), want, rtol=1e-14)
            (argmin,) = [ln for ln in ax.get_lines() if ln.get_gid() == f"argmin:{key}"]
            r_star = stub_powerlaw.optimal_fitting_ratio(alpha, beta, s)
            assert list(argmin.get_xdata()) == [r_star, r_star]
            assert argmin.get_linestyle() == ":"
            assert argmin.get_color() == curve.get_color()


def test_fitting_ratio_defaults_are_the_papers_data_sets_in_its_units():
    """MNIST, SVHN, CIFAR-10 with their (α, β); noiseless ridgeless value = base MSE,
    and every curve of order one (unit-norm labels), not hundreds."""
    fig = rf_risk.plot_fitting_ratio(real=None)
    names = [ax.get_title().split("\n")[0] for ax in fig.axes]
    assert names == ["MNIST", "SVHN", "CIFAR-10"]
    for ax, (_, alpha, beta, base) in zip(fig.axes, rf_risk.DATASETS, strict=True):
        key = f"{alpha!r},{beta!r},{0.0!r}"
        (clean,) = [
            ln for ln in ax.get_lines() if ln.get_gid() == f"theory:test_risk:{key}"
        ]
        assert clean.get_ydata()[0] == pytest.approx(base, rel=1e-12)
        for ln in ax.get_lines():
            if (ln.get_gid() or "").startswith("theory:"):
                assert np.nanmax(ln.get_ydata()[:-20]) < 2.0


def _real_fitting_grid(alpha=1.3, beta=1.25, seed=0) -> xr.Dataset:
    """A stand-in sims.rf_real fitting-ratio grid (variables figures.rf_real needs)."""
    rng = np.random.default_rng(seed)
    noise, ridge, trial = [0.0, 5.0], np.geomspace(1e-3, 1e3, 7), np.arange(3)
    shape = (2, 7, 3)
    test = rng.uniform(0.1, 1.0, shape)
    ds = xr.Dataset(
        {
            "test_mse": (("noise_rel", "ridge", "trial"), test),
            "fitting_ratio": (
                ("noise_rel", "ridge", "trial"),
                rng.uniform(0, 1, shape),
            ),
            "optimal_ratio": (("noise_rel", "trial"), rng.uniform(0, 1, (2, 3))),
            "base_mse": (("trial",), [0.2, 0.3, 0.4]),
            "alpha": alpha,
            "beta": beta,
        },
        coords={"noise_rel": noise, "ridge": ridge, "trial": trial},
        attrs={"n_train": 900},
    )
    return ds


def test_fitting_ratio_overlays_a_saved_rf_real_grid(tmp_path):
    real = _real_fitting_grid()
    fig = rf_risk.plot_fitting_ratio(real=real)
    assert len(fig.axes) == len(rf_risk.DATASETS) + 1
    ax = fig.axes[-1]
    assert ax.get_title().startswith("digits (measured)")
    assert "1.3" in ax.get_title() and "1.25" in ax.get_title()
    for s in (0.0, 5.0):
        (dots,) = [ln for ln in ax.get_lines() if ln.get_gid() == f"sim:{s!r}"]
        sub = real.sel(noise_rel=s)
        np.testing.assert_allclose(
            dots.get_xdata(), sub["fitting_ratio"].values.mean(axis=1)
        )
        np.testing.assert_allclose(
            dots.get_ydata(), sub["test_mse"].values.mean(axis=1) / (1 + s * 0.3)
        )
        key = f"{1.3!r},{1.25!r},{s!r}"
        assert [
            ln for ln in ax.get_lines() if ln.get_gid() == f"theory:test_risk:{key}"
        ]
    # found by write_figures next to the rf_risk results, through figures.rf_real
    results = tmp_path / "results"
    (results / "rf_real").mkdir(parents=True)
    (results / "rf_risk").mkdir()
    real.to_netcdf(results / "rf_real" / "fr.nc")
    (results / "rf_real" / "junk.nc").write_text("junk")
    make_grid(64, SWEEP[:3], ridges=RIDGES[:2], trials=3).to_netcdf(
        results / "rf_risk" / "k.nc"
    )
    grid = rf_risk.load_grid(results / "rf_risk" / "k.nc")
    assert rf_risk._real_fitting_grid([grid]) is not None
    assert rf_risk._real_fitting_grid([grid])["alpha"] == 1.3


def test_fitting_ratio_measured_points_have_sem_bars_in_both_directions():
    real = _real_fitting_grid()
    ax = rf_risk.plot_fitting_ratio(real=real).axes[-1]
    base = 0.3  # the mean base MSE
    for s in (0.0, 5.0):
        (bars,) = [c for c in ax.containers if c.lines[0].get_gid() == f"sim:{s!r}"]
        sub = real.sel(noise_rel=s)
        x, y = sub["fitting_ratio"].values, sub["test_mse"].values / (1 + s * base)
        segments = [np.array(c.get_segments()) for c in bars.lines[2]]
        (xbars,) = [b for b in segments if np.allclose(b[:, 0, 1], b[:, 1, 1])]
        (ybars,) = [b for b in segments if np.allclose(b[:, 0, 0], b[:, 1, 0])]
        for v, b, axis in ((x, xbars, 0), (y, ybars, 1)):
            sem = v.std(axis=1, ddof=1) / np.sqrt(v.shape[1])  # over 3 orderings
            np.testing.assert_allclose(b[:, 1, axis] - b[:, 0, axis], 2 * sem)
            np.testing.assert_allclose(b[:, :, axis].mean(axis=1), v.mean(axis=1))


def test_fitting_ratio_argmin_is_the_curve_minimum():
    """Against the real theory.rf_powerlaw."""
    fig = rf_risk.plot_fitting_ratio(num=2000)
    for ax in fig.axes:
        curves = {
            ln.get_gid().split(":", 2)[2]: ln
            for ln in ax.get_lines()
            if ln.get_gid().startswith("theory:")
        }
        for key, curve in curves.items():
            (argmin,) = [ln for ln in ax.get_lines() if ln.get_gid() == f"argmin:{key}"]
            R, risk = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
            assert abs(R[np.argmin(risk)] - argmin.get_xdata()[0]) <= 2 * (R[1] - R[0])


def test_main_writes_png_and_pdf(tmp_path, k_sweep, stub_powerlaw, capsys):
    grid = tmp_path / "grid.nc"
    k_sweep.to_netcdf(grid, engine="h5netcdf")
    out = tmp_path / "out"
    assert rf_risk.main([str(grid), "--out", str(out), "--ridges", "2"]) == 0
    stems = ("rf_risk_vs_k", "rf_fitting_ratio")
    expected = {out / f"{s}.{ext}" for s in stems for ext in ("png", "pdf")}
    assert set(out.iterdir()) == expected
    assert {str(p) for p in expected} == set(capsys.readouterr().out.split())
    for path in expected:
        magic = path.read_bytes()[:5]
        assert magic == (b"\x89PNG\r" if path.suffix == ".png" else b"%PDF-")


def test_fitting_ratio_skipped_in_one_line_without_rf_powerlaw(
    tmp_path, k_sweep, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "theory.rf_powerlaw", None)  # import fails
    paths = rf_risk.write_figures([k_sweep], tmp_path, ridges=1, real=None)
    assert {p.name for p in paths} == {"rf_risk_vs_k.png", "rf_risk_vs_k.pdf"}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "theory.rf_powerlaw" in err


@pytest.mark.parametrize("case", ["missing", "garbage", "no_train_risk", "no_attrs"])
def test_main_exits_2_with_one_line(tmp_path, k_sweep, capsys, case):
    path = tmp_path / "grid.nc"
    if case == "garbage":
        path.write_text("not a netCDF file\n")
    elif case == "no_train_risk":
        k_sweep.drop_vars("train_risk").to_netcdf(path, engine="h5netcdf")
    elif case == "no_attrs":
        ds = k_sweep.copy()
        ds.attrs = {"git_commit": "x"}
        ds.to_netcdf(path, engine="h5netcdf")
    assert rf_risk.main([str(path), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and str(path) in captured.err
    assert "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()


def test_python_m_figures_uses_newest_grid_per_sweep(
    tmp_path, stub_powerlaw, monkeypatch, capsys
):
    import os

    folder = tmp_path / "results" / "rf_risk"
    folder.mkdir(parents=True)
    small = dict(ridges=RIDGES[:2], trials=3)
    make_grid(64, SWEEP[:4], seed=5, **small).to_netcdf(folder / "old_k.nc")
    make_grid(64, SWEEP, seed=6, **small).to_netcdf(folder / "new_k.nc")
    make_grid(SWEEP, 64, seed=7, **small).to_netcdf(folder / "n.nc")
    (folder / "broken.nc").write_text("junk")
    for age, name in enumerate(["broken.nc", "new_k.nc", "n.nc", "old_k.nc"]):
        os.utime(folder / name, (1e9 - age, 1e9 - age))
    drawn = []
    plot = rf_risk.plot_risk_vs

    def spy(ds, dim, **kwargs):
        drawn.append((dim, ds.sizes[dim]))
        return plot(ds, dim, **kwargs)

    monkeypatch.setattr(rf_risk, "plot_risk_vs", spy)
    # rf_risk alone here (the other modules' theory-only figures take ~20 s a pass);
    # the last pass below runs every module.
    every_module = figures_main.MODULES
    monkeypatch.setattr(figures_main, "MODULES", {"rf_risk": rf_risk})
    out = tmp_path / "out"
    argv = ["--results", str(tmp_path / "results"), "--out", str(out), "--no-run"]
    assert figures_main.main(argv) == 0
    assert drawn == [("k", SWEEP.size), ("n", SWEEP.size)]  # new_k, not old_k
    captured = capsys.readouterr()
    names = {p.name for p in out.iterdir()}
    assert names == {
        f"{s}.{e}"
        for s in ("rf_risk_vs_k", "rf_risk_vs_n", "rf_fitting_ratio")
        for e in ("png", "pdf")
    }
    rf_lines = [x for x in captured.err.splitlines() if "rf_risk" in x]
    assert len(rf_lines) == 1 and "broken.nc" in rf_lines[0]

    # An older grid reaching a larger k (a paper grid) wins over a newer smaller one.
    drawn.clear()
    make_grid(64, np.append(SWEEP, 4 * SWEEP[-1]), seed=8, **small).to_netcdf(
        folder / "old_paper.nc"
    )
    os.utime(folder / "old_paper.nc", (1e8, 1e8))
    assert figures_main.main(argv) == 0
    assert drawn[0] == ("k", SWEEP.size + 1)
    capsys.readouterr()

    # No grid at all: one line, and the theory-only figure still drawn.
    monkeypatch.setattr(figures_main, "MODULES", every_module)
    empty = tmp_path / "empty"
    argv = ["--results", str(empty), "--out", str(empty / "o"), "--no-run"]
    assert figures_main.main(argv) == 0
    captured = capsys.readouterr()
    rf_lines = [x for x in captured.err.splitlines() if x.startswith("rf_risk")]
    assert len(rf_lines) == 1 and "no saved grid" in rf_lines[0]
    assert {p.name for p in (empty / "o").iterdir() if p.name.startswith("rf_")} == {
        "rf_fitting_ratio.png",
        "rf_fitting_ratio.pdf",
    }
