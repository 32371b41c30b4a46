"""The closing sim-vs-theory table every sweep prints."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr

__all__ = ["GapRow", "final_step", "format_gaps", "theory_gaps"]


class GapRow(NamedTuple):
    """Agreement of one measured variable with its ``_theory`` sibling."""

    variable: str
    subset: str
    cells: int
    median_rel_gap: float
    worst_rel_gap: float
    worst_abs_z: float


def theory_gaps(
    ds: xr.Dataset, subsets: dict[str, xr.DataArray] | None = None
) -> list[GapRow]:
    """Relative gap ``|mean - theory| / |theory|`` and ``z = (mean - theory) / SEM``.

    Means and SEMs are over ``trial``. Only cells with finite theory above 1e-9 of
    the variable's largest ``|theory|`` count (a theory mean of 1e-17 is zero).
    ``subsets`` maps a label to a boolean mask over the cells (e.g. away from an
    interpolation peak); ``"all"`` is always reported.
    """
    subsets = {"all": None, **(subsets or {})}
    rows = []
    for name in ds.data_vars:
        theory_name = f"{name}_theory"
        if theory_name not in ds or "trial" not in ds[name].dims:
            continue
        sim, theory = ds[name], ds[theory_name]
        count = sim.notnull().sum("trial")
        mean = sim.mean("trial")
        sem = sim.std("trial", ddof=1) / np.sqrt(count)
        rel = abs(mean - theory) / abs(theory)
        z = ((mean - theory) / sem).where(sem > 0)  # no z for deterministic runs
        # Theory values at rounding level (a mean that is 0 up to 1e-17) have no
        # meaningful relative gap: keep cells above 1e-9 of the largest |theory|.
        scale = float(abs(theory).where(np.isfinite(theory)).max())
        valid = np.isfinite(theory) & (abs(theory) > 1e-9 * scale) & np.isfinite(mean)
        for label, mask in subsets.items():
            keep = valid if mask is None else valid & mask
            r = rel.where(keep).values.ravel()
            zz = np.abs(z.where(keep).values.ravel())
            r, zz = r[np.isfinite(r)], zz[np.isfinite(zz)]
            if r.size == 0:
                continue
            rows.append(
                GapRow(
                    str(name),
                    label,
                    int(r.size),
                    float(np.median(r)),
                    float(r.max()),
                    float(zz.max()) if zz.size else float("nan"),
                )
            )
    return rows


def final_step(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """The closing-table subset of a training run: its last recorded ``step``."""
    return {"final step": ds["step"] == ds["step"].max()}


def format_gaps(rows: list[GapRow]) -> str:
    """A plain-text table of :func:`theory_gaps` rows, columns as wide as their
    longest entry."""
    wv = max([len("variable"), *(len(r.variable) for r in rows)])
    ws = max([len("subset"), *(len(r.subset) for r in rows)])
    lines = [
        f"{'variable':<{wv}} {'subset':<{ws}} {'cells':>6} {'median rel gap':>15} "
        f"{'worst rel gap':>14} {'worst |z|':>10}"
    ]
    for r in rows:
        z = "n/a" if np.isnan(r.worst_abs_z) else f"{r.worst_abs_z:.2f}"
        lines.append(
            f"{r.variable:<{wv}} {r.subset:<{ws}} {r.cells:>6} "
            f"{r.median_rel_gap:>15.2%} {r.worst_rel_gap:>14.2%} {z:>10}"
        )
    return "\n".join(lines)
