r"""Tests of :mod:`theory.nce` (MECO vs NCE, arXiv:2306.07485).

(a) the reference tables of ``docs/derivations/nce.md`` §5 (our own quadrature at
    rtol 1e-11, recorded there; the profiled/closed-form columns were cross-checked
    with independent scipy ``quad`` below), the flatness band, the curvature band;
(b) properties: gradient = central differences (including nu != 1), Hessian =
    differences of the gradient, quadrature = scipy ``quad``, the chi^2 closed form =
    quadrature, the compositional NLL = the closed form, consistency of the population
    NCE minimizer, the profiled structure (c'*, L~(m) = 2 log 2, monotone);
(c) Monte Carlo checks with tolerances from the sample: the importance-sampling
    identity, the Jensen bias of log g_hat, the tracker's exact mean and variance, and
    the documented limitation (the self-normalized negative phase is biased when q is
    far from p_theta);
(d) input validation and extreme inputs.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from scipy.integrate import IntegrationWarning
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.optimize import minimize_scalar
from scipy.special import expit
from scipy.special import log_expit

from tests._tolerances import F64_RTOL
from tests._tolerances import NCE_CANCELLATION_RTOL
from tests._tolerances import NCE_CONSISTENCY_ATOL
from tests._tolerances import NCE_CURVATURE_BAND
from tests._tolerances import NCE_FD_ATOL
from tests._tolerances import NCE_FLATNESS_BAND
from tests._tolerances import NCE_G_RATIO_ATOL
from tests._tolerances import NCE_JENSEN_ALLOWANCE
from tests._tolerances import NCE_MPMATH_RTOL
from tests._tolerances import NCE_QUAD_ATOL
from tests._tolerances import NCE_QUAD_RTOL
from tests._tolerances import NCE_TABLE_RTOL
from tests._tolerances import NCE_ZERO_ATOL
from tests._tolerances import Z_SEM
from theory._nce_quad import HALF_LOG_2PI
from theory.nce import gaussian_mean_landscape
from theory.nce import gaussian_mean_nll
from theory.nce import importance_weight_moments
from theory.nce import nce_flatness
from theory.nce import nce_gaussian_mean
from theory.nce import nce_hessian_at_optimum
from theory.nce import nce_optimal_offset
from theory.nce import tracker_moments

LOG2 = math.log(2.0)

# (R, theta, dL/dtheta (c'=0), dL/dc (c'=0), profiled L~', c'*, F'); p_d = N(R, 1),
# q = N(0, 1), nu = 1. Source: docs/derivations/nce.md §5.
TABLE = [
    (4, 0, -2.000, 0.0, -2.000, 0.0, -4),
    (4, 1, -0.2923, -0.3534, -0.3903, 1.5, -3),
    (4, 2, -0.2289, -0.2106, -0.08197, 2.0, -2),
    (4, 3, -0.1304, -0.08204, -0.01866, 1.5, -1),
    (8, 0, -4.000, 0.0, -4.000, 0.0, -8),
    (8, 1, -0.2044, -0.3971, -0.1722, 3.5, -7),
    (8, 2, -0.2248, -0.2248, -9.712e-3, 6.0, -6),
    (8, 4, -0.06860, -0.03430, -2.447e-4, 8.0, -4),
    (8, 6, -6.224e-3, -2.075e-3, -2.663e-5, 6.0, -2),
    (8, 7, -1.234e-3, -3.524e-4, -8.422e-6, 3.5, -1),
]
# R: (eig small, eig large, profiled L~''(R) or None). Same source.
CURVATURE = {
    1: (0.2134, 0.6125, None),
    2: (0.05689, 0.5258, 0.1330),
    4: (2.060e-3, 0.1803, 0.01083),
    6: (3.816e-5, 0.02111, None),
    8: (3.466e-7, 8.404e-4, 5.932e-6),
    10: (1.428e-9, 1.164e-5, None),
    12: (2.522e-12, 5.708e-8, 9.347e-11),
}


def _close(actual, expected, rtol, atol=NCE_ZERO_ATOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# ======================================================================================
# (a) reference tables
# ======================================================================================


def test_reference_table_as_landscape_grid():
    """§5 table, evaluated as one (R, theta) xarray grid in a single broadcast call."""
    rs = xr.DataArray([row[0] for row in TABLE], dims="row")
    th = xr.DataArray([row[1] for row in TABLE], dims="row")
    r = gaussian_mean_landscape(th.values, data_mean=rs.values)
    ds = xr.Dataset({k: ("row", np.asarray(v)) for k, v in r._asdict().items()})
    cols = ["nce_grad_theta", "nce_grad_c", "nce_profiled_grad", "c_opt_offset"]
    for j, name in enumerate(cols, start=2):
        _close(ds[name].values, [row[j] for row in TABLE], NCE_TABLE_RTOL)
    _close(ds["nll_grad"].values, [row[6] for row in TABLE], F64_RTOL)


def test_reference_losses():
    r = gaussian_mean_landscape(np.array([4.0, 8.0, 0.0]), data_mean=[4.0, 8.0, 8.0])
    _close(r.nce_loss[:2], [0.120854, 1.8707e-4], NCE_TABLE_RTOL)
    _close(r.nce_loss[2], 2 * LOG2, F64_RTOL)
    _close(r.nce_profiled_loss[2], 2 * LOG2, F64_RTOL)
    _close(r.nll, 0.5 * (r.nll_grad**2) + 0.5 * (1 + math.log(2 * math.pi)), F64_RTOL)


@pytest.mark.parametrize("R", sorted(CURVATURE))
def test_curvature_table(R):
    small, large, prof = CURVATURE[R]
    h = nce_hessian_at_optimum(data_mean=float(R))
    _close(h.eig_small, small, NCE_TABLE_RTOL, atol=0)
    _close(h.eig_large, large, NCE_TABLE_RTOL, atol=0)
    if prof is not None:
        _close(h.profiled_curvature, prof, NCE_TABLE_RTOL, atol=0)
    lo, hi = NCE_CURVATURE_BAND
    assert lo <= float(h.eig_large) / math.exp(-(R**2) / 8) <= hi


@pytest.mark.parametrize("R", [6.0, 8.0, 10.0, 12.0])
def test_flatness_band(R):
    """|L~'(theta)| / [(R - 2 theta) e^{-theta (R - theta)/2}] on [1, R/2 - 1]."""
    theta = np.arange(1.0, R / 2 - 1 + 1e-9, 0.5)
    exact = gaussian_mean_landscape(theta, data_mean=R).nce_profiled_grad
    approx = nce_flatness(theta, data_mean=R)
    ratio = exact / approx.profiled_grad
    lo, hi = NCE_FLATNESS_BAND
    assert np.all((ratio >= lo) & (ratio <= hi)), ratio
    # hence |grad NCE| / |grad NLL| <= 1.1 e^{-theta (R-theta)/2} (R-2 theta)/(R-theta)
    assert np.all(np.abs(exact) / (R - theta) <= hi * approx.ratio_to_nll)
    # beyond R/2 the gradient is on the e^{-R^2/8} plateau (times a polynomial in R)
    beyond = gaussian_mean_landscape(np.array([R / 2, R - 1]), data_mean=R)
    assert np.all(np.abs(beyond.nce_profiled_grad) <= R * math.exp(-(R**2) / 8))


# ======================================================================================
# (b) properties
# ======================================================================================

finite_r = st.floats(-6.0, 6.0)
noise_std = st.floats(0.6, 3.0)
nus = st.sampled_from([0.5, 1.0, 2.0, 5.0])


@given(theta=st.floats(-6, 6), cp=st.floats(-3, 3), R=finite_r, s=noise_std, nu=nus)
@example(theta=1.0, cp=0.5, R=4.0, s=1.0, nu=2.0)
@example(theta=2.0, cp=-1.0, R=8.0, s=1.5, nu=5.0)
def test_gradient_is_finite_difference(theta, cp, R, s, nu):
    h = 1e-5
    c = cp + HALF_LOG_2PI
    kw = dict(data_mean=R, noise_std=s, nu=nu)
    th = np.array([theta + h, theta - h, theta, theta])
    cc = np.array([c, c, c + h, c - h])
    loss = nce_gaussian_mean(th, cc, **kw).loss
    r = nce_gaussian_mean(theta, c, **kw)
    _close(r.grad_theta, (loss[0] - loss[1]) / (2 * h), 0, atol=NCE_FD_ATOL)
    _close(r.grad_c, (loss[2] - loss[3]) / (2 * h), 0, atol=NCE_FD_ATOL)
    # curvature in c against differences of the (already checked) gradient
    gc = nce_gaussian_mean(theta, np.array([c + h, c - h]), **kw).grad_c
    _close(r.curv_c, (gc[0] - gc[1]) / (2 * h), 0, atol=NCE_FD_ATOL)


def _quad_loss_grad(theta, cp, R, s, nu):
    """Independent scipy.quad of the NCE loss and gradient (direct, unsplit form)."""
    logq = lambda x: -0.5 * ((x / s) ** 2) - math.log(s) - HALF_LOG_2PI  # noqa: E731
    logpd = lambda x: -0.5 * (x - R) ** 2 - HALF_LOG_2PI  # noqa: E731
    logpm = lambda x: -0.5 * (x - theta) ** 2 - cp - HALF_LOG_2PI  # noqa: E731
    G = lambda x: logpm(x) - math.log(nu) - logq(x)  # noqa: E731

    def integrand(x, k):
        g = G(x)
        if k == 0:
            return math.exp(logpd(x)) * -log_expit(g) - nu * math.exp(logq(x)) * float(
                log_expit(-g)
            )
        w = float(expit(-g)) * (math.exp(logpm(x)) - math.exp(logpd(x)))
        return w * ((x - theta) if k == 1 else -1.0)

    # Breakpoints at the Gaussians' centres, merged where they (nearly) coincide:
    # quad loses ~1e-7 on sub-intervals of width ~1e-305 (R = 3.4e-305, theta = 0).
    pts = []
    for p in sorted({0.0, R, theta, (theta + R) / 2}):
        if not pts or p - pts[-1] > 1e-6:
            pts.append(p)
    lo, hi = min(pts) - 40 * max(s, 1), max(pts) + 40 * max(s, 1)
    opts = dict(points=pts, limit=400, epsabs=1e-14, epsrel=1e-12)
    with warnings.catch_warnings():
        # Where roundoff keeps quad from 1e-12 it says so; its error stays near the
        # ~1e-10 that NCE_QUAD_RTOL (1e-8) is set above.
        warnings.simplefilter("ignore", IntegrationWarning)
        return [quad(integrand, lo, hi, args=(k,), **opts)[0] for k in range(3)]


@settings(max_examples=10)
@given(theta=st.floats(-4, 6), cp=st.floats(-2, 2), R=finite_r, s=noise_std, nu=nus)
@example(theta=1.0, cp=0.0, R=4.0, s=1.0, nu=1.0)
@example(theta=0.0, cp=0.0, R=3.387972007520757e-305, s=1.0, nu=0.5)
def test_quadrature_matches_scipy_quad(theta, cp, R, s, nu):
    r = nce_gaussian_mean(theta, cp + HALF_LOG_2PI, data_mean=R, noise_std=s, nu=nu)
    ref = _quad_loss_grad(theta, cp, R, s, nu)
    _close([r.loss, r.grad_theta, r.grad_c], ref, NCE_QUAD_RTOL, atol=NCE_QUAD_ATOL)


@given(R=st.floats(-4, 4), s=st.floats(0.8, 3.0), nu=nus)
@example(R=4.0, s=1.0, nu=1.0)
def test_hessian_is_difference_of_gradient(R, s, nu):
    h = 1e-5
    kw = dict(data_mean=R, noise_std=s, nu=nu)
    H = nce_hessian_at_optimum(**kw)
    th = np.array([R + h, R - h, R, R])
    cc = HALF_LOG_2PI + np.array([0, 0, h, -h])
    g = nce_gaussian_mean(th, cc, **kw)
    _close(H.h_tt, (g.grad_theta[0] - g.grad_theta[1]) / (2 * h), 0, atol=NCE_FD_ATOL)
    _close(H.h_tc, (g.grad_c[0] - g.grad_c[1]) / (2 * h), 0, atol=NCE_FD_ATOL)
    _close(H.h_tc, (g.grad_theta[2] - g.grad_theta[3]) / (2 * h), 0, atol=NCE_FD_ATOL)
    _close(H.h_cc, (g.grad_c[2] - g.grad_c[3]) / (2 * h), 0, atol=NCE_FD_ATOL)
    assert H.eig_small >= 0 and H.eig_large >= H.eig_small
    assert H.h_tt * H.h_cc - H.h_tc**2 >= -NCE_ZERO_ATOL


@pytest.mark.parametrize("nu", [1.0, 2.0, 5.0])
@pytest.mark.parametrize("R", [0.0, 1.0, 2.5, 4.0])
def test_population_minimizer_is_consistent(R, nu):
    """BFGS, then Newton, on (theta, c) from the quadrature lands on (theta*, log Z)."""
    kw = dict(data_mean=R, noise_std=1.0, nu=nu)

    def fun(x):
        g = nce_gaussian_mean(x[0], x[1], **kw)
        return float(g.loss), np.array([g.grad_theta, g.grad_c], dtype=float)

    start = np.array([R - 0.4, HALF_LOG_2PI + 0.3])
    x = minimize(fun, start, jac=True, method="BFGS", options={"gtol": 1e-10}).x
    h = 1e-6
    for _ in range(5):  # Newton polish with the differenced gradient as Hessian
        g = fun(x)[1]
        cols = [(fun(x + e)[1] - fun(x - e)[1]) / (2 * h) for e in np.eye(2) * h]
        x = x - np.linalg.solve(np.array(cols).T, g)
    assert abs(x[0] - R) <= NCE_CONSISTENCY_ATOL
    assert abs(x[1] - HALF_LOG_2PI) <= NCE_CONSISTENCY_ATOL
    at = nce_gaussian_mean(R, HALF_LOG_2PI, **kw)
    _close([at.grad_theta, at.grad_c], [0.0, 0.0], 0)  # the two halves cancel
    assert nce_optimal_offset(R, **kw) == pytest.approx(0.0, abs=NCE_CONSISTENCY_ATOL)


@given(theta=st.floats(-3, 9), R=st.floats(0, 10), m=st.floats(-2, 2))
@example(theta=2.0, R=8.0, m=0.0)
def test_profiled_offset_closed_form_is_argmin(theta, R, m):
    """c'* = (theta - m)(theta* - theta)/2 for s = nu = 1 minimizes L over c."""
    data_mean = m + R
    closed = float(nce_optimal_offset(theta, data_mean=data_mean, noise_mean=m))
    _close(closed, 0.5 * (theta - m) * (data_mean - theta), F64_RTOL)
    res = minimize_scalar(
        lambda cp: float(
            nce_gaussian_mean(
                theta, cp + HALF_LOG_2PI, data_mean=data_mean, noise_mean=m
            ).loss
        ),
        bracket=(closed - 1, closed + 1),
        tol=1e-12,
    )
    g = nce_gaussian_mean(
        theta, closed + HALF_LOG_2PI, data_mean=data_mean, noise_mean=m
    )
    assert float(g.loss) <= res.fun + 1e-12
    # and the general root solver (used for s != 1 or nu != 1) finds the same point
    near = nce_optimal_offset(
        theta, data_mean=data_mean, noise_mean=m, noise_std=1 + 1e-13
    )
    _close(near, closed, 1e-9, atol=1e-9)


@given(theta=st.floats(-2, 8), R=st.floats(0.5, 8), s=noise_std, nu=nus)
@example(theta=3.0, R=8.0, s=1.0, nu=1.0)
def test_profiled_landscape_structure(theta, R, s, nu):
    kw = dict(data_mean=R, noise_std=s, nu=nu)
    r = gaussian_mean_landscape(theta, **kw)
    assert r.nce_profiled_loss <= r.nce_loss + 1e-14  # min over c
    h = 1e-5
    lp = gaussian_mean_landscape(
        np.array([theta + h, theta - h]), **kw
    ).nce_profiled_loss
    _close(r.nce_profiled_grad, (lp[0] - lp[1]) / (2 * h), 0, atol=NCE_FD_ATOL)
    at_c = nce_gaussian_mean(theta, r.c_opt, **kw)
    _close(at_c.grad_c, 0.0, 0, atol=1e-12)


@pytest.mark.parametrize("R", [2.0, 4.0, 8.0])
def test_profiled_closed_form_and_monotone(R):
    """s = nu = 1: L~(theta) = 2 E softplus(-(theta - m)(Z + R/2)); L~(m) = 2 log 2."""
    m = 0.7
    theta = np.linspace(m, m + R, 17)
    r = gaussian_mean_landscape(theta, data_mean=m + R, noise_mean=m)
    assert r.nce_profiled_loss[0] == pytest.approx(2 * LOG2, rel=F64_RTOL)
    assert np.all(np.diff(r.nce_profiled_loss) < 0)
    for a, val in zip(theta[::4] - m, r.nce_profiled_loss[::4], strict=True):

        def f(z, a=a):
            phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
            return phi * float(np.logaddexp(0, -a * (z + R / 2)))

        ref = 2 * quad(f, -40, 40, points=[-R / 2], epsabs=1e-14, epsrel=1e-12)[0]
        _close(val, ref, NCE_QUAD_RTOL, atol=NCE_QUAD_ATOL)


@given(theta=st.floats(-5, 5), m=st.floats(-3, 3), s=st.floats(1.0, 3.0))
@example(theta=4.0, m=0.0, s=1.0)
def test_chi2_closed_form_matches_quadrature(theta, m, s):
    r = importance_weight_moments(theta, noise_mean=m, noise_std=s)

    def f(x):  # p_theta(x)^2 / q(x), in log space
        return math.exp(
            -((x - theta) ** 2) + 0.5 * ((x - m) / s) ** 2 + math.log(s) - HALF_LOG_2PI
        )

    c = (2 * s**2 * theta - m) / (2 * s**2 - 1)  # the integrand's peak
    ref = quad(f, c - 60, c + 60, points=[c], epsabs=0, epsrel=1e-13, limit=200)[0]
    _close(r.log1p_chi2, math.log(ref), 1e-10, atol=1e-10)
    _close(r.variance, 2 * math.pi * (ref - 1), 1e-10, atol=1e-10)


@given(theta=st.floats(-5, 5), R=st.floats(-5, 5), m=st.floats(-3, 3), s=noise_std)
def test_compositional_nll_matches_closed_form(theta, R, m, s):
    r = gaussian_mean_nll(theta, data_mean=R, noise_mean=m, noise_std=s)
    _close(r.log_g, HALF_LOG_2PI, F64_RTOL)
    _close(r.nll_compositional, r.nll, F64_RTOL)
    _close(r.nll_grad_compositional, r.nll_grad, 0, atol=1e-12)
    h = 1e-5
    fp = gaussian_mean_nll(np.array([theta + h, theta - h]), data_mean=R).nll
    _close(r.nll_grad, (fp[0] - fp[1]) / (2 * h), 0, atol=1e-8)


def test_broadcasting_over_theta_and_data_mean():
    theta = np.linspace(-1, 5, 4)[:, None]
    mu = np.array([1.0, 4.0, 8.0])[None, :]
    r = gaussian_mean_landscape(theta, data_mean=mu)
    assert all(np.shape(v) == (4, 3) for v in r)
    one = gaussian_mean_landscape(theta[2, 0], data_mean=mu[0, 1])
    for a, b in zip(r, one, strict=True):
        _close(a[2, 1], b, F64_RTOL, atol=0)


# ======================================================================================
# (c) Monte Carlo checks
# ======================================================================================


@pytest.mark.parametrize(
    ("theta", "m", "s"), [(1.0, 0.0, 1.0), (2.0, 0.0, 1.5), (0.0, 1.0, 3.0)]
)
def test_importance_sampling_identity(theta, m, s):
    rng = np.random.default_rng(1)
    n = 200_000
    y = m + s * rng.standard_normal(n)
    logh = (
        -0.5 * (y - theta) ** 2 + 0.5 * ((y - m) / s) ** 2 + math.log(s) + HALF_LOG_2PI
    )
    est = np.exp(logh).mean()
    r = importance_weight_moments(theta, noise_mean=m, noise_std=s)
    se = math.sqrt(r.variance / n)
    assert abs(est - r.g) <= Z_SEM * se


def test_jensen_bias_of_log_inner_estimate():
    theta, s, m_b, reps = 1.0, 1.5, 100, 20_000
    rng = np.random.default_rng(2)
    y = s * rng.standard_normal((reps, m_b))
    logh = -0.5 * (y - theta) ** 2 + 0.5 * (y / s) ** 2 + math.log(s) + HALF_LOG_2PI
    log_ghat = np.log(np.exp(logh).mean(axis=1))
    mean, sem = log_ghat.mean(), log_ghat.std(ddof=1) / math.sqrt(reps)
    theory = importance_weight_moments(theta, noise_std=s, batch_size=m_b)
    assert mean < HALF_LOG_2PI - Z_SEM * sem / 2  # E log g_hat < log Z, visibly
    gap = abs(mean - (HALF_LOG_2PI + theory.log_bias))
    assert gap <= Z_SEM * sem + NCE_JENSEN_ALLOWANCE * abs(theory.log_bias)


def test_tracker_exact_mean_and_variance():
    """Fixed theta, g_hat = minibatch importance average: seed x t grid."""
    gamma, m_b, seeds, steps, s, theta = 0.2, 64, 4000, 30, 1.5, 1.0
    rng = np.random.default_rng(3)
    y = s * rng.standard_normal((steps, seeds, m_b))
    logh = -0.5 * (y - theta) ** 2 + 0.5 * (y / s) ** 2 + math.log(s) + HALF_LOG_2PI
    ghat = np.exp(logh).mean(axis=2)
    u0 = 2.0 * math.sqrt(2 * math.pi)
    u = np.empty((steps + 1, seeds))
    u[0] = u0
    for t in range(steps):
        u[t + 1] = (1 - gamma) * u[t] + gamma * ghat[t]
    da = xr.DataArray(u.T, dims=("seed", "t"), coords={"t": np.arange(steps + 1)})
    var_ghat = importance_weight_moments(theta, noise_std=s).variance / m_b
    th = tracker_moments(da.t.values, gamma=gamma, g=math.sqrt(2 * math.pi),
                         var_ghat=var_ghat, u0=u0)  # fmt: skip
    mean, sem = da.mean("seed"), da.std("seed", ddof=1) / math.sqrt(seeds)
    assert np.all(np.abs(mean - th.mean) <= Z_SEM * sem + NCE_ZERO_ATOL)
    var = da.var("seed", ddof=1)[1:]
    centred = da - da.mean("seed")
    var_se = np.sqrt(((centred**2 - var) ** 2).mean("seed") / seeds)[1:]
    assert np.all(np.abs(var - th.variance[1:]) <= Z_SEM * var_se)
    np.testing.assert_allclose(th.variance[-1], th.stationary_variance, rtol=1e-5)


def test_limitation_snis_biased_when_noise_far():
    """Documented limitation: with q = N(0, 1) and theta = 4 (1 + chi^2 = e^16) the
    minibatch self-normalized negative phase E_{p_theta}[y - theta] (exactly 0) is
    grossly under-estimated, which pushes MECO's theta past theta*; with q = N(theta,
    1.5^2) the same estimator is unbiased within its SEM."""
    rng = np.random.default_rng(4)
    out = {}
    for label, (m, s) in {"far": (0.0, 1.0), "near": (4.0, 1.5)}.items():
        y = m + s * rng.standard_normal((4000, 64))
        logh = -0.5 * (y - 4.0) ** 2 + 0.5 * ((y - m) / s) ** 2
        w = np.exp(logh - logh.max(axis=1, keepdims=True))
        est = (w * (y - 4.0)).sum(1) / w.sum(1)
        out[label] = (est.mean(), est.std(ddof=1) / math.sqrt(est.size))
    mean, sem = out["near"]
    assert abs(mean) <= Z_SEM * sem + 0.02  # O(1/m) SNIS bias allowance (chi2 = 0.6)
    mean, sem = out["far"]
    assert mean < -1.0 and mean + Z_SEM * sem < 0


# ======================================================================================
# (d) validation and extremes
# ======================================================================================


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(noise_std=0.0), "noise_std"),
        (dict(noise_std=-1.0), "noise_std"),
        (dict(noise_std=0.1), "noise_std"),
        (dict(nu=0.0), "nu"),
        (dict(nu=-2.0), "nu"),
        (dict(data_mean=np.nan), "data_mean"),
        (dict(noise_mean=np.inf), "noise_mean"),
        (dict(data_mean=100.0), "data_mean - noise_mean"),
        (dict(data_mean=[1.0, 2.0, 3.0]), "shapes"),
    ],
)
def test_bad_input_raises(kwargs, match):
    args = dict(data_mean=4.0) | kwargs
    with pytest.raises(ValueError, match=match):
        gaussian_mean_landscape(np.array([0.0, 1.0]), **args)


def test_bad_tracker_and_weights_raise():
    with pytest.raises(ValueError, match="gamma"):
        tracker_moments(1, gamma=0.0, g=1.0, var_ghat=1.0, u0=1.0)
    with pytest.raises(ValueError, match="gamma"):
        tracker_moments(1, gamma=1.5, g=1.0, var_ghat=1.0, u0=1.0)
    with pytest.raises(ValueError, match="t must"):
        tracker_moments(-1, gamma=0.5, g=1.0, var_ghat=1.0, u0=1.0)
    with pytest.raises(ValueError, match="theta"):
        importance_weight_moments(np.nan)
    with pytest.raises(ValueError, match="batch_size"):
        importance_weight_moments(0.0, batch_size=0)
    # a noise batch is a count: 2.5 was accepted (only divided by)
    with pytest.raises(ValueError, match=r"batch_size=2\.5"):
        importance_weight_moments(0.0, batch_size=[1, 2.5])
    with pytest.raises(ValueError, match="theta"):
        nce_gaussian_mean(np.inf, 0.0, data_mean=1.0)
    with pytest.raises(ValueError, match="noise_std"):
        gaussian_mean_nll(20.0, data_mean=1.0, noise_std=0.5)


# Valid arguments for every public function; each one in turn is made bad below.
_VALID = {
    nce_gaussian_mean: dict(theta=1.0, c=0.9, data_mean=2.0),
    nce_optimal_offset: dict(theta=1.0, data_mean=2.0),
    nce_hessian_at_optimum: dict(data_mean=2.0),
    gaussian_mean_landscape: dict(theta=1.0, data_mean=2.0),
    nce_flatness: dict(theta=1.0, data_mean=2.0),
    gaussian_mean_nll: dict(theta=1.0, data_mean=2.0),
    importance_weight_moments: dict(theta=1.0),
    tracker_moments: dict(t=3, gamma=0.5, g=1.0, var_ghat=1.0, u0=1.0),
}
_EVERY_ARG = [
    (fn, name)
    for fn, valid in _VALID.items()
    for name in inspect.signature(fn).parameters
    if name in valid or name in ("noise_mean", "noise_std", "nu", "u0_var")
]


@pytest.mark.parametrize(
    ("fn", "name"), _EVERY_ARG, ids=lambda x: getattr(x, "__name__", x)
)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_every_argument_rejects_non_finite_by_name(fn, name, bad):
    args = _VALID[fn] | {name: np.array([0.5, bad])}
    with pytest.raises(ValueError, match=f"^{name} must be finite, got {name}="):
        fn(**args)


@pytest.mark.parametrize(
    ("fn", "name"), [a for a in _EVERY_ARG if a[1] in ("noise_std", "nu")]
)
@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_noise_std_and_nu_reject_non_positive_by_name(fn, name, bad):
    with pytest.raises(ValueError, match=f"^{name} must be > 0, got {name}={bad}"):
        fn(**_VALID[fn], **{name: bad})


def test_extremes_are_finite_or_inf_never_nan():
    r = gaussian_mean_landscape(np.linspace(-25, 25, 11) + 0.0, data_mean=0.0,
                                noise_mean=0.0)  # fmt: skip
    assert all(np.all(np.isfinite(v)) for v in r)
    far = gaussian_mean_landscape(np.array([0.0, 12.0, 24.0]), data_mean=25.0)
    assert all(np.all(np.isfinite(v)) for v in far)
    assert np.all(np.abs(far.nce_profiled_grad[1:]) < 1e-10)  # e^{-R^2/8} plateau
    big_c = nce_gaussian_mean(1.0, [1e6, -1e3], data_mean=2.0)
    assert np.all(np.isfinite(big_c.loss)) and np.all(np.isfinite(big_c.grad_theta))
    _close(big_c.loss[0], 1e6 - HALF_LOG_2PI - 1.5, 1e-12)  # E_pd[-G] exactly
    w = importance_weight_moments([0.0, 50.0], noise_std=[0.5, 1.0])
    assert np.all(np.isinf(w.chi2)) and not np.any(np.isnan(w.chi2))
    assert np.isfinite(w.log1p_chi2[1]) and np.isinf(w.log1p_chi2[0])
    t = tracker_moments([0, 10, 10**9], gamma=1.0, g=1.0, var_ghat=2.0, u0=5.0)
    _close(t.mean, [5.0, 1.0, 1.0], F64_RTOL)
    _close(t.variance, [0.0, 2.0, 2.0], F64_RTOL)


@pytest.mark.parametrize(
    "s",
    [
        1 + 1e-9,
        1 - 1e-7,
        1 + 1e-6,
        1.0001,
        0.7071067811865477,
        0.7071067811875476,
        25.0,
    ],
)
@pytest.mark.parametrize("theta", [0.0, 1e-5, 2.0])
def test_chi2_near_its_cancellations_matches_50_digits(theta, s):
    """1 + chi^2 = s^2/sqrt(2s^2 - 1) exp(theta^2/(2s^2 - 1)) (m = 0) where it cancels:
    chi^2 ~ (s^2 - 1)^2/2 near s = 1 (0.5 relative error at s = 1 + 1e-9 before) and
    2s^2 - 1 -> 0 as s -> 1/sqrt(2) (7.5e-3 at the next float above it)."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 50
    sm, th = mp.mpf(s), mp.mpf(theta)
    d = 2 * sm**2 - 1
    l1p = 2 * mp.log(sm) - mp.log(d) / 2 + th**2 / d
    r = importance_weight_moments(theta, noise_std=s)
    assert abs(mp.mpf(float(r.log1p_chi2)) - l1p) <= NCE_CANCELLATION_RTOL * abs(l1p)
    chi2 = mp.expm1(l1p)
    if chi2 > np.finfo(np.float64).max:  # beyond float64: inf, as documented
        assert r.chi2 == np.inf
    else:
        assert abs(mp.mpf(float(r.chi2)) - chi2) <= NCE_CANCELLATION_RTOL * chi2


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_values_beyond_float64_are_inf_or_zero_without_warnings():
    """At |theta - theta*| = 1e200 the NLL (5e399) is beyond float64: inf, as
    documented, and the plateau exp(-R^2/8) is 0; both leaked an overflow warning."""
    r = gaussian_mean_nll(0.0, data_mean=1e200)
    assert r.nll == np.inf and r.nll_compositional == np.inf
    assert r.nll_grad == -1e200
    assert nce_flatness(0.0, data_mean=1e200).plateau == 0.0
    # a = R = 1e308: the asymptote -(R - 2a) e^0 = 1e308 (R - 2a overflowed to -inf);
    # R - a = -2e308: the ratio inf/inf is the exponential's inf (was NaN).
    assert nce_flatness(1e308, data_mean=1e308).profiled_grad == 1e308
    assert nce_flatness(1e308, data_mean=-1e308).ratio_to_nll == np.inf
    z = importance_weight_moments(1e154, noise_std=1.0)
    assert z.variance == np.inf


def test_flatness_refuses_distances_beyond_float64():
    with pytest.raises(ValueError, match="theta - noise_mean must be within"):
        nce_flatness(1e308, data_mean=0.0, noise_mean=-1e308)


@pytest.mark.parametrize("cprime", [-1e6, -1e12, -1e15, -1e300])
@pytest.mark.parametrize(
    ("theta", "md", "m", "s", "nu"), [(1, 2, 0, 2, 1), (3, -2, 1, 0.5, 5)]
)
def test_nce_gradient_at_a_huge_model_is_the_noise_expectation(
    cprime, theta, md, m, s, nu
):
    """As c' -> -inf, sigma(-G) p_m -> nu q, so grad L -> nu (m - theta, -1) up to
    e^{-|c'|}. The model's weight e^{-c'} sigma(-G) was formed as e^{-c' - G} with
    G ~ -c' rounded: 3.7e-5 off at c' = -1e12, 300 times too large at -1e300."""
    r = nce_gaussian_mean(
        theta, cprime + HALF_LOG_2PI, data_mean=md, noise_mean=m, noise_std=s, nu=nu
    )
    assert r.grad_theta == pytest.approx(nu * (m - theta), rel=NCE_MPMATH_RTOL)
    assert r.grad_c == pytest.approx(-nu, rel=NCE_MPMATH_RTOL)


@pytest.mark.parametrize(
    ("theta", "m", "s"),
    [
        (0.5, 0.0, 1e300),  # s^2 beyond float64
        (2.0, 1.0, 1e160),
        (0.0, 0.0, 9.5e153),  # 2 s^2 beyond float64, s^2 not
        (1e200, 0.0, 1e100),  # (theta - m)^2 beyond float64
        (1e300, -1e300, 1e300),
        (1.7e308, -1.7e308, 1e308),  # theta - m beyond float64
        (1e200, 0.0, 1.0),  # log(1 + chi^2) = 1e400 itself beyond float64
    ],
)
def test_chi2_at_the_ends_of_float64_matches_50_digits(theta, m, s):
    """Where s^2, 2s^2 - 1, theta - m or its square overflow, log(1 + chi^2) is
    still the closed form's value (it was -inf at s = 1e300: chi^2 = -1 and a negative
    variance), or inf only where that value is itself beyond float64."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 50
    sm, dm = mp.mpf(s), mp.mpf(theta) - mp.mpf(m)
    d = 2 * sm**2 - 1
    l1p = 2 * mp.log(sm) - mp.log(d) / 2 + dm**2 / d
    r = importance_weight_moments(theta, noise_mean=m, noise_std=s)
    big = np.finfo(np.float64).max
    if l1p > big:
        assert r.log1p_chi2 == np.inf
    else:
        assert abs(mp.mpf(float(r.log1p_chi2)) - l1p) <= NCE_CANCELLATION_RTOL * l1p
    chi2 = mp.expm1(l1p)
    if chi2 > big:
        assert r.chi2 == np.inf and r.variance == np.inf
    else:
        # exp turns the rounding of its argument, ~l1p eps absolute, into ~l1p eps
        # relative: the tolerance scales with l1p (~700 here).
        assert abs(mp.mpf(float(r.chi2)) - chi2) <= NCE_CANCELLATION_RTOL * l1p * chi2
        assert r.variance > 0


@pytest.mark.parametrize(
    ("t", "gamma", "g", "u0"),
    [(1.0, 1e-12, 1.0, 1e-10), (3.0, 1e-15, -1.0, 1e-12), (50.0, 0.01, 1e8, -3.0)],
)
def test_tracker_mean_far_below_g_matches_50_digits(t, gamma, g, u0):
    """E u_t = (1 - gamma)^t u0 + (1 - (1 - gamma)^t) g has no cancellation, but
    g + decay (u0 - g) lost it: 1.4e-7 and 2e-5 relative at the first two."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 50
    decay = (1 - mp.mpf(gamma)) ** mp.mpf(t)
    want = decay * mp.mpf(u0) + (1 - decay) * mp.mpf(g)
    r = tracker_moments(t, gamma=gamma, g=g, var_ghat=1.0, u0=u0)
    assert abs(mp.mpf(float(r.mean)) - want) <= NCE_CANCELLATION_RTOL * abs(want)


@pytest.mark.parametrize(
    ("t", "gamma"),
    [(2.5, 1e-15), (1000.0, 1e-12), (1e10, 1e-10), (5.0, 0.3), (3.0, 1.0)],
)
def test_tracker_moments_at_small_gamma_match_50_digits(t, gamma):
    """E u_t and Var u_t (g = 1, sigma^2 = 1, E u_0 = 2, Var u_0 = 0) where
    (1 - gamma)^t and 1 - (1 - gamma)^2t lose digits in the plain forms (2e-2
    relative in the variance at gamma = 1e-15)."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 50
    decay = (1 - mp.mpf(gamma)) ** mp.mpf(t)
    stat = mp.mpf(gamma) / (2 - mp.mpf(gamma))
    r = tracker_moments(t, gamma=gamma, g=1.0, var_ghat=1.0, u0=2.0, u0_var=0.0)
    for got, want in ((r.mean, 1 + decay), (r.variance, stat * (1 - decay**2))):
        assert abs(mp.mpf(float(got)) - want) <= NCE_CANCELLATION_RTOL * abs(want)


@given(s=st.floats(0.2215, 25.0), frac=st.floats(-1.0, 1.0), m=st.floats(-5.0, 5.0))
@example(s=0.2215, frac=1.0, m=0.0)
@example(s=25.0, frac=-1.0, m=0.0)
def test_compositional_g_is_exact_over_its_whole_domain(s, frac, m):
    """g = integral of exp(-E_theta) = sqrt(2 pi) and grad g = 0 for every q, at every
    accepted (theta, s): |theta - m| + 8.5 <= 38.6 s. The old rule |theta - m| <= 30 s
    accepted s = 0.01 (log g off by 1.3) and theta - m = 30 s at s = 0.3 (5e-3)."""
    theta = m + frac * (38.5 * s - 8.5)
    r = gaussian_mean_nll(theta, data_mean=0.0, noise_mean=m, noise_std=s)
    _close(r.log_g, HALF_LOG_2PI, F64_RTOL)
    _close(r.grad_g_over_g, 0.0, 0, atol=NCE_G_RATIO_ATOL)


@pytest.mark.parametrize(("theta", "s"), [(0.0, 0.01), (-9.0, 0.3), (0.0, 0.2)])
def test_compositional_nll_refuses_what_its_nodes_do_not_cover(theta, s):
    with pytest.raises(ValueError, match=f"noise_std={s!r}"):
        gaussian_mean_nll(theta, data_mean=0.0, noise_std=s)
