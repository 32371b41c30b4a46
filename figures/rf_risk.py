r"""Figures of random-feature ridge regression risk (arXiv:2311.14646, Figs. 1 and 2).

``python -m figures.rf_risk GRID.nc [--out figures/out] [--ridges 5]`` reads a grid
saved by ``python -m sims.rf_risk --sweep`` and writes, as PNG and PDF:

- ``rf_risk_vs_k`` (if the grid sweeps ``k``): test and train risk against the number
  of features at fixed ``n``, the paper's Fig. 1 left panel (from the grid reaching the
  largest ``k``, the newest among equals: a ``paper`` grid reaches ``k = 10^4``);
- ``rf_risk_vs_n`` (if the grid sweeps ``n``): the same against ``n`` at fixed ``k``,
  the appendix traces;
- ``rf_fitting_ratio``: large-``n`` KRR test risk of a power-law task against the
  fitting ratio :math:`R = E_{tr}/E_{te}` at the :math:`(\alpha, \beta)` the paper
  fits for MNIST, SVHN and CIFAR-10 (Fig. 2's theory curves, from
  :mod:`theory.rf_powerlaw`), normalized as the paper's labels are; with a saved
  ``sims.rf_real`` fitting-ratio grid, a last panel adds its measured points (digits).

Simulation is drawn as markers with error bars (mean ± SEM over ``trial``); theory as
lines computed here with :func:`theory.rf_ridge.rf_ridge_risk` on a denser grid than the
simulation, from the power-law spectrum named by the grid's attrs
(:math:`\lambda_i = i^{-\alpha}`, :math:`v_i^2 = i^{-\beta}`, ``i = 1..num_modes``,
label noise ``noise_var``). The plotting functions are pure: they return a
:class:`matplotlib.figure.Figure` and write nothing.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from figures import _style
from figures._grid import GridError
from figures._grid import add_out_option
from figures._grid import check_kind
from figures._grid import open_grid
from figures._rf_fitting_ratio import DATASETS
from figures._rf_fitting_ratio import DEFAULT_NOISE_REL
from figures._rf_fitting_ratio import DEFAULT_PAIRS
from figures._rf_fitting_ratio import _real_fitting_grid
from figures._rf_fitting_ratio import normalized_risk
from figures._rf_fitting_ratio import plot_fitting_ratio
from sims._cli import _Parser
from sims._cli import quiet_on_closed_pipe
from sims._io import check_folder
from theory.rf_ridge import rf_ridge_risk

__all__ = [
    "DATASETS",
    "DEFAULT_NOISE_REL",
    "DEFAULT_PAIRS",
    "GridError",
    "check_grid",
    "largest_k_grid",
    "load_grid",
    "main",
    "normalized_risk",
    "note_clipped",
    "plot_fitting_ratio",
    "plot_risk_vs",
    "select_ridges",
    "set_risk_ylim",
    "spectrum",
    "swept_dims",
    "theory_grid",
    "write_figures",
]

# The fixed n (k) of a k-sweep (n-sweep) when a grid sweeps both: the paper's 256.
DEFAULT_AT = 256

_DIMS = ("n", "k", "ridge", "trial")
_SIM_VARS = ("test_risk", "train_risk")
_ATTRS = ("alpha", "beta", "num_modes", "noise_var")
# Coordinate labels when a grid's coords carry no attrs of their own.
_COORD_ATTRS = {
    "n": {"long_name": "training samples", "math_symbol": "n", "units": "1"},
    "k": {"long_name": "random features", "math_symbol": "k", "units": "1"},
    "ridge": {"long_name": "ridge", "math_symbol": r"\delta", "units": "1"},
}
_ENVELOPE_RIDGES = (
    41  # log-spaced ridges over the saved range for the optimal-ridge line
)
_TRAIN_DECADES = 2.0  # how far below the least test risk the y range may reach
_THEORY_RTOL = 1e-4  # recomputed vs saved theory; looser than float64 for float32 grids


def check_grid(ds: xr.Dataset, source: str = "grid") -> None:
    """Raise :class:`GridError` unless ``ds`` has an rf_risk grid's dims/vars/attrs."""
    check_kind(ds, "rf_risk", _DIMS, _SIM_VARS, source)
    for name in _SIM_VARS:
        absent = set(_DIMS) - set(ds[name].dims)
        if absent:
            raise GridError(f"{source}: {name} lacks dims {sorted(absent)}")
    missing = [a for a in _ATTRS if a not in ds.attrs]
    if missing:
        raise GridError(f"{source}: not an rf_risk grid: missing attrs {missing}")
    try:
        alpha, beta, modes, noise = (float(ds.attrs[a]) for a in _ATTRS)
    except (TypeError, ValueError) as err:
        raise GridError(f"{source}: non-numeric spectrum attrs ({err})") from None
    if not (np.isfinite([alpha, beta, noise]).all() and noise >= 0 and alpha > 0):
        raise GridError(
            f"{source}: invalid spectrum attrs alpha={alpha}, beta={beta}, "
            f"noise_var={noise}"
        )
    if not (modes >= 1 and modes == int(modes)):
        raise GridError(f"{source}: num_modes must be a positive integer, got {modes}")
    ridge = np.asarray(ds["ridge"].values, dtype=np.float64)
    if not (np.all(np.isfinite(ridge)) and np.all(ridge >= 0) and np.any(ridge > 0)):
        raise GridError(f"{source}: ridges must be >= 0 with one > 0, got {ridge}")
    for d in ("n", "k"):
        v = np.asarray(ds[d].values, dtype=np.float64)
        if not np.all(v >= 1):
            raise GridError(f"{source}: {d} values must be >= 1, got {v}")


def load_grid(path: str | Path) -> xr.Dataset:
    """Open a saved rf_risk grid and check it (:class:`GridError` if it is not one)."""
    return open_grid(path, check_grid, module="sims.rf_risk")


def spectrum(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    r"""Eigenvalues :math:`i^{-\alpha}`, target power :math:`i^{-\beta}` of a grid."""
    i = np.arange(1, int(ds.attrs["num_modes"]) + 1, dtype=np.float64)
    return i ** -float(ds.attrs["alpha"]), i ** -float(ds.attrs["beta"])


def swept_dims(ds: xr.Dataset) -> tuple[str, ...]:
    """Which of ``k``, ``n`` the grid sweeps (length > 1), in that order."""
    return tuple(d for d in ("k", "n") if ds.sizes[d] > 1)


def select_ridges(
    saved: Sequence[float] | np.ndarray, ridges: int | Sequence[float] = 5
) -> np.ndarray:
    """Saved ridges to draw: ``ridges`` of them evenly spaced in log, or the nearest.

    With an int, picks that many positive saved ridges nearest (in log) to a log-spaced
    sequence from the smallest to the largest, without repeats. With values, picks the
    saved ridge nearest in log to each. Returns them sorted.

    Raises:
      ValueError: a count below 1 or a non-positive requested ridge.
    """
    saved = np.asarray(saved, dtype=np.float64)
    pos = np.unique(saved[saved > 0])
    if isinstance(ridges, (int, np.integer)):
        if ridges < 1:
            raise ValueError(f"ridges must be >= 1, got ridges={ridges}")
        if ridges >= pos.size:
            return pos
        targets = np.geomspace(pos[0], pos[-1], int(ridges))
    else:
        targets = np.asarray(ridges, dtype=np.float64).ravel()
        if not np.all(targets > 0):
            raise ValueError(f"requested ridges must be > 0, got {targets}")
    idx = np.abs(np.log(pos)[None, :] - np.log(targets)[:, None]).argmin(axis=1)
    return pos[np.unique(idx)]


def theory_grid(lo: float, hi: float, peak: float | None, num: int = 100) -> np.ndarray:
    """About ``num`` log-spaced points on ``[lo, hi]``, 40% of them near ``peak``.

    The dense part spans ``[peak/2, 2 peak]`` (clipped to the range), where the
    interpolation peak at ``k = n`` is sharp. Always contains ``lo`` and ``hi``.
    """
    base = np.geomspace(lo, hi, num)
    if peak is None or not lo < peak < hi:
        return base
    n_peak = round(0.4 * num)
    wide = np.geomspace(lo, hi, num - n_peak)
    near = np.geomspace(max(lo, peak / 2), min(hi, peak * 2), n_peak)
    return np.unique(np.concatenate([wide, near]))


def _coord_label(ds: xr.Dataset, dim: str) -> str:
    da = ds[dim].copy()
    da.attrs = {**_COORD_ATTRS.get(dim, {}), **da.attrs}
    return _style.label(da)


def _coord_symbol(ds: xr.Dataset, dim: str) -> str:
    sym = ds[dim].attrs.get("math_symbol") or _COORD_ATTRS[dim]["math_symbol"]
    return str(sym)


def _fixed_value(ds: xr.Dataset, other: str, at: float | None) -> float:
    values = np.asarray(ds[other].values, dtype=np.float64)
    if at is None:
        return values[np.abs(np.log(values) - np.log(DEFAULT_AT)).argmin()]
    if not np.any(values == at):
        raise ValueError(f"{other}={at} is not a saved value; saved: {values}")
    return float(at)


def _theory(ds, dim, other, x, fixed, ridge):
    """rf_ridge_risk over ``ridge`` (rows) x ``x`` (columns) at ``other = fixed``."""
    lam, v2 = spectrum(ds)
    out = rf_ridge_risk(
        lam,
        v2,
        **{dim: np.asarray(x, dtype=np.float64)[None, :], other: fixed},
        ridge=np.asarray(ridge, dtype=np.float64)[:, None],
        noise_var=float(ds.attrs["noise_var"]),
    )
    test = np.where(np.isfinite(out.test_risk), out.test_risk, np.nan)
    train = np.where(np.isfinite(out.train_risk), out.train_risk, np.nan)
    return test, train


def _check_saved_theory(ds, dim, other, x, fixed, ridges) -> None:
    """Warn when the theory recomputed from the attrs is not the grid's saved one."""
    if "test_risk_theory" not in ds.data_vars:
        return
    saved = (
        ds["test_risk_theory"]
        .sel({other: fixed})
        .sel(ridge=ridges)
        .transpose("ridge", dim)
        .values
    )
    test, _ = _theory(ds, dim, other, x, fixed, ridges)
    ok = np.isnan(test) | np.isclose(test, saved, rtol=_THEORY_RTOL, atol=0)
    if not ok.all():
        gap = np.nanmax(np.abs(test / saved - 1))
        warnings.warn(
            f"theory from the grid's spectrum attrs differs from its saved "
            f"test_risk_theory by up to {gap:.2g} (relative): the lines may not be "
            f"the theory the simulation was compared with",
            stacklevel=3,
        )


def plot_risk_vs(
    ds: xr.Dataset,
    dim: str = "k",
    *,
    ridges: int | Sequence[float] = 5,
    at: float | None = None,
    num_theory: int = 100,
    ax: Axes | None = None,
) -> Figure:
    r"""Test and train risk against ``dim`` (``"k"`` or ``"n"``), the other one fixed.

    Log-log. For each drawn ridge (colour on a log scale, colour bar at the right):
    simulated test risk as markers with error bars (mean ± SEM over ``trial``),
    simulated train risk as faint markers, theory test (solid) and train (dotted) from
    :func:`theory.rf_ridge.rf_ridge_risk` on :func:`theory_grid` (about ``num_theory``
    points, denser near the peak). Dashed: the optimal-ridge envelope, the minimum of
    the theory test risk over a dense log grid of ridges spanning the saved ones (and
    including them). A thin vertical line marks the interpolation peak ``k = n``.

    The y range covers the test risks and the train risks down to
    ``_TRAIN_DECADES`` decades below the least test risk; a note (gid
    ``clipped``) names the ridges whose train risk runs below it. The legend says
    when the SEM bars are shorter than the markers (measured on the final layout).

    Artists carry gids for tests: ``sim:test_risk:<ridge>``, ``sim:train_risk:<ridge>``
    (the errorbar data lines), ``theory:test_risk:<ridge>``,
    ``theory:train_risk:<ridge>``, ``theory:optimal_ridge``, ``peak``.

    Args:
      ds: an rf_risk grid (see :func:`check_grid`).
      dim: the swept dimension on the x axis, ``"k"`` or ``"n"``.
      ridges: how many saved ridges to draw (evenly spaced in log), or which.
      at: the fixed value of the other dimension; default: the saved value nearest
        256 in log (the only one for a one-dimensional sweep).
      num_theory: about how many theory points along x.
      ax: draw into this Axes instead of a new figure.

    Returns:
      The Figure holding the axes.

    Raises:
      ValueError: ``dim`` not ``"k"``/``"n"`` or not swept, ``at`` not saved, or a
        grid that fails :func:`check_grid`.
    """
    if dim not in ("k", "n"):
        raise ValueError(f"dim must be 'k' or 'n', got dim={dim!r}")
    check_grid(ds)
    if ds.sizes[dim] < 2:
        raise ValueError(f"the grid does not sweep {dim} (only {dim}={ds[dim].values})")
    other = "n" if dim == "k" else "k"
    fixed = _fixed_value(ds, other, at)
    sub = ds.sel({other: fixed})
    x = np.asarray(sub[dim].values, dtype=np.float64)
    saved = np.asarray(ds["ridge"].values, dtype=np.float64)
    chosen = select_ridges(saved, ridges)
    norm = _style.ridge_norm(saved)

    xt = theory_grid(x.min(), x.max(), fixed, num_theory)
    env_ridges = np.unique(
        np.concatenate(
            [np.geomspace(saved[saved > 0].min(), saved.max(), _ENVELOPE_RIDGES), saved]
        )
    )
    test_all, train_all = _theory(ds, dim, other, xt, fixed, env_ridges)
    rows = np.searchsorted(env_ridges, chosen)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        envelope = np.nanmin(test_all, axis=0)
    _check_saved_theory(ds, dim, other, x, fixed, chosen)

    trials = ds.sizes["trial"]
    tex, trx = ds["test_risk"], ds["train_risk"]
    with _style.style():
        own_figure = ax is None
        if ax is None:
            fig = Figure(figsize=(5.4, 4.2), layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.get_figure()
        shown = [envelope, test_all[rows].ravel()]  # what sets the y range
        train_shown = [train_all[rows].ravel()]
        test_bars = []  # (mean, sem) of the drawn test risks, for the SEM note
        for r, row in zip(chosen.tolist(), rows, strict=True):
            colour = _style.ridge_colour(r, norm)
            for name, faint in (("train_risk", True), ("test_risk", False)):
                da = sub[name].sel(ridge=r).transpose(dim, "trial")
                gid = f"sim:{name}:{r!r}"
                mean, sem = _style.risk_points(ax, x, da, colour, faint=faint, gid=gid)
                (train_shown if faint else shown).append(mean.values)
                if not faint:
                    test_bars.append((mean.values, sem.values))
            ax.plot(xt, test_all[row], "-", color=colour, lw=1.3, zorder=4)[0].set_gid(
                f"theory:test_risk:{r!r}"
            )
            ax.plot(xt, train_all[row], ":", color=colour, lw=1.3, zorder=4)[0].set_gid(
                f"theory:train_risk:{r!r}"
            )
        ax.plot(xt, envelope, "--", color="0.1", lw=1.1, zorder=5)[0].set_gid(
            "theory:optimal_ridge"
        )
        if x.min() < fixed < x.max():
            ax.axvline(fixed, color="0.55", lw=0.8, zorder=1, gid="peak")
        ax.set_xscale("log")
        ax.set_yscale("log")
        pad = (x.max() / x.min()) ** 0.02
        ax.set_xlim(x.min() / pad, x.max() * pad)
        low = set_risk_ylim(ax, shown, train_shown)
        note_clipped(ax, sub, dim, xt, chosen, rows, train_all, low)
        _style.plain_log_ticks(ax.yaxis)
        ax.set_xlabel(_coord_label(ds, dim))
        ax.set_ylabel(f"{_style.label(tex)} and {_style.label(trx)}")

        sym_dim, sym_other = _coord_symbol(ds, dim), _coord_symbol(ds, other)
        sym_ridge = _coord_symbol(ds, "ridge")
        ax.set_title(
            f"${sym_other} = {fixed:g}$;  power law $\\alpha = "
            f"{float(ds.attrs['alpha']):g}$, $\\beta = {float(ds.attrs['beta']):g}$, "
            f"$\\sigma^2 = {float(ds.attrs['noise_var']):g}$, "
            f"{int(ds.attrs['num_modes'])} modes",
            loc="left",
        )
        grey = "0.3"
        handles = [
            Line2D([], [], marker="o", ls="none", color=grey, ms=_style.TEST_MS),
            Line2D(
                [],
                [],
                marker="o",
                ls="none",
                color=grey,
                ms=_style.TRAIN_MS,
                alpha=0.35,
            ),
            Line2D([], [], ls="-", color=grey),
            Line2D([], [], ls=":", color=grey),
            Line2D([], [], ls="--", color="0.1"),
            Line2D([], [], ls="-", color="0.55", lw=0.8),
        ]
        labels = [
            f"sim. {_style.symbol(tex)} (mean ± SEM, {trials} trials)",
            f"sim. {_style.symbol(trx)}",
            f"theory {_style.symbol(tex)}",
            f"theory {_style.symbol(trx)}",
            f"theory {_style.symbol(tex)}, optimal ${sym_ridge}$",
            f"peak ${sym_dim} = {sym_other}$",
        ]
        if own_figure:  # below the axes, clear of the curves
            legend = fig.legend(
                handles, labels, loc="outside lower center", ncols=3, columnspacing=1.2
            )
        else:
            legend = ax.legend(handles, labels, loc="best", ncols=2)
        colourbar = fig.colorbar(
            ScalarMappable(norm=norm, cmap=_style.RIDGE_CMAP), ax=ax, pad=0.01
        )
        colourbar.set_label(_coord_label(ds, "ridge"))
        for r in chosen:  # ticks on the colour bar mark the ridges drawn
            colourbar.ax.axhline(r, color="w", lw=1.0)
        # Say when the SEM bars hide inside the markers (measured on the final layout).
        fig.draw_without_rendering()
        inside = np.concatenate(
            [
                _style.bars_within_marker(ax, x, m, e, _style.TEST_MS)
                for m, e in test_bars
            ]
        )
        total = int(sum(np.isfinite(e).sum() for _, e in test_bars))
        if total and inside.sum() == total:
            note = "SEM bars all smaller than the markers"
        elif inside.sum():
            note = f"SEM bar inside the marker at {int(inside.sum())} of {total} points"
        else:
            note = ""
        if note:
            legend.get_texts()[0].set_text(f"{labels[0]};\n{note}")
    return fig


def set_risk_ylim(ax: Axes, shown: list, train_shown: list) -> float:
    """Log y range over the test risks and the train risks down to a floor.

    Train risks more than ``_TRAIN_DECADES`` decades below the least test risk
    (small ridge past the peak) would squash the test curves: the range stops there
    and :func:`note_clipped` says what is cut off. ``shown`` and ``train_shown`` are
    lists of arrays (theory and simulated means). Returns the lower limit. Also used
    by :mod:`figures.rf_real`.
    """
    test = np.concatenate(shown)
    test = test[np.isfinite(test) & (test > 0)]
    train = np.concatenate(train_shown)
    train = train[np.isfinite(train) & (train > 0)]
    if not test.size:
        return ax.get_ylim()[0]
    floor = test.min() / 10**_TRAIN_DECADES
    lo = max(min(test.min(), train.min() if train.size else np.inf), floor) / 1.5
    hi = max(test.max(), train.max() if train.size else 0) * 1.5
    ax.set_ylim(lo, hi)
    return lo


def note_clipped(ax, sub, dim, xt, chosen, rows, train_all, low) -> None:
    """Write on the axes which ridges' train risks run below the y range ``low``.

    ``sub`` holds ``train_risk`` over ``(dim, ridge, trial)``; ``train_all[row]`` is
    the theory train risk of ridge ``chosen[i]`` for ``row = rows[i]`` (on ``xt``).
    The note has gid ``clipped``. Also used by :mod:`figures.rf_real`.
    """
    cut = []
    for r, row in zip(chosen.tolist(), rows, strict=True):
        sim = sub["train_risk"].sel(ridge=r).mean("trial").values
        if np.nanmin(np.append(train_all[row], sim)) < low:
            cut.append(r)
    if cut:
        ax.text(
            0.01,
            0.01,
            f"▼ train risk below the axis (cut off) for "
            f"${_coord_symbol(sub, 'ridge')} \\leq {max(cut):.3g}$",
            transform=ax.transAxes,
            fontsize=7,
            color="0.25",
            ha="left",
            va="bottom",
            gid="clipped",
        )


def largest_k_grid(grids: Sequence[xr.Dataset]) -> xr.Dataset | None:
    """Of the grids sweeping ``k`` (newest first), the first reaching the largest k."""
    swept = [g for g in grids if "k" in swept_dims(g)]
    if not swept:
        return None
    return max(swept, key=lambda g: float(g["k"].max()))  # max keeps the first tie


def write_figures(
    grids: Sequence[xr.Dataset],
    out_dir: str | Path,
    *,
    ridges: int | Sequence[float] = 5,
    real: xr.Dataset | bool | None = True,
) -> list[Path]:
    """Draw and save every rf_risk figure; returns the written paths.

    ``grids`` are checked rf_risk grids, newest first: ``rf_risk_vs_k`` comes from
    :func:`largest_k_grid`, ``rf_risk_vs_n`` from the first that sweeps ``n``, and
    ``rf_fitting_ratio`` is always drawn, with the measured points of ``real`` (by
    default the newest saved ``sims.rf_real`` fitting-ratio grid found by
    ``_real_fitting_grid``; None or False for none), unless
    :mod:`theory.rf_powerlaw` is missing, which is reported in one line on stderr.
    """
    written: list[Path] = []
    for dim in ("k", "n"):
        if dim == "k":
            ds = largest_k_grid(grids)
        else:
            ds = next((g for g in grids if dim in swept_dims(g)), None)
        if ds is not None:
            written += _style.save(
                plot_risk_vs(ds, dim, ridges=ridges), out_dir, f"rf_risk_vs_{dim}"
            )
    if real is True:
        real = _real_fitting_grid(grids)
    try:
        fig = plot_fitting_ratio(real=real or None)
    except ModuleNotFoundError as err:
        if err.name not in ("theory.rf_powerlaw", "theory"):
            raise
        print(
            "rf_fitting_ratio skipped: theory.rf_powerlaw is not available",
            file=sys.stderr,
        )
    else:
        written += _style.save(fig, out_dir, "rf_fitting_ratio")
    return written


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m figures.rf_risk GRID.nc [--out DIR] [--ridges N]``; exit status."""
    parser = _Parser(
        prog="python -m figures.rf_risk",
        description="Draw the rf_risk figures (PNG and PDF) from a saved grid.",
    )
    parser.add_argument("grid", type=Path, help="netCDF grid from sims.rf_risk")
    add_out_option(parser)
    parser.add_argument(
        "--ridges",
        type=_positive_int,
        default=5,
        help="how many saved ridges to draw, evenly spaced in log (default: "
        "%(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        ds = load_grid(args.grid)
        check_folder("--out", args.out)
    except ValueError as err:  # GridError included
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    swept = swept_dims(ds)
    if not swept:
        print(f"{args.grid}: sweeps neither n nor k; no risk curves", file=sys.stderr)
    for path in write_figures([ds], args.out, ridges=args.ridges):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
