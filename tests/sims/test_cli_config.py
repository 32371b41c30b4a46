"""``--config FILE``: start a run from a config file or from a result grid.

A grid keeps its exact config (``config_json``) and experiment (``experiment``), so
``--config grid.nc`` reruns it; ``--print-config`` output read back is the same config.
Every bad file exits 2 with one line naming it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sims import nce
from sims import rf_risk
from sims._io import read_netcdf
from sims._io import write_netcdf_atomic
from sims._registry import all_experiments
from sims.nce.__main__ import main as nce_main

REPO = Path(__file__).resolve().parents[2]
SMOKE = rf_risk.PRESETS["smoke"]


def _run(main, argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def _grid(path: Path, **attrs) -> Path:
    ds = xr.Dataset({"x": ("n", np.zeros(2))}, attrs=attrs)
    return write_netcdf_atomic(ds, path)


def test_a_grid_reruns_its_own_config(tmp_path, capsys):
    out = tmp_path / "grid.nc"
    argv = ["--sweep", "--smoke", "--set", "n=32", "trials=2", "--out", str(out), "-q"]
    assert rf_risk.main(argv) == 0
    capsys.readouterr()
    written = rf_risk.RFRiskSweep.from_json(read_netcdf(out).attrs["config_json"])
    assert written == SMOKE.replace(n=(32,), trials=2)  # not a preset
    mtime = out.stat().st_mtime_ns
    # the same config and code: the file is reused as it is
    assert rf_risk.main(["--config", str(out), "--sweep", "--out", str(out), "-q"]) == 0
    assert f"reused {out}" in capsys.readouterr().out
    assert out.stat().st_mtime_ns == mtime
    # --set and the flags apply on top of the file's config
    argv = ["--config", str(out), "--set", "trials=3", "--seed", "5", "--print-config"]
    assert rf_risk.main(argv) == 0
    printed = rf_risk.RFRiskSweep.from_json(capsys.readouterr().out.strip())
    assert printed == written.replace(trials=3, seed=5)


def test_print_config_output_read_back_is_the_same_config(tmp_path, capsys):
    argv = ["--experiment", "density", "--smoke", "--set", "steps=7", "--print-config"]
    assert nce_main(argv) == 0
    text = capsys.readouterr().out.strip()
    path = tmp_path / "density.json"
    path.write_text(text)
    argv = ["--experiment", "density", "--config", str(path), "--print-config"]
    assert nce_main(argv) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(text)


def test_a_grid_chooses_its_experiment(tmp_path, capsys):
    """Without --experiment, a grid's ``experiment`` attr picks the experiment."""
    density = nce.density.PRESETS["smoke"].replace(steps=7)
    grid = _grid(tmp_path / "d.nc", experiment="density", config_json=density.to_json())
    assert nce_main(["--config", str(grid), "--print-config"]) == 0
    printed = capsys.readouterr().out.strip()
    assert nce.density.EXPERIMENT.config.from_json(printed) == density


def _bad_files(tmp: Path) -> list[tuple[list[str], str]]:
    """``(argv, text the one error line must hold)`` for rf_risk."""
    smoke = json.loads(SMOKE.to_json())
    unknown = tmp / "unknown.json"
    unknown.write_text(json.dumps({**smoke, "nosuch": 1}))
    missing = tmp / "missing.json"
    missing.write_text(json.dumps({k: v for k, v in smoke.items() if k != "pool"}))
    bad_value = tmp / "bad_value.json"
    bad_value.write_text(json.dumps({**smoke, "trials": 0}))
    array = tmp / "array.json"
    array.write_text("[1, 2]")
    text = tmp / "text.txt"
    text.write_text("n = 32\n")
    binary = tmp / "binary.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    other = _grid(tmp / "ufm.nc", experiment="ufm", config_json="{}")
    no_config = _grid(tmp / "no_config.nc", experiment="rf")
    ok = tmp / "ok.json"
    ok.write_text(SMOKE.to_json())
    return [
        (["--config", str(tmp / "absent.json")], "absent.json"),
        (["--config", str(unknown)], "nosuch"),
        (["--config", str(missing)], "pool"),
        (["--config", str(bad_value)], "trials: 0"),
        (["--config", str(array)], "JSON object"),
        (["--config", str(text)], "not JSON"),
        (["--config", str(binary)], "neither JSON nor a grid"),
        (["--config", str(other)], "'ufm'"),
        (["--config", str(no_config)], "config_json"),
        (["--config", str(ok), "--preset", "paper"], "not both"),
        (["--config", str(ok), "--smoke"], "not both"),
    ]


@pytest.mark.parametrize("case", range(11))
def test_a_bad_config_file_exits_2_with_one_line(case, tmp_path, capsys):
    argv, named = _bad_files(tmp_path)[case]
    out = tmp_path / "out.nc"
    assert _run(rf_risk.main, [*argv, "--sweep", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "error" in lines[0], captured.err
    assert named in lines[0]
    assert not out.exists()


def test_a_grid_of_another_experiment_is_refused(tmp_path, capsys):
    grid = _grid(
        tmp_path / "g.nc",
        experiment="gaussian",
        config_json=nce.gaussian.PRESETS["smoke"].to_json(),
    )
    argv = ["--experiment", "density", "--config", str(grid), "--print-config"]
    assert _run(nce_main, argv) == 2
    err = capsys.readouterr().err
    assert "'gaussian'" in err and "'density'" in err


def test_every_experiment_reads_back_every_preset(tmp_path):
    """The JSON of every preset of every experiment is a config file that
    ``from_json`` turns back into the same preset."""
    for experiments in all_experiments().values():
        for e in experiments:
            for preset in e.presets.values():
                assert e.config.from_json(preset.to_json()) == preset


def test_a_closed_stdout_is_not_a_traceback():
    """``python -m sims.X ... | head`` closes the pipe early: exit 1, no traceback.
    (``--help`` needs nothing: argparse drops a failed write.)"""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sims.rf_risk", "--smoke", "--print-config"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # before the child has imported anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
