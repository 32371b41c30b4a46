"""Sweeps under faults: nothing lost, nothing mixed, nothing silent.

Each case drives the rf_risk smoke sweep (two n values, 4 chunks) into a stated
fault and asserts the outcome: two writers, a truncated part, leftover temporary
files, parts of another config or code version, a finished file of another config,
an unwritable ``--out``, an unreachable scheduler, worker counts, and SIGKILLs at
random moments of a CLI run.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import xarray as xr

from sims import rf_risk
from sims._io import read_netcdf
from sims._io import write_netcdf_atomic
from tests.sims._patch import use_kernel
from tests.sims.test_sweep import BASE
from tests.sims.test_sweep import Crash
from tests.sims.test_sweep import KernelSpy
from tests.sims.test_sweep import assert_same_result

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """The uninterrupted single-process run of BASE, and its file."""
    out = tmp_path_factory.mktemp("ref") / "grid.nc"
    return rf_risk.sweep(BASE, out=out, workers=1)


@pytest.fixture(scope="module")
def reference(reference_run):
    return reference_run[0]


def _crash_after(monkeypatch, out: Path, chunks: int, config=BASE) -> None:
    use_kernel(monkeypatch, rf_risk, KernelSpy(fail_after=chunks))
    with pytest.raises(Crash):
        rf_risk.sweep(config, out=out)


# --- concurrency ----------------------------------------------------------------------


def test_a_second_writer_is_refused_with_one_line_and_can_wait(
    tmp_path, reference, monkeypatch
):
    out = tmp_path / "grid.nc"
    lock = tmp_path / ".grid.nc.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run holds the output
    spy = KernelSpy()
    use_kernel(monkeypatch, rf_risk, spy)
    try:
        with pytest.raises(ValueError, match=r"another run is writing .*--wait"):
            rf_risk.sweep(BASE, out=out)
        assert spy.calls == [] and not out.exists()
        # --wait: blocks until the holder lets go, then runs.
        threading.Timer(0.5, lambda: fcntl.flock(fd, fcntl.LOCK_UN)).start()
        started = time.monotonic()
        ds, _ = rf_risk.sweep(BASE, out=out, wait=True)
        assert time.monotonic() - started >= 0.4
    finally:
        os.close(fd)
    assert_same_result(ds, reference)
    assert not lock.exists()  # the lock file is removed with the run


def test_two_cli_runs_at_once_give_one_result_and_one_clear_refusal(tmp_path):
    cmd = [sys.executable, "-m", "sims.rf_risk", "--sweep", "--smoke", "-q"]
    cmd += ["--set", "n=48,64", "--out", "grid.nc"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    if codes == [0, 0]:  # the first finished before the second started: reuse
        pytest.skip("the runs did not overlap on this machine")
    assert codes == [0, 2]
    refusal = next(err for code, err in results if code == 2)
    assert refusal.strip().count("\n") == 0
    assert "another run is writing" in refusal
    assert (tmp_path / "grid.nc").exists()
    assert not (tmp_path / "grid.nc.parts").exists()


# --- damaged and leftover files -------------------------------------------------------


def test_a_truncated_part_is_recomputed_alone_with_a_warning(
    tmp_path, reference, monkeypatch
):
    out = tmp_path / "grid.nc"
    parts = tmp_path / "grid.nc.parts"
    _crash_after(monkeypatch, out, 2)
    kept = sorted(parts.glob("*.nc"))
    assert len(kept) == 2
    kept[0].write_bytes(kept[0].read_bytes()[:100])  # truncated
    spy = KernelSpy()
    use_kernel(monkeypatch, rf_risk, spy)
    with pytest.warns(RuntimeWarning, match="unreadable part"):
        ds, _ = rf_risk.sweep(BASE, out=out)
    assert len(spy.calls) == 3  # the truncated one and the two never run
    assert kept[0].stem in spy.keys and kept[1].stem not in spy.keys
    assert_same_result(ds, reference)


def test_leftover_temporaries_and_parts_are_cleaned(tmp_path, reference_run):
    reference, path = reference_run
    out = tmp_path / "grid.nc"
    shutil.copy(path, out)
    # A kill during the final write, and a kill after the rename:
    (tmp_path / ".grid.nc.x1y2.tmp").write_bytes(b"partial")
    parts = tmp_path / "grid.nc.parts"
    parts.mkdir()
    (parts / ".abc.nc.q.tmp").write_bytes(b"partial")
    ds, _ = rf_risk.sweep(BASE, out=out)
    assert not parts.exists()
    assert not list(tmp_path.glob(".*.tmp"))
    assert_same_result(ds, reference)


# --- no mixing ------------------------------------------------------------------------


def test_parts_without_a_stamp_from_another_seed_are_refused(tmp_path, monkeypatch):
    """A parts folder that lost its run.json (a crashed second writer, a deleted and
    recreated output folder) is not adopted by another config."""
    out = tmp_path / "grid.nc"
    _crash_after(monkeypatch, out, 2, BASE.replace(seed=1))
    (tmp_path / "grid.nc.parts" / "run.json").unlink()
    never = KernelSpy(fail_after=0)
    use_kernel(monkeypatch, rf_risk, never)
    with pytest.raises(ValueError, match=r"different run .*seed: 1 -> 0"):
        rf_risk.sweep(BASE, out=out)
    assert never.calls == []


def test_parts_of_another_code_version_are_refused(tmp_path, monkeypatch, reference):
    out = tmp_path / "grid.nc"
    monkeypatch.setattr("sims._sweep.code_version", lambda: "0123456789ab")
    _crash_after(monkeypatch, out, 1)
    monkeypatch.undo()
    never = KernelSpy(fail_after=0)
    use_kernel(monkeypatch, rf_risk, never)
    with pytest.raises(ValueError, match="another version of the code"):
        rf_risk.sweep(BASE, out=out)
    assert never.calls == []
    monkeypatch.undo()
    ds, _ = rf_risk.sweep(BASE, out=out, resume=False)
    assert_same_result(ds, reference)


def test_a_finished_file_of_another_config_is_kept_unless_overwrite(
    tmp_path, monkeypatch
):
    out = tmp_path / "grid.nc"
    small = BASE.replace(n=(48,))
    rf_risk.sweep(small, out=out)
    before = out.read_bytes()
    with pytest.raises(ValueError, match=r"n: \[48\] -> \[48, 64\].*--overwrite"):
        rf_risk.sweep(BASE, out=out)
    assert out.read_bytes() == before
    ds, _ = rf_risk.sweep(BASE, out=out, overwrite=True)
    assert list(ds["n"].values) == [48, 64]


def test_a_file_that_is_not_a_grid_is_kept_unless_overwrite(tmp_path, monkeypatch):
    """A typo in --out must not replace a user's file: refused before any work."""
    out = tmp_path / "notes.txt"
    out.write_text("my notes\n")
    never = KernelSpy(fail_after=0)
    use_kernel(monkeypatch, rf_risk, never)
    with pytest.raises(ValueError, match=r"notes.txt exists and is not a readable"):
        rf_risk.sweep(BASE, out=out)
    assert out.read_text() == "my notes\n" and never.calls == []
    monkeypatch.undo()
    ds, _ = rf_risk.sweep(BASE, out=out, overwrite=True)
    assert read_netcdf(out).sizes == ds.sizes


def test_device_cpu_reuses_a_device_auto_result_on_a_cpu_machine(tmp_path, monkeypatch):
    if rf_risk.resolve_device("auto").type != "cpu":
        pytest.skip("auto resolves to a GPU here")
    out = tmp_path / "grid.nc"
    rf_risk.sweep(BASE.replace(device="auto"), out=out)
    never = KernelSpy(fail_after=0)
    use_kernel(monkeypatch, rf_risk, never)
    ds, _ = rf_risk.sweep(BASE.replace(device="cpu"), out=out)
    assert never.calls == []
    assert ds.sizes["n"] == 2


# --- errors before work ---------------------------------------------------------------


@pytest.mark.parametrize("case", ["directory", "under_a_file", "empty", "local:x"])
def test_an_unwritable_out_is_refused_before_any_work(tmp_path, monkeypatch, case):
    """Also an empty --out and a malformed local:N scheduler: refused before the
    parts folder is made."""
    scheduler = None
    if case == "empty":
        out, pattern = "", "names no file"
    elif case == "local:x":
        out, pattern, scheduler = tmp_path / "g.nc", "local:N needs N >= 1", case
    elif case == "directory":
        out = tmp_path / "somedir"
        out.mkdir()
        pattern = "is a directory"
    else:
        (tmp_path / "plain").write_text("x")
        out = tmp_path / "plain" / "sub" / "grid.nc"
        pattern = "is a file"
    never = KernelSpy(fail_after=0)
    use_kernel(monkeypatch, rf_risk, never)
    with pytest.raises(ValueError, match=pattern):
        rf_risk.sweep(BASE, out=out, scheduler=scheduler)
    assert never.calls == [] and not list(tmp_path.glob("*.parts"))


def test_a_lock_file_that_cannot_be_made_is_one_line(tmp_path, monkeypatch):
    """As root, ``os.access`` says yes to folders like /proc where nothing can be
    created; the lock file is then the first thing that fails."""
    real_open = os.open

    def refuse_lock(path, *args):
        if str(path).endswith(".lock"):
            raise FileNotFoundError(2, "No such file or directory")
        return real_open(path, *args)

    monkeypatch.setattr(os, "open", refuse_lock)
    with pytest.raises(ValueError, match=r"cannot create .*\.lock: No such file"):
        rf_risk.sweep(BASE, out=tmp_path / "grid.nc")


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_result_files_follow_the_umask(tmp_path, umask):
    """Files are readable by others exactly when the umask allows it (a mkstemp
    temporary made every grid 0600)."""
    old = os.umask(umask)
    try:
        path = write_netcdf_atomic(
            xr.Dataset({"a": ("x", [1.0, 2.0])}), tmp_path / "g.nc"
        )
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["g.nc"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ValueError, match="not writable"):
            rf_risk.sweep(BASE, out=folder / "grid.nc")
    finally:
        folder.chmod(0o755)


def test_a_scheduler_where_nothing_listens_fails_fast(tmp_path):
    pytest.importorskip("dask.distributed")
    started = time.monotonic()
    with pytest.raises(ValueError, match="cannot reach the dask scheduler"):
        rf_risk.sweep(BASE, out=tmp_path / "g.nc", scheduler="tcp://127.0.0.1:9")
    assert time.monotonic() - started < 60


def test_parts_without_a_chunk_do_not_block_another_config(tmp_path):
    """A run that failed before its first chunk (here: no scheduler listening)
    leaves only its stamp; a run of another config may use the same --out."""
    pytest.importorskip("dask.distributed")
    out = tmp_path / "g.nc"
    with pytest.raises(ValueError, match="cannot reach the dask scheduler"):
        rf_risk.sweep(BASE, out=out, scheduler="tcp://127.0.0.1:9")
    ds, _ = rf_risk.sweep(BASE.replace(seed=1), out=out)
    assert ds.attrs["seed"] == 1


# --- worker count, and kills ----------------------------------------------------------


def test_two_worker_processes_give_the_identical_file(tmp_path, reference):
    ds, path = rf_risk.sweep(BASE, out=tmp_path / "grid.nc", workers=2)
    assert_same_result(ds, reference)
    assert_same_result(read_netcdf(path), reference)
    assert ds.attrs["cpu_threads"] == 1


_AFTER_THREADED_WORK = """
import sys
import torch
from sims import rf_risk
from tests.sims.test_sweep import BASE
torch.set_num_threads(2)
x = torch.randn(1500, 1500, dtype=torch.float64)
for _ in range(3):
    x = torch.tanh(x @ x / 1500)  # OpenMP regions on 2 threads before the fork
rf_risk.sweep(BASE, out=sys.argv[1], workers=2)
"""


def test_workers_forked_after_threaded_torch_work_finish_identically(
    tmp_path, reference
):
    """Workers are forked on Linux: a process that ran 2-thread torch work first must
    neither hang (2-minute limit) nor change a number."""
    out = tmp_path / "grid.nc"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OMP_NUM_THREADS", None)
    cmd = [sys.executable, "-c", _AFTER_THREADED_WORK, str(out)]
    subprocess.run(cmd, cwd=REPO, env=env, check=True, timeout=120)
    assert_same_result(read_netcdf(out), reference)


def _run_cli_killing(cmd, cwd, env, delays) -> None:
    """Start ``cmd`` once per delay and SIGKILL it after that many seconds."""
    for delay in delays:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="forked workers are Linux-only")
def test_sigkill_of_the_sweep_process_frees_the_lock_and_stops_its_workers(tmp_path):
    """Forked workers inherit the run's lock: a SIGKILL of the sweep process alone
    must still free it at once (else a rerun refuses to start) and stop them."""
    argv = ["--sweep", "--smoke", "--set", "n=48,64,80,96", "--out", "grid.nc", "-q"]
    cmd = [sys.executable, "-m", "sims.rf_risk", *argv, "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not (workers := _children(proc.pid)) and proc.poll() is None:
        assert time.monotonic() < deadline, "no worker started"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert workers, "the sweep ended before its workers were seen"
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_alive, workers))
    fd = os.open(tmp_path / ".grid.nc.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # BlockingIOError if held
    finally:
        os.close(fd)


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_gives_the_identical_file(
    tmp_path, reference
):
    """Kills at seeded random moments (import, chunks, part writes, final write)."""
    argv = ["--sweep", "--smoke", "--set", "n=48,64", "--out", "grid.nc", "-q"]
    cmd = [sys.executable, "-m", "sims.rf_risk", *argv, "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    rng = random.Random(0)
    _run_cli_killing(cmd, tmp_path, env, [rng.uniform(1.0, 8.0) for _ in range(4)])
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "grid.nc.parts").exists()
    assert not list(tmp_path.glob(".*"))  # no temp or lock file left
    got = read_netcdf(tmp_path / "grid.nc")
    for name in ("test_risk", "test_risk_heldout", "train_risk", "test_risk_theory"):
        assert (got[name].values == reference[name].values).all(), name


class KillWorkerOnce:
    """The rf_risk kernel, except that the first call kills its own process."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __call__(self, config, chunk):
        if not self.marker.exists():
            self.marker.write_text("killed")
            os._exit(1)
        return rf_risk._kernel(config, chunk)


@pytest.mark.slow
def test_a_dask_worker_killed_mid_chunk_is_retried_to_the_identical_file(
    tmp_path, reference, monkeypatch
):
    pytest.importorskip("dask.distributed")
    marker = tmp_path / "killed"
    use_kernel(monkeypatch, rf_risk, KillWorkerOnce(marker))
    ds, _ = rf_risk.sweep(BASE, out=tmp_path / "grid.nc", scheduler="local:2")
    assert marker.exists()  # a worker did die mid-chunk
    assert_same_result(ds, reference)
