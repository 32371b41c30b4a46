r"""Tests of the moment maps of :mod:`theory.selu_moments` (arXiv:1706.02515;
derivations and reference values in ``docs/derivations/selu_moments.md``, "§" below):
the SELU map, its Jacobian, their closed forms and the ReLU/tanh/population maps.
The fixed points, theorems, alpha-dropout and input validation are in
``test_selu_fixed_point.py``.

Two groups:

(a) exact values with provenance: the constants from a sympy derivation to 50
    digits (§2, §12.2), the fixed-point Jacobian (§12.4) and the table of the map
    at omega = 0 (§12.3);
(b) hypothesis properties, each with ``@example`` at the paper's parameters:
    closed form = quadrature = the plain erfc form (§12.1) = finite differences =
    torch autograd, and symmetries.

Provenance tags (§12): [SNB] values printed by the authors' notebook, [REPO] the
authors' code, [DER] our own computation, recorded in §12.
Every reference computation (sympy here; mpmath, scipy quad, the plain erfc form and
torch autograd in ``tests/theory/_selu_helpers.py``) is independent of the code under
test.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import erfc

from tests._tolerances import F64_RTOL
from tests._tolerances import SELU_FD_ATOL as FD_ATOL
from tests._tolerances import SELU_JAC_MPMATH_RTOL
from tests._tolerances import SELU_MPMATH_RTOL as MPMATH_RTOL
from tests._tolerances import SELU_PLAIN_RTOL as PLAIN_RTOL
from tests._tolerances import SELU_QUAD_RTOL as QUAD_RTOL
from tests.theory._selu_helpers import fd_jacobian
from tests.theory._selu_helpers import interval
from tests.theory._selu_helpers import mp_jacobian
from tests.theory._selu_helpers import mp_moments
from tests.theory._selu_helpers import plain_moment_map
from tests.theory._selu_helpers import quad_moments
from tests.theory._selu_helpers import torch_moment_map
from theory._selu_gauss import constants_01_mp
from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import moment_jacobian
from theory.selu_moments import moment_map
from theory.selu_moments import population_moment_map
from theory.selu_moments import relu_moment_map
from theory.selu_moments import tanh_moment_map

SELU_DIGITS = 30  # §12.2: at least 30 correct digits of alpha01, lambda01
ALPHA_LITERAL = "1.6732632423543772848170429916717"  # [REPO] selu.py
LAMBDA_LITERAL = "1.0507009873554804934193349852946"  # [REPO] selu.py


# ======================================================================================
# (a) Exact values with provenance
# ======================================================================================


def _sympy_constants():
    """§2 from first principles: E selu(Z) = 0, E selu(Z)^2 = 1, Z ~ N(0, 1)."""
    z = sp.symbols("z", real=True)
    alpha = sp.symbols("alpha", positive=True)
    phi = sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)
    pos1 = sp.integrate(z * phi, (z, 0, sp.oo))
    neg1 = sp.integrate((sp.exp(z) - 1) * phi, (z, -sp.oo, 0))
    pos2 = sp.integrate(z**2 * phi, (z, 0, sp.oo))
    neg2 = sp.integrate((sp.exp(z) - 1) ** 2 * phi, (z, -sp.oo, 0))
    (alpha01,) = sp.solve(sp.Eq(pos1 + alpha * neg1, 0), alpha)  # lambda cancels
    lambda01 = 1 / sp.sqrt(pos2 + alpha01**2 * neg2)
    return alpha01, lambda01


def test_constants_sympy_derivation_30_digits():
    """[REPO] literals: the sympy derivation reproduces >= 30 digits (§12.2)."""
    alpha01, lambda01 = _sympy_constants()
    with mpmath.workdps(60):
        a = mpmath.mpf(str(sp.N(alpha01, 55)))
        lam = mpmath.mpf(str(sp.N(lambda01, 55)))
        tol = mpmath.mpf(10) ** -SELU_DIGITS
        assert abs(a - mpmath.mpf(ALPHA_LITERAL)) < tol
        assert abs(lam - mpmath.mpf(LAMBDA_LITERAL)) < tol
        # The §12.2 erfc closed forms of the package are the same numbers (to 50
        # digits).
        a_closed, lam_closed = constants_01_mp()
        assert abs(a_closed - a) < mpmath.mpf(10) ** -50
        assert abs(lam_closed - lam) < mpmath.mpf(10) ** -50
        # The package constants are the correctly rounded doubles of these.
        assert ALPHA_01 == float(a)
        assert LAMBDA_01 == float(lam)
        # [DER] table: lambda01 * alpha01 = 1.75809934084737685994...
        assert (
            abs(a * lam - mpmath.mpf("1.7580993408473768599402175208122795773")) < tol
        )


def test_constants_define_the_fixed_point_by_quadrature():
    """50-digit quadrature with the 50-digit constants: E selu = 0, E selu² = 1."""
    alpha01, lambda01 = _sympy_constants()
    with mpmath.workdps(50):
        a = mpmath.mpf(str(sp.N(alpha01, 50)))
        lam = mpmath.mpf(str(sp.N(lambda01, 50)))

        def phi(z):
            return mpmath.exp(-(z**2) / 2) / mpmath.sqrt(2 * mpmath.pi)

        def f(z):
            return lam * z if z > 0 else lam * a * (mpmath.exp(z) - 1)

        mean = mpmath.quad(lambda z: f(z) * phi(z), [-mpmath.inf, 0, mpmath.inf])
        second = mpmath.quad(lambda z: f(z) ** 2 * phi(z), [-mpmath.inf, 0, mpmath.inf])
        assert abs(mean) < mpmath.mpf(10) ** -40
        assert abs(second - 1) < mpmath.mpf(10) ** -40


def test_plain_float64_closed_forms_are_within_1e15():
    """§12.2: the closed forms in plain float64 agree to <= 1e-15."""
    c = erfc(1 / math.sqrt(2))
    alpha = math.sqrt(2 / math.pi) / (1 - math.sqrt(math.e) * c)
    lam = (1 - math.sqrt(math.e) * c) * math.sqrt(
        2
        * math.pi
        / (
            2
            + math.pi
            - 2 * math.sqrt(math.e) * (2 + math.pi) * c
            + math.e * math.pi * c**2
            + 2 * math.e**2 * erfc(math.sqrt(2))
        )
    )
    assert abs(alpha - ALPHA_01) <= 1e-15 * ALPHA_01
    assert abs(lam - LAMBDA_01) <= 1e-15 * LAMBDA_01


def test_reference_table_section3():
    """[DER] §12.3 table of (ν̃, μ̃) at ω = 0, τ = 1 (6 decimals printed)."""
    nu = np.array([0.02, 0.16, 0.24, 0.5, 1, 2, 3, 16, 100])
    nu_t = [0.034923, 0.224981, 0.316723, 0.577500, 1, 1.714478, 2.349062]
    nu_t += [9.016897, 45.12278]
    mu_t = [-0.031740, -0.055124, -0.055033, -0.041430, 0, 0.089612, 0.175004]
    mu_t += [0.963610, 3.382098]
    out = moment_map(0.0, nu, omega=0.0, tau=1.0)
    np.testing.assert_allclose(out.nu_tilde, nu_t, atol=5e-7 * 10)
    np.testing.assert_allclose(out.mu_tilde, mu_t, atol=5e-7)
    assert out.mu_tilde.dtype == np.float64


def test_stable_form_at_large_variance():
    """§3, §12.3: finite at ν = 2000 (μ̃ = 17.88) where the plain form is NaN."""
    out = moment_map(0.0, 2000.0)
    assert round(float(out.mu_tilde), 2) == 17.88
    with np.errstate(all="ignore"):
        plain_mean, _ = plain_moment_map(0.0, 2000.0, 0.0, 1.0)
    assert not np.isfinite(plain_mean)
    big = moment_map(np.array([-3.0, 0.0, 3.0]), 1e4, omega=1.0, tau=1.0)
    assert np.all(np.isfinite(big.mu_tilde)) and np.all(np.isfinite(big.nu_tilde))
    huge = moment_map(0.0, 1e300)
    assert np.isfinite(huge.mu_tilde) and np.isfinite(huge.nu_tilde)


def test_jacobian_at_normalized_fixed_point():
    """[SNB Out 25-31, DER] J(0,0,1,1): exact closed forms at 30 digits (§4, §12.4)."""
    with mpmath.workdps(30):
        a, lam = mpmath.mpf(ALPHA_01), mpmath.mpf(LAMBDA_01)
        ncdf = mpmath.ncdf
        h12 = (lam / 2) * (
            a * mpmath.sqrt(mpmath.e) * ncdf(-1) + (1 - a) / mpmath.sqrt(2 * mpmath.pi)
        )
        h22 = lam**2 * (
            mpmath.mpf(1) / 2
            + a**2 * (2 * mpmath.e**2 * ncdf(-2) - mpmath.sqrt(mpmath.e) * ncdf(-1))
        )
        norm = mpmath.sqrt(h12**2 + h22**2)  # upper triangular, first column zero
    jac = moment_jacobian(0.0, 1.0, omega=0.0, tau=1.0)
    assert jac.dmu_dmu == 0 and jac.dnu_dmu == 0
    assert abs(float(jac.dmu_dnu) - float(h12)) < 1e-15
    assert abs(float(jac.dnu_dnu) - float(h22)) < 1e-15
    assert abs(float(jac.spectral_norm) - float(norm)) < 1e-15
    # §12.4 printed values [DER].
    assert abs(float(jac.dmu_dnu) - 0.088834755106890123) < 1e-15
    assert abs(float(jac.dnu_dnu) - 0.78264788319681284) < 1e-15
    assert abs(float(jac.spectral_norm) - 0.78767336046571560) < 1e-9


def test_relu_and_tanh_exact_values():
    """ReLU at (0,1): (1/√(2π), 1/2 − 1/(2π)); tanh mean 0 by symmetry."""
    out = relu_moment_map(0.0, 1.0)
    assert abs(out.mu_tilde - 1 / math.sqrt(2 * math.pi)) < 1e-16
    assert abs(out.nu_tilde - (0.5 - 0.5 / math.pi)) < 1e-16
    t = tanh_moment_map(0.0, np.array([0.01, 1.0, 100.0]))
    assert np.all(np.abs(t.mu_tilde) < 1e-16)


@pytest.mark.parametrize(
    ("m", "v"),
    [(0.0, 1.0), (0.3, 0.01), (0.5, 4.0), (1.0, 25.0), (-2.0, 100.0), (0.0, 1e4)],
)
def test_tanh_map_against_mpmath(m, v):
    """Trapezoid rule vs 30-digit mpmath quadrature (absolute 1e-14)."""
    with mpmath.workdps(30):
        sd = mpmath.sqrt(v)

        def f(z, k):
            return mpmath.tanh(z) ** k * mpmath.exp(-((z - m) ** 2) / (2 * v))

        pts = sorted({m - 14 * sd, m + 14 * sd, m, 0, -3, 3})
        norm = mpmath.sqrt(2 * mpmath.pi * v)
        e1 = mpmath.quad(lambda z: f(z, 1), pts) / norm
        e2 = mpmath.quad(lambda z: f(z, 2), pts) / norm
    out = tanh_moment_map(m, v, omega=1.0, tau=1.0)
    assert abs(float(out.mu_tilde) - float(e1)) < 1e-14
    assert abs(float(out.nu_tilde) - float(e2 - e1**2)) < 1e-14


def test_population_map_is_map_at_second_moment():
    """population_moment_map(μ, ν) = g(0, ν + μ²) at ω = 0, τ = 1; (0, 1) is fixed."""
    pop = population_moment_map(np.array([0.5, -0.3]), np.array([3.0, 0.2]))
    ref = moment_map(0.0, np.array([3.25, 0.29]))
    np.testing.assert_allclose(pop.mu_tilde, ref.mu_tilde, rtol=F64_RTOL)
    np.testing.assert_allclose(pop.nu_tilde, ref.nu_tilde, rtol=F64_RTOL)
    fixed = population_moment_map(0.0, 1.0)
    assert abs(fixed.mu_tilde) < 1e-15 and abs(fixed.nu_tilde - 1) < 1e-14
    relu = population_moment_map(0.0, 1.0, activation="relu")
    assert abs(relu.mu_tilde**2 + relu.nu_tilde - 0.5) < 1e-15  # q -> q/2
    tanh = population_moment_map(0.0, 0.5, activation="tanh")
    assert tanh.nu_tilde < 0.5  # tanh shrinks the variance


# ======================================================================================
# (b) Hypothesis properties
# ======================================================================================


@given(
    mu=interval(-3, 3),
    omega=interval(-1, 1),
    nu=st.floats(0.0125, 40.0),
    tau=interval(0.8, 1.25),
)
@example(mu=0.0, omega=0.0, nu=1.0, tau=1.0)
@example(mu=-0.1, omega=-0.1, nu=0.8, tau=1.1)
@example(mu=0.5, omega=0.1, nu=3.0, tau=1.05)
def test_closed_form_equals_quadrature_and_plain_form(mu, omega, nu, tau):
    """§3, §12.10: quad to rtol 1e-9; the plain erfc form (§12.1) where finite."""
    out = moment_map(mu, nu, omega=omega, tau=tau)
    m, v = mu * omega, nu * tau
    e1, var = quad_moments(m, v)
    assert abs(out.mu_tilde - e1) <= QUAD_RTOL * max(abs(e1), 1e-300) + 1e-15
    assert abs(out.nu_tilde - var) <= QUAD_RTOL * var
    plain_mean, plain_var = plain_moment_map(mu, nu, omega, tau)
    assert abs(out.mu_tilde - plain_mean) <= PLAIN_RTOL * max(abs(plain_mean), 1e-3)
    assert abs(out.nu_tilde - plain_var) <= PLAIN_RTOL * plain_var


@pytest.mark.parametrize(
    ("m", "v"),
    [
        (10, 0.01),
        (5, 1),
        (-10, 0.01),
        (-5, 1),
        (-3, 0.1),
        (0.1, 1e-4),
        (2, 50),
        (-1, 1e-12),
        (-3, 1e-8),
        (-1, 1e-6),
        (-38.2, 0.01),
    ],
)
def test_closed_form_against_mpmath_where_plain_form_cancels(m, v):
    """50-digit quadrature at |m| >> √v, where ξ̃ − μ̃² would lose digits. Far below
    the kink the map uses the lognormal forms (derivations §3); before, the centred
    form still lost digits at small v (4.2e-4 relative at m = -1, v = 1e-12)."""
    e1, var = mp_moments(m, v)
    out = moment_map(m, v, omega=1.0, tau=1.0)
    assert abs(out.mu_tilde - e1) <= MPMATH_RTOL * abs(e1)
    assert abs(out.nu_tilde - var) <= MPMATH_RTOL * var


@given(m=interval(-3, 3), log_v=interval(math.log(1e3), math.log(1e4)))
@example(m=0.0, log_v=math.log(1e4))
def test_finite_up_to_v_1e4(m, log_v):
    """§3, §12.10: finite (and ν̃ > 0) for v up to 1e4."""
    out = moment_map(m, math.exp(log_v), omega=1.0, tau=1.0)
    assert np.isfinite(out.mu_tilde) and np.isfinite(out.nu_tilde)
    assert out.nu_tilde > 0


@given(
    mu=interval(-1, 1),
    omega=interval(-1, 1),
    nu=interval(0.05, 5),
    tau=interval(0.8, 1.25),
)
@example(mu=0.0, omega=0.0, nu=1.0, tau=1.0)
@example(mu=-0.1, omega=-0.1, nu=0.8, tau=1.1)
def test_jacobian_matches_finite_differences_and_autograd(mu, omega, nu, tau):
    """§4, §12.10: closed form vs central differences (1e-8) and torch autograd."""
    jac = moment_jacobian(mu, nu, omega=omega, tau=tau)
    np.testing.assert_allclose(
        jac.matrix, fd_jacobian(mu, nu, omega, tau), atol=FD_ATOL
    )
    x = torch.tensor([mu, nu], dtype=torch.float64)
    auto = torch.autograd.functional.jacobian(
        lambda t: torch.stack(torch_moment_map(t[0], t[1], omega, tau)), x
    )
    np.testing.assert_allclose(jac.matrix, auto.numpy(), rtol=1e-9, atol=1e-12)
    sigma = np.linalg.svd(jac.matrix, compute_uv=False)[0]
    assert abs(jac.spectral_norm - sigma) <= 1e-14 * max(sigma, 1.0)


@given(
    mu=interval(-2, 2),
    omega=interval(-2, 2),
    nu=interval(0.05, 10),
    tau=interval(0.5, 2),
    c=interval(0.25, 4),
)
@example(mu=0.5, omega=0.1, nu=3.0, tau=1.05, c=2.0)
def test_symmetries(mu, omega, nu, tau, c):
    """Symmetry (§5): (μ, ω) and (ν, τ) enter only through μω and ντ; ν̃ >= 0."""
    ref = moment_map(mu, nu, omega=omega, tau=tau)
    swapped = moment_map(mu * c, nu / c, omega=omega / c, tau=tau * c)
    np.testing.assert_allclose(swapped, ref, rtol=1e-12, atol=1e-15)
    assert ref.nu_tilde >= 0


@given(m=interval(-5, 5), dm=interval(1e-3, 1), v=interval(0.01, 20))
@example(m=0.0, dm=0.1, v=1.0)
def test_mean_increases_in_m(m, dm, v):
    """Sanity: μ̃ is increasing in m (∂μ̃/∂m = λ[Φ + αE₁] > 0)."""
    lo = moment_map(m, v, omega=1.0, tau=1.0)
    hi = moment_map(m + dm, v, omega=1.0, tau=1.0)
    assert hi.mu_tilde > lo.mu_tilde
    assert moment_jacobian(m, v, omega=1.0, tau=1.0).dmu_dmu > 0


@given(mu=interval(-3, 3), nu=interval(0.01, 50))
@example(mu=0.0, nu=1.0)
@example(mu=-2.9999999999999996, nu=0.01)  # mu / sqrt(nu) = -30: deep tail
def test_selu_with_alpha0_lambda1_is_relu(mu, nu):
    """Sanity: λ = 1, α = 0 gives the ReLU moments (independent formula, in
    40-digit mpmath: in float64 its terms cancel to ~1e-10 at mu / sqrt(nu) = -30)."""
    out = moment_map(mu, nu, omega=1.0, tau=1.0, alpha=0.0, lam=1.0)
    with mpmath.workdps(40):
        m, sd = mpmath.mpf(mu), mpmath.sqrt(mpmath.mpf(nu))
        cdf, pdf = mpmath.ncdf(m / sd), mpmath.npdf(m / sd)
        mean = m * cdf + sd * pdf
        var = (m**2 + sd**2) * cdf + m * sd * pdf - mean**2
        mean, var = float(mean), float(var)
    assert abs(out.mu_tilde - mean) <= 1e-12 * mean
    assert abs(out.nu_tilde - var) <= 1e-12 * var
    relu = relu_moment_map(mu, nu, omega=1.0, tau=1.0)
    np.testing.assert_array_equal(relu, out)


@pytest.mark.parametrize(("m", "v"), [(6e307, 1.0), (1e200, 1e-300), (39.0, 1.0)])
def test_moment_map_far_above_the_kink_is_linear(m, v):
    """a = m/sqrt(v) > 38: P(z <= 0) < 1e-316, f = lam z, so (lam m, lam^2 v) to
    rounding. Any finite m is supported: 6e307 raised (2 alpha d overflowed and met
    e1 = 0) and so did m/sqrt(v) beyond float64."""
    out = moment_map(m, v, omega=1.0, tau=1.0)
    assert out.mu_tilde == pytest.approx(LAMBDA_01 * m, rel=F64_RTOL)
    assert out.nu_tilde == pytest.approx(LAMBDA_01**2 * v, rel=F64_RTOL)


@pytest.mark.parametrize("v", [1e-5, 1e-12, 1e-20])
@pytest.mark.parametrize("a", [0.0, 0.5, -0.5, 5.0, -5.0, 20.0, -20.0])
def test_moment_map_near_the_kink_at_small_variance(a, v):
    """m = a sqrt(v) near the kink with v <= 1e-4: the series of derivations §3 against
    50-digit quadrature. The centred closed form had no correct digit of the variance
    at m = 0, v = 1e-16."""
    m = a * math.sqrt(v)
    e1, var = mp_moments(m, v)
    out = moment_map(m, v, omega=1.0, tau=1.0)
    assert abs(out.mu_tilde - e1) <= MPMATH_RTOL * abs(e1)
    assert abs(out.nu_tilde - var) <= MPMATH_RTOL * var


@pytest.mark.parametrize(
    ("m", "v", "dps"),
    [
        (0.0, 1.0, 40),
        (-0.1, 0.8, 40),
        (5.0, 1.0, 50),  # J21 = -1.3e-6 against J22 ~ 1
        (10.0, 1.0, 60),  # J21 ~ -8.9e-23; the old form gave +3.6e-15
        (0.5, 1e-3, 110),  # a = 15.8: J21 ~ -9.7e-57
        (-20.0, 1.0, 60),  # far below the kink: lognormal forms
        (-100.0, 1.0, 160),  # J21 ~ 4.0e-86; the old form gave -8.0e-59
        (-3.0, 1e-8, 60),
        (0.0, 1e-16, 60),  # near the kink at small v: the series
        (2e-4, 1e-8, 60),
        (-2e-4, 1e-8, 60),
        (-0.03, 1.0001e-4, 60),  # just above the series' range (a = -3)
        (3.0, 100.0, 40),
    ],
)
def test_jacobian_against_score_function_quadrature(m, v, dps):
    """Every entry to a relative SELU_JAC_MPMATH_RTOL against quadrature of the
    score-function forms (no heat equation, no closed form). The variance row used to
    be d xi~ - 2 mu~ d mu~, which cancels where nu~ << xi~: J21 had the wrong sign at
    (10, 1) and J22 at (-100, 1) (derivations §4)."""
    ref = mp_jacobian(m, v, dps=dps)
    got = moment_jacobian(m, v, omega=1.0, tau=1.0).matrix.ravel()
    for entry, g, r in zip(("J11", "J12", "J21", "J22"), got, ref, strict=True):
        assert abs(g - r) <= SELU_JAC_MPMATH_RTOL * abs(r), (entry, g, r)
