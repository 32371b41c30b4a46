r"""Figures of neural collapse, drawn from grids saved by ``sims.neural_collapse``.

``python -m figures.neural_collapse GRID.nc [GRID.nc ...] [--out figures/out]``
reads one or more saved grids (one per experiment; the newest of each kind wins) and
writes, as PNG and PDF:

- ``nc_perturbation_spectrum`` (``perturbation`` grid): the singular values of the
  intra-class block :math:`F_{kk}` of the response operator against :math:`\lambda_H`
  at one :math:`\beta` (the idea of Fig. 1 of Tirer, Huang & Niles-Weed,
  arXiv:2210.16658), measured by finite differences (markers) with the first-order
  levels :math:`1-\kappa/\beta` of Theorem 4.2 (lines); and the error of the three
  Theorem 4.2 predictions, times :math:`\beta`, against :math:`\beta`.
- ``nc_central_path`` (``central_path`` grid): :math:`\widetilde{NC}_1`,
  :math:`e^{2\lambda_H t}\operatorname{Tr}\Sigma_W` and
  :math:`e^{2\lambda_H t}\operatorname{Tr}\Sigma_B` along the flow (Theorem 3.1),
  relative to :math:`t = 0`, and :math:`\widetilde{NC}_1(H_{1/\beta})` against
  :math:`\beta` with its first-order prediction (Corollary 3.2).
- ``nc_ufm_metrics`` (``ufm`` grid): NC metrics against the GD step for every depth,
  balanced and imbalanced, with the distance to the closed-form limits.
- ``nc_ufm_lengths`` (``ufm`` grid): the classifier lengths :math:`\|w_k\|^2` at the
  last step against the class size, with the closed-form :math:`a_k^2(n_k)` curves.
- ``nc_digits_layers`` (``digits`` grid): NC1 and NC1~ of the deepest features
  against the number of layers.

Simulation is drawn as markers (mean ± SEM over ``trial``), theory as lines computed
here from :mod:`theory.neural_collapse` on denser grids. The plotting functions are
pure: they return a :class:`matplotlib.figure.Figure` and write nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from figures import _style
from figures._grid import GridError
from figures._grid import check_kind
from figures._grid import figure_main
from figures._grid import open_grid
from figures._nc_threshold import _plot_threshold
from figures._nc_threshold import collapse_size
from figures._nc_threshold import threshold_lambda
from sims.neural_collapse import parse_profile
from theory.neural_collapse import deep_linear_class_a2
from theory.neural_collapse import near_collapse_spectrum

__all__ = [
    "EXPERIMENTS",
    "GridError",
    "check_grid",
    "collapse_size",
    "load_grid",
    "main",
    "plot_central_path",
    "plot_digits_layers",
    "plot_perturbation_spectrum",
    "plot_ufm_lengths",
    "plot_ufm_metrics",
    "threshold_lambda",
    "write_figures",
]

# experiment -> (dims, variables) a grid of that kind must have.
EXPERIMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ufm": (
        ("depth", "profile", "lam", "bias", "loss", "trial", "step", "class"),
        ("nc1", "nc2_gof", "nc3_gof", "diag_wwt", "diag_wwt_theory", "rel_err"),
    ),
    "perturbation": (
        ("beta", "lam_h", "lam_w", "trial", "sv_index", "class"),
        ("sv_intra", "sigma_min_intra", "sigma_max_inter", "sigma_max_intra"),
    ),
    "central_path": (
        ("lam_h", "lam_w", "trial", "time", "beta"),
        ("nc1_tilde", "scaled_tr_sigma_w", "scaled_tr_sigma_b", "nc1_tilde_prox"),
    ),
    "digits": (("loss", "trial", "layer"), ("nc1", "nc1_tilde")),
}
DEPTH_CMAP = mpl.colormaps["viridis"]
_DEPTH_OFFSET = 1.06  # factor between depths' marker positions along n_k
_ROUNDING = 1e-12  # mean − SEM below this x mean is 0 up to rounding (2 trials: 0, v)


def check_grid(ds: xr.Dataset, source: str = "grid") -> str:
    """The grid's experiment name, or :class:`GridError` naming what is missing."""
    kind = ds.attrs.get("experiment")
    if kind not in EXPERIMENTS:
        raise GridError(f"{source}: not a neural_collapse grid (experiment={kind!r})")
    check_kind(ds, kind, *EXPERIMENTS[kind], source)
    return str(kind)


def load_grid(path: str | Path) -> xr.Dataset:
    """Open a saved neural_collapse grid and check it (else :class:`GridError`)."""
    return open_grid(path, check_grid)


def _colours(values) -> dict:
    values = list(values)
    span = max(len(values) - 1, 1)
    return {v: DEPTH_CMAP(0.85 * i / span) for i, v in enumerate(values)}


def _nearest(values, target: float):
    values = np.asarray(values, dtype=np.float64)
    return values[np.argmin(np.abs(np.log(values) - np.log(target)))]


# --- perturbation -------------------------------------------------------------------


def plot_perturbation_spectrum(
    ds: xr.Dataset, *, beta: float = 100.0, lam_w: float | None = None
) -> Figure:
    r"""Spectrum of :math:`F_{kk}` against :math:`\lambda_H`, and Theorem 4.2 errors.

    Left: every singular value of :math:`F_{kk}` (class 0, trial 0) at the saved
    :math:`\beta` nearest ``beta``, as markers; lines are the five first-order levels
    :math:`1-\kappa_i(\lambda_H)/\beta`. Right: :math:`\beta\,|x - x_{pred}|` for
    the three Theorem 4.2 quantities against :math:`\beta` (slope -1 means the error
    of :math:`x` falls like :math:`\beta^{-2}`, i.e. the first-order prediction of
    :math:`\beta(1-x)` is off by :math:`O(1/\beta)`).
    """
    b = float(_nearest(ds["beta"].values, beta))
    lw = float(ds["lam_w"].values[0] if lam_w is None else lam_w)
    K, n, d = (int(ds.attrs[k]) for k in ("classes", "n", "width"))
    with _style.style():
        fig, (ax, ax2) = _style_subplots(1, 2, (7.2, 3.0))
        sub = ds.sel(beta=b, lam_w=lw).isel(trial=0, **{"class": 0})
        lam_h = sub["lam_h"].values
        for i in range(sub.sizes["sv_index"]):
            ax.plot(
                lam_h,
                sub["sv_intra"].isel(sv_index=i),
                "o",
                ms=2.5,
                color="k",
                alpha=0.5,
                label="finite differences" if i == 0 else None,
            )
        dense = np.geomspace(lam_h.min(), lam_h.max(), 200)
        pred = near_collapse_spectrum(K, n, d, beta=b, lam_w=lw, lam_h=dense)
        names = (
            r"$\kappa=0$",
            r"$\kappa=\lambda_H$",
            r"$\kappa=\sqrt{\lambda_H/\lambda_W}$",
            r"$\kappa=2\lambda_H(1-c)$",
            r"$\kappa=4\lambda_H(1-c)$",
        )
        for j, name in enumerate(names):
            if pred.multiplicity[j] > 0:
                ax.plot(dense, 1 - pred.kappa[:, j] / b, lw=1.2, label=name)
        ax.set_xscale("log")
        ax.set_xlabel(_style.label(ds["lam_h"]))
        ax.set_ylabel(f"singular values {_style.symbol(ds['sv_intra'])}")
        ax.set_title(rf"$\beta={b:g}$, $\lambda_W={lw:g}$, K={K}, n={n}, d={d}")
        ax.legend(
            loc="lower left",
            title=r"Theorem 4.2, $\sigma = 1-\kappa/\beta$ with",
            fontsize=6.5,
        )
        _plot_theorem_errors(ax2, ds, lw)
        fig.tight_layout()
    return fig


def _style_subplots(rows, cols, size):
    """A pyplot-free figure with a grid of axes (flat array, or one Axes)."""
    fig = Figure(figsize=size)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes.ravel() if rows * cols > 1 else axes[0, 0]


def _plot_theorem_errors(ax, ds, lw):
    beta = ds["beta"].values
    lam_h = ds["lam_h"].values
    cols = _colours(lam_h)
    for lh in lam_h:
        s = ds.sel(lam_w=lw, lam_h=lh)
        for var, marker in (
            ("sigma_min_intra", "o"),
            ("sigma_max_inter", "s"),
        ):
            err = s["beta"] * abs(s[var].mean("trial") - s[f"{var}_theory"])
            ax.plot(
                beta, err.values, marker=marker, ls="-", lw=0.8, color=cols[lh], ms=3
            )
    ref = beta.astype(float)
    scale = float(
        (ds["beta"] * abs(ds["sigma_min_intra"] - ds["sigma_min_intra_theory"]))
        .sel(lam_w=lw)
        .max()
    )
    ax.plot(ref, scale * ref[0] / ref, "k--", lw=0.8, label=r"$\propto 1/\beta$")
    handles = [
        mpl.lines.Line2D(
            [], [], marker="o", color="0.3", ls="-", label=r"$\sigma_{\min}(F_{kk})$"
        ),
        mpl.lines.Line2D(
            [],
            [],
            marker="s",
            color="0.3",
            ls="-",
            label=r"$\sigma_{\max}(F_{k\tilde k})$",
        ),
        mpl.lines.Line2D([], [], color="k", ls="--", label=r"$\propto 1/\beta$"),
    ]
    ax.legend(handles=handles, loc="upper right")
    norm = mpl.colors.LogNorm(vmin=lam_h.min(), vmax=lam_h.max())
    sm = mpl.cm.ScalarMappable(
        norm=norm,
        cmap=mpl.colors.ListedColormap([cols[v] for v in lam_h]),
    )
    ax.figure.colorbar(sm, ax=ax, label=_style.label(ds["lam_h"]), pad=0.02)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_style.label(ds["beta"]))
    ax.set_ylabel(r"$\beta\,|\sigma - \sigma_{\mathrm{Thm\,4.2}}|$")
    ax.set_title("Theorem 4.2: error × β")


# --- central path ---------------------------------------------------------------------


def plot_central_path(ds: xr.Dataset, *, lam_w: float | None = None) -> Figure:
    r"""Theorem 3.1 along the flow and Corollary 3.2 against :math:`\beta`.

    Panels 1-3: each quantity divided by its value at :math:`t=0` (mean ± SEM over
    the random ``H0``), one line per :math:`\lambda_H`. Panel 4:
    :math:`\widetilde{NC}_1(H_{1/\beta})/\widetilde{NC}_1(H_0)` (markers) and the
    first-order prediction :math:`1 + \dot{\widetilde{NC}}_1(0)/(\beta
    \widetilde{NC}_1(H_0))` (dashed) for large :math:`\beta`.
    """
    lw = float(ds["lam_w"].values[0] if lam_w is None else lam_w)
    sub = ds.sel(lam_w=lw)
    lam_h = sub["lam_h"].values
    cols = _colours(lam_h)
    with _style.style():
        fig, axes = _style_subplots(1, 4, (10.0, 2.8))
        t = sub["time"].values
        for ax, var in zip(
            axes[:3],
            ("nc1_tilde", "scaled_tr_sigma_w", "scaled_tr_sigma_b"),
            strict=True,
        ):
            rel = sub[var] / sub[var].isel(time=0)
            mean, sem = _style.mean_sem(rel)
            for lh in lam_h:
                m = mean.sel(lam_h=lh).values
                e = sem.sel(lam_h=lh).values
                ax.plot(t, m, color=cols[lh], label=rf"$\lambda_H={lh:g}$")
                if np.all(np.isfinite(e)):
                    ax.fill_between(t, m - e, m + e, color=cols[lh], alpha=0.2, lw=0)
            ax.set_xlabel(_style.label(ds["time"]))
            ax.set_title(f"{_style.symbol(ds[var])} / value at t=0", fontsize=8)
        axes[0].legend(loc="lower left")
        ax = axes[3]
        beta = sub["beta"].values
        for lh in lam_h:
            s = sub.sel(lam_h=lh)
            ratio = s["nc1_tilde_prox"] / s["nc1_tilde_h0"]
            mean, sem = _style.mean_sem(ratio)
            ax.errorbar(beta, mean, yerr=sem, fmt="o", color=cols[lh], ms=3)
            first = (s["nc1_tilde_prox_first_order"] / s["nc1_tilde_h0"]).mean("trial")
            keep = beta >= 10
            ax.plot(beta[keep], first.values[keep], "--", color=cols[lh], lw=0.9)
        ax.axhline(1.0, color="0.5", lw=0.6)
        grey = "0.35"
        ax.legend(
            [
                mpl.lines.Line2D([], [], marker="o", ls="none", color=grey, ms=3),
                mpl.lines.Line2D([], [], ls="--", color=grey, lw=0.9),
            ],
            ["measured (mean ± SEM)", "first order (Cor. 3.2)"],
            loc="best",
            fontsize=6.5,
        )
        axes[1].legend(
            [
                mpl.lines.Line2D([], [], color=grey),
                mpl.patches.Patch(color=grey, alpha=0.2, lw=0),
            ],
            ["mean over $H_0$", f"± SEM ({sub.sizes['trial']} trials)"],
            loc="best",
            fontsize=6.5,
        )
        ax.set_xscale("log")
        ax.set_xlabel(_style.label(ds["beta"]))
        ax.set_title(
            r"$\widetilde{NC}_1(H_{1/\beta})/\widetilde{NC}_1(H_0)$", fontsize=8
        )
        fig.suptitle(
            rf"central path, $\lambda_W={lw:g}$ (Theorem 3.1, Corollary 3.2)",
            fontsize=9,
        )
        fig.tight_layout()
    return fig


# --- ufm ---------------------------------------------------------------------------


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

    Columns: NC1 of the features; NC2 of :math:`WW^\top` against the closed-form
    general orthogonal frame :math:`\operatorname{diag}(a_k^2)`; the GOF NC3
    :math:`w_k \propto (a_k^2+N\lambda)\bar h_k`; the largest relative error of
    :math:`\|w_k\|^2` against :math:`a_k^2`; and the objective's excess over the
    closed-form minimum. Mean ± SEM over ``trial`` (bands).

    The axes are logarithmic and a converged run's metric can be exactly 0 (the sims
    clamp rounding noise at 0): a trial mean of 0 is a ▼ on the lower edge of its
    panel (``figures._style.mark_zeros``, gid ``zeros:<var>:<profile>:<M>``), and
    a band whose mean − SEM is <= 0 (up to rounding, ``_ROUNDING``) runs down to
    that edge. The first panel's legend
    counts both; the title counts the trial values that are exactly 0. Gids of the
    mean lines:
    ``mean:<var>:<profile>:<M>``; of the bands: ``band:<var>:<profile>:<M>``.
    """
    sub, lam = _ufm_panel_sel(ds, lam, loss, bias)
    profiles = list(sub["profile"].values if profiles is None else profiles)
    depths = sub["depth"].values
    cols = _colours(depths)
    sub = sub.assign(excess=sub["objective"] - sub["objective_theory"])
    sub["excess"].attrs = {"long_name": "objective - minimum", "math_symbol": r"L-L^*"}
    columns = ("nc1", "nc2_gof", "nc3_gof", "rel_err", "excess")
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


# --- digits --------------------------------------------------------------------------


def plot_digits_layers(ds: xr.Dataset) -> Figure:
    """NC1 and NC1~ of the deepest features against the number of trained layers.

    Mean ± SEM over ``trial`` on log axes; a mean of exactly 0 is a ▼ on the lower
    edge (``figures._style.mark_zeros``, gid ``zeros:<var>:<loss>``), counted in
    the legend. Gids of the mean lines: ``mean:<var>:<loss>``.
    """
    with _style.style():
        fig, axes = _style_subplots(1, 2, (6.4, 2.8))
        layer = ds["layer"].values
        zeros = 0
        for ax, var in zip(axes, ("nc1", "nc1_tilde"), strict=True):
            ax.set_yscale("log")
            for i, loss in enumerate(ds["loss"].values):
                mean, sem = _style.mean_sem(ds[var].sel(loss=loss))
                y = mean.values
                bars = ax.errorbar(
                    layer,
                    np.where(y > 0, y, np.nan),
                    yerr=sem.values,
                    fmt="o-",
                    ms=3,
                    lw=1,
                    color=f"C{i}",
                    label=f"{str(loss).upper()} (mean ± SEM, n = {ds.sizes['trial']})",
                )
                bars.lines[0].set_gid(f"mean:{var}:{loss}")
                zeros += _style.mark_zeros(
                    ax, layer, y, colour=f"C{i}", gid=f"zeros:{var}:{loss}"
                )
            ax.set_xlabel(_style.label(ds["layer"]))
            ax.set_ylabel(_style.symbol(ds[var]))
            ax.set_title(ds[var].attrs.get("long_name", var), fontsize=8)
        handles, labels = axes[0].get_legend_handles_labels()
        if zeros:
            handle, text = _style.zeros_entry(zeros, "mean")
            handles.append(handle)
            labels.append(text)
        axes[0].legend(handles, labels)
        fig.suptitle("layer-wise trained MLP on digits (layer 0 = pixels)", fontsize=9)
        fig.tight_layout()
    return fig


# --- driver ---------------------------------------------------------------------------


def write_figures(grids: Sequence[xr.Dataset], out_dir: str | Path) -> list[Path]:
    """Draw and save every figure the grids allow; returns the written paths.

    ``grids`` are checked grids, newest first; the first grid of each experiment
    is used. There are no theory-only figures.
    """
    newest: dict[str, xr.Dataset] = {}
    for ds in grids:
        newest.setdefault(check_grid(ds), ds)
    written: list[Path] = []
    if "perturbation" in newest:
        fig = plot_perturbation_spectrum(newest["perturbation"])
        written += _style.save(fig, out_dir, "nc_perturbation_spectrum")
    if "central_path" in newest:
        fig = plot_central_path(newest["central_path"])
        written += _style.save(fig, out_dir, "nc_central_path")
    if "ufm" in newest:
        ds = newest["ufm"]
        loss = "mse" if "mse" in ds["loss"].values else str(ds["loss"].values[0])
        bias = 0 if 0 in ds["bias"].values else int(ds["bias"].values[0])
        written += _style.save(
            plot_ufm_metrics(ds, loss=loss, bias=bias), out_dir, "nc_ufm_metrics"
        )
        written += _style.save(
            plot_ufm_lengths(ds, loss=loss, bias=bias), out_dir, "nc_ufm_lengths"
        )
    if "digits" in newest:
        written += _style.save(
            plot_digits_layers(newest["digits"]), out_dir, "nc_digits_layers"
        )
    return written


main = figure_main(
    name="neural_collapse",
    what="neural-collapse",
    load=load_grid,
    write=write_figures,
)


if __name__ == "__main__":
    sys.exit(main())
