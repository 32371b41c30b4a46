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

import hashlib
import itertools
import json
import logging
import shutil
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import xarray as xr
from tqdm.auto import tqdm

from sims._backend import resolve_device
from sims._config import SweepConfig
from sims._io import provenance
from sims._io import read_netcdf
from sims._io import write_netcdf_atomic

__all__ = ["Chunk", "plan_chunks", "result_path", "run_sweep"]

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


def _run_local(kernel: Kernel, config, chunks) -> Iterator[tuple[Chunk, xr.Dataset]]:
    for chunk in chunks:
        yield chunk, kernel(config, chunk)


def _run_dask(kernel: Kernel, config, chunks, scheduler: str):
    try:
        from dask.distributed import Client
        from dask.distributed import LocalCluster
        from dask.distributed import as_completed
    except ImportError:  # pragma: no cover - depends on the install
        raise ValueError(
            "--scheduler needs dask.distributed: pip install 'learning-dynamics[dist]'"
        ) from None
    if scheduler.startswith("local:"):
        workers = scheduler.partition(":")[2]
        if not workers.isdigit() or int(workers) < 1:
            raise ValueError(f"scheduler local:N needs N >= 1, got {scheduler!r}")
        cluster = LocalCluster(
            n_workers=int(workers), threads_per_worker=1, processes=True
        )
        client = Client(cluster)
    else:
        cluster, client = None, Client(scheduler)
    try:
        futures = {client.submit(kernel, config, c, pure=False): c for c in chunks}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(
    config: SweepConfig,
    *,
    name: str,
    chunks: Sequence[Chunk],
    kernel: Kernel,
    finish: Finish,
    out: Path | str | None = None,
    resume: bool = True,
    scheduler: str | None = None,
    command: str = "",
) -> tuple[xr.Dataset, Path]:
    """Run (or resume) a sweep and write its grid atomically to ``out``.

    Args:
      config: the sweep's frozen config; its JSON goes into ``attrs["config_json"]``.
      name: the sim's name, for the default path ``results/<name>/<hash>.nc``.
      chunks: the units of work (see :func:`plan_chunks`).
      kernel: ``kernel(config, chunk) -> xr.Dataset`` with the chunk's coords; must
        be a module-level function (dask pickles it) and seed only from the chunk's
        coordinate values.
      finish: ``finish(config, merged) -> xr.Dataset`` adds theory siblings and
        variable attrs; pure, no randomness.
      out: output path; defaults to :func:`result_path`.
      resume: reuse finished chunks (and a finished file) of the same config.
      scheduler: ``None`` (in-process), ``local:N`` or a dask scheduler address.
      command: the command line, stored as provenance.

    Returns:
      ``(dataset, path)``.

    Raises:
      ValueError: ``out`` holds chunks of a different config (rerun with
        ``resume=False``), or a bad ``scheduler``.
    """
    device = resolve_device(config.device)
    out = Path(out) if out is not None else result_path(name, config)
    parts = out.with_name(out.name + ".parts")
    stamp = parts / "config.json"
    if resume and out.exists():
        done = read_netcdf(out)
        if done.attrs.get("config_json") == config.to_json():
            log.info("%s is complete for this config; nothing to run", out)
            return done, out
    if not resume and parts.exists():
        shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    if stamp.exists() and stamp.read_text() != config.to_json():
        raise ValueError(
            f"{parts} holds chunks of a different config; rerun with --no-resume "
            "or choose another --out"
        )
    stamp.write_text(config.to_json())

    todo = [c for c in chunks if not (parts / f"{c.key}.nc").exists()]
    if len(todo) < len(chunks):
        log.info(
            "resuming: %d of %d chunks already done",
            len(chunks) - len(todo),
            len(chunks),
        )
    runner = (
        _run_local(kernel, config, todo)
        if scheduler is None
        else _run_dask(kernel, config, todo, scheduler)
    )
    bar = tqdm(
        total=len(chunks),
        initial=len(chunks) - len(todo),
        desc=name,
        unit="chunk",
        disable=None,
    )
    with bar:
        for chunk, piece in runner:
            write_netcdf_atomic(piece, parts / f"{chunk.key}.nc")
            bar.update()

    pieces = [read_netcdf(parts / f"{c.key}.nc") for c in chunks]
    merged = xr.combine_by_coords(pieces, combine_attrs="drop_conflicts")
    # Forget the chunk files' on-disk encodings: a string coordinate read back from
    # a chunk keeps that chunk's width ("ce" -> <U2) and would truncate "mse".
    for var in merged.variables.values():
        var.encoding = {}
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
    write_netcdf_atomic(merged, out)
    shutil.rmtree(parts)
    return merged, out
