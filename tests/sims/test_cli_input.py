"""Bad input to every sim CLI, generated from the config declarations.

For every experiment of every sim module and every declared field constraint, a
value that breaks it must give exit status 2, exactly one line on stderr, no
traceback, and nothing written. ``--help`` lists every field.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from sims._config import _metadata
from sims._config import describe_fields
from sims._registry import all_experiments

REPO = Path(__file__).resolve().parents[2]

CASES = [
    (module, experiment, field.name)
    for module, experiments in all_experiments().items()
    for experiment in experiments
    for field in dataclasses.fields(experiment.config)
    if _metadata(experiment.config, field.name).get("check") is not None
]


def _bad_values(check, draw) -> list[str]:
    """Texts that break ``check``: beyond each bound, non-finite, not a number."""
    bad = ["abc"]
    if check.choices is not None:
        return ["nosuch_choice"]
    if check.ge is not None:
        bad.append(repr(check.ge - draw(st.floats(1, 1e6))))
    if check.gt is not None:
        bad.append(repr(check.gt - draw(st.floats(0, 1e6))))
    if check.le is not None:
        bad.append(repr(int(check.le) * draw(st.integers(2, 1000)) + 1))
    if check.lt is not None:
        bad.append(repr(check.lt + draw(st.floats(0, 1e6))))
    if check.finite:
        bad += ["nan", "inf", "-inf"]
    return bad


def _main(module):
    """The module's ``main``: ``sims.X.main`` or, for packages, ``sims.X.__main__``."""
    mod = importlib.import_module(module)
    if not hasattr(mod, "main"):
        mod = importlib.import_module(f"{module}.__main__")
    return mod.main


def _exit(module, argv):
    try:
        return _main(module)(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize(
    ("module", "experiment", "field"),
    CASES,
    ids=[f"{m}-{e.key}-{f}" for m, e, f in CASES],
)
@settings(max_examples=2)
@given(data=st.data())
def test_a_value_breaking_a_declared_constraint_exits_2_with_one_line(
    module, experiment, field, data, tmp_path_factory
):
    """Every declared field of every registered experiment, two bad values each."""
    check = _metadata(experiment.config, field)["check"]
    value = data.draw(st.sampled_from(_bad_values(check, data.draw)))
    out = tmp_path_factory.mktemp("bad") / "grid.nc"
    argv = ["--sweep", "--smoke", "--set", f"{field}={value}", "--out", str(out)]
    if len(all_experiments()[module]) > 1:
        argv += ["--experiment", experiment.key]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = _exit(module, argv)
    assert code == 2, (module, experiment.key, field, value)
    err = stderr.getvalue()
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert field in err or value in err, err
    assert not out.exists() and not out.with_name(out.name + ".parts").exists()


@pytest.mark.parametrize(
    ("module", "key"),
    [(m, e.key) for m, es in all_experiments().items() for e in es],
)
def test_help_lists_every_field_with_default_constraint_and_meaning(
    module, key, capsys
):
    assert _exit(module, ["--help"]) == 0
    text = capsys.readouterr().out
    experiment = next(e for e in all_experiments()[module] if e.key == key)
    for field in dataclasses.fields(experiment.config):
        line = next(
            (ln for ln in text.splitlines() if ln.split()[:1] == [field.name]), None
        )
        assert line is not None, f"{key}: field {field.name} missing from --help"
    # one column per kind: each field's meaning starts at the same place
    rows = describe_fields(experiment.config)
    block = text[text.index(f"{experiment.summary}\n") :]
    starts = {
        next(ln for ln in block.splitlines() if ln.split()[:1] == [name]).rindex(
            meaning
        )
        for name, _, _, meaning in rows
        if meaning
    }
    assert len(starts) == 1, starts
    for preset in experiment.presets:
        assert any(ln.split()[:1] == [preset] for ln in text.splitlines()), preset


def test_python_m_help_writes_nothing_to_stderr():
    """``python -m sims.X --help`` as a user runs it: no warning from the import
    (runpy warns when a package imports its own ``__main__``)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = {
        module: subprocess.Popen(
            [sys.executable, "-m", module, "--help"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for module in all_experiments()
    }
    for module, run in runs.items():
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0 and err == "", f"{module}: {err}"


def test_a_list_in_parentheses_gets_the_list_syntax(tmp_path, capsys):
    out = tmp_path / "g.nc"
    argv = ["--sweep", "--experiment", "layer", "--set", "mu=(1,1)", "--out", str(out)]
    assert _exit("sims.selu", argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a list is written mu=1,2,3" in err
    assert not out.exists()


def test_seed_beyond_64_bits_is_refused_before_work(tmp_path, capsys):
    out = tmp_path / "g.nc"
    argv = ["--sweep", "--smoke", "--seed", str(2**64), "--out", str(out)]
    assert _exit("sims.rf_risk", argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seed" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("flag", "field"), [("--trials", "trials"), ("--seed", "seed")]
)
def test_a_field_given_as_a_flag_and_in_set_is_refused(flag, field, capsys):
    """Once both ways: which should win is a guess, so neither does."""
    argv = ["--print-config", "--smoke", "--set", f"{field}=3", flag, "5"]
    assert _exit("sims.rf_risk", argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{field} is given both as {flag}" in err
