r"""Shared by the RF ridge tests: ``test_rf_ridge.py``, ``test_rf_ridge_properties.py``.

An independent reference for :func:`theory.rf_ridge_risk`: the
``docs/derivations/rf_ridge.md`` §0 equations (the RF eigenframework of
arXiv:2311.14646) solved one cell at a time with :func:`scipy.optimize.brentq`,
sharing no code with ``theory``; field comparisons; and the power-law spectra and
hypothesis strategies of derivations §8.2.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from scipy.optimize import brentq

from tests._tolerances import IMPL_RTOL
from theory import RFRiskPrediction
from theory import rf_ridge_risk

F64 = IMPL_RTOL[np.dtype(np.float64)]
FIELDS = RFRiskPrediction._fields
EPS = np.finfo(np.float64).eps


# ==============================================================================
# Independent reference: the derivations §0 equations, one cell at a time, brentq
# ==============================================================================


def _brentq(f, lo, hi):
    return brentq(f, lo, hi, xtol=1e-15, rtol=4 * EPS, maxiter=1000)


def _L(lam, g):
    return lam / (lam + g)


def _1mL(lam, g):
    """1 - L_i = gamma / (lambda_i + gamma), without cancellation where L_i ~ 1."""
    return g / (lam + g)


def ref_gamma_k(lam, k):
    """gamma_k: sum_i lam_i / (lam_i + gamma_k) = k (the pole of §1); 0 if k >= M."""
    if k >= lam.size:
        return 0.0
    t = _brentq(
        lambda t: _L(lam, np.exp(t)).sum() - k,
        np.log(lam.min()) - 80,
        np.log(lam.sum() / k) + 1,
    )
    return float(np.exp(t))


def ref_krr(lam, v2, n, ridge, noise):
    """KRR (derivations §0): kappa by brentq in log kappa, then E_0, E_te, E_tr."""
    t = _brentq(
        lambda t: _L(lam, np.exp(t)).sum() + ridge / np.exp(t) - n,
        np.log(ridge / n) - 1,  # there delta/kappa = e n > n
        np.log(lam.sum() + ridge) + 1,  # there z, delta/kappa < 1/e each, sum < n
    )
    kappa = float(np.exp(t))
    L = _L(lam, kappa)
    z, q = L.sum(), (L * L).sum()
    e0 = n / (n - q)
    test = e0 * (np.sum(_1mL(lam, kappa) ** 2 * v2) + noise)
    return _fields(test, n, ridge, kappa, kappa, e0, z, q)


def _fields(test, n, ridge, kappa, gamma, e0, z, q):
    """The rf_ridge_risk fields from the test risk and the order parameters
    (E_tr = (delta / (n kappa))^2 E_te, derivations §0)."""
    return dict(
        test_risk=test,
        train_risk=(ridge / (n * kappa)) ** 2 * test,
        kappa=kappa,
        gamma=gamma,
        overfitting_coeff=e0,
        learnability_sum=z,
        learnability_sq_sum=q,
    )


def _rf_risks(lam, v2, n, k, gamma, kappa, ridge, noise):
    """RF risk formulas (derivations §0) at given (gamma, kappa), x-form of E_0."""
    L = _L(lam, gamma)
    z, q = L.sum(), (L * L).sum()
    x = (q * (k - 2 * z) + z * z) / (n * (k - q))
    e0 = 1 / (1 - x)
    b = _1mL(lam, gamma) * (1 - L * (k - z) / (k - q))
    test = e0 * (np.sum(b * v2) + noise)
    return _fields(test, n, ridge, kappa, gamma, e0, z, q)


def ref_rf(lam, v2, n, k, ridge, noise):
    r"""RF via the one-line form F(gamma) = z + delta k/(gamma (k - z)) - n = 0.

    F decreases on (gamma_k, inf) (z decreases, gamma (k - z) increases); brentq in
    log gamma. kappa is then taken from whichever of (R1) kappa = delta/(n - z) and
    (R2) kappa = gamma (1 - z/k) has the larger relative gap, so no cancellation.
    """
    if k == np.inf:
        return ref_krr(lam, v2, n, ridge, noise)

    def F(t):
        g = np.exp(t)
        z = _L(lam, g).sum()
        return z + ridge * k / (g * (k - z)) - n

    gk = ref_gamma_k(lam, k)
    if gk > 0:
        for step in (1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12):
            lo = np.log(gk) + step
            if k - _L(lam, np.exp(lo)).sum() > 0 and F(lo) > 0:
                break
        else:  # pragma: no cover - would be a reference failure, not a test
            raise RuntimeError("no lower bracket")
    else:
        lo = np.log(lam.min()) - 80
    hi = np.log(max(lam.max(), ridge / n))
    while F(hi) >= 0:
        hi += np.log(2.0)
    gamma = float(np.exp(_brentq(F, lo, hi)))
    z = _L(lam, gamma).sum()
    if (n - z) / n >= (k - z) / k:
        kappa = ridge / (n - z)
    else:
        kappa = gamma * (1 - z / k)
    return _rf_risks(lam, v2, n, k, gamma, kappa, ridge, noise)


def ref_ridgeless(lam, v2, n, k, noise):
    """Ridgeless closed forms (derivations §4; KRR: §0 at delta = 0), n != k."""
    M = lam.size
    if min(n, k) >= M:  # every mode learned: L_i = 1, OLS on M directions
        e0 = n / (n - M)
        test = e0 * noise
        return dict(
            test_risk=test,
            train_risk=(1 - M / n) ** 2 * test,
            kappa=0.0,
            gamma=0.0,
            overfitting_coeff=e0,
            learnability_sum=float(M),
        )
    if n < k:  # gamma solves z(gamma) = n, kappa = gamma (1 - n/k)
        gamma = ref_gamma_k(lam, n)
        L = _L(lam, gamma)
        q = (L * L).sum()
        if k == np.inf:
            e0, d, kappa = n / (n - q), 1.0, gamma
        else:
            e0 = n * (k - q) / ((n - q) * (k - n))
            d, kappa = (k - n) / (k - q), gamma * (1 - n / k)
        b = _1mL(lam, gamma) * (1 - L * d)
        train = 0.0
    else:  # n > k: gamma = gamma_k, kappa = 0, b_i = 1 - L_i
        gamma = ref_gamma_k(lam, k)
        L = _L(lam, gamma)
        e0, kappa = n / (n - k), 0.0
        b = _1mL(lam, gamma)
    test = e0 * (np.sum(b * v2) + noise)
    if n > k:
        train = (1 - k / n) ** 2 * test
    return dict(
        test_risk=test,
        train_risk=train,
        kappa=kappa,
        gamma=gamma,
        overfitting_coeff=e0,
        learnability_sum=float(min(n, k)),  # z = min(n, k) when that is below M
    )


def _cell(out, idx=()):
    return {f: float(np.asarray(getattr(out, f))[idx]) for f in FIELDS}


def assert_fields_close(got: dict, want: dict, rtol: float, context=""):
    for name, w in want.items():
        g = got[name]
        if w == 0.0:  # exact zeros of the ridgeless branches (kappa, E_tr)
            assert g == 0.0, f"{name}: {g!r} != 0 {context}"
        else:
            assert abs(g - w) <= rtol * abs(w), (
                f"{name}: got {g!r}, reference {w!r}, "
                f"rel err {abs(g - w) / abs(w):.2e} > {rtol:g} {context}"
            )


def assert_rounds_to(value: float, printed: str):
    """``value`` agrees with a number printed to its last digit (half a unit)."""
    decimals = len(printed.split(".")[1])
    assert abs(value - float(printed)) <= 0.5 * 10.0**-decimals, (value, printed)


class PowerLaw(NamedTuple):
    """lambda_i = c i^-alpha, v_i^2 = i^-beta, i = 1..M (strategies of §8.2)."""

    alpha: float
    beta: float
    M: int
    c: float

    @property
    def lam(self):
        return self.c * np.arange(1, self.M + 1, dtype=np.float64) ** -self.alpha

    @property
    def v2(self):
        return np.arange(1, self.M + 1, dtype=np.float64) ** -self.beta


@st.composite
def power_laws(draw, max_modes=2000):
    alpha = draw(st.floats(1.05, 3.0))
    beta = draw(st.floats(1.05, 2 * alpha + 0.9))
    M = draw(st.integers(50, max_modes))
    c = 10 ** draw(st.floats(-1.0, 1.0))
    return PowerLaw(alpha, beta, M, c)


# The paper's Gaussian setting (derivations §8.3) with M capped at 2000 for speed.
PAPER = PowerLaw(1.5, 1.5, 2000, 1.0)

ns = st.integers(1, 2000)
ks_finite = st.integers(1, 5000)
ks = st.one_of(ks_finite, st.just(np.inf))
ridges = st.floats(-6.0, 2.0).map(lambda e: 10.0**e)
noises = st.floats(0.0, 2.0)


def _run(s: PowerLaw, **kw):
    out = rf_ridge_risk(s.lam, s.v2, **kw)
    return {f: np.asarray(getattr(out, f), dtype=np.float64) for f in FIELDS}
