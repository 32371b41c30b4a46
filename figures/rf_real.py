r"""Figures of the real-data experiments (``sims.rf_real``) on scikit-learn's digits.

``python -m figures.rf_real GRID.nc [GRID.nc ...] [--out figures/out]`` reads grids
saved by ``python -m sims.rf_real --sweep --experiment spectra|rf|fitting_ratio``
and writes, as PNG and PDF, for each kind of grid given:

- ``rf_real_eigenspectra`` (spectra): :math:`\lambda_i` and :math:`v_i^2` against
  ``i`` for several ``n``, one row per kernel, with the power laws
  :math:`i^{-\alpha}`, :math:`i^{-\beta}` of the fitted exponents (the eigenspectra
  figure of arXiv:2311.14646);
- ``rf_real_exponents`` (spectra): the :math:`\alpha` proxy
  :math:`1/\mathrm{Tr}(K_n^{-1})` and the :math:`\beta` proxy (ridgeless test MSE)
  against ``n`` with their fits over the shaded windows;
- ``rf_real_risk_vs_k`` (rf): random ReLU features on digits, test and train MSE
  against ``k`` at fixed ``n``, simulation vs theory on the empirical NNGP
  eigen-data (the right panel of the paper's Fig. 1);
- ``rf_real_fitting_ratio`` (fitting_ratio): test MSE against the fitting ratio
  :math:`R = E_{tr}/E_{te}` per noise level, the scaled power-law curve, the
  theory's :math:`R^*` (dotted) and the measured optimum (star): the paper's Fig. 2.

Simulation as markers (mean ± SEM over ``trial``), theory as lines. The plotting
functions are pure: they return a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import _style
from figures._grid import GridError
from figures._grid import figure_main
from figures._grid import open_grid

__all__ = [
    "GridError",
    "check_grid",
    "grid_kind",
    "load_grid",
    "main",
    "plot_eigenspectra",
    "plot_exponents",
    "plot_fitting_ratio",
    "plot_risk_vs_k",
    "write_figures",
]

# kind -> (dims of its main variable, required variables)
_KINDS = {
    "spectra": (
        ("kernel", "size", "trial"),
        ("trace_scale", "test_mse", "eigval", "target_power", "alpha", "beta"),
    ),
    "rf": (
        ("n", "k", "ridge", "trial"),
        ("test_risk", "train_risk", "test_risk_theory"),
    ),
    "fitting_ratio": (
        ("noise_rel", "ridge", "trial"),
        ("test_mse", "fitting_ratio", "optimal_ratio"),
    ),
}
_MAIN = {"spectra": "trace_scale", "rf": "test_risk", "fitting_ratio": "test_mse"}


def grid_kind(ds: xr.Dataset) -> str | None:
    """``spectra``, ``rf`` or ``fitting_ratio`` by the grid's variables, or None."""
    for kind, (dims, names) in _KINDS.items():
        has = all(v in ds.data_vars for v in names)
        if has and set(ds[_MAIN[kind]].dims) == set(dims):  # in any order
            return kind
    return None


def check_grid(ds: xr.Dataset, source: str = "grid") -> None:
    """Raise :class:`GridError` unless ``ds`` is one of the three rf_real grids."""
    kind = grid_kind(ds)
    if kind is None:
        raise GridError(
            f"{source}: not an rf_real grid (spectra, rf or fitting_ratio variables)"
        )
    empty = [d for d in _KINDS[kind][0] if ds.sizes[d] == 0]
    if empty:
        raise GridError(f"{source}: empty dims {empty}")


def load_grid(path: str | Path) -> xr.Dataset:
    """Open a saved rf_real grid and check it (:class:`GridError` if not one)."""
    return open_grid(path, check_grid, module="sims.rf_real")


def _colours(num: int):
    return [mpl.colormaps["plasma"](v) for v in np.linspace(0.0, 0.8, max(num, 2))]


def plot_eigenspectra(ds: xr.Dataset, *, trial: int = 0) -> Figure:
    r""":math:`\lambda_i` and :math:`v_i^2` against ``i``, one row per kernel.

    One line per ``eig_n`` (ordering ``trial``); dotted: :math:`c\,i^{-\alpha}` and
    :math:`c\,i^{-\beta}` with the grid's fitted exponents, through the largest-``n``
    spectrum at ``i = 10``. A value <= 0, which a log axis cannot show, is a ▼ on the
    lower edge (``figures._style.mark_zeros``), counted in the legend. Gids:
    ``eigval:<kernel>:<n>``, ``target_power:<kernel>:<n>``,
    ``zeros:<var>:<kernel>:<n>``, ``guide:alpha:<kernel>``, ``guide:beta:<kernel>``.
    """
    kernels = [str(k) for k in ds["kernel"].values]
    sizes = [int(n) for n in ds["eig_n"].values]
    colours = _colours(len(sizes))
    with _style.style():
        fig = Figure(figsize=(7.2, 2.6 * len(kernels) + 0.4), layout="constrained")
        axes = fig.subplots(len(kernels), 2, squeeze=False)
        for row, kern in zip(axes, kernels, strict=True):
            for ax, var, exp_name, offset in (
                (row[0], "eigval", "alpha", 0.0),
                (row[1], "target_power", "beta", 0.0),
            ):
                da = ds[var].sel(kernel=kern, trial=trial)
                zeros = 0
                for n, colour in zip(sizes, colours, strict=False):
                    y = da.sel(eig_n=n).values[:n]
                    i = np.arange(1, n + 1)
                    ax.plot(
                        i,
                        np.where(y > 0, y, np.nan),
                        color=colour,
                        lw=1.0,
                        label=f"$n = {n}$",
                        gid=f"{var}:{kern}:{n}",
                    )
                    zeros += _style.mark_zeros(
                        ax, i, y, colour=colour, gid=f"zeros:{var}:{kern}:{n}"
                    )
                expo = float(ds[exp_name].sel(kernel=kern)) + offset
                ref = da.sel(eig_n=sizes[-1]).values
                anchor = min(10, sizes[-1])
                i = np.arange(1, sizes[-1] + 1, dtype=np.float64)
                guide = ref[anchor - 1] * (i / anchor) ** -expo
                ax.plot(
                    i,
                    guide,
                    ":",
                    color="0.2",
                    lw=1.2,
                    gid=f"guide:{exp_name}:{kern}",
                    label=f"$i^{{-\\{exp_name}}}$, $\\{exp_name} = {expo:.3g}$",
                )
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xlabel("mode $i$")
                ax.set_ylabel(_style.label(ds[var], units=False))
                ax.set_title(f"{kern}", loc="left")
                handles, labels = ax.get_legend_handles_labels()
                if zeros:  # rounding can leave a Gram eigenvalue at or below 0
                    handles.append(_style.zeros_entry(zeros, "value")[0])
                    labels.append(f"{zeros} values <= 0 (rounding),\non the axis edge")
                ax.legend(handles, labels, fontsize=6, loc="lower left")
    return fig


def plot_exponents(ds: xr.Dataset) -> Figure:
    r"""The two proxies against ``n`` with their power-law fits.

    Markers: mean ± SEM over orderings; lines: :math:`c n^{-\alpha}` and
    :math:`c n^{1-\beta}` from the grid; shaded: the fit windows (attrs
    ``alpha_window``, ``beta_window``). Gids: ``sim:<var>:<kernel>``,
    ``fit:<var>:<kernel>``.
    """
    kernels = [str(k) for k in ds["kernel"].values]
    colours = _colours(len(kernels))
    n = ds["size"].values.astype(float)
    with _style.style():
        fig = Figure(figsize=(7.6, 3.2), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, var, sym, window in (
            (axes[0], "trace_scale", "alpha", ds.attrs.get("alpha_window")),
            (axes[1], "test_mse", "beta", ds.attrs.get("beta_window")),
        ):
            for kern, colour in zip(kernels, colours, strict=False):
                _style.mean_sem_bars(
                    ax,
                    n,
                    ds[var].sel(kernel=kern),
                    gid=f"sim:{var}:{kern}",
                    fmt="o",
                    ms=3.5,
                    color=colour,
                )
                e = float(ds[sym].sel(kernel=kern))
                s = float(ds[f"{sym}_spread"].sel(kernel=kern))
                ax.plot(
                    n,
                    ds[f"{var}_fit"].sel(kernel=kern).values,
                    "-",
                    color=colour,
                    gid=f"fit:{var}:{kern}",
                    label=f"{kern}: $\\{sym} = {e:.3f} \\pm {s:.3f}$",
                )
            if window is not None:
                lo, hi = np.asarray(window, dtype=float).ravel()[:2]
                ax.axvspan(lo, hi, color="0.92", lw=0, zorder=0)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("training samples $n$")
            ax.set_ylabel(_style.label(ds[var], units=False))
            ax.legend(fontsize=7)
        axes[0].set_title(r"$\alpha$ proxy (fit window shaded)", loc="left")
        axes[1].set_title(r"$\beta$ proxy (fit window shaded)", loc="left")
    return fig


def _rf_theory(ds, n, k_dense, ridges):
    """RF theory on a dense k grid from the digits NNGP eigen-data (as the sim's)."""
    from sims.rf_real.rf import rf_spectrum
    from theory.rf_ridge import rf_ridge_risk

    lam, v2 = rf_spectrum(float(ds.attrs.get("weight_var", 2.0)))
    out = rf_ridge_risk(
        lam,
        v2,
        n=n,
        k=k_dense[None, :],
        ridge=np.asarray(ridges, dtype=float)[:, None],
        pool_size=int(ds.attrs.get("pool_size_correction", lam.size)),
    )
    return out.test_risk, out.train_risk


def plot_risk_vs_k(
    ds: xr.Dataset,
    *,
    n: int | None = None,
    ridges: int | Sequence[float] = 5,
    num_theory: int = 120,
) -> Figure:
    """RF on digits: test (and faint train) MSE against ``k`` at fixed ``n``.

    ``ridges`` saved ridges are drawn, evenly spaced in log (or the saved ones
    nearest the given values; :func:`figures.rf_risk.select_ridges`), one colour each,
    marked on the colour bar. Theory lines on ``num_theory`` log-spaced ``k``. The y
    range is :func:`figures.rf_risk.set_risk_ylim`'s: train risks far below the test
    risks are cut off, with a note (gid ``clipped``,
    :func:`figures.rf_risk.note_clipped`). Gids: ``sim:test_risk:<ridge>``,
    ``sim:train_risk:<ridge>``, ``theory:test_risk:<ridge>``,
    ``theory:train_risk:<ridge>``, ``peak``.
    """
    from figures.rf_risk import note_clipped
    from figures.rf_risk import select_ridges
    from figures.rf_risk import set_risk_ylim

    n = int(ds["n"].values[0]) if n is None else int(n)
    sub = ds.sel(n=n)
    k = sub["k"].values.astype(float)
    saved = sub["ridge"].values.astype(float)
    chosen = select_ridges(saved, ridges)
    k_dense = np.unique(np.concatenate([np.geomspace(k.min(), k.max(), num_theory), k]))
    test_th, train_th = _rf_theory(ds, n, k_dense, chosen)
    norm = _style.ridge_norm(saved)
    shown, train_shown = [test_th.ravel()], [train_th.ravel()]
    with _style.style():
        fig = Figure(figsize=(5.6, 4.4), layout="constrained")
        ax = fig.add_subplot()
        for j, r in enumerate(chosen.tolist()):
            colour = _style.ridge_colour(r, norm)
            for name, faint in (("train_risk", True), ("test_risk", False)):
                da = sub[name].sel(ridge=r).transpose("k", "trial")
                gid = f"sim:{name}:{r!r}"
                mean, _ = _style.risk_points(ax, k, da, colour, faint=faint, gid=gid)
                (train_shown if faint else shown).append(mean.values)
            for curve, ls, name in ((test_th, "-", "test"), (train_th, ":", "train")):
                ax.plot(
                    k_dense,
                    curve[j],
                    ls,
                    color=colour,
                    lw=1.2,
                    zorder=4,
                    gid=f"theory:{name}_risk:{r!r}",
                )
        if k.min() < n < k.max():
            ax.axvline(n, color="0.55", lw=0.8, gid="peak")
        ax.set_xscale("log")
        ax.set_yscale("log")
        low = set_risk_ylim(ax, shown, train_shown)
        rows = np.arange(chosen.size)
        note_clipped(ax, sub, "k", k_dense, chosen, rows, train_th, low)
        ax.set_xlabel("random features $k$")
        ax.set_ylabel(
            f"{_style.label(ds['test_risk'], units=False)} and "
            f"{_style.label(ds['train_risk'], units=False)}"
        )
        ax.set_title(f"random ReLU features @ digits, $n = {n}$", loc="left")
        grey = "0.3"
        fig.legend(  # below the axes, clear of the curves and the note
            [
                Line2D([], [], marker="o", ls="none", color=grey),
                Line2D([], [], marker="o", ls="none", color=grey, alpha=0.35),
                Line2D([], [], ls="-", color=grey),
                Line2D([], [], ls=":", color=grey),
            ],
            [
                f"sim. test (mean ± SEM, {ds.sizes['trial']} trials)",
                "sim. train",
                "theory test (empirical NNGP eigen-data)",
                "theory train",
            ],
            fontsize=7,
            loc="outside lower center",
            ncols=2,
        )
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=_style.RIDGE_CMAP), ax=ax)
        bar.set_label("ridge $\\delta$")
        for r in chosen:  # lines on the colour bar mark the ridges drawn
            bar.ax.axhline(r, color="w", lw=1.0)
    return fig


def plot_fitting_ratio(ds: xr.Dataset) -> Figure:
    r"""Test MSE against the fitting ratio per noise level, with :math:`R^*`.

    Dots: (mean R, mean test MSE) over orderings at each ridge, with ± one SEM over
    orderings in both; line: the grid's ``test_mse_curve`` (the power-law closed form
    at the fitted exponents, scaled to the measured minimum); dotted vertical:
    ``optimal_ratio_theory``; star: the measured optimum, one of the dots: the ridge
    whose trial-mean test MSE is least, at (its trial-mean R, that MSE). Regions
    outside [0, 1] shaded. Gids: ``sim:<noise>`` (the dots' data line),
    ``theory:<noise>``, ``rstar:<noise>``, ``measured:<noise>``.
    """
    noise = ds["noise_rel"].values.astype(float)
    colours = _colours(len(noise))
    with _style.style():
        fig = Figure(figsize=(6.6, 4.0), layout="constrained")
        ax = fig.add_subplot()
        for s, colour in zip(noise.tolist(), colours, strict=False):
            sub = ds.sel(noise_rel=s)
            R, E = _style.mean_sem_points(
                ax,
                sub["fitting_ratio"],
                sub["test_mse"],
                gid=f"sim:{s!r}",
                fmt="o",
                ms=3.5,
                elinewidth=0.8,
                color=colour,
            )
            if "test_mse_curve" in ds:
                ax.plot(
                    ds["ratio"].values,
                    sub["test_mse_curve"].values,
                    "-",
                    color=colour,
                    lw=1.1,
                    gid=f"theory:{s!r}",
                )
            if "optimal_ratio_theory" in ds:
                r_star = float(sub["optimal_ratio_theory"])
                ax.axvline(r_star, color=colour, ls=":", lw=1.1, gid=f"rstar:{s!r}")
            best = int(E.argmin("ridge"))  # one measured point: x and y of one ridge
            ax.plot(
                float(R[best]),
                float(E[best]),
                "*",
                ms=10,
                color=colour,
                mec="k",
                mew=0.5,
                zorder=5,
                gid=f"measured:{s!r}",
            )
        ax.axvspan(-0.15, 0.0, color="0.9", lw=0, zorder=0)
        ax.axvspan(1.0, 1.15, color="0.9", lw=0, zorder=0)
        ax.set_xlim(-0.15, 1.15)
        ax.set_yscale("log")
        ax.set_xlabel(r"fitting ratio $R = E_{\mathrm{tr}}/E_{\mathrm{te}}$")
        ax.set_ylabel(_style.label(ds["test_mse"], units=False))
        a, b = float(ds["alpha"]), float(ds["beta"])
        ax.set_title(
            f"NTK regression @ digits, $\\alpha = {a:.3f}$, $\\beta = {b:.3f}$",
            loc="left",
        )
        handles = [Line2D([], [], color=c, lw=3) for c in colours[: noise.size]]
        labels = [f"$\\sigma^2_{{rel}} = {s:g}$" for s in noise]
        grey = "0.3"
        entries = [
            (
                Line2D([], [], marker="o", ls="none", color=grey, ms=3.5),
                f"measured, one per ridge\n(mean ± SEM, {ds.sizes['trial']} orderings)",
            ),
            (
                Line2D([], [], ls="-", color=grey, lw=1.1),
                "theory $E_{te}(R)$: power law\nat the fitted α, β, scaled\n"
                "to the measured minimum",
            ),
            (Line2D([], [], ls=":", color=grey), "theory $R^*$"),
            (
                Line2D([], [], marker="*", ls="none", color=grey, mec="k", ms=9),
                "measured optimum (the ridge\nof least mean test MSE)",
            ),
        ]
        present = (True, "test_mse_curve" in ds, "optimal_ratio_theory" in ds, True)
        for (handle, text), shown in zip(entries, present, strict=True):
            if shown:
                handles.append(handle)
                labels.append(text)
        fig.legend(handles, labels, fontsize=7, loc="outside right center")
    return fig


def write_figures(grids: Sequence[xr.Dataset], out_dir: str | Path) -> list[Path]:
    """Draw and save the figures of the newest grid of each kind; the paths written."""
    written: list[Path] = []
    first: dict[str, xr.Dataset] = {}
    for ds in grids:
        kind = grid_kind(ds)
        if kind is not None:
            first.setdefault(kind, ds)
    if "spectra" in first:
        written += _style.save(
            plot_eigenspectra(first["spectra"]), out_dir, "rf_real_eigenspectra"
        )
        written += _style.save(
            plot_exponents(first["spectra"]), out_dir, "rf_real_exponents"
        )
    if "rf" in first:
        written += _style.save(
            plot_risk_vs_k(first["rf"]), out_dir, "rf_real_risk_vs_k"
        )
    if "fitting_ratio" in first:
        written += _style.save(
            plot_fitting_ratio(first["fitting_ratio"]), out_dir, "rf_real_fitting_ratio"
        )
    return written


main = figure_main(name="rf_real", what="rf_real", load=load_grid, write=write_figures)


if __name__ == "__main__":
    sys.exit(main())
