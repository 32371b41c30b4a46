"""Claims of :mod:`sims.ifm`: functionally equivalent features and IFM (Chen, Zhou &
Yan, ICLR 2024, arXiv:2310.06756)."""

from __future__ import annotations

from sims.ifm import merge
from sims.report._claims import Claim
from sims.report._run import Runner
from sims.report._tolerances import IFM_SIM_FN_ATOL

MODULE = "sims.ifm"


def claims(run: Runner) -> list[Claim]:
    ds = run.grid(merge.EXPERIMENT)
    if ds is None:
        return []
    config = run.config(merge.EXPERIMENT)
    if "exact" not in config.mode or 0.0 not in config.beta:
        return []
    dev = ds["max_deviation"].sel(mode="exact", beta=0.0)
    return [
        Claim(
            "exact IFM (β = 0) preserves the function of trained nets "
            f"({', '.join(config.arch)}; widths {', '.join(map(str, config.width))}) "
            "to float64 precision",
            float(dev.max()),
            IFM_SIM_FN_ATOL,
            "max over test inputs of |f_merged − f|₂ (|f| ~ 10); float64 rounding of "
            "width-term sums is ~1e3 ε·10 ≈ 2e-12, 50× margin; deterministic, no SEM",
            f"{int(dev.count())} nets",
        )
    ]
