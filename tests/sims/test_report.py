"""The reproduction report (``python -m sims.report``): the smoke report passes and
writes a table per registered module; a failing claim makes the exit status 1."""

from __future__ import annotations

import json
import re

import pytest

import figures.__main__ as figures_main
import sims.report._tolerances as report_tol
from sims._io import read_netcdf
from sims._registry import MODULES
from sims.report import _claims
from sims.report.__main__ import main
from sims.report.__main__ import report_modules
from tests import _tolerances as test_tol


def test_report_tolerances_are_the_test_suites():
    names = [n for n in vars(report_tol) if n.isupper()]
    assert names
    for name in names:
        assert getattr(report_tol, name) == getattr(test_tol, name), name


def _patch_claims(monkeypatch, claims):
    modules, _ = report_modules()
    for module in modules.values():
        if module is not None:
            monkeypatch.setattr(module, "claims", lambda run: [])
    for module, fake in claims.items():
        monkeypatch.setattr(modules[module], "claims", lambda run, fake=fake: fake)


def _claim(measured, tolerance=0.05):
    return _claims.Claim("a claim", measured, tolerance, "z·SEM + allowance", "cells")


@pytest.mark.parametrize(
    ("measured", "status"), [(0.06, 1), (float("nan"), 1), (0.04, 0), (None, 0)]
)
def test_a_claim_over_its_tolerance_makes_the_exit_status_nonzero(
    monkeypatch, tmp_path, measured, status
):
    _patch_claims(monkeypatch, {"sims.rf_risk": [_claim(0.01), _claim(measured)]})
    out = tmp_path / "r.md"
    assert main(["--out", str(out), "--results", str(tmp_path / "res")]) == status
    text = out.read_text()
    assert ("**FAIL**" in text) == bool(status)
    if measured is None:
        assert "not checked at smoke" in text


def test_the_table_lists_every_registered_module(monkeypatch, tmp_path):
    _patch_claims(monkeypatch, {})
    out = tmp_path / "r.md"
    assert main(["--out", str(out), "--results", str(tmp_path / "res")]) == 0
    text = out.read_text()
    for module in MODULES:
        assert f"## `{module}`" in text
    for key in ("command", "device", "versions", "git commit", "date"):
        assert f"- {key}: " in text


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as err:
        main(["--preset", "huge"])
    assert err.value.code == 2
    assert main(["--workers", "0"]) == 2


@pytest.mark.slow
def test_smoke_report_runs_writes_the_table_and_passes(tmp_path):
    """The CI command (about 30 s of sims on an idle 2-core machine)."""
    out = tmp_path / "reproduction.md"
    rc = main(["--preset", "smoke", "--out", str(out), "--results", str(tmp_path)])
    text = out.read_text()
    assert rc == 0, text
    for module in MODULES:
        assert f"## `{module}`" in text
    rows = [line for line in text.splitlines() if line.endswith("| pass |")]
    assert len(rows) >= 6
    assert "**FAIL**" not in text
    assert "## Numbers the papers report" in text
    # Every grid it wrote names its experiment, and no NaN in it is silent: a NaN
    # of a variable is at a cell flagged in `diverged`, or the variable says in its
    # description what its NaN means.
    grids = sorted(tmp_path.rglob("*.nc"))
    assert len(grids) >= 6, grids
    for path in grids:
        ds = read_netcdf(path)
        assert ds.attrs.get("experiment"), path
        for name in ds.coords:  # every coordinate is labelled
            assert ds[name].attrs.get("long_name"), (path, name)
        # Its figure module accepts it (a dim order it did not expect once hid the
        # rf_real spectra figures: ``python -m figures`` skipped the grid).
        figures_main.MODULES[path.parent.name].load_grid(path)
        for name, var in ds.data_vars.items():
            if var.dtype.kind != "f" or "NaN" in var.attrs["description"]:
                continue
            silent = var.isnull()
            if "diverged" in ds:
                flag = ds["diverged"].astype(bool)
                flag = flag.any([d for d in flag.dims if d not in var.dims])
                silent = silent & ~flag
            assert not bool(silent.any()), (path, name)
        # One dim order for every variable, swept config fields before the trial dim.
        fields = set(json.loads(ds.attrs["config_json"]))
        before = set()
        for var in ds.data_vars.values():
            dims = var.dims
            before |= {(a, b) for i, a in enumerate(dims) for b in dims[i + 1 :]}
            for trial in {"trial", "seed"} & set(dims):
                later = dims[dims.index(trial) + 1 :]
                assert not fields & set(later) - {"seed"}, (path, dims)
        assert not {(b, a) for a, b in before} & before, (path, before)
    # The header counts what was computed and what a rerun reuses: every grid.
    computed = re.search(r"grids computed: (\d+), reused from \S+: (\d+)", text)
    assert computed and int(computed[1]) == len(grids) and computed[2] == "0", computed
    rc = main(["--preset", "smoke", "--out", str(out), "--results", str(tmp_path)])
    assert rc == 0
    again = out.read_text()
    assert f"grids computed: 0, reused from {tmp_path}: {len(grids)};" in again
