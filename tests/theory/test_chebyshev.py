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


@given(
    alpha=st.floats(1.05, 3.0),
    beta=st.floats(1.05, 4.0),
    modes=st.integers(50, 5000),
    zero_every=st.integers(0, 4),
    repeat=st.integers(1, 3),
)
def test_gauss_compressed_sums_match_direct_summation(
    alpha, beta, modes, zero_every, repeat
):
    # Zero target power on some modes and repeated eigenvalues (degenerate groups)
    # must fall back to summing those modes as they are.
    i = np.repeat(np.arange(1, modes // repeat + 1, dtype=float), repeat)
    v2 = i**-beta
    if zero_every:
        v2[::zero_every] = 0.0
    spec = _Spectrum(i**-alpha, v2, None)
    gamma = np.geomspace(1e-3 * i.max() ** -alpha, 1e3, 301)
    exact = spec.exact(gamma)
    rel = np.abs(spec.direct(gamma) - exact) / np.where(exact > 0, exact, 1.0)
    assert rel.max() < TABLE_RTOL
    assert spec.num_terms <= i.size
