r"""Tests of :func:`theory.rf_ridge_risk`: the RF eigenframework of arXiv:2311.14646
as written out in ``docs/derivations/rf_ridge.md`` §0.

Three groups:

(a) exact values and limits (derivations §0, §4, §8.1), each with its provenance,
    and agreement with an independent plain-scipy reimplementation of the §0
    equations;
(b) hypothesis properties 1-9 of derivations §8.2, over its strategies (M <= 2000);
(c) input validation, dtype and NaN-freedom.

The machinery behind it (tables, compressed sums, the cache of compressed spectra,
the solver's start) is tested in ``tests/theory/test_chebyshev.py``.

The reference implementations below share no code with ``theory``: they solve the
§0 equations one cell at a time with :func:`scipy.optimize.brentq`.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.optimize import minimize_scalar

from tests._tolerances import BOUND_RTOL
from tests._tolerances import F64_RTOL
from tests._tolerances import IMPL_RTOL
from tests._tolerances import K_INF_GAP_FACTOR
from tests._tolerances import N_INF_RTOL
from tests._tolerances import PEAK_RTOL
from tests._tolerances import RESIDUAL_RTOL
from tests._tolerances import RF_REFERENCE_RTOL
from tests._tolerances import RIDGE_INF_RTOL
from tests._tolerances import RIDGE_ZERO_RTOL
from tests._tolerances import SOLVE_RTOL
from tests._tolerances import THEOREM1_RTOL
from theory import RFRiskPrediction
from theory import rf_ridge_risk

F64 = IMPL_RTOL[np.dtype(np.float64)]
FIELDS = RFRiskPrediction._fields
EPS = np.finfo(np.float64).eps


# ==============================================================================
# Independent reference: the derivations §0 equations, one cell at a time, brentq
# ==============================================================================


def _brentq(f, lo, hi):
    return brentq(f, lo, hi, xtol=1e-15, rtol=4 * EPS, maxiter=1000)


def _L(lam, g):
    return lam / (lam + g)


def _1mL(lam, g):
    """1 - L_i = gamma / (lambda_i + gamma), without cancellation where L_i ~ 1."""
    return g / (lam + g)


def ref_gamma_k(lam, k):
    """gamma_k: sum_i lam_i / (lam_i + gamma_k) = k (the pole of §1); 0 if k >= M."""
    if k >= lam.size:
        return 0.0
    t = _brentq(
        lambda t: _L(lam, np.exp(t)).sum() - k,
        np.log(lam.min()) - 80,
        np.log(lam.sum() / k) + 1,
    )
    return float(np.exp(t))


def ref_krr(lam, v2, n, ridge, noise):
    """KRR (derivations §0): kappa by brentq in log kappa, then E_0, E_te, E_tr."""
    t = _brentq(
        lambda t: _L(lam, np.exp(t)).sum() + ridge / np.exp(t) - n,
        np.log(ridge / n) - 1,  # there delta/kappa = e n > n
        np.log(lam.sum() + ridge) + 1,  # there z, delta/kappa < 1/e each, sum < n
    )
    kappa = float(np.exp(t))
    L = _L(lam, kappa)
    z, q = L.sum(), (L * L).sum()
    e0 = n / (n - q)
    test = e0 * (np.sum(_1mL(lam, kappa) ** 2 * v2) + noise)
    return dict(
        test_risk=test,
        train_risk=(ridge / (n * kappa)) ** 2 * test,
        kappa=kappa,
        gamma=kappa,
        overfitting_coeff=e0,
        learnability_sum=z,
        learnability_sq_sum=q,
    )


def _rf_risks(lam, v2, n, k, gamma, kappa, ridge, noise):
    """RF risk formulas (derivations §0) at given (gamma, kappa), x-form of E_0."""
    L = _L(lam, gamma)
    z, q = L.sum(), (L * L).sum()
    x = (q * (k - 2 * z) + z * z) / (n * (k - q))
    e0 = 1 / (1 - x)
    b = _1mL(lam, gamma) * (1 - L * (k - z) / (k - q))
    test = e0 * (np.sum(b * v2) + noise)
    return dict(
        test_risk=test,
        train_risk=(ridge / (n * kappa)) ** 2 * test,
        kappa=kappa,
        gamma=gamma,
        overfitting_coeff=e0,
        learnability_sum=z,
        learnability_sq_sum=q,
    )


def ref_rf(lam, v2, n, k, ridge, noise):
    r"""RF via the one-line form F(gamma) = z + delta k/(gamma (k - z)) - n = 0.

    F decreases on (gamma_k, inf) (z decreases, gamma (k - z) increases); brentq in
    log gamma. kappa is then taken from whichever of (R1) kappa = delta/(n - z) and
    (R2) kappa = gamma (1 - z/k) has the larger relative gap, so no cancellation.
    """
    if k == np.inf:
        return ref_krr(lam, v2, n, ridge, noise)

    def F(t):
        g = np.exp(t)
        z = _L(lam, g).sum()
        return z + ridge * k / (g * (k - z)) - n

    gk = ref_gamma_k(lam, k)
    if gk > 0:
        for step in (1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12):
            lo = np.log(gk) + step
            if k - _L(lam, np.exp(lo)).sum() > 0 and F(lo) > 0:
                break
        else:  # pragma: no cover - would be a reference failure, not a test
            raise RuntimeError("no lower bracket")
    else:
        lo = np.log(lam.min()) - 80
    hi = np.log(max(lam.max(), ridge / n))
    while F(hi) >= 0:
        hi += np.log(2.0)
    gamma = float(np.exp(_brentq(F, lo, hi)))
    z = _L(lam, gamma).sum()
    if (n - z) / n >= (k - z) / k:
        kappa = ridge / (n - z)
    else:
        kappa = gamma * (1 - z / k)
    return _rf_risks(lam, v2, n, k, gamma, kappa, ridge, noise)


def ref_ridgeless(lam, v2, n, k, noise):
    """Ridgeless closed forms (derivations §4; KRR: §0 at delta = 0), n != k."""
    M = lam.size
    if min(n, k) >= M:  # every mode learned: L_i = 1, OLS on M directions
        e0 = n / (n - M)
        test = e0 * noise
        return dict(
            test_risk=test,
            train_risk=(1 - M / n) ** 2 * test,
            kappa=0.0,
            gamma=0.0,
            overfitting_coeff=e0,
            learnability_sum=float(M),
        )
    if n < k:  # gamma solves z(gamma) = n, kappa = gamma (1 - n/k)
        gamma = ref_gamma_k(lam, n)
        L = _L(lam, gamma)
        q = (L * L).sum()
        if k == np.inf:
            e0, d, kappa = n / (n - q), 1.0, gamma
        else:
            e0 = n * (k - q) / ((n - q) * (k - n))
            d, kappa = (k - n) / (k - q), gamma * (1 - n / k)
        b = _1mL(lam, gamma) * (1 - L * d)
        train = 0.0
    else:  # n > k: gamma = gamma_k, kappa = 0, b_i = 1 - L_i
        gamma = ref_gamma_k(lam, k)
        L = _L(lam, gamma)
        e0, kappa = n / (n - k), 0.0
        b = _1mL(lam, gamma)
    test = e0 * (np.sum(b * v2) + noise)
    if n > k:
        train = (1 - k / n) ** 2 * test
    return dict(
        test_risk=test,
        train_risk=train,
        kappa=kappa,
        gamma=gamma,
        overfitting_coeff=e0,
        learnability_sum=float(min(n, k)),  # z = min(n, k) when that is below M
    )


def _cell(out, idx=()):
    return {f: float(np.asarray(getattr(out, f))[idx]) for f in FIELDS}


def assert_fields_close(got: dict, want: dict, rtol: float, context=""):
    for name, w in want.items():
        g = got[name]
        if w == 0.0:  # exact zeros of the ridgeless branches (kappa, E_tr)
            assert g == 0.0, f"{name}: {g!r} != 0 {context}"
        else:
            assert abs(g - w) <= rtol * abs(w), (
                f"{name}: got {g!r}, reference {w!r}, "
                f"rel err {abs(g - w) / abs(w):.2e} > {rtol:g} {context}"
            )


def assert_rounds_to(value: float, printed: str):
    """``value`` agrees with a number printed to its last digit (half a unit)."""
    decimals = len(printed.split(".")[1])
    assert abs(value - float(printed)) <= 0.5 * 10.0**-decimals, (value, printed)


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
def test_spec4_k_sweep_to_krr(k, printed):
    """Derivations §8.1, "k -> inf": E(n=256, delta=0.01), printed digits."""
    out = rf_ridge_risk(
        SPEC4_LAM, SPEC4_V2, n=256, k=k, ridge=0.01, noise_var=SPEC4_NOISE
    )
    assert_rounds_to(float(out.test_risk), printed)


def test_spec4_n_to_infinity_approximation_error():
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


def test_spec4_ridgeless_n_k_asymmetry():
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


# ==============================================================================
# (b) Hypothesis properties, docs/derivations/rf_ridge.md §8.2
# ==============================================================================


class PowerLaw(NamedTuple):
    """lambda_i = c i^-alpha, v_i^2 = i^-beta, i = 1..M (strategies of §8.2)."""

    alpha: float
    beta: float
    M: int
    c: float

    @property
    def lam(self):
        return self.c * np.arange(1, self.M + 1, dtype=np.float64) ** -self.alpha

    @property
    def v2(self):
        return np.arange(1, self.M + 1, dtype=np.float64) ** -self.beta


@st.composite
def power_laws(draw, max_modes=2000):
    alpha = draw(st.floats(1.05, 3.0))
    beta = draw(st.floats(1.05, 2 * alpha + 0.9))
    M = draw(st.integers(50, max_modes))
    c = 10 ** draw(st.floats(-1.0, 1.0))
    return PowerLaw(alpha, beta, M, c)


# The paper's Gaussian setting (derivations §8.3) with M capped at 2000 for speed.
PAPER = PowerLaw(1.5, 1.5, 2000, 1.0)

ns = st.integers(1, 2000)
ks_finite = st.integers(1, 5000)
ks = st.one_of(ks_finite, st.just(np.inf))
ridges = st.floats(-6.0, 2.0).map(lambda e: 10.0**e)
noises = st.floats(0.0, 2.0)


def _sums(lam, gamma):
    """(z, q, L) recomputed here from a returned gamma."""
    L = _L(lam, gamma)
    return L.sum(), (L * L).sum(), L


def _run(s: PowerLaw, **kw):
    out = rf_ridge_risk(s.lam, s.v2, **kw)
    return {f: np.asarray(getattr(out, f), dtype=np.float64) for f in FIELDS}


@given(s=power_laws(), n=ns, k=ks, ridge=ridges, noise=noises)
@example(s=PAPER, n=256, k=1000, ridge=1e-2, noise=0.5)
@example(s=PAPER, n=256, k=np.inf, ridge=4.64e-3, noise=0.5)
def test_item1_fixed_point_residuals(s, n, k, ridge, noise):
    """Property 1: (R1), (R2) hold to 1e-10 relative at the returned (kappa, gamma);
    kappa > 0, gamma > 0, kappa <= gamma."""
    r = _run(s, n=n, k=k, ridge=ridge, noise_var=noise)
    kappa, gamma = float(r["kappa"]), float(r["gamma"])
    assert kappa > 0 and gamma > 0
    assert kappa <= gamma * (1 + BOUND_RTOL)
    z, q, _ = _sums(s.lam, gamma)
    # (R1): n = z + delta/kappa, relative to n.
    assert abs(n - z - ridge / kappa) <= RESIDUAL_RTOL * n
    if k == np.inf:  # (R2) at k = inf: kappa = gamma
        assert abs(kappa - gamma) <= RESIDUAL_RTOL * gamma
    else:  # (R2): k = z + k kappa/gamma, relative to k.
        assert abs(k - z - k * kappa / gamma) <= RESIDUAL_RTOL * k
    assert 0 <= r["residual"] <= RESIDUAL_RTOL
    np.testing.assert_allclose(r["learnability_sum"], z, rtol=F64_RTOL)
    np.testing.assert_allclose(r["learnability_sq_sum"], q, rtol=F64_RTOL)


@given(s=power_laws(), n=ns, k=ks, ridge=ridges, noise=noises)
@example(s=PAPER, n=256, k=300, ridge=1e-2, noise=0.5)
def test_item2_conservation(s, n, k, ridge, noise):
    """Property 2: z = n - delta/kappa = k (1 - kappa/gamma) < min(n, k), and q <= z."""
    r = _run(s, n=n, k=k, ridge=ridge, noise_var=noise)
    z, q = float(r["learnability_sum"]), float(r["learnability_sq_sum"])
    kappa, gamma = float(r["kappa"]), float(r["gamma"])
    assert abs(z - (n - ridge / kappa)) <= RESIDUAL_RTOL * n
    if k != np.inf:
        assert abs(z - k * (1 - kappa / gamma)) <= RESIDUAL_RTOL * k
    assert z < min(n, k)
    assert 0 < q <= z
    # Cauchy-Schwarz over the M modes: q >= z^2 / M.
    assert q >= z * z / s.M * (1 - BOUND_RTOL)


@given(s=power_laws(), n=ns, k=ks, ridge=ridges, noise=noises)
@example(s=PAPER, n=256, k=256, ridge=4.64e-3, noise=0.5)
def test_item3_bounds(s, n, k, ridge, noise):
    """Property 3: E_0 >= 1, x < 1, 0 <= b_i <= 1, E_te >= sigma^2, 0 <= E_tr <= E_te,
    E_tr/E_te = (1 - z/n)^2; and E_te = E_0 [sum b_i v_i^2 + sigma^2] with b_i and
    E_0 = 1/(1-x) recomputed here from the returned gamma."""
    r = _run(s, n=n, k=k, ridge=ridge, noise_var=noise)
    gamma = float(r["gamma"])
    z, q, L = _sums(s.lam, gamma)
    one_minus_L = _1mL(s.lam, gamma)
    w = np.sum(L * one_minus_L)  # z - q
    if k == np.inf:
        x, one_minus_d = q / n, 0.0
    else:
        x = (q * (k - 2 * z) + z * z) / (n * (k - q))
        one_minus_d = w / (k - z + w)  # 1 - (k - z)/(k - q)
    # b_i = (1 - L_i)(1 - d L_i), with 1 - d L_i = (1 - L_i) + (1 - d) L_i: every
    # factor a sum of non-negative parts, so b_i keeps its relative precision even
    # where 1 - L_i ~ 1e-14 (all modes learned).
    b = one_minus_L * (one_minus_L + one_minus_d * L)
    e0, test, train = r["overfitting_coeff"], r["test_risk"], r["train_risk"]
    assert e0 >= 1.0
    assert x < 1.0
    assert np.all(b >= -BOUND_RTOL) and np.all(b <= 1 + BOUND_RTOL)
    assert test >= noise * (1 - BOUND_RTOL)
    assert 0.0 <= train <= test * (1 + BOUND_RTOL)
    # z < n, so the fitting ratio (1 - z/n)^2 is in [0, 1); its rounding is absolute.
    np.testing.assert_allclose(
        train / test, (1 - z / n) ** 2, rtol=F64_RTOL, atol=1e-13
    )
    np.testing.assert_allclose(e0, 1 / (1 - x), rtol=RF_REFERENCE_RTOL)
    np.testing.assert_allclose(
        test, e0 * (np.sum(b * s.v2) + noise), rtol=RF_REFERENCE_RTOL
    )


@given(
    s=power_laws(),
    n=ns,
    k=ks,
    ridge=ridges,
    noise=noises,
    extra=st.floats(0.0, 2.0),
)
@example(s=PAPER, n=256, k=1000, ridge=1e-2, noise=0.5, extra=1.0)
def test_item4_noise_is_affine_and_zero_mode_adds_e0_v2(s, n, k, ridge, noise, extra):
    """Property 4: E_te is affine in sigma^2 with slope E_0; a lambda -> 0 mode with
    power v^2 raises E_te by E_0 v^2 and leaves the order parameters alone."""
    base = _run(s, n=n, k=k, ridge=ridge, noise_var=[0.0, noise])
    e0 = base["overfitting_coeff"][0]
    np.testing.assert_allclose(e0, base["overfitting_coeff"][1], rtol=BOUND_RTOL)
    np.testing.assert_allclose(
        base["test_risk"][1], base["test_risk"][0] + e0 * noise, rtol=F64_RTOL
    )
    # lambda = 1e-40 * min(lambda): its learnability is below 1e-25 at these ridges.
    lam = np.append(s.lam, s.lam.min() * 1e-40)
    v2 = np.append(s.v2, extra)
    more = rf_ridge_risk(lam, v2, n=n, k=k, ridge=ridge, noise_var=noise)
    np.testing.assert_allclose(
        more.test_risk, base["test_risk"][1] + e0 * extra, rtol=F64_RTOL
    )
    for name in ("kappa", "gamma", "overfitting_coeff", "learnability_sum"):
        np.testing.assert_allclose(
            getattr(more, name), base[name][1], rtol=F64_RTOL, err_msg=name
        )


@given(
    s=power_laws(),
    n=ns,
    k=ks,
    ridge=ridges,
    noise=noises,
    scale=st.floats(-3.0, 3.0).map(lambda e: 10.0**e),
    seed=st.integers(0, 2**32 - 1),
)
@example(s=PAPER, n=256, k=1000, ridge=1e-2, noise=0.5, scale=10.0, seed=0)
def test_item5_scale_and_permutation_invariance(s, n, k, ridge, noise, scale, seed):
    """Property 5: (lambda, delta) -> (c lambda, c delta) leaves E_te, E_tr unchanged
    and scales kappa, gamma by c; permuting the (lambda_i, v_i) pairs changes
    nothing."""
    base = _run(s, n=n, k=k, ridge=ridge, noise_var=noise)
    scaled = rf_ridge_risk(
        scale * s.lam, s.v2, n=n, k=k, ridge=scale * ridge, noise_var=noise
    )
    for name in ("test_risk", "train_risk", "overfitting_coeff", "learnability_sum"):
        np.testing.assert_allclose(
            getattr(scaled, name), base[name], rtol=SOLVE_RTOL, err_msg=name
        )
    for name in ("kappa", "gamma"):
        np.testing.assert_allclose(
            getattr(scaled, name), scale * base[name], rtol=SOLVE_RTOL, err_msg=name
        )
    perm = np.random.default_rng(seed).permutation(s.M)
    shuffled = rf_ridge_risk(
        s.lam[perm], s.v2[perm], n=n, k=k, ridge=ridge, noise_var=noise
    )
    for name in FIELDS:
        if name == "residual":
            continue
        np.testing.assert_allclose(
            getattr(shuffled, name), base[name], rtol=SOLVE_RTOL, err_msg=name
        )


@given(s=power_laws(), n=ns, k=ks_finite, ridge=ridges)
@example(s=PAPER, n=256, k=1000, ridge=1e-2)
def test_item6_gamma_symmetry(s, n, k, ridge):
    """Property 6: gamma(n, k, delta) = gamma(k, n, delta k/n) (kappa is not)."""
    a = rf_ridge_risk(s.lam, s.v2, n=n, k=k, ridge=ridge)
    b = rf_ridge_risk(s.lam, s.v2, n=k, k=n, ridge=ridge * k / n)
    np.testing.assert_allclose(a.gamma, b.gamma, rtol=SOLVE_RTOL)
    np.testing.assert_allclose(a.learnability_sum, b.learnability_sum, rtol=SOLVE_RTOL)


@given(
    s=power_laws(),
    n=st.lists(ns, min_size=2, max_size=2, unique=True).map(sorted),
    k=st.lists(ks_finite, min_size=2, max_size=2, unique=True).map(sorted),
    ridge=ridges,
)
@example(s=PAPER, n=[128, 256], k=[256, 1000], ridge=1e-2)
def test_item6_monotonicity(s, n, k, ridge):
    """Property 6: gamma decreases in n and k; kappa increases in k, decreases in n."""
    n_ = np.array(n, dtype=float)[:, None]
    k_ = np.array([*k, np.inf])[None, :]
    r = _run(s, n=n_, k=k_, ridge=ridge)
    g, kap = r["gamma"], r["kappa"]
    up = 1 + BOUND_RTOL
    assert np.all(g[1, :] <= g[0, :] * up), "gamma must not increase with n"
    assert np.all(g[:, 1:] <= g[:, :-1] * up), "gamma must not increase with k"
    assert np.all(kap[1, :] <= kap[0, :] * up), "kappa must not increase with n"
    assert np.all(kap[:, :-1] <= kap[:, 1:] * up), "kappa must not decrease with k"


@given(s=power_laws(), n=ns, ridge=ridges, noise=noises)
@example(s=PAPER, n=256, ridge=1e-2, noise=0.5)
def test_item7_k_to_infinity_is_krr(s, n, ridge, noise):
    """Property 7: as k -> inf, kappa -> gamma and the RF risk tends to KRR. The gap is
    O(n/k): from k = 1e4 n to k = 1e12 n it shrinks by 1e-8 (its coefficient, the
    sensitivity, reaches ~1e3 near n = M, so no absolute bound holds)."""
    k = np.array([1e4 * n, 1e12 * n, np.inf])
    r = _run(s, n=n, k=k, ridge=ridge, noise_var=noise)
    for name in ("test_risk", "train_risk", "kappa", "gamma"):
        v = r[name]
        gap_far, gap_near = abs(v[1] - v[2]), abs(v[0] - v[2])
        bound = K_INF_GAP_FACTOR * 1e-8 * gap_near + F64_RTOL * abs(v[2])
        assert gap_far <= bound, (name, gap_far, gap_near)


@given(s=power_laws(), k=ks_finite, ridge=ridges, noise=noises)
@example(s=PAPER, k=128, ridge=1e-2, noise=0.5)
def test_item7_n_to_infinity_is_approximation_error(s, k, ridge, noise):
    """Property 7: as n -> inf, E_te -> sum gamma_k v^2/(lambda+gamma_k) + sigma^2 with
    z(gamma_k) = k (gamma_k = 0, limit sigma^2, if k >= M); gamma_k by brentq here.

    The gap is O(k/n) + O(delta/(n gamma_k)): n = 1e13 (k + delta/gamma_k) makes it
    ~1e-13 before the conditioning of z near k; it is measured against the null risk
    sum v^2 + sigma^2 (the limit itself is 0 when k >= M and sigma^2 = 0).
    """
    assume(abs(k - s.M) >= 3)  # k = M: gamma ~ sqrt(delta/n), too slow to resolve
    gk = ref_gamma_k(s.lam, k)
    limit = np.sum(gk * s.v2 / (s.lam + gk)) + noise
    n = 1e13 * (k + (ridge / gk if gk > 0 else ridge / s.lam.min()))
    r = _run(s, n=n, k=k, ridge=ridge, noise_var=noise)
    null = s.v2.sum() + noise
    assert abs(r["test_risk"] - limit) <= N_INF_RTOL * null, (r["test_risk"], limit)
    if gk > 0:
        assert abs(r["gamma"] / gk - 1) <= N_INF_RTOL


@given(s=power_laws(), n=ns, k=ks, noise=noises)
@example(s=PAPER, n=256, k=1000, noise=0.5)
def test_item7_large_ridge_is_null_predictor(s, n, k, noise):
    """Property 7: delta -> inf gives E_te, E_tr -> sum v^2 + sigma^2; the gap is
    O(n tr(lambda)/delta), below RIDGE_INF_RTOL at delta = 1e13 n tr(lambda)."""
    ridge = 1e13 * n * s.lam.sum()
    r = _run(s, n=n, k=k, ridge=ridge, noise_var=noise)
    null = s.v2.sum() + noise
    assert abs(r["test_risk"] / null - 1) <= RIDGE_INF_RTOL
    assert abs(r["train_risk"] / null - 1) <= RIDGE_INF_RTOL


@given(s=power_laws(), n=ns, k=ks, noise=noises)
@example(s=PAPER, n=256, k=300, noise=0.5)
@example(s=PAPER, n=300, k=256, noise=0.5)
def test_item7_small_ridge_matches_ridgeless(s, n, k, noise):
    """Property 7: delta -> 0+ matches the delta = 0 branch on both sides of k = n.

    delta_j = 10^-j min(lambda): the distance to the delta = 0 values shrinks with j
    and is below RIDGE_ZERO_RTOL at j = 14. Peaks (n = min(k, M)) are excluded.
    """
    assume(abs(n - min(k, s.M)) >= 3)
    small = s.lam.min() * 10.0 ** -np.array([6.0, 10.0, 14.0])
    r = _run(s, n=n, k=k, ridge=np.append(small, 0.0), noise_var=noise)
    # Scales: the value itself, floored where the delta = 0 value can be 0 (E_te at
    # sigma^2 = 0 with every mode learned; gamma when min(n, k) >= M).
    floors = {
        "test_risk": s.v2.sum() + noise,
        "gamma": s.lam.min(),
        "learnability_sum": 1.0,
    }
    for name, floor in floors.items():
        v = r[name]
        gap = np.abs(v[:-1] - v[-1])
        scale = max(abs(v[-1]), floor)
        assert gap[-1] <= RIDGE_ZERO_RTOL * scale, (name, gap / scale)
        assert np.all(np.diff(gap) <= F64_RTOL * scale), (name, gap / scale)
    # E_tr: 0 for n < min(k, M) (interpolation); (1 - z/n)^2 E_te otherwise.
    train = r["train_risk"]
    assert abs(train[-2] - train[-1]) <= RIDGE_ZERO_RTOL * floors["test_risk"]


@given(
    s=power_laws(),
    frac=st.floats(0.0, 1.0),
    noise=noises,
    side=st.sampled_from([-1, 1]),
)
@example(s=PAPER, frac=254 / 1997, noise=0.5, side=1)
@example(s=PAPER, frac=254 / 1997, noise=0.5, side=-1)
def test_item8_peak_diverges_like_inverse_distance(s, frac, noise, side):
    """Property 8: at delta = 0, E_te -> inf as k -> n from either side.

    From both branches of §4, |k - n| E_te -> n [sum (1 - L_i) v_i^2 + sigma^2]
    with L_i at gamma_n, z(gamma_n) = n; the first-order gap is about |k - n|/(n - q)
    on either side. E_te must grow monotonically along |k - n| = 10^-j n, j = 1..6,
    and match the limit at j = 6 to 3 |k - n|/(n - q) + PEAK_RTOL.
    """
    n = 2 + round(frac * (s.M - 3))  # 2 <= n <= M - 1, so k = n(1 - 0.1) >= 1.8
    dist = n * 10.0 ** -np.arange(1.0, 7.0)
    r = _run(s, n=n, k=n + side * dist, ridge=0.0, noise_var=noise)
    test = r["test_risk"]
    assert np.all(np.isfinite(test))
    assert np.all(np.diff(test) > 0), test
    gn = ref_gamma_k(s.lam, n)
    L = _L(s.lam, gn)
    limit = n * (np.sum(_1mL(s.lam, gn) * s.v2) + noise)
    gap = 3 * dist[-1] / (n - np.sum(L * L)) + PEAK_RTOL
    assert abs(test[-1] * dist[-1] - limit) <= gap * limit, (test[-1] * dist[-1], limit)
    exact = rf_ridge_risk(s.lam, s.v2, n=n, k=n, ridge=0.0, noise_var=noise)
    assert exact.overfitting_coeff == np.inf


def _min_over_ridge(s: PowerLaw, n, k, noise):
    """min over delta >= 0 of E_te: delta = 0, a log grid of 0.02 decades spanning
    n lambda_min 1e-6 .. n lambda_max 1e6, then minimize_scalar in log delta around
    the best grid point."""
    lo = np.log10(n * s.lam.min()) - 6
    hi = np.log10(n * s.lam.max()) + 6
    logd = np.arange(lo, hi, 0.02)
    grid = rf_ridge_risk(s.lam, s.v2, n=n, k=k, ridge=10.0**logd, noise_var=noise)
    e = grid.test_risk
    at_zero = float(
        rf_ridge_risk(s.lam, s.v2, n=n, k=k, ridge=0.0, noise_var=noise).test_risk
    )
    j = int(np.argmin(e))
    best = min(float(e[j]), at_zero)
    if 0 < j < logd.size - 1:

        def f(t):
            return float(
                rf_ridge_risk(
                    s.lam, s.v2, n=n, k=k, ridge=10.0**t, noise_var=noise
                ).test_risk
            )

        res = minimize_scalar(
            f,
            bounds=(logd[j - 1], logd[j + 1]),
            method="bounded",
            options={"xatol": 1e-7},
        )
        best = min(best, float(res.fun))
    return best


@settings(max_examples=25)
@given(
    s=power_laws(max_modes=1000),
    n=st.lists(st.integers(1, 1000), min_size=2, max_size=2, unique=True).map(sorted),
    k=st.lists(st.integers(1, 3000), min_size=2, max_size=2, unique=True).map(sorted),
    noise=noises,
)
@example(s=PowerLaw(1.5, 1.5, 1000, 1.0), n=[128, 256], k=[256, 1024], noise=0.5)
def test_item9_theorem1_optimal_ridge_more_is_better(s, n, k, noise):
    """Property 9, Theorem 1 (arXiv:2311.14646): E*(n, k) = min_delta E_te is
    non-increasing in n and in k, and E*(n, k) >= E*_KRR(n). Relative tolerance
    THEOREM1_RTOL covers the minimizer's resolution."""
    (n1, n2), (k1, k2) = n, k
    e11 = _min_over_ridge(s, n1, k1, noise)
    e21 = _min_over_ridge(s, n2, k1, noise)
    e12 = _min_over_ridge(s, n1, k2, noise)
    krr = _min_over_ridge(s, n1, np.inf, noise)
    assert e21 <= e11 * (1 + THEOREM1_RTOL), ("more data", e11, e21)
    assert e12 <= e11 * (1 + THEOREM1_RTOL), ("more features", e11, e12)
    assert e12 >= krr * (1 - THEOREM1_RTOL), ("KRR is the floor", e12, krr)
    assert e11 >= krr * (1 - THEOREM1_RTOL), ("KRR is the floor", e11, krr)


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
