"""Shared figure style: rcParams, the ridge colour scale, attr-based labels, saving.

Every figure function draws inside :func:`style` so that a figure looks the same
whichever script or test made it, and saves with :func:`save` (PNG and PDF).
Conventions (DESIGN.md, Figures): theory is drawn as lines, simulation as markers with
error bars (mean ± SEM over ``trial``, from :func:`mean_sem`), and axis labels come from
the variables' ``long_name`` / ``math_symbol`` / ``units`` attrs through :func:`label`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.axis import Axis
from matplotlib.colors import Colormap
from matplotlib.colors import ListedColormap
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter
from matplotlib.ticker import LogFormatter
from matplotlib.ticker import LogFormatterSciNotation
from matplotlib.ticker import NullFormatter
from matplotlib.transforms import blended_transform_factory

__all__ = [
    "RC",
    "RIDGE_CMAP",
    "apply",
    "bars_within_marker",
    "label",
    "mark_zeros",
    "mean_sem",
    "mean_sem_points",
    "plain_log_ticks",
    "ridge_colour",
    "ridge_norm",
    "save",
    "style",
    "symbol",
    "zeros_entry",
]

RC: dict[str, object] = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "legend.handlelength": 2.2,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.0,
    "errorbar.capsize": 0.0,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "pdf.fonttype": 42,  # TrueType: text stays editable in the PDF
}

# Ridge colours: viridis without its pale yellow end, which vanishes on white.
RIDGE_CMAP: Colormap = ListedColormap(
    mpl.colormaps["viridis"](np.linspace(0.0, 0.88, 256)), name="ridge"
)


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which the shared rcParams :data:`RC` are in force."""
    with mpl.rc_context(RC):
        yield


def panels(
    rows: int, cols: int, size: tuple[float, float] = (3.2, 2.6)
) -> tuple[Figure, np.ndarray]:
    """A pyplot-free figure with constrained layout and a (rows, cols) array of axes,
    each panel ``size`` inches, made under :func:`style`."""
    with style():
        fig = Figure(figsize=(size[0] * cols, size[1] * rows), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def apply() -> None:
    """Install :data:`RC` globally (for notebooks; scripts use :func:`style`)."""
    mpl.rcParams.update(RC)


def ridge_norm(ridges: Sequence[float] | np.ndarray) -> LogNorm:
    """Log colour scale spanning the positive ``ridges`` (as the paper's LogNorm).

    A single positive ridge gets a decade either side; zero ridges are ignored (draw
    them with :func:`ridge_colour`, which clips them to the low end).

    Raises:
      ValueError: no positive ridge.
    """
    r = np.asarray(ridges, dtype=np.float64).ravel()
    r = r[np.isfinite(r) & (r > 0)]
    if r.size == 0:
        raise ValueError(f"ridge_norm needs a positive ridge, got {ridges!r}")
    lo, hi = float(r.min()), float(r.max())
    if lo == hi:
        lo, hi = lo / 10, hi * 10
    return LogNorm(vmin=lo, vmax=hi, clip=True)


def ridge_colour(ridge: float, norm: LogNorm) -> tuple[float, float, float, float]:
    """RGBA of ``ridge`` on :data:`RIDGE_CMAP` under ``norm`` (ridge 0 -> low end)."""
    value = max(float(ridge), float(norm.vmin))
    return tuple(RIDGE_CMAP(float(norm(value))))


def symbol(da: xr.DataArray, default: str | None = None) -> str:
    """``$math_symbol$`` from the attrs, else ``default`` (else the name)."""
    sym = da.attrs.get("math_symbol")
    if sym:
        return f"${sym}$"
    return default if default is not None else str(da.name)


def label(da: xr.DataArray, *, units: bool = True) -> str:
    """Axis label ``"long_name $math_symbol$"`` from the attrs of ``da``.

    Falls back to the variable's name without ``long_name`` and drops the symbol
    without ``math_symbol``. Units other than ``"1"`` are appended in brackets
    unless ``units=False``.

    Example:
      >>> da = xr.DataArray([1.0], dims="k", name="k",
      ...                   attrs={"long_name": "features", "math_symbol": "k"})
      >>> label(da)
      'features $k$'
    """
    attrs = da.attrs
    text = str(attrs.get("long_name") or da.name or "")
    sym = attrs.get("math_symbol")
    if sym:
        text = f"{text} ${sym}$" if text else f"${sym}$"
    unit = attrs.get("units")
    if units and unit and str(unit) != "1":
        text = f"{text} [{unit}]"
    return text


def plain_log_ticks(axis: Axis, max_decades: float = 2.0) -> None:
    """Label a short log axis with plain numbers.

    Base 10: matplotlib labels the minor ticks of an axis spanning under about two
    decades as ``6 x 10^0``; this writes ``6`` instead and labels only 1, 2, 3, 5 per
    decade. Longer axes keep the default ``10^j`` labels. Other bases (``base=2``
    axes of widths): every major tick, a power of the base, is labelled as a plain
    number (4, 8, 16, 64, not ``2^2``) and the minor ticks are not, while the axis
    stays within ``[1e-4, 1e6]``. Call after the limits are set.
    """
    lo, hi = axis.get_view_interval()
    base = float(getattr(axis.get_transform(), "base", 10.0))
    if not 0 < lo < hi:
        return
    if base != 10.0:
        if 1e-4 <= lo and hi <= 1e6:
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        return
    if np.log10(hi / lo) > max_decades:
        return

    def fmt(value: float, _pos) -> str:
        mantissa = value / 10 ** np.floor(np.log10(value) + 1e-9)
        return f"{value:g}" if round(mantissa) in (1, 2, 3, 5) else ""

    axis.set_major_formatter(FuncFormatter(fmt))
    axis.set_minor_formatter(FuncFormatter(fmt))


#: Markers of values a log axis cannot show (<= 0), drawn on its lower / left edge.
ZERO_MARKERS = {"y": "v", "x": "<"}


def mark_zeros(ax, x, y, *, colour, axis: str = "y", gid=None, ms=5.0) -> int:
    """Draw the points whose value on the log ``axis`` is <= 0 on that axis's edge.

    A log axis cannot show 0: matplotlib drops such a point without a word (a line
    stops, or plunges off the edge as if the value were merely small). Here each one
    is a marker on the lower edge at its x (``axis="y"``, ▼) or on the left edge at
    its y (``axis="x"``, ◀), unclipped and placed in axes coordinates, so it never
    moves the limits. Say what the marks mean with :func:`zeros_entry`. Points with
    a NaN in either coordinate are ignored. Returns how many were marked (no artist
    when none).
    """
    if axis not in ZERO_MARKERS:
        raise ValueError(f"axis must be 'x' or 'y', got axis={axis!r}")
    x, y = (np.asarray(a, dtype=np.float64).ravel() for a in (x, y))
    value, other = (y, x) if axis == "y" else (x, y)
    hit = np.isfinite(value) & np.isfinite(other) & (value <= 0)
    count = int(hit.sum())
    if count == 0:
        return 0
    edge = np.zeros(count)
    if axis == "y":
        xy, transform = (other[hit], edge), (ax.transData, ax.transAxes)
    else:
        xy, transform = (edge, other[hit]), (ax.transAxes, ax.transData)
    ax.plot(
        *xy,
        ls="none",
        marker=ZERO_MARKERS[axis],
        ms=ms,
        color=colour,
        clip_on=False,
        zorder=6,
        transform=blended_transform_factory(*transform),
        gid=gid,
    )
    return count


def zeros_entry(count: int, what: str, axis: str = "y") -> tuple[Line2D, str]:
    """Legend handle and label for the marks of :func:`mark_zeros`:
    ``"<what> exactly 0 (<count>), on the axis edge"`` beside a grey ▼ (◀)."""
    handle = Line2D([], [], ls="none", marker=ZERO_MARKERS[axis], color="0.3", ms=5)
    return handle, f"{what} exactly 0 ({count}), on the axis edge"


def mean_sem_points(
    ax, x: xr.DataArray, y: xr.DataArray, *, gid: str, dim: str = "trial", **style
) -> tuple[xr.DataArray, xr.DataArray]:
    """Points at the means over ``dim`` of ``x`` and ``y`` with one-SEM bars in both
    directions; ``gid`` on their data line, ``style`` to ``errorbar``. Returns the
    two means."""
    mx, sx = mean_sem(x, dim)
    my, sy = mean_sem(y, dim)
    bars = ax.errorbar(mx.values, my.values, xerr=sx.values, yerr=sy.values, **style)
    bars.lines[0].set_gid(gid)
    return mx, my


def mean_sem_bars(
    ax, x, da: xr.DataArray, *, gid: str, dim: str = "trial", **style
) -> tuple[xr.DataArray, xr.DataArray]:
    """The means over ``dim`` of ``da`` at ``x`` with one-SEM bars; ``gid`` on their
    data line and bars, ``style`` to ``errorbar``. Returns ``(mean, sem)``."""
    mean, sem = mean_sem(da, dim)
    ax.errorbar(x, mean.values, yerr=sem.values, gid=gid, **style)
    return mean, sem


def mean_sem(da: xr.DataArray, dim: str = "trial") -> tuple[xr.DataArray, xr.DataArray]:
    """Mean and standard error of the mean of ``da`` over ``dim``, skipping NaNs.

    SEM = sample std (ddof=1) / sqrt(count); NaN where fewer than two values.
    """
    count = da.count(dim)
    mean = da.mean(dim, skipna=True)
    std = da.std(dim, ddof=1, skipna=True)
    sem = (std / np.sqrt(count)).where(count > 1)
    return mean, sem


#: Marker sizes (points) of simulated test and (faint) train risks.
TEST_MS, TRAIN_MS = 4.0, 3.0


def risk_points(ax, x, da: xr.DataArray, colour, *, faint: bool, gid: str):
    """Trial mean ± SEM of ``da`` (dims ``(x, trial)``) as markers with error bars:
    solid for a test risk, faint and smaller for a train risk, under the theory
    lines (zorder 2-3). Returns ``(mean, sem)``."""
    return mean_sem_bars(
        ax,
        x,
        da,
        gid=gid,
        fmt="o",
        color=colour,
        alpha=0.35 if faint else 1.0,
        markersize=TRAIN_MS if faint else TEST_MS,
        markeredgewidth=0.0,
        elinewidth=0.8,
        zorder=2 if faint else 3,
    )


def bars_within_marker(ax, x, mean, sem, markersize: float) -> np.ndarray:
    """Whether each error bar ``mean ± sem`` at ``x`` ends inside its marker.

    Compares, in display pixels, the longer arm of the bar (on a log axis the lower
    one; a lower end at or below 0 counts as visible) with the radius of a marker of
    ``markersize`` points. Call after the limits and the layout are final (for a
    constrained layout, after ``fig.draw_without_rendering()``). Points with a NaN
    mean or SEM give False.
    """
    x, mean, sem = (np.asarray(a, dtype=np.float64).ravel() for a in (x, mean, sem))
    radius = 0.5 * float(markersize) * ax.get_figure().dpi / 72.0
    to_px = ax.transData.transform
    centre = to_px(np.column_stack([x, mean]))[:, 1]
    arms = []
    for end in (mean + sem, mean - sem):
        with np.errstate(invalid="ignore", divide="ignore"):
            px = to_px(np.column_stack([x, end]))[:, 1]
        arms.append(np.where(np.isfinite(px), np.abs(px - centre), np.inf))
    arm = np.maximum(*arms)
    ok = np.isfinite(mean) & np.isfinite(sem)
    return ok & (arm <= radius)


def save(fig: Figure, out_dir: str | Path, stem: str) -> tuple[Path, Path]:
    """Write ``fig`` as ``out_dir/stem.png`` and ``out_dir/stem.pdf``.

    Creates ``out_dir``. Metadata dates are dropped so that reruns give identical
    files. Log axes that kept matplotlib's labels get :func:`plain_log_ticks` (short
    base-10 axes, and axes of another base). Returns the two paths (PNG, PDF).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png, pdf = out / f"{stem}.png", out / f"{stem}.pdf"
    for ax in fig.axes:  # on short log axes matplotlib writes 3x10^-1 on minor ticks
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log" and type(axis.get_major_formatter()) in (
                LogFormatterSciNotation,
                LogFormatter,
            ):
                plain_log_ticks(axis)
    with style():
        fig.savefig(png, metadata={"Software": None})
        fig.savefig(pdf, metadata={"CreationDate": None, "Creator": None})
    return png, pdf
