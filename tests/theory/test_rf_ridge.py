r"""Tests of :func:`theory.rf_ridge_risk`: the RF eigenframework of arXiv:2311.14646
as written out in ``docs/derivations/rf_ridge.md`` §0.

Three groups:

(a) exact values and limits (derivations §0, §4, §8.1), each with its provenance,
    and agreement with an independent plain-scipy reimplementation of the §0
    equations;
(b) hypothesis properties 1-9 of derivations §8.2, over its strategies (M <= 2000),
    in ``test_rf_ridge_properties.py``;
(c) input validation, dtype and NaN-freedom.

The machinery behind it (tables, compressed sums, the cache of compressed spectra,
the solver's start) is tested in ``tests/theory/test_chebyshev.py``.

The reference implementations in ``tests/theory/_rf_ridge_helpers.py`` share no
code with ``theory``: they solve the §0 equations one cell at a time with
:func:`scipy.optimize.brentq`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from tests._tolerances import F64_RTOL
from tests._tolerances import FULL_RANK_GAMMA_RTOL
from tests._tolerances import N_INF_RTOL
from tests._tolerances import RF_REFERENCE_RTOL
from tests._tolerances import SOLVE_RTOL
from tests.theory._rf_ridge_helpers import F64
from tests.theory._rf_ridge_helpers import FIELDS
from tests.theory._rf_ridge_helpers import PAPER
from tests.theory._rf_ridge_helpers import PowerLaw
from tests.theory._rf_ridge_helpers import _cell
from tests.theory._rf_ridge_helpers import _run
from tests.theory._rf_ridge_helpers import assert_fields_close
from tests.theory._rf_ridge_helpers import assert_rounds_to
from tests.theory._rf_ridge_helpers import ks
from tests.theory._rf_ridge_helpers import noises
from tests.theory._rf_ridge_helpers import ns
from tests.theory._rf_ridge_helpers import power_laws
from tests.theory._rf_ridge_helpers import ref_gamma_k
from tests.theory._rf_ridge_helpers import ref_krr
from tests.theory._rf_ridge_helpers import ref_rf
from tests.theory._rf_ridge_helpers import ref_ridgeless
from tests.theory._rf_ridge_helpers import ridges
from theory import RFRiskPrediction
from theory import rf_ridge_risk

# ==============================================================================
# (a) Exact values and limits with provenance
# ==============================================================================

# Setting of derivations §8.1 (our computation): alpha = beta = 1.5, sigma^2 = 0.5,
# M = 2e4 modes,
# lambda_i = i^-1.5, v_i^2 = i^-1.5.
_I = np.arange(1, 20_001, dtype=np.float64)
SPEC4_LAM = _I**-1.5
SPEC4_V2 = _I**-1.5
SPEC4_NOISE = 0.5


@pytest.mark.parametrize(
    ("k", "printed"),
    [
        (1e3, "1.165"),
        (1e4, "0.984"),
        (1e5, "0.9700"),
        (1e6, "0.96857"),
        (1e7, "0.968423"),
        (np.inf, "0.968408"),  # KRR
    ],
)
def test_reference_k_sweep_to_krr(k, printed):
    """Derivations §8.1, "k -> inf": E(n=256, delta=0.01), printed digits."""
    out = rf_ridge_risk(
        SPEC4_LAM, SPEC4_V2, n=256, k=k, ridge=0.01, noise_var=SPEC4_NOISE
    )
    assert_rounds_to(float(out.test_risk), printed)


def test_reference_n_to_infinity_approximation_error():
    """Derivations §8.1, "n -> inf": k=128, delta=0.01; n=1e7 gives 0.8091236,
    limit 0.8091133.

    The limit sum_i gamma_k v_i^2/(lambda_i+gamma_k) + sigma^2 is computed here with
    gamma_k from brentq, independently of the package.
    """
    gk = ref_gamma_k(SPEC4_LAM, 128)
    limit = np.sum(gk * SPEC4_V2 / (SPEC4_LAM + gk)) + SPEC4_NOISE
    assert_rounds_to(limit, "0.8091133")
    out = rf_ridge_risk(
        SPEC4_LAM,
        SPEC4_V2,
        n=[1e7, 1e12],
        k=128,
        ridge=0.01,
        noise_var=SPEC4_NOISE,
    )
    assert_rounds_to(float(out.test_risk[0]), "0.8091236")
    # The gap closes like k/n: 1.3e-5 relative at n=1e7, so ~1e-10 at n=1e12.
    assert abs(out.test_risk[1] / limit - 1) <= N_INF_RTOL
    np.testing.assert_allclose(out.gamma[1], gk, rtol=N_INF_RTOL)


def test_reference_ridgeless_n_k_asymmetry():
    """Derivations §8.1 "n <-> k": at delta=0, E(100, 300)=1.539, E(300, 100)=1.278."""
    out = rf_ridge_risk(
        SPEC4_LAM, SPEC4_V2, n=[100, 300], k=[300, 100], ridge=0.0, noise_var=0.5
    )
    assert_rounds_to(float(out.test_risk[0]), "1.539")
    assert_rounds_to(float(out.test_risk[1]), "1.278")


def _power_spectrum(alpha, beta, M, c=1.0):
    i = np.arange(1, M + 1, dtype=np.float64)
    return c * i**-alpha, i**-beta


# Two spectra for the reference comparisons: the §8.3 Gaussian setting truncated to
# M=3000, and a fast-decaying, rescaled spectrum with a slowly decaying target.
REF_SPECTRA = {
    "paper": _power_spectrum(1.5, 1.5, 3000),
    "steep": _power_spectrum(2.5, 1.2, 800, c=7.0),
}


@pytest.mark.parametrize("spectrum", sorted(REF_SPECTRA))
def test_krr_matches_independent_reference(spectrum):
    """k = inf against derivations §0 by brentq on kappa: every field to 1e-10."""
    lam, v2 = REF_SPECTRA[spectrum]
    n = np.array([1.0, 7.0, 100.0, 256.0, 1999.0])[:, None]
    ridge = np.array([1e-6, 1e-3, 0.1, 10.0, 1e4])[None, :]
    noise = 0.3
    out = rf_ridge_risk(lam, v2, n=n, k=np.inf, ridge=ridge, noise_var=noise)
    for i in range(n.shape[0]):
        for j in range(ridge.shape[1]):
            want = ref_krr(lam, v2, n[i, 0], ridge[0, j], noise)
            assert_fields_close(_cell(out, (i, j)), want, F64, (n[i, 0], ridge[0, j]))


RF_CELLS = [
    # (n, k, ridge): n < k, n > k, n = k, far from and close to the diagonal; tiny and
    # large ridges; single sample and single feature.
    (n, k, ridge)
    for n, k in [
        (1, 1),
        (1, 4000),
        (30, 10),
        (100, 103),
        (256, 256),
        (256, 1000),
        (1500, 40),
        (1500, 1497),
    ]
    for ridge in (1e-6, 1e-2, 3.0, 1e3)
]


@pytest.mark.parametrize("spectrum", sorted(REF_SPECTRA))
def test_rf_matches_independent_reference(spectrum):
    """The one-line gamma equation (derivations §1) by brentq: 32 cells, 1e-9 relative.

    The whole set is one broadcast call, so this also checks vectorization.
    """
    lam, v2 = REF_SPECTRA[spectrum]
    n, k, ridge = (np.array(c, dtype=float) for c in zip(*RF_CELLS, strict=True))
    noise = 0.7
    out = rf_ridge_risk(lam, v2, n=n, k=k, ridge=ridge, noise_var=noise)
    for i, (ni, ki, ri) in enumerate(RF_CELLS):
        want = ref_rf(lam, v2, ni, ki, ri, noise)
        assert_fields_close(_cell(out, i), want, RF_REFERENCE_RTOL, (ni, ki, ri))


@pytest.mark.parametrize(
    ("n", "k"),
    [
        (100, 300),  # n < k < M: E_0 = n(k-q)/((n-q)(k-n)), E_tr = 0
        (40, 2000),  # n < M < k
        (300, 100),  # n > k: E_0 = n/(n-k), b_i = 1 - L_i at gamma_k
        (1000, 480),  # n > M > k
        (450, np.inf),  # KRR, n < M: z(kappa) = n, E_0 = n/(n-q), E_tr = 0
        (700, np.inf),  # KRR, n > M: OLS, E_te = sigma^2 n/(n-M)
        (900, 600),  # n > k > M: every mode learned, E_te = sigma^2 n/(n-M)
        (520, 2000),  # k > n > M
    ],
)
def test_ridgeless_branches_match_closed_forms(n, k):
    """Ridgeless branches (delta = 0) against the §4 closed forms, M = 500."""
    lam, v2 = _power_spectrum(1.3, 1.8, 500, c=2.0)
    noise = 0.4
    out = rf_ridge_risk(lam, v2, n=n, k=k, ridge=0.0, noise_var=noise)
    want = ref_ridgeless(lam, v2, n, k, noise)
    assert_fields_close(_cell(out), want, F64, (n, k))


@pytest.mark.parametrize("k", [50.001, 49.999, 100.001, 99.999])
def test_ridgeless_closed_form_close_to_peak(k):
    """Derivations §4 closed forms at |k - n| = 1e-3, delta = 0 (M = 500).

    The closed forms are exact in k - n; E_te's own conditioning in k is
    k/|k - n| eps ~ 2e-11 here, below F64_RTOL.
    """
    lam, v2 = _power_spectrum(3.0, 1.8, 500, c=2.0)
    n = round(k)
    out = rf_ridge_risk(lam, v2, n=n, k=k, ridge=0.0, noise_var=0.4)
    want = ref_ridgeless(lam, v2, n, k, 0.4)
    assert_fields_close(_cell(out), want, F64, (n, k))


@pytest.mark.parametrize(
    ("n", "k"),
    [(100, 100), (499, 499), (500, np.inf), (500, 700), (500, 500), (1, 1)],
)
def test_ridgeless_peak_is_infinite(n, k):
    """Derivations §4: at delta = 0, E_0 = inf at n = k (and at n = M when k >= M)."""
    lam, v2 = _power_spectrum(1.3, 1.8, 500, c=2.0)
    out = rf_ridge_risk(lam, v2, n=n, k=k, ridge=0.0, noise_var=0.1)
    assert out.test_risk == np.inf
    assert out.overfitting_coeff == np.inf
    for name in FIELDS:
        assert not np.isnan(getattr(out, name)), name


def test_ridgeless_peak_neighbours_are_finite():
    lam, v2 = _power_spectrum(1.3, 1.8, 500, c=2.0)
    out = rf_ridge_risk(
        lam,
        v2,
        n=[99, 101, 499, 501],
        k=[100, 100, np.inf, np.inf],
        ridge=0.0,
        noise_var=0.1,
    )
    assert np.all(np.isfinite(out.test_risk))
    # One step from a peak, E_0 ~ n / |k - n| (or n / |M - n| for KRR) is large.
    assert np.all(out.overfitting_coeff > 50), out.overfitting_coeff
    assert np.all(out.test_risk > 50 * 0.1)


def test_large_ridge_gives_null_predictor():
    """Derivations §8.1 "delta -> inf": E_te, E_tr -> sum v^2 + sigma^2."""
    lam, v2 = REF_SPECTRA["paper"]
    noise = 0.25
    out = rf_ridge_risk(
        lam, v2, n=[1, 256, 2000], k=[[3], [256], [np.inf]], ridge=1e20, noise_var=noise
    )
    null = v2.sum() + noise
    np.testing.assert_allclose(out.test_risk, null, rtol=F64_RTOL)
    np.testing.assert_allclose(out.train_risk, null, rtol=F64_RTOL)


def test_pool_size_correction_formula():
    """Finite-pool correction (derivations §5): E_te <- (P E_te - n E_tr)/(P - n), then
    E_tr = (E_tr/E_te) E_te recomputed from it."""
    lam, v2 = REF_SPECTRA["paper"]
    kw = dict(n=[100, 256], k=[[50], [1000], [np.inf]], ridge=0.01, noise_var=0.5)
    raw = rf_ridge_risk(lam, v2, **kw)
    pool = 10_000
    cor = rf_ridge_risk(lam, v2, pool_size=pool, **kw)
    n = np.array([100.0, 256.0])
    test = (pool * raw.test_risk - n * raw.train_risk) / (pool - n)
    np.testing.assert_allclose(cor.test_risk, test, rtol=F64_RTOL)
    np.testing.assert_allclose(
        cor.train_risk, raw.train_risk / raw.test_risk * test, rtol=F64_RTOL
    )
    for name in ("kappa", "gamma", "overfitting_coeff", "residual"):
        np.testing.assert_array_equal(getattr(cor, name), getattr(raw, name))


def test_grid_matches_smaller_calls():
    """One call shares work across its cells (a table of the spectral sums over the
    union of the cells' brackets; direct sums in blocks of 2**20 / M gammas). A grid
    must give the numbers of calls that hold one n each and of single-cell calls."""
    lam, v2 = _power_spectrum(1.5, 1.5, 2**14)  # direct sums in blocks of 64
    n = np.array([10.0, 256.0, 3000.0])
    k = np.array([30.0, 256.0, np.inf])[:, None]
    ridge = np.geomspace(1e-5, 1e2, 10)  # 3 x 3 x 10 = 90 cells
    grid = rf_ridge_risk(lam, v2, n=n[:, None, None], k=k, ridge=ridge, noise_var=0.5)
    assert grid.test_risk.shape == (3, 3, 10)
    for i, ni in enumerate(n):
        row = rf_ridge_risk(lam, v2, n=ni, k=k, ridge=ridge, noise_var=0.5)
        for name in FIELDS[:-1]:  # the residual is at rounding level either way
            np.testing.assert_allclose(
                getattr(grid, name)[i],
                getattr(row, name),
                rtol=SOLVE_RTOL,
                err_msg=name,
            )
    for idx in [(0, 0, 0), (1, 1, 4), (2, 2, 9), (2, 0, 3)]:
        one = rf_ridge_risk(
            lam, v2, n=n[idx[0]], k=k[idx[1], 0], ridge=ridge[idx[2]], noise_var=0.5
        )
        want = {f: v for f, v in _cell(one).items() if f != "residual"}
        assert_fields_close(_cell(grid, idx), want, SOLVE_RTOL, idx)


def _mp_gamma(lam, n, k, ridge, start):
    """gamma of equation (1), gamma (n - z)(1 - z/k) = delta/n, at 60 digits with
    n - z and k - z formed from c = sum gamma/(lam_i + gamma) (no cancellation)."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(60):
        lam_mp = [mpmath.mpf(float(x)) for x in lam]
        M, n_mp, d = len(lam_mp), mpmath.mpf(n), mpmath.mpf(ridge)

        def log_r(t):
            g = mpmath.exp(t)
            c = mpmath.fsum(g / (x + g) for x in lam_mp)
            r = t + mpmath.log(n_mp - M + c) - mpmath.log(d)
            if np.isfinite(k):
                r += mpmath.log((mpmath.mpf(k) - M + c) / k)
            return r

        return float(mpmath.exp(mpmath.findroot(log_r, mpmath.log(start))))


@pytest.mark.parametrize("j", [6, 14, 30])
@pytest.mark.parametrize(
    "n, k", [(844, 50), (53, 50), (50, 300), (50, np.inf), (50, 50 + 1e-9)]
)
def test_full_rank_gamma_to_rounding_at_tiny_ridge(n, k, j):
    """min(n, k) = M = 50 or n, k >= M: gamma -> 0 with delta and z comes within
    M eps of M, where forming n - z or k - z from z cost up to 9.5x in gamma at
    delta = 1e-30 min(lambda) (1e-8 at 1e-14). The full-rank polish (derivations
    §4.1) gives gamma to rounding; against a 60-digit solve."""
    lam = np.arange(1, 51, dtype=np.float64) ** -2.0
    ridge = lam.min() * 10.0**-j
    got = float(rf_ridge_risk(lam, lam, n=n, k=k, ridge=ridge).gamma)
    want = _mp_gamma(lam, n, k, ridge, got)
    assert abs(got / want - 1) <= FULL_RANK_GAMMA_RTOL, (got, want)


# ==============================================================================
# (c) Input validation, dtype, no NaN
# ==============================================================================

GOOD = dict(eigvals=[1.0, 0.5, 0.25], target_power=[1.0, 0.3, 0.1])


class _ZeroTail:
    """A SpectrumTail that adds nothing (to reach the tail-specific validation)."""

    trace = 0.0

    def sums(self, gamma):
        return np.zeros_like(gamma), np.zeros_like(gamma)

    def bias(self, gamma, d):
        return np.zeros_like(gamma)


def _call(**over):
    kw = dict(GOOD, n=10, k=20, ridge=0.1, noise_var=0.0)
    kw.update(over)
    return rf_ridge_risk(kw.pop("eigvals"), kw.pop("target_power"), **kw)


def _spellings(v):
    v = float(v)
    return {str(v), repr(v), f"{v:g}"}


@pytest.mark.parametrize(
    ("over", "bad"),
    [
        (dict(eigvals=[1.0, 0.0, 0.25]), 0.0),
        (dict(eigvals=[1.0, -2.5, 0.25]), -2.5),
        (dict(eigvals=[1.0, np.nan, 0.25]), np.nan),
        (dict(eigvals=[1.0, np.inf, 0.25]), np.inf),
        (dict(target_power=[1.0, -0.5, 0.1]), -0.5),
        (dict(target_power=[1.0, np.nan, 0.1]), np.nan),
        (dict(n=0.5), 0.5),
        (dict(n=0), 0.0),
        (dict(n=[20, -3]), -3.0),
        (dict(n=np.nan), np.nan),
        (dict(n=np.inf), np.inf),
        (dict(k=0.25), 0.25),
        (dict(k=np.nan), np.nan),
        (dict(k=-np.inf), -np.inf),
        (dict(ridge=-1e-3), -1e-3),
        (dict(ridge=np.nan), np.nan),
        (dict(ridge=[0.1, np.inf]), np.inf),
        (dict(noise_var=-0.1), -0.1),
        (dict(noise_var=np.nan), np.nan),
        (dict(pool_size=5), 5.0),
        (dict(pool_size=10), 10.0),  # P must exceed n
        (dict(pool_size=15, n=[10, 30]), 15.0),  # ... every n
        (dict(tail=_ZeroTail(), ridge=0.0, n=5, k=8), 5.0),  # min(n,k) >= len(eigvals)
    ],
)
def test_invalid_input_raises_value_error_naming_value(over, bad):
    with pytest.raises(ValueError) as err:
        _call(**over)
    msg = str(err.value)
    assert any(sp in msg for sp in _spellings(bad)), msg


@pytest.mark.parametrize(
    ("over", "needles"),
    [
        (dict(eigvals=[]), ["(0,)"]),
        (dict(eigvals=[[1.0, 0.5, 0.25]], target_power=[[1.0, 0.3, 0.1]]), ["(1, 3)"]),
        (dict(eigvals=2.0, target_power=1.0), ["()"]),
        (dict(target_power=[1.0, 0.3]), ["(2,)", "(3,)"]),
    ],
)
def test_bad_spectrum_shape_raises_value_error_naming_shape(over, needles):
    with pytest.raises(ValueError) as err:
        _call(**over)
    for needle in needles:
        assert needle in str(err.value)


def test_tail_allows_ridgeless_below_explicit_modes():
    out = _call(tail=_ZeroTail(), ridge=0.0, n=2, k=np.inf)
    plain = _call(ridge=0.0, n=2, k=np.inf)
    np.testing.assert_allclose(out.test_risk, plain.test_risk, rtol=F64_RTOL)


@pytest.mark.parametrize(
    ("kw", "shape"),
    [
        (dict(n=10, k=20, ridge=1, noise_var=0), ()),
        (dict(n=[10, 30], k=[[5], [50], [np.inf]], ridge=0.1), (3, 2)),
        (dict(n=10, k=20, ridge=np.zeros((2, 1, 4)), noise_var=[[0], [1]]), (2, 2, 4)),
    ],
)
def test_output_fields_are_float64_of_broadcast_shape(kw, shape):
    out = rf_ridge_risk([3, 2, 1], [1, 1, 0], **kw)  # integer spectra are accepted
    assert isinstance(out, RFRiskPrediction)
    for name in FIELDS:
        v = getattr(out, name)
        assert isinstance(v, np.ndarray), name
        assert v.dtype == np.float64, name
        assert v.shape == shape, name


@given(
    s=power_laws(),
    n=ns,
    k=st.one_of(ks, st.just("n"), st.just("M")),
    ridge=st.one_of(st.just(0.0), ridges),
    noise=st.one_of(st.just(0.0), noises),
)
@example(s=PAPER, n=256, k="n", ridge=0.0, noise=0.5)
@example(s=PowerLaw(1.5, 1.5, 300, 1.0), n=300, k=np.inf, ridge=0.0, noise=0.5)
@example(s=PowerLaw(1.5, 1.5, 300, 1.0), n=300, k=np.inf, ridge=0.0, noise=0.0)
def test_no_nan_and_inf_only_at_the_peak(s, n, k, ridge, noise):
    """Valid input never gives NaN. Only the delta = 0 peak n = min(k, M) gives inf,
    in E_0 and in E_te; there E_te = 0 instead when nothing is left to overfit (every
    mode learned, n = M, and sigma^2 = 0: OLS interpolates the exact target)."""
    k = {"n": n, "M": s.M}.get(k, k)
    r = _run(s, n=n, k=k, ridge=ridge, noise_var=noise)
    for name, v in r.items():
        assert not np.isnan(v), name
    peak = ridge == 0 and n == min(k, s.M)
    exact_fit = peak and n == s.M and noise == 0
    for name, v in r.items():
        if peak and name == "overfitting_coeff":
            assert v == np.inf, name
        elif peak and name == "test_risk":
            assert v == (0.0 if exact_fit else np.inf), (name, v)
        else:
            assert np.isfinite(v), (name, v)


@pytest.mark.parametrize(
    ("n", "k", "sigma2"),
    [(100, 100, 0.5), (300, np.inf, 0.5), (300, np.inf, 0.0), (300, 500, 0.0)],
)
def test_valid_input_emits_no_floating_point_warnings(n, k, sigma2):
    """The documented ridgeless peak (inf) and the exact-fit cell (0) are valid input;
    the function must not leak numpy RuntimeWarnings from its internals there."""
    lam, v2 = _power_spectrum(1.5, 1.5, 300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rf_ridge_risk(lam, v2, n=n, k=k, ridge=0.0, noise_var=sigma2)
