r"""Tests of :mod:`theory.selu_moments` (arXiv:1706.02515; derivations and reference
values in ``docs/derivations/selu_moments.md``, "§" below).

Three groups:

(a) exact values with provenance: the constants from a sympy derivation to 50
    digits (§2, §12.2), the fixed-point Jacobian (§12.4), the theorem extremes
    (§12.5, §12.6), the alpha-dropout table (§12.7), the general fixed-point test
    vectors (§12.8) and the table of the map at omega = 0 (§12.3);
(b) hypothesis properties over the theorems' domains, each with ``@example`` at the
    paper's parameters: closed form = quadrature = the plain erfc form (§12.1) =
    finite differences = torch autograd, symmetries, contraction and attraction;
(c) input validation.

Provenance tags (§12): [SNB] values printed by the authors' notebook, [REPO] the
authors' code, [DER] our own computation, recorded in §12.
Every reference computation below (sympy, mpmath, scipy quad, the plain erfc form,
torch autograd) is independent of the code under test.

Tolerances (module constants below) belong in ``tests/_tolerances.py``; they are kept
here because that file is owned elsewhere.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import sympy as sp
import torch
import xarray as xr
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import erf
from scipy.special import erfc

from tests._tolerances import F64_RTOL
from tests._tolerances import SELU_FD_ATOL as FD_ATOL
from tests._tolerances import SELU_MPMATH_RTOL as MPMATH_RTOL
from tests._tolerances import SELU_PARAMS_ATOL
from tests._tolerances import SELU_PLAIN_RTOL as PLAIN_RTOL
from tests._tolerances import SELU_QUAD_RTOL as QUAD_RTOL
from tests._tolerances import SELU_THEOREM1_ATOL as THEOREM1_ATOL
from tests._tolerances import SELU_THEOREM2_ATOL as THEOREM2_ATOL
from tests._tolerances import SELU_THEOREM3_ATOL as THEOREM3_ATOL
from theory._solve import FixedPointError
from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import OMEGA
from theory.selu_moments import OMEGA_MINUS_A
from theory.selu_moments import OMEGA_MINUS_B
from theory.selu_moments import OMEGA_PLUS
from theory.selu_moments import alpha_dropout_affine
from theory.selu_moments import alpha_dropout_moments
from theory.selu_moments import fixed_point
from theory.selu_moments import iterate_map
from theory.selu_moments import moment_jacobian
from theory.selu_moments import moment_map
from theory.selu_moments import population_moment_map
from theory.selu_moments import relu_moment_map
from theory.selu_moments import selu
from theory.selu_moments import selu_parameters
from theory.selu_moments import tanh_moment_map
from theory.selu_moments import theorem1_extremes
from theory.selu_moments import theorem2_extreme
from theory.selu_moments import theorem3_extremes

SELU_DIGITS = 30  # §12.2: at least 30 correct digits of alpha01, lambda01
ALPHA_LITERAL = "1.6732632423543772848170429916717"  # [REPO] selu.py
LAMBDA_LITERAL = "1.0507009873554804934193349852946"  # [REPO] selu.py


# ======================================================================================
# Independent references
# ======================================================================================


def plain_moment_map(mu, nu, omega, tau, alpha=ALPHA_01, lam=LAMBDA_01):
    """§12.1 verbatim: the erfc closed form with nu~ = xi~ - mu~^2 (no erfcx)."""
    m, v = mu * omega, nu * tau
    s = np.sqrt(2 * v)
    mean = (lam / 2) * (
        alpha * np.exp(m + v / 2) * erfc((m + v) / s)
        - alpha * erfc(m / s)
        + m * (1 + erf(m / s))
        + np.sqrt(2 / np.pi) * np.sqrt(v) * np.exp(-(m**2) / (2 * v))
    )
    xi = (lam**2 / 2) * (
        (m**2 + v) * (1 + erf(m / s))
        + alpha**2
        * (
            -2 * np.exp(m + v / 2) * erfc((m + v) / s)
            + np.exp(2 * (m + v)) * erfc((m + 2 * v) / s)
            + erfc(m / s)
        )
        + np.sqrt(2 / np.pi) * m * np.sqrt(v) * np.exp(-(m**2) / (2 * v))
    )
    return mean, xi - mean**2


def quad_moments(m, v, f=None):
    """(E f(z), Var f(z)) for z ~ N(m, v) by scipy quad, split at the kink 0."""
    f = f or (lambda z: selu(z))
    sd = math.sqrt(v)

    def integral(k):
        def g(z):
            return float(f(z)) ** k * math.exp(-((z - m) ** 2) / (2 * v))

        lo, hi = m - 40 * sd, m + 40 * sd
        pts = [lo, hi] if not lo < 0 < hi else [lo, 0.0, hi]
        total = sum(
            quad(g, a, b, epsabs=0, epsrel=1e-13, limit=500)[0]
            for a, b in itertools.pairwise(pts)
        )
        return total / math.sqrt(2 * math.pi * v)

    e1, e2 = integral(1), integral(2)
    return e1, e2 - e1**2


def mp_moments(m, v, alpha=ALPHA_01, lam=LAMBDA_01, dps=50):
    """(E selu(z), Var selu(z)) at ``dps`` digits by mpmath quadrature."""
    with mpmath.workdps(dps):
        m, v = mpmath.mpf(m), mpmath.mpf(v)
        a, lm = mpmath.mpf(alpha), mpmath.mpf(lam)
        sd = mpmath.sqrt(v)

        def density(z):
            return mpmath.exp(-((z - m) ** 2) / (2 * v)) / mpmath.sqrt(
                2 * mpmath.pi * v
            )

        def f(z):
            return lm * z if z > 0 else lm * a * (mpmath.exp(z) - 1)

        pts = sorted({m - 40 * sd, m + 40 * sd, *([0] if abs(m) < 40 * sd else [])})
        e1 = mpmath.quad(lambda z: f(z) * density(z), pts)
        c = e1
        var = mpmath.quad(lambda z: (f(z) - c) ** 2 * density(z), pts)
        return float(e1), float(var)


def torch_moment_map(mu, nu, omega, tau, alpha=ALPHA_01, lam=LAMBDA_01):
    """§3 in torch float64 (Φ form), for autograd."""
    m, v = mu * omega, nu * tau
    sv = torch.sqrt(v)
    a = m / sv
    normal = torch.distributions.Normal(
        torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
    )
    cdf, cdf_c = normal.cdf(a), normal.cdf(-a)
    pdf = torch.exp(-(a**2) / 2) / math.sqrt(2 * math.pi)
    e1 = torch.exp(m + v / 2) * normal.cdf(-(m + v) / sv)
    e2 = torch.exp(2 * m + 2 * v) * normal.cdf(-(m + 2 * v) / sv)
    mean = lam * (m * cdf + sv * pdf + alpha * (e1 - cdf_c))
    xi = lam**2 * ((m**2 + v) * cdf + m * sv * pdf + alpha**2 * (e2 - 2 * e1 + cdf_c))
    return mean, xi - mean**2


def fd_jacobian(mu, nu, omega, tau, h=1e-6):
    def g(mu_, nu_):
        out = moment_map(mu_, nu_, omega=omega, tau=tau)
        return np.array([out.mu_tilde, out.nu_tilde])

    d_mu = (g(mu + h, nu) - g(mu - h, nu)) / (2 * h)
    d_nu = (g(mu, nu + h) - g(mu, nu - h)) / (2 * h)
    return np.array([[d_mu[0], d_nu[0]], [d_mu[1], d_nu[1]]])


# --- strategies ----------------------------------------------------------------------


def interval(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def in_domain(domain):
    return st.tuples(*(interval(lo, hi) for lo, hi in domain))


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
        # The §12.2 erfc closed forms are the same numbers (to 50 digits).
        e, pi = mpmath.e, mpmath.pi
        c = mpmath.erfc(1 / mpmath.sqrt(2))
        a_closed = mpmath.sqrt(2 / pi) / (1 - mpmath.sqrt(e) * c)
        lam_closed = (1 - mpmath.sqrt(e) * c) * mpmath.sqrt(
            2
            * pi
            / (
                2
                + pi
                - 2 * mpmath.sqrt(e) * (2 + pi) * c
                + e * pi * c**2
                + 2 * e**2 * mpmath.erfc(mpmath.sqrt(2))
            )
        )
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


def test_reference_table_spec_section3():
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


def test_theorem1_on_xarray_grid():
    """§12.5: 11⁴ grid of Ω in a DataArray; contraction and invariance."""
    axes = {name: np.linspace(lo, hi, 11) for name, (lo, hi) in OMEGA._asdict().items()}
    grid = xr.Dataset(coords=axes)
    mu, omega, nu, tau = xr.broadcast(grid.mu, grid.omega, grid.nu, grid.tau)
    dims = mu.dims
    norm = xr.DataArray(
        moment_jacobian(
            mu.values, nu.values, omega=omega.values, tau=tau.values
        ).spectral_norm,
        coords=mu.coords,
        dims=dims,
    )
    out = moment_map(mu.values, nu.values, omega=omega.values, tau=tau.values)
    assert float(norm.max()) < 1
    at = norm.argmax(...)
    corner = {d: float(norm[d][at[d]]) for d in dims}
    assert corner == {"mu": -0.1, "omega": -0.1, "nu": 0.8, "tau": 1.1}
    assert abs(float(norm.max()) - 0.8976084) <= THEOREM1_ATOL
    # Invariance: the image lies in the §12.5 range, inside the (mu, nu) box.
    assert -0.0310606 <= out.mu_tilde.min() and out.mu_tilde.max() <= 0.0677252
    assert 0.803711 <= out.nu_tilde.min() and out.nu_tilde.max() <= 1.481576
    assert OMEGA.mu[0] < out.mu_tilde.min() and out.mu_tilde.max() < OMEGA.mu[1]
    assert OMEGA.nu[0] < out.nu_tilde.min() and out.nu_tilde.max() < OMEGA.nu[1]


def test_theorem1_extremes_function():
    """[SNB]/[DER] §12.5 table, from theorem1_extremes on the 21x21x36x16 grid."""
    ext = theorem1_extremes()
    assert abs(ext.spectral_norm_max.value - 0.8976083583) < 1e-9
    assert ext.spectral_norm_max[1:] == (-0.1, -0.1, 0.8, 1.1)
    expected = {
        "mu_tilde_min": (-0.0310605018, -0.01, 0.8, 0.95),  # value, mu*omega, nu, tau
        "mu_tilde_max": (0.0677251017, 0.01, 1.5, 1.1),
        "nu_tilde_min": (0.8037117577, -0.01, 0.8, 0.95),
        "nu_tilde_max": (1.4815749583, 0.01, 1.5, 1.1),
    }
    for name, (value, m, nu, tau) in expected.items():
        got = getattr(ext, name)
        assert abs(got.value - value) < 1e-10, name
        # The map depends on (mu, omega) only through mu*omega (§5).
        assert math.isclose(got.mu * got.omega, m, abs_tol=1e-15), name
        assert (got.nu, got.tau) == (nu, tau), name


def test_theorem2_extreme():
    """[SNB] max(ν̃ − ν) over Ω⁺ = −0.119744 at (−1, −0.1, 3, 1.25) (§12.6)."""
    ext = theorem2_extreme()
    assert ext.value < 0
    assert abs(ext.value - (-0.11974)) <= THEOREM2_ATOL
    assert abs(ext.value - (-0.1197442900)) < 1e-10  # [DER] grid value
    assert math.isclose(ext.mu * ext.omega, 0.1) and (ext.nu, ext.tau) == (3.0, 1.25)


def test_theorem3_extremes():
    """[SNB] min(ν̃ − ν): 0.0077361 on Ω⁻(a), 0.0110293 on Ω⁻(b) (§12.6)."""
    ext = theorem3_extremes()
    assert ext.a.value > 0 and ext.b.value > 0
    assert abs(ext.a.value - 0.0077361) <= THEOREM3_ATOL
    assert abs(ext.b.value - 0.0110293) <= THEOREM3_ATOL
    assert (ext.a.nu, ext.a.tau) == (0.02, 0.8)
    assert (ext.b.nu, ext.b.tau) == (0.02, 0.9)
    assert math.isclose(ext.a.mu * ext.a.omega, 0.01)


def test_fixed_point_range_over_omega_tau():
    """[DER] §12.5: fixed points over 21x16 (ω, τ) lie in the stated box."""
    omega, tau = np.meshgrid(
        np.linspace(*OMEGA.omega, 21), np.linspace(*OMEGA.tau, 16), indexing="ij"
    )
    fp = fixed_point(omega=omega, tau=tau)
    assert np.all(fp.residual < 1e-13)
    assert abs(fp.mu.min() - (-0.02087)) < 5e-6 and abs(fp.mu.max() - 0.05471) < 5e-6
    assert abs(fp.nu.min() - 0.82647) < 5e-6 and abs(fp.nu.max() - 1.41029) < 5e-6
    # The fixed point depends on omega: it is (0, 1) only at omega = 0, tau = 1.
    fp0 = fixed_point(omega=0.0, tau=1.0, mu0=0.05, nu0=1.3)
    assert abs(float(fp0.mu)) < 1e-13 and abs(float(fp0.nu) - 1) < 1e-13


def test_sample_trajectory():
    """[DER] §12.5: ω = 0.1, τ = 1.1 from (0.1, 1.5)."""
    traj = iterate_map(0.1, 1.5, steps=2, omega=0.1, tau=1.1)
    np.testing.assert_allclose(traj.mu_tilde[1:], [0.06773, 0.06293], atol=5e-6)
    np.testing.assert_allclose(traj.nu_tilde[1:], [1.48157, 1.46592], atol=5e-6)


def test_alpha_dropout_table():
    """[DER] §12.7 table of (a, b) for keep rates 0.95, 0.9, 0.8."""
    d = alpha_dropout_affine(np.array([0.95, 0.9, 0.8]))
    np.testing.assert_allclose(
        d.a, [0.9548444760, 0.9212845161, 0.8789035834], atol=1e-10
    )
    np.testing.assert_allclose(
        d.b, [0.0839355722, 0.1619709701, 0.3090399621], atol=1e-10
    )
    assert d.alpha_prime == pytest.approx(-1.7580993408473768, rel=1e-15)


def test_general_fixed_point_vectors():
    """[REPO getSELUparameters] §12.8 test vectors."""
    p = selu_parameters(np.array([-0.1, 0.0]), np.array([2.0, 1.0]))
    assert abs(p.alpha[0] - 1.9769021954242014) < SELU_PARAMS_ATOL
    assert abs(p.lam[0] - 1.073851239616046) < SELU_PARAMS_ATOL
    assert abs(p.alpha[1] - ALPHA_01) < SELU_PARAMS_ATOL
    assert abs(p.lam[1] - LAMBDA_01) < SELU_PARAMS_ATOL
    assert np.all(p.residual < 1e-14)
    # (0, 1) does not depend on omega (m = 0).
    q = selu_parameters(0.0, 1.0, omega=0.0, tau=1.0)
    assert abs(float(q.alpha) - ALPHA_01) < SELU_PARAMS_ATOL


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


@given(mu=interval(-1, 1))
@example(mu=0.0)
@example(mu=0.1)
def test_fixed_point_for_any_mu(mu):
    """§2, §12.10: ω = 0 removes μ, so g(μ, 1) = (0, 1) at ω = 0, τ = 1."""
    out = moment_map(mu, 1.0, omega=0.0, tau=1.0)
    assert abs(out.mu_tilde) < 1e-14
    assert abs(out.nu_tilde - 1) < 1e-13


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
    [(10, 0.01), (5, 1), (-10, 0.01), (-5, 1), (-3, 0.1), (0.1, 1e-4), (2, 50)],
)
def test_closed_form_against_mpmath_where_plain_form_cancels(m, v):
    """50-digit quadrature at |m| >> √v, where ξ̃ − μ̃² would lose digits."""
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


@given(point=in_domain(OMEGA))
@example(point=(-0.1, -0.1, 0.8, 1.1))
@example(point=(0.0, 0.0, 1.0, 1.0))
def test_interior_of_omega_contracts(point):
    """§12.5: any point of Ω has spectral norm <= the grid maximum + 1e-9."""
    mu, omega, nu, tau = point
    norm = moment_jacobian(mu, nu, omega=omega, tau=tau).spectral_norm
    assert norm <= 0.8976083584089182 + 1e-9


@given(point=in_domain(OMEGA))
@example(point=(0.1, 0.1, 1.5, 1.1))
@example(point=(-0.1, -0.1, 0.8, 0.95))
def test_attraction_in_omega(point):
    """§12.5: from any start in Ω the iterates contract by <= 0.8977 per step."""
    mu0, omega, nu0, tau = point
    traj = iterate_map(mu0, nu0, steps=200, omega=omega, tau=tau)
    x = np.stack([traj.mu_tilde, traj.nu_tilde], axis=-1)
    steps = np.linalg.norm(np.diff(x, axis=0), axis=-1)
    live = steps[:-1] > 1e-12  # ratios below this are rounding
    assert np.all(steps[1:][live] <= 0.8977 * steps[:-1][live])
    mu_inf, nu_inf = x[-1]
    assert -0.0209 <= mu_inf <= 0.0548 and 0.8264 <= nu_inf <= 1.4104
    fp = fixed_point(omega=omega, tau=tau)
    assert abs(mu_inf - fp.mu) < 1e-12 and abs(nu_inf - fp.nu) < 1e-12
    # Stability: the Jacobian at the fixed point is a contraction too.
    assert moment_jacobian(fp.mu, fp.nu, omega=omega, tau=tau).spectral_norm < 0.8977


@given(point=in_domain(OMEGA_PLUS))
@example(point=(-1.0, -0.1, 3.0, 1.25))
@example(point=(1.0, 0.1, 16.0, 1.25))
def test_theorem2_variance_decreases(point):
    """§12.6, Theorem 2: ν̃ − ν <= the grid maximum −0.11974 everywhere on Ω⁺."""
    mu, omega, nu, tau = point
    out = moment_map(mu, nu, omega=omega, tau=tau)
    assert out.nu_tilde - nu <= -0.1197442900 + 1e-9


@given(point=st.one_of(in_domain(OMEGA_MINUS_A), in_domain(OMEGA_MINUS_B)))
@example(point=(-0.1, -0.1, 0.02, 0.8))
@example(point=(0.1, 0.1, 0.24, 0.9))
def test_theorem3_variance_increases(point):
    """§12.6, Theorem 3: ν̃ − ν > 0 on both parts of Ω⁻ (>= the smaller grid minimum)."""
    mu, omega, nu, tau = point
    out = moment_map(mu, nu, omega=omega, tau=tau)
    assert out.nu_tilde - nu >= 0.0077360832 - 1e-9


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


@given(q=st.floats(1e-3, 1.0, exclude_min=False))
@example(q=0.95)
@example(q=0.9)
@example(q=1.0)
def test_alpha_dropout_keeps_fixed_point_exactly(q):
    """§9: (0, 1) -> (0, 1) for any q; composed with the SELU map too."""
    out = alpha_dropout_moments(0.0, 1.0, q=q)
    assert abs(out.mu_tilde) < 1e-13 and abs(out.nu_tilde - 1) < 1e-13
    after = moment_map(out.mu_tilde, out.nu_tilde, omega=0.0, tau=1.0)
    assert abs(after.mu_tilde) < 1e-13 and abs(after.nu_tilde - 1) < 1e-12


@given(q=st.floats(0.05, 1.0), mu_f=interval(-1, 1), nu_f=interval(0.1, 5))
@example(q=0.9, mu_f=-0.1, nu_f=2.0)
def test_alpha_dropout_general_fixed_point(q, mu_f, nu_f):
    """§9: the general (a, b) map (μ_f, ν_f) to itself."""
    out = alpha_dropout_moments(mu_f, nu_f, q=q, mu_f=mu_f, nu_f=nu_f)
    assert abs(out.mu_tilde - mu_f) < 1e-12
    assert abs(out.nu_tilde - nu_f) < 1e-12 * nu_f


@given(mu_f=interval(-0.2, 0.2), nu_f=interval(0.5, 3))
@example(mu_f=-0.1, nu_f=2.0)
@example(mu_f=0.0, nu_f=1.0)
def test_selu_parameters_make_a_fixed_point(mu_f, nu_f):
    """§10, §12.8: the solved (α, λ) map (μ_f, ν_f) to itself (ω = τ = 1)."""
    p = selu_parameters(mu_f, nu_f)
    out = moment_map(mu_f, nu_f, omega=1.0, tau=1.0, alpha=p.alpha, lam=p.lam)
    assert abs(out.mu_tilde - mu_f) < 1e-12
    assert abs(out.nu_tilde - nu_f) < 1e-12 * nu_f
    assert p.lam > 0


# ======================================================================================
# (c) Validation
# ======================================================================================


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: moment_map(0.0, 0.0), "nu"),
        (lambda: moment_map(0.0, -1.0), "nu"),
        (lambda: moment_map(0.0, 1.0, tau=0.0), "tau"),
        (lambda: moment_map(np.nan, 1.0), "mu"),
        (lambda: moment_map(0.0, np.inf), "nu"),
        (lambda: moment_map(0.0, 1.0, omega=np.inf), "omega"),
        (lambda: moment_map(0.0, 1.0, lam=0.0), "lam"),
        (lambda: moment_jacobian(0.0, 1.0, tau=-1.0), "tau"),
        (lambda: alpha_dropout_affine(0.0), "q"),
        (lambda: alpha_dropout_affine(1.5), "q"),
        (lambda: alpha_dropout_affine(np.nan), "q"),
        (lambda: alpha_dropout_moments(0.0, 1.0, q=-0.1), "q"),
        (lambda: selu_parameters(0.0, 0.0), "nu_f"),
        (lambda: fixed_point(tau=0.0), "tau"),
        (lambda: iterate_map(0.0, 1.0, steps=-1), "steps"),
        (lambda: tanh_moment_map(0.0, -1.0), "nu"),
        (lambda: population_moment_map(0.0, 1.0, activation="gelu"), "activation"),
        (lambda: theorem1_extremes(points=(1, 3, 3, 3)), "points"),
    ],
)
def test_bad_input_raises_value_error_naming_it(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_fixed_point_reports_non_convergence():
    with pytest.raises(FixedPointError, match="no fixed point"):
        fixed_point(omega=0.0, tau=1.0, mu0=0.0, nu0=5.0, maxiter=3)


def test_unattainable_general_fixed_point_is_a_value_error():
    """At ω = 0 the mean/sd ratio of selu(N(0, v)) is at most the ReLU's 0.683."""
    with pytest.raises(ValueError, match="no alpha"):
        selu_parameters(1.0, 1.0, omega=0.0)


def test_broadcasting_and_dtype():
    out = moment_map(
        np.zeros((3, 1)), np.ones((1, 4)), omega=np.zeros(4), tau=np.float32(1.0)
    )
    assert out.mu_tilde.shape == (3, 4) and out.nu_tilde.dtype == np.float64
    jac = moment_jacobian(np.zeros(5), 1.0)
    assert jac.matrix.shape == (5, 2, 2)
    traj = iterate_map(np.zeros(2), 1.0, steps=3)
    assert traj.mu_tilde.shape == (4, 2)
