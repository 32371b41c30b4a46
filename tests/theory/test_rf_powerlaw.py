r"""Tests of :mod:`theory.rf_powerlaw`: the power-law tasks of arXiv:2311.14646
Section 5, as derived in ``docs/derivations/rf_powerlaw.md``.

Groups (group (a), the truncated-spectrum tail of derivations §1, is tested in
``test_rf_tail.py``):

(b) the continuum constants and :math:`C_{\alpha,\beta}` (§2) against quadrature,
    the sine form, and across :math:`\beta = \alpha + 1`;
(c) the closed form :math:`E_{te}(R)` and the optimal fitting ratio (§3, §4, the
    theory column of the §6.2 table);
(d) the discrete KRR eigenframework with the tail
    (:func:`theory.rf_ridge.rf_ridge_risk`, ``k = inf``) against the closed form,
    at a fitting ratio R reached by solving :math:`z(\kappa) = n(1-\sqrt R)` for
    :math:`\kappa` and setting :math:`\delta = n\kappa\sqrt R` (§3, §5: R =
    :math:`(1-z/n)^2 = (\delta/(n\kappa))^2`);
(e) input validation.

The paper's (alpha, beta) are its Fig. 2 exponents for CIFAR-10, SVHN and MNIST
(derivations §6.2), plus the truncation example (1.5, 1.25) of §6.1.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from tests._tolerances import F64_RTOL
from tests._tolerances import POWERLAW_CONVERGENCE_SLACK as CONVERGENCE_SLACK
from tests._tolerances import POWERLAW_LOG_RTOL
from tests._tolerances import POWERLAW_RATIO_TOL_N1E3 as RATIO_TOL_N1E3
from tests._tolerances import POWERLAW_RATIO_TOL_N1E4 as RATIO_TOL_N1E4
from tests._tolerances import POWERLAW_ROOT_RTOL
from tests._tolerances import POWERLAW_RSTAR_TOL as RSTAR_TOL
from tests.theory._powerlaw_helpers import _ex
from tests.theory._powerlaw_helpers import alphas
from tests.theory._powerlaw_helpers import exponents
from theory._solve import solve_bracketed
from theory.rf_powerlaw import PowerLawTail
from theory.rf_powerlaw import continuum_integrals
from theory.rf_powerlaw import optimal_fitting_ratio
from theory.rf_powerlaw import powerlaw_constant
from theory.rf_powerlaw import powerlaw_spectrum
from theory.rf_powerlaw import powerlaw_test_risk
from theory.rf_powerlaw import zero_ridge_optimal
from theory.rf_ridge import rf_ridge_risk

# Derivations §3 table (our computation): E_te(0,0)/closed form at n = 1e3, 1e4.
SPEC5_PAIRS = [(1.5, 1.25), (2.0, 1.5), (1.17, 1.14), (1.22, 1.2), (1.12, 1.36)]
# Derivations §6.2 table, theory column of R* (printed strings: their digits set
# the test).
TABLE_RSTAR = {
    (1.17, 1.14): ("0.024", "0.31", "0.69", "0.95"),  # CIFAR-10
    (1.22, 1.20): ("0.006", "0.26", "0.64", "0.93"),  # SVHN
    (1.12, 1.36): ("0", "0", "0.19", "0.77"),  # MNIST
}
TABLE_NOISE = (0.0, 1.0, 5.0, 50.0)


# ==============================================================================
# (b) Continuum constants
# ==============================================================================


def _quad_alg(f, p, q):
    """int_0^1 f(t) t^p (1-t)^q dt by QUADPACK's QAWS (algebraic endpoint weights)."""
    return integrate.quad(f, 0, 1, weight="alg", wvar=(p, q), epsabs=0, epsrel=1e-13)[0]


@given(ab=exponents())
@_ex()
def test_continuum_integrals_match_quadrature(ab):
    """I_1, I_2, I_B (derivations §2) against scipy quad of their defining integrals."""
    alpha, beta = ab
    c = continuum_integrals(alpha, beta)
    # In t = 1/(1+u^alpha) (the integrands' 1/(1+u^alpha)^m = t^m), the Jacobian
    # is |du/dt| = t^(-1-1/alpha) (1-t)^(1/alpha-1) / alpha and u^(2 alpha - beta) =
    # ((1-t)/t)^(2-e-1/alpha), e = (beta-1)/alpha: every integrand is
    # (polynomial) t^p (1-t)^q with endpoint singularities only.
    a, e = 1 / alpha, (beta - 1) / alpha
    I_1 = _quad_alg(lambda t: 1 / alpha, -a, a - 1)
    I_2 = _quad_alg(lambda t: t / alpha, -a, a - 1)
    I_B = _quad_alg(lambda t: 1 / alpha, e - 1, 1 - e)
    np.testing.assert_allclose([c.I_1, c.I_2, c.I_B], [I_1, I_2, I_B], rtol=1e-11)


@pytest.mark.parametrize(("alpha", "beta"), [(1.5, 1.25), (2.0, 3.0), (3.0, 1.5)])
def test_continuum_integrals_match_quadrature_in_u(alpha, beta):
    """The defining integrals in u themselves (where quad converges well)."""
    c = continuum_integrals(alpha, beta)

    def quad(f):
        parts = [(0, 1), (1, np.inf)]
        return sum(
            integrate.quad(f, lo, hi, epsabs=0, epsrel=1e-12)[0] for lo, hi in parts
        )

    I_1 = quad(lambda u: 1 / (1 + u**alpha))
    I_2 = quad(lambda u: 1 / (1 + u**alpha) ** 2)
    I_B = quad(lambda u: u ** (2 * alpha - beta) / (1 + u**alpha) ** 2)
    np.testing.assert_allclose([c.I_1, c.I_2, c.I_B], [I_1, I_2, I_B], rtol=1e-9)


@given(ab=exponents())
@_ex()
def test_powerlaw_constant_gamma_form_equals_sine_form(ab):
    """C = alpha I_B I_1^(beta-1) = the sine form of derivations §2, away from
    beta = alpha+1 (where the sine form is 0/0; it loses ~eps/|beta-alpha-1| there)."""
    alpha, beta = ab
    assume(abs(beta - alpha - 1) > 1e-3)
    sine = (
        (alpha - beta + 1)
        * np.pi**beta
        * alpha**-beta
        * np.sin(np.pi / alpha) ** (1 - beta)
        / np.sin(np.pi * (beta - 1) / alpha)
    )
    assert float(powerlaw_constant(alpha, beta)) == pytest.approx(sine, rel=F64_RTOL)
    c = continuum_integrals(alpha, beta)
    assert float(powerlaw_constant(alpha, beta)) == pytest.approx(
        float(alpha * c.I_B * c.I_1 ** (beta - 1)), rel=F64_RTOL
    )


@given(alpha=alphas)
@example(alpha=1.17)
@example(alpha=1.5)
def test_powerlaw_constant_is_continuous_across_beta_alpha_plus_1(alpha):
    """At beta = alpha + 1, C is finite and equals the limit (derivations §2)
    pi^(b-1) alpha^(1-b) sin(pi/alpha)^(1-b); on both sides it approaches that
    value linearly in the offset, and the sine form agrees just off the point."""
    b0 = alpha + 1
    limit = np.pi ** (b0 - 1) * alpha ** (1 - b0) * np.sin(np.pi / alpha) ** (1 - b0)
    c0 = float(powerlaw_constant(alpha, b0))
    assert c0 == pytest.approx(limit, rel=F64_RTOL)
    # |d log C / d beta| <= |log I_1| + |psi(1) - psi(1)| + 1 ... < 20 on alpha <= 3
    for h in (1e-3, 1e-6, 1e-9):
        for side in (-1, 1):
            c = float(powerlaw_constant(alpha, b0 + side * h))
            assert abs(c / c0 - 1) < 20 * h
    h = 1e-3
    second = (
        powerlaw_constant(alpha, b0 + h) - 2 * c0 + powerlaw_constant(alpha, b0 - h)
    )
    assert abs(second / c0) < 1e3 * h**2  # smooth, not just continuous


# ==============================================================================
# (c) Closed form E_te(R) and the optimal fitting ratio
# ==============================================================================


@given(
    ab=exponents(),
    R=st.floats(0.0, 0.999),
    n=st.floats(1.0, 1e7),
    noise=st.floats(0.0, 100.0),
)
@_ex(R=0.3, n=1000.0, noise=1.0)
def test_test_risk_equals_the_kappa_form(ab, R, n, noise):
    r"""E_te = alpha/(1+(alpha-1)s) [I_B (I_1/(n(1-s)))^(beta-1) + sigma^2] with
    sigma^2 = sigma^2_rel C n^(1-beta) (derivations §3; the paper's eq. 7 noise
    scaling); at R = 0 and no noise it is C n^(1-beta)."""
    alpha, beta = ab
    c = continuum_integrals(alpha, beta)
    C = float(powerlaw_constant(alpha, beta))
    s = math.sqrt(R)
    sigma2 = noise * C * n ** (1 - beta)
    want = (
        alpha
        / (1 + (alpha - 1) * s)
        * (float(c.I_B) * (float(c.I_1) / (n * (1 - s))) ** (beta - 1) + sigma2)
    )
    got = powerlaw_test_risk(R, alpha=alpha, beta=beta, n=n, noise_rel=noise)
    assert float(got) == pytest.approx(want, rel=F64_RTOL)
    base = powerlaw_test_risk(0.0, alpha=alpha, beta=beta, n=n, noise_rel=0.0)
    assert float(base) == pytest.approx(C * n ** (1 - beta), rel=F64_RTOL)


@pytest.mark.parametrize(
    ("R", "alpha", "beta", "n", "noise"),
    [
        (0.0, 1.5, 2.5, 1e300, 1e300),
        (0.0, 1.12, 2.12, 1e300, 1e100),
        (0.5, 3.0, 6.0, 1e64, 1e20),
    ],
)
def test_test_risk_whose_factors_underflow_is_taken_in_logs(R, alpha, beta, n, noise):
    """C n^(1-beta) underflowed to 0 before the large noise term multiplied it: the
    risk came out 0.0 where it is 5.6e-150 (first case) and 1.2e-235; in the last
    it is a subnormal ~1e-320 that keeps only a few digits."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 50
    C = mp.mpf(float(powerlaw_constant(alpha, beta)))
    a, b, s = mp.mpf(alpha), mp.mpf(beta), mp.sqrt(mp.mpf(R))
    want = (
        C * mp.mpf(n) ** (1 - b) * ((1 - s) ** (1 - b) + a * noise) / (1 + (a - 1) * s)
    )
    got = powerlaw_test_risk(R, alpha=alpha, beta=beta, n=n, noise_rel=noise)
    assert abs(mp.mpf(float(got)) - want) <= POWERLAW_LOG_RTOL * want


@pytest.mark.parametrize(
    ("alpha", "beta", "noise"),
    [
        (1e6, 2000000.998, 1.010002017982018e-06),
        (1e6, 1.5e6, 1e-6),
        (1e3, 1801.0, 8.098198198198198e-4),
    ],
)
def test_optimal_fitting_ratio_at_large_alpha_matches_60_digits(alpha, beta, noise):
    """The root s of g(s) = c0 + c1 s - c2 (1 - s)^beta (R* = s^2) against mpmath;
    (1 - s)**beta lost beta eps relative: 2.1e-8, 2.7e-10 and 2e-11 off before."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 60
    got = float(optimal_fitting_ratio(alpha, beta, noise))
    a, b, nz = mp.mpf(alpha), mp.mpf(beta), mp.mpf(noise)
    c0, c1, c2 = b - a, b * (a - 1), a * (a - 1) * nz
    s = mp.findroot(lambda x: c0 + c1 * x - c2 * (1 - x) ** b, mp.sqrt(got))
    assert abs(got - s**2) <= POWERLAW_ROOT_RTOL * s**2


def test_optimal_fitting_ratio_near_one_at_huge_noise_converges():
    """R* = 1 - 1.3e-35 (1.0 in float64) at noise 3.4e92: the solver's xtol on
    log w (1e-14) was finer than float64 resolves at log w ~ -80, and it raised."""
    r = optimal_fitting_ratio(
        1.0946297735751653, 2.595110866204215, 3.4256097314896333e92
    )
    assert float(r) == 1.0


def test_test_risk_broadcasts():
    R = np.linspace(0, 0.9, 5)[:, None]
    out = powerlaw_test_risk(R, alpha=[1.17, 1.5], beta=1.14, n=1000, noise_rel=0.0)
    assert out.shape == (5, 2) and out.dtype == np.float64
    assert float(out[0, 1]) == pytest.approx(
        float(powerlaw_test_risk(0.0, alpha=1.5, beta=1.14, n=1000, noise_rel=0.0)),
        rel=1e-15,
    )


@pytest.mark.parametrize(("ab", "printed"), list(TABLE_RSTAR.items()))
def test_rstar_reproduces_the_reference_table(ab, printed):
    """Derivations §6.2 table, theory column: R* at sigma^2_rel = 0, 1, 5, 50, to the
    printed digits (e.g. '0.31' means |R* - 0.31| <= 0.005)."""
    got = optimal_fitting_ratio(*ab, np.array(TABLE_NOISE))
    for value, text in zip(got, printed, strict=True):
        digits = len(text.split(".")[1]) if "." in text else 0
        if float(text) == 0:
            assert value == 0.0
        else:
            assert abs(value - float(text)) <= 0.5 * 10.0**-digits, (value, text)


@given(ab=exponents(), noise=st.floats(0.0, 100.0))
@_ex(noise=1.0)
@example(ab=(1.12, 1.36), noise=(1.36 - 1.12) / (1.12 * 0.12))  # at the threshold
def test_rstar_is_the_argmin_of_the_closed_form(ab, noise):
    """R* minimizes E_te(R) on [0, 1): no grid point is lower, and the closed
    form increases away from R* on both sides."""
    alpha, beta = ab
    r_star = float(optimal_fitting_ratio(alpha, beta, noise))
    R = np.linspace(0.0, 0.9999, 4001)

    def risk(r):
        return powerlaw_test_risk(r, alpha=alpha, beta=beta, n=1000, noise_rel=noise)

    e_star = float(risk(r_star))
    assert e_star <= float(np.min(risk(R))) * (1 + 1e-12)
    for step in (1e-3, 1e-2):
        if r_star + step < 1:
            assert float(risk(r_star + step)) > e_star
        if r_star - step >= 0:
            assert float(risk(r_star - step)) > e_star


@given(ab=exponents(), noise=st.floats(0.0, 100.0))
@_ex(noise=0.0)
@example(ab=(1.12, 1.36), noise=1.785)  # MNIST threshold 1.7857...
@example(ab=(1.5, 1.5), noise=0.0)  # threshold 0 exactly: g(0) = 0, R* = 0
@example(ab=(1.25, 1.25), noise=5e-324)  # above a 0 threshold; c2 underflows
@example(ab=(1.12, 1.36), noise=1.786)
def test_rstar_is_zero_iff_noise_below_threshold(ab, noise):
    """R* = 0 iff sigma^2_rel <= (beta - alpha)/(alpha(alpha - 1)) (derivations §4), and
    zero_ridge_optimal says the same."""
    alpha, beta = ab
    threshold = (beta - alpha) / (alpha * (alpha - 1))
    r_star = float(optimal_fitting_ratio(alpha, beta, noise))
    zero = bool(zero_ridge_optimal(alpha, beta, noise))
    assert zero == (noise <= threshold)
    if zero:
        assert r_star == 0.0
    else:  # R* > 0 unless it underflows: s* ~ -g(0)/g'(0) below 1e-154
        s_lin = (alpha * (alpha - 1) * noise - (beta - alpha)) / (
            beta * (alpha - 1) + beta * alpha * (alpha - 1) * noise
        )
        assert r_star > 0 or s_lin < 1e-154


@given(ab=exponents(), noise=st.floats(0.0, 1e3), more=st.floats(0.0, 1e3))
@_ex(noise=1.0, more=4.0)
def test_rstar_below_one_and_nondecreasing_in_noise(ab, noise, more):
    """R* < 1 always, and R* does not decrease as sigma^2_rel grows (derivations §4)."""
    alpha, beta = ab
    lo, hi = optimal_fitting_ratio(alpha, beta, [noise, noise + more])
    assert 0 <= lo <= hi < 1


@pytest.mark.parametrize("noise", [1e6, 1e12, 1e15])
def test_rstar_tends_to_one_with_full_precision_in_one_minus_rstar(noise):
    """As sigma^2_rel -> inf, 1 - s* -> ((beta-1)/((alpha-1) sigma^2_rel))^(1/beta)
    (from g(s*) = 0); R* stays < 1 and 1 - R* keeps its relative precision."""
    alpha, beta = 1.17, 1.14
    r_star = float(optimal_fitting_ratio(alpha, beta, noise))
    w = ((beta - 1) / ((alpha - 1) * noise)) ** (1 / beta)  # 5e-6 .. 1e-13
    # 1 - R* = 2w - w^2 up to O(w) relative; R* itself is rounded to 1.1e-16
    # absolute, i.e. 6e-4 relative in 1 - R* at the largest noise.
    assert r_star < 1
    assert 1 - r_star == pytest.approx(2 * w - w * w, rel=1e-2)


@given(ab=exponents())
@_ex()
def test_rstar_noiseless_closed_form(ab):
    """Without noise, R* = ((alpha - beta)/(beta (alpha - 1)))^2 for beta < alpha,
    else 0 (derivations §4)."""
    alpha, beta = ab
    want = ((alpha - beta) / (beta * (alpha - 1))) ** 2 if beta < alpha else 0.0
    assert float(optimal_fitting_ratio(alpha, beta, 0.0)) == pytest.approx(
        want, rel=F64_RTOL, abs=1e-300
    )


def test_rstar_broadcasts_over_a_grid():
    alpha = np.array([1.17, 1.22, 1.12])[:, None]
    beta = np.array([1.14, 1.20, 1.36])[:, None]
    out = optimal_fitting_ratio(alpha, beta, np.array(TABLE_NOISE))
    assert out.shape == (3, 4) and out.dtype == np.float64
    assert zero_ridge_optimal(alpha, beta, np.array(TABLE_NOISE)).dtype == bool
    for i in range(3):
        for j in range(4):
            assert out[i, j] == float(
                optimal_fitting_ratio(
                    float(alpha[i, 0]), float(beta[i, 0]), TABLE_NOISE[j]
                )
            )


# ==============================================================================
# (d) The discrete framework with the tail vs the closed form (derivations §3, §5)
# ==============================================================================


def _ridge_at_ratio(eigvals, tail, n, s):
    """delta with fitting ratio s^2 in KRR: z(kappa) = n (1 - s), delta = n kappa s.

    Solved in log kappa with the shared solver; z decreases in kappa with
    dz/dlog kappa = -(z - q)."""
    s = np.atleast_1d(np.asarray(s, dtype=np.float64))
    target = n * (1 - s)

    def fun(kappa):
        L = eigvals / (eigvals + kappa[:, None])
        zt, qt = tail.sums(kappa)
        z, q = L.sum(axis=1) + zt, (L * L).sum(axis=1) + qt
        return np.log(target / z), (z - q) / z

    trace = eigvals.sum() + tail.trace
    lo = np.full_like(s, 1e-3 * eigvals.min())  # z > M > n there
    hi = 2 * trace / target  # z <= trace / kappa = target / 2
    kappa = solve_bracketed(fun, lo, hi, xtol=1e-13).root
    return n * kappa * s


def _discrete(alpha, beta, n, R, noise_rel, M=None):
    """rf_ridge_risk (KRR, tail) at fitting ratios R, noise relative to its own
    ridgeless noiseless risk (derivations §3, the paper's eq. 7)."""
    M = 2 * n if M is None else M
    spec, tail = powerlaw_spectrum(alpha, beta, M), PowerLawTail(alpha, beta, M)
    base = rf_ridge_risk(*spec, n=n, k=np.inf, ridge=0.0, tail=tail).test_risk
    R = np.asarray(R, dtype=np.float64)
    ridge = _ridge_at_ratio(spec.eigvals, tail, n, np.sqrt(R).ravel()).reshape(R.shape)
    return rf_ridge_risk(
        *spec, n=n, k=np.inf, ridge=ridge, noise_var=noise_rel * base, tail=tail
    )


@pytest.mark.parametrize(("alpha", "beta"), SPEC5_PAIRS)
def test_discrete_over_closed_form_at_the_reference_pairs(alpha, beta):
    """Derivations §3 (our computation): E_te(discrete)/E_te(closed) -> 1 as n grows:
    within 2e-3 at n = 1e3 (ridgeless noiseless: measured 0.9993-0.9994; also at
    R = 0.1, 0.3, 0.5 with sigma^2_rel = 0, 1, 5) and within 2e-4 at n = 1e4
    (0.99993-0.99994), closer at 1e4 than at 1e3."""
    R = np.array([0.0, 0.1, 0.3, 0.5])[:, None]
    noise = np.array([0.0, 1.0, 5.0])
    out = _discrete(alpha, beta, 1000, R, noise)
    np.testing.assert_allclose(
        out.train_risk / out.test_risk,
        np.broadcast_to(R, out.test_risk.shape),
        atol=1e-12,
    )
    closed = powerlaw_test_risk(R, alpha=alpha, beta=beta, n=1000, noise_rel=noise)
    ratio = out.test_risk / closed
    assert np.all(np.abs(ratio - 1) < RATIO_TOL_N1E3), ratio
    big = _discrete(alpha, beta, 10_000, 0.0, 0.0).test_risk
    ratio_big = float(
        big / powerlaw_test_risk(0.0, alpha=alpha, beta=beta, n=10_000, noise_rel=0.0)
    )
    assert abs(ratio_big - 1) < RATIO_TOL_N1E4
    assert abs(ratio_big - 1) < abs(ratio[0, 0] - 1) / 5


@given(
    ab=exponents(),
    # R in (0, 1e-6) only maps to ridges below 1e-150, which rf_ridge_risk's
    # Chebyshev tables do not resolve (see the report); R = 0 is the ridgeless branch.
    R=st.one_of(st.just(0.0), st.floats(1e-6, 0.9)),
    noise=st.floats(0.0, 10.0),
)
@_ex(R=0.3, noise=1.0)
def test_discrete_converges_to_closed_form_at_the_predicted_rate(ab, R, noise):
    r"""|ratio - 1| shrinks from n = 250 to n = 2000 by 8^-p, p = min(1, 2 alpha + 1
    - beta): O(1/n) from replacing sums by integrals at the learned modes, and
    O(n^-(2 alpha+1-beta)) from the bias sum's slowly converging small-i end."""
    alpha, beta = ab
    err = []
    for n in (250, 2000):
        out = _discrete(alpha, beta, n, np.array([R]), noise).test_risk[0]
        closed = powerlaw_test_risk(R, alpha=alpha, beta=beta, n=n, noise_rel=noise)
        err.append(abs(out / float(closed) - 1))
    p = min(1.0, 2 * alpha + 1 - beta)
    assert err[1] <= CONVERGENCE_SLACK * 8.0**-p * err[0]


def _golden_min(f, lo, hi, iters):
    """Vectorized golden-section minimization of a unimodal f on [lo, hi]."""
    inv = (math.sqrt(5) - 1) / 2
    a, b = lo.copy(), hi.copy()
    c, d = b - inv * (b - a), a + inv * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        left = fc < fd  # the minimum is in [a, d]
        a, b = np.where(left, a, c), np.where(left, d, b)
        new_c = np.where(left, b - inv * (b - a), d)
        new_d = np.where(left, c, a + inv * (b - a))
        fx = f(np.where(left, new_c, new_d))
        fc, fd = np.where(left, fx, fd), np.where(left, fc, fx)
        c, d = new_c, new_d
    return 0.5 * (a + b)


@pytest.mark.parametrize("ab", list(TABLE_RSTAR))
def test_discrete_argmin_over_ridge_matches_rstar(ab):
    """Derivations §4 "Checks": minimizing the discrete framework's E_te over the
    ridge (parametrized by s = sqrt(R) = delta/(n kappa), golden section to 1e-5)
    at n = 1e3 gives R* of the root of g to +-0.005 (measured 9e-4), including
    R* = 0 for MNIST at sigma^2_rel = 0 and 1."""
    alpha, beta = ab
    n, M = 1000, 2000
    noise = np.array(TABLE_NOISE)
    spec, tail = powerlaw_spectrum(alpha, beta, M), PowerLawTail(alpha, beta, M)
    base = rf_ridge_risk(*spec, n=n, k=np.inf, ridge=0.0, tail=tail).test_risk

    def risk(s):
        ridge = _ridge_at_ratio(spec.eigvals, tail, n, s)
        return rf_ridge_risk(
            *spec, n=n, k=np.inf, ridge=ridge, noise_var=noise * base, tail=tail
        ).test_risk

    s = _golden_min(risk, np.zeros(4), np.full(4, 0.999), 24)
    np.testing.assert_allclose(
        s**2, optimal_fitting_ratio(alpha, beta, noise), atol=RSTAR_TOL
    )


# ==============================================================================
# (e) Validation
# ==============================================================================


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: powerlaw_spectrum(1.0, 1.5, 10), "alpha=1.0"),
        (lambda: powerlaw_spectrum(1.5, 0.9, 10), "beta=0.9"),
        (lambda: powerlaw_spectrum(1.5, 1.5, 0), "num_modes=0"),
        (lambda: powerlaw_spectrum(1.5, 1.5, 2.5), "num_modes=2.5"),
        (lambda: powerlaw_spectrum([1.5, 2.0], 1.5, 10), "alpha must be a scalar"),
        (lambda: PowerLawTail(0.5, 1.5, 10), "alpha=0.5"),
        (lambda: PowerLawTail(1.5, 1.0, 10), "beta=1.0"),
        (lambda: PowerLawTail(1.5, 1.5, -3), "num_modes=-3"),
        (lambda: PowerLawTail(1.5, 1.5, 10, n_terms=0), "n_terms=0"),
        (lambda: PowerLawTail(1.5, 1.5, 10).sums(-1.0), "gamma=-1.0"),
        (lambda: PowerLawTail(1.5, 1.5, 10).sums(np.nan), "gamma"),
        (lambda: PowerLawTail(1.5, 1.5, 10).bias(1.0, np.nan), "d"),
        (lambda: continuum_integrals(1.5, 4.0), "beta=4.0 with alpha=1.5"),
        (lambda: continuum_integrals(np.nan, 1.2), "alpha"),
        (lambda: powerlaw_constant(1.0, 1.2), "alpha=1.0"),
        (lambda: powerlaw_constant(1.5, [1.2, 1.0]), "beta=1.0"),
        (
            lambda: powerlaw_test_risk(1.0, alpha=1.5, beta=1.2, n=10, noise_rel=0),
            "R=1.0",
        ),
        (
            lambda: powerlaw_test_risk(-0.1, alpha=1.5, beta=1.2, n=10, noise_rel=0),
            "R=-0.1",
        ),
        (
            lambda: powerlaw_test_risk(0.1, alpha=1.5, beta=1.2, n=0.5, noise_rel=0),
            "n=0.5",
        ),
        (
            lambda: powerlaw_test_risk(0.1, alpha=1.5, beta=1.2, n=10, noise_rel=-1),
            "noise_rel=-1",
        ),
        (lambda: optimal_fitting_ratio(1.5, 4.5, 0.0), "beta=4.5 with alpha=1.5"),
        (lambda: optimal_fitting_ratio(1.5, 1.2, np.inf), "noise_rel=inf"),
        (lambda: zero_ridge_optimal(0.9, 1.2, 0.0), "alpha=0.9"),
    ],
)
def test_invalid_input_raises_naming_the_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()
