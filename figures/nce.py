r"""Figures of MECO vs NCE (Jiang et al., ICML 2023, arXiv:2306.07485).

``python -m figures.nce GRID.nc [GRID.nc ...] [--out figures/out]`` reads grids saved
by ``python -m sims.nce --sweep --experiment {gaussian,landscape,density}`` and
writes, as PNG and PDF:

- ``nce_landscape``: loss and log-scale gradient magnitude of the NLL (MECO's
  objective) and of NCE (c at the truth, c profiled out) against :math:`\theta`, for
  each R (R = 4 and 8 by default): theory lines from :mod:`theory.nce` on a dense
  grid, Monte Carlo markers (mean ± SEM over trials) from a landscape grid when one
  is given; drawn from theory alone otherwise;
- ``nce_error_vs_steps``: :math:`|\theta_t - \theta^*|` against steps for each
  method and noise distribution (gaussian grid);
- ``nce_stationary_error``: MECO's and NCE's stationary error and signed bias against
  the noise scale, with :math:`1 + \chi^2(p_{\theta^*}\|q)` from theory (gaussian
  grid);
- ``nce_density``: learned 2-D densities next to the truth, with a colour bar, and
  held-out NLL against steps with the true density's NLL as the floor (density
  grid).

The plotting functions are pure: they return a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import _style
from figures._grid import GridError
from figures._grid import figure_main
from figures._grid import match_kind
from figures._grid import open_grid
from theory.nce import gaussian_mean_landscape
from theory.nce import importance_weight_moments

__all__ = [
    "GridError",
    "check_grid",
    "load_grid",
    "main",
    "plot_densities",
    "plot_error_vs_steps",
    "plot_landscapes",
    "plot_stationary_error",
    "write_figures",
]

# experiment key -> (dims, variables) a grid of that kind must have
_KINDS = {
    "gaussian": (
        ("method", "theta_star", "noise_std", "trial", "step"),
        ("theta", "abs_err", "tail_mean", "tail_rmse"),
    ),
    "landscape": (
        ("method", "R", "theta", "trial"),
        ("loss", "grad", "grad_theory", "chi2_over_m"),
    ),
    "density": (
        ("method", "dataset", "trial", "step", "x1", "x2"),
        ("heldout_nll", "log_density", "log_density_theory"),
    ),
}
_METHOD_COLOURS = {
    "meco": "C0",
    "nce": "C3",
    "naive": "C2",
    "nce_fixed_c": "C1",
    "nce_profiled": "C3",
}
_METHOD_LABELS = {
    "meco": "NLL / MECO",
    "nce": "NCE",
    "naive": "naive log ĝ",
    "nce_fixed_c": "NCE, c = log Z",
    "nce_profiled": "NCE, c profiled",
}


def check_grid(ds: xr.Dataset, source: str = "grid") -> str:
    """The grid's experiment key, or :class:`GridError` naming what is missing."""
    order = ("density", "gaussian", "landscape")
    return match_kind(ds, {k: _KINDS[k] for k in order}, source, "nce")


def load_grid(path: str | Path) -> xr.Dataset:
    """Open a saved nce grid and check it (else :class:`GridError`)."""
    return open_grid(path, check_grid, module="sims.nce")


def plot_landscapes(
    ds: xr.Dataset | None = None, *, R: Sequence[float] = (4.0, 8.0)
) -> Figure:
    """Loss (top) and the absolute gradient on a log scale (bottom) along θ, one
    column per R.

    Lines: theory on 241 points; markers: the grid's Monte Carlo mean ± SEM
    (absolute values), both named in the legend. MECO's plug-in estimates are drawn
    only where χ²(p_θ‖q)/m < 1; the title counts the cells left out. A lower bar
    longer than 0.9 × its mean (mean − SEM below 0.1 × mean, or <= 0) would leave a
    log axis: it stops at 0.1 × mean, marked by a tri-down (gid
    ``cut:<method>:<R>:<var>``) and counted in the legend. A mean of exactly 0 is a
    ▼ on the lower edge (``figures._style.mark_zeros``, gid
    ``zeros:<method>:<R>:<var>``).
    """
    if ds is not None:
        R = [float(r) for r in ds["R"].values]
    fig, axes = _style.panels(2, len(R), (3.6, 2.6))
    hidden = cut = zeros = 0
    for j, r in enumerate(R):
        lo = float(ds["theta"].min()) if ds is not None else -1.0
        hi = float(ds["theta"].max()) if ds is not None else r + 1.0
        theta = np.linspace(lo, hi, 241)
        noise_std = float(ds.attrs.get("noise_std", 1.0)) if ds is not None else 1.0
        nu = float(ds.attrs.get("nu", 1.0)) if ds is not None else 1.0
        land = gaussian_mean_landscape(theta, data_mean=r, noise_std=noise_std, nu=nu)
        curves = {
            "meco": (land.nll, land.nll_grad),
            "nce_fixed_c": (land.nce_loss, land.nce_grad_theta),
            "nce_profiled": (land.nce_profiled_loss, land.nce_profiled_grad),
        }
        top, bottom = axes[0, j], axes[1, j]
        top.set_yscale("log")
        bottom.set_yscale("log")
        for method, (loss, grad) in curves.items():
            kw = dict(color=_METHOD_COLOURS[method], label=_METHOD_LABELS[method])
            top.plot(theta, loss, **kw)
            bottom.plot(theta, np.abs(grad), **kw)
            if ds is not None:
                sel = ds.sel({"method": method, "R": r})
                # MECO's plug-in estimates are meaningless where chi2/m >= 1
                ok = (sel["chi2_over_m"] < 1) if method == "meco" else True
                if method == "meco":
                    hidden += int((~ok).sum())
                for ax, var in ((top, "loss"), (bottom, "grad")):
                    counts = _mc_points(
                        ax, sel, var, ok, kw["color"], f"{method}:{r:g}"
                    )
                    cut, zeros = cut + counts[0], zeros + counts[1]
        top.set_title(f"R = {r:g}")
        top.set_ylabel("population loss")
        away = np.abs(theta - r) > 0.25  # |grad| -> 0 at the optimum itself
        floor = min(float(np.min(np.abs(g[away]))) for _, g in curves.values())
        bottom.set_ylim(bottom=0.3 * floor)
        bottom.set_ylabel("|dL/dθ|")
        bottom.set_xlabel("model mean θ")
        bottom.axvline(r, color="0.6", lw=0.8, ls=":")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    grey = "0.3"
    handles.append(Line2D([], [], color=grey))
    labels.append("theory")
    if ds is not None:
        handles.append(Line2D([], [], color=grey, marker="o", ms=3, ls="none"))
        labels.append(f"Monte Carlo (mean ± SEM, {ds.sizes['trial']} trials)")
        if cut:
            handles.append(Line2D([], [], color=grey, marker=_CUT, ms=7, ls="none"))
            labels.append(f"lower bar cut at 0.1 × mean ({cut})")
        if zeros:
            handle, label = _style.zeros_entry(zeros, "mean")
            handles.append(handle)
            labels.append(label)
        cells = ds.sizes["R"] * ds.sizes["theta"]
        if hidden:
            fig.suptitle(
                f"{_METHOD_LABELS['meco']}: Monte Carlo left out in {hidden} of "
                f"{cells} cells, where $\\chi^2(p_\\theta\\|q)/m \\geq 1$ "
                "(plug-in estimate meaningless)",
                fontsize="small",
            )
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize="small")
    return fig


_CUT = "1"  # tri_down, the end of a lower error bar cut short (▼ means 0)


def _mc_points(ax, sel, var, ok, colour, key) -> tuple[int, int]:
    """Monte Carlo |mean| ± SEM of ``sel[var]`` over trials where ``ok``, on a log
    axis; returns how many lower bars were cut at 0.1 × mean, and how many means
    are exactly 0 (drawn on the lower edge)."""
    mean, sem = _style.mean_sem(sel[var])
    y = np.abs(mean).where(ok)
    zeros = _style.mark_zeros(
        ax, sel["theta"], y, colour=colour, gid=f"zeros:{key}:{var}"
    )
    y = y.where(y > 0)
    lower = np.minimum(sem, 0.9 * y)  # keep bars on a log axis
    ax.errorbar(
        sel["theta"], y, yerr=[lower, sem], fmt="o", ms=3, color=colour, capsize=0
    )
    short = (sem > 0.9 * y).values
    if short.any():
        ax.plot(
            sel["theta"].values[short],
            0.1 * y.values[short],
            ls="none",
            marker=_CUT,
            ms=7,
            color=colour,
            gid=f"cut:{key}:{var}",
        )
    return int(short.sum()), zeros


def _noise_mean(frac: float) -> str:
    """The noise mean ρθ* as a label: ``0``, ``θ*`` or ``0.5θ*``.

    Examples:
      >>> [_noise_mean(f) for f in (0.0, 1.0, 0.5)]
      ['0', 'θ*', '0.5θ*']
    """
    if frac == 0:
        return "0"
    return "θ*" if frac == 1 else f"{frac:g}θ*"


def plot_error_vs_steps(
    ds: xr.Dataset, *, batch_size: float | None = None, gamma: float | None = None
) -> Figure:
    r"""The error :math:`|\theta_t - \theta^*|` (mean ± SEM over trials, band) vs
    steps; one panel per θ*.

    Colour: method; line style and marker: noise distribution q = N(ρθ*, s²) (the
    pair is distinct for up to 18 distributions). One batch size and γ, by default
    the grid's first, named in the title with the others saved. Gids:
    ``err:<method>:<θ*>:<ρ>:<s>`` (the mean line), ``band:…`` (its SEM band).
    """
    sub = ds.sel(
        batch_size=ds["batch_size"].values[0] if batch_size is None else batch_size,
        gamma=ds["gamma"].values[0] if gamma is None else gamma,
    )
    stars = sub["theta_star"].values
    fig, axes = _style.panels(1, len(stars), (3.6, 3.0))
    combos = [(f, s) for f in sub["noise_frac"].values for s in sub["noise_std"].values]
    for j, star in enumerate(stars):
        ax = axes[0, j]
        for method in sub["method"].values:
            colour = _METHOD_COLOURS.get(method, "k")
            for k, (frac, s) in enumerate(combos):
                sel = {
                    "method": method,
                    "theta_star": star,
                    "noise_std": s,
                    "noise_frac": frac,
                }
                err = sub["abs_err"].sel(sel).isel(step=slice(1, None))
                mean, sem = _style.mean_sem(err)
                key = f"{method}:{star:g}:{frac:g}:{s:g}"
                step, m, e = mean["step"].values, mean.values, sem.values
                ax.plot(
                    step,
                    m,
                    color=colour,
                    ls=_STYLES[k % len(_STYLES)],
                    marker=_MARKERS[k % len(_MARKERS)],
                    ms=3,
                    markevery=0.1,
                    label=f"{method}, q=N({_noise_mean(frac)}, {s:g}²)",
                    gid=f"err:{key}",
                )
                if np.isfinite(e).any():  # mean − SEM <= 0 runs to the lower edge
                    ax.fill_between(
                        step,
                        np.maximum(m - e, 0.0),
                        m + e,
                        color=colour,
                        alpha=0.12,
                        lw=0,
                        gid=f"band:{key}",
                    )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"θ* = {star:g}")
        ax.set_xlabel("step t")
        ax.set_ylabel(r"$|\theta_t - \theta^*|$")
    fig.suptitle(
        f"{_setting(ds, 'batch_size', sub, 'batch size')}, "
        f"{_setting(ds, 'gamma', sub, 'γ')}; bands: ± SEM over "
        f"{ds.sizes['trial']} trials",
        fontsize="small",
    )
    fig.legend(
        *axes[0, 0].get_legend_handles_labels(),
        loc="outside right upper",
        fontsize="x-small",
    )
    return fig


_STYLES = ["-", "--", ":", "-.", (0, (5, 1)), (0, (1, 3))]
_MARKERS = "osD^vP*Xh"


def _setting(ds: xr.Dataset, dim: str, sub: xr.Dataset, name: str) -> str:
    """``"<name> = <value>"``, with the saved values when the grid has several.

    Example:
      >>> g = xr.Dataset(coords={"gamma": [0.1, 1.0]})
      >>> _setting(g, "gamma", g.sel(gamma=0.1), "γ")
      'γ = 0.1 (of 0.1, 1)'
    """
    shown = f"{name} = {float(sub[dim]):g}"
    saved = ds[dim].values
    if saved.size > 1:
        shown += " (of " + ", ".join(f"{float(v):g}" for v in saved) + ")"
    return shown


def plot_stationary_error(
    ds: xr.Dataset,
    *,
    batch_size: float | None = None,
    gamma: float | None = None,
    noise_frac: float | None = None,
) -> Figure:
    """Stationary RMS error and signed bias (tail mean − θ*, mean ± SEM over trials)
    of MECO and NCE vs the noise scale s of q = N(ρθ*, s²).

    One batch size, γ and noise mean ρ, by default the grid's first, named in the
    title. The bias axis is symmetric-log, linear within the median SEM of the bias
    (differences from 0 below it are noise), so MECO's and NCE's biases keep their
    signs. Gids: ``rmse:<method>:<θ*>`` and ``bias:<method>:<θ*>`` on the data lines.
    """
    first = {d: ds[d].values[0] for d in ("batch_size", "gamma", "noise_frac")}
    chosen = {"batch_size": batch_size, "gamma": gamma, "noise_frac": noise_frac}
    sub = ds.sel({d: first[d] if v is None else v for d, v in chosen.items()})
    fig, axes = _style.panels(1, 2, (3.6, 3.0))
    sems = []
    for n_star, star in enumerate(sub["theta_star"].values):
        for method in sub["method"].values:
            if method == "naive":
                continue
            sel = sub.sel({"method": method, "theta_star": star})
            s = sel["noise_std"].values
            kw = dict(
                color=_METHOD_COLOURS.get(method, "k"),
                ls="-" if method == "meco" else "--",
                marker="os^vD"[n_star % 5],
                ms=4,
            )
            key = f"{method}:{star:g}"
            _style.mean_sem_bars(
                axes[0, 0],
                s,
                sel["tail_rmse"],
                gid=f"rmse:{key}",
                label=f"{method}, θ*={star:g}",
                **kw,
            )
            _, bsem = _style.mean_sem_bars(
                axes[0, 1], s, sel["tail_mean"] - star, gid=f"bias:{key}", **kw
            )
            sems.append(bsem.values)
    sems = np.concatenate(sems) if sems else np.array([])
    sems = sems[np.isfinite(sems) & (sems > 0)]
    axes[0, 0].set_yscale("log")
    linthresh = float(np.median(sems)) if sems.size else 1.0
    axes[0, 1].set_yscale("symlog", linthresh=linthresh)
    axes[0, 1].axhline(0.0, color="0.6", lw=0.8, zorder=0)
    axes[0, 0].set_ylabel("stationary RMS error")
    axes[0, 1].set_ylabel("tail mean − θ*")
    for ax in axes[0]:
        ax.set_xlabel("noise scale s")
    top = axes[0, 1].secondary_xaxis("top")
    s_all = sub["noise_std"].values
    star0 = float(sub["theta_star"].values[0])
    frac = float(sub["noise_frac"])
    chi = importance_weight_moments(star0, noise_std=s_all, noise_mean=frac * star0)
    top.set_ticks(s_all, labels=[f"{np.exp(v):.3g}" for v in chi.log1p_chi2])
    top.set_xlabel(f"1+χ²(p_θ*‖q), θ*={star0:g}")
    axes[0, 0].legend(fontsize="x-small")
    fig.suptitle(
        f"q = N({_noise_mean(frac)}, s²); "
        f"{_setting(ds, 'batch_size', sub, 'batch size')}, "
        f"{_setting(ds, 'gamma', sub, 'γ')}; bars: ± SEM over "
        f"{ds.sizes['trial']} trials",
        fontsize="small",
    )
    return fig


def plot_densities(ds: xr.Dataset) -> Figure:
    """Truth | MECO | NCE densities (trial 0, final step; one colour scale per row,
    0 to the truth's max) and held-out NLL (mean ± SEM over trials) vs steps."""
    datasets = ds["dataset"].values
    methods = list(ds["method"].values)
    fig, axes = _style.panels(len(datasets), len(methods) + 2, (2.6, 2.6))
    ext = [
        float(ds.x1.min()),
        float(ds.x1.max()),
        float(ds.x2.min()),
        float(ds.x2.max()),
    ]
    for i, name in enumerate(datasets):
        truth = np.exp(ds["log_density_theory"].sel(dataset=name)).values
        learned = ds["log_density"].sel(dataset=name).isel(trial=0)
        panels = [("truth", truth)] + [
            (m, np.exp(learned.sel({"method": m})).values) for m in methods
        ]
        vmax = float(np.nanmax(truth))
        for j, (title, img) in enumerate(panels):
            ax = axes[i, j]
            im = ax.imshow(
                img.T, origin="lower", extent=ext, vmin=0, vmax=vmax, cmap="magma"
            )
            ax.set_title(f"{name}: {title}", fontsize="small")
            ax.set_xticks([])
            ax.set_yticks([])
        bar = fig.colorbar(im, ax=axes[i, : len(panels)], shrink=0.8)
        bar.set_label("density (clipped at the truth's max)", fontsize="x-small")
        ax = axes[i, -1]
        for m in methods:
            nll = ds["heldout_nll"].sel({"method": m, "dataset": name})
            mean, sem = _style.mean_sem(nll.where(nll["step"] > 0, drop=True))
            step = mean["step"].values
            ax.errorbar(
                step,
                mean,
                yerr=sem,
                marker="o",
                ms=3,
                color=_METHOD_COLOURS.get(m, "k"),
                label=m,
            )
        floor = float(ds["heldout_nll_theory"].sel(dataset=name))
        ax.axhline(floor, color="0.4", ls=":", label="true density")
        ax.set_xscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("held-out NLL [nats]")
        ax.legend(fontsize="x-small")
    return fig


def write_figures(grids: Sequence[xr.Dataset], out_dir: str | Path) -> list[Path]:
    """Draw and save every nce figure from ``grids`` (newest first); paths written.

    The landscape figure is drawn from theory alone when no landscape grid is given.
    """
    kinds: dict[str, xr.Dataset] = {}
    for ds in grids:
        kinds.setdefault(check_grid(ds), ds)
    written: list[Path] = []
    written += _style.save(
        plot_landscapes(kinds.get("landscape")), out_dir, "nce_landscape"
    )
    if "gaussian" in kinds:
        g = kinds["gaussian"]
        written += _style.save(plot_error_vs_steps(g), out_dir, "nce_error_vs_steps")
        written += _style.save(
            plot_stationary_error(g), out_dir, "nce_stationary_error"
        )
    if "density" in kinds:
        written += _style.save(plot_densities(kinds["density"]), out_dir, "nce_density")
    return written


main = figure_main(name="nce", what="MECO vs NCE", load=load_grid, write=write_figures)


if __name__ == "__main__":
    sys.exit(main())
