"""``python -m sims.nce --sweep --experiment {gaussian,landscape,density}``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sims._cli import run_cli


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the chosen experiment's sweep; see ``--help``."""
    from sims.nce import EXPERIMENTS

    return run_cli(
        argv,
        prog="python -m sims.nce",
        description="MECO vs NCE for unnormalized models (arXiv:2306.07485)",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    # Import by name so worker processes unpickle the kernels from sims.nce.*.
    from sims.nce.__main__ import main as _main

    sys.exit(_main())
