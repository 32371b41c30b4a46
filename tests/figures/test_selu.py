"""The selu figures, drawn from small synthetic grids and read back from the artists.

A synthetic grid has the saved layout of ``python -m sims.selu --sweep`` for its kind:
theory values from :mod:`theory.selu_moments` (or :func:`sims.selu.deep_theory`) and
"simulation" values that are the theory plus seeded noise over ``trial``/``seed``.
What the figures draw (markers, error bars, lines, arrows, heatmaps) is compared with
an independent computation from the grid or the theory.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import json

import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import LineCollection
from matplotlib.collections import QuadMesh
from matplotlib.quiver import Quiver

from figures import selu as fig_selu
from sims.selu import SeluDeepSweep
from sims.selu import deep_theory
from sims.selu.train import TRAIN
from theory.selu_moments import fixed_point
from theory.selu_moments import moment_map
from theory.selu_moments import theorem1_extremes

RNG_SEED = 0


def _attrs(long_name, symbol):
    return {
        "long_name": long_name,
        "units": "1",
        "math_symbol": symbol,
        "description": long_name,
    }


def make_layer(trials=6):
    rng = np.random.default_rng(RNG_SEED)
    coords = {
        "mu": [-1.0, 0.5],
        "nu": [0.5, 3.0],
        "omega": [0.1, 1.0],
        "tau": [1.0],
        "trial": list(range(trials)),
    }
    mu, nu, om, tau = np.meshgrid(
        *(coords[d] for d in ("mu", "nu", "omega", "tau")), indexing="ij"
    )
    out = moment_map(mu, nu, omega=om, tau=tau)
    dims4, dims5 = (
        ("mu", "nu", "omega", "tau"),
        (*("mu", "nu", "omega", "tau"), "trial"),
    )
    data = {}
    for name, sym in (("mu_tilde", r"\tilde\mu"), ("nu_tilde", r"\tilde\nu")):
        theory = getattr(out, name)
        noise = 0.01 * rng.standard_normal((*theory.shape, trials))
        data[name] = (dims5, theory[..., None] + noise, _attrs(f"output {name}", sym))
        data[f"{name}_theory"] = (dims4, theory, _attrs(f"{name}, theory", sym))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(experiment="layer", fan_in=64, units=16, samples=256, inputs="selu")
    return ds


def make_deep(trials=5):
    cfg = SeluDeepSweep(width=(32, 64), depth=6, trials=trials)
    th = deep_theory(cfg)
    rng = np.random.default_rng(RNG_SEED)
    shape = (len(cfg.activation), 3, 2, cfg.depth + 1, trials)
    dims = ("activation", "start", "width", "layer", "trial")
    noise = 1 + 0.02 * rng.standard_normal(shape)
    mean = th.mean_theory.values[:, :, None, :, None] + 0.01 * rng.standard_normal(
        shape
    )
    var = th.var_theory.values[:, :, None, :, None] * noise
    ds = xr.Dataset(
        {
            "mean": (dims, mean, _attrs("activation mean", r"\mu_l")),
            "var": (dims, var, _attrs("activation variance", r"\nu_l")),
        },
        coords={
            "activation": list(cfg.activation),
            "start": [0, 1, 2],
            "width": [32, 64],
            "layer": list(range(cfg.depth + 1)),
            "trial": list(range(trials)),
        },
    ).merge(th)
    ds = ds.assign_coords(
        start_mean=("start", list(cfg.start_mean)),
        start_var=("start", list(cfg.start_var)),
    )
    ds["layer"].attrs = _attrs("layer", "l")
    ds.attrs.update(experiment="deep", batch=64, keep_rate=0.9)
    return ds


def make_train(seeds=3):
    rng = np.random.default_rng(RNG_SEED)
    step = np.arange(0, 101, 10)
    acts, depths = ["selu", "relu_bn"], [4, 8]
    rate = np.array([0.03, 0.01])[:, None, None, None]
    loss = (
        2.3
        * np.exp(-rate * step)
        * np.exp(0.05 * rng.standard_normal((2, 2, seeds, step.size)))
    )
    loss[0, 1, 0, 5:] = np.nan  # one diverged run
    ds = xr.Dataset(
        {
            "train_loss": (
                ("activation", "depth", "seed", "step"),
                loss,
                _attrs("training loss", r"\mathcal{L}"),
            )
        },
        coords={
            "activation": acts,
            "depth": depths,
            "seed": list(range(seeds)),
            "step": step,
        },
    )
    ds["step"].attrs = _attrs("SGD step", "t")
    ds.attrs.update(experiment="train", width=32, lr=0.02, batch_size=128)
    return ds


def _line(fig, gid):
    lines = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(lines) == 1, gid
    return lines[0]


def _errors(fig, gid):
    cols = [
        c
        for ax in fig.axes
        for c in ax.collections
        if isinstance(c, LineCollection) and c.get_gid() == gid
    ]
    assert len(cols) == 1, gid
    segs = cols[0].get_segments()
    return np.array([abs(s[1][1] - s[0][1]) / 2 for s in segs])


# ======================================================================================


def test_deep_markers_are_mean_and_sem_and_lines_the_saved_theory():
    ds = make_deep()
    fig = fig_selu.plot_deep(ds)
    sub = ds.sel(width=64)  # the largest width by default
    for act in sub.activation.values:
        for s in range(3):
            for stat in ("mean", "var"):
                cell = sub[stat].sel(activation=act, start=s)
                line = _line(fig, f"sim:{stat}:{act}:{s}")
                np.testing.assert_allclose(line.get_ydata(), cell.mean("trial"))
                sem = cell.std("trial", ddof=1) / np.sqrt(cell.sizes["trial"])
                np.testing.assert_allclose(
                    _errors(fig, f"sim:{stat}:{act}:{s}"), sem, rtol=1e-9
                )
                theory = _line(fig, f"theory:{stat}:{act}:{s}")
                np.testing.assert_allclose(
                    theory.get_ydata(),
                    sub[f"{stat}_theory"].sel(activation=act, start=s),
                )
    var_axes = [ax for ax in fig.axes if ax.get_yscale() == "log"]
    assert len(var_axes) == sub.sizes["activation"]
    assert any("activation variance" in ax.get_ylabel() for ax in fig.axes)


def test_deep_markers_are_drawn_above_the_theory_lines():
    fig = fig_selu.plot_deep(make_deep())
    for ax in fig.axes:
        sims = [ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("sim:")]
        lines = [ln for ln in ax.get_lines() if ln not in sims]
        assert sims and lines
        assert min(ln.get_zorder() for ln in sims) > max(
            ln.get_zorder() for ln in lines
        )
        # hollow markers: a point on its theory curve does not cover the curve
        assert all(ln.get_markerfacecolor() != ln.get_color() for ln in sims)


def test_deep_width_selection():
    ds = make_deep()
    fig = fig_selu.plot_deep(ds, width=32)
    line = _line(fig, "sim:var:selu:1")
    np.testing.assert_allclose(
        line.get_ydata(),
        ds["var"].sel(activation="selu", start=1, width=32).mean("trial"),
    )
    with pytest.raises(ValueError, match="width=48"):
        fig_selu.plot_deep(ds, width=48)


def test_layer_figure_points_and_z_scores():
    ds = make_layer()
    fig = fig_selu.plot_layer_mc(ds)
    for name in ("mu_tilde", "nu_tilde"):
        line = _line(fig, f"sim:{name}")
        mean = ds[name].mean("trial")
        np.testing.assert_allclose(line.get_xdata(), np.ravel(ds[f"{name}_theory"]))
        np.testing.assert_allclose(line.get_ydata(), np.ravel(mean))
        sem = ds[name].std("trial", ddof=1) / np.sqrt(ds.sizes["trial"])
        z = _line(fig, f"z:{name}").get_ydata()
        np.testing.assert_allclose(z, np.ravel((mean - ds[f"{name}_theory"]) / sem))
    # The cells of a trial share its draws: the z panel must not read as
    # independent checks.
    assert "z correlated" in fig.axes[2].get_title(loc="left")


def test_training_mean_and_seed_lines():
    ds = make_train()
    fig = fig_selu.plot_training(ds)
    for act in ds.activation.values:
        for depth in ds.depth.values:
            loss = ds.train_loss.sel(activation=act, depth=depth)
            mean = _line(fig, f"mean:{act}:{depth}").get_ydata()
            np.testing.assert_allclose(mean, loss.mean("seed", skipna=True))
            for s in ds.seed.values:
                seed_line = _line(fig, f"seed:{act}:{depth}:{s}").get_ydata()
                np.testing.assert_array_equal(seed_line, loss.sel(seed=s))
    assert all(ax.get_yscale() == "log" for ax in fig.axes)


@pytest.fixture(scope="module")
def saved_train_grid(tmp_path_factory):
    """A smoke ``train`` grid written by the sim, with a learning rate and step
    count the presets do not use, so that the figure must read them from the grid."""
    config = TRAIN.presets["smoke"].replace(steps=20, lr=0.037)
    _, path = TRAIN.run(
        config, out=tmp_path_factory.mktemp("selu") / "train.nc", workers=1
    )
    return fig_selu.load_grid(path)


def test_training_figure_states_the_digits_setup_of_the_saved_grid(saved_train_grid):
    ds = saved_train_grid
    config = json.loads(ds.attrs["config_json"])
    fig = fig_selu.plot_training(ds)
    title = fig.get_suptitle()
    texts = " ".join(
        [title]
        + [ax.get_title(loc="left") for ax in fig.axes]
        + [ax.get_xlabel() for ax in fig.axes]
    )
    assert "digits" in title
    assert f"lr {config['lr']:g}" in title
    assert f"{config['steps']} plain-SGD steps" in title
    assert f"width {config['width']}" in title
    for ax, depth in zip(fig.axes, config["depth"], strict=True):
        assert f"{depth} hidden layers x {config['width']}" in ax.get_title(loc="left")
        assert f"lr {config['lr']:g}" in ax.get_xlabel()
    assert "digits" in texts


def test_training_setup_without_config_json_falls_back_to_attrs_and_coords():
    ds = make_train()  # written by hand: no config_json
    title = fig_selu.plot_training(ds).get_suptitle()
    assert f"{int(ds.step.max())} plain-SGD steps" in title
    assert f"lr {ds.attrs['lr']:g}" in title
    assert "depths 4, 8" in title
    with pytest.raises(fig_selu.GridError, match="config_json"):
        fig_selu.plot_training(ds.assign_attrs(config_json="{not json"))


def test_vector_field_arrows_are_the_map_and_star_the_fixed_point():
    settings = ((0.0, 1.0), (0.1, 1.1))
    fig = fig_selu.plot_vector_field(settings, points=(5, 4))
    quivers = [c for ax in fig.axes for c in ax.collections if isinstance(c, Quiver)]
    assert len(quivers) == 2
    for q, (omega, tau) in zip(quivers, settings, strict=True):
        assert q.get_gid() == f"field:{omega!r},{tau!r}"
        mu, nu = q.X, q.Y
        out = moment_map(mu, nu, omega=omega, tau=tau)
        np.testing.assert_allclose(q.U, out.mu_tilde - mu)
        np.testing.assert_allclose(q.V, out.nu_tilde - nu)
        star = _line(fig, f"fixed:{omega!r},{tau!r}")
        fp = fixed_point(omega=omega, tau=tau)
        np.testing.assert_allclose(star.get_xydata()[0], [fp.mu, fp.nu])


def test_spectral_norm_heatmap_maximum_is_theorem1():
    fig = fig_selu.plot_spectral_norm(points=11, inner=3)
    meshes = {
        c.get_gid(): c
        for ax in fig.axes
        for c in ax.collections
        if isinstance(c, QuadMesh) and c.get_gid()  # not the colour bar's
    }
    assert set(meshes) == {"heatmap:mu_nu", "heatmap:omega_tau"}
    top = theorem1_extremes(points=(3, 3, 3, 3)).spectral_norm_max.value
    for mesh in meshes.values():
        values = np.asarray(mesh.get_array())
        assert values.max() == pytest.approx(top, rel=1e-12)
        assert values.max() < 1


def test_check_grid_names_the_problem():
    ds = make_layer()
    assert fig_selu.check_grid(ds) == "layer"
    with pytest.raises(fig_selu.GridError, match="not a selu grid"):
        fig_selu.check_grid(ds.assign_attrs(experiment="rf"))
    with pytest.raises(fig_selu.GridError, match="lacks variables"):
        fig_selu.check_grid(ds.drop_vars("nu_tilde_theory"))
    with pytest.raises(fig_selu.GridError, match="lacks dims"):
        fig_selu.check_grid(make_deep().isel(trial=0, drop=True))


@pytest.mark.slow  # renders ten PNG/PDF files (~5 s)
def test_main_writes_png_and_pdf_for_every_kind(tmp_path, capsys):
    paths = []
    for name, ds in (("l", make_layer()), ("d", make_deep()), ("t", make_train())):
        path = tmp_path / f"{name}.nc"
        ds.to_netcdf(path, engine="h5netcdf")
        paths.append(str(path))
    out = tmp_path / "out"
    assert fig_selu.main([*paths, "--out", str(out)]) == 0
    stems = {
        "selu_vector_field",
        "selu_spectral_norm",
        "selu_layer_mc",
        "selu_deep",
        "selu_training",
    }
    written = {p.name for p in out.iterdir()}
    assert written == {f"{s}.{ext}" for s in stems for ext in ("png", "pdf")}
    assert len(capsys.readouterr().out.splitlines()) == 10


@pytest.mark.parametrize("case", ["missing", "garbage", "foreign"])
def test_main_exits_2_with_one_line(tmp_path, capsys, case):
    path = tmp_path / "grid.nc"
    if case == "garbage":
        path.write_text("not netcdf")
    elif case == "foreign":
        xr.Dataset({"x": ("a", [1.0])}).to_netcdf(path, engine="h5netcdf")
    assert fig_selu.main([str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err
    assert err.startswith("python -m figures.selu: error: ")
    if case == "garbage":  # the reason, not a truncated list of xarray engines
        assert "signature not found" in err and not err.endswith(":)")
