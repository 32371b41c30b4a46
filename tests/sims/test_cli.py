"""``python -m sims.rf_risk`` through ``main(argv)``: runs, overrides, bad input.

The CLI contract (README.md, "What a result file promises", "Nothing silent"):
``main(argv=None) -> int``; a closing table of theory vs simulation; exit 2 with one
clear line on bad input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sims import rf_risk
from sims._io import read_netcdf
from tests.sims._patch import use_kernel

SMOKE = rf_risk.PRESETS["smoke"]


def _exit_code(argv) -> int:
    """``main``'s return value, or the code of the SystemExit argparse raises."""
    try:
        return rf_risk.main(argv)
    except SystemExit as exc:
        return exc.code


def test_smoke_sweep_writes_the_grid_and_prints_the_gap_table(tmp_path, capsys):
    out = tmp_path / "smoke.nc"
    assert rf_risk.main(["--sweep", "--smoke", "--out", str(out), "-q"]) == 0
    stdout = capsys.readouterr().out
    assert out.exists()
    ds = read_netcdf(out)
    assert rf_risk.RFRiskSweep.from_json(ds.attrs["config_json"]) == SMOKE
    assert ds.sizes["trial"] == SMOKE.trials
    assert f"wrote {out}" in stdout
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("variable"))
    assert "worst |z|" in lines[header] and "worst rel gap" in lines[header]
    rows = [line.split()[0] for line in lines[header + 1 :]]
    assert {"test_risk", "train_risk"} <= set(rows)
    # the away-from-peak subset of rf_risk is reported
    assert any("k not in" in line for line in lines[header + 1 :])
    # the columns line up: every row ends where the header does, and the cell
    # count ends under "cells" even after the long away-from-peak label
    table = lines[header : header + 1 + len(rows)]
    assert {len(line) for line in table} == {len(lines[header])}
    cells_end = lines[header].index("cells") + len("cells")
    assert all(line[cells_end - 1].isdigit() for line in table[1:])
    # the command line is kept as provenance
    assert ds.attrs["command"].startswith("python -m sims.rf_risk --sweep --smoke")
    # the same command again reuses the file, and says so
    mtime = out.stat().st_mtime_ns
    assert rf_risk.main(["--sweep", "--smoke", "--out", str(out), "-q"]) == 0
    again = capsys.readouterr().out
    assert f"reused {out}" in again and "wrote" not in again
    assert out.stat().st_mtime_ns == mtime


def test_set_changes_the_grid(tmp_path, capsys):
    out = tmp_path / "grid.nc"
    argv = ["--sweep", "--smoke", "--set", "n=32,48", "trials=2", "--out", str(out)]
    assert rf_risk.main([*argv, "-q"]) == 0
    capsys.readouterr()
    ds = read_netcdf(out)
    assert list(ds["n"].values) == [32, 48]
    assert ds.sizes["trial"] == 2
    config = rf_risk.RFRiskSweep.from_json(ds.attrs["config_json"])
    assert config == SMOKE.replace(n=(32, 48), trials=2)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--no-such-flag"], "--no-such-flag"),
        (["--set", "k=abc"], "abc"),
        (["--set", "nosuch=1"], "nosuch"),
        (["--trials", "0"], "0"),
        (["--trials", "many"], "many"),
        (["--dtype", "float16"], "float16"),
        (["--device", "cuda:7"], "cuda:7"),
        (["--device", "tpu"], "tpu"),
        (["--set", "k=99999"], "99999"),
        (["--preset", "nosuch"], "nosuch"),
        (["--seed", "-1"], "-1"),
        (["--set", "ridge=-1"], "-1"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, named, tmp_path, capsys):
    out = tmp_path / "grid.nc"
    code = _exit_code(["--sweep", "--smoke", "--out", str(out), *args])
    captured = capsys.readouterr()
    assert code == 2
    err_lines = captured.err.splitlines()
    assert len(err_lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert named in err_lines[0]
    assert "error" in err_lines[0]
    assert not out.exists()


@pytest.mark.parametrize("sweep_flag", [[], ["--sweep"]])
def test_print_config_prints_json_that_from_json_accepts(
    tmp_path, capsys, monkeypatch, sweep_flag
):
    def boom(*args, **kwargs):
        raise AssertionError("--print-config must not run the sweep")

    use_kernel(monkeypatch, rf_risk, boom)
    out = tmp_path / "x.nc"
    argv = ["--print-config", "--preset", "smoke", "--set", "n=32,48", "--seed", "3"]
    assert rf_risk.main([*argv, *sweep_flag, "--out", str(out)]) == 0
    text = capsys.readouterr().out.strip()
    config = rf_risk.RFRiskSweep.from_json(text)
    assert json.loads(text) == json.loads(config.to_json())
    assert config == SMOKE.replace(n=(32, 48), seed=3)
    assert not out.exists()


def test_without_sweep_nothing_is_run(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("sweep must not run without --sweep")

    use_kernel(monkeypatch, rf_risk, boom)
    assert rf_risk.main(["--smoke", "--out", str(tmp_path / "x.nc")]) == 0
    captured = capsys.readouterr()
    assert rf_risk.RFRiskSweep.from_json(captured.out.strip()) == SMOKE
    assert "--sweep" in captured.err
    assert not (tmp_path / "x.nc").exists()


def test_progress_shows_our_info_lines_and_only_warnings_of_libraries(tmp_path):
    """jax logs INFO lines on import through its own handler; with the root logger at
    INFO each showed twice. Ours show once, with the program's prefix."""
    code = """
import logging, sys
from sims import rf_risk
from sims._experiment import Experiment
run = Experiment.run
def noisy(self, *args, **kwargs):
    logging.getLogger("somelib").info("LIBRARY INFO")
    logging.getLogger("somelib").warning("LIBRARY WARNING")
    logging.getLogger("sims.x").info("OUR INFO")
    return run(self, *args, **kwargs)
Experiment.run = noisy
sys.exit(rf_risk.main(["--sweep", "--smoke", "--out", sys.argv[1]]))
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "g.nc")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines.count("python -m sims.rf_risk: OUR INFO") == 1, lines
    assert "LIBRARY INFO" not in done.stderr
    assert sum("LIBRARY WARNING" in line for line in lines) == 1


def test_version_names_the_code_version_result_files_record(capsys):
    from sims._io import code_version

    assert _exit_code(["--version"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("python -m sims.rf_risk learning-dynamics ")
    assert line.endswith(f"(code {code_version()})")


def test_python_m_sims_lists_every_module_and_experiment(capsys):
    from sims.__main__ import main as sims_main
    from sims._registry import all_experiments

    assert sims_main([]) == 0
    out = capsys.readouterr().out
    for module, experiments in all_experiments().items():
        line = next(x for x in out.splitlines() if x.split()[:1] == [module])
        assert line.endswith(", ".join(e.key for e in experiments))
    assert sims_main(["--sweep"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'--sweep'" in err
