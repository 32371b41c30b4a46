"""NCE Gaussian-mean quadrature over the whole accepted range, against mpmath.

The per-cell panels of ``theory._nce_quad`` (``docs/derivations/nce.md`` §3.1) at the
corners of the accepted range (s = 0.25 and 25, pairwise distances 25) and interior
points, for the loss, gradients, curvatures, the Hessian at the optimum, the
profiled offset and the compositional NLL; and that a cell's value does not depend
on the other cells of a call.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from tests._tolerances import NCE_G_RATIO_ATOL
from tests._tolerances import NCE_MPMATH_RTOL
from tests._tolerances import NCE_ZERO_ATOL
from theory._nce_quad import HALF_LOG_2PI
from theory.nce import gaussian_mean_nll
from theory.nce import nce_gaussian_mean
from theory.nce import nce_hessian_at_optimum
from theory.nce import nce_optimal_offset


def _close(actual, expected, rtol, atol=NCE_ZERO_ATOL):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


@functools.cache
def _mp_nce(th, cp, md, m, s, nu):
    """30-digit composite Gauss-Legendre (12 nodes a panel) in x of the loss, grads,
    curv_c and, at th = md, cp = 0, the Hessian (h_tt, h_tc, h_cc). Breakpoints 1
    apart within 16 of the three means, s apart within 16 s of the noise mean, and
    2/|G'| apart within 50/|G'| of each real root of G (its poles are pi/|G'| off
    the axis). 24 nodes a panel agreed to 2e-19 where checked; docs/derivations/
    nce.md §3.1 says why not mpmath's tanh-sinh quad."""
    mpmath = pytest.importorskip("mpmath")
    from mpmath.calculus.quadrature import GaussLegendre

    mp = mpmath.mp.clone()
    mp.dps = 30
    th, cp, md, m, s, nu = (mp.mpf(v) for v in (th, cp, md, m, s, nu))
    a, b = (1 / s**2 - 1) / 2, th - m / s**2  # G = a x^2 + b x + c
    c = (m / s) ** 2 / 2 - th**2 / 2 - cp - mp.log(nu) + mp.log(s)
    disc = b * b - 4 * a * c
    if a == 0:
        roots = [-c / b] if b else []
    else:
        roots = (
            [(-b + sg * mp.sqrt(disc)) / (2 * a) for sg in (1, -1)] if disc > 0 else []
        )
    lo, hi = min(md, th, m) - 16, max(md, th, m) + 16
    pts = {lo + k for k in range(int(hi - lo) + 1)}
    pts |= {m + k * s for k in range(-16, 17)}
    for r in roots:
        g = max(abs(2 * a * r + b), 1)
        pts |= {r + 2 * k / g for k in range(-25, 26)}
    pts = sorted(pts)
    norm = 1 / mp.sqrt(2 * mp.pi)
    tot = [mp.mpf(0)] * 7
    nodes = GaussLegendre(mp).calc_nodes(3, mp.prec)
    for left, right in itertools.pairwise(pts):
        half, mid = (right - left) / 2, (right + left) / 2
        for t, w in nodes:
            x = mid + half * t
            g = (a * x + b) * x + c
            e = mp.exp(-abs(g))
            small, big = e / (1 + e), 1 / (1 + e)
            sp, sm = (big, small) if g > 0 else (small, big)  # sigma(G), sigma(-G)
            soft = max(g, 0) + mp.log1p(e)  # softplus(G)
            pd = norm * mp.exp(-((x - md) ** 2) / 2)
            q = norm / s * mp.exp(-(((x - m) / s) ** 2) / 2)
            pm = norm * mp.exp(-((x - th) ** 2) / 2 - cp)
            ww = w * half
            dd, h = ww * sm * (pm - pd), ww * pd * sm
            tot[0] += ww * (pd * (soft - g) + nu * q * soft)
            tot[1] += dd * (x - th)
            tot[2] -= dd
            tot[3] += ww * (pd + nu * q) * sp * sm
            tot[4] += h * (x - md) ** 2
            tot[5] -= h * (x - md)
            tot[6] += h
    return tuple(float(v) for v in tot)


# (theta, c', theta*, m, s, nu): the corners s = 0.25, 25 with distances 25, then
# interior points. The fixed 0.1-wide panels were off by 2e-8 to 3e-5 at each.
_NCE_CORNERS = [
    (25.0, 0.0, 0.0, 0.0, 0.25, 1.0),
    (25.0, 0.0, 0.0, 0.0, 25.0, 1.0),
    (0.0, 0.0, 25.0, 0.0, 25.0, 1.0),
    (25.0, 0.0, 25.0, 0.0, 0.25, 1.0),
    (0.0, 0.0, 0.0, 25.0, 25.0, 1.0),
    (12.5, 0.0, 25.0, 0.0, 0.25, 1.0),
    (5.0, 0.0, 0.0, 25.0, 0.25, 1.0),
    (1.0, -3.0, 4.0, 1.0, 25.0, 3.0),
]


@pytest.mark.parametrize("case", _NCE_CORNERS)
def test_nce_matches_mpmath_at_the_corners_of_its_range(case):
    """Loss, both gradients and curv_c within 1e-12 relative of 30 digits, where the
    logit's slope in a standardized variable reaches ~400 (poles 0.008 off the axis)
    or the model is 1/25 wide in the noise variable; docs/derivations/nce.md §3.1."""
    th, cp, md, m, s, nu = case
    r = nce_gaussian_mean(
        th, cp + HALF_LOG_2PI, data_mean=md, noise_mean=m, noise_std=s, nu=nu
    )
    for name, want in zip(r._fields, _mp_nce(*case)[:4], strict=True):
        got = float(getattr(r, name))
        assert abs(got - want) <= NCE_MPMATH_RTOL * abs(want), (name, got, want)


@pytest.mark.parametrize(
    ("md", "m", "s", "nu"), [(25.0, 0.0, 0.25, 1.0), (10.0, 0.0, 0.25, 1.0),
                             (-20.0, 0.0, 0.25, 0.5)],
)  # fmt: skip
def test_hessian_matches_mpmath_at_the_corners_of_its_range(md, m, s, nu):
    """h_tt, h_tc, h_cc within 1e-12 relative of 30 digits (were off by 1.6e-9 to
    4.7e-6: the logit's slope at its root is ~100 in the data variable)."""
    h = nce_hessian_at_optimum(data_mean=md, noise_mean=m, noise_std=s, nu=nu)
    want = _mp_nce(md, 0.0, md, m, s, nu)[4:]
    for got, ref in zip((h.h_tt, h.h_tc, h.h_cc), want, strict=True):
        assert abs(float(got) - ref) <= NCE_MPMATH_RTOL * abs(ref), (got, ref)


@pytest.mark.parametrize(
    ("theta", "md", "m"),
    [(12.5, 25.0, 0.0), (5.0, 0.0, 25.0), (0.0, 25.0, 0.0), (0.0, -25.0, 0.0)],
)
def test_profiled_offset_is_the_mpmath_root(theta, md, m):
    """At s = 0.25 the root c'* of grad_c, moved by one 30-digit Newton step
    grad_c / curv_c, stays within 1e-12 of |c'*| (was 8e-9 and 3e-8 off). At
    c'* ~ 200 (the last two) the solver used to raise: from the bracket's midpoint
    Newton crept up by ~1 a step and ran out of iterations."""
    cp = float(nce_optimal_offset(theta, data_mean=md, noise_mean=m, noise_std=0.25))
    _, _, grad_c, curv_c = _mp_nce(theta, cp, md, m, 0.25, 1.0)[:4]
    assert abs(grad_c / curv_c) <= NCE_MPMATH_RTOL * max(abs(cp), 1.0)


@pytest.mark.parametrize("s", [20.0, 25.0])
@pytest.mark.parametrize("frac", [-1.0, -0.3, 0.0, 1.0])
def test_compositional_g_is_exact_for_wide_noise(s, frac):
    """For s > 15 the model is under one base panel wide in the noise variable (1/s);
    the panels split around it keep log g and grad g / g (exactly 1/2 log 2 pi and 0)
    within 1e-12 (were 2.3e-11 and 1.4e-10 at s = 25)."""
    theta = frac * (38.5 * s - 8.5)
    r = gaussian_mean_nll(theta, data_mean=0.0, noise_std=s)
    _close(r.log_g, HALF_LOG_2PI, NCE_MPMATH_RTOL, atol=0)
    _close(r.grad_g_over_g, 0.0, 0, atol=NCE_G_RATIO_ATOL)


def test_values_do_not_depend_on_the_other_cells_of_a_call():
    """Each cell's panels come from its own parameters: a value computed inside a
    broadcast call (here over several blocks of cells) equals, bitwise, the value
    computed alone."""
    th = np.linspace(0.0, 25.0, 11)[:, None, None, None]
    md = np.array([0.0, 10.0, 25.0])[None, :, None, None]
    s = np.array([0.25, 1.0, 25.0])[None, None, :, None]
    nu = np.array([1.0, 2.0, 0.5, 4.0])[None, None, None, :]
    c = HALF_LOG_2PI + 0.5
    big = nce_gaussian_mean(th, c, data_mean=md, noise_std=s, nu=nu)
    hess = nce_hessian_at_optimum(data_mean=md[0], noise_std=s[0], nu=nu[0])
    th_q = np.linspace(-1.0, 1.0, 11)[:, None, None] * (38.5 * s[..., 0] - 8.5)
    nll = gaussian_mean_nll(th_q, data_mean=md[..., 0], noise_std=s[..., 0])
    for i, j, k, n in [(0, 0, 0, 0), (10, 2, 0, 1), (5, 1, 2, 3), (7, 0, 1, 2)]:
        kw = dict(data_mean=md.flat[j], noise_std=s.flat[k])
        one = nce_gaussian_mean(th.flat[i], c, nu=nu.flat[n], **kw)
        assert all(
            np.array_equal(a[i, j, k, n], b) for a, b in zip(big, one, strict=True)
        )
        one = nce_hessian_at_optimum(nu=nu.flat[n], **kw)
        assert all(
            np.array_equal(a[j, k, n], b) for a, b in zip(hess, one, strict=True)
        )
        one = gaussian_mean_nll(th_q[i, 0, k], **kw)
        assert all(np.array_equal(a[i, j, k], b) for a, b in zip(nll, one, strict=True))
    th2, md2 = np.array([0.5, 3.0, 12.0])[:, None], np.array([4.0, 20.0])[None, :]
    off = nce_optimal_offset(th2, data_mean=md2, noise_std=25.0, nu=2.0)
    alone = nce_optimal_offset(th2[2, 0], data_mean=md2[0, 1], noise_std=25.0, nu=2.0)
    assert np.array_equal(off[2, 1], alone)
