"""netCDF results with provenance attrs, written atomically."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import torch
import xarray as xr

__all__ = ["code_version", "provenance", "read_netcdf", "write_netcdf_atomic"]

_REPO = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=_REPO, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@functools.cache
def code_version() -> str:
    """12 hex digits of a hash over the source of ``theory/`` and ``sims/``
    (except ``sims/report/``, which only reads results).

    Stamped on every chunk and result file: work computed by other code (a change
    between a kill and the resume, a dirty tree) is never reused.
    """
    digest = hashlib.sha256()
    for package in ("theory", "sims"):
        for path in sorted((_REPO / package).rglob("*.py")):
            if path.is_relative_to(_REPO / "sims" / "report"):
                continue  # the report reads results; it computes none
            digest.update(path.relative_to(_REPO).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:12]


def _package_version() -> str:
    try:
        return metadata.version("learning-dynamics")
    except metadata.PackageNotFoundError:
        return "unknown"


def provenance(
    *, seed: int, device: torch.device, dtype: str, config_json: str, command: str
) -> dict[str, str | int]:
    """Provenance attrs (str/int only: netCDF refuses dict, bool and None)."""
    commit = _git("rev-parse", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    if device.type == "cuda":
        device_name = torch.cuda.get_device_name(device)
    else:
        device_name = "cpu"
    return {
        "seed": int(seed),
        "git_commit": commit or "unknown",
        "git_dirty": int(bool(dirty)) if dirty is not None else -1,
        "package_version": _package_version(),
        "code_version": code_version(),
        "created_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": device_name,
        "torch_version": str(torch.__version__),
        "backend_version": f"torch {torch.__version__}",
        "dtype": dtype,
        "matmul_precision": torch.get_float32_matmul_precision(),
        "python_version": sys.version.split()[0],
        "command": command,
        "config_json": config_json,
    }


def write_netcdf_atomic(ds: xr.Dataset, path: Path) -> Path:
    """Write ``ds`` to ``path`` via a temporary file and a rename in the same folder.

    A reader never sees a half-written file, and a crash leaves the old file (or
    none) in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:  # like mkstemp, but with the user's umask (mkstemp makes 0600 files)
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_netcdf(path: Path) -> xr.Dataset:
    """Load a whole netCDF file into memory and close it."""
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def check_folder(
    flag: str, value: str | Path, folder: str | Path | None = None, *, write=True
) -> None:
    """``ValueError`` naming ``flag value`` unless ``folder`` (default ``value``) is a
    directory or can be created and (``write``) a file can be created in it. Creates
    nothing: a probe file in the nearest existing folder is removed again (``os.access``
    says yes to root even where nothing can be created, e.g. under /proc)."""
    value = Path(value)
    probe = Path(folder) if folder is not None else value
    while not os.path.lexists(probe):
        probe = probe.parent
    if not probe.is_dir():
        where = "" if probe == value else f": {probe}"
        raise ValueError(f"{flag} {value}{where} is not a directory")
    if not write:
        return
    try:
        fd, name = tempfile.mkstemp(dir=probe, prefix=".probe-")
    except OSError as err:
        raise ValueError(
            f"{flag} {value}: cannot write in {probe}: {err.strerror}"
        ) from None
    os.close(fd)
    os.unlink(name)
