"""``python -m sims.report [--preset smoke|default|paper] [--device ...] [--out ...]``.

Runs (or reuses) the grids every module's claims need at one preset, evaluates the
claims, writes the reproduction report (default ``docs/reproduction.md``) and exits
1 when a claim fails. Bad arguments (an unwritable ``--out`` or ``--results``
included) exit 2 with one line on stderr, before any sweep runs.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from sims._backend import resolve_device
from sims._cli import _Parser
from sims._cli import quiet_on_closed_pipe
from sims._io import _git
from sims._io import _package_version
from sims._io import check_folder
from sims._registry import MODULES
from sims._sweep import _check_writable
from sims.report._claims import Claim
from sims.report._claims import PaperNumber
from sims.report._claims import format_table
from sims.report._run import Runner

__all__ = ["main", "report_modules"]

#: Modules reported when they import, until they are registered in sims._registry.
EXTRA_MODULES = ("sims.nce", "sims.ifm")
PRESETS = ("smoke", "default", "paper")


def report_modules() -> tuple[dict[str, ModuleType | None], list[str]]:
    """``{sim module: its claims module or None}`` and notes on skipped extras.

    Every registered module is listed (``None``: no claims declared yet); an extra
    module is listed only when it and its claims import.
    """
    out: dict[str, ModuleType | None] = {}
    notes = []
    for module in (*MODULES, *(m for m in EXTRA_MODULES if m not in MODULES)):
        name = f"sims.report.{module.rpartition('.')[2]}"
        try:
            out[module] = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if module in MODULES and err.name == name:
                out[module] = None
            elif module in MODULES:
                raise
            else:
                notes.append(f"{module}: not reported ({err})")
        except Exception as err:
            if module in MODULES:
                raise
            notes.append(f"{module}: not reported ({type(err).__name__}: {err})")
    return out, notes


def _device_name(spec: str) -> str:
    device = resolve_device(spec)
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({os.cpu_count()} cores)"


def _paper_table(numbers: list[tuple[str, PaperNumber]]) -> str:
    lines = [
        "| module | quantity | paper | ours (live, float64) | source | agrees |",
        "|---|---|---|---|---|---|",
    ]
    for module, p in numbers:
        lines.append(
            f"| {module} | {p.quantity} | {p.paper} | {p.ours!r} | {p.source} | "
            f"{'yes' if p.agrees else '**no**'} |"
        )
    return "\n".join(lines)


def _render(
    results: dict[str, list[Claim] | None],
    numbers: list[tuple[str, PaperNumber]],
    *,
    preset: str,
    header: dict[str, str],
    notes: list[str],
) -> str:
    claims = [c for cs in results.values() for c in cs or []]
    passed = sum(c.passed is True for c in claims)
    failed = sum(c.passed is False for c in claims)
    skipped = sum(c.passed is None for c in claims)
    parts = [
        "# Reproduction report",
        "",
        "Every claim below is a theory-vs-simulation statement checked on grids "
        "computed by the package. Measured gaps are compared with tolerances of the "
        "form z·SEM + a stated allowance (z = 4, SEM over independent trials), the "
        "same values the test suite uses; a claim that needs a bigger size than the "
        "preset runs is reported as not checked rather than loosened. Regenerate "
        "with the command below.",
        "",
        *(f"- {key}: {value}" for key, value in header.items()),
        f"- claims: {passed} pass, {failed} fail, {skipped} not checked at {preset}",
        "",
    ]
    for module, claims_ in results.items():
        parts += [f"## `{module}`", ""]
        if claims_ is None:
            parts += ["No claims declared yet (add `sims/report/<module>.py`).", ""]
        elif not claims_:
            parts += [f"No claim applies at the `{preset}` preset.", ""]
        else:
            parts += [format_table(claims_, preset), ""]
    if notes:
        parts += ["## Modules not reported", "", *(f"- {n}" for n in notes), ""]
    parts += [
        "## Numbers the papers report",
        "",
        "Only numbers confirmed from the papers (or the authors' code) are listed, "
        "beside ours computed live from the theory functions. Other reference values "
        "the tests hold (see `docs/derivations/`) are derived by the project and are "
        "not listed here.",
        "",
        _paper_table(numbers),
        "",
    ]
    return "\n".join(parts)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m sims.report",
        description="Run every module's theory-vs-simulation claims at one preset "
        "and write the reproduction report; exit 1 when a claim fails.",
    )
    p.add_argument(
        "--preset",
        choices=PRESETS,
        default="smoke",
        help="the preset every grid is run at (default: %(default)s)",
    )
    p.add_argument(
        "--device",
        default="auto",
        help="auto, cpu, cuda or cuda:<i> (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("docs/reproduction.md"),
        help="the report file written (default: %(default)s)",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="where grids are written and reused, as results/<name>/<hash>.nc "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="CPU worker processes (default: one per core; $LD_WORKERS)",
    )
    return p


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    argv = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["python", "-m", "sims.report", *argv])
    try:
        if args.workers is not None and args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
        device = _device_name(args.device)
        # Refuse unwritable paths before any sweep runs (not after all of them).
        check_folder("--results", args.results)
        _check_writable(args.out)  # a file path whose parent can be created
        check_folder("--out", args.out, args.out.parent)
    except ValueError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    run = Runner(
        args.preset, args.device, args.results, workers=args.workers, command=command
    )
    modules, notes = report_modules()
    start = time.perf_counter()
    results: dict[str, list[Claim] | None] = {}
    numbers: list[tuple[str, PaperNumber]] = []
    for module, claims_module in modules.items():
        if claims_module is None:
            results[module] = None
            continue
        results[module] = list(claims_module.claims(run))
        for number in getattr(claims_module, "paper_numbers", list)():
            numbers.append((module, number))
    elapsed = time.perf_counter() - start
    commit = _git("rev-parse", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    header = {
        "command": f"`{command}`",
        "preset": f"`{args.preset}`",
        "device": device,
        "versions": f"learning-dynamics {_package_version()}, torch "
        f"{torch.__version__}, numpy {np.__version__}, python "
        f"{sys.version.split()[0]}",
        "git commit": commit + (" (uncommitted changes)" if dirty else ""),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall time": f"{elapsed:.1f} s (grids computed: {len(run.ran)}, reused from "
        f"{args.results}: {len(run.reused)}; load average "
        f"{os.getloadavg()[0]:.1f} at the end)",
    }
    text = _render(results, numbers, preset=args.preset, header=header, notes=notes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    failed = []
    for module, claims_ in results.items():
        for c in claims_ or []:
            print(
                f"[{c.status(args.preset)}] {module}: {c.text}: {c.measured} "
                f"(tolerance {c.tolerance:g})"
            )
            if c.passed is False:
                failed.append(c)
    for number in (n for _, n in numbers if not n.agrees):
        print(f"[**FAIL**] paper number {number.quantity}: {number.ours!r}")
    bad = len(failed) + sum(not n.agrees for _, n in numbers)
    print(f"wrote {args.out} in {elapsed:.1f} s: {bad} failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
