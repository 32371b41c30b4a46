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


def test_with_overrides_later_assignment_wins():
    assert SMOKE.with_overrides(["seed=1", "seed=2"]).seed == 2


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
