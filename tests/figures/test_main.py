"""``python -m figures`` runs the ``default`` sweep of an experiment that has no saved
grid (and says so on stderr), and only of those."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import figures.__main__ as figmain
from figures import rf_real
from figures import rf_risk
from figures._grid import figure_main
from figures._grid import grid_module
from sims._experiment import Experiment
from sims._registry import all_experiments
from tests._cli import exit_code
from tests._cli import one_line_error
from tests.figures._rf_risk_grid import make_grid


def _record_runs(monkeypatch):
    ran = []

    def fake_run(self, config, *, out, **_):
        ran.append((self.key, config, out))

    monkeypatch.setattr(Experiment, "run", fake_run)
    return ran


def test_missing_grids_run_their_default_preset(monkeypatch, tmp_path, capsys):
    ran = _record_runs(monkeypatch)
    figmain.run_missing("selu", tmp_path)
    experiments = all_experiments()["sims.selu"]
    assert [key for key, _, _ in ran] == [e.key for e in experiments]
    for (_, config, out), experiment in zip(ran, experiments, strict=True):
        assert config == experiment.presets["default"]
        assert out == tmp_path / "selu" / f"{config.config_hash()}.nc"
    err = capsys.readouterr().err
    assert "python -m sims.selu --sweep --experiment layer --preset default" in err


def test_a_saved_grid_of_any_preset_is_used_not_rerun(monkeypatch, tmp_path):
    ran = _record_runs(monkeypatch)
    layer = all_experiments()["sims.selu"][0]
    smoke = layer.presets["smoke"]
    folder = tmp_path / "selu"
    folder.mkdir()
    xr.Dataset(attrs={"config_json": smoke.to_json()}).to_netcdf(
        folder / "x.nc", engine="h5netcdf"
    )
    figmain.run_missing("selu", tmp_path)
    assert layer.key not in [key for key, _, _ in ran]
    assert len(ran) == len(all_experiments()["sims.selu"]) - 1


def test_no_run_draws_only_saved_grids(monkeypatch, tmp_path):
    ran = _record_runs(monkeypatch)
    monkeypatch.setattr(figmain, "MODULES", {"selu": figmain.MODULES["selu"]})
    assert (
        figmain.main(
            ["--results", str(tmp_path), "--out", str(tmp_path / "o"), "--no-run"]
        )
        == 0
    )
    assert ran == []


def test_figure_commands_in_the_docs_read_the_folders_the_sims_write():
    """``python -m figures.X results/<dir>/...`` in README.md and docs/*.md: ``<dir>``
    is where ``python -m sims.X --sweep`` writes (``results/<experiment name>/``)."""
    root = Path(__file__).resolve().parents[2]
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    command = re.compile(r"python -m figures\.(\w+) results/([^/\s]+)/")
    found = [
        (page.name, module, folder)
        for page in pages
        for module, folder in command.findall(page.read_text())
    ]
    assert len(found) >= 5, found
    for page, module, folder in found:
        names = {e.name for e in all_experiments()[f"sims.{module}"]}
        assert folder in names, f"{page}: results/{folder}/ is not one of {names}"


# --- bad input: exit 2, one line on stderr naming the bad value, nothing drawn ---


def _unwritable(tmp_path: Path, case: str) -> Path:
    """A folder path no figure can be written under (``case``)."""
    if case == "proc":
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc")
        return Path("/proc/ld-test-figures")  # no new file there, even for root
    notes = tmp_path / "notes.txt"
    notes.write_text("a regular file\n")
    return {"file": notes, "under_file": notes / "figs"}[case]


@pytest.fixture
def nothing_drawn(monkeypatch):
    """``python -m figures`` over selu only, whose drawing fails the test."""

    def refuse(grids, out_dir, **_):
        raise AssertionError("drew figures before checking the arguments")

    monkeypatch.setattr(figmain, "MODULES", {"selu": figmain.MODULES["selu"]})
    monkeypatch.setattr(figmain.MODULES["selu"], "write_figures", refuse)


def figure_main_of(name, write):
    return figure_main(name=name, what=name, load=lambda p: p, write=write)


def _rf_risk_grid(path: Path, config_json: str) -> Path:
    """A tiny synthetic rf_risk-layout grid whose attrs name ``config_json``."""
    ds = make_grid(64, [8, 16], ridges=np.array([0.1, 1.0]), trials=2)
    ds.attrs.update(experiment="rf", config_json=config_json)
    ds.to_netcdf(path, engine="h5netcdf")
    return path


@pytest.mark.parametrize("case", ["file", "under_file", "proc"])
def test_figures_refuses_an_unwritable_out_before_drawing(
    tmp_path, capsys, nothing_drawn, case
):
    out = _unwritable(tmp_path, case)
    argv = ["--no-run", "--results", str(tmp_path / "res"), "--out", str(out)]
    assert exit_code(figmain.main, argv) == 2
    assert f"--out {out}" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("case", "no_run"),
    [
        ("file", False),
        ("under_file", False),
        ("proc", False),
        ("file", True),  # --no-run only reads it: an unwritable folder would do
        ("under_file", True),
    ],
)
def test_figures_refuses_unusable_results_before_running_or_drawing(
    monkeypatch, tmp_path, capsys, nothing_drawn, case, no_run
):
    ran = _record_runs(monkeypatch)
    results = _unwritable(tmp_path, case)
    argv = ["--results", str(results), "--out", str(tmp_path / "o")]
    assert exit_code(figmain.main, argv + ["--no-run"] * no_run) == 2
    assert f"--results {results}" in one_line_error(capsys)
    assert ran == []
    assert not (tmp_path / "o").exists()


def test_figures_reports_a_refused_sweep_in_one_line(monkeypatch, tmp_path, capsys):
    """A missing default sweep whose output path holds a non-grid file: the sweep's
    own refusal, as one line, not a traceback."""
    monkeypatch.setattr(figmain, "MODULES", {"selu": figmain.MODULES["selu"]})
    layer = all_experiments()["sims.selu"][0]
    blocker = tmp_path / "selu" / f"{layer.presets['default'].config_hash()}.nc"
    blocker.parent.mkdir()
    blocker.write_text("not a grid\n")
    argv = ["--results", str(tmp_path), "--out", str(tmp_path / "o")]
    assert exit_code(figmain.main, argv) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("python -m figures: error: ")
    assert str(blocker) in err.splitlines()[-1] and "Traceback" not in err
    assert blocker.read_text() == "not a grid\n"  # not replaced unasked


@pytest.mark.parametrize("case", ["file", "under_file", "proc"])
def test_figure_modules_refuse_an_unwritable_out(monkeypatch, tmp_path, capsys, case):
    out = _unwritable(tmp_path, case)
    grid = _rf_risk_grid(tmp_path / "g.nc", "{}")

    def refuse(*args, **kwargs):
        raise AssertionError("drew figures before checking --out")

    monkeypatch.setattr(rf_risk, "write_figures", refuse)
    assert exit_code(rf_risk.main, [str(grid), "--out", str(out)]) == 2
    assert f"--out {out}" in one_line_error(capsys)
    main = figure_main_of("selu", refuse)  # every other figures.<module>
    assert exit_code(main, ["--out", str(out)]) == 2
    assert f"--out {out}" in one_line_error(capsys)


@pytest.mark.parametrize(
    "main",
    [figmain.main, rf_risk.main, figmain.MODULES["selu"].main],
    ids=["figures", "figures.rf_risk", "figures.selu"],
)
def test_figure_commands_one_line_usage_errors_and_defaults_in_help(main, capsys):
    assert exit_code(main, ["x.nc", "--bogus"]) == 2
    assert "--bogus" in one_line_error(capsys)
    assert exit_code(main, ["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--out OUT output folder (default: figures/out)" in text
    if main is figmain.main:
        assert "(default: results)" in text


def test_every_experiment_is_told_apart_by_its_grid_attrs():
    """Each sims module's grids name it (experiment key + config fields), even where
    two modules share an experiment key (``rf``)."""
    for module, experiments in all_experiments().items():
        for e in experiments:
            ds = xr.Dataset(
                attrs={"experiment": e.key, "config_json": e.presets["smoke"].to_json()}
            )
            assert grid_module(ds) == module, (module, e.key)
            smoke = e.presets["smoke"]
            named = xr.Dataset(attrs=e._grid_attrs(smoke))
            assert named.attrs["module"] == module, (module, e.key)
            assert grid_module(named) == module, (module, e.key)
    assert grid_module(xr.Dataset(attrs={"experiment": "rf"})) is None


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("sims.rf_real", "sims.rf_real"),  # the attr wins over the config's fields
        ("sims.selu", None),  # no experiment "rf" there
        ("sims.nowhere", None),
        (3, None),
    ],
)
def test_a_grid_naming_its_module_is_taken_at_its_word(module, expected):
    from sims.rf_risk import EXPERIMENT

    config = EXPERIMENT.presets["smoke"].to_json()
    attrs = {"experiment": "rf", "config_json": config, "module": module}
    assert grid_module(xr.Dataset(attrs=attrs)) == expected


def test_a_grid_of_another_module_is_refused_in_one_line(tmp_path, capsys):
    risk = _rf_risk_grid(
        tmp_path / "risk.nc",
        all_experiments()["sims.rf_risk"][0].presets["smoke"].to_json(),
    )
    out = tmp_path / "o"
    assert exit_code(rf_real.main, [str(risk), "--out", str(out)]) == 2
    err = one_line_error(capsys)
    assert f"{risk} is a sims.rf_risk grid" in err and "not sims.rf_real" in err
    assert not out.exists()
    # The same variables with the attrs of an rf_real grid: accepted by rf_real; the
    # rf_risk grid by rf_risk.
    real = next(e for e in all_experiments()["sims.rf_real"] if e.key == "rf")
    accepted = _rf_risk_grid(tmp_path / "real.nc", real.presets["smoke"].to_json())
    rf_real.load_grid(accepted)
    rf_risk.load_grid(risk)
    with pytest.raises(rf_risk.GridError, match=re.escape("is a sims.rf_real grid")):
        rf_risk.load_grid(accepted)


@pytest.mark.parametrize("stem", sorted(figmain.MODULES))
def test_every_figure_module_refuses_grids_of_other_modules(tmp_path, stem):
    module = figmain.MODULES[stem]
    for sims_module, experiments in all_experiments().items():
        if sims_module == f"sims.{stem}":
            continue
        e = experiments[0]
        path = tmp_path / f"{e.name}_{e.key}.nc"
        attrs = {"experiment": e.key, "config_json": e.presets["smoke"].to_json()}
        xr.Dataset({"x": ("a", [1.0])}, attrs=attrs).to_netcdf(path, engine="h5netcdf")
        with pytest.raises(
            module.GridError, match=re.escape(f"is a {sims_module} grid")
        ):
            module.load_grid(path)


def test_figures_skips_a_grid_of_another_module_in_one_line(
    monkeypatch, tmp_path, capsys
):
    """``python -m figures`` draws nothing from an rf_risk grid under rf_real/."""
    folder = tmp_path / "rf_real"
    folder.mkdir()
    risk = _rf_risk_grid(
        folder / "x.nc", all_experiments()["sims.rf_risk"][0].presets["smoke"].to_json()
    )
    drawn = []
    monkeypatch.setattr(figmain, "MODULES", {"rf_real": rf_real})
    monkeypatch.setattr(
        rf_real, "write_figures", lambda grids, out: drawn.extend(grids) or []
    )
    argv = ["--no-run", "--results", str(tmp_path), "--out", str(tmp_path / "o")]
    assert figmain.main(argv) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if str(risk) in line] == [
        f"skipped {risk} is a sims.rf_risk grid (experiment 'rf'), not sims.rf_real"
    ]
    assert drawn == []
