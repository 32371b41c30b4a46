"""``python -m sims``: the simulation modules, each with its experiments.

Each runs as ``python -m sims.<module> --sweep [--experiment E] ...``; this lists
them (``--help`` of each gives its options, fields and presets).
"""

import sys


def main(argv=None) -> int:
    """Print the modules and their experiments; exit 2 on any argument but
    ``-h``/``--help``."""
    from sims._registry import all_experiments

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv != ["-h"] and argv != ["--help"]:
        print(
            f"python -m sims: error: unexpected {argv[0]!r}; run a module: "
            "python -m sims.<module> --sweep (list: python -m sims)",
            file=sys.stderr,
        )
        return 2
    print("usage: python -m sims.<module> --sweep [--experiment E] [options]\n")
    print("modules (python -m sims.<module> --help for options, fields, presets):")
    rows = [
        (module, ", ".join(e.key for e in experiments))
        for module, experiments in all_experiments().items()
    ]
    width = max(len(module) for module, _ in rows)
    for module, keys in rows:
        print(f"  {module:<{width}}  experiments: {keys}")
    print(f"\n  {'sims.report':<{width}}  re-checks every claim of every module")
    return 0


if __name__ == "__main__":
    sys.exit(main())
