"""The report's claim type, the sim-vs-theory gap and the table writer."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import xarray as xr

from sims.report._tolerances import Z_SEM

__all__ = ["Claim", "PaperNumber", "excess_gap", "format_table", "not_checked"]


@dataclasses.dataclass(frozen=True)
class Claim:
    """One theory-vs-simulation statement and how well the grid bears it out.

    Attributes:
      text: the statement, with the size it was checked at.
      measured: the measured gap (``None``: not checked at this preset).
      tolerance: the claim holds when ``measured <= tolerance``.
      justification: where the tolerance comes from (z * SEM + stated allowance).
      detail: what the measured number summarizes (cells, worst z, ...).
    """

    text: str
    measured: float | None
    tolerance: float
    justification: str
    detail: str = ""

    @property
    def passed(self) -> bool | None:
        """``True``/``False``; ``None`` when not checked. A NaN gap fails."""
        if self.measured is None:
            return None
        return bool(math.isfinite(self.measured) and self.measured <= self.tolerance)

    def status(self, preset: str) -> str:
        if self.passed is None:
            return f"not checked at {preset}"
        return "pass" if self.passed else "**FAIL**"


@dataclasses.dataclass(frozen=True)
class PaperNumber:
    """A number a paper prints, its source, and ours computed live from the theory."""

    quantity: str
    paper: str
    source: str
    ours: float
    agrees: bool


def not_checked(text: str, tolerance: float, justification: str, why: str) -> Claim:
    """A claim that needs a bigger size than the preset runs."""
    return Claim(text, None, tolerance, justification, why)


def excess_gap(
    ds: xr.Dataset, name: str, mask: xr.DataArray | None = None
) -> tuple[float, str]:
    """Worst ``(|mean - theory| - Z_SEM * SEM) / |theory|`` over the cells of ``mask``.

    The claim ``|mean - theory| <= Z_SEM * SEM + a * |theory|`` holds in every cell
    exactly when this number is at most ``a``. Means and SEMs are over ``trial``
    (NaN trials, i.e. diverged runs, left out).

    Returns:
      ``(gap, detail)``; ``detail`` gives the cells, the worst relative gap and the
      worst ``|z|``.

    Examples:
      >>> ds = xr.Dataset({"x": ("trial", [1.0, 1.2]), "x_theory": 1.0})
      >>> gap, detail = excess_gap(ds, "x")
      >>> round(gap, 3), detail
      (-0.3, '1 cells, worst rel gap 10.00%, worst |z| 1.00')
    """
    sim, theory = ds[name], ds[f"{name}_theory"]
    count = sim.count("trial")
    mean = sim.mean("trial")
    sem = sim.std("trial", ddof=1) / np.sqrt(count)
    keep = np.isfinite(theory) & (theory != 0) & np.isfinite(mean)
    if mask is not None:
        keep = keep & mask
    keep = keep.broadcast_like(mean)
    rel = (abs(mean - theory) / abs(theory)).where(keep)
    excess = ((abs(mean - theory) - Z_SEM * sem) / abs(theory)).where(keep)
    z = (abs(mean - theory) / sem).where(keep & (sem > 0))
    cells = int(keep.sum())
    if cells == 0:
        return float("nan"), "no cells to compare"
    detail = (
        f"{cells} cells, worst rel gap {float(rel.max()):.2%}, "
        f"worst |z| {float(z.max()):.2f}"
    )
    return float(excess.max()), detail


def _number(x: float | None) -> str:
    if x is None:
        return "—"
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:.4g}"
    return f"{x:.2e}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_table(claims: list[Claim], preset: str) -> str:
    """A markdown table: claim, measured, tolerance, justification, result."""
    lines = [
        "| claim | measured | tolerance | justification | result |",
        "|---|---|---|---|---|",
    ]
    for c in claims:
        measured = _number(c.measured)
        if c.detail:
            measured = f"{measured} ({c.detail})"
        lines.append(
            f"| {_cell(c.text)} | {_cell(measured)} | {_number(c.tolerance)} | "
            f"{_cell(c.justification)} | {c.status(preset)} |"
        )
    return "\n".join(lines)
