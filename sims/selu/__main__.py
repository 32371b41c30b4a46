"""``python -m sims.selu --sweep --experiment layer|deep|train``; see ``--help``."""

import sys

if __name__ == "__main__":
    # Run the importable package's main, not this __main__, so worker processes
    # unpickle the kernels and configs by name (sims.selu.layer, ...).
    from sims.selu import main

    sys.exit(main())
