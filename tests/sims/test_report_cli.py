"""Bad input to ``python -m sims.report`` exits 2 with one line on stderr naming the
bad value, before any sweep runs; ``--help`` shows every default."""

from __future__ import annotations

from pathlib import Path

import pytest

from sims._experiment import Experiment
from sims.report.__main__ import _parser
from sims.report.__main__ import main
from tests._cli import exit_code
from tests._cli import one_line_error


@pytest.fixture
def no_sweep(monkeypatch):
    """Any sweep the report starts fails the test (the checks come first)."""

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"ran the {self.key} sweep before checking the arguments")

    monkeypatch.setattr(Experiment, "run", refuse)


def _path(tmp_path: Path, case: str) -> Path:
    """A path no file can be written at (``case``), under ``tmp_path`` or /proc."""
    if case.startswith("proc"):
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc")
        # Root may write anywhere by permission bits; /proc still takes no new file.
        return Path("/proc/ld-test-report" + case.removeprefix("proc"))
    notes = tmp_path / "notes.txt"
    notes.write_text("a regular file\n")
    return {
        "dir": tmp_path,
        "file": notes,
        "under_file": notes / "r.md",
        "under_file_deep": notes / "a" / "r.md",
    }[case]


@pytest.mark.parametrize(
    "case", ["dir", "under_file", "under_file_deep", "proc.md", "proc/r.md"]
)
def test_an_unwritable_out_is_refused_before_any_sweep(
    tmp_path, capsys, no_sweep, case
):
    out = _path(tmp_path, case)
    argv = ["--out", str(out), "--results", str(tmp_path / "res")]
    assert exit_code(main, argv) == 2
    err = one_line_error(capsys)
    assert f"--out {out}" in err
    assert not (tmp_path / "res").exists()  # nothing made for a refused command


@pytest.mark.parametrize("case", ["file", "under_file", "proc"])
def test_results_that_cannot_hold_grids_is_refused(tmp_path, capsys, no_sweep, case):
    results = _path(tmp_path, case)
    out = tmp_path / "r.md"
    assert exit_code(main, ["--results", str(results), "--out", str(out)]) == 2
    err = one_line_error(capsys)
    assert f"--results {results}" in err and "--out" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--preset", "nope"], "'nope'"),
        (["--workers", "abc"], "'abc'"),
        (["--workers", "0"], "got 0"),
        (["--workers", "-3"], "got -3"),
        (["--device", "tpu"], "tpu"),
        (["--bogus"], "--bogus"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_value(
    tmp_path, capsys, no_sweep, argv, named
):
    argv += ["--out", str(tmp_path / "r.md"), "--results", str(tmp_path / "res")]
    assert exit_code(main, argv) == 2
    err = one_line_error(capsys)
    assert err.startswith("python -m sims.report: error: ") and named in err


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo the line wrapping
    options = [a for a in _parser()._actions if a.option_strings != ["-h", "--help"]]
    assert {a.dest for a in options} >= {"preset", "device", "out", "results"}
    for action in options:
        if action.default is not None:
            assert f"(default: {action.default})" in text, action.dest
        else:
            assert "default:" in action.help, action.dest
    assert "(default: docs/reproduction.md)" in text
    assert "(default: results)" in text
