"""The grid engine every simulation shares: config -> chunks -> xr.Dataset.

A sweep is a list of chunks (a chunk is a selection of coordinate values along the
dims the kernel does not vectorize, e.g. one ``n`` and a batch of trials). Each
finished chunk is written atomically to ``<out>.parts/<key>.nc``; a rerun skips the
chunks already there, so a kill loses at most the chunks in flight, and because every
(cell, trial) stream is derived from the root seed and the coordinate values (see
:mod:`sims._backend`), the merged result equals an uninterrupted run's. Chunks run
in-process or on a dask.distributed cluster (``scheduler``); the result is the same.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import warnings
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import xarray as xr
from tqdm.auto import tqdm

from sims._backend import blas_threads
from sims._backend import cpu_threads
from sims._backend import resolve_device
from sims._config import SweepConfig
from sims._io import code_version
from sims._io import provenance
from sims._io import read_netcdf
from sims._io import write_netcdf_atomic

__all__ = ["Chunk", "default_workers", "plan_chunks", "result_path", "run_sweep"]

log = logging.getLogger(__name__)

Kernel = Callable[[SweepConfig, "Chunk"], xr.Dataset]
Finish = Callable[[SweepConfig, xr.Dataset], xr.Dataset]


@dataclass(frozen=True)
class Chunk:
    """Coordinate values of one unit of work: ``{dim: (value, ...)}``."""

    coords: Mapping[str, tuple]

    @property
    def key(self) -> str:
        """A stable, file-name-safe identifier of the chunk's coordinates."""
        text = json.dumps({d: list(v) for d, v in sorted(self.coords.items())})
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_chunks(axes: Mapping[str, Sequence], batch: Mapping[str, int]) -> list[Chunk]:
    """The Cartesian product of ``axes``, each split into runs of ``batch[dim]``.

    Examples:
      >>> chunks = plan_chunks({"n": (8, 16), "trial": range(5)}, {"trial": 2})
      >>> len(chunks), chunks[0].coords
      (6, {'n': (8,), 'trial': (0, 1)})
    """
    split = []
    for dim, values in axes.items():
        values = tuple(values)
        size = batch.get(dim, 1)
        split.append([values[i : i + size] for i in range(0, len(values), size)])
    return [
        Chunk(dict(zip(axes, combo, strict=True)))
        for combo in itertools.product(*split)
    ]


def result_path(name: str, config: SweepConfig, root: Path | str = "results") -> Path:
    """``results/<sim>/<config-hash>.nc``: same config, same file."""
    return Path(root) / name / f"{config.config_hash()}.nc"


def default_workers() -> int:
    """Worker processes for a CPU sweep: ``$LD_WORKERS``, else one per usable core."""
    text = os.environ.get("LD_WORKERS", "")
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ValueError(f"LD_WORKERS must be an integer >= 1, got {text!r}")
        return int(text)
    return len(os.sched_getaffinity(0))


def _call(kernel: Kernel, config: SweepConfig, chunk: Chunk, threads: int):
    """One chunk with exactly ``threads`` intra-op CPU threads (torch and BLAS)."""
    with cpu_threads(resolve_device(config.device), threads):
        return kernel(config, chunk)


def _run_local(kernel, config, chunks, threads):
    for chunk in chunks:
        yield chunk, _call(kernel, config, chunk, threads)


def _worker_context(kernel):
    """How worker processes start.

    On Linux they are forked from this process, which has imported everything, so a
    worker starts at once (a forkserver would first import torch again: about 4 s on
    a 2-core machine, which the first chunks wait for). The pool forks all its
    workers at the first submit, before this process starts its own chunk, and each
    worker runs with one intra-op thread, as PyTorch's DataLoader workers do after a
    fork. Elsewhere a forkserver imports torch, xarray and the kernel's module once.
    """
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["torch", "xarray", "sims._sweep", kernel.__module__]
    )
    return context


# Lock descriptors this process holds (see _exclusive); a forked worker closes its
# copies, so that the lock dies with the sweep process and not with its workers.
_LOCK_FDS: set[int] = set()


def _forked_worker_init(lock_fds: tuple[int, ...], parent: int) -> None:
    """Initializer of a forked worker: drop the inherited run locks and die with the
    sweep process (Linux ``PR_SET_PDEATHSIG``), so that a SIGKILL of the sweep leaves
    neither a held lock (a rerun would refuse to start) nor a worker computing on."""
    for fd in lock_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PDEATHSIG
    if os.getppid() != parent:  # the sweep process died before prctl
        os._exit(1)


def _run_pool(kernel, config, chunks, threads, workers: int):
    """Chunks on ``workers`` processes: this one and ``workers - 1`` started ones.

    This process computes chunks on a thread of its own while its main thread hands
    out chunks and yields finished ones (to be written at once), so its first chunk
    overlaps the start of the other workers. Each started worker holds one chunk at a
    time, so whichever worker is free takes the next one.
    """
    from concurrent.futures import FIRST_COMPLETED
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures import wait

    context = _worker_context(kernel)
    init = {}
    if context.get_start_method() == "fork":
        init = {"initializer": _forked_worker_init}
        init["initargs"] = (tuple(_LOCK_FDS), os.getpid())
    todo = collections.deque(chunks)
    pending: dict = {}  # future -> (chunk, computed here?)
    with (
        ThreadPoolExecutor(1) as here,
        ProcessPoolExecutor(workers - 1, mp_context=context, **init) as pool,
    ):

        def feed() -> None:
            while (
                todo and sum(not local for _, local in pending.values()) < workers - 1
            ):
                chunk = todo.popleft()
                pending[pool.submit(_call, kernel, config, chunk, threads)] = (
                    chunk,
                    False,
                )
            if todo and not any(local for _, local in pending.values()):
                chunk = todo.pop()
                pending[here.submit(_call, kernel, config, chunk, threads)] = (
                    chunk,
                    True,
                )

        try:
            feed()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk, _ = pending.pop(future)
                    yield chunk, future.result()
                feed()
        finally:
            todo.clear()
            for future in pending:
                future.cancel()


def _local_workers(scheduler: str) -> int:
    """N of a ``local:N`` scheduler; ValueError unless N is a whole number >= 1."""
    workers = scheduler.partition(":")[2]
    if not (workers.isascii() and workers.isdigit()) or int(workers) < 1:
        raise ValueError(f"scheduler local:N needs N >= 1, got {scheduler!r}")
    return int(workers)


def _run_dask(kernel, config, chunks, threads, scheduler: str):
    try:
        from dask.distributed import Client
        from dask.distributed import LocalCluster
        from dask.distributed import as_completed
    except ImportError:  # pragma: no cover - depends on the install
        raise ValueError(
            "--scheduler needs dask.distributed: pip install 'learning-dynamics[dist]'"
        ) from None
    if scheduler.startswith("local:"):
        cluster = LocalCluster(
            n_workers=_local_workers(scheduler), threads_per_worker=1, processes=True
        )
        client = Client(cluster)
    else:
        cluster = None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as err:
            raise ValueError(
                f"cannot reach the dask scheduler at {scheduler!r}: {err}"
            ) from None
    try:
        futures = {
            client.submit(_call, kernel, config, c, threads, pure=False, retries=2): c
            for c in chunks
        }
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def available_memory(device) -> int:
    """Bytes a sweep may use now: free GPU memory, or the OS's MemAvailable."""
    if device.type == "cuda":
        import torch

        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _check_memory(chunk_bytes: float, parallel: int, device) -> None:
    need, have = chunk_bytes * parallel, available_memory(device)
    if need > have:
        raise ValueError(
            f"this sweep needs about {need / 2**30:.3g} GiB ({parallel} chunk(s) at "
            f"once, {chunk_bytes / 2**30:.3g} GiB each) but {device.type} has "
            f"{have / 2**30:.3g} GiB available; lower the sizes, trial_batch or "
            "--workers"
        )


def _check_writable(out: Path) -> None:
    """Refuse, before any work, an output path that cannot be written."""
    if not out.name:
        raise ValueError(f"--out {str(out)!r} names no file; give a file path")
    if out.is_dir():
        raise ValueError(f"--out {out} is a directory; give a file path")
    parent = out.parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"--out {out}: {probe} is a file, not a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"--out {out}: cannot create {parent}: {err.strerror}"
        ) from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: directory {parent} is not writable")


@contextlib.contextmanager
def _exclusive(out: Path, wait: bool):
    """Hold ``<out>.lock`` (fcntl) so only one run writes ``out`` and its parts."""
    path = out.with_name(f".{out.name}.lock")
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise ValueError(
                f"--out {out}: cannot create {path}: {err.strerror}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise ValueError(
                f"another run is writing {out}; wait for it (or pass --wait), "
                "or choose another --out"
            ) from None
        # The holder before us may have removed the lock file: lock the live one.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    _LOCK_FDS.add(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        _LOCK_FDS.discard(fd)
        os.close(fd)


def _run_key(config: SweepConfig, device) -> dict[str, str]:
    """What a result is computed from: a chunk or file is reused only if it matches."""
    return {
        "config_hash": config.config_hash(),
        "device_type": device.type,
        "code_version": code_version(),
    }


def _difference(old: dict, config: SweepConfig, device) -> str:
    """Which fields (or the code version) differ between ``old`` and this run."""
    new = _run_key(config, device)
    if old.get("code_version") != new["code_version"]:
        return (
            f"computed by another version of the code ({old.get('code_version')}, "
            f"this is {new['code_version']})"
        )
    if old.get("device_type") != new["device_type"]:
        return f"device: {old.get('device_type')} -> {new['device_type']}"
    try:
        before = json.loads(old.get("config_json", "{}"))
    except json.JSONDecodeError:
        before = {}
    now = json.loads(config.to_json())
    fields = [k for k in sorted(now) if k != "device" and before.get(k) != now[k]]
    shown = "; ".join(f"{k}: {before.get(k)} -> {now[k]}" for k in fields[:4])
    return f"config differs in {shown}" if fields else "another config"


def _stamp(config: SweepConfig, device) -> dict[str, str]:
    return {**_run_key(config, device), "config_json": config.to_json()}


def _matches(attrs: Mapping, config: SweepConfig, device) -> bool:
    key = _run_key(config, device)
    return all(attrs.get(f"run_{k}") == v for k, v in key.items())


def _attrs_key(attrs: Mapping) -> dict:
    """The run key (and config JSON) stamped on a part or result file."""
    key = {k.removeprefix("run_"): v for k, v in attrs.items() if k.startswith("run_")}
    return {**key, "config_json": attrs.get("config_json", "{}")}


def _clean_temporaries(out: Path, parts: Path) -> None:
    """Temp files a killed write left behind (we hold the lock: none is live)."""
    leftovers = [*out.parent.glob(f".{out.name}.*.tmp")]
    if parts.is_dir():
        leftovers += parts.glob(".*.tmp")
    for path in leftovers:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _finished_parts(chunks, parts: Path, config, device) -> set[str]:
    """Keys of the parts that can be reused; unreadable ones are deleted."""
    done = set()
    for chunk in chunks:
        path = parts / f"{chunk.key}.nc"
        if not path.exists():
            continue
        try:
            attrs = read_netcdf(path).attrs
        except Exception as err:  # a truncated or corrupt part: recompute it only
            warnings.warn(
                f"recomputing unreadable part {path.name} ({type(err).__name__})",
                RuntimeWarning,
                stacklevel=3,
            )
            path.unlink()
            continue
        if not _matches(attrs, config, device):
            raise ValueError(
                f"{parts} holds chunks of a different run "
                f"({_difference(_attrs_key(attrs), config, device)}); rerun with "
                "--no-resume or choose another --out"
            )
        done.add(chunk.key)
    return done


def run_sweep(
    config: SweepConfig,
    *,
    name: str,
    chunks: Sequence[Chunk],
    kernel: Kernel,
    finish: Finish,
    out: Path | str | None = None,
    resume: bool = True,
    overwrite: bool = False,
    wait: bool = False,
    workers: int | None = None,
    threads: int = 1,
    chunk_bytes: float | None = None,
    scheduler: str | None = None,
    command: str = "",
) -> tuple[xr.Dataset, Path]:
    """Run (or resume) a sweep and write its grid atomically to ``out``.

    What holds, whatever the run: every chunk is computed with ``threads`` intra-op
    CPU threads, so the file is bitwise the same for any worker count, for a resumed
    run, and on a dask cluster (cells are seeded by their coordinates). A finished
    part or file is reused only when its config hash, resolved device type and code
    version all match this run's; otherwise the run is refused, naming what differs.

    Args:
      config: the sweep's frozen config; its JSON goes into ``attrs["config_json"]``.
      name: the sim's name, for the default path ``results/<name>/<hash>.nc``.
      chunks: the units of work (see :func:`plan_chunks`).
      kernel: ``kernel(config, chunk) -> xr.Dataset`` with the chunk's coords; must
        be a module-level function (it is pickled) and seed only from the chunk's
        coordinate values.
      finish: ``finish(config, merged) -> xr.Dataset`` adds theory siblings and
        variable attrs; pure, no randomness.
      out: output path; defaults to :func:`result_path`.
      resume: reuse finished chunks (and a finished file) of the same run.
      overwrite: replace a finished file of a different config or code version.
      wait: wait for another run writing ``out`` instead of refusing.
      workers: CPU worker processes (default :func:`default_workers`; GPU: 1).
      threads: intra-op CPU threads per chunk.
      chunk_bytes: estimated peak memory of one chunk; refused up front when the
        chunks running at once cannot fit in the device's available memory.
      scheduler: ``None`` (this machine), ``local:N`` or a dask scheduler address.
      command: the command line, stored as provenance.

    Returns:
      ``(dataset, path)``.

    Raises:
      ValueError: an unwritable ``out``; ``out`` being written by another run; a
        finished file or parts of another run, or an existing file that is not a
        result grid (without ``overwrite``); a bad ``scheduler`` or ``workers``.
    """
    device = resolve_device(config.device)
    out = Path(out) if out is not None else result_path(name, config)
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if workers is None:
        workers = 1 if device.type != "cpu" else default_workers()
    if chunk_bytes is not None and scheduler is None:
        _check_memory(chunk_bytes, min(workers, len(chunks)), device)
    _check_writable(out)
    parts = out.with_name(out.name + ".parts")
    if scheduler is not None and scheduler.startswith("local:"):
        _local_workers(scheduler)
    with _exclusive(out, wait):
        _clean_temporaries(out, parts)
        if out.exists():
            try:
                done = read_netcdf(out)
            except Exception as err:  # not a grid: never replaced unasked
                if not overwrite:
                    raise ValueError(
                        f"{out} exists and is not a readable result grid "
                        f"({type(err).__name__}); pass --overwrite to replace it or "
                        "choose another --out"
                    ) from None
                done = None
            if done is not None and _matches(done.attrs, config, device):
                if resume:
                    log.info("%s is complete for this config; nothing to run", out)
                    shutil.rmtree(parts, ignore_errors=True)
                    return done, out
            elif done is not None and not overwrite:
                raise ValueError(
                    f"{out} holds another result "
                    f"({_difference(_attrs_key(done.attrs), config, device)}); "
                    "pass --overwrite to replace it or choose another --out"
                )
        if not resume and parts.exists():
            shutil.rmtree(parts)
        parts.mkdir(parents=True, exist_ok=True)
        stamp = parts / "run.json"
        if stamp.exists() and any(parts.glob("*.nc")):  # no chunk: nothing to mix
            try:
                old = json.loads(stamp.read_text())
            except json.JSONDecodeError:
                old = {}
            key = _run_key(config, device)  # config_json also holds the device
            if {k: old.get(k) for k in key} != key:  # spelling, which may differ
                raise ValueError(
                    f"{parts} holds chunks of a different run "
                    f"({_difference(old, config, device)}); rerun with --no-resume "
                    "or choose another --out"
                )
        stamp.write_text(json.dumps(_stamp(config, device)))
        merged = _compute(
            config, name, chunks, kernel, parts, device, threads, workers, scheduler
        )
        with blas_threads(threads):
            merged = finish(config, merged)
        merged.attrs.update(
            provenance(
                seed=config.seed,
                device=device,
                dtype=config.dtype,
                config_json=config.to_json(),
                command=command,
            )
        )
        merged.attrs["cpu_threads"] = threads
        merged.attrs.update(
            {f"run_{k}": v for k, v in _run_key(config, device).items()}
        )
        write_netcdf_atomic(merged, out)
        shutil.rmtree(parts)
    return merged, out


def _compute(config, name, chunks, kernel, parts, device, threads, workers, scheduler):
    """Run the chunks not on disk yet, write each as it finishes, merge them all."""
    done = _finished_parts(chunks, parts, config, device)
    todo = [c for c in chunks if c.key not in done]
    if done:
        log.info("resuming: %d of %d chunks already done", len(done), len(chunks))
    workers = min(workers, len(todo))
    if scheduler is not None:
        runner = _run_dask(kernel, config, todo, threads, scheduler)
    elif workers > 1:
        runner = _run_pool(kernel, config, todo, threads, workers)
    else:
        runner = _run_local(kernel, config, todo, threads)
    stamp = {f"run_{k}": v for k, v in _run_key(config, device).items()}
    stamp["config_json"] = config.to_json()
    bar = tqdm(
        total=len(chunks), initial=len(done), desc=name, unit="chunk", disable=None
    )
    with bar:
        for chunk, piece in runner:
            piece.attrs.update(stamp)
            write_netcdf_atomic(piece, parts / f"{chunk.key}.nc")
            bar.update()

    pieces = [read_netcdf(parts / f"{c.key}.nc") for c in chunks]
    merged = xr.combine_by_coords(pieces, combine_attrs="drop_conflicts")
    for key in [k for k in merged.attrs if k.startswith("run_")]:
        del merged.attrs[key]
    merged.attrs.pop("config_json", None)
    # Forget the chunk files' on-disk encodings: a string coordinate read back from
    # a chunk keeps that chunk's width ("ce" -> <U2) and would truncate "mse".
    for var in merged.variables.values():
        var.encoding = {}
    return merged
