"""``python -m sims.ifm --sweep --experiment {merge,complexity}``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sims._cli import run_cli


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the chosen experiment's sweep; see ``--help``."""
    from sims.ifm import EXPERIMENTS

    return run_cli(
        argv,
        prog="python -m sims.ifm",
        description="Iterative Feature Merging and feature complexity "
        "(arXiv:2310.06756)",
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    # Import by name so worker processes unpickle the kernels from sims.ifm.*.
    from sims.ifm.__main__ import main as _main

    sys.exit(_main())
