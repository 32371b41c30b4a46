"""Sample statistics of the SELU simulation tests (the derived allowances live in
:mod:`sims.selu.allowances`, shared with the reproduction report)."""

from __future__ import annotations

import numpy as np


def mean_sem(da, dim):
    """Mean and standard error of the mean (ddof 1) of ``da`` over ``dim``."""
    n = da.count(dim)
    return da.mean(dim), da.std(dim, ddof=1) / np.sqrt(n)
