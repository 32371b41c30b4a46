r"""Figures of self-normalizing networks (Klambauer et al. 2017, arXiv:1706.02515).

``python -m figures.selu GRID.nc [GRID.nc ...] [--out figures/out]`` reads grids saved
by ``python -m sims.selu --sweep --experiment layer|deep|train`` (the kind is the
grid's ``experiment`` attr) and writes, as PNG and PDF:

- ``selu_vector_field`` (theory only): the moment map
  :math:`g: (\mu, \nu) \mapsto (\tilde\mu, \tilde\nu)` as arrows from each point to
  its image, at (ω, τ) = (0, 1) and (0.1, 1.1), with the fixed point, the Theorem-1
  box and the map's iterates from a few starts (the paper's Fig. 2 style);
- ``selu_spectral_norm`` (theory only): the spectral norm of the Jacobian over Ω as
  heatmaps, maximized over (ω, τ) per (μ, ν) and over (μ, ν) per (ω, τ);
- ``selu_layer_mc`` (``layer`` grid): Monte Carlo against the moment map, one marker
  per cell, and the z-scores (sim − theory)/SEM;
- ``selu_deep`` (``deep`` grid): per-layer mean and variance of the activations
  against depth, every start, one column per activation (SELU converges to (0, 1);
  ReLU and tanh without normalization do not), sim markers (mean ± SEM over trials)
  and theory lines (the population-map iterate; dotted: the paper's map at ω = 0);
- ``selu_training`` (``train`` grid): full-data training loss against SGD steps,
  SELU vs ReLU + BatchNorm, one panel per depth (mean over seeds, thin lines per seed);
  a small stand-in for the paper's Fig. 1 on scikit-learn's digits, whose steps,
  learning rate, width and depths (from the grid's ``config_json``) the figure states.

Simulation is drawn as markers with error bars or as thin per-seed lines; theory as
lines, computed from :mod:`theory.selu_moments` where it is not saved. The plotting
functions are pure: they return a :class:`matplotlib.figure.Figure` and write nothing.
Every data artist carries a ``gid`` naming what it shows.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from figures import _style
from figures._grid import GridError
from figures._grid import check_kind
from figures._grid import figure_main
from figures._grid import open_grid
from figures._selu_training import _pack
from figures._selu_training import _training_setup
from theory.selu_moments import OMEGA
from theory.selu_moments import fixed_point
from theory.selu_moments import iterate_map
from theory.selu_moments import moment_jacobian
from theory.selu_moments import moment_map

__all__ = [
    "KINDS",
    "GridError",
    "check_grid",
    "load_grid",
    "main",
    "plot_deep",
    "plot_layer_mc",
    "plot_spectral_norm",
    "plot_training",
    "plot_vector_field",
    "write_figures",
]

#: Experiment kind -> (dims, variables) a grid of that kind must have.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "layer": (
        ("mu", "nu", "omega", "tau", "trial"),
        ("mu_tilde", "nu_tilde", "mu_tilde_theory", "nu_tilde_theory"),
    ),
    "deep": (
        ("activation", "start", "width", "layer", "trial"),
        ("mean", "var", "mean_theory", "var_theory"),
    ),
    "train": (("activation", "depth", "seed", "step"), ("train_loss",)),
}
_ACTIVATION_NAMES = {
    "selu": "SELU",
    "selu_dropout": "SELU + alpha-dropout",
    "relu": "ReLU",
    "tanh": "tanh",
    "relu_bn": "ReLU + BatchNorm",
}
_TRAIN_COLOURS = {"selu": "C3", "relu_bn": "C0"}
_Z = 4.0  # the tests' z; drawn as the acceptance band of the z-score panel
# Simulated markers are drawn above the theory lines so that none hides under one.
_THEORY_ZORDER, _SIM_ZORDER = 2.0, 3.0


def check_grid(ds: xr.Dataset, source: str = "grid") -> str:
    """Return the grid's kind, or raise :class:`GridError` naming what is missing."""
    kind = ds.attrs.get("experiment")
    if kind not in KINDS:
        raise GridError(
            f"{source}: not a selu grid (attr experiment={kind!r}, expected one of "
            f"{sorted(KINDS)})"
        )
    check_kind(ds, kind, *KINDS[kind], source)
    return kind


def load_grid(path: str | Path) -> xr.Dataset:
    """Open a saved selu grid and check it (:class:`GridError` if it is not one)."""
    return open_grid(path, check_grid, module="sims.selu")


# ======================================================================================
# Theory-only figures
# ======================================================================================


def plot_vector_field(
    settings: Sequence[tuple[float, float]] = ((0.0, 1.0), (0.1, 1.1)),
    *,
    mu_range: tuple[float, float] = (-0.4, 0.4),
    nu_range: tuple[float, float] = (0.2, 2.6),
    points: tuple[int, int] = (13, 13),
    arrow_scale: float = 0.5,
) -> Figure:
    r"""The map g as arrows :math:`(\mu,\nu) \to (\tilde\mu, \tilde\nu)`, per (ω, τ).

    Each arrow starts at a grid point and points to its image, drawn at
    ``arrow_scale`` times the step (to keep the field legible); the colour is the
    full step length. The star is the fixed point (:func:`fixed_point`), the dashed
    box the Theorem-1 (μ, ν) domain, the thin lines iterates of g from the corners
    of the panel. Gids: ``field:<omega>,<tau>``, ``fixed:<omega>,<tau>``.
    """
    mu = np.linspace(*mu_range, points[0])
    nu = np.linspace(*nu_range, points[1])
    M, N = np.meshgrid(mu, nu, indexing="xy")
    with _style.style():
        fig = Figure(figsize=(3.3 * len(settings) + 0.6, 3.2), layout="constrained")
        axes = fig.subplots(1, len(settings), squeeze=False, sharey=True)[0]
        steps = []
        images = []
        for omega, tau in settings:
            out = moment_map(M, N, omega=omega, tau=tau)
            images.append(out)
            steps.append(np.hypot(out.mu_tilde - M, out.nu_tilde - N))
        norm = Normalize(0.0, max(float(s.max()) for s in steps))
        for ax, (omega, tau), out, step in zip(
            axes, settings, images, steps, strict=True
        ):
            key = f"{omega!r},{tau!r}"
            q = ax.quiver(
                M,
                N,
                out.mu_tilde - M,
                out.nu_tilde - N,
                step,
                cmap="viridis",
                norm=norm,
                angles="xy",
                scale_units="xy",
                scale=1.0 / arrow_scale,
                width=0.005,
                gid=f"field:{key}",
            )
            box = Rectangle(
                (OMEGA.mu[0], OMEGA.nu[0]),
                OMEGA.mu[1] - OMEGA.mu[0],
                OMEGA.nu[1] - OMEGA.nu[0],
                fill=False,
                ls="--",
                lw=0.9,
                ec="0.35",
            )
            ax.add_patch(box)
            for mu0, nu0 in [
                (mu_range[0], nu_range[0]),
                (mu_range[1], nu_range[1]),
                (mu_range[0], nu_range[1]),
                (mu_range[1], nu_range[0]),
            ]:
                traj = iterate_map(mu0, nu0, steps=30, omega=omega, tau=tau)
                ax.plot(traj.mu_tilde, traj.nu_tilde, color="0.5", lw=0.7, zorder=1)
            fp = fixed_point(omega=omega, tau=tau)
            ax.plot(
                float(fp.mu),
                float(fp.nu),
                marker="*",
                ms=11,
                color="C3",
                mec="k",
                mew=0.5,
                ls="none",
                gid=f"fixed:{key}",
                zorder=3,
            )
            ax.set_title(
                f"$\\omega = {omega:g}$, $\\tau = {tau:g}$: fixed point "
                f"$({float(fp.mu):.3f}, {float(fp.nu):.3f})$",
                loc="left",
            )
            ax.set_xlim(mu_range[0] - 0.05, mu_range[1] + 0.05)
            ax.set_ylim(max(nu_range[0] - 0.15, 0.0), nu_range[1] + 0.15)
            ax.set_xlabel(r"input mean $\mu$")
        axes[0].set_ylabel(r"input variance $\nu$")
        bar = fig.colorbar(q, ax=axes.tolist(), pad=0.01, shrink=0.9)
        bar.set_label(
            r"step $\|g(\mu,\nu) - (\mu,\nu)\|$" + f" (arrows x{arrow_scale:g})"
        )
        fig.legend(
            [
                Line2D([], [], marker="*", color="C3", mec="k", ls="none", ms=9),
                Line2D([], [], ls="--", color="0.35"),
                Line2D([], [], color="0.5", lw=0.7),
            ],
            [
                "fixed point",
                r"Theorem 1 box $\Omega$",
                "iterates of $g$ from the corners",
            ],
            loc="outside lower center",
            ncols=3,
        )
    return fig


def plot_spectral_norm(*, points: int = 41, inner: int = 9) -> Figure:
    r"""Spectral norm of the Jacobian of g over Ω, as two heatmaps.

    Left: over (μ, ν) on a ``points`` x ``points`` grid of Ω's (μ, ν) box, the
    maximum over an ``inner`` x ``inner`` grid of (ω, τ). Right: the same with the
    roles swapped. The star marks the overall maximum (Theorem 1 needs it < 1).
    Gids: ``heatmap:mu_nu``, ``heatmap:omega_tau``, ``max``.
    """
    mu = np.linspace(*OMEGA.mu, points)
    nu = np.linspace(*OMEGA.nu, points)
    omega = np.linspace(*OMEGA.omega, inner)
    tau = np.linspace(*OMEGA.tau, inner)
    m, o, n, t = np.meshgrid(mu, omega, nu, tau, indexing="ij")
    norm_mu_nu = moment_jacobian(m, n, omega=o, tau=t).spectral_norm.max(axis=(1, 3))
    m, o, n, t = np.meshgrid(
        np.linspace(*OMEGA.mu, inner),
        np.linspace(*OMEGA.omega, points),
        np.linspace(*OMEGA.nu, inner),
        np.linspace(*OMEGA.tau, points),
        indexing="ij",
    )
    norm_om_tau = moment_jacobian(m, n, omega=o, tau=t).spectral_norm.max(axis=(0, 2))
    top = max(float(norm_mu_nu.max()), float(norm_om_tau.max()))
    colour = Normalize(min(float(norm_mu_nu.min()), float(norm_om_tau.min())), top)
    with _style.style():
        fig = Figure(figsize=(7.0, 3.0), layout="constrained")
        left, right = fig.subplots(1, 2)
        im = left.pcolormesh(
            mu, nu, norm_mu_nu.T, norm=colour, cmap="magma", gid="heatmap:mu_nu"
        )
        right.pcolormesh(
            omega_grid := np.linspace(*OMEGA.omega, points),
            np.linspace(*OMEGA.tau, points),
            norm_om_tau.T,
            norm=colour,
            cmap="magma",
            gid="heatmap:omega_tau",
        )
        i, j = np.unravel_index(int(norm_mu_nu.argmax()), norm_mu_nu.shape)
        left.plot(mu[i], nu[j], "w*", ms=10, mec="k", mew=0.5, gid="max")
        k, ll = np.unravel_index(int(norm_om_tau.argmax()), norm_om_tau.shape)
        right.plot(
            omega_grid[k], np.linspace(*OMEGA.tau, points)[ll], "w*", ms=10, mec="k"
        )
        left.set_xlabel(r"input mean $\mu$")
        left.set_ylabel(r"input variance $\nu$")
        left.set_title(r"max over $(\omega, \tau) \in \Omega$", loc="left")
        right.set_xlabel(r"weight sum $\omega$")
        right.set_ylabel(r"weight square sum $\tau$")
        right.set_title(r"max over $(\mu, \nu) \in \Omega$", loc="left")
        bar = fig.colorbar(im, ax=[left, right], pad=0.01)
        bar.set_label(r"spectral norm $\|\mathcal{J}\|_2$")
        bar.ax.axhline(top, color="w", lw=1.0)
        fig.suptitle(
            f"Jacobian of the SELU moment map on $\\Omega$: max {top:.7f} < 1",
            x=0.02,
            ha="left",
            fontsize=9,
        )
    return fig


# ======================================================================================
# Grid figures
# ======================================================================================


def plot_layer_mc(ds: xr.Dataset) -> Figure:
    r"""One SELU layer: Monte Carlo vs the moment map, and the z-scores.

    Left and middle: simulated :math:`\tilde\mu` and :math:`\tilde\nu` (mean ± SEM
    over trials) against the closed form, one marker per (μ, ν, ω, τ) cell, on the
    identity line. Right: z = (sim − theory)/SEM per cell and quantity, with the
    ±4 band. Gids: ``sim:<name>``, ``z:<name>``.
    """
    check_grid(ds)
    with _style.style():
        fig = Figure(figsize=(9.0, 3.0), layout="constrained")
        axes = fig.subplots(1, 3)
        for ax, name, colour in zip(
            axes[:2], ("mu_tilde", "nu_tilde"), ("C0", "C1"), strict=True
        ):
            mean, sem = _style.mean_sem(ds[name])
            theory = ds[f"{name}_theory"]
            x, y, e = (np.ravel(a.values) for a in xr.broadcast(theory, mean, sem))
            ax.errorbar(x, y, yerr=e, fmt="o", ms=3, color=colour, gid=f"sim:{name}")
            lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
            ax.plot([lo, hi], [lo, hi], color="0.3", lw=0.8, zorder=0)
            if name == "nu_tilde":
                ax.set_xscale("log")
                ax.set_yscale("log")
            ax.set_xlabel(_style.label(theory))
            ax.set_ylabel(f"{_style.label(ds[name])}, Monte Carlo")
        for k, (name, colour) in enumerate((("mu_tilde", "C0"), ("nu_tilde", "C1"))):
            mean, sem = _style.mean_sem(ds[name])
            z = np.ravel(((mean - ds[f"{name}_theory"]) / sem).values)
            jitter = np.linspace(-0.25, 0.25, z.size)
            axes[2].plot(
                k + jitter,
                z,
                "o",
                ms=2.5,
                color=colour,
                alpha=0.7,
                gid=f"z:{name}",
            )
        axes[2].axhspan(-_Z, _Z, color="0.92", zorder=0)
        axes[2].axhline(0, color="0.3", lw=0.8)
        axes[2].set_xticks(
            [0, 1], [_style.symbol(ds.mu_tilde), _style.symbol(ds.nu_tilde)]
        )
        axes[2].set_ylabel("(sim − theory) / SEM")
        # Every cell of a trial uses that trial's draws (common random numbers), so
        # the cells' z are correlated: not independent checks.
        axes[2].set_title(
            f"{z.size} cells each, sharing each trial's draws\n(z correlated); "
            f"band ±{_Z:g}",
            loc="left",
        )
        trials = ds.sizes["trial"]
        fig.suptitle(
            f"One SELU layer, fan-in {ds.attrs.get('fan_in', '?')}, "
            f"{ds.attrs.get('inputs', '?')} inputs, {trials} trials x "
            f"{ds.attrs.get('units', '?')} units x {ds.attrs.get('samples', '?')} "
            "samples",
            x=0.02,
            ha="left",
            fontsize=9,
        )
    return fig


def plot_deep(ds: xr.Dataset, *, width: int | None = None) -> Figure:
    r"""Per-layer mean and variance of deep nets: simulation vs theory iterates.

    One column per activation, rows mean and variance (log scale), one colour per
    start (μ₀, ν₀). Markers: mean ± SEM over trials at ``width`` (default: the
    largest saved). Solid lines: the saved population-map iterate
    (``mean_theory``, ``var_theory``); dotted: the paper's map at ω = 0, τ = 1
    (``*_g_iterate``), drawn for SELU only. The markers are hollow and drawn above
    the lines, so a point lying on its theory curve stays visible. Gids:
    ``sim:<stat>:<activation>:<start>``, ``theory:<stat>:<activation>:<start>``.
    """
    check_grid(ds)
    widths = ds["width"].values
    width = int(widths.max()) if width is None else int(width)
    if width not in widths:
        raise ValueError(f"width={width} is not a saved width; saved: {widths}")
    sub = ds.sel(width=width)
    acts = [str(a) for a in sub["activation"].values]
    layer = sub["layer"].values
    colours = [mpl.colormaps["tab10"](i) for i in range(sub.sizes["start"])]
    with _style.style():
        fig = Figure(figsize=(2.5 * len(acts) + 0.8, 4.6), layout="constrained")
        axes = fig.subplots(2, len(acts), squeeze=False, sharex=True)
        for col, act in enumerate(acts):
            for row, stat in enumerate(("mean", "var")):
                ax = axes[row, col]
                for s, colour in zip(range(sub.sizes["start"]), colours, strict=True):
                    cell = sub.sel(activation=act, start=s)
                    _style.mean_sem_bars(
                        ax,
                        layer,
                        cell[stat],
                        gid=f"sim:{stat}:{act}:{s}",
                        fmt="o",
                        ms=3.6,
                        mfc="white",
                        mew=1.0,
                        elinewidth=0.8,
                        color=colour,
                        zorder=_SIM_ZORDER,
                    )
                    ax.plot(
                        layer,
                        cell[f"{stat}_theory"].values,
                        color=colour,
                        lw=1.0,
                        zorder=_THEORY_ZORDER,
                        gid=f"theory:{stat}:{act}:{s}",
                    )
                    g_name = f"{stat}_g_iterate"
                    if act == "selu" and g_name in cell:
                        ax.plot(
                            layer,
                            cell[g_name].values,
                            color=colour,
                            ls=":",
                            lw=1,
                            zorder=_THEORY_ZORDER,
                        )
                if stat == "var":
                    ax.set_yscale("log")
                    ax.axhline(1.0, color="0.6", lw=0.7, zorder=0)
                    _style.plain_log_ticks(ax.yaxis)
                else:
                    ax.axhline(0.0, color="0.6", lw=0.7, zorder=0)
                if row == 0:
                    ax.set_title(_ACTIVATION_NAMES.get(act, act))
                if row == 1:
                    ax.set_xlabel(_style.label(sub["layer"]))
                    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes[0, 0].set_ylabel(_style.label(sub["mean"]))
            axes[1, 0].set_ylabel(_style.label(sub["var"]))
        starts = [
            f"$(\\mu_0, \\nu_0) = ({float(a):g}, {float(b):g})$"
            for a, b in zip(
                sub["start_mean"].values, sub["start_var"].values, strict=True
            )
        ]
        handles = [
            Line2D([], [], marker="o", ls="-", color=c, ms=3.6, mfc="white")
            for c in colours
        ]
        handles += [
            Line2D([], [], marker="o", ls="none", color="0.3", ms=3.6, mfc="white"),
            Line2D([], [], ls="-", color="0.3"),
            Line2D([], [], ls=":", color="0.3"),
        ]
        labels = [
            *starts,
            f"sim. (mean ± SEM, {sub.sizes['trial']} trials)",
            "population-map iterate",
            r"map $g$ at $\omega=0,\tau=1$",
        ]
        fig.legend(handles, labels, loc="outside lower center", ncols=3)
        fig.suptitle(
            f"LeCun-normal nets, width {width}, batch {ds.attrs.get('batch', '?')}"
            + (
                f", alpha-dropout keep rate {ds.attrs['keep_rate']:g}"
                if "selu_dropout" in acts and "keep_rate" in ds.attrs
                else ""
            ),
            x=0.02,
            ha="left",
            fontsize=9,
        )
    return fig


def plot_training(ds: xr.Dataset) -> Figure:
    r"""Training loss against SGD steps, SELU vs ReLU + BatchNorm, one panel per depth.

    This is our small stand-in for the paper's Fig. 1, not its setup: scikit-learn's
    digits (1797 x 64, standardized), the steps, learning rate, batch size, width
    and depths of the grid's config (``_training_setup``), which the title, the
    panel titles and the step axis state. Thick line: mean over seeds; thin lines:
    each seed (NaN where a run diverged). Log-scaled loss. Gids:
    ``mean:<activation>:<depth>``, ``seed:<activation>:<depth>:<seed>``.
    """
    check_grid(ds)
    setup = _training_setup(ds)
    lr, width = setup["lr"], setup["width"]
    depths = [int(d) for d in ds["depth"].values]
    step = ds["step"].values
    with _style.style():
        fig = Figure(figsize=(2.7 * len(depths) + 0.6, 3.2), layout="constrained")
        axes = fig.subplots(1, len(depths), squeeze=False, sharey=True)[0]
        for ax, depth in zip(axes, depths, strict=True):
            for act in [str(a) for a in ds["activation"].values]:
                colour = _TRAIN_COLOURS.get(act, "0.3")
                loss = ds["train_loss"].sel(activation=act, depth=depth)
                for s in loss["seed"].values:
                    ax.plot(
                        step,
                        loss.sel(seed=s).values,
                        color=colour,
                        lw=0.5,
                        alpha=0.45,
                        gid=f"seed:{act}:{depth}:{int(s)}",
                    )
                ax.plot(
                    step,
                    loss.mean("seed", skipna=True).values,
                    color=colour,
                    lw=1.6,
                    label=_ACTIVATION_NAMES.get(act, act),
                    gid=f"mean:{act}:{depth}",
                )
            ax.set_yscale("log")
            _style.plain_log_ticks(ax.yaxis, max_decades=1.0)
            ax.set_title(f"digits: {depth} hidden layers x {width}", loc="left")
            ax.set_xlabel(f"{_style.label(ds['step'])} (plain SGD, lr {lr})")
        axes[0].set_ylabel(_style.label(ds["train_loss"]))
        axes[0].legend(loc="lower left")
        pieces = [
            "Not the paper's Fig. 1 setup: scikit-learn digits",
            "1797 x 64 standardized",
            f"{setup['steps']} plain-SGD steps",
            f"lr {lr}",
            f"batch {setup['batch_size']}",
            f"width {width}",
            ("depths " if "," in setup["depth"] else "depth ") + setup["depth"],
            f"{ds.sizes['seed']} seeds",
        ]
        fig.suptitle(
            _pack(pieces, chars=int(15 * fig.get_figwidth())),
            x=0.02,
            ha="left",
            fontsize=9,
        )
    return fig


# ======================================================================================
# Writing
# ======================================================================================

_GRID_FIGURES = {
    "layer": (plot_layer_mc, "selu_layer_mc"),
    "deep": (plot_deep, "selu_deep"),
    "train": (plot_training, "selu_training"),
}


def write_figures(grids: Sequence[xr.Dataset], out_dir: str | Path) -> list[Path]:
    """Draw and save every selu figure; returns the written paths.

    The two theory-only figures are always drawn. ``grids`` are checked selu grids,
    newest first; each grid figure comes from the first grid of its kind.
    """
    written: list[Path] = []
    written += _style.save(plot_vector_field(), out_dir, "selu_vector_field")
    written += _style.save(plot_spectral_norm(), out_dir, "selu_spectral_norm")
    done = set()
    for ds in grids:
        kind = check_grid(ds)
        if kind in done:
            continue
        done.add(kind)
        plot, stem = _GRID_FIGURES[kind]
        written += _style.save(plot(ds), out_dir, stem)
    return written


main = figure_main(name="selu", what="selu", load=load_grid, write=write_figures)


if __name__ == "__main__":
    sys.exit(main())
