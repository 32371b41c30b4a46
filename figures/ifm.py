r"""Figures of Iterative Feature Merging and feature complexity (arXiv:2310.06756).

``python -m figures.ifm GRID.nc [GRID.nc ...] [--out figures/out]`` reads grids saved
by ``python -m sims.ifm --sweep --experiment {merge,complexity}`` and writes, as PNG
and PDF:

- ``ifm_accuracy_vs_params`` (merge grid): test accuracy after merging (no
  fine-tuning) against the fraction of parameters kept as :math:`\beta` varies, one
  panel per width, one line per (architecture, mode), the unmerged accuracy dotted
  (the paper's accuracy-vs-parameter-ratio curves);
- ``ifm_layer_complexity`` (merge grid): complexity (units kept) per hidden layer at
  each :math:`\beta`, largest width, one panel per architecture;
- ``ifm_complexity_vs_width`` (merge grid): complexity against width at each
  :math:`\beta`, exact mode, with the no-merge line ``y = width``;
- ``ifm_deviation_vs_bound`` (merge grid, MLPs): measured largest output change
  against the summed per-merge bound of ``docs/derivations/ifm.md`` §5, with
  ``y = x``;
- ``ifm_complexity_training`` (complexity grid): complexity against training step,
  one panel per number of initial copies: the exact count (markers), the IFM
  estimator at each :math:`\beta`, and the replicated-initialisation prediction
  ``width / copies`` (line).

Markers are means over ``trial`` with SEM error bars; theory is drawn as lines. Every
figure is drawn from a saved grid alone (no simulation here). The plotting functions
are pure: they return a :class:`matplotlib.figure.Figure` and write nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import _style
from figures._grid import GridError
from figures._grid import figure_main
from figures._grid import match_kind
from figures._grid import open_grid

__all__ = [
    "GridError",
    "check_grid",
    "load_grid",
    "main",
    "plot_accuracy_vs_params",
    "plot_complexity_training",
    "plot_complexity_vs_width",
    "plot_deviation_vs_bound",
    "plot_layer_complexity",
    "write_figures",
]

# experiment key -> (dims, variables) a grid of that kind must have
_KINDS = {
    "merge": (
        ("arch", "width", "trial", "beta", "mode", "layer"),
        ("width_after", "param_ratio", "acc_before", "acc_after", "max_deviation"),
    ),
    "complexity": (
        ("arch", "width", "copies", "trial", "step", "beta", "mode", "layer"),
        ("complexity", "distinct", "distinct_theory", "acc"),
    ),
}
_MODE_STYLE = {"exact": "-", "official": "--"}
_ARCH_MARKERS = {"mlp1": "o", "mlp2": "s", "cnn": "^"}


def check_grid(ds: xr.Dataset, source: str = "grid") -> str:
    """The grid's experiment key, or :class:`GridError` naming what is missing."""
    return match_kind(ds, _KINDS, source, "ifm")


def load_grid(path: str | Path) -> xr.Dataset:
    """Open a saved ifm grid and check it (else :class:`GridError`)."""
    return open_grid(path, check_grid, module="sims.ifm")


def _legend_right(fig: Figure, handles, labels) -> None:
    """The legend right of the panels (it covered data inside the last one)."""
    fig.set_figwidth(fig.get_figwidth() + 1.9)
    fig.legend(handles, labels, loc="outside right center", fontsize=7)


def _beta_colours(betas) -> dict:
    cmap = mpl.colormaps["viridis"]
    vals = np.linspace(0.0, 0.88, max(len(betas), 2))
    return {float(b): cmap(v) for b, v in zip(betas, vals, strict=False)}


def _layers_of(ds: xr.Dataset, arch: str, var="width_after") -> list[int]:
    """Hidden layers the architecture has (``var`` not all NaN there)."""
    da = ds[var].sel(arch=arch)
    other = [d for d in da.dims if d != "layer"]
    return [
        int(la)
        for la in ds["layer"].values
        if bool(da.sel(layer=la).notnull().any(other))
    ]


def plot_accuracy_vs_params(ds: xr.Dataset) -> Figure:
    """Accuracy after IFM against the parameter ratio, one panel per width.

    Line gids ``acc:<arch>:<width>:<mode>`` (x: mean parameter ratio, y: mean
    accuracy over trials, one point per beta in the grid's order); the dotted
    accuracy before merging (mean over trials), ``before:<arch>:<width>``, has its
    own legend entry.
    """
    widths = [int(w) for w in ds["width"].values]
    fig, axes = _style.panels(1, len(widths))
    with _style.style():
        for ax, w in zip(axes[0], widths, strict=True):
            sub = ds.sel(width=w)
            for k, arch in enumerate(sub["arch"].values):
                colour = f"C{k}"
                for mode in sub["mode"].values:
                    cell = sub.sel(arch=arch, mode=mode)
                    x, _ = _style.mean_sem(cell["param_ratio"])
                    _style.mean_sem_bars(
                        ax,
                        x.values,
                        cell["acc_after"],
                        gid=f"acc:{arch}:{w}:{mode}",
                        color=colour,
                        ls=_MODE_STYLE.get(str(mode), "-"),
                        marker=_ARCH_MARKERS.get(str(arch), "o"),
                        label=f"{arch}, {mode}",
                    )
                before = float(sub["acc_before"].sel(arch=arch).mean())
                ax.axhline(
                    before, color=colour, ls=":", lw=0.9, gid=f"before:{arch}:{w}"
                )
            ax.set_title(f"width {w}")
            ax.set_xlabel("parameters kept (fraction)")
            ax.set_xlim(0, 1.05)
        axes[0][0].set_ylabel(_style.label(ds["acc_after"]))
        handles, labels = axes[0][-1].get_legend_handles_labels()
        handles.append(Line2D([], [], color="0.3", ls=":", lw=0.9))
        labels.append("before merging (colour: arch)")
        _legend_right(fig, handles, labels)
    return fig


def plot_layer_complexity(ds: xr.Dataset, width: int | None = None) -> Figure:
    """Units kept per hidden layer at each beta (largest width unless given).

    Line gids ``layers:<arch>:<mode>:<beta>`` (x: layer, y: mean units kept).
    """
    w = int(ds["width"].max()) if width is None else int(width)
    archs = [str(a) for a in ds["arch"].values]
    colours = _beta_colours(ds["beta"].values)
    fig, axes = _style.panels(1, len(archs))
    with _style.style():
        for ax, arch in zip(axes[0], archs, strict=True):
            layers = _layers_of(ds, arch)
            for mode in ds["mode"].values:
                for beta in ds["beta"].values:
                    da = ds["width_after"].sel(arch=arch, width=w, mode=mode, beta=beta)
                    _style.mean_sem_bars(
                        ax,
                        layers,
                        da.sel(layer=layers),
                        gid=f"layers:{arch}:{mode}:{float(beta)!r}",
                        color=colours[float(beta)],
                        ls=_MODE_STYLE.get(str(mode), "-"),
                        marker="o",
                        label=f"β = {float(beta):g}, {mode}",
                    )
            ax.set_xticks(layers)
            ax.set_title(f"{arch}, width {w}")
            ax.set_xlabel("hidden layer")
        axes[0][0].set_ylabel("feature complexity (units kept)")
        _legend_right(fig, *axes[0][-1].get_legend_handles_labels())
    return fig


def plot_complexity_vs_width(ds: xr.Dataset, mode: str = "exact") -> Figure:
    """Units kept (averaged over hidden layers) against width, at each beta.

    Line gids ``width:<arch>:<beta>``; the no-merge line ``y = width`` has gid
    ``identity``.
    """
    archs = [str(a) for a in ds["arch"].values]
    widths = np.asarray(ds["width"].values, dtype=float)
    colours = _beta_colours(ds["beta"].values)
    fig, axes = _style.panels(1, len(archs))
    with _style.style():
        for ax, arch in zip(axes[0], archs, strict=True):
            layers = _layers_of(ds, arch)
            da = ds["width_after"].sel(arch=arch, mode=mode, layer=layers).mean("layer")
            for beta in ds["beta"].values:
                _style.mean_sem_bars(
                    ax,
                    widths,
                    da.sel(beta=beta),
                    gid=f"width:{arch}:{float(beta)!r}",
                    color=colours[float(beta)],
                    marker="o",
                    label=f"β = {float(beta):g}",
                )
            ax.plot(
                widths,
                widths,
                color="0.5",
                lw=0.8,
                ls=":",
                gid="identity",
                label="no merge (units kept = width)",
            )
            ax.set_xscale("log", base=2)
            ax.set_yscale("log", base=2)
            ax.set_title(f"{arch}, {mode} mode")
            ax.set_xlabel("width")
        axes[0][0].set_ylabel("feature complexity (units kept)")
        _legend_right(fig, *axes[0][-1].get_legend_handles_labels())
    return fig


def plot_deviation_vs_bound(ds: xr.Dataset) -> Figure:
    """Measured max output change against the summed bound, one point per run.

    Both axes are logarithmic, so a run whose bound is 0 (no merge changed a
    pre-activation: nothing merged, or only identical units, as at β = 0) cannot be
    drawn: a note (gid ``dropped``) counts these runs and states their largest output
    change (rounding, about 1e-14), and those without a bound (NaN: the cnn). A
    positive-bound run whose output change is exactly 0 is a ▼ on the lower edge
    (gid ``zeros:<mode>``, counted in the legend). Scatter gids ``points:<mode>`` (x:
    bound, y: deviation, one per cell and trial, positive bound and deviation);
    ``y = x`` has gid ``identity``.
    """
    fig, axes = _style.panels(1, 1, (3.6, 3.2))
    ax = axes[0][0]
    lo, hi = np.inf, 0.0
    zeros, dropped, no_bound, dropped_dev = 0, 0, 0, []
    with _style.style():
        ax.set_xscale("log")
        ax.set_yscale("log")
        for k, mode in enumerate(ds["mode"].values):
            sub = ds.sel(mode=mode)
            b = np.ravel(sub["error_bound"].values)
            d = np.ravel(sub["max_deviation"].values)
            no_bound += int(np.isnan(b).sum())
            zero_bound = np.isfinite(b) & (b <= 0)
            dropped += int(zero_bound.sum())
            dropped_dev += list(d[zero_bound & np.isfinite(d)])
            keep = np.isfinite(b) & (b > 0)
            b, d = b[keep], d[keep]
            shown = d > 0
            ax.scatter(
                b[shown],
                d[shown],
                s=10,
                color=f"C{k}",
                label=str(mode),
                gid=f"points:{mode}",
            )
            zeros += _style.mark_zeros(ax, b, d, colour=f"C{k}", gid=f"zeros:{mode}")
            if shown.any():
                lo = min(lo, b.min(), d[shown].min())
                hi = max(hi, b.max(), d[shown].max())
        if hi > 0:
            line = np.array([lo, hi])
            ax.plot(line, line, color="0.3", lw=0.9, gid="identity", label="y = bound")
        ax.set_xlabel(_style.label(ds["error_bound"]))
        ax.set_ylabel(_style.label(ds["max_deviation"]))
        handles, labels = ax.get_legend_handles_labels()
        if zeros:
            handle, text = _style.zeros_entry(zeros, "output change")
            handles.append(handle)
            labels.append(text)
        ax.legend(handles, labels)
        _note_dropped(ax, dropped, dropped_dev, no_bound, ds)
    return fig


def _note_dropped(ax, dropped: int, deviations: list, no_bound: int, ds) -> None:
    """Say under the axes which runs the log axes of the deviation figure leave out."""
    lines = []
    if dropped:
        worst = max(deviations, default=float("nan"))
        lines.append(
            f"not drawn: {dropped} runs with bound 0 (no merge changed\n"
            f"a pre-activation); their output change <= {worst:.1g}"
        )
    if no_bound:
        archs = [
            str(a)
            for a in ds["arch"].values
            if bool(ds["error_bound"].sel(arch=a).isnull().all())
        ]
        lines.append(f"{no_bound} runs without a bound ({', '.join(archs) or 'NaN'})")
    if lines:  # under the x label, clear of the points
        note = ax.get_figure().supxlabel("\n".join(lines), fontsize=6.5, color="0.3")
        note.set_gid("dropped")


def plot_complexity_training(ds: xr.Dataset, width: int | None = None) -> Figure:
    """Complexity of hidden layer 0 against training step, one panel per copies.

    Gids: ``distinct:<copies>`` (exact count, mean over trials),
    ``estimate:<copies>:<mode>:<beta>`` (IFM estimator), ``theory:<copies>``
    (``width / copies``, the replicated-initialisation prediction).
    """
    w = int(ds["width"].max()) if width is None else int(width)
    arch = str(ds["arch"].values[-1])
    copies = [int(c) for c in ds["copies"].values]
    steps = np.asarray(ds["step"].values, dtype=float)
    colours = _beta_colours(ds["beta"].values)
    fig, axes = _style.panels(1, len(copies))
    with _style.style():
        for ax, c in zip(axes[0], copies, strict=True):
            cell = ds.sel(arch=arch, width=w, copies=c, layer=0)
            _style.mean_sem_bars(
                ax,
                steps,
                cell["distinct"],
                gid=f"distinct:{c}",
                fmt="o",
                color="k",
                label="distinct (exact, β = 0)",
            )
            for mode in ds["mode"].values:
                for beta in ds["beta"].values:
                    _style.mean_sem_bars(
                        ax,
                        steps,
                        cell["complexity"].sel(mode=mode, beta=beta),
                        gid=f"estimate:{c}:{mode}:{float(beta)!r}",
                        marker=".",
                        color=colours[float(beta)],
                        ls=_MODE_STYLE.get(str(mode), "-"),
                        label=f"IFM β = {float(beta):g}, {mode}",
                    )
            k = float(ds["distinct_theory"].sel(width=w, copies=c))
            ax.plot(
                steps,
                np.full_like(steps, k),
                color="C3",
                lw=1.2,
                gid=f"theory:{c}",
                label="width / copies",
            )
            ax.set_title(
                f"{arch}, width {w}, {c} initial cop{'y' if c == 1 else 'ies'}"
            )
            ax.set_xlabel(_style.label(ds["step"]))
        axes[0][0].set_ylabel("feature complexity, hidden layer 0")
        _legend_right(fig, *axes[0][-1].get_legend_handles_labels())
    return fig


def write_figures(grids: Sequence[xr.Dataset], out_dir: str | Path) -> list[Path]:
    """Draw and save every figure the grids allow; returns the written paths.

    ``grids`` are checked ifm grids, newest first: the merge figures come from the
    first merge grid, the training figure from the first complexity grid.
    """
    written: list[Path] = []
    kinds = {}
    for g in grids:
        kinds.setdefault(check_grid(g), g)
    merge = kinds.get("merge")
    if merge is not None:
        written += _style.save(
            plot_accuracy_vs_params(merge), out_dir, "ifm_accuracy_vs_params"
        )
        written += _style.save(
            plot_layer_complexity(merge), out_dir, "ifm_layer_complexity"
        )
        written += _style.save(
            plot_complexity_vs_width(merge), out_dir, "ifm_complexity_vs_width"
        )
        if "error_bound" in merge and bool(merge["error_bound"].notnull().any()):
            written += _style.save(
                plot_deviation_vs_bound(merge), out_dir, "ifm_deviation_vs_bound"
            )
    if "complexity" in kinds:
        written += _style.save(
            plot_complexity_training(kinds["complexity"]),
            out_dir,
            "ifm_complexity_training",
        )
    return written


main = figure_main(name="ifm", what="IFM", load=load_grid, write=write_figures)


if __name__ == "__main__":
    sys.exit(main())
