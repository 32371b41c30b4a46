"""The sweep engine (``sims._sweep``) driven through the rf_risk smoke preset.

Contracts from README.md, "What a result file promises" (identity, nothing mixed,
nothing lost): a cell's numbers
depend only on the root seed and its coordinate values (not on chunking or on the
other cells in the grid); an interrupted sweep resumes from its finished chunks and
ends equal to an uninterrupted run; a finished file is reused; provenance attrs are
netCDF-safe; a dask run equals the in-process run.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from sims import rf_risk
from sims._io import read_netcdf
from sims._sweep import plan_chunks
from tests._tolerances import IMPL_RTOL
from tests.sims._patch import use_kernel

REPO = Path(__file__).resolve().parents[2]
SMOKE = rf_risk.PRESETS["smoke"]
# Two n values x 2 trial batches = 4 chunks, so a crash can leave some behind.
BASE = SMOKE.replace(n=(48, 64))
MEASURED = ("test_risk", "test_risk_heldout", "train_risk")
_REAL_KERNEL = rf_risk._kernel
PROVENANCE = (
    "seed",
    "git_commit",
    "package_version",
    "created_utc",
    "device",
    "dtype",
    "torch_version",
    "command",
    "config_json",
)


class Crash(RuntimeError):
    """Raised by the spy kernel to simulate a crash mid-sweep."""


class KernelSpy:
    """Wraps the real rf_risk kernel, records the chunks it runs, can crash."""

    def __init__(self, fail_after: int | None = None):
        self.real = _REAL_KERNEL
        self.fail_after = fail_after
        self.calls = []

    def __call__(self, config, chunk):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise Crash(f"simulated crash after {self.fail_after} chunks")
        self.calls.append(chunk)
        return self.real(config, chunk)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.calls]


def _planned_keys(config) -> set[str]:
    """The chunks rf_risk.sweep plans: one n and a batch of trials each."""
    chunks = plan_chunks(
        {"n": config.n, "trial": range(config.trials)}, {"trial": config.trial_batch}
    )
    return {c.key for c in chunks}


def _without_created(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    ds.attrs = {k: v for k, v in ds.attrs.items() if k != "created_utc"}
    return ds


def assert_same_result(actual: xr.Dataset, expected: xr.Dataset) -> None:
    """Data, coords and every attr equal, except the creation time."""
    xr.testing.assert_identical(_without_created(actual), _without_created(expected))


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """The uninterrupted in-process run of BASE, and its file."""
    out = tmp_path_factory.mktemp("base") / "grid.nc"
    ds, path = rf_risk.sweep(BASE, out=out)
    return ds, path


@pytest.fixture(scope="module")
def variant_run(tmp_path_factory):
    """Runs of BASE with changed fields, each computed once per module."""
    cache = {}

    def run(**changes):
        key = tuple(sorted(changes.items()))
        if key not in cache:
            out = tmp_path_factory.mktemp("variant") / "grid.nc"
            cache[key] = rf_risk.sweep(BASE.replace(**changes), out=out)[0]
        return cache[key]

    return run


# --- (a, b) randomness: streams depend only on (seed, coordinate values) --------------


@pytest.mark.parametrize("trial_batch", [1, 3])
def test_trial_batch_changes_values_at_most_by_rounding(
    base_run, variant_run, trial_batch
):
    """The same random streams whatever the chunking. Batched BLAS may round a batch
    of 1 differently from a batch of 2 (measured: up to 9e-15 relative), so this
    holds to float64 rounding, not bitwise."""
    base, _ = base_run
    other = variant_run(n=(48,), trial_batch=trial_batch)
    for name in MEASURED:
        np.testing.assert_allclose(
            other[name].values,
            base[name].sel(n=[48]).values,
            rtol=IMPL_RTOL[np.dtype("f8")],
            err_msg=name,
        )


def test_extra_grid_values_do_not_change_shared_cells(base_run, variant_run):
    base, _ = base_run
    # an extra n (32, and 64 dropped) and extra k values (12, 24) around the shared ones
    other = variant_run(n=(32, 48), k=(8, 12, 16, 24, 32, 96, 128))
    shared = {"n": [48], "k": list(BASE.k)}
    for name in MEASURED:
        np.testing.assert_array_equal(
            other[name].sel(shared).values, base[name].sel(shared).values, name
        )
    # ... and the extra cells are not copies of the shared ones
    assert not np.array_equal(
        other["test_risk"].sel(k=12).values, other["test_risk"].sel(k=16).values
    )


def test_cells_and_trials_draw_distinct_streams(base_run):
    base, _ = base_run
    risk = base["test_risk"]
    # different trials of one cell, and different n at one (k, ridge, trial), differ
    assert np.unique(risk.sel(n=48).values, axis=-1).shape[-1] == BASE.trials
    assert np.all(risk.sel(n=48).values != risk.sel(n=64).values)


def test_a_different_seed_changes_every_value_and_is_not_reused(
    base_run, tmp_path, monkeypatch
):
    base, base_path = base_run
    out = tmp_path / "grid.nc"
    shutil.copy(base_path, out)  # a finished file of seed 0 at the same path
    spy = KernelSpy()
    use_kernel(monkeypatch, rf_risk, spy)
    config = BASE.replace(seed=1)
    with pytest.raises(ValueError, match=r"seed: 0 -> 1.*--overwrite"):
        rf_risk.sweep(config, out=out)
    assert spy.calls == []
    ds, _ = rf_risk.sweep(config, out=out, overwrite=True)
    assert len(spy.calls) == len(_planned_keys(config))
    assert rf_risk.RFRiskSweep.from_json(ds.attrs["config_json"]) == config
    for name in MEASURED:
        assert np.all(ds[name].values != base[name].values), name
    # theory does not depend on the seed
    xr.testing.assert_identical(ds["test_risk_theory"], base["test_risk_theory"])


# --- (c) resume -----------------------------------------------------------------------


def test_resume_after_a_crash_runs_only_the_missing_chunks(
    base_run, tmp_path, monkeypatch
):
    base, base_path = base_run
    out = tmp_path / "grid.nc"
    parts = tmp_path / "grid.nc.parts"
    planned = _planned_keys(BASE)
    assert len(planned) == 4

    crashing = KernelSpy(fail_after=2)
    use_kernel(monkeypatch, rf_risk, crashing)
    with pytest.raises(Crash):
        rf_risk.sweep(BASE, out=out)
    done = set(crashing.keys)
    assert len(done) == 2 and done <= planned
    assert not out.exists()
    assert {p.name.removesuffix(".nc") for p in parts.glob("*.nc")} == done
    assert json.loads((parts / "run.json").read_text())["config_json"] == BASE.to_json()

    resumed = KernelSpy()
    use_kernel(monkeypatch, rf_risk, resumed)
    ds, path = rf_risk.sweep(BASE, out=out)
    assert len(resumed.calls) == len(planned) - len(done)
    assert set(resumed.keys) == planned - done
    assert path == out and out.exists()
    assert not parts.exists()  # parts are removed once the grid is written
    assert_same_result(ds, base)
    assert_same_result(read_netcdf(out), read_netcdf(base_path))


def test_resume_accepts_another_spelling_of_the_same_device(
    base_run, tmp_path, monkeypatch
):
    """Chunks of an ``auto`` run resume under ``cpu`` (the run key holds the device
    type, as for a finished file; only the config JSON spells the device)."""
    base, _ = base_run
    assert BASE.device == "auto"
    out = tmp_path / "grid.nc"
    use_kernel(monkeypatch, rf_risk, KernelSpy(fail_after=2))
    with pytest.raises(Crash):
        rf_risk.sweep(BASE, out=out)
    resumed = KernelSpy()
    use_kernel(monkeypatch, rf_risk, resumed)
    ds, _ = rf_risk.sweep(BASE.replace(device="cpu"), out=out)
    assert len(resumed.calls) == len(_planned_keys(BASE)) - 2
    xr.testing.assert_identical(ds.drop_attrs(deep=False), base.drop_attrs(deep=False))


class ThreadSpy(KernelSpy):
    """Records torch's intra-op thread count inside each kernel call."""

    def __init__(self):
        super().__init__()
        self.threads = []

    def __call__(self, config, chunk):
        self.threads.append(torch.get_num_threads())
        return super().__call__(config, chunk)


@pytest.mark.parametrize("threads", [1, 2])
def test_kernels_run_with_exactly_the_declared_threads(tmp_path, monkeypatch, threads):
    """The engine, not the kernel, sets the thread count (kernels set none)."""
    spy = ThreadSpy()
    use_kernel(monkeypatch, rf_risk, spy)
    experiment = dataclasses.replace(rf_risk.EXPERIMENT, threads=threads)
    before = torch.get_num_threads()
    torch.set_num_threads(3 - threads)  # the caller's setting is not what runs
    try:
        experiment.run(BASE, out=tmp_path / "g.nc", workers=1)
    finally:
        torch.set_num_threads(before)
    assert spy.threads == [threads] * len(_planned_keys(BASE))


def _part_files(parts: Path) -> list[Path]:
    return sorted(parts.glob("*.nc")) if parts.exists() else []


def test_resume_after_sigkill_of_the_cli(tmp_path, monkeypatch):
    """Kill ``python -m sims.rf_risk`` once its first chunk is on disk, rerun the
    same command, and compare with an uninterrupted run of that command."""
    argv = ["--sweep", "--preset", "smoke", "--set", "n=48,64", "--out", "grid.nc"]
    cmd = [sys.executable, "-m", "sims.rf_risk", *argv]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed_dir, ref_dir = tmp_path / "killed", tmp_path / "ref"
    killed_dir.mkdir()
    ref_dir.mkdir()
    parts = killed_dir / "grid.nc.parts"

    proc = subprocess.Popen(
        cmd,
        cwd=killed_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not _part_files(parts) and proc.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("no chunk was written within 120 s")
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, (
        "the run finished before it could be killed; make the test's sweep larger"
    )
    n_done = len(_part_files(parts))
    assert 1 <= n_done < 4
    assert not (killed_dir / "grid.nc").exists()

    rerun = subprocess.run(
        cmd, cwd=killed_dir, env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    match = re.search(r"resuming: (\d+) of (\d+) chunks already done", rerun.stderr)
    assert match is not None, rerun.stderr
    assert (int(match[1]), int(match[2])) == (n_done, 4)
    assert not parts.exists()

    # The uninterrupted run: the same argv (so the same `command` attr), in-process.
    monkeypatch.chdir(ref_dir)
    assert rf_risk.main(argv) == 0
    assert_same_result(
        read_netcdf(killed_dir / "grid.nc"), read_netcdf(ref_dir / "grid.nc")
    )


# --- (d) reuse, resume=False, foreign parts -------------------------------------------


def test_a_finished_file_is_reused_and_resume_false_recomputes(
    base_run, tmp_path, monkeypatch
):
    base, base_path = base_run
    out = tmp_path / "grid.nc"
    shutil.copy(base_path, out)

    never = KernelSpy(fail_after=0)
    use_kernel(monkeypatch, rf_risk, never)
    ds, path = rf_risk.sweep(BASE, out=out)
    assert never.calls == [] and path == out
    xr.testing.assert_identical(ds, read_netcdf(base_path))  # the stored file itself

    spy = KernelSpy()
    use_kernel(monkeypatch, rf_risk, spy)
    ds, _ = rf_risk.sweep(BASE, out=out, resume=False)
    assert set(spy.keys) == _planned_keys(BASE) and len(spy.calls) == 4
    assert_same_result(ds, base)


def test_parts_of_a_different_config_raise_unless_resume_false(
    base_run, tmp_path, monkeypatch
):
    base, _ = base_run
    out = tmp_path / "grid.nc"
    parts = tmp_path / "grid.nc.parts"
    other = BASE.replace(seed=5)

    use_kernel(monkeypatch, rf_risk, KernelSpy(fail_after=1))
    with pytest.raises(Crash):
        rf_risk.sweep(other, out=out)
    foreign = _part_files(parts)
    assert len(foreign) == 1

    never = KernelSpy(fail_after=0)
    use_kernel(monkeypatch, rf_risk, never)
    with pytest.raises(ValueError, match=r"different run.*seed: 5 -> 0"):
        rf_risk.sweep(BASE, out=out)
    assert never.calls == []
    assert _part_files(parts) == foreign  # nothing of the other run was destroyed
    assert (
        json.loads((parts / "run.json").read_text())["config_json"] == other.to_json()
    )

    spy = KernelSpy()
    use_kernel(monkeypatch, rf_risk, spy)
    ds, _ = rf_risk.sweep(BASE, out=out, resume=False)
    assert len(spy.calls) == 4
    assert_same_result(ds, base)


def test_bad_scheduler_raises_value_error(tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed")
    use_kernel(monkeypatch, rf_risk, KernelSpy(fail_after=0))
    with pytest.raises(ValueError, match="local:0"):
        rf_risk.sweep(BASE, out=tmp_path / "grid.nc", scheduler="local:0")


# --- (e) layout, attrs and provenance -------------------------------------------------


def test_dims_coords_and_variables(base_run):
    ds, _ = base_run
    assert dict(ds.sizes) == {"n": 2, "k": 5, "ridge": 2, "trial": BASE.trials}
    assert list(ds["n"].values) == list(BASE.n)
    assert list(ds["k"].values) == list(BASE.k)
    assert list(ds["ridge"].values) == list(BASE.ridge)
    assert list(ds["trial"].values) == list(range(BASE.trials))
    for name in MEASURED:
        assert ds[name].dims == ("n", "k", "ridge", "trial")
        assert ds[name].dtype == np.float64
        assert np.all(np.isfinite(ds[name].values))
    for name in ("test_risk", "train_risk"):
        assert ds[f"{name}_theory"].dims == ("n", "k", "ridge")


@pytest.mark.parametrize("source", ["returned", "file"])
def test_provenance_attrs(base_run, source):
    ds, path = base_run
    if source == "file":
        ds = read_netcdf(path)
    attrs = ds.attrs
    for key in PROVENANCE:
        assert key in attrs, key
        value = attrs[key]
        assert isinstance(value, str | int | np.integer), (key, type(value))
        assert not isinstance(value, bool | np.bool_), key
    assert int(attrs["seed"]) == BASE.seed
    assert attrs["dtype"] == BASE.dtype
    assert time.strptime(attrs["created_utc"], "%Y-%m-%dT%H:%M:%SZ")
    assert rf_risk.RFRiskSweep.from_json(attrs["config_json"]) == BASE
    assert attrs["config_json"] == BASE.to_json()
    # Every attr is one netCDF can store (str/int/float, no dict/bool/None).
    for key, value in attrs.items():
        assert isinstance(value, str | int | float | np.integer | np.floating), key
        assert not isinstance(value, bool | np.bool_), key


def test_every_variable_is_labelled_and_theory_names_its_function(base_run):
    ds, _ = base_run
    for name, var in ds.data_vars.items():
        for key in ("long_name", "units", "math_symbol", "description"):
            assert isinstance(var.attrs.get(key), str) and var.attrs[key], (name, key)
        if name.endswith("_theory"):
            module, _, fn = var.attrs["theory_fn"].rpartition(".")
            assert callable(getattr(importlib.import_module(module), fn))
    for name in MEASURED:
        assert f"{name}_theory" in ds or name == "test_risk_heldout"


# --- (f) dask -------------------------------------------------------------------------


@pytest.mark.slow
def test_local_dask_cluster_gives_the_in_process_result(base_run, tmp_path):
    pytest.importorskip("dask.distributed")
    base, _ = base_run
    ds, _ = rf_risk.sweep(BASE, out=tmp_path / "grid.nc", scheduler="local:2")
    assert_same_result(ds, base)
