r"""Hypothesis properties of :func:`theory.rf_ridge_risk`: the RF eigenframework of
arXiv:2311.14646 as written out in ``docs/derivations/rf_ridge.md`` §0.

Group (b) of the RF ridge tests (groups (a), exact values and limits, and (c), input
validation, are in ``test_rf_ridge.py``): properties 1-9 of derivations §8.2, over
its strategies (M <= 2000), checked against the independent reference of
``tests/theory/_rf_ridge_helpers.py`` where they need one.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from tests._tolerances import BOUND_RTOL
from tests._tolerances import F64_RTOL
from tests._tolerances import K_INF_GAP_FACTOR
from tests._tolerances import N_INF_RTOL
from tests._tolerances import PEAK_RTOL
from tests._tolerances import RESIDUAL_RTOL
from tests._tolerances import RF_REFERENCE_RTOL
from tests._tolerances import RIDGE_INF_RTOL
from tests._tolerances import RIDGE_SQRT_FACTOR
from tests._tolerances import RIDGE_ZERO_RTOL
from tests._tolerances import SOLVE_RTOL
from tests._tolerances import THEOREM1_RTOL
from tests.theory._rf_ridge_helpers import _L
from tests.theory._rf_ridge_helpers import FIELDS
from tests.theory._rf_ridge_helpers import PAPER
from tests.theory._rf_ridge_helpers import PowerLaw
from tests.theory._rf_ridge_helpers import _1mL
from tests.theory._rf_ridge_helpers import _run
from tests.theory._rf_ridge_helpers import ks
from tests.theory._rf_ridge_helpers import ks_finite
from tests.theory._rf_ridge_helpers import noises
from tests.theory._rf_ridge_helpers import ns
from tests.theory._rf_ridge_helpers import power_laws
from tests.theory._rf_ridge_helpers import ref_gamma_k
from tests.theory._rf_ridge_helpers import ridges
from theory import rf_ridge_risk

# ==============================================================================
# (b) Hypothesis properties, docs/derivations/rf_ridge.md §8.2
# ==============================================================================


def _sums(lam, gamma):
    """(z, q, L) recomputed here from a returned gamma."""
    L = _L(lam, gamma)
    return L.sum(), (L * L).sum(), L


# One task, sizes, ridge and noise: the draw most properties share.
CASE = dict(s=power_laws(), n=ns, k=ks, ridge=ridges, noise=noises)


@given(**CASE)
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


@given(**CASE)
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


@given(**CASE)
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
    **CASE,
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
    **CASE,
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


def _sqrt_ridge_gaps(s, n, delta, noise):
    """Leading-order gaps to the delta = 0 branch at k = M < n (derivations §4.1), each
    as (gap, sum of the absolute values of its terms); and rho, the relative size of
    the neglected terms."""
    M, T1 = s.M, np.sum(1 / s.lam)
    gamma = np.sqrt(delta * M / ((n - M) * T1))
    amp, shrink = n / (n - M) * gamma, ((n - M) / n) ** 2
    bias, var = np.sum(s.v2 / s.lam) / 2, 1.5 * T1 * noise / (n - M)
    te = (amp * (bias - var), amp * (bias + var))
    tr_extra = 2 * (n - M) * gamma * T1 * (n / (n - M) * noise) / n**2
    gaps = {
        "test_risk": te,
        "train_risk": (shrink * te[0] + tr_extra, shrink * te[1] + tr_extra),
        "gamma": (gamma, gamma),
        "learnability_sum": (-gamma * T1, gamma * T1),
    }
    return gaps, gamma * T1 / (n - M) + gamma / s.lam.min()


def _ridge_zero_gaps(s, n, k, noise):
    """Values at delta_j = 10^-j min(lambda), j = 6, 10, 14, and their distances to the
    delta = 0 value, which must shrink with j; rows of the result are the deltas."""
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
        gap = np.abs(r[name][:-1] - r[name][-1])
        scale = max(abs(r[name][-1]), floor)
        assert np.all(np.diff(gap) <= F64_RTOL * scale), (name, gap / scale)
    return small, r, floors


@given(s=power_laws(), n=ns, k=ks, noise=noises)
@example(s=PAPER, n=256, k=300, noise=0.5)
@example(s=PAPER, n=300, k=256, noise=0.5)
def test_item7_small_ridge_matches_ridgeless(s, n, k, noise):
    """Property 7: delta -> 0+ matches the delta = 0 branch on both sides of k = n.

    The distance to the delta = 0 values shrinks with j and, being linear in delta
    (derivations §4.1), is below RIDGE_ZERO_RTOL at j = 14. Peaks (n = min(k, M)) and
    k = M < n (sqrt(delta), the next test) are excluded.
    """
    assume(abs(n - min(k, s.M)) >= 3 and not (k == s.M and n > s.M))
    _, r, floors = _ridge_zero_gaps(s, n, k, noise)
    for name, floor in floors.items():
        gap = abs(r[name][-2] - r[name][-1])
        scale = max(abs(r[name][-1]), floor)
        assert gap <= RIDGE_ZERO_RTOL * scale, (name, gap / scale)
    # E_tr: 0 for n < min(k, M) (interpolation); (1 - z/n)^2 E_te otherwise.
    train = r["train_risk"]
    assert abs(train[-2] - train[-1]) <= RIDGE_ZERO_RTOL * floors["test_risk"]


@given(s=power_laws(), excess=st.integers(3, 2000), noise=noises)
@example(s=PowerLaw(alpha=2.0, beta=2.0, M=92, c=1.0), excess=3, noise=1.0)
@example(s=PowerLaw(alpha=1.1, beta=1.2, M=2000, c=1.0), excess=3, noise=0.7)
@example(s=PowerLaw(alpha=2.0, beta=2.0, M=50, c=1.0), excess=794, noise=0.0)
def test_item7_small_ridge_at_k_equal_modes(s, excess, noise):
    """Property 7 at k = M < n: the gaps to the delta = 0 branch go as sqrt(delta)
    with a prefactor that grows like M/(n - M)^1.5 (at M = 2000, n = 2003 E_te is 4e-5
    relative above its limit at delta = 1e-14 min(lambda)). They must shrink with j
    and match the leading-order gaps of derivations §4.1 to RIDGE_SQRT_FACTOR rho at
    j = 10, 14, with rho the relative size of the neglected terms. (Before
    rf_ridge_risk formed M - z without cancellation, rounding added M eps/(gamma T1)
    to the error: 17 rho at M = 50, n = 844, j = 14, the third example.)"""
    n = s.M + excess
    small, r, _ = _ridge_zero_gaps(s, n, s.M, noise)
    for j in (1, 2):
        gaps, rho = _sqrt_ridge_gaps(s, n, small[j], noise)
        for name, (want, size) in gaps.items():
            got = r[name][j] - r[name][-1]
            tol = RIDGE_SQRT_FACTOR * rho * size + F64_RTOL * abs(r[name][-1])
            assert abs(got - want) <= tol, (name, j, got, want, rho)


@given(
    s=power_laws(),
    frac=st.floats(0.0, 1.0),
    noise=noises,
    side=st.sampled_from([-1, 1]),
)
@example(s=PAPER, frac=254 / 1997, noise=0.5, side=1)
@example(s=PAPER, frac=254 / 1997, noise=0.5, side=-1)
@example(s=PowerLaw(alpha=3.0, beta=5.0, M=356, c=1.0), frac=1.0, noise=0.0, side=-1)
def test_item8_peak_diverges_like_inverse_distance(s, frac, noise, side):
    """Property 8: at delta = 0, E_te -> inf as k -> n from either side.

    From both branches of §4, |k - n| E_te -> n [sum (1 - L_i) v_i^2 + sigma^2]
    with L_i at gamma_n, z(gamma_n) = n; the first-order gap is about |k - n|/(n - q)
    on either side. Along |k - n| = 10^-j n, j = 1..6, E_te must grow monotonically
    over the distances inside that first-order regime, 3 |k - n| < n - q, and match
    the limit at j = 6 to 3 |k - n|/(n - q) + PEAK_RTOL. Farther out it need not
    grow: with sigma^2 = 0 and a fast-decaying target the bias can fall faster than
    E_0 rises (alpha = 3, beta = 5, M = 356, n = 355, n - q = 0.99: E_te = 1.90560e-7
    at k = 0.9 n and 1.90544e-7 at k = 0.99 n).
    """
    n = 2 + round(frac * (s.M - 3))  # 2 <= n <= M - 1, so k = n(1 - 0.1) >= 1.8
    dist = n * 10.0 ** -np.arange(1.0, 7.0)
    r = _run(s, n=n, k=n + side * dist, ridge=0.0, noise_var=noise)
    test = r["test_risk"]
    assert np.all(np.isfinite(test))
    gn = ref_gamma_k(s.lam, n)
    L = _L(s.lam, gn)
    near = 3 * dist < n - np.sum(L * L)
    assert np.all(np.diff(test[near]) > 0), test
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
