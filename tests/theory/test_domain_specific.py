r"""Domain tests, correctness at the extremes: inside its domain a theory function
returns values that are correct, not only finite, up to the ends of float64. Checked
against identities: the joint scale invariance of the RF theory, the saturated
limits of the SELU moments, the stationarity of the deep linear minimizer, and the
scale invariance of the NC metrics. The generic tests over the domain table (finite
or ``ValueError`` at extreme valid inputs, ``ValueError`` at invalid ones) are in
``test_domain.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import theory as T
from tests._tolerances import DOMAIN_SCALE_RTOL
from tests._tolerances import DOMAIN_SELU_LIMIT_RTOL
from tests.theory._domain_table import _H
from tests.theory._domain_table import _LABELS
from tests.theory._domain_table import _LAM
from tests.theory._domain_table import _W
from tests.theory._domain_table import _assert_finite
from tests.theory._domain_table import logu

# ------------------------------------------------------- correctness at the extremes


@settings(max_examples=15)
@given(
    exponent=st.integers(-300, 300),
    ridge=st.sampled_from([0.0, 1e-6, 1e-2, 1.0, 1e3]),
    n=st.sampled_from([5.0, 30.0, 200.0]),
    k=st.sampled_from([3.0, 30.0, 1e3, np.inf]),
)
def test_rf_ridge_risk_is_scale_invariant_to_1e300(exponent, ridge, n, k):
    """(lambda, delta) -> (c lambda, c delta): same risks, (kappa, gamma) times c."""
    c = 10.0**exponent
    base = T.rf_ridge_risk(_LAM, _LAM, n=n, k=k, ridge=ridge, noise_var=0.1)
    out = T.rf_ridge_risk(_LAM * c, _LAM, n=n, k=k, ridge=ridge * c, noise_var=0.1)
    if np.isinf(base.test_risk):  # the interpolation peak, E_0 = inf at ridge 0
        assert np.isinf(out.test_risk)
        return
    np.testing.assert_allclose(out.test_risk, base.test_risk, rtol=DOMAIN_SCALE_RTOL)
    np.testing.assert_allclose(out.train_risk, base.train_risk, rtol=DOMAIN_SCALE_RTOL)
    np.testing.assert_allclose(out.gamma, c * base.gamma, rtol=DOMAIN_SCALE_RTOL)
    np.testing.assert_allclose(out.kappa, c * base.kappa, rtol=DOMAIN_SCALE_RTOL)


@pytest.mark.parametrize("ridge", [1e160, 1e250, 1e300, 1.7e308])
def test_rf_ridge_risk_huge_ridge_learns_nothing(ridge):
    """delta -> inf: L_i -> 0, so E_te -> sum v_i^2 + sigma^2 and gamma -> delta/n."""
    out = T.rf_ridge_risk(_LAM, _LAM, n=10, k=[5, 10, 20, np.inf], ridge=ridge)
    np.testing.assert_allclose(out.test_risk, _LAM.sum(), rtol=DOMAIN_SCALE_RTOL)
    np.testing.assert_allclose(out.gamma, ridge / 10, rtol=DOMAIN_SCALE_RTOL)


def test_rf_ridge_risk_power_scale():
    """Risks are homogeneous of degree one in (v^2, sigma^2), up to 1e300."""
    base = T.rf_ridge_risk(_LAM, _LAM, n=20, k=[10, 40], ridge=1e-3, noise_var=0.2)
    for c in (1e-300, 1e300):
        out = T.rf_ridge_risk(
            _LAM, c * _LAM, n=20, k=[10, 40], ridge=1e-3, noise_var=0.2 * c
        )
        np.testing.assert_allclose(
            out.test_risk, c * base.test_risk, rtol=DOMAIN_SCALE_RTOL
        )


@settings(max_examples=25)
@given(
    m=st.one_of(logu(1e154, 1e300), logu(1e154, 1e300).map(lambda x: -x)),
    sd=logu(1e-3, 1e3),
    tau=logu(1e-2, 1e2),
)
def test_moment_map_saturated_limits(m, sd, tau):
    """|m| >> sqrt(v): selu is linear (m > 0: mean lam m, var lam^2 v) or saturated
    (m < 0: mean -lam alpha, var ~ 0), exact to rounding beyond 40 sigma."""
    nu = sd * sd / tau
    out = T.moment_map(m, nu, omega=1.0, tau=tau)
    lam, alpha = T.LAMBDA_01, T.ALPHA_01
    if m > 0:
        np.testing.assert_allclose(out.mu_tilde, lam * m, rtol=DOMAIN_SELU_LIMIT_RTOL)
        np.testing.assert_allclose(
            out.nu_tilde, lam**2 * nu * tau, rtol=DOMAIN_SELU_LIMIT_RTOL
        )
    else:
        np.testing.assert_allclose(
            out.mu_tilde, -lam * alpha, rtol=DOMAIN_SELU_LIMIT_RTOL
        )
        assert 0 <= out.nu_tilde < 1e-300


def test_moment_map_huge_variance_matches_mpmath():
    """v = 1e308 (where sqrt(2v) overflows): against 40-digit mpmath."""
    mpmath = pytest.importorskip("mpmath")
    lam, alpha = T.LAMBDA_01, T.ALPHA_01
    with mpmath.workdps(40):
        v = mpmath.mpf(1e308)
        sd = mpmath.sqrt(v)
        f = lambda z: z if z > 0 else alpha * mpmath.expm1(z)  # noqa: E731
        pdf = lambda z: mpmath.npdf(z, 0, sd)  # noqa: E731
        # mass is spread over 1e154: split at 0 and +-50 where the exponential lives
        pts = [-mpmath.inf, -10 * sd, -50, 0, 10 * sd, mpmath.inf]
        e1 = mpmath.quad(lambda z: f(z) * pdf(z), pts)
        e2 = mpmath.quad(lambda z: f(z) ** 2 * pdf(z), pts)
        mean, var = float(lam * e1), float(lam**2 * (e2 - e1**2))
    out = T.moment_map(0.0, 1e308)
    np.testing.assert_allclose(out.mu_tilde, mean, rtol=DOMAIN_SELU_LIMIT_RTOL)
    np.testing.assert_allclose(out.nu_tilde, var, rtol=DOMAIN_SELU_LIMIT_RTOL)


@pytest.mark.parametrize("depth", [1, 2, 5])
@pytest.mark.parametrize(
    "lam_w,lam_h", [(1e-300, 1e-3), (1e-3, 1e-300), (1e-300, 1e-300), (1e300, 1e-300)]
)
def test_deep_linear_mse_minimizer_extreme_decays(depth, lam_w, lam_h):
    """Finite at 1e-300, on its stationarity equation, and consistent with the
    closed forms |h_k|^2 = a^2/(a^2 + N lam_h)^2, w_k h_k = a^2/(a^2 + N lam_h)."""
    sol = T.deep_linear_mse_minimizer(
        [3, 2], depth=depth, lam_w=lam_w, lam_h=lam_h, branch="largest_root"
    )
    _assert_finite(sol)
    assert np.all(sol.residual <= DOMAIN_SCALE_RTOL)
    a2, N = sol.a2, 5.0
    wh = np.where(a2 > 0, 1 / (1 + N * lam_h / np.where(a2 > 0, a2, 1)), 0.0)
    np.testing.assert_allclose(sol.wh, wh, rtol=DOMAIN_SCALE_RTOL)
    if depth == 1:  # a^2 = N lam_h x, x = 1/sqrt(phi) - 1, phi = N^2 lw lh / n_k
        x = np.sqrt([3.0, 2.0]) / (N * np.sqrt(lam_w) * np.sqrt(lam_h)) - 1
        expected = np.where(x > 0, N * lam_h * x, 0.0)
        finite = np.isfinite(expected)
        np.testing.assert_allclose(a2[finite], expected[finite], rtol=DOMAIN_SCALE_RTOL)


@settings(max_examples=15)
@given(exponent=st.integers(-300, 300))
def test_nc_metrics_scale_invariant_to_1e300(exponent):
    c = 10.0**exponent
    for metric in (T.nc1, T.nc1_tilde):
        np.testing.assert_allclose(
            metric(c * _H, _LABELS), metric(_H, _LABELS), rtol=DOMAIN_SCALE_RTOL
        )
    np.testing.assert_allclose(
        T.nc2(c * _H[:, :3]),
        T.nc2(_H[:, :3]),
        rtol=DOMAIN_SCALE_RTOL,
        atol=DOMAIN_SCALE_RTOL,
    )
    np.testing.assert_allclose(
        T.nc3(c * _W, _W.T), T.nc3(_W, _W.T), atol=DOMAIN_SCALE_RTOL
    )
    assert T.nc4(c * _H, _LABELS, _W) == T.nc4(_H, _LABELS, _W)
