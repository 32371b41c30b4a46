"""Every numerical tolerance the tests use, in one place, with its reason."""

import numpy as np

# Float64 theory against an exact value or an algebraic identity.
F64_RTOL = 1e-10
# Fixed-point residuals returned by the solvers (spec rf_risk §9 item 1).
RESIDUAL_RTOL = 1e-10
# Per-dtype tolerance for comparing two implementations of the same computation.
IMPL_RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 5e-4}
# Simulation vs theory: |mean - theory| <= Z_SEM * SEM + allowance * |theory|.
Z_SEM = 4.0
