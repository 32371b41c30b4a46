"""The machinery behind rf_ridge_risk: the piecewise Chebyshev table and the
compressed mode sums against direct summation, the cache of compressed spectra (never
another spectrum's terms, results identical with and without it), and the solver's
start (few Newton steps; ``solve_bracketed(x0=...)``)."""

import numpy as np
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from tests._tolerances import F64_RTOL
from tests._tolerances import RESIDUAL_RTOL
from tests._tolerances import SUM_ROUNDING_RTOL
from tests._tolerances import TABLE_RTOL
from theory import RFRiskPrediction
from theory import _rf_roots as rf_roots
from theory import _rf_spectrum as rf_spectrum
from theory import rf_ridge_risk
from theory._chebyshev import PiecewiseChebyshev
from theory._rf_spectrum import _compress
from theory._rf_spectrum import _TermsCache
from theory._solve import solve_bracketed
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


@given(
    alpha=st.floats(1.05, 3.0),
    modes=st.integers(1, 400),
    log2_scale=st.integers(-400, 400),
    log2_gamma=st.integers(-700, 700),
)
@example(alpha=1.5, modes=400, log2_scale=0, log2_gamma=-260)
def test_sums_square_r_only_where_it_stays_in_range(
    alpha, modes, log2_scale, log2_gamma
):
    """With gamma and lam + gamma inside _SQUARE_RANGE the sums use r^2
    (r = 1/(lam + gamma)) and gamma^2, and agree with
    the form without it to rounding (sums below the normal range, such as
    B_a ~ (gamma / lam)^2 at gamma ~ 2^-515, have no relative precision in either
    form); outside it they are that form."""
    i = np.arange(1, modes + 1, dtype=float)
    lam, v2 = np.ldexp(i**-alpha, log2_scale), i**-1.5
    gamma = np.ldexp(np.geomspace(0.5, 2.0, 9), log2_gamma)
    spec = _Spectrum(lam, v2, None)
    lo, hi = rf_spectrum._SQUARE_RANGE
    inside = lo < gamma.min() and lam.max() + gamma.max() < hi
    assert spec._may_square(gamma) == inside
    safe = rf_spectrum._mode_sums(gamma, lam, lam, lam * v2, v2, False)
    if inside:
        tiny = np.finfo(np.float64).tiny
        got = spec.exact(gamma)
        np.testing.assert_allclose(got, safe, rtol=SUM_ROUNDING_RTOL, atol=tiny)
    else:
        np.testing.assert_array_equal(spec.exact(gamma), safe)


def test_squaring_r_outside_the_range_would_overflow():
    lam, gamma = np.array([2.0**-600, 1.0]), np.array([2.0**-600])
    with np.errstate(over="ignore", invalid="ignore"):
        squared = rf_spectrum._mode_sums(gamma, lam, lam, lam, np.ones(2), True)
    assert not np.isfinite(squared).all()
    assert np.isfinite(_Spectrum(lam, np.ones(2), None).exact(gamma)).all()


@given(
    alpha=st.floats(1.05, 3.0),
    modes=st.integers(2, 3000),
    index=st.integers(0, 10**6),
    target=st.booleans(),
    up=st.booleans(),
)
@example(alpha=1.5, modes=3000, index=0, target=False, up=True)
@example(alpha=1.5, modes=3000, index=1234, target=True, up=False)
def test_terms_cache_never_serves_another_spectrum(alpha, modes, index, target, up):
    """Even when every key collides, a spectrum one ulp away from a cached one (one
    eigenvalue or target power) gets the terms of its own compression, and the
    cached spectrum then gets its own again."""
    i = np.arange(1, modes + 1, dtype=float)
    lam, v2 = i**-alpha, i**-1.5
    lam2, v22 = lam.copy(), v2.copy()
    arr = v22 if target else lam2
    j = index % modes
    arr[j] = np.nextafter(arr[j], np.inf if up else 0.0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_TermsCache, "_key", staticmethod(lambda lam, v2: "one key"))
        cache = _TermsCache()
        first = cache.get(lam, v2)
        assert cache.get(lam.copy(), v2.copy()) is not None  # a hit on equal bits
        second = cache.get(lam2, v22)
        again = cache.get(lam, v2)
    for got, want in ((second, _compress(lam2, v22)), (again, first)):
        for a, b in zip(got[:4], want[:4], strict=True):
            np.testing.assert_array_equal(a, b)
    if not target and j == int(np.argmax(lam)):  # kept as it is: in the terms
        assert lam2[j] in second.lam and lam2[j] not in first.lam


def test_terms_cache_hits_only_on_equal_bits_and_is_bounded():
    i = np.arange(1, 2001, dtype=float)
    lam, v2 = i**-1.5, i**-1.2
    cache = _TermsCache(entries=2)
    first = cache.get(lam, v2)
    assert cache.get(lam.copy(), v2.copy()) is first  # equal bits: the stored terms
    assert cache.get(lam, v2.copy() * (1 + 2**-52)) is not first
    for scale in (2.0, 4.0, 8.0):
        cache.get(lam * scale, v2)
    assert len(cache) == 2
    assert cache.get(lam, v2) is not first  # evicted: computed again


# ------------------------------------------------------------------------------
# rf_ridge_risk with the cache, and the solver's start
# ------------------------------------------------------------------------------

FIELDS = RFRiskPrediction._fields


def _power_spectrum(alpha, beta, M):
    i = np.arange(1, M + 1, dtype=np.float64)
    return i**-alpha, i**-beta


def _sweep_grid():
    """A small sweep grid (as in bench/rf_theory.py, smaller): 48 cells."""
    ax = np.array([16.0, 125.0, 1000.0, 8000.0])
    n, k, ridge = np.meshgrid(ax, np.r_[ax[:2], np.inf], [1e-3, 0.1, 10.0, 0.0])
    return dict(n=n, k=k, ridge=ridge, noise_var=0.5)


def _same_prediction(a: RFRiskPrediction, b: RFRiskPrediction) -> bool:
    return all(
        np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) for f in FIELDS
    )


@pytest.fixture
def no_cache():
    """A context in which rf_ridge_risk compresses the modes on every call."""
    cache = rf_spectrum.TERMS_CACHE

    class _Off:
        def __enter__(self):
            cache.enabled = False

        def __exit__(self, *exc):
            cache.enabled = True

    return _Off()


def test_cached_and_uncached_results_are_identical(no_cache):
    lam, v2 = _power_spectrum(1.5, 1.2, 5000)
    grid = _sweep_grid()
    with no_cache:
        cold = rf_ridge_risk(lam, v2, **grid)
    rf_spectrum.TERMS_CACHE.clear()
    first = rf_ridge_risk(lam, v2, **grid)  # computes and stores the terms
    warm = rf_ridge_risk(lam.copy(), v2.copy(), **grid)  # equal bits: a hit
    assert _same_prediction(first, cold)
    assert _same_prediction(warm, cold)


@pytest.mark.parametrize("which", ["eigvals", "target_power"])
@pytest.mark.parametrize("where", [0, 1234])  # a kept mode; one inside a Gauss group
def test_spectrum_one_ulp_away_gets_its_own_result(no_cache, which, where):
    """After a call on one spectrum, a spectrum of the same shape with one value
    changed in its last bit must give exactly what a call without the cache gives;
    a changed largest eigenvalue gives a different result."""
    lam, v2 = _power_spectrum(1.5, 1.5, 5000)
    grid = _sweep_grid()
    rf_spectrum.TERMS_CACHE.clear()
    base = rf_ridge_risk(lam, v2, **grid)
    lam2, v22 = lam.copy(), v2.copy()
    arr = lam2 if which == "eigvals" else v22
    arr[where] = np.nextafter(arr[where], np.inf)
    nudged = rf_ridge_risk(lam2, v22, **grid)
    with no_cache:
        cold = rf_ridge_risk(lam2, v22, **grid)
    assert _same_prediction(nudged, cold)
    if where == 0:  # the largest mode is kept as it is: its value is in the terms
        terms = rf_spectrum.TERMS_CACHE.get(lam2, v22)
        assert arr[0] in (terms.lam if which == "eigvals" else terms.power)
        if which == "eigvals":  # and it moves every root
            assert not _same_prediction(nudged, base)


def test_input_arrays_are_neither_frozen_nor_aliased(no_cache):
    """The cache keeps private copies: mutating the caller's array after a call
    changes the next result, and the caller's arrays stay writeable (also for a
    spectrum too small to compress, whose terms are the arrays themselves)."""
    for M in (40, 5000):
        lam, v2 = _power_spectrum(1.5, 1.5, M)
        rf_ridge_risk(lam, v2, n=10, k=20, ridge=0.1)
        assert lam.flags.writeable and v2.flags.writeable
        lam[0] *= 2.0  # in place
        after = rf_ridge_risk(lam, v2, n=10, k=20, ridge=0.1)
        with no_cache:
            cold = rf_ridge_risk(lam, v2, n=10, k=20, ridge=0.1)
        assert _same_prediction(after, cold)


def test_solver_start_converges_in_few_iterations(monkeypatch):
    """The brackets narrowed to 1/16 of a panel and the start from a cubic model of
    z(gamma) (theory/_rf_roots.py) leave two Newton steps on a sweep grid (three
    allowed); the start at the middle of a panel took eight to ten."""
    iterations = []
    solve = rf_roots.solve_bracketed

    def counted(*args, **kwargs):
        out = solve(*args, **kwargs)
        iterations.append(out.iterations)
        return out

    monkeypatch.setattr(rf_roots, "solve_bracketed", counted)
    lam, v2 = _power_spectrum(1.5, 1.5, 10_000)
    out = rf_ridge_risk(lam, v2, **_sweep_grid())
    assert iterations and max(iterations) <= 3, iterations
    assert out.residual.max() < RESIDUAL_RTOL


def test_solver_start_x0_gives_the_same_roots():
    """``solve_bracketed(x0=...)``: the root does not depend on the start (clipped
    into the bracket); a NaN or non-positive start (log space) is a ValueError."""
    a = np.array([2.0, 3.0, 1e6])

    def fun(x):
        return x**2 - a, 2 * x**2

    plain = solve_bracketed(fun, 1.0, 2e3, xtol=1e-14)
    for x0 in (np.sqrt(a) * 1.01, 1e-9, 1e9):
        started = solve_bracketed(fun, 1.0, 2e3, xtol=1e-14, x0=x0)
        np.testing.assert_allclose(started.root, np.sqrt(a), rtol=F64_RTOL)
        np.testing.assert_allclose(started.root, plain.root, rtol=F64_RTOL)
    near = solve_bracketed(fun, 1.0, 2e3, xtol=1e-14, x0=np.sqrt(a) * (1 + 1e-6))
    assert near.iterations < plain.iterations
    for bad in (np.nan, 0.0, -1.0):
        with pytest.raises(ValueError, match="x0"):
            solve_bracketed(fun, 1.0, 2e3, x0=bad)
