"""No silent NaN (sims._experiment.flag_nonfinite): a non-finite measurement is
flagged in ``diverged``, a non-finite theory sibling stops the run with a message
naming the variable and its first bad cell."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sims._experiment import flag_nonfinite


def _grid(theory, measured=((1.0, 2.0), (3.0, 4.0)), name="q_theory"):
    coords = {"n": [16, 32], "ridge": [0.1, 1.0]}
    dims = ("n", "ridge")
    data = {name: (dims, np.array(theory)), "q": (dims, np.array(measured))}
    return xr.Dataset(data, coords=coords)


@pytest.mark.parametrize(
    ("theory", "cell"),
    [
        ([[1.0, 2.0], [np.nan, 4.0]], "{'n': 32, 'ridge': 0.1}"),
        # Several bad cells (once: "can only convert an array of size 1").
        ([[1.0, np.inf], [np.nan, np.nan]], "{'n': 16, 'ridge': 1.0}"),
    ],
)
def test_a_non_finite_theory_value_names_the_variable_and_first_cell(theory, cell):
    with pytest.raises(ValueError, match=r"q_theory is not finite at ") as err:
        flag_nonfinite(_grid(theory))
    assert cell in str(err.value)


def test_a_dim_without_coordinate_is_named_by_index():
    ds = xr.Dataset({"s_theory": (("mode",), [1.0, 2.0, np.nan])})
    with pytest.raises(ValueError, match=r"\{'mode': 2\}"):
        flag_nonfinite(ds)


def test_every_declared_theory_suffix_is_checked():
    ds = _grid([[1.0, np.nan], [3.0, 4.0]], name="q_schur")
    # Without the suffix declared it counts as a measurement: flagged, not refused.
    assert bool(flag_nonfinite(ds.copy())["diverged"].any())
    with pytest.raises(ValueError, match="q_schur is not finite"):
        flag_nonfinite(ds, theory_suffixes=("_theory", "_schur"))


def test_a_non_finite_measurement_is_flagged_not_refused():
    ds = flag_nonfinite(_grid([[1.0, 2.0], [3.0, 4.0]], [[np.nan, 2.0], [3.0, np.inf]]))
    np.testing.assert_array_equal(ds["diverged"], [[True, False], [False, True]])
    assert ds["q"].isnull().sum() == 1  # values are left as the kernel wrote them


def test_not_applicable_variables_are_skipped():
    ds = _grid([[1.0, 2.0], [3.0, 4.0]], [[np.nan, 2.0], [3.0, 4.0]])
    assert "diverged" not in flag_nonfinite(ds, not_applicable=("q",))
