"""The sweep config: JSON round trip, hash, ``--set`` overrides, validation, grids.

Uses :class:`sims.rf_risk.RFRiskSweep` (the concrete config on top of
:class:`sims._config.SweepConfig`) and its presets.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sims._backend import resolve_device
from sims._config import abbreviate
from sims._config import int_logspace
from sims._config import show_value
from sims.rf_risk import PRESETS
from sims.rf_risk import RFRiskSweep

REPO = Path(__file__).resolve().parents[2]
SMOKE = PRESETS["smoke"]

# One valid alternative value per field of RFRiskSweep (all differ from SMOKE's).
ALTERNATIVES = {
    "n": (48, 64),
    "k": (8, 16, 32),
    "ridge": (1e-2, 2.0),
    "num_modes": 161,
    "pool": 170,
    "alpha": 1.25,
    "beta": 1.75,
    "noise_var": 0.25,
    "test_size": 201,
    "trials": 5,
    "trial_batch": 3,
    "seed": 7,
    "dtype": "float32",
    "device": "cpu",
}


# --- JSON round trip and hash ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_json_round_trip_of_every_preset(name):
    config = PRESETS[name]
    text = config.to_json()
    back = RFRiskSweep.from_json(text)
    assert back == config
    assert back.to_json() == text
    assert back.config_hash() == config.config_hash()
    # tuples come back as tuples with their element types, not as JSON lists
    assert isinstance(back.k, tuple) and all(type(v) is int for v in back.k)
    assert isinstance(back.ridge, tuple) and all(type(v) is float for v in back.ridge)


def test_json_is_plain_sorted_json_of_all_fields():
    raw = json.loads(SMOKE.to_json())
    assert set(raw) == {f.name for f in dataclasses.fields(RFRiskSweep)}
    assert list(raw) == sorted(raw)


def test_config_hash_is_deterministic_and_12_hex_digits():
    twin = RFRiskSweep(**dataclasses.asdict(SMOKE))
    assert twin is not SMOKE
    assert twin.config_hash() == SMOKE.config_hash() == SMOKE.config_hash()
    h = SMOKE.config_hash()
    assert len(h) == 12 and all(c in "0123456789abcdef" for c in h)


def test_config_hash_is_the_same_in_a_fresh_interpreter():
    """No dependence on Python's per-process hash randomization or on object ids."""
    code = (
        "from sims.rf_risk import PRESETS; "
        "print(' '.join(PRESETS[p].config_hash() for p in sorted(PRESETS)))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    here = " ".join(PRESETS[p].config_hash() for p in sorted(PRESETS))
    assert out.stdout.strip() == here


def test_alternatives_cover_every_field():
    # A new config field must be added to ALTERNATIVES (and so to the hash test).
    assert set(ALTERNATIVES) == {f.name for f in dataclasses.fields(RFRiskSweep)}


@pytest.mark.parametrize("field", sorted(set(ALTERNATIVES) - {"device"}))
def test_config_hash_changes_with_every_field_but_device(field):
    changed = SMOKE.replace(**{field: ALTERNATIVES[field]})
    assert changed != SMOKE
    assert changed.config_hash() != SMOKE.config_hash()


@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:1", "auto"])
def test_config_hash_ignores_device(device):
    assert SMOKE.replace(device=device).config_hash() == SMOKE.config_hash()


def test_equal_configs_have_equal_hashes_when_a_float_is_given_as_int():
    """``noise_var=0`` and ``noise_var=0.0`` are equal configs (and from_json turns
    one into the other), so they must name the same results file."""
    as_int = SMOKE.replace(noise_var=0)
    as_float = SMOKE.replace(noise_var=0.0)
    assert as_int == as_float
    assert RFRiskSweep.from_json(as_int.to_json()) == as_int
    assert as_int.config_hash() == as_float.config_hash()
    assert RFRiskSweep.from_json(as_int.to_json()).config_hash() == (
        as_int.config_hash()
    )


# --- with_overrides (the CLI's --set) -------------------------------------------------


def test_with_overrides_parses_by_field_type():
    c = SMOKE.with_overrides(["n=100,200", "ridge=0.1", "dtype=float32"])
    assert c.n == (100, 200) and all(type(v) is int for v in c.n)
    assert c.ridge == (0.1,) and type(c.ridge[0]) is float
    assert c.dtype == "float32"
    # everything else untouched
    assert c.replace(n=SMOKE.n, ridge=SMOKE.ridge, dtype=SMOKE.dtype) == SMOKE


def test_with_overrides_scalars_and_whitespace():
    c = SMOKE.with_overrides(["trials=6", " seed = 3", "noise_var=0.25", "alpha=2"])
    assert (c.trials, c.seed, c.noise_var, c.alpha) == (6, 3, 0.25, 2.0)
    assert type(c.alpha) is float


def test_with_overrides_no_assignments_is_identity():
    assert SMOKE.with_overrides([]) == SMOKE


def test_with_overrides_refuses_a_field_given_twice_naming_both():
    # not "the last one wins": a repeated --set is a mistake to report
    with pytest.raises(ValueError) as info:
        SMOKE.with_overrides(["seed=1", "trials=3", "seed=2"])
    message = str(info.value)
    assert "seed" in message and "seed=1" in message and "seed=2" in message


@pytest.mark.parametrize("text", ["8,,16", "8,", ",8", "8, ,16"])
def test_with_overrides_refuses_an_empty_list_item(text):
    with pytest.raises(ValueError) as info:
        SMOKE.with_overrides([f"k={text}"])
    assert "k" in str(info.value) and text in str(info.value)


def test_with_overrides_rejects_unknown_field_naming_it():
    with pytest.raises(ValueError, match="nosuch"):
        SMOKE.with_overrides(["nosuch=1"])


@pytest.mark.parametrize(
    ("assignment", "named"),
    [
        ("k=abc", "abc"),
        ("n=1.5", "1.5"),
        ("ridge=zero", "zero"),
        ("seed=x", "x"),
        ("trials=1,2", "1,2"),
        ("k=8,abc", "abc"),
    ],
)
def test_with_overrides_rejects_unparsable_values_naming_them(assignment, named):
    field = assignment.partition("=")[0]
    with pytest.raises(ValueError) as info:
        SMOKE.with_overrides([assignment])
    assert named in str(info.value)
    assert field in str(info.value)


@pytest.mark.parametrize("assignment", ["k=", "k"])
def test_with_overrides_rejects_malformed_assignments(assignment):
    with pytest.raises(ValueError, match="key=value"):
        SMOKE.with_overrides([assignment])


def test_with_overrides_rejects_an_empty_key():
    with pytest.raises(ValueError, match="''"):
        SMOKE.with_overrides(["=3"])


def test_with_overrides_runs_validation():
    with pytest.raises(ValueError, match="99999"):
        SMOKE.with_overrides(["k=99999"])


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"n": (0,)}, "0"),
        ({"n": (48, -3)}, "-3"),
        ({"k": (8, 16, 8)}, "(8, 16, 8)"),
        ({"k": (8, 161)}, "161"),
        ({"ridge": (0.1, -1.0)}, "-1.0"),
        ({"ridge": (math.nan,)}, "nan"),
        ({"ridge": (math.inf,)}, "inf"),
        ({"trials": 0}, "0"),
        ({"trial_batch": 0}, "0"),
        ({"seed": -1}, "-1"),
        ({"dtype": "float16"}, "float16"),
        ({"noise_var": -0.1}, "-0.1"),
        ({"num_modes": 0}, "0"),
        ({"pool": 0}, "0"),
        ({"test_size": 0}, "0"),
        ({"alpha": 0.0}, "0.0"),
        ({"beta": math.nan}, "nan"),
        ({"n": ()}, "n"),
    ],
)
def test_invalid_field_raises_value_error_naming_the_value(changes, named):
    (field,) = changes
    with pytest.raises(ValueError) as info:
        SMOKE.replace(**changes)
    message = str(info.value)
    assert named in message
    assert field in message or "pool" in message


def test_invalid_value_in_json_raises_value_error():
    raw = json.loads(SMOKE.to_json())
    raw["ridge"] = [-1.0]
    with pytest.raises(ValueError, match=r"-1\.0"):
        RFRiskSweep.from_json(json.dumps(raw))


def test_config_is_frozen_and_keyword_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SMOKE.seed = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        RFRiskSweep((48,))  # type: ignore[misc]


# --- int_logspace ---------------------------------------------------------------------


def test_int_logspace_matches_the_paper_grid():
    # the authors' grid (docs/derivations/rf_ridge.md §8.3):
    # int_logspace(10, 1e4, 31) = {10, 12, ..., 316, ..., 1e4}
    grid = int_logspace(10, 1e4, 31)
    assert grid[:16] == (
        10, 12, 15, 19, 25, 31, 39, 50, 63, 79, 100, 125, 158, 199, 251, 316
    )  # fmt: skip
    assert grid[-2:] == (7943, 10_000)
    assert len(grid) == 31
    assert all(type(v) is int for v in grid)
    assert list(grid) == sorted(set(grid))


def test_int_logspace_drops_duplicates():
    grid = int_logspace(1, 10, 31)  # floor collapses many points
    assert list(grid) == sorted(set(grid))
    assert grid[0] == 1 and grid[-1] == 10


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.5, "0.5"),
        (1e-06, "1e-06"),
        (0.006812920690579608, "0.006813"),
        (2000, "2000"),
        ("mse", "mse"),
        ((1.0, 2.5), "1.0,2.5"),
        (tuple(range(10, 60, 10)), "10..50 (5 values)"),
        ((1 / 3, 0.5, 2 / 3, 0.75, 1.0), "0.3333..1.0 (5 values)"),
    ],
)
def test_help_shows_values_short(value, shown):
    assert show_value(value) == shown


# --- bad input: huge ints, JSON of the wrong kind, typed text, device -----------------

BIG = 10**400  # 401 digits: math.isfinite or float() of it overflows


def _cli(argv, capsys) -> tuple[int, list[str]]:
    """Exit status and stderr lines of ``python -m sims.rf_risk`` run in-process."""
    from sims.rf_risk import main

    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("field", ["trials", "seed", "trial_batch", "num_modes", "k"])
def test_a_huge_int_is_range_checked_as_an_int(field):
    value = (BIG,) if field == "k" else BIG
    with pytest.raises(ValueError) as info:
        SMOKE.replace(**{field: value})
    message = str(info.value)
    assert message.startswith(f"{field}: 1000000000...0000000000 (401 digits)")
    assert "must be <=" in message  # trial_batch declares no bound: int64's


def test_ints_fit_int64_even_without_a_declared_bound():
    assert SMOKE.replace(trial_batch=2**63 - 1).trial_batch == 2**63 - 1
    with pytest.raises(ValueError, match=r"^trial_batch: 9223372036854775808 must"):
        SMOKE.replace(trial_batch=2**63)


def test_an_int_too_long_for_str_still_gets_a_message():
    with pytest.raises(ValueError, match=r"^seed: <an integer of about 5001 digits>"):
        SMOKE.replace(seed=10**5000)


def test_a_huge_int_for_a_float_field_names_it():
    with pytest.raises(ValueError, match=r"^alpha: .*401 digits.*float64 range"):
        SMOKE.replace(alpha=BIG)


@pytest.mark.parametrize(
    "argv",
    [
        ["--trials", str(BIG)],
        ["--seed", str(BIG)],
        ["--set", f"k={BIG}"],
        ["--set", f"alpha={BIG}"],
        ["--set", f"k=1{'0' * 5000}"],  # beyond Python's 4300-digit int() limit
    ],
)
def test_cli_huge_int_exits_2_with_one_line(argv, capsys):
    code, err = _cli(["--print-config", "--smoke", *argv], capsys)
    assert code == 2
    assert len(err) == 1 and "Traceback" not in err[0], err
    field = argv[1].partition("=")[0] if argv[0] == "--set" else argv[0][2:]
    assert f"{field}: " in err[0] and "digits" in err[0]


def test_cli_huge_int_in_a_json_config_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "c.json"
    text = SMOKE.to_json().replace(f'"trials": {SMOKE.trials}', f'"trials": {BIG}')
    assert str(BIG) in text
    path.write_text(text)
    code, err = _cli(["--print-config", "--config", str(path)], capsys)
    assert code == 2 and len(err) == 1, err
    assert "trials: 1000000000...0000000000 (401 digits) must be <= 10^6" in err[0]


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("alpha", [1.5, 2.0], "[1.5, 2.0]"),
        ("alpha", [1.5], "[1.5]"),  # a list is not a single value, even of one
        ("dtype", ["float32"], '["float32"]'),
        ("k", [[8]], "[8]"),
        ("k", [8, [16, 32]], "[16, 32]"),
        ("ridge", [{"a": 1}], "{...}"),
        ("noise_var", True, "True"),  # not silently 1.0
        ("trials", 2.0, "2.0"),
    ],
)
def test_json_value_of_the_wrong_kind_names_field_and_value(field, value, shown):
    raw = json.loads(SMOKE.to_json())
    raw[field] = value
    with pytest.raises(ValueError) as info:
        RFRiskSweep.from_json(json.dumps(raw))
    assert str(info.value).startswith(field) and shown in str(info.value)


def test_cli_json_list_for_a_single_value_exits_2_naming_it(tmp_path, capsys):
    raw = json.loads(SMOKE.to_json())
    raw["alpha"] = [1.5, 2.0]
    path = tmp_path / "c.json"
    path.write_text(json.dumps(raw))
    code, err = _cli(["--print-config", "--config", str(path)], capsys)
    assert code == 2 and len(err) == 1, err
    assert "alpha takes one value, got [1.5, 2.0]" in err[0]


@pytest.mark.parametrize(
    ("assignment", "typed"),
    [
        ("alpha=1e400", "'1e400'"),
        ("alpha=-1e400", "'-1e400'"),
        ("ridge=1e-400", "'1e-400'"),  # not silently 0.0
        ("ridge=0.1,1e999", "'1e999'"),
    ],
)
def test_a_number_beyond_float64_echoes_what_was_typed(assignment, typed):
    with pytest.raises(ValueError) as info:
        SMOKE.with_overrides([assignment])
    message = str(info.value)
    assert message.startswith(assignment.partition("=")[0]) and typed in message
    assert "float64 range" in message


def test_an_int_beyond_int_parsing_in_json_names_the_field():
    # json would raise Python's 4300-digit limit error, naming no field
    huge = "1" + "0" * 5000
    text = SMOKE.to_json().replace(f'"trials": {SMOKE.trials}', f'"trials": {huge}')
    with pytest.raises(ValueError, match=r"^trials: 1000000000\.\.\..*5001 digits"):
        RFRiskSweep.from_json(text)
    text = SMOKE.to_json().replace('"alpha": 1.5', f'"alpha": {huge}')
    with pytest.raises(ValueError, match=r"^alpha: .*5001 digits.*float64 range"):
        RFRiskSweep.from_json(text)


def test_repeats_in_a_long_axis_are_named():
    with pytest.raises(ValueError, match=r"\(17\.0 repeated\)"):
        SMOKE.replace(ridge=(*range(10, 20), 17))


def test_a_number_beyond_float64_in_json_echoes_what_was_written():
    text = SMOKE.to_json().replace('"alpha": 1.5', '"alpha": 1e400')
    assert "1e400" in text
    with pytest.raises(ValueError, match=r"^alpha: '1e400' is beyond the float64"):
        RFRiskSweep.from_json(text)


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("alpha=inf", "alpha: inf must be finite"),  # spelled inf: as typed
        ("noise_var=1e-300", None),  # tiny but representable
        ("noise_var=0", None),
        ("noise_var=0e-400", None),  # a zero, written with an exponent
    ],
)
def test_spelled_infinities_and_representable_numbers_are_unchanged(
    assignment, expected
):
    if expected is None:
        key, _, text = assignment.partition("=")
        assert getattr(SMOKE.with_overrides([assignment]), key) == float(text)
    else:
        with pytest.raises(ValueError, match=expected):
            SMOKE.with_overrides([assignment])


@pytest.mark.parametrize("device", ["cuda:²", "cuda:١", "cuda:", "cuda:-1", "CPU"])
def test_device_index_must_be_ascii_digits(device):
    with pytest.raises(ValueError, match="cuda:<i>"):
        SMOKE.replace(device=device)
    with pytest.raises(ValueError, match="cuda:<i>"):
        resolve_device(device)


def test_cli_superscript_device_exits_2(capsys):
    code, err = _cli(["--print-config", "--device", "cuda:²"], capsys)
    assert code == 2 and len(err) == 1 and "cuda:²" in err[0], err


@pytest.mark.parametrize(
    "argv",
    [
        ["--set", "k=8", "--set", "k=16"],
        ["--set", "k=8", "k=16"],
        ["--set", "k=8,,16"],
    ],
)
def test_cli_repeated_field_or_empty_item_exits_2_with_one_line(argv, capsys):
    code, err = _cli(["--print-config", "--smoke", *argv], capsys)
    assert code == 2 and len(err) == 1 and "k" in err[0], err


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (8, "8"),
        (-3, "-3"),
        (1.5, "1.5"),
        ("mse", "'mse'"),
        ((8, 16), "(8, 16)"),
        ((8,), "(8,)"),
        (10**40 - 1, "9" * 40),  # 40 digits: whole
        (-(10**400), "-1000000000...0000000000 (401 digits)"),
        ("x" * 100, "'" + "x" * 40 + "'... (100 characters)"),
        (tuple(range(10)), "(0, 1, 2, 3, 4, 5, 6, 7, ... (10 values))"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else type(v).__name__,
)
def test_abbreviate_keeps_short_values_whole(value, shown):
    assert abbreviate(value) == shown


def _experiments_with_memory():
    from sims._registry import all_experiments

    return [
        pytest.param(e, id=f"{module}:{e.key}")
        for module, experiments in all_experiments().items()
        for e in experiments
        if e.memory is not None and "trial_batch" in e.config.__dataclass_fields__
    ]


@pytest.mark.parametrize("experiment", _experiments_with_memory())
def test_memory_estimates_count_at_most_trials_per_chunk(experiment):
    """A chunk never holds more than ``trials`` trials, so a huge ``trial_batch``
    must not make the memory check refuse a run that fits."""
    smoke = experiment.presets["smoke"]
    whole = smoke.replace(trial_batch=smoke.trials)
    assert experiment.memory(smoke.replace(trial_batch=10**9)) == experiment.memory(
        whole
    )
