"""``python -m sims.rf_real --sweep --experiment {spectra,rf,fitting_ratio}``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sims._cli import run_cli


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the chosen experiment's sweep; see ``--help``."""
    from sims.rf_real import EXPERIMENTS

    return run_cli(
        argv,
        prog="python -m sims.rf_real",
        description="RF and kernel regression on digits (arXiv:2311.14646)",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    # Import by name so worker processes unpickle the kernels from sims.rf_real.*.
    from sims.rf_real.__main__ import main as _main

    sys.exit(_main())
