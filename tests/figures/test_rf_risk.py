"""The rf_risk figures, drawn from small synthetic grids written to tmp_path.

A synthetic grid has the layout of ``python -m sims.rf_risk --sweep``: theory values
from :func:`theory.rf_ridge.rf_ridge_risk` on the grid's own power-law spectrum, and
"simulation" values that are the theory times seeded log-normal noise over ``trial``.
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
from matplotlib.collections import LineCollection

from figures import __main__ as figures_main
from figures import _style
from figures import rf_risk
from tests._tolerances import F64_RTOL
from theory.rf_ridge import rf_ridge_risk

ALPHA, BETA, MODES, NOISE = 1.5, 1.3, 300, 0.2
RIDGES = np.geomspace(1e-3, 1e1, 9)  # half-decade steps
TEST_ATTRS = {
    "long_name": "population test MSE",
    "units": "1",
    "math_symbol": r"E_{\mathrm{te}}",
    "description": "exact population test risk of the fitted predictor",
}
TRAIN_ATTRS = {
    "long_name": "train MSE",
    "units": "1",
    "math_symbol": r"E_{\mathrm{tr}}",
    "description": "mean squared training residual",
}


def make_grid(n, k, *, ridges=RIDGES, trials=6, seed=0) -> xr.Dataset:
    """A grid with the saved layout; sim = theory x exp(0.1 N(0,1)) per trial."""
    n, k = np.atleast_1d(n), np.atleast_1d(k)
    i = np.arange(1, MODES + 1, dtype=np.float64)
    out = rf_ridge_risk(
        i**-ALPHA,
        i**-BETA,
        n=n[:, None, None],
        k=k[None, :, None],
        ridge=ridges[None, None, :],
        noise_var=NOISE,
    )
    rng = np.random.default_rng(seed)
    shape = (n.size, k.size, ridges.size, trials)

    def noisy(theory):
        return theory[..., None] * np.exp(0.1 * rng.standard_normal(shape))

    dims4, dims3 = ("n", "k", "ridge", "trial"), ("n", "k", "ridge")
    theory_attrs = {"units": "1", "description": "theory"}
    ds = xr.Dataset(
        {
            "test_risk": (dims4, noisy(out.test_risk), TEST_ATTRS),
            "test_risk_heldout": (
                dims4,
                noisy(out.test_risk),
                {**TEST_ATTRS, "long_name": "held-out test MSE"},
            ),
            "train_risk": (dims4, noisy(out.train_risk), TRAIN_ATTRS),
            "test_risk_theory": (
                dims3,
                out.test_risk,
                {**TEST_ATTRS, "long_name": "theory test MSE"},
            ),
            "train_risk_theory": (
                dims3,
                out.train_risk,
                {**TRAIN_ATTRS, "long_name": "theory train MSE"},
            ),
            "kappa_theory": (
                dims3,
                out.kappa,
                {**theory_attrs, "long_name": "kappa", "math_symbol": r"\kappa"},
            ),
            "gamma_theory": (
                dims3,
                out.gamma,
                {**theory_attrs, "long_name": "gamma", "math_symbol": r"\gamma"},
            ),
        },
        coords={
            "n": ("n", n, {"long_name": "training samples", "math_symbol": "n"}),
            "k": ("k", k, {"long_name": "random features", "math_symbol": "k"}),
            "ridge": (
                "ridge",
                ridges,
                {"long_name": "ridge", "math_symbol": r"\delta"},
            ),
            "trial": np.arange(trials),
        },
        attrs={
            "alpha": ALPHA,
            "beta": BETA,
            "num_modes": MODES,
            "noise_var": NOISE,
            "config_json": "{}",
            "git_commit": "0" * 40,
            "created_utc": "2026-01-01T00:00:00Z",
        },
    )
    return ds


SWEEP = np.unique(np.geomspace(8, 512, 10).astype(int))


@pytest.fixture(scope="module")
def k_sweep() -> xr.Dataset:
    return make_grid(64, SWEEP)


@pytest.fixture(scope="module")
def n_sweep() -> xr.Dataset:
    return make_grid(SWEEP, 64, seed=1)


@pytest.fixture(scope="module")
def figs(k_sweep, n_sweep):
    """Each risk figure drawn once and shared (drawing dominates the runtime)."""
    return {
        "k": (k_sweep, rf_risk.plot_risk_vs(k_sweep, "k")),
        "n": (n_sweep, rf_risk.plot_risk_vs(n_sweep, "n")),
    }


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


def _by_gid(ax, prefix):
    """{ridge: Line2D} of the lines whose gid is ``prefix:<ridge>``."""
    return {
        float(line.get_gid().rsplit(":", 1)[1]): line
        for line in ax.get_lines()
        if (line.get_gid() or "").startswith(prefix + ":")
    }


def _errorbar(ax, gid):
    matches = [c for c in ax.containers if c.lines[0].get_gid() == gid]
    assert len(matches) == 1, gid
    return matches[0]


@pytest.mark.parametrize("dim", ["k", "n"])
def test_theory_lines_are_rf_ridge_risk_on_a_denser_grid(figs, dim):
    _, fig = figs[dim]
    ax = fig.axes[0]
    other, fixed = ("n", 64.0) if dim == "k" else ("k", 64.0)
    i = np.arange(1, MODES + 1, dtype=np.float64)
    test, train = _by_gid(ax, "theory:test_risk"), _by_gid(ax, "theory:train_risk")
    # Five ridges evenly spaced in log among the nine saved: one a decade.
    np.testing.assert_array_equal(sorted(test), RIDGES[::2])
    assert sorted(train) == sorted(test)
    for ridge, line in test.items():
        x = np.asarray(line.get_xdata())
        want = rf_ridge_risk(
            i**-ALPHA, i**-BETA, **{dim: x, other: fixed}, ridge=ridge, noise_var=NOISE
        )
        np.testing.assert_allclose(line.get_ydata(), want.test_risk, rtol=F64_RTOL)
        np.testing.assert_array_equal(train[ridge].get_xdata(), x)
        np.testing.assert_allclose(
            train[ridge].get_ydata(), want.train_risk, rtol=F64_RTOL
        )
        assert line.get_linestyle() == "-" and train[ridge].get_linestyle() == ":"
        # Denser than the simulation, over its whole range, densest near the peak.
        assert x[0] == SWEEP[0] and x[-1] == SWEEP[-1] and x.size >= 90
        near_peak = np.mean((x > fixed / 2) & (x < fixed * 2))
        uniform = np.log(4) / np.log(SWEEP[-1] / SWEEP[0])  # log-spaced share
        assert near_peak > 1.5 * uniform
    peak = [line for line in ax.get_lines() if line.get_gid() == "peak"]
    assert len(peak) == 1 and list(peak[0].get_xdata()) == [fixed, fixed]


@pytest.mark.parametrize("dim", ["k", "n"])
def test_optimal_ridge_envelope_lies_below_every_ridge(figs, dim):
    _, fig = figs[dim]
    ax = fig.axes[0]
    (envelope,) = [
        line for line in ax.get_lines() if line.get_gid() == "theory:optimal_ridge"
    ]
    assert envelope.get_linestyle() == "--"
    env = np.asarray(envelope.get_ydata())
    for line in _by_gid(ax, "theory:test_risk").values():
        np.testing.assert_array_equal(line.get_xdata(), envelope.get_xdata())
        assert np.all(env <= np.asarray(line.get_ydata()))
    # A dense ridge grid: strictly below the best saved ridge somewhere.
    i = np.arange(1, MODES + 1, dtype=np.float64)
    other = "n" if dim == "k" else "k"
    saved = rf_ridge_risk(
        i**-ALPHA,
        i**-BETA,
        **{dim: np.asarray(envelope.get_xdata())[None, :], other: 64.0},
        ridge=RIDGES[:, None],
        noise_var=NOISE,
    ).test_risk.min(axis=0)
    assert np.all(env <= saved * (1 + F64_RTOL))
    assert np.any(env < saved * (1 - 1e-3))


@pytest.mark.parametrize("dim", ["k", "n"])
@pytest.mark.parametrize("name", ["test_risk", "train_risk"])
def test_error_bars_are_mean_and_sem_over_trials(figs, dim, name):
    ds, fig = figs[dim]
    ax = fig.axes[0]
    for ridge in _by_gid(ax, f"theory:{name}"):
        bars = _errorbar(ax, f"sim:{name}:{ridge!r}")
        values = ds[name].sel(ridge=ridge).squeeze().transpose(dim, "trial").values
        mean = values.mean(axis=1)
        sem = values.std(axis=1, ddof=1) / np.sqrt(values.shape[1])
        data_line, _, (bar_lines,) = bars.lines
        np.testing.assert_array_equal(data_line.get_xdata(), ds[dim].values)
        np.testing.assert_allclose(data_line.get_ydata(), mean, rtol=F64_RTOL)
        assert isinstance(bar_lines, LineCollection)
        segments = np.array(bar_lines.get_segments())  # (x, mean -+ sem) pairs
        np.testing.assert_allclose(segments[:, 1, 1] - segments[:, 0, 1], 2 * sem)
        np.testing.assert_allclose(segments[:, :, 1].mean(axis=1), mean, rtol=F64_RTOL)
        assert data_line.get_linestyle() == "None" and data_line.get_marker() == "o"
    faint = {c.lines[0].get_alpha() for c in ax.containers}
    assert faint == {0.35, 1.0}  # train faint, test solid


def test_labels_come_from_attrs(k_sweep):
    ds = k_sweep.copy()
    ds["k"].attrs = {"long_name": "feature count", "math_symbol": "p", "units": "1"}
    ds["test_risk"].attrs = {**TEST_ATTRS, "long_name": "zebra MSE", "math_symbol": "Z"}
    ds["train_risk"].attrs = {**TRAIN_ATTRS, "math_symbol": "Q"}
    ds["ridge"].attrs = {"long_name": "penalty", "math_symbol": r"\lambda"}
    fig = rf_risk.plot_risk_vs(ds, "k", ridges=2)
    ax, colourbar = fig.axes
    assert ax.get_xlabel() == "feature count $p$"
    assert ax.get_ylabel() == "zebra MSE $Z$ and train MSE $Q$"  # names both
    assert colourbar.get_ylabel() == r"penalty $\lambda$"
    (legend,) = fig.legends  # below the axes
    legend = [t.get_text() for t in legend.get_texts()]
    assert legend[0].startswith("sim. $Z$ (mean ± SEM, 6 trials)")
    assert "theory $Q$" in legend and r"theory $Z$, optimal $\lambda$" in legend
    assert "peak $p = n$" in legend


def _hidden_bars(fig):
    """How many test-risk SEM bars end inside the marker radius, from the artists."""
    ax = fig.axes[0]
    radius_px = 0.5 * rf_risk._TEST_MS * fig.dpi / 72
    hidden = total = 0
    for ridge in _by_gid(ax, "theory:test_risk"):
        bars = _errorbar(ax, f"sim:test_risk:{ridge!r}")
        segments = np.array(bars.lines[2][0].get_segments())  # (x, mean -+ sem)
        mid = ax.transData.transform(
            np.column_stack([bars.lines[0].get_xdata(), bars.lines[0].get_ydata()])
        )[:, 1]
        ends = ax.transData.transform(segments.reshape(-1, 2))[:, 1].reshape(-1, 2)
        arm = np.abs(ends - mid[:, None]).max(axis=1)
        hidden += int((arm <= radius_px).sum())
        total += arm.size
    return hidden, total


@pytest.mark.parametrize("spread", [0.1, 1e-4, 3.0])
def test_legend_says_when_sem_bars_hide_in_the_markers(spread):
    """Noise 1e-4: every bar inside its marker; 3.0: none; 0.1: as measured."""
    ds = make_grid(64, np.unique(np.geomspace(8, 256, 8).astype(int)), trials=6)
    theory = ds["test_risk_theory"]
    rng = np.random.default_rng(3)
    noise = np.exp(spread * rng.standard_normal(ds["test_risk"].shape))
    ds["test_risk"] = ds["test_risk"].copy(
        data=theory.broadcast_like(ds["test_risk"])
        .transpose(*ds["test_risk"].dims)
        .values
        * noise
    )
    ds["test_risk"].attrs = TEST_ATTRS
    fig = rf_risk.plot_risk_vs(ds, "k", ridges=3)
    first = fig.legends[0].get_texts()[0].get_text()
    hidden, total = _hidden_bars(fig)
    if spread == 1e-4:
        assert hidden == total
    if spread == 3.0:
        assert hidden == 0
    if hidden == total:
        assert first.endswith("SEM bars all smaller than the markers")
    elif hidden:
        assert first.endswith(
            f"SEM bar inside the marker at {hidden} of {total} points"
        )
    else:
        assert "\n" not in first and "SEM bar" not in first


def test_bars_within_marker_on_linear_axes():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2), dpi=72)
    ax = fig.add_axes((0, 0, 1, 1))  # 144 px for 144 data units: 1 px = 1 unit
    ax.set_xlim(0, 144)
    ax.set_ylim(0, 144)
    inside = _style.bars_within_marker(
        ax, [10, 20, 30, 40], [50, 50, 50, np.nan], [1.9, 2.1, np.nan, 1], 4.0
    )
    np.testing.assert_array_equal(inside, [True, False, False, False])  # radius 2 px


def test_small_ridge_train_risk_is_clipped_and_said(k_sweep):
    """Train risks far below the test risks stop at a floor, with a note."""
    fig = rf_risk.plot_risk_vs(k_sweep, "k", ridges=[1e-3, 10.0])
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    tests = [ln.get_ydata() for ln in _by_gid(ax, "theory:test_risk").values()]
    tests += [
        ln.get_ydata()
        for ln in ax.get_lines()
        if ln.get_gid() == "theory:optimal_ridge"
    ]
    least_test = min(np.nanmin(t) for t in tests)
    trains = _by_gid(ax, "theory:train_risk")
    assert lo >= least_test / 10**rf_risk._TRAIN_DECADES / 1.5 * (1 - 1e-12)
    assert hi >= max(np.nanmax(t.get_ydata()) for t in trains.values())
    clipped = [t for t in ax.texts if t.get_gid() == "clipped"]
    below = [r for r, t in trains.items() if np.nanmin(t.get_ydata()) < lo]
    assert below == [1e-3]  # interpolating train risk at the small ridge
    (note,) = clipped
    assert "0.001" in note.get_text()
    # a large ridge alone: nothing cut off, no note
    ax = rf_risk.plot_risk_vs(k_sweep, "k", ridges=[10.0]).axes[0]
    assert not [t for t in ax.texts if t.get_gid() == "clipped"]
    (train,) = _by_gid(ax, "theory:train_risk").values()
    assert np.nanmin(train.get_ydata()) >= ax.get_ylim()[0]


def test_label_helper():
    da = xr.DataArray([1.0], dims="x", name="x")
    assert _style.label(da) == "x"
    da.attrs = {"long_name": "time", "math_symbol": "t", "units": "s"}
    assert _style.label(da) == "time $t$ [s]"
    assert _style.label(da, units=False) == "time $t$"


def test_select_ridges():
    saved = np.concatenate([[0.0], np.geomspace(1e-3, 1e2, 31)])
    picked = rf_risk.select_ridges(saved, 6)  # one a decade; zero never picked
    np.testing.assert_array_equal(picked, saved[1:][::6])
    assert picked.size == 6 and picked[-1] == saved[-1]
    np.testing.assert_array_equal(rf_risk.select_ridges(saved, 99), saved[1:])
    np.testing.assert_allclose(rf_risk.select_ridges(saved, [0.1, 0.11]), [0.1])


def test_two_dimensional_grid_fixes_the_saved_value_nearest_256():
    ds = make_grid([64, 200, 1000], [16, 64, 256], ridges=RIDGES[:3], trials=3)
    ax = rf_risk.plot_risk_vs(ds, "k", ridges=1).axes[0]
    assert ax.get_title(loc="left").startswith("$n = 200$")
    (line,) = _by_gid(ax, "theory:test_risk").values()
    i = np.arange(1, MODES + 1, dtype=np.float64)
    want = rf_ridge_risk(
        i**-ALPHA, i**-BETA, n=200, k=line.get_xdata(), ridge=1e-3, noise_var=NOISE
    )
    np.testing.assert_allclose(line.get_ydata(), want.test_risk, rtol=F64_RTOL)
    with pytest.raises(ValueError, match="not a saved value"):
        rf_risk.plot_risk_vs(ds, "k", at=256)


def test_warns_when_saved_theory_is_not_the_attrs_spectrum(k_sweep):
    ds = k_sweep.copy()
    ds.attrs = {**ds.attrs, "beta": 1.6}
    with pytest.warns(UserWarning, match="saved test_risk_theory"):
        rf_risk.plot_risk_vs(ds, "k", ridges=1, num_theory=20)


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
    out = tmp_path / "out"
    argv = ["--results", str(tmp_path / "results"), "--out", str(out), "--no-run"]
    assert figures_main.main(argv) == 0
    assert drawn == [("k", SWEEP.size), ("n", SWEEP.size)]  # new_k, not old_k
    captured = capsys.readouterr()
    # other modules may add their theory-only figures; the rf_risk ones are exactly:
    names = {p.name for p in out.iterdir() if p.name.startswith("rf_")}
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
