"""The ifm figures, drawn from smoke grids saved by the sims and read back from disk.

The grids are written once per module by the ``sims.ifm`` experiments at (reduced)
smoke presets, then opened with :func:`figures.ifm.load_grid`; the figures only read
them. What the figures draw is read back from the matplotlib artists and compared
with numpy means of the grid.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import xarray as xr

from figures import ifm
from sims.ifm.complexity import EXPERIMENT as COMPLEXITY
from sims.ifm.merge import EXPERIMENT as MERGE
from tests._tolerances import F64_RTOL
from tests.figures._artists import line_by_gid


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    out = tmp_path_factory.mktemp("ifm_grids")
    merge = MERGE.presets["smoke"].replace(arch=("mlp2",), steps=20)
    comp = COMPLEXITY.presets["smoke"].replace(width=(8,), checkpoints=(0, 10))
    _, p1 = MERGE.run(merge, out=out / "merge.nc", workers=1)
    _, p2 = COMPLEXITY.run(comp, out=out / "complexity.nc", workers=1)
    return p1, p2


@pytest.fixture(scope="module")
def grids(paths):
    return [ifm.load_grid(p) for p in paths]


def test_check_grid_kinds(grids):
    assert [ifm.check_grid(g) for g in grids] == ["merge", "complexity"]


def test_accuracy_vs_params_draws_trial_means(grids):
    ds = grids[0]
    fig = ifm.plot_accuracy_vs_params(ds)
    for w in ds["width"].values:
        for mode in ds["mode"].values:
            line = line_by_gid(fig, f"acc:mlp2:{int(w)}:{mode}")
            cell = ds.sel(arch="mlp2", width=w, mode=mode)
            x = cell["param_ratio"].mean("trial").values
            y = cell["acc_after"].mean("trial").values
            np.testing.assert_allclose(line.get_xdata(), x, rtol=F64_RTOL)
            np.testing.assert_allclose(line.get_ydata(), y, rtol=F64_RTOL)


def test_layer_and_width_complexity(grids):
    ds = grids[0]
    w = int(ds["width"].max())
    fig = ifm.plot_layer_complexity(ds)
    beta = float(ds["beta"].values[-1])
    line = line_by_gid(fig, f"layers:mlp2:exact:{beta!r}")
    want = ds["width_after"].sel(arch="mlp2", width=w, mode="exact", beta=beta)
    np.testing.assert_allclose(line.get_ydata(), want.mean("trial").values)
    fig = ifm.plot_complexity_vs_width(ds)
    line = line_by_gid(fig, f"width:mlp2:{beta!r}")
    want = ds["width_after"].sel(arch="mlp2", mode="exact", beta=beta)
    np.testing.assert_allclose(
        line.get_ydata(), want.mean(("layer", "trial")).values, rtol=F64_RTOL
    )
    np.testing.assert_array_equal(line_by_gid(fig, "identity").get_ydata(), ds["width"])


@pytest.mark.parametrize(
    "plot",
    ["plot_layer_complexity", "plot_complexity_vs_width", "plot_complexity_training"],
)
def test_legends_sit_outside_the_panels(grids, plot):
    """An axes legend covered lines of the last panel; the legend is the figure's,
    and names the no-merge line."""
    fig = getattr(ifm, plot)(
        grids[1] if plot == "plot_complexity_training" else grids[0]
    )
    assert fig.legends and not any(ax.get_legend() for ax in fig.axes)
    if plot == "plot_complexity_vs_width":
        texts = [t.get_text() for t in fig.legends[0].get_texts()]
        assert any("no merge" in t for t in texts)


def test_deviation_below_bound_line(grids):
    ds = grids[0]
    fig = ifm.plot_deviation_vs_bound(ds)
    pts = [
        c for ax in fig.axes for c in ax.collections if c.get_gid() == "points:exact"
    ]
    xy = pts[0].get_offsets()
    assert len(xy) == int((ds["error_bound"].sel(mode="exact") > 0).sum())
    assert bool((xy[:, 1] <= xy[:, 0] * (1 + 1e-9) + 1e-10).all())


def test_deviation_figure_says_what_its_log_axes_leave_out(grids):
    """Runs with bound 0 (nothing merged at β = 0) cannot sit on a log x axis: a note
    counts them; a deviation of exactly 0 is a ▼ on the lower edge, not 1e-16."""
    ds = grids[0].copy(deep=True)
    bound = ds["error_bound"].sel(mode="exact")
    first = np.argwhere((bound > 0).values)[0]  # a run with a positive bound
    cell = {d: ds[d].values[i] for d, i in zip(bound.dims, first, strict=True)}
    ds["max_deviation"].loc[{**cell, "mode": "exact"}] = 0.0
    fig = ifm.plot_deviation_vs_bound(ds)
    ax = fig.axes[0]
    (zeros,) = [ln for ln in ax.get_lines() if ln.get_gid() == "zeros:exact"]
    want_x = float(ds["error_bound"].sel({**cell, "mode": "exact"}))
    assert list(zeros.get_xdata()) == [want_x]
    assert list(zeros.get_ydata()) == [0.0]  # axes coordinates: the lower edge
    (points,) = [c for c in ax.collections if c.get_gid() == "points:exact"]
    positive = (bound > 0) & (ds["max_deviation"].sel(mode="exact") > 0)
    assert len(points.get_offsets()) == int(positive.sum())
    assert ax.get_ylim()[0] > 1e-3  # the zero no longer drags the axis to 1e-16
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "output change exactly 0 (1), on the axis edge" in legend
    (note,) = [
        t
        for t in fig.findobj()
        if getattr(t, "get_gid", None) and t.get_gid() == "dropped"
    ]
    dropped = int((ds["error_bound"] == 0).sum())
    assert dropped > 0  # beta = 0 merges nothing: bound 0
    assert f"{dropped} runs with bound 0" in note.get_text()


def test_accuracy_legend_names_the_dotted_before_merging_lines(grids):
    fig = ifm.plot_accuracy_vs_params(grids[0])
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    handles = legend.legend_handles
    (i,) = [j for j, t in enumerate(texts) if t.startswith("before merging")]
    assert handles[i].get_linestyle() == ":"
    w = int(grids[0]["width"].values[0])
    assert line_by_gid(fig, f"before:mlp2:{w}").get_linestyle() == ":"


def test_complexity_training_shows_replicated_prediction(grids):
    ds = grids[1]
    fig = ifm.plot_complexity_training(ds)
    for c in ds["copies"].values:
        theory = line_by_gid(fig, f"theory:{int(c)}").get_ydata()
        drawn = line_by_gid(fig, f"distinct:{int(c)}").get_ydata()
        np.testing.assert_array_equal(theory, 8 / int(c))
        want = ds["distinct"].sel(arch="mlp2", width=8, copies=c, layer=0)
        np.testing.assert_allclose(drawn, want.mean("trial").values)


def test_write_figures_and_main(grids, paths, tmp_path, capsys):
    # the merge grid through write_figures (the complexity figure through main, below:
    # every savefig costs seconds on a loaded machine)
    written = ifm.write_figures(grids[:1], tmp_path / "a")
    stems = sorted({p.stem for p in written})
    assert stems == [
        "ifm_accuracy_vs_params",
        "ifm_complexity_vs_width",
        "ifm_deviation_vs_bound",
        "ifm_layer_complexity",
    ]
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)
    # the CLI on the complexity grid alone: one figure, PNG and PDF
    assert ifm.main([str(paths[1]), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out.split()
    assert [p.rsplit("/", 1)[-1] for p in out] == [
        "ifm_complexity_training.png",
        "ifm_complexity_training.pdf",
    ]


def test_bad_grid_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.nc"
    xr.Dataset({"x": ("a", [1.0])}).to_netcdf(bad)
    with pytest.raises(ifm.GridError, match="not an ifm grid"):
        ifm.load_grid(bad)
    assert ifm.main([str(bad)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
