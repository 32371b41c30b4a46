"""``python -m sims.nce --sweep --experiment {gaussian,landscape,density}``."""

from __future__ import annotations

import sys

from sims._cli import module_main

main = module_main("sims.nce", "MECO vs NCE for unnormalized models (arXiv:2306.07485)")


if __name__ == "__main__":
    # Import by name so worker processes unpickle the kernels from sims.nce.*.
    from sims.nce.__main__ import main as _main

    sys.exit(_main())
