"""The command line every simulation shares.

``python -m sims.<name> --sweep [--experiment E] [--preset P | --config FILE]
[--set key=v1,v2 ...]
[--trials N] [--seed S] [--device auto|cpu|cuda[:i]] [--dtype float64|float32]
[--out PATH] [--workers N] [--scheduler ADDR] [--no-resume] [--overwrite] [--wait]``.
Bad input exits 2 with one line. ``--help`` lists every config field ``--set``
accepts, with its default, constraint and meaning, and the presets.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import os
import shlex
import sys
from collections.abc import Callable
from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from sims._config import describe_fields
from sims._config import show_value
from sims._experiment import Experiment
from sims._io import _package_version
from sims._io import code_version
from sims._report import format_gaps
from sims._report import theory_gaps
from sims._sweep import result_path

__all__ = ["module_main", "quiet_on_closed_pipe", "run_cli"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


class _Version(argparse.Action):
    """``--version``: the package version and the code version its files carry."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help=kwargs.get("help"))

    def __call__(self, parser, namespace, values, option_string=None):
        version = f"learning-dynamics {_package_version()} (code {code_version()})"
        print(f"{parser.prog} {version}")
        parser.exit(0)


def _preset_line(name: str, config, default) -> str:
    changed = [
        f"{k}={show_value(v)}"
        for k, v in vars(config).items()
        if getattr(default, k) != v and k != "device"
    ]
    return f"    {name:<10} " + (", ".join(changed) or "(the defaults)")


def _fields_help(experiments: Sequence[Experiment]) -> str:
    """The ``--set`` fields and presets of every experiment, for ``--help``."""
    blocks = []
    for e in experiments:
        head = f"experiment {e.key!r}" if len(experiments) > 1 else "config"
        lines = [f"{head}: {e.summary}".rstrip(": "), "  fields (--set KEY=V1,V2):"]
        rows = describe_fields(e.config)
        w = [max(len(row[i]) for row in rows) for i in range(3)]
        for name, default, constraint, meaning in rows:
            cols = f"{name:<{w[0]}}  {default:<{w[1]}}  {constraint:<{w[2]}}"
            lines.append(f"    {cols}  {meaning}")
        lines.append("  presets (--preset NAME):")
        base = e.config()
        lines += [_preset_line(n, c, base) for n, c in e.presets.items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _build_parser(prog: str, description: str, experiments) -> argparse.ArgumentParser:
    p = _Parser(
        prog=prog,
        description=description,
        epilog=_fields_help(list(experiments.values())),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sweep", action="store_true", help="run the sweep")
    if len(experiments) > 1:
        p.add_argument(
            "--experiment",
            choices=sorted(experiments),
            help=f"default: {next(iter(experiments))} (or the --config grid's)",
        )
    presets = sorted({name for e in experiments.values() for name in e.presets})
    p.add_argument("--preset", choices=presets, help="default: default")
    p.add_argument("--smoke", action="store_true", help="alias for --preset smoke")
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="start from the config in FILE instead of a preset: JSON as "
        "--print-config prints it, or a result grid (.nc) of this module",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=V1,V2",
        help="override config fields",
    )
    p.add_argument("--trials", type=int, help="trials per cell")
    p.add_argument("--seed", type=int, help="root seed")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:<i>")
    p.add_argument("--dtype", choices=("float64", "float32"))
    p.add_argument("--out", type=Path, help="output netCDF path")
    p.add_argument(
        "--workers",
        type=int,
        help="CPU worker processes (default: one per core; $LD_WORKERS)",
    )
    p.add_argument("--scheduler", help="dask scheduler address, or local:N")
    p.add_argument(
        "--no-resume",
        action="store_true",
        help="discard finished chunks of an earlier run",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished file of another config or code version, or a "
        "file at --out that is not a result grid",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="wait for another run writing the same --out instead of refusing",
    )
    p.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config as JSON and exit",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--version",
        action=_Version,
        help="print the package version and the code version result files record",
    )
    return p


def run_cli(
    argv: Sequence[str] | None,
    *,
    prog: str,
    description: str,
    experiments: Sequence[Experiment],
) -> int:
    """Parse ``argv``, build the config, run the sweep, print the closing table."""
    experiments = {e.key: e for e in experiments}
    parser = _build_parser(prog, description, experiments)
    args = parser.parse_args(argv)
    preset = "smoke" if args.smoke else args.preset
    try:
        text, named = _config_file(args.config) if args.config else (None, None)
    except ValueError as err:
        parser.error(str(err))
    if text is not None and preset is not None:
        parser.error("give a --preset (or --smoke) or a --config, not both")
    chosen = getattr(args, "experiment", None)
    if named is not None and named not in experiments:
        parser.error(
            f"--config {args.config} is a grid of experiment {named!r}, "
            f"which {prog} does not run"
        )
    if named is not None and chosen not in (None, named):
        parser.error(
            f"--config {args.config} is a grid of experiment {named!r}, not {chosen!r}"
        )
    name = chosen or named or next(iter(experiments))
    experiment = experiments[name]
    preset = preset or "default"
    if text is None and preset not in experiment.presets:
        parser.error(f"experiment {name!r} has no preset {preset!r}")
    try:
        if text is None:
            config = experiment.presets[preset]
        else:
            try:
                config = experiment.config.from_json(text)
            except (ValueError, TypeError) as err:
                raise ValueError(f"--config {args.config}: {err}") from None
        config = config.with_overrides(args.overrides)
        flags = {
            "trials": args.trials,
            "seed": args.seed,
            "device": args.device,
            "dtype": args.dtype,
        }
        flags = {k: v for k, v in flags.items() if v is not None}
        both = sorted(
            flags.keys() & {a.partition("=")[0].strip() for a in args.overrides}
        )
        if both:
            raise ValueError(
                f"{both[0]} is given both as --{both[0]} and in --set; give it once"
            )
        config = config.replace(**flags)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
    if args.print_config or not args.sweep:
        print(config.to_json())
        if not args.sweep:
            source = (
                f"{preset!r} config" if text is None else f"config of {args.config}"
            )
            print(f"(dry run: add --sweep to run this {source})", file=sys.stderr)
        return 0
    # Progress from our own loggers; libraries (jax, dask) only from WARNING on.
    logging.basicConfig(
        level=logging.WARNING, format=f"{prog}: %(message)s", stream=sys.stderr
    )
    logging.getLogger("sims").setLevel(logging.WARNING if args.quiet else logging.INFO)
    command = " ".join(
        [prog, *(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))]
    )
    before = _identity(args.out or result_path(experiment.name, config))
    try:
        ds, path = experiment.run(
            config,
            out=args.out,
            resume=not args.no_resume,
            overwrite=args.overwrite,
            wait=args.wait,
            workers=args.workers,
            scheduler=args.scheduler,
            command=command,
        )
    except ValueError as err:
        parser.error(str(err))
    except KeyboardInterrupt:
        print(
            f"{prog}: interrupted; finished chunks are kept, rerun the same "
            "command to resume",
            file=sys.stderr,
        )
        return 130
    dims = ", ".join(f"{d}={n}" for d, n in ds.sizes.items())
    reused = before is not None and before == _identity(path)
    print(f"{'reused' if reused else 'wrote'} {path} ({dims})")
    subsets = experiment.subsets(ds) if experiment.subsets else None
    rows = theory_gaps(ds, subsets)
    if rows:
        print(format_gaps(rows))
    if "diverged" in ds and bool(ds["diverged"].any()):
        cells = int(ds["diverged"].sum())
        print(
            f"warning: {cells} of {ds['diverged'].size} cells diverged "
            "(variable 'diverged'); their values are not finite",
            file=sys.stderr,
        )
    return 0


def _config_file(path: Path) -> tuple[str, str | None]:
    """``(config JSON, experiment key or None)`` of a ``--config`` file: a JSON file,
    or a result grid (its ``config_json`` and ``experiment`` attrs)."""
    try:
        with path.open("rb") as f:
            grid = f.read(4) == b"\x89HDF"  # a netCDF4 (HDF5) file
            f.seek(0)
            data = b"" if grid else f.read()
    except OSError as err:
        raise ValueError(f"cannot read --config {path}: {err.strerror}") from None
    if not grid:
        try:
            return data.decode(), None
        except UnicodeDecodeError:
            raise ValueError(f"--config {path} is neither JSON nor a grid") from None
    try:  # the attrs only, not the data
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            attrs = dict(ds.attrs)
    except (OSError, ValueError) as err:
        raise ValueError(f"--config {path} is not a readable grid ({err})") from None
    if "config_json" not in attrs:
        raise ValueError(f"--config {path}: the grid has no config_json attr")
    return attrs["config_json"], attrs.get("experiment")


def _identity(path) -> tuple[int, int] | None:
    """``(inode, mtime)`` of a file, ``None`` if there is none: a rewrite changes it."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def quiet_on_closed_pipe(main: Callable[..., int]) -> Callable[..., int]:
    """A command's ``main`` that exits 1 without a traceback when its stdout is closed
    early (``python -m ... | head``), as ``cat`` does."""

    @functools.wraps(main)
    def wrapped(argv: Sequence[str] | None = None) -> int:
        try:
            return main(argv)
        except BrokenPipeError:
            # Python flushes stdout again at exit: point it at /dev/null first.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return wrapped


def module_main(package: str, description: str) -> Callable[..., int]:
    """``main(argv=None) -> exit status`` of ``python -m <package>``: :func:`run_cli`
    over ``<package>.EXPERIMENTS``, imported at the call (so a package's
    ``__main__`` may define ``main`` before the package has finished importing)."""

    @quiet_on_closed_pipe
    def main(argv: Sequence[str] | None = None) -> int:
        return run_cli(
            argv,
            prog=f"python -m {package}",
            description=description,
            experiments=importlib.import_module(package).EXPERIMENTS,
        )

    main.__doc__ = f"``python -m {package}`` command line; see ``--help``."
    return main
