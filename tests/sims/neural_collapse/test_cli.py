"""The ``python -m sims.neural_collapse`` command line and the config bounds."""

from __future__ import annotations

import pytest
import xarray as xr

from sims import neural_collapse as snc


def test_cli_smoke_writes_a_grid_and_resumes(tmp_path, capsys):
    out = tmp_path / "flow.nc"
    argv = [
        "--sweep",
        "--experiment",
        "central_path",
        "--smoke",
        "--device",
        "cpu",
        "--out",
        str(out),
        "-q",
    ]
    assert snc.main(argv) == 0
    first = xr.open_dataset(out).load()
    assert snc.main(argv) == 0  # complete: nothing reruns, same file
    xr.testing.assert_identical(first, xr.open_dataset(out).load())
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["--experiment", "ufm", "--set", "lam=-1"],
        ["--experiment", "ufm", "--set", "width=2"],
        ["--experiment", "ufm", "--set", "profile=5"],
        ["--experiment", "ufm", "--set", "profile=5-0-3"],
        ["--experiment", "perturbation", "--set", "lam_h=3", "lam_w=1"],
        ["--experiment", "perturbation", "--set", "width=2"],
        ["--experiment", "central_path", "--set", "lam_w=0"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args, capsys):
    with pytest.raises(SystemExit) as exc:
        snc.main(["--smoke", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err


@pytest.mark.parametrize(
    "make",
    [
        lambda: snc.DeepUFMSweep(steps=10**12),
        lambda: snc.DeepUFMSweep(lr=1e6),
        lambda: snc.DeepUFMSweep(momentum=1.0),
        lambda: snc.DeepUFMSweep(bias=(2,)),
        lambda: snc.DeepUFMSweep(profile=("100000x4",)),
        lambda: snc.PerturbationSweep(width=1000, classes=10, n=10),
        lambda: snc.PerturbationSweep(eps=1e3),
        lambda: snc.CentralPathSweep(t_max=1e4, dt=1e-6),
        lambda: snc.CentralPathSweep(lam_w=(0.0,)),
        lambda: snc.DigitsSweep(width=10**12),
        lambda: snc.DigitsSweep(lr=1e6),
    ],
)
def test_config_bounds(make):
    with pytest.raises(ValueError):
        make()
