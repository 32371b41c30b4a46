"""The piecewise Chebyshev table behind rf_ridge_risk, against direct summation."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests._tolerances import TABLE_RTOL
from theory._chebyshev import PiecewiseChebyshev
from theory.rf_ridge import _Spectrum


@given(
    alpha=st.floats(1.05, 3.0),
    beta=st.floats(1.05, 4.0),
    modes=st.integers(50, 3000),
    log_lo=st.floats(-30, 0),
    span=st.floats(0.1, 40),
)
def test_tabulated_sums_match_direct_summation(alpha, beta, modes, log_lo, span):
    i = np.arange(1, modes + 1, dtype=float)
    spec = _Spectrum(i**-alpha, i**-beta, None)
    lo, hi = np.exp(log_lo), np.exp(log_lo + span)
    spec.tabulate(lo, hi)
    gamma = np.geomspace(lo, hi, 257)
    rel = np.abs(spec(gamma) - spec.exact(gamma)) / np.abs(spec.exact(gamma))
    assert rel.max() < TABLE_RTOL


def test_panels_are_refined_until_the_coefficients_decay():
    # exp(40 t) needs far more than 16 nodes per unit panel: the check must split.
    table = PiecewiseChebyshev(lambda t: np.exp(40 * t)[None], 0.0, 1.0)
    assert table.edges.size > 2
    t = np.linspace(0, 1, 101)
    assert np.allclose(table(t)[0], np.exp(40 * t), rtol=TABLE_RTOL, atol=0)


def test_rough_functions_and_bad_ranges_raise():
    with pytest.raises(ValueError, match="did not converge"):
        PiecewiseChebyshev(lambda t: np.abs(t - 0.3)[None], 0.0, 1.0)
    with pytest.raises(ValueError, match="lo < hi"):
        PiecewiseChebyshev(lambda t: t[None], 1.0, 1.0)
    table = PiecewiseChebyshev(lambda t: t[None], 0.0, 1.0)
    with pytest.raises(ValueError, match="outside"):
        table(np.array([1.5]))
