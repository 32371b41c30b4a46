r"""The fitting-ratio figure (arXiv:2311.14646, Fig. 2) of :mod:`figures.rf_risk`.

Large-``n`` KRR test risk of a power-law task against the fitting ratio
:math:`R = E_{tr}/E_{te}` at the :math:`(\alpha, \beta)` the paper fits for MNIST,
SVHN and CIFAR-10 (theory curves from :mod:`theory.rf_powerlaw`, imported when a
figure is drawn), normalized as the paper's labels are; with a saved ``sims.rf_real``
fitting-ratio grid, a last panel adds its measured points (digits). Private: import
these names from :mod:`figures.rf_risk`, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from figures import _style

__all__ = [
    "DATASETS",
    "DEFAULT_NOISE_REL",
    "DEFAULT_PAIRS",
    "normalized_risk",
    "plot_fitting_ratio",
]

# The data sets of the paper's Fig. 2 (arXiv:2311.14646), in its panel order: name,
# (alpha, beta) fitted to the Myrtle CNTK eigenstructure (the values printed in the
# figure's panel titles), and the base MSE b (the ridgeless noiseless test MSE of the
# authors' released results, dkarkada/more-is-better, with unit-norm label rows).
DATASETS: tuple[tuple[str, float, float, float], ...] = (
    ("MNIST", 1.12, 1.36, 0.0404),
    ("SVHN", 1.22, 1.20, 0.441),
    ("CIFAR-10", 1.17, 1.14, 0.481),
)
DEFAULT_PAIRS: tuple[tuple[float, float], ...] = tuple(
    (a, b) for _, a, b, _ in DATASETS
)
DEFAULT_NOISE_REL: tuple[float, ...] = (0.0, 1.0, 5.0, 50.0)


def normalized_risk(R, *, alpha, beta, noise_rel, base_mse, n=30_000) -> np.ndarray:
    r"""Closed-form test MSE in the units of the paper's Fig. 2 (arXiv:2311.14646).

    The paper adds noise of variance :math:`\sigma^2_{rel} b` to one-hot labels (``b``
    the ridgeless noiseless test MSE) and renormalizes each label row to unit norm.
    So: :func:`theory.rf_powerlaw.powerlaw_test_risk` scaled so that its value at
    :math:`R = 0`, :math:`\sigma^2_{rel} = 0` is ``b``, divided by the label power
    :math:`1 + \sigma^2_{rel} b`. In the closed form ``n`` cancels.
    """
    from theory.rf_powerlaw import powerlaw_test_risk

    kw = dict(alpha=alpha, beta=beta, n=n)
    risk = np.asarray(powerlaw_test_risk(R, noise_rel=noise_rel, **kw), np.float64)
    base = float(np.asarray(powerlaw_test_risk(0.0, noise_rel=0.0, **kw)))
    return risk / base * base_mse / (1.0 + noise_rel * base_mse)


def _real_panel(real: xr.Dataset) -> tuple[str, float, float, float]:
    a, b = float(real["alpha"]), float(real["beta"])
    return ("digits (measured)", a, b, float(real["base_mse"].mean()))


def plot_fitting_ratio(
    datasets: Sequence[tuple[str, float, float, float]] = DATASETS,
    noise_rel: Sequence[float] = DEFAULT_NOISE_REL,
    *,
    n: float = 30_000,
    num: int = 400,
    real: xr.Dataset | None = None,
) -> Figure:
    r"""KRR test MSE against the fitting ratio, one panel per data set's (α, β).

    The paper's Fig. 2 theory curves: ``datasets`` holds (name, α, β, base MSE
    ``b``), by default ``DATASETS``. For each relative noise
    :math:`\sigma^2_{rel}`, :func:`normalized_risk` on ``num`` points of
    :math:`R \in [0, 1)`, and a dotted vertical line of the same colour at
    :func:`theory.rf_powerlaw.optimal_fitting_ratio`. The regions :math:`R < 0`
    ("fully interpolating") and :math:`R > 1` ("∞ regularization") are shaded.
    With ``real``, a ``sims.rf_real`` fitting-ratio grid (:mod:`figures.rf_real`),
    a last panel draws its measured points (mean ± SEM over orderings of R and of
    the test MSE / (1 + σ²_rel b), b its mean base MSE) over the same curves at its
    fitted (α, β). Gids: ``theory:test_risk:<alpha>,<beta>,<noise_rel>``,
    ``argmin:<alpha>,<beta>,<noise_rel>``, ``sim:<noise_rel>``.

    Raises:
      ImportError: :mod:`theory.rf_powerlaw` is not available.
    """
    from theory.rf_powerlaw import optimal_fitting_ratio

    R = np.linspace(0.0, 1.0, num, endpoint=False)
    panels = [tuple(d) for d in datasets] + ([_real_panel(real)] if real else [])
    levels = sorted({float(s) for s in noise_rel})
    if real is not None:
        levels = sorted({*levels, *(float(s) for s in real["noise_rel"].values)})
    colours = dict(
        zip(
            levels,
            [
                tuple(c)
                for c in mpl.colormaps["plasma"](np.linspace(0, 0.8, len(levels)))
            ],
            strict=True,
        )
    )
    with _style.style():
        fig = Figure(figsize=(2.6 * len(panels) + 1.2, 3.2), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
        for j, (ax, (name, alpha, beta, base)) in enumerate(
            zip(axes, panels, strict=True)
        ):
            alpha, beta, base = float(alpha), float(beta), float(base)
            measured = real is not None and j == len(panels) - 1
            noise = real["noise_rel"].values.astype(float) if measured else levels
            in_domain = alpha > 1 and 1 < beta < 2 * alpha + 1
            for s in (float(v) for v in noise):
                key = f"{alpha!r},{beta!r},{s!r}"
                label = f"$\\sigma^2_{{\\mathrm{{rel}}}} = {s:g}$"
                if in_domain:
                    risk = normalized_risk(
                        R, alpha=alpha, beta=beta, noise_rel=s, base_mse=base, n=n
                    )
                    ax.plot(
                        R,
                        risk,
                        color=colours[s],
                        label=label,
                        gid=f"theory:test_risk:{key}",
                    )
                    r_star = float(np.asarray(optimal_fitting_ratio(alpha, beta, s)))
                    ax.axvline(
                        r_star, color=colours[s], ls=":", lw=1.1, gid=f"argmin:{key}"
                    )
                if measured:
                    _measured_points(ax, real.sel(noise_rel=s), s, base, colours[s])
            ax.axvspan(-0.15, 0.0, color="0.9", lw=0, zorder=0)
            ax.axvspan(1.0, 1.15, color="0.9", lw=0, zorder=0)
            band = blended_transform_factory(ax.transData, ax.transAxes)
            for xpos, text in (
                (-0.075, "fully interpolating"),
                (1.075, "∞ regularization"),
            ):
                ax.text(
                    xpos,
                    0.5,
                    text,
                    transform=band,
                    rotation=90,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="0.35",
                )
            ax.set_xlim(-0.15, 1.15)
            ax.set_yscale("log")
            ax.set_title(
                f"{name}\n$\\alpha = {alpha:g}$, $\\beta = {beta:g}$, $b = {base:.3g}$"
                if measured is False
                else f"{name}, n = {int(real.attrs.get('n_train', 0))}\n"
                f"fitted $\\alpha = {alpha:.3g}$, $\\beta = {beta:.3g}$, "
                f"$b = {base:.3g}$"
            )
            ax.set_xlabel(r"fitting ratio $R = E_{\mathrm{tr}} / E_{\mathrm{te}}$")
        axes[0].set_ylabel("test MSE $E_{\\mathrm{te}}$ (unit-norm noisy labels)")
        handles = [Line2D([], [], color=colours[s]) for s in levels]
        labels = [f"$\\sigma^2_{{\\mathrm{{rel}}}} = {s:g}$" for s in levels]
        handles.append(Line2D([], [], ls=":", color="0.3", lw=1.1))
        labels.append("theory argmin $R^*$")
        if real is not None:
            handles.append(
                Line2D([], [], marker="o", ls="none", mfc="none", color="0.3")
            )
            labels.append(
                f"measured, one per ridge\n(mean ± SEM over\n"
                f"{real.sizes['trial']} orderings)"
            )
        fig.legend(handles, labels, loc="outside right center")
        fig.supxlabel(
            "(α, β): the paper's fits to each data set's CNTK eigenstructure. Theory: "
            "the large-n closed form, equal to the base MSE b at R = 0 without noise,\n"
            "divided by the label power 1 + σ²_rel b (the paper renormalizes each "
            "noisy label row to unit norm).",
            fontsize=6.5,
            color="0.3",
        )
    return fig


def _measured_points(ax, sub: xr.Dataset, s: float, base: float, colour) -> None:
    """One noise level of a ``sims.rf_real`` fitting-ratio grid: per ridge, mean ±
    SEM over orderings of R (x) and of the test MSE / (1 + s b) (y); the data line
    has gid ``sim:<s>``."""
    _style.mean_sem_points(
        ax,
        sub["fitting_ratio"],
        sub["test_mse"] / (1 + s * base),
        gid=f"sim:{s!r}",
        fmt="o",
        ms=3.0,
        mfc="none",
        mew=0.9,
        elinewidth=0.7,
        color=colour,
        zorder=5,
    )


def _real_fitting_grid(grids: Sequence[xr.Dataset]) -> xr.Dataset | None:
    """The newest ``sims.rf_real`` fitting-ratio grid beside the rf_risk results.

    Looks in ``<results>/rf_real/`` next to the folder the first grid was read from
    (``results/rf_real`` without one); unreadable grids are skipped.
    """
    from figures import rf_real

    source = next(
        (g.encoding.get("source") for g in grids if g.encoding.get("source")), None
    )
    folder = (
        Path(source).parent.parent / "rf_real" if source else Path("results/rf_real")
    )
    files = sorted(folder.glob("*.nc"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in files if folder.is_dir() else []:
        try:
            ds = rf_real.load_grid(path)
        except rf_real.GridError:
            continue
        if rf_real.grid_kind(ds) == "fitting_ratio":
            return ds
    return None
