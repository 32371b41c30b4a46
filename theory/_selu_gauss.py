r"""Building blocks of the SELU moment maps: constants, validation, Gaussian pieces.

Klambauer, Unterthiner, Mayr & Hochreiter (2017), arXiv:1706.02515. The public
functions live in :mod:`theory.selu_moments` (and its private modules); this module
holds what they share: :data:`ALPHA_01` and :data:`LAMBDA_01`, the argument checks,
and the Gaussian integrals of :math:`z \sim N(m, v)` with the stable centred variance
(``docs/derivations/selu_moments.md`` §2-§3, §12.1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import erfc
from scipy.special import erfcx

from theory._args import broadcast_shape as _broadcast
from theory._args import finite
from theory._args import positive
from theory._args import require

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def constants_01_mp():
    """α01, λ01 from their closed forms (derivations §2) as mpmath numbers, at the
    working precision of the caller's ``mpmath.workdps``."""
    import mpmath

    e, pi = mpmath.e, mpmath.pi
    c = mpmath.erfc(1 / mpmath.sqrt(2))
    alpha = mpmath.sqrt(2 / pi) / (1 - mpmath.sqrt(e) * c)
    lam = (1 - mpmath.sqrt(e) * c) * mpmath.sqrt(
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
    return alpha, lam


def _constants_01() -> tuple[float, float]:
    """α01, λ01 correctly rounded to float64.

    Evaluated at 40 significant digits so that the float64 values are the nearest
    doubles to the exact constants; plain float64 evaluation is off by 2-3 ulp.
    """
    import mpmath

    with mpmath.workdps(40):
        alpha, lam = constants_01_mp()
        return float(alpha), float(lam)


_ALPHA_01, _LAMBDA_01 = _constants_01()
#: The SELU α that makes :math:`\tilde\mu(\mu, 0, 1, 1) = 0`,
#: :math:`\alpha_{01} = \sqrt{2/\pi}\,/\,(1 - \sqrt{e}\,\mathrm{erfc}(1/\sqrt2))
#: = 1.67326324235437728481…` (``docs/derivations/selu_moments.md`` §2).
ALPHA_01: float = _ALPHA_01
#: The SELU scale that then makes :math:`\tilde\nu(\mu, 0, 1, 1) = 1`,
#: :math:`\lambda_{01} = 1.05070098735548049341…` (closed form in
#: ``docs/derivations/selu_moments.md`` §2, §12.2).
LAMBDA_01: float = _LAMBDA_01


# ======================================================================================
# Validation
# ======================================================================================


def _keep_rate(q: ArrayLike) -> np.ndarray:
    arr = finite("q", q)
    ok = (arr > 0) & (arr <= 1)
    require("q", arr, ok, "a keep rate in (0, 1]")
    return arr


def _selu_params(alpha: ArrayLike, lam: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    return finite("alpha", alpha), positive("lam", lam)


class _Pieces(NamedTuple):
    """Gaussian integrals of z ~ N(m, v) shared by the map and its Jacobian."""

    m: np.ndarray
    v: np.ndarray
    sqrt_v: np.ndarray
    a: np.ndarray  # m / sqrt(v)
    cdf: np.ndarray  # Φ(a) = P(z > 0)
    cdf_c: np.ndarray  # Φ(-a) = P(z <= 0)
    pdf: np.ndarray  # φ(a)
    e1: np.ndarray  # E[e^z 1{z<=0}] = e^{m+v/2} Φ(-(m+v)/√v)
    e2: np.ndarray  # E[e^{2z} 1{z<=0}] = e^{2m+2v} Φ(-(m+2v)/√v)
    relu1: np.ndarray  # E[max(z, 0)] = m Φ(a) + √v φ(a)
    relu2: np.ndarray  # E[max(z, 0)²] = (m² + v) Φ(a) + m √v φ(a)


# Below a = -_TAIL_A the ReLU moments come from a continued fraction (_relu_tail) with
# _TAIL_TERMS terms; above it from the plain forms, whose terms cancel to at most
# ~a^4 eps (5e-14 at a = -3, against 1e-15 for the fraction; 4e-8 at a = -30).
_TAIL_A, _TAIL_TERMS = 3.0, 80
# (m + 2v)/sqrt(v) below -_FAR_BELOW: _selu_moments uses the one-branch (lognormal)
# forms; Phi(-38) ~ 3e-316, so what they leave out is below 1e-300 relative.
_FAR_BELOW = 38.0


def _relu_tail(x: np.ndarray, cdf: np.ndarray, v: np.ndarray):
    r"""E[max(z, 0)] / √v and E[max(z, 0)²] at a = -x, x >= _TAIL_A, without
    cancellation (``docs/derivations/selu_moments.md`` §3).

    With the Mills ratio R = Φ(-x)/φ(x) = 1/(x + 1/D_1), D_k = x + (k+1)/D_{k+1}:
    aΦ(a) + φ(a) = φ(x)(1 - xR) = Φ(a)/D_1 and
    (a² + 1)Φ(a) + aφ(a) = 2Φ(a)/(D_1 D_2).
    """
    d2 = np.full_like(x, np.nan)
    d = x.copy()
    for k in range(_TAIL_TERMS, 0, -1):
        d2, d = d, x + (k + 1) / d
    return cdf / d, v * (2.0 * cdf / (d * d2))


def _scaled_tail(t: np.ndarray, log_prefactor: np.ndarray, a: np.ndarray):
    r"""``½ exp(log_prefactor) erfc(t)`` with ``t² = a²/2 + log_prefactor``.

    For ``t >= 0`` this is ``½ exp(-a²/2) erfcx(t)``, which never overflows (the
    plain form overflows near v = 1400). For ``t < 0`` the prefactor is below 1
    (``log_prefactor < 0`` there), so the plain form is used; erfcx of a large
    negative argument would overflow instead.
    """
    pos = t >= 0
    scaled = 0.5 * np.exp(-0.5 * a * a) * erfcx(np.where(pos, t, 0.0))
    plain = 0.5 * np.exp(np.minimum(log_prefactor, 0.0)) * erfc(np.where(pos, 0.0, t))
    return np.where(pos, scaled, plain)


def _pieces(m: np.ndarray, v: np.ndarray) -> _Pieces:
    sqrt_v = np.sqrt(v)
    a = m / sqrt_v
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # (m + v)/s and (m + 2v)/s; near v = 1e308, 2v (and so s = sqrt(2v))
        # overflow, so there they are split as m/s + sqrt(v/2) and m/s + sqrt(2v).
        huge = v > 1e300
        s = np.where(huge, _SQRT2 * sqrt_v, np.sqrt(2.0 * v))
        t1 = np.where(huge, m / s + sqrt_v / _SQRT2, (m + v) / s)
        t2 = np.where(huge, m / s + _SQRT2 * sqrt_v, (m + 2.0 * v) / s)
        cdf = 0.5 * erfc(-a / _SQRT2)
        cdf_c = 0.5 * erfc(a / _SQRT2)
        pdf = np.exp(-0.5 * a * a) / _SQRT2PI
        e1 = _scaled_tail(t1, m + 0.5 * v, a)
        e2 = _scaled_tail(t2, 2.0 * m + 2.0 * v, a)
        # m (m Φ) rather than m² Φ: for |m| > 1.3e154, m² overflows where Φ = 0.
        relu1 = m * cdf + sqrt_v * pdf
        relu2 = m * (m * cdf) + m * (sqrt_v * pdf) + v * cdf
        tail = a < -_TAIL_A
        if tail.any():
            relu1, relu2 = np.broadcast_arrays(relu1, relu2)
            relu1, relu2 = relu1.copy(), relu2.copy()
            v_t = np.broadcast_to(v, tail.shape)[tail]
            cdf_t = np.broadcast_to(cdf, tail.shape)[tail]
            p1, relu2[tail] = _relu_tail(-a[tail], cdf_t, v_t)
            relu1[tail] = np.sqrt(v_t) * p1
    return _Pieces(m, v, sqrt_v, a, cdf, cdf_c, pdf, e1, e2, relu1, relu2)


# Kink regime at small variance (|a| <= _FAR_BELOW, v <= _KINK_V): series in z of
# expm1(z) - z, truncated after z^_KINK_TERMS (|z| <~ 0.46 there: the rest is below
# 1e-19 of the leading term). Above 1e-4 the closed form loses at most ~7e-12.
_KINK_V, _KINK_TERMS = 1e-4, 16


def _psi(t, cdf_t, pdf_t):
    """psi(t) = phi(t) + t Phi(t) = E[max(x + t, 0)], x ~ N(0, 1), without the
    cancellation of the plain form for t < -_TAIL_A."""
    out = pdf_t + t * cdf_t
    tail = t < -_TAIL_A
    if np.any(tail):
        x = np.where(tail, -t, _TAIL_A)
        out = np.where(tail, _relu_tail(x, cdf_t, 1.0)[0], out)
    return out


def _upper_moments(b, p0, p1, n):
    """[P_0, ..., P_n], P_j = E[u^j 1{u >= 0}] for u ~ N(b, 1) given P_0 and P_1
    (P_j = b P_(j-1) + (j-1) P_(j-2)); divided by Phi(b) they are E[u^j | u >= 0]."""
    P = [p0, p1]
    for j in range(2, n + 1):
        P.append(b * P[j - 1] + (j - 1) * P[j - 2])
    return P


def _exp_below_kink(p: _Pieces) -> tuple[np.ndarray, np.ndarray]:
    """(E[e^z | z <= 0] - 1, Var(e^z | z <= 0)) for z ~ N(m, v), as used by the
    Jacobian (docs/derivations/selu_moments.md §4).

    For a >= 0 the ratios E[e^kz | z <= 0] = E_k / Phi(-a) are erfcx((a + k sqrt(v))
    / sqrt 2) / erfcx(a / sqrt 2): the Gaussian factors cancel exactly, so nothing
    underflows as Phi(-a) does. For a < 0, Phi(-a) >= 1/2 and E_k / Phi(-a) is used.
    Near the kink at small v (|a| <= _FAR_BELOW, v <= _KINK_V) both would cancel
    (the variance is O(v), the mean shift O(sqrt v)); there, with z = -sqrt(v) u and
    p_j = E[u^j | u >= 0], E[expm1(z) | .] = sum (-s)^j p_j / j! and
    E[expm1(z)^2 | .] = sum (2^j - 2)(-s)^j p_j / j!.
    """
    a, s = p.a, p.sqrt_v
    up = a >= 0
    au = np.where(up, a, 0.0)
    den = np.where(up, erfcx(au / _SQRT2), p.cdf_c)  # Phi(-a) >= 1/2 where a < 0
    r1 = np.where(up, erfcx((au + s) / _SQRT2), p.e1) / den
    r2 = np.where(up, erfcx((au + 2.0 * s) / _SQRT2), p.e2) / den
    shift, var = r1 - 1.0, r2 - r1 * r1
    kink = (np.abs(a) <= _FAR_BELOW) & (p.v <= _KINK_V)
    if np.any(kink):
        b = np.where(kink, -a, 0.0)
        # p_1 = psi(b) / Phi(b): 1 / D_1 of _relu_tail in the tail, where Phi(b)
        # may have underflowed to 0
        tail = b < -_TAIL_A
        p1_tail = _relu_tail(np.where(tail, -b, _TAIL_A), 1.0, 1.0)[0]
        cdf_c = np.where(tail, 1.0, p.cdf_c)
        p1 = np.where(tail, p1_tail, (p.pdf + b * cdf_c) / cdf_c)
        P = _upper_moments(b, 1.0, p1, 2 * _KINK_TERMS)
        ms, k1, k2 = -s, 0.0, 0.0
        for j in range(1, 2 * _KINK_TERMS + 1):
            term = ms**j * P[j] / math.factorial(j)
            k1, k2 = k1 + term, k2 + (2.0**j - 2.0) * term
        shift = np.where(kink, k1, shift)
        var = np.where(kink, k2 - k1 * k1, var)
    return shift, var


def _kink_series(m, v, s, a, cdf, cdf_c, pdf, alpha):
    """(E D, E D^2) of D = f/lam - k0 m, k0 = 1 (a >= 0) or alpha (a < 0), for z ~
    N(m, v) near the kink at small v (docs/derivations/selu_moments.md §3).

    With y = z - m = s x and r = expm1(z) - z on z <= 0, z = -s u, u ~ N(b, 1),
    b = -a: the truncated moments P_j = E[u^j 1{u >= 0}] (P_j = b P_(j-1) +
    (j-1) P_(j-2)) give E[r] = sum (-s)^j P_j / j!, E[y r] = -s sum (-s)^j
    P_(j-1)/(j-1)! (from P_(j+1) - b P_j = j P_(j-1)) and E[r^2]; the remaining
    pieces are half-normal moments of x. Every term is O(v) or smaller, so Var =
    E D^2 - (E D)^2 does not cancel as the centred closed form does (3.5e-8 relative
    at m = 0, v = 1e-8, no digit at v = 1e-16).
    """
    J = _KINK_TERMS
    b = -a
    P = _upper_moments(b, cdf_c, _psi(b, cdf_c, pdf), 2 * J)
    fact = [math.factorial(j) for j in range(2 * J + 1)]
    ms = -s
    R1 = sum(ms**j * P[j] / fact[j] for j in range(2, J + 1))
    RY = -s * sum(ms**j * P[j - 1] / fact[j - 1] for j in range(2, J + 1))
    R2 = sum(
        ms ** (i + j) * P[i + j] / (fact[i] * fact[j])
        for i in range(2, J + 1)
        for j in range(2, J + 1)
    )
    A2 = cdf - a * pdf  # E[x^2 1{x > -a}]
    B2 = cdf_c + a * pdf  # E[x^2 1{x <= -a}]
    v2 = s * s
    up = a >= 0
    # a >= 0 (k0 = 1): z > 0: D = y; z <= 0: D = alpha y + (alpha - 1) m + alpha r
    e = (alpha - 1.0) * m
    mean_up = s * (1.0 - alpha) * _psi(b, cdf_c, pdf) + alpha * R1
    sq_up = (
        v2 * A2
        + alpha**2 * v2 * B2
        + e * e * cdf_c
        - 2.0 * alpha * e * s * pdf
        + alpha**2 * (R2 + 2.0 * RY)
        + 2.0 * alpha * e * R1
    )
    # a < 0 (k0 = alpha): z > 0: D = y + (1 - alpha) m; z <= 0: D = alpha (y + r)
    e2 = (1.0 - alpha) * m
    mean_dn = s * (1.0 - alpha) * _psi(a, cdf, pdf) + alpha * R1
    sq_dn = (
        v2 * A2
        + 2.0 * e2 * s * pdf
        + e2 * e2 * cdf
        + alpha**2 * (v2 * B2 + 2.0 * RY + R2)
    )
    k0 = np.where(up, 1.0, alpha)
    return np.where(up, mean_up, mean_dn), np.where(up, sq_up, sq_dn), k0


def _selu_moments(p: _Pieces, alpha, lam) -> tuple[np.ndarray, np.ndarray]:
    """(E selu(z), Var selu(z)) with the variance centred to avoid cancellation.

    Var f = E(f - c)² - (E f - c)² for any c. With c = λm for m >= 0 the large
    linear part cancels analytically; with c = -λα for m < 0 the saturation value
    does. See docs/derivations/selu_moments.md §3.
    """
    m, v, sqrt_v, a, cdf, cdf_c, pdf, e1, e2, relu1, relu2 = p
    mean = lam * (relu1 + alpha * (e1 - cdf_c))
    tail = v * (cdf - a * pdf)  # E[(z - m)² 1{z > 0}]
    # m >= 0, c = λ m:
    d = alpha + m
    # d * (d * P) rather than d² P: for |m| > 1.3e154, d² overflows where P = 0.
    second_pos = tail + alpha**2 * e2 - 2.0 * alpha * (d * e1) + d * (d * cdf_c)
    shift_pos = sqrt_v * pdf + alpha * e1 - d * cdf_c
    var_pos = second_pos - shift_pos**2
    # m < 0, c = -λ α: E[(f/λ + α)²] = E[max(z,0)²] + 2α E[max(z,0)] + α²Φ(a)
    # + α² E[e^{2z} 1{z<=0}], each term >= 0.
    second_neg = relu2 + 2.0 * alpha * relu1 + alpha**2 * (cdf + e2)
    shift_neg = alpha * cdf + relu1 + alpha * e1
    var_neg = second_neg - shift_neg**2
    var = lam * lam * np.where(m >= 0, var_pos, var_neg)
    # Near the kink at small v: the series of _kink_series.
    kink = (np.abs(a) <= _FAR_BELOW) & (v <= _KINK_V)
    if np.any(kink):
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            ed, ed2, k0 = _kink_series(m, v, sqrt_v, a, cdf, p.cdf_c, pdf, alpha)
            mean = np.where(kink, lam * (k0 * m + ed), mean)
            var = np.where(kink, lam * lam * (ed2 - ed * ed), var)
    # Far above it (a > _FAR_BELOW; also where m/sqrt(v) overflows) f = lam z.
    above = a > _FAR_BELOW
    if np.any(above):
        mean = np.where(above, lam * m, mean)
        var = np.where(above, lam * lam * v, var)
    # Far below the kink, (m + 2v)/sqrt(v) < -_FAR_BELOW, the z > 0 side and the
    # truncation of the e^z, e^2z integrals weigh below 1e-300 of the result, and
    # f = lam alpha expm1(z) is one smooth branch: E f = lam alpha expm1(m + v/2) and
    # Var f = (lam alpha)^2 e^(2m+v) expm1(v) (lognormal), without the cancellation
    # of E(f - c)^2 - (E f - c)^2 at small v (4.2e-4 relative at m = -1, v = 1e-12).
    far = (m + 2.0 * v) < -_FAR_BELOW * sqrt_v
    if np.any(far):
        la = lam * alpha
        # (np.where evaluates both branches: the unused one may divide by zero)
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            mean = np.where(far, la * np.expm1(m + 0.5 * v), mean)
            # e^(2m+v) expm1(v) in logs: e^(2m+v) underflows where expm1(v) overflows
            big = v + np.log1p(-np.exp(-v))
            log_em1 = np.where(v > 1.0, big, np.log(np.expm1(v)))
            var = np.where(far, la * la * np.exp(2.0 * m + v + log_em1), var)
    return mean, np.maximum(var, 0.0)


def _pre_activation(mu, nu, omega, tau) -> tuple[np.ndarray, np.ndarray]:
    mu = finite("mu", mu)
    nu = positive("nu", nu)
    omega = finite("omega", omega)
    tau = positive("tau", tau)
    _broadcast(mu=mu, nu=nu, omega=omega, tau=tau)
    with np.errstate(over="ignore", under="ignore"):
        m, v = mu * omega, nu * tau
    require("mu * omega", m, np.isfinite(m), "finite (|m| <= 1.8e308)")
    require("nu * tau", v, np.isfinite(v) & (v > 0), "in (0, 1.8e308]")
    return m, v


def _finite_result(name: str, out, **inputs) -> None:
    """ValueError where a result left float64 (a true value beyond 1.8e308)."""
    for field, value in out._asdict().items():
        bad = ~np.isfinite(value)
        if np.any(bad):
            i = np.unravel_index(int(np.flatnonzero(bad.ravel())[0]), bad.shape)
            at = ", ".join(
                f"{k}={np.broadcast_to(v, bad.shape)[i]!r}" for k, v in inputs.items()
            )
            raise ValueError(
                f"{name}: {field} exceeds the float64 range (|value| > 1.8e308) at "
                f"{at}; the moments are finite only while about lam**2 * alpha**2 * "
                f"nu * tau and lam * |mu * omega| stay below 1e308"
            )
