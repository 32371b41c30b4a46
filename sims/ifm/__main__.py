"""``python -m sims.ifm --sweep --experiment {merge,complexity}``."""

from __future__ import annotations

import sys

from sims._cli import module_main

main = module_main(
    "sims.ifm", "Iterative Feature Merging and feature complexity (arXiv:2310.06756)"
)


if __name__ == "__main__":
    # Import by name so worker processes unpickle the kernels from sims.ifm.*.
    from sims.ifm.__main__ import main as _main

    sys.exit(_main())
