"""Claims of :mod:`sims.nce`: MECO vs NCE on the 1-D Gaussian mean (Jiang et al.,
ICML 2023, arXiv:2306.07485)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from sims.nce import gaussian
from sims.report._claims import Claim
from sims.report._run import Runner
from sims.report._tolerances import NCE_MECO_BIAS_FACTOR
from sims.report._tolerances import NCE_REACH_ATOL
from sims.report._tolerances import Z_SEM
from theory.nce import importance_weight_moments

MODULE = "sims.nce"


def meco_bias_allowance(ds: xr.Dataset) -> xr.DataArray:
    """NCE_MECO_BIAS_FACTOR x the first-order MECO fixed-point bias per cell,
    gamma/(2 - gamma) chi2(p_theta* || q)/m, chi2 from
    :func:`theory.nce.importance_weight_moments`."""
    theta, mean, std, gamma, m = xr.broadcast(
        ds["theta_star"],
        ds["noise_mean"],
        ds["noise_std"],
        ds["gamma"],
        ds["batch_size"],
    )
    chi2 = importance_weight_moments(
        theta.values, noise_mean=mean.values, noise_std=std.values
    ).chi2
    chi2 = theta.copy(data=np.asarray(chi2, dtype=float))
    return NCE_MECO_BIAS_FACTOR * gamma / (2 - gamma) * chi2 / m


def claims(run: Runner) -> list[Claim]:
    ds = run.grid(gaussian.EXPERIMENT)
    if ds is None:
        return []
    config = run.config(gaussian.EXPERIMENT)
    tail = ds["tail_mean"].sel({"method": "meco"}, drop=True)
    mean = tail.mean("trial")
    sem = tail.std("trial", ddof=1) / np.sqrt(tail.count("trial"))
    gap = abs(mean - ds["theta_star"])
    allowance = meco_bias_allowance(ds)
    # The claim covers noise distributions q whose predicted bias is inside the
    # target: far noise (q = N(0, 1) at theta* = 4, 1 + chi2 = e^16) is the
    # limitation docs/nce.md documents (measured here), where MECO settles above theta*.
    covered = (allowance < NCE_REACH_ATOL).broadcast_like(gap)
    cells = int(covered.sum())
    size = f"{config.steps} steps, {config.trials} trials, tail of {config.window}"
    why_cells = (
        f"{cells} cells (θ*, q) whose predicted bias 2·γ/(2−γ)·χ²/m is below 0.05"
    )
    if cells == 0:
        return []
    z = (gap / sem).where(covered)
    return [
        Claim(
            f"MECO reaches θ* within 0.05 ({size})",
            float(gap.where(covered).max()),
            NCE_REACH_ATOL,
            "our target for the Gaussian-mean experiment (docs/nce.md; the paper's "
            "own number could not be read): |tail mean − θ*| ≤ 0.05",
            f"{why_cells}; worst |z| {float(z.max()):.2f}",
        ),
        Claim(
            f"MECO's tail mean matches θ* within {Z_SEM:g}·SEM + the first-order "
            f"fixed-point bias ({size})",
            float((gap / (Z_SEM * sem + allowance)).where(covered).max()),
            1.0,
            "gap = worst |mean − θ*| / (4·SEM + allowance), allowance = 2 × "
            "γ/(2−γ)·χ²(p_θ*‖q)/m (tracker's stationary variance; the factor 2 "
            "covers the next order)",
            why_cells,
        ),
    ]
