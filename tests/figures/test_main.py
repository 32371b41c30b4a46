"""``python -m figures`` runs the ``default`` sweep of an experiment that has no saved
grid (and says so on stderr), and only of those."""

from __future__ import annotations

import re
from pathlib import Path

import xarray as xr

import figures.__main__ as figmain
from sims._experiment import Experiment
from sims._registry import all_experiments


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
