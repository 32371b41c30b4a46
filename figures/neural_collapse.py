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
- ``nc_ufm_metrics`` and ``nc_ufm_metrics_ce`` (``ufm`` grid): NC metrics against the
  GD step for every depth, balanced and imbalanced, for MSE (distances to the
  closed-form general orthogonal frame) and cross-entropy (distances to the simplex
  ETF and to self-duality).
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
from figures._nc_threshold import collapse_size
from figures._nc_threshold import threshold_lambda
from figures._nc_ufm import _colours
from figures._nc_ufm import _style_subplots
from figures._nc_ufm import plot_ufm_lengths
from figures._nc_ufm import plot_ufm_metrics
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


def check_grid(ds: xr.Dataset, source: str = "grid") -> str:
    """The grid's experiment name, or :class:`GridError` naming what is missing."""
    kind = ds.attrs.get("experiment")
    if kind not in EXPERIMENTS:
        raise GridError(f"{source}: not a neural_collapse grid (experiment={kind!r})")
    check_kind(ds, kind, *EXPERIMENTS[kind], source)
    return str(kind)


def load_grid(path: str | Path) -> xr.Dataset:
    """Open a saved neural_collapse grid and check it (else :class:`GridError`)."""
    return open_grid(path, check_grid, module="sims.neural_collapse")


def _nearest(values, target: float):
    values = np.asarray(values, dtype=np.float64)
    return values[np.argmin(np.abs(np.log(values) - np.log(target)))]


# --- perturbation -------------------------------------------------------------------


def plot_perturbation_spectrum(
    ds: xr.Dataset, *, beta: float = 100.0, lam_w: float | None = None
) -> Figure:
    r"""Spectrum of :math:`F_{kk}` against :math:`\lambda_H`, and Theorem 4.2 errors.

    Left: every singular value of :math:`F_{kk}` (every class and trial) at the saved
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
        sv = ds["sv_intra"].sel(beta=b, lam_w=lw)
        sv = sv.transpose("lam_h", "sv_index", ...)
        lam_h = sv["lam_h"].values
        copies = sv.sizes["trial"] * sv.sizes["class"]
        for i in range(sv.sizes["sv_index"]):
            ax.plot(
                np.repeat(lam_h, copies),
                sv.isel(sv_index=i).values.ravel(),
                "o",
                ms=2.5,
                color="k",
                alpha=0.5,
                label=(
                    f"finite differences ({sv.sizes['class']} classes × "
                    f"{sv.sizes['trial']} trial{'s' * (sv.sizes['trial'] > 1)})"
                    if i == 0
                    else None
                ),
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
        bias = 0 if 0 in ds["bias"].values else int(ds["bias"].values[0])
        for name in ds["loss"].values:
            written += _style.save(
                plot_ufm_metrics(ds, loss=str(name), bias=bias),
                out_dir,
                "nc_ufm_metrics" + ("" if name == "mse" else f"_{name}"),
            )
        if "mse" in ds["loss"].values:
            written += _style.save(
                plot_ufm_lengths(ds, bias=bias), out_dir, "nc_ufm_lengths"
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
