"""``python -m sims.rf_real --sweep --experiment {spectra,rf,fitting_ratio}``."""

from __future__ import annotations

import sys

from sims._cli import module_main

main = module_main(
    "sims.rf_real", "RF and kernel regression on digits (arXiv:2311.14646)"
)


if __name__ == "__main__":
    # Import by name so worker processes unpickle the kernels from sims.rf_real.*.
    from sims.rf_real.__main__ import main as _main

    sys.exit(_main())
