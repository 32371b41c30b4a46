r"""Tests of the fixed points and theorems of :mod:`theory.selu_moments`
(arXiv:1706.02515; derivations and reference values in
``docs/derivations/selu_moments.md``, "§" below): the theorem extremes, fixed points
and trajectories, alpha-dropout and the general fixed-point parameters, and input
validation. The moment maps and their Jacobian are in ``test_selu_moments.py``.

Three groups:

(a) exact values with provenance: the theorem extremes (§12.5, §12.6), the
    alpha-dropout table (§12.7) and the general fixed-point test vectors (§12.8);
(b) hypothesis properties over the theorems' domains, each with ``@example`` at the
    paper's parameters: contraction and attraction, the variance theorems, the
    alpha-dropout and general fixed points;
(c) input validation.

Provenance tags (§12): [SNB] values printed by the authors' notebook, [REPO] the
authors' code, [DER] our own computation, recorded in §12.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import xarray as xr
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from tests._tolerances import SELU_MPMATH_RTOL
from tests._tolerances import SELU_PARAMS_ATOL
from tests._tolerances import SELU_THEOREM1_ATOL as THEOREM1_ATOL
from tests._tolerances import SELU_THEOREM2_ATOL as THEOREM2_ATOL
from tests._tolerances import SELU_THEOREM3_ATOL as THEOREM3_ATOL
from tests.theory._selu_helpers import in_domain
from tests.theory._selu_helpers import interval
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
from theory.selu_moments import selu_parameters
from theory.selu_moments import tanh_moment_map
from theory.selu_moments import theorem1_extremes
from theory.selu_moments import theorem2_extreme
from theory.selu_moments import theorem3_extremes

# ======================================================================================
# (a) Exact values with provenance
# ======================================================================================


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


def test_theorem1_extremes_match_one_whole_grid_argmax():
    """theorem1_extremes walks the grid 2^16 points at a time (so that its memory is
    bounded at any ``points``); on 21x21x12x16 = 84,672 points (two chunks) it finds
    what one argmax/argmin over the whole grid finds, ties (mu*omega is all that
    matters) going to the first point in C order."""
    points = (21, 21, 12, 16)
    axes = [np.linspace(lo, hi, p) for (lo, hi), p in zip(OMEGA, points, strict=True)]
    mu, omega, nu, tau = np.meshgrid(*axes, indexing="ij")
    out = moment_map(mu, nu, omega=omega, tau=tau)
    norm = moment_jacobian(mu, nu, omega=omega, tau=tau).spectral_norm
    ext = theorem1_extremes(points=points)
    cases = {
        "spectral_norm_max": (norm, np.argmax),
        "mu_tilde_min": (out.mu_tilde, np.argmin),
        "mu_tilde_max": (out.mu_tilde, np.argmax),
        "nu_tilde_min": (out.nu_tilde, np.argmin),
        "nu_tilde_max": (out.nu_tilde, np.argmax),
    }
    for name, (values, arg) in cases.items():
        at = np.unravel_index(arg(values), values.shape)
        got = getattr(ext, name)
        assert got[1:] == tuple(float(g[at]) for g in (mu, omega, nu, tau)), name
        assert math.isclose(got.value, float(values[at]), rel_tol=4e-16), name


def test_theorem2_extreme():
    """[SNB] max(ν̃ − ν) over Ω⁺ = −0.119744 at (−1, −0.1, 3, 1.25) (§12.6)."""
    ext = theorem2_extreme()
    assert ext.value < 0
    assert abs(ext.value - (-0.11974)) <= THEOREM2_ATOL
    assert abs(ext.value - (-0.1197442900)) < 1e-10  # [DER] grid value
    assert math.isclose(ext.mu * ext.omega, 0.1) and (ext.nu, ext.tau) == (3.0, 1.25)


def test_theorem3_extremes():
    """min(ν̃ − ν): [DER] 0.0077361 on Ω⁻(a) (the notebook's Minimize stopped just
    inside the corner at 0.00773618), [SNB] 0.0110293 on Ω⁻(b) (§12.6)."""
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


def _mp_fixed_point_at_omega0(tau):
    """(mu*, nu*) at omega = 0 in 50-digit mpmath: m = 0, so mu~ and nu~ depend on nu
    only (the closed form of derivations §3 at a = 0), and nu* solves one equation."""
    with mpmath.workdps(50):
        al, lm = mpmath.mpf(ALPHA_01), mpmath.mpf(LAMBDA_01)

        def g(nu):
            v = mpmath.mpf(tau) * nu
            sv = mpmath.sqrt(v)
            e1 = mpmath.exp(v / 2) * mpmath.ncdf(-sv)
            e2 = mpmath.exp(2 * v) * mpmath.ncdf(-2 * sv)
            mean = lm * (
                sv / mpmath.sqrt(2 * mpmath.pi) + al * (e1 - mpmath.mpf(1) / 2)
            )
            xi = lm**2 * (v / 2 + al**2 * (e2 - 2 * e1 + mpmath.mpf(1) / 2))
            return mean, xi - mean**2

        nu = mpmath.findroot(lambda x: g(x)[1] - x, mpmath.mpf("1.3e-4"))
        return float(g(nu)[0]), float(nu)


def test_fixed_point_where_g_contracts_slowly():
    """omega = 0, tau = 0.5: the variance contracts by J22 = 0.9956 per step. Plain
    iteration took 4685 steps and stopped 2.0e-9 (relative) short, with a residual of
    9.9e-15; the Newton finish reaches the 50-digit fixed point to rounding."""
    mu_ref, nu_ref = _mp_fixed_point_at_omega0(0.5)
    fp = fixed_point(omega=0.0, tau=0.5)
    assert abs(fp.mu - mu_ref) <= SELU_MPMATH_RTOL * abs(mu_ref)
    assert abs(fp.nu - nu_ref) <= SELU_MPMATH_RTOL * nu_ref
    assert fp.iterations < 200


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
        # 2^64 grid points: was a MemoryError naming the allocation
        (lambda: theorem1_extremes(points=(2**31, 2**31, 2, 2)), "points"),
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


@pytest.mark.parametrize(
    ("q", "mu_f", "nu_f"),
    [(1 - 1e-12, 0.5, 1.0), (1 - 1e-10, 2.0, 1.0), (0.95, 0.0, 1.0), (0.5, -1.0, 3.0)],
)
def test_alpha_dropout_affine_near_full_keep_matches_50_digits(q, mu_f, nu_f):
    """a = (q((1 - q)(alpha' - mu_f)^2/nu_f + 1))^(-1/2) and
    b = mu_f - a(q mu_f + (1 - q) alpha') (derivations §9) at 50 digits: as q -> 1,
    a q -> 1 and b is a small difference (4e-5 relative error at q = 1 - 1e-12)."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 50
    qm, mf, nf = mp.mpf(q), mp.mpf(mu_f), mp.mpf(nu_f)
    ap = -mp.mpf(LAMBDA_01) * mp.mpf(ALPHA_01)
    a = 1 / mp.sqrt(qm * ((1 - qm) * (ap - mf) ** 2 / nf + 1))
    b = mf - a * (qm * mf + (1 - qm) * ap)
    d = alpha_dropout_affine(q, mu_f=mu_f, nu_f=nu_f)
    for got, want in ((d.a, a), (d.b, b)):
        assert abs(mp.mpf(float(got)) - want) <= SELU_MPMATH_RTOL * abs(want)
