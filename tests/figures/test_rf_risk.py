"""The rf_risk risk-versus-n/k figures, drawn from small synthetic grids
(``_rf_risk_grid.py``). The fitting-ratio figure and the command lines that write
the figures are tested in ``test_rf_fitting_ratio.py``.

A synthetic grid has the layout of ``python -m sims.rf_risk --sweep``: theory values
from :func:`theory.rf_ridge.rf_ridge_risk` on the grid's own power-law spectrum, and
"simulation" values that are the theory times seeded log-normal noise over ``trial``.
Everything the figures draw is read back from the matplotlib artists and compared
with an independent computation.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from figures import _style
from figures import rf_risk
from tests._tolerances import F64_RTOL
from tests.figures._rf_risk_grid import ALPHA
from tests.figures._rf_risk_grid import BETA
from tests.figures._rf_risk_grid import MODES
from tests.figures._rf_risk_grid import NOISE
from tests.figures._rf_risk_grid import RIDGES
from tests.figures._rf_risk_grid import SWEEP
from tests.figures._rf_risk_grid import TEST_ATTRS
from tests.figures._rf_risk_grid import TRAIN_ATTRS
from tests.figures._rf_risk_grid import k_sweep as k_sweep  # the shared fixture
from tests.figures._rf_risk_grid import make_grid
from theory.rf_ridge import rf_ridge_risk


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
    radius_px = 0.5 * _style.TEST_MS * fig.dpi / 72
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


@pytest.mark.parametrize(("lo", "hi", "plain"), [(20, 230, True), (1e-3, 10, False)])
def test_saved_short_log_axes_have_plain_labels(tmp_path, lo, hi, plain):
    """Under two decades matplotlib labels minor ticks as 3x10^1, 4x10^1, ... and
    they overlap; saved figures label 1, 2, 3, 5 x 10^j as plain numbers instead."""
    fig = Figure()
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    _style.save(fig, tmp_path, "f")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()]
    labels += [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    if plain:
        assert {"20", "30", "50", "100", "200"} <= set(labels), labels
        assert not any("times" in t for t in labels), labels
    else:
        assert any("10^{" in t for t in labels), labels
