r"""Independent references and strategies shared by the SELU moment tests
(arXiv:1706.02515; derivations in ``docs/derivations/selu_moments.md``, "§" below).

Every reference computation here (the plain erfc form of §12.1, scipy quad, mpmath
quadrature, torch autograd, finite differences of the map) is independent of the
closed forms under test.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import torch
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import erf
from scipy.special import erfc

from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import moment_map
from theory.selu_moments import selu

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


def mp_jacobian(m, v, alpha=ALPHA_01, lam=LAMBDA_01, dps=60):
    """(J11, J12, J21, J22) at omega = tau = 1 by ``dps``-digit quadrature of the
    score-function forms, independent of the closed form and of the heat equation:
    d/dm E F(z) = E[F (z - m)] / v, d/dv E F(z) = E[F ((z - m)^2 - v)] / (2 v^2),
    with F = f for the mean and F = (f - mu~)^2 (mu~ held fixed) for the variance."""
    with mpmath.workdps(dps):
        m, v = mpmath.mpf(m), mpmath.mpf(v)
        a, lm = mpmath.mpf(alpha), mpmath.mpf(lam)
        sd = mpmath.sqrt(v)

        def f(x):  # z = m + sd x
            z = m + sd * x
            return lm * z if z > 0 else lm * a * mpmath.expm1(z)

        kink = -m / sd
        pts = sorted({-40, 40, *([kink] if abs(kink) < 40 else [])})

        def mean(g):
            return mpmath.quad(lambda x: g(x) * mpmath.npdf(x), pts)

        mu = mean(f)
        out = []
        for F in (f, lambda x: (f(x) - mu) ** 2):
            out.append(mean(lambda x, F=F: F(x) * x) / sd)
            out.append(mean(lambda x, F=F: F(x) * (x * x - 1)) / (2 * v))
        return tuple(float(x) for x in out)


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
