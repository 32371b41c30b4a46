r"""Tests of :class:`theory.rf_powerlaw.PowerLawTail` (in ``theory._rf_tail``): the
sums over the modes beyond M of the power-law tasks of arXiv:2311.14646 Section 5,
as derived in ``docs/derivations/rf_powerlaw.md`` §1.

Group (a) of the power-law tests (the others are in ``test_rf_powerlaw.py``): the
truncated-spectrum tail (derivations §1) against brute-force sums and mpmath, the
two truncation examples of §6.1, the tail inside
:func:`theory.rf_ridge.rf_ridge_risk`, and the tail's parameters.

The paper's (alpha, beta) are its Fig. 2 exponents for CIFAR-10, SVHN and MNIST
(derivations §6.2), plus the truncation example (1.5, 1.25) of §6.1.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from tests._tolerances import F64_RTOL
from tests._tolerances import POWERLAW_TAIL_FSUM_RTOL as TAIL_FSUM_RTOL
from tests._tolerances import POWERLAW_TAIL_MPMATH_RTOL as TAIL_MPMATH_RTOL
from tests._tolerances import POWERLAW_TAIL_PIPELINE_RTOL as TAIL_PIPELINE_RTOL
from tests._tolerances import POWERLAW_TAIL_SUM_RTOL as TAIL_SUM_RTOL
from tests._tolerances import POWERLAW_TAIL_TINY_GAMMA_RTOL as TAIL_TINY_GAMMA_RTOL
from tests.theory._powerlaw_helpers import PAPER_PAIRS
from tests.theory._powerlaw_helpers import _ex
from tests.theory._powerlaw_helpers import exponents
from theory.rf_powerlaw import PowerLawTail
from theory.rf_powerlaw import continuum_integrals
from theory.rf_powerlaw import powerlaw_spectrum
from theory.rf_ridge import rf_ridge_risk

# ==============================================================================
# (a) The tail beyond M modes
# ==============================================================================


def _brute(alpha, beta, lo, hi, gamma, d):
    """sum_{lo < i <= hi} of L, L^2 and (1-L)(1-dL) i^-beta, without cancellation."""
    i = np.arange(lo + 1, hi + 1, dtype=np.float64)
    lam, v2 = i**-alpha, i**-beta
    L, one_minus_L = lam / (lam + gamma), gamma / (lam + gamma)
    bias = one_minus_L * ((1 - d) + d * one_minus_L) * v2
    return np.array([L.sum(), (L * L).sum(), bias.sum()])


def _tail3(tail, gamma, d):
    z, q = tail.sums(gamma)
    return np.array([float(z), float(q), float(tail.bias(gamma, d))])


def _gamma_at(u, M, alpha):
    """The ridge with u = 1 / (gamma X^alpha) at the midpoint X = M + 1/2."""
    return 1.0 / (u * (M + 0.5) ** alpha)


@given(
    ab=exponents(beta_over=3.0),  # beta > 2 alpha + 1 reaches the P < 0 branches
    M=st.integers(50, 3000),
    log_u=st.floats(-3.0, 5.0),
    d=st.floats(0.0, 1.0),
)
@_ex(M=2000, log_u=0.0, d=1.0)
@example(ab=(1.5, 2.5), M=50, log_u=5.0, d=0.3)  # beta = alpha + 1, L ~ 1 at X
@example(ab=(1.2, 4.0), M=50, log_u=4.0, d=0.0)  # beta > 2 alpha + 1
def test_tail_matches_brute_force_sums(ab, M, log_u, d):
    """Tail(M) - Tail(N) = the explicit sum over M < i <= N, N = M + 2e5, for
    u = 1/(gamma X^alpha) from 1e-3 (L ~ 1e-3 at X) to 1e5 (L ~ 1 - 1e-5 at X)."""
    alpha, beta = ab
    N = M + 200_000
    gamma = _gamma_at(10.0**log_u, M, alpha)
    want = _brute(alpha, beta, M, N, gamma, d)
    near = _tail3(PowerLawTail(alpha, beta, M), gamma, d)
    far = _tail3(PowerLawTail(alpha, beta, N), gamma, d)
    # the subtraction near - far is conditioned by (|near| + |far|) / |near - far|
    atol = 64 * np.finfo(np.float64).eps * (np.abs(near) + np.abs(far))
    assert np.all(np.abs(near - far - want) <= TAIL_SUM_RTOL * np.abs(want) + atol), (
        near - far
    ) / want - 1


@pytest.mark.parametrize(("alpha", "beta"), PAPER_PAIRS)
def test_tail_after_2000_modes_equals_2e6_explicit_modes(alpha, beta):
    """The brief's check: M = 2000 + tail against modes 2001..2e6 summed explicitly
    plus the tail after 2e6, at ridges where L(X) spans 1e-3..1 - 1e-3."""
    M, N = 2000, 2_000_000
    near, far = PowerLawTail(alpha, beta, M), PowerLawTail(alpha, beta, N)
    for u in (1e-3, 1.0, 1e3):
        gamma = _gamma_at(u, M, alpha)
        for d in (1.0, 0.25):
            want = _brute(alpha, beta, M, N, gamma, d) + _tail3(far, gamma, d)
            np.testing.assert_allclose(_tail3(near, gamma, d), want, rtol=TAIL_SUM_RTOL)


def _midpoint_integrals(a, b, g, X):
    r"""The four tail integrands x^-p L^m1 (1 - L)^m2 with L = 1/(1 + g x^a) (for
    z, q, B2, B1), each as ``(p, m1, f, integral)``: the integral of f over
    (X, inf) in the incomplete-beta form of the substitution s = L(x). mpmath
    numbers at the caller's precision."""
    y = 1 / (1 + g * X**a)
    for p, m1, m2 in [(0, 1, 0), (0, 2, 0), (b, 0, 2), (b, 1, 1)]:
        h = (p - 1) / a

        def f(x, p=p, m1=m1, m2=m2):
            L = 1 / (1 + g * x**a)
            return x**-p * L**m1 * (1 - L) ** m2

        yield p, m1, f, g**h / a * mpmath.betainc(m1 + h, m2 - h, 0, y)


def _mp_reference(alpha, beta, M, gamma, d):
    r"""The same three tails in 30-digit mpmath: the midpoint integral as an
    incomplete beta function (the substitution s = L(x) of the derivation) plus the
    Euler-Maclaurin terms from mpmath's numerical derivatives."""
    with mpmath.workdps(30):
        a, b, g = mpmath.mpf(alpha), mpmath.mpf(beta), mpmath.mpf(gamma)
        X = mpmath.mpf(M) + mpmath.mpf(1) / 2
        out = []
        for _, _, f, integral in _midpoint_integrals(a, b, g, X):
            em = sum(
                w * mpmath.diff(f, X, n)
                for n, w in [
                    (1, mpmath.mpf(1) / 24),
                    (3, -mpmath.mpf(7) / 5760),
                    (5, mpmath.mpf(31) / 967680),
                ]
            )
            out.append(integral + em)
        z, q, B2, B1 = out
        return np.array([float(z), float(q), float(B2 + (1 - d) * B1)])


def _explicit_plus_mp(alpha, beta, M, N, gamma, d):
    """The three tails at M: math.fsum of the modes M < i <= N (float64 terms,
    cancellation-free as in _brute) plus the 30-digit reference at N, far enough
    out (N >= 600 + 12 max(alpha, beta)) that its Euler-Maclaurin remainder,
    about (max(alpha, beta) / (2 pi N))^8, is below 1e-20."""
    i = np.arange(M + 1, N + 1, dtype=np.float64)
    lam, v2 = i**-alpha, i**-beta
    L, one_minus_L = lam / (lam + gamma), gamma / (lam + gamma)
    bias = one_minus_L * ((1 - d) + d * one_minus_L) * v2
    near = np.array([math.fsum(L), math.fsum(L * L), math.fsum(bias)])
    return near + _mp_reference(alpha, beta, N, gamma, d)


@given(
    ab=exponents(beta_over=3.0),
    M=st.integers(1, 100),
    log_u=st.floats(-4.0, 6.0),
    d=st.floats(0.0, 1.0),
)
@_ex(M=10, log_u=0.0, d=0.5)
@example(ab=(2.0, 3.0), M=3, log_u=2.0, d=0.5)  # beta = alpha + 1: P = 0, log case
@example(ab=(1.5, 4.0), M=3, log_u=3.0, d=0.5)  # beta = 2 alpha + 1
@example(ab=(3.0, 9.0), M=1, log_u=0.0, d=0.5)  # M = 1 < 12 max(alpha, beta)
def test_tail_matches_explicit_modes_plus_mpmath(ab, M, log_u, d):
    """The tail after M = 1..100 modes, on both series branches (u < 1 and u > 1),
    equals the explicit modes up to N = M + 720 plus the 30-digit tail after N."""
    alpha, beta = ab
    gamma = _gamma_at(10.0**log_u, M, alpha)
    want = _explicit_plus_mp(alpha, beta, M, M + 720, gamma, d)
    got = _tail3(PowerLawTail(alpha, beta, M), gamma, d)
    np.testing.assert_allclose(got, want, rtol=TAIL_MPMATH_RTOL)


@pytest.mark.parametrize(
    ("alpha", "beta", "M", "u"),
    [(1.5, 2.5, 3, 0.7), (1.12, 1.36, 7, 20.0), (1.2, 4.0, 5, 3.0)],
)
def test_tail_integral_substitution_matches_quadrature(alpha, beta, M, u):
    """The incomplete-beta form of the midpoint integrals (used by the reference
    above) equals adaptive quadrature of the integrand in x: at beta = alpha + 1
    (P = 0 for L(1-L) v^2), alpha near 1, and beta > 2 alpha + 1 (P < 0)."""
    with mpmath.workdps(30):
        a, b, X = mpmath.mpf(alpha), mpmath.mpf(beta), mpmath.mpf(M) + 0.5
        g = 1 / (mpmath.mpf(u) * X**a)
        x_g = g ** (-1 / a)  # where L = 1/2
        for p, m1, f, beta_form in _midpoint_integrals(a, b, g, X):
            # x = X t^(-1/(k-1)) with x^-k the decay of f maps the slowly decaying
            # tail (x^-1.12 at alpha = 1.12) onto a smooth integrand on (0, 1].
            k = p + a * m1
            c = 1 / (k - 1)

            def in_t(t, f=f, c=c):
                return f(X * t**-c) * X * c * t ** (-c - 1)

            t_g = (X / x_g) ** (k - 1)
            quad = mpmath.quad(in_t, [0, t_g, 1] if t_g < 1 else [0, 1])
            assert abs(beta_form / quad - 1) < 1e-15


def test_n_terms_sets_the_series_accuracy():
    """The documented accuracy of the truncation knob: worst error over ridges on
    both branches at (1.5, 1.25), M = 70 (16 terms ~1e-4, 32 ~1e-8, 64 rounding;
    at M = 70 the Euler-Maclaurin remainder of the reference, integral +
    corrections at X = M + 1/2, is below 1e-15, so it is the sum to rounding)."""
    alpha, beta, M, d = 1.5, 1.25, 70, 0.5
    gammas = [_gamma_at(u, M, alpha) for u in (0.3, 0.9, 1.0, 1.2, 5.0)]
    want = np.array([_mp_reference(alpha, beta, M, g, d) for g in gammas])

    def worst(n_terms):
        tail = PowerLawTail(alpha, beta, M, n_terms=n_terms)
        got = np.array([_tail3(tail, g, d) for g in gammas])
        return float(np.max(np.abs(got / want - 1)))

    e16, e32, e64 = worst(16), worst(32), worst(64)
    assert e16 < 1e-4 and e32 < 1e-8 and e64 < TAIL_MPMATH_RTOL
    assert e16 > 1e3 * e64  # the knob is what sets the accuracy


@given(ab=exponents(), M=st.integers(1, 10_000))
@_ex(M=2000)
def test_tail_trace_is_the_hurwitz_zeta(ab, M):
    """trace = sum_{i>M} i^-alpha = zeta(alpha, M+1), against mpmath."""
    alpha, beta = ab
    want = float(mpmath.zeta(alpha, M + 1))
    assert PowerLawTail(alpha, beta, M).trace == pytest.approx(want, rel=F64_RTOL)


@given(ab=exponents(), M=st.integers(50, 5000))
@_ex(M=2000)
def test_tail_limits_in_gamma(ab, M):
    r"""gamma = 0: every omitted mode learned (z, q = inf, bias 0). gamma -> inf:
    z -> zeta(alpha, M+1)/gamma, q -> zeta(2 alpha, M+1)/gamma^2 and the bias ->
    sum_{i>M} i^-beta = zeta(beta, M+1) (Hurwitz zetas, i.e. exact sums, which checks
    the Euler-Maclaurin step). gamma -> 0: the continuum, sum_{i>M} L_i ->
    I_1 gamma^{-1/alpha} - X (derivations §1.2, §2)."""
    alpha, beta = ab
    tail = PowerLawTail(alpha, beta, M)
    z, q = tail.sums(0.0)
    assert z == np.inf and q == np.inf and tail.bias(0.0, 0.5) == 0.0
    # u = 1e-12: L_i = lambda_i / gamma (1 + O(u)), so the sums are Hurwitz zetas
    big = 1e12 * (M + 0.5) ** -alpha
    z, q = tail.sums(big)
    assert float(z) == pytest.approx(float(mpmath.zeta(alpha, M + 1)) / big, rel=1e-10)
    assert float(q) == pytest.approx(
        float(mpmath.zeta(2 * alpha, M + 1)) / big**2, rel=1e-10
    )
    v2 = float(mpmath.zeta(beta, M + 1))
    assert float(tail.bias(big, 1.0)) == pytest.approx(v2, rel=1e-10)
    assert float(tail.bias(np.inf, 0.3)) == pytest.approx(v2, rel=1e-10)
    I_1 = float(continuum_integrals(alpha, 1.5).I_1)
    small = 1e-16 * (M + 0.5) ** -alpha  # u = 1e16: sum_{i<=M} L_i = M to 1e-16
    want = I_1 * small ** (-1 / alpha) - (M + 0.5)
    assert float(tail.sums(small)[0]) == pytest.approx(want, rel=1e-12)


def test_tail_broadcasts_and_returns_float64():
    tail = PowerLawTail(1.17, 1.14, 100)
    gamma = np.geomspace(1e-8, 1.0, 3)[:, None]
    d = np.linspace(0.0, 1.0, 4)
    z, q = tail.sums(gamma)
    bias = tail.bias(gamma, d)
    assert z.shape == q.shape == (3, 1) and bias.shape == (3, 4)
    assert z.dtype == q.dtype == bias.dtype == np.float64
    # each cell as computed alone
    for i in range(3):
        for j in range(4):
            assert bias[i, j] == tail.bias(float(gamma[i, 0]), float(d[j]))
    assert np.all(np.diff(bias, axis=1) <= 0)  # (1-L)(1-dL) decreases in d


class _DifferenceTail:
    """Modes M < i <= N only: a SpectrumTail made of two PowerLawTails."""

    def __init__(self, alpha, beta, M, N):
        self.near, self.far = PowerLawTail(alpha, beta, M), PowerLawTail(alpha, beta, N)
        self.trace = self.near.trace - self.far.trace

    def sums(self, gamma):
        (z1, q1), (z2, q2) = self.near.sums(gamma), self.far.sums(gamma)
        return z1 - z2, q1 - q2

    def bias(self, gamma, d):
        return self.near.bias(gamma, d) - self.far.bias(gamma, d)


def test_reference_truncation_examples():
    """Derivations §6.1 (our computation): truncating at M = 2e6 (ridgeless KRR,
    n = 2000)
    (1) at alpha = 1.12 misses 'about 1/3 of n' in z (measured 0.331);
    (2) at (1.5, 1.25) misses 'about 0.1' of target power (0.106) and makes E_te
    '16% too low' (measured 16.04%)."""
    n, M, N = 2000, 4000, 2_000_000
    spec = powerlaw_spectrum(1.12, 1.36, M)
    full = rf_ridge_risk(
        *spec, n=n, k=np.inf, ridge=0.0, tail=PowerLawTail(1.12, 1.36, M)
    )
    missing_z = PowerLawTail(1.12, 1.36, N).sums(full.gamma)[0] / n
    assert abs(missing_z - 1 / 3) < 0.01

    spec = powerlaw_spectrum(1.5, 1.25, M)
    full = rf_ridge_risk(
        *spec, n=n, k=np.inf, ridge=0.0, tail=PowerLawTail(1.5, 1.25, M)
    )
    cut = rf_ridge_risk(
        *spec, n=n, k=np.inf, ridge=0.0, tail=_DifferenceTail(1.5, 1.25, M, N)
    )
    assert abs(PowerLawTail(1.5, 1.25, N).bias(np.inf, 1.0) - 0.1) < 0.01
    assert abs((1 - cut.test_risk / full.test_risk) - 0.16) < 0.005


@pytest.mark.parametrize(("alpha", "beta"), [(1.17, 1.14), (1.5, 3.0), (2.0, 5.5)])
def test_rf_ridge_risk_with_tail_is_independent_of_the_split(alpha, beta):
    """rf_ridge_risk with 1500 or 20000 explicit modes plus the tail: the same
    untruncated spectrum, so every field agrees (RF and KRR, ridgeless and not).
    (2.0, 5.5) has beta > alpha + 1, where the L(1-L) v^2 tail has P < 0."""
    n = np.array([100, 1000])[:, None, None]
    k = np.array([50.0, 1200.0, np.inf])[None, :, None]
    ridge = np.array([0.0, 1e-4, 1e-1, 10.0])
    out = [
        rf_ridge_risk(
            *powerlaw_spectrum(alpha, beta, M),
            n=n,
            k=k,
            ridge=ridge,
            noise_var=0.1,
            tail=PowerLawTail(alpha, beta, M),
        )
        for M in (1500, 20_000)
    ]
    for field in ("test_risk", "train_risk", "gamma", "kappa", "learnability_sum"):
        np.testing.assert_allclose(
            getattr(out[0], field),
            getattr(out[1], field),
            rtol=TAIL_PIPELINE_RTOL,
            err_msg=field,
        )


def test_tail_is_immutable_and_exposes_its_parameters():
    tail = PowerLawTail(1.5, 1.25, 2000)
    assert (tail.alpha, tail.beta, tail.num_modes, tail.n_terms) == (
        1.5,
        1.25,
        2000,
        64,
    )
    with pytest.raises(AttributeError):
        tail.alpha = 2.0  # type: ignore[misc]
    spec = powerlaw_spectrum(1.5, 1.25, 3)
    assert spec.eigvals.dtype == spec.target_power.dtype == np.float64
    np.testing.assert_array_equal(spec.eigvals, np.array([1.0, 2**-1.5, 3**-1.5]))
    np.testing.assert_array_equal(
        spec.target_power, np.array([1.0, 2**-1.25, 3**-1.25])
    )


@pytest.mark.parametrize(
    ("alpha", "beta", "u"),
    [
        (1.1, 20.0, 1.0 / 0.9),  # h = (beta - 1)/alpha = 17
        (1.5, 40.0, 1.0 / 0.9),  # h = 26
        (1.1, 40.0, 1.0 / 0.9),  # h = 35.5: was off by 9e-2
        (1.1, 40.0, 1.0 / 0.3),
        (2.0, 40.0, 20.0),
        (1.5, 80.0, 1.0 / 0.9),  # h = 52.7: was negative
        (1.2, 10.0, 2.0),  # h = 7.5
        (1.3, 8.0, 100.0),  # h = 5.4, L(X) = 0.99
    ],
)
def test_bias_with_large_h_matches_explicit_modes(alpha, beta, u):
    """Large h = (beta - 1)/alpha at u = 1/(gamma X^alpha) > 1 (the branch y > 1/2,
    where the binomial series of derivations §1.2 alternates with terms ~3^Q times
    the sum): B2 and B2 + B1 after M = 1000 (integral-dominated, no explicit
    modes) against math.fsum of the modes up to 2 M plus the 30-digit tail after
    2 M (a share of 2^(1 - beta) at beta = 40, 2^-4.4 at (1.3, 8))."""
    M = 1000
    gamma = _gamma_at(u, M, alpha)
    tail = PowerLawTail(alpha, beta, M)
    for d in (1.0, 0.0):  # B2, B2 + B1
        want = _explicit_plus_mp(alpha, beta, M, 2 * M, gamma, d)[2]
        got = float(tail.bias(gamma, d))
        assert got == pytest.approx(want, rel=TAIL_FSUM_RTOL, abs=0.0), (d, got, want)


@pytest.mark.parametrize(
    ("alpha", "beta", "M", "u"),
    [
        (10.0, 1.5, 1, 1.0),  # z and q were negative
        (10.0, 1.5, 1, 0.01),
        (4.0, 2.0, 1, 1e-3),
        (1.5, 40.0, 5, 1.0),  # B2, B1 were negative
        (1.5, 3.0, 5, 1.0),
        (10.0, 2.0, 50, 1.0),
        (50.0, 2.0, 50, 1.0),  # was off by 2e-6 at M = 50
        (1.5, 20.0, 50, 1.0),
    ],
)
def test_tail_after_few_modes_or_large_exponents(alpha, beta, M, u):
    """Small M and large alpha or beta, where the Euler-Maclaurin remainder
    (max(alpha, beta) / (2 pi X))^8 at X = M + 1/2 is not small: the tail equals the
    explicit modes up to N plus the 30-digit tail after N."""
    N = M + 600 + math.ceil(12 * max(alpha, beta))
    gamma = _gamma_at(u, M, alpha)
    tail = PowerLawTail(alpha, beta, M)
    for d in (1.0, 0.3):
        want = _explicit_plus_mp(alpha, beta, M, N, gamma, d)
        assert np.all(want > 0)
        np.testing.assert_allclose(_tail3(tail, gamma, d), want, rtol=TAIL_FSUM_RTOL)


def _continuum(alpha, beta, M, gamma, d):
    """gamma -> 0 (u(X) ~ 1e300 and beyond): every explicit-mode correction is
    O(gamma) relative, so Z = I_1 gamma^(-1/alpha) - X, Q2 = (1 - 1/alpha) I_1
    gamma^(-1/alpha) - X (Sum_{i>=1} f(i) = int_0^inf f - f(0)/2), and the bias is
    gamma^e / alpha [B(2 - e, e) + (1 - d) B(1 - e, 1 + e)], e = (beta - 1)/alpha < 1
    (substitute w = gamma x^alpha in the integral over (0, inf)); 30-digit mpmath."""
    with mpmath.workdps(30):
        a, g = mpmath.mpf(alpha), mpmath.mpf(gamma)
        e = (mpmath.mpf(beta) - 1) / a
        I_1 = mpmath.pi / a / mpmath.sin(mpmath.pi / a)
        X = mpmath.mpf(M) + mpmath.mpf(1) / 2
        z = I_1 * g ** (-1 / a) - X
        q = (1 - 1 / a) * I_1 * g ** (-1 / a) - X
        bias = g**e / a * (mpmath.beta(2 - e, e) + (1 - d) * mpmath.beta(1 - e, 1 + e))
        return np.array([float(z), float(q), float(bias)])


@pytest.mark.parametrize(("alpha", "beta"), [(1.5, 1.25), (2.0, 2.5), (3.0, 2.0)])
@pytest.mark.parametrize("gamma", [5e-324, 1e-320, 1e-310, 1e-300])
def test_tail_at_subnormal_gamma(alpha, beta, gamma):
    """gamma down to the smallest subnormal: finite sums ~gamma^(-1/alpha) (they
    were inf and NaN) and a bias ~gamma^e (it was 0), against the continuum limit
    with the exact exponents (the tolerance allows for rounding h = -1/alpha)."""
    M, d = 50, 0.5
    got = _tail3(PowerLawTail(alpha, beta, M), gamma, d)
    want = _continuum(alpha, beta, M, gamma, d)
    np.testing.assert_allclose(got, want, rtol=TAIL_TINY_GAMMA_RTOL)


def test_tail_overflow_at_tiny_gamma_is_inf_not_nan():
    """alpha = 1.01 at gamma = 5e-324: the true sums, ~1e322, exceed float64."""
    z, q = PowerLawTail(1.01, 1.5, 50).sums(np.array([5e-324, 1e-300]))
    assert z[0] == q[0] == np.inf
    assert np.isfinite(z[1]) and np.isfinite(q[1])


@pytest.mark.parametrize("d", [-1.0, 2.0, -1e-300, 1.0 + 1e-15, np.nan, np.inf])
def test_bias_rejects_d_outside_the_unit_interval(d):
    tail = PowerLawTail(1.5, 1.25, 50)
    rule = "a number" if np.isnan(d) else r"in \[0, 1\]"
    with pytest.raises(ValueError, match=f"d must be {rule}"):
        tail.bias(1e-3, d)
    with pytest.raises(ValueError, match="d must be"):
        tail.bias(np.array([1e-3, 1e-2]), np.array([0.5, d]))


@pytest.mark.parametrize("name", ["num_modes", "n_terms"])
@pytest.mark.parametrize("flag", [True, False, np.True_])
def test_tail_rejects_bool_counts(name, flag):
    kwargs = {"alpha": 1.5, "beta": 1.25, "num_modes": 50, name: flag}
    with pytest.raises(ValueError, match=name):
        PowerLawTail(**kwargs)
