r"""The deep linear UFM figures of ``figures.neural_collapse`` (``ufm`` grids).

Dang et al., ICML 2023, arXiv:2301.00437: NC metrics against the GD step for each
depth and class profile, and the classifier lengths against the closed form
:math:`a_k^2(n_k)` of MSE with its minority-collapse threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from figures import _style
from figures._nc_threshold import _plot_threshold
from sims.neural_collapse import parse_profile
from theory.neural_collapse import deep_linear_class_a2

__all__ = ["plot_ufm_lengths", "plot_ufm_metrics"]

DEPTH_CMAP = mpl.colormaps["viridis"]
_DEPTH_OFFSET = 1.06  # factor between depths' marker positions along n_k
_ROUNDING = 1e-12  # mean − SEM below this x mean is 0 up to rounding (2 trials: 0, v)
# loss -> the label of objective - closed form: MSE's closed form is the global
# minimum; CE's balanced ETF value is a stationary point, the minimum only at depth 1
# (docs/derivations/neural_collapse.md §6.5: deeper networks have lower minima).
_EXCESS_ATTRS = {
    "mse": {"long_name": "objective - minimum", "math_symbol": r"L-L^*"},
    "ce": {"long_name": "objective - ETF value", "math_symbol": r"L-L_{ETF}"},
}
# loss -> the metrics plot_ufm_metrics draws (columns)
_UFM_COLUMNS = {
    "mse": ("nc1", "nc2_gof", "nc3_gof", "rel_err", "excess"),
    "ce": ("nc1", "nc2_etf", "nc3", "excess"),
}


def _colours(values) -> dict:
    values = list(values)
    span = max(len(values) - 1, 1)
    return {v: DEPTH_CMAP(0.85 * i / span) for i, v in enumerate(values)}


def _style_subplots(rows, cols, size):
    """A pyplot-free figure with a grid of axes (flat array, or one Axes)."""
    fig = Figure(figsize=size)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes.ravel() if rows * cols > 1 else axes[0, 0]


def _ufm_panel_sel(ds, lam, loss, bias):
    lam = float(ds["lam"].values[0] if lam is None else lam)
    return ds.sel(lam=lam, loss=loss, bias=bias), lam


def plot_ufm_metrics(
    ds: xr.Dataset,
    *,
    lam: float | None = None,
    loss: str = "mse",
    bias: int = 0,
    profiles: Sequence[str] | None = None,
) -> Figure:
    r"""NC metrics against the GD step, one row per class profile, one line per depth.

    Columns for ``loss="mse"``: NC1 of the features; NC2 of :math:`WW^\top` against
    the closed-form general orthogonal frame :math:`\operatorname{diag}(a_k^2)`; the
    GOF NC3 :math:`w_k \propto (a_k^2+N\lambda)\bar h_k`; the largest relative error
    of :math:`\|w_k\|^2` against :math:`a_k^2`; and the objective minus the
    closed-form minimum. For ``loss="ce"``: NC1; NC2 against the simplex ETF; NC3
    (:math:`W^\top` against the centred class means); and the objective minus the
    balanced ETF value, which exists only for balanced classes without bias (a panel
    without one says so) and is the minimum only at depth 1: deeper networks can
    end below it. Mean ± SEM over ``trial`` (bands). The objective column keeps its
    sign, on a symmetric-log axis.

    The metric axes are logarithmic and a converged run's metric can be exactly 0
    (the sims clamp rounding noise at 0): a trial mean of 0 is a ▼ on the lower edge
    of its panel (``figures._style.mark_zeros``, gid ``zeros:<var>:<profile>:<M>``),
    and a band whose mean − SEM is <= 0 (up to rounding, ``_ROUNDING``) runs down to
    that edge. The first panel's legend counts both; the title counts the trial
    values that are exactly 0. Gids of the mean lines: ``mean:<var>:<profile>:<M>``;
    of the bands: ``band:<var>:<profile>:<M>``.
    """
    if loss not in _UFM_COLUMNS:
        raise ValueError(f"plot_ufm_metrics: loss must be 'mse' or 'ce', got {loss!r}")
    sub, lam = _ufm_panel_sel(ds, lam, loss, bias)
    profiles = list(sub["profile"].values if profiles is None else profiles)
    depths = sub["depth"].values
    cols = _colours(depths)
    sub = sub.assign(excess=sub["objective"] - sub["objective_theory"])
    sub["excess"].attrs = _EXCESS_ATTRS[loss]
    columns = _UFM_COLUMNS[loss]
    step = sub["step"].values
    pos = step > 0
    zeros = to_edge = 0
    with _style.style():
        fig, axes = _style_subplots(
            len(profiles), len(columns), (2.2 * len(columns), 2.0 * len(profiles) + 0.4)
        )
        axes = np.asarray(axes).reshape(len(profiles), len(columns))
        for r, prof in enumerate(profiles):
            for c, var in enumerate(columns):
                ax = axes[r, c]
                if var == "excess":
                    _plot_signed(ax, sub[var].sel(profile=prof), step, pos, cols)
                    _no_closed_form(ax, sub[var].sel(profile=prof), f"{var}:{prof}")
                    ax.set_xscale("log")
                    ax.set_ylabel(_metric_label(sub[var]), fontsize=7)
                    if r == len(profiles) - 1:
                        ax.set_xlabel(_style.label(ds["step"]))
                    continue
                ax.set_yscale("log")
                for m in depths:
                    da = sub[var].sel(profile=prof, depth=m)
                    key = f"{var}:{prof}:{m}"
                    mean, sem = _style.mean_sem(da)
                    y = np.abs(mean.values[pos])
                    ax.plot(
                        step[pos],
                        np.where(y > 0, y, np.nan),
                        color=cols[m],
                        label=f"M={m}",
                        gid=f"mean:{key}",
                    )
                    zeros += _style.mark_zeros(
                        ax, step[pos], y, colour=cols[m], gid=f"zeros:{key}"
                    )
                    e = sem.values[pos]
                    if np.all(np.isfinite(e)):
                        lo = y - e  # <= 0 (within rounding): to the lower edge
                        lo = np.where(lo > _ROUNDING * y, lo, 0.0)
                        to_edge += int(np.sum((lo <= 0) & (y > 0)))
                        ax.fill_between(
                            step[pos],
                            lo,
                            y + e,
                            where=y > 0,
                            color=cols[m],
                            alpha=0.2,
                            lw=0,
                            gid=f"band:{key}",
                        )
                ax.set_xscale("log")
                if r == len(profiles) - 1:
                    ax.set_xlabel(_style.label(ds["step"]))
                ax.set_ylabel(_metric_label(sub[var]), fontsize=7)
            axes[r, 0].set_title(_profile_label(prof), loc="left", fontsize=8)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        if zeros:
            handle, text = _style.zeros_entry(zeros, "trial mean")
            handles.append(handle)
            labels.append(text.replace(", on", ",\non"))
        if to_edge:
            handles.append(mpl.patches.Patch(color="0.3", alpha=0.2, lw=0))
            labels.append(f"mean − SEM <= 0 ({to_edge}):\nband to the lower edge")
        axes[0, 0].legend(handles, labels, loc="lower left", fontsize=6.5)
        trials = sub.sizes["trial"]
        spread = (
            f"mean ± SEM over {trials} trials (bands)"
            if trials > 1
            else "one trial: no SEM"
        )
        values = sub[list(columns)].sel(profile=profiles).isel(step=pos)
        exact = sum(int((values[v] == 0).sum()) for v in columns)
        if exact:
            spread += f"; {exact} trial values are exactly 0"
        fig.suptitle(
            rf"deep linear UFM, {loss.upper()}, bias={bias}, $\lambda={lam:g}$, "
            f"width {ds.attrs.get('width', '?')}; {spread}",
            fontsize=9,
        )
        fig.tight_layout()
    return fig


def _plot_signed(ax, da: xr.DataArray, step, pos, cols) -> None:
    """Mean ± SEM over trials of ``da`` per depth with its sign, on a symmetric-log
    axis linear below the decade of the smallest non-zero |mean|. Gids as in
    :func:`plot_ufm_metrics`."""
    means = {}
    for m in da["depth"].values:
        mean, sem = _style.mean_sem(da.sel(depth=m))
        means[m] = (mean.values[pos], sem.values[pos])
    size = np.abs(np.concatenate([y for y, _ in means.values()]))
    size = size[np.isfinite(size) & (size > 0)]
    floor = 10.0 ** np.floor(np.log10(size.min())) if size.size else 1.0
    ax.set_yscale("symlog", linthresh=floor)
    span = np.log10(size.max() / floor) if size.size else 0.0
    step_decades = max(1, int(np.ceil(span / 4)))  # at most ~5 labels per sign
    ax.yaxis.set_major_locator(
        mpl.ticker.SymmetricalLogLocator(base=10.0**step_decades, linthresh=floor)
    )
    ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
    for m, (y, e) in means.items():
        key = f"{da.name}:{da['profile'].item()}:{m}"
        ax.plot(step[pos], y, color=cols[m], label=f"M={m}", gid=f"mean:{key}")
        if np.all(np.isfinite(e)):
            band = dict(color=cols[m], alpha=0.2, lw=0, gid=f"band:{key}")
            ax.fill_between(step[pos], y - e, y + e, **band)


def _no_closed_form(ax, da: xr.DataArray, key: str) -> None:
    """Say so on a panel whose closed-form comparison is NaN throughout."""
    if da.isnull().all():
        ax.text(
            0.5,
            0.5,
            "no closed form",
            ha="center",
            va="center",
            transform=ax.transAxes,
            fontsize=7,
            gid=f"none:{key}",
        )
        ax.set_yticks([])


def _metric_label(da: xr.DataArray) -> str:
    """``long_name`` over ``$symbol$`` (two lines: the panels are narrow)."""
    name = str(da.attrs.get("long_name") or da.name)
    sym = da.attrs.get("math_symbol")
    return f"{name}\n${sym}$" if sym else name


def _profile_label(profile: str) -> str:
    sizes = parse_profile(profile)
    if len(set(sizes)) == 1:
        return f"balanced {len(sizes)}x{sizes[0]}"
    return "n = " + "-".join(map(str, sizes)) if len(sizes) <= 5 else f"K={len(sizes)}"


def plot_ufm_lengths(
    ds: xr.Dataset, *, lam: float | None = None, loss: str = "mse", bias: int = 0
) -> Figure:
    r"""Classifier lengths :math:`\|w_k\|^2` against :math:`n_k`, and the threshold.

    Left: markers for every class of every saved profile at the last step (mean ±
    SEM over ``trial``), offset along :math:`n_k` by depth (factor
    ``_DEPTH_OFFSET`` per depth) and sized by depth so that none hide another;
    lines: :func:`theory.neural_collapse.deep_linear_class_a2` on a dense :math:`n`
    grid at each profile's :math:`N`, one colour per depth. Right (theory): the same
    curves at the largest imbalanced :math:`N` and a :math:`\lambda` picked by
    :func:`threshold_lambda` so that the minority-class collapse thresholds
    :math:`n_c = b/\varphi_c(M)` (:func:`theory.neural_collapse.nonzero_threshold`)
    fall inside the plotted sizes: below :math:`n_c` the global minimizer has
    :math:`w_k = 0`. Gids: ``threshold:<M>`` (the dotted :math:`n_c` lines),
    ``a2:<M>`` (the right-hand curves).
    """
    if loss != "mse":
        raise ValueError(
            f"plot_ufm_lengths: the closed form a_k^2 is MSE's; got loss={loss!r}"
        )
    sub, lam = _ufm_panel_sel(ds, lam, loss, bias)
    depths = sub["depth"].values
    cols = _colours(depths)
    last = sub.isel(step=-1)
    markers = "os^Dv<>"
    with _style.style():
        fig, (ax, ax2) = _style_subplots(1, 2, (8.4, 3.4))
        totals = set()
        for ip, prof in enumerate(sub["profile"].values):
            sizes = np.asarray(parse_profile(prof), dtype=float)
            totals.add(float(sizes.sum()))
            for j, m in enumerate(depths):
                da = last["diag_wwt"].sel(profile=prof, depth=m)
                mean, sem = _style.mean_sem(da)
                shift = _DEPTH_OFFSET ** (j - (len(depths) - 1) / 2)
                ax.errorbar(
                    sizes * shift,
                    mean.values[: sizes.size],
                    yerr=sem.values[: sizes.size],
                    fmt=markers[ip % len(markers)],
                    color=cols[m],
                    ms=3.0 + 1.5 * j,
                    mfc=cols[m] if ip == 0 else "none",
                    zorder=3 + j,
                    label=_profile_label(prof) if m == depths[-1] else None,
                )
        lo = min(min(parse_profile(p)) for p in sub["profile"].values)
        hi = max(max(parse_profile(p)) for p in sub["profile"].values)
        dense = np.geomspace(lo / 1.5, hi * 1.5, 200)
        for N in sorted(totals):
            for m in depths:
                a2 = deep_linear_class_a2(
                    dense, num_samples=N, depth=int(m), lam_w=lam, lam_h=lam
                )
                ax.plot(
                    dense,
                    a2,
                    color=cols[m],
                    lw=1.0,
                    zorder=2,
                    label=f"M={m}" if N == min(totals) else None,
                )
        ax.set_xscale("log")
        _style.plain_log_ticks(ax.xaxis)
        ax.set_xlabel("class size $n_k$ (markers offset by depth)")
        ax.set_ylabel(_style.label(ds["diag_wwt"]))
        ax.set_title(
            rf"last GD step vs closed form ($\lambda={lam:g}$)", fontsize=8, loc="left"
        )
        ax.legend(loc="upper left", fontsize=6.5)
        _plot_threshold(ax2, ds, depths, cols, max(totals), lo, hi)
        fig.tight_layout()
    return fig
