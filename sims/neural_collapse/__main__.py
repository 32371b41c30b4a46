"""``python -m sims.neural_collapse --sweep --experiment E``; see ``--help``."""

import sys

if __name__ == "__main__":
    # Run the importable package's main, not this __main__, so worker processes
    # unpickle the kernels and configs by name (sims.neural_collapse.ufm, ...).
    from sims.neural_collapse import main

    sys.exit(main())
