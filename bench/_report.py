"""What every benchmark report says about where it ran, and how it is saved.

Timings on a shared machine move by 2-5x with load and thread settings, so each
report names the command, the machine, the library versions and the thread
variables it ran under; the scripts add the load averages they sample.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

#: Environment variables that set the BLAS / OpenMP / engine thread counts.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "LD_WORKERS")


def command(module: str, argv: list[str] | None) -> str:
    """``python -m bench.<module> ARGS`` as typed (``sys.argv`` if ``argv`` is None)."""
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", f"bench.{module}", *args])


def machine(*libraries) -> str:
    """One line: CPU, logical CPUs, Python and ``libraries``' versions, thread settings.

    ``libraries`` are imported modules with a ``__version__`` (numpy, torch, ...).
    """
    versions = "".join(f", {lib.__name__} {lib.__version__}" for lib in libraries)
    threads = ", ".join(f"{k}={os.environ.get(k, 'unset')}" for k in THREAD_VARS)
    return (
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} "
        f"logical CPUs, Python {platform.python_version()}{versions}; {threads}."
    )


def save(path: Path, lines: Iterable[str], *, echo: bool = True) -> str:
    """Join ``lines`` into the report, print it if ``echo``, write it to ``path``."""
    text = "\n".join(lines).rstrip("\n") + "\n"
    if echo:
        print(text, end="")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return text
