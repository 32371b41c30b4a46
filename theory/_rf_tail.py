r"""The analytic tail :class:`PowerLawTail` of a power-law task.

Sums over the modes :math:`i > M` of the power-law eigenstructure of Section 5 of
Simon, Karkada, Ghosh & Belkin (2024), arXiv:2311.14646, for
:func:`theory.rf_ridge.rf_ridge_risk`'s ``tail=`` argument: the first modes
explicitly (as many as the Euler-Maclaurin remainder needs), then midpoint
integrals as incomplete beta functions (their series in ``y`` and in ``1 - y``)
plus the midpoint Euler-Maclaurin corrections. Derivations:
``docs/derivations/rf_powerlaw.md`` §1, §6.1. Public through :mod:`theory.rf_powerlaw`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from theory._args import broadcast as _broadcast
from theory._args import plain
from theory._args import require
from theory._powerlaw_checks import _as_float
from theory._powerlaw_checks import _check_alpha
from theory._powerlaw_checks import _check_beta
from theory._powerlaw_checks import _check_count
from theory._powerlaw_checks import _check_scalar

__all__ = ["PowerLawTail"]

_MAX_LOG = 700.0  # log of the largest X**alpha handled (float64 max is e^709.8)
_DEFAULT_N_TERMS = 64  # series truncation error <= ~n 2^-n: below float64 rounding
# The binomial series of the branch y > 1/2 alternates for Q > 1; its largest term
# exceeds the sum by up to ~3^Q near y = 1/2 (rounding error <= 3.6e-16 relative at
# Q = 3 against mpmath quadrature; 4e-9 at Q = 17 and O(1) at Q = 35 before). Above
# Q = 3 each point also gets the positive series in y, and keeps whichever of the
# two has the smaller error bound (docstring of _tail_value).
_Q_ALTERNATING = 3.0
# Explicit modes M < i <= K, K + 1/2 >= X_min(c), c = alpha + max(alpha, beta), the
# fastest decay x^-(p + alpha m1) of the four summands: the first omitted midpoint
# Euler-Maclaurin term is |B_8(1/2)|/8! f^(7)(X), and for f ~ x^-c it is
# |B_8(1/2)|/8! (c)_7 (c - 1) / X^8 of the sum (less where L bends the power law);
# X_min makes the bound |B_8(1/2)|/8! (c)_7 c / X^8 equal _EM_REMAINDER.
_EM_REMAINDER = 1e-15
_B8_HALF = (1 - 2.0**-7) / 30 / math.factorial(8)  # |B_8(1/2)| / 8!


def _max_modes(alpha: float) -> int:
    """The largest K with alpha * log(K + 1/2) <= _MAX_LOG."""
    K = math.floor(math.exp(_MAX_LOG / alpha) - 0.5)
    return K if alpha * math.log(K + 0.5) <= _MAX_LOG else K - 1


def _em_start(c: float) -> float:
    """X_min: the midpoint X from which three corrections leave <= _EM_REMAINDER."""
    rising = math.prod(c + r for r in range(7))
    return (_B8_HALF * rising * c / _EM_REMAINDER) ** 0.125


_CHUNK = 1 << 18  # ridges x explicit modes evaluated at once
_TINY_T = 1e-300  # below this t = gamma X^alpha, logs replace the powers of 1 - L(X)


class _TailIntegral(NamedTuple):
    r"""Coefficients of :math:`V(y) = t^h B_y(Q, P)` for one tail integral.

    :math:`B_y(Q,P) = \int_0^y s^{Q-1}(1-s)^{P-1} ds` (any real P, Q > 0),
    :math:`y = 1/(1+t)`, :math:`\varepsilon = 1-y`, :math:`t = \gamma X^\alpha`.
    """

    Q: float
    P: float
    h: float
    lower: np.ndarray  # (m)_j / (Q+1)_j, m = Q + P: the series in y (y <= 1/2)
    upper: np.ndarray  # (1-Q)_k / k!: the binomial series in 1 - s (y > 1/2)
    B_half: float  # B_{1/2}(Q, P)
    # Q > _Q_ALTERNATING only: the series in y to 2 n_terms terms plus its next
    # coefficient (for y > 1/2 where it beats the alternating binomial series)
    long: np.ndarray | None
    X_ah: float  # X**(alpha h): (1 - L(X))**h = gamma**h X_ah where t is tiny
    log_Xa: float  # alpha ln X: ln(1 - L(X)) = ln(gamma) + log_Xa there


def _tail_integral(
    Q: float, P: float, h: float, n_terms: int, X: float, alpha: float
) -> _TailIntegral:
    n_long = 2 * n_terms if Q > _Q_ALTERNATING else n_terms
    j = np.arange(n_long, dtype=np.float64)
    coef = np.concatenate([[1.0], np.cumprod((Q + P + j) / (Q + 1 + j))])
    lower = coef[:n_terms]
    j = np.arange(n_terms - 1, dtype=np.float64)
    upper = np.concatenate([[1.0], np.cumprod((1 - Q + j) / (1 + j))])
    S_half = np.polynomial.polynomial.polyval(0.5, lower)
    long = coef if Q > _Q_ALTERNATING else None
    B_half = 0.5 ** (Q + P) * S_half / Q
    log_Xa = alpha * math.log(X)
    try:
        X_ah = X ** (alpha * h)
    except OverflowError:  # beta >~ 700 / ln X; _tail_value takes the log form
        X_ah = math.inf
    return _TailIntegral(Q, P, h, lower, upper, B_half, long, X_ah, log_Xa)


def _tail_value(
    c: _TailIntegral, y: np.ndarray, eps: np.ndarray, g: np.ndarray
) -> np.ndarray:
    r""":math:`V = t^h B_y(Q,P)` with :math:`t = \varepsilon / y`, without overflow.

    ``y <= 1/2``: :math:`V = y^{Q-h}\varepsilon^{P+h} S(y)/Q` with the positive series
    :math:`S(y) = \sum_j (Q+P)_j/(Q+1)_j\, y^j` (Q - h and P + h are the integer
    powers of L and 1 - L in the integrand). ``y > 1/2``: :math:`B_y = B_{1/2} +
    \sum_k (1-Q)_k/k! \int_\varepsilon^{1/2} r^{P+k-1} dr`, each integral taken as
    :math:`\varepsilon^{s}\Lambda\,\mathrm{exprel}(s\Lambda)`,
    :math:`\Lambda = \ln(1/2\varepsilon)`, where :math:`|s\Lambda| \le 1` (this is
    the log at :math:`s = 0`) and in closed form elsewhere. That series alternates
    for Q > 1; for Q > ``_Q_ALTERNATING`` (then P < 0 and every term of S is
    positive, coefficients decreasing) a point with y > 1/2 uses S to ``2 n_terms``
    terms instead when S's remainder bound :math:`c_N y^N/(1-y)` relative is below
    the binomial series' rounding bound, eps times (sum of its terms' magnitudes) /
    |sum|. Where :math:`\varepsilon <` ``_TINY_T`` (then :math:`\varepsilon = t`
    to rounding but may be subnormal or 0), :math:`\varepsilon^h` and
    :math:`\ln\varepsilon` are formed from :math:`\gamma` (``g``) as
    :math:`\gamma^h X^{\alpha h}` (pow takes a subnormal :math:`\gamma` exactly;
    the product only over- or underflows where the result does) and
    :math:`\ln\gamma + \alpha\ln X`.
    """
    out = np.empty_like(y)
    low = y <= 0.5
    if low.any():
        yl, el = y[low], eps[low]
        S = np.polynomial.polynomial.polyval(yl, c.lower)
        with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
            out[low] = yl ** (c.Q - c.h) * el ** (c.P + c.h) * S / c.Q
    high = ~low
    if high.any():
        yh, eh = y[high], eps[high]
        s = c.P + np.arange(c.upper.size)
        with np.errstate(
            divide="ignore", invalid="ignore", over="ignore", under="ignore"
        ):
            e_h, lam = eh**c.h, np.log(0.5 / eh)
            tiny = eh < _TINY_T
            any_tiny = bool(tiny.any())
            if any_tiny:
                g_tiny = g[high][tiny]
                log_e = np.log(g_tiny) + c.log_Xa
                if math.isfinite(c.X_ah):
                    e_h[tiny] = g_tiny**c.h * c.X_ah
                else:
                    e_h[tiny] = np.exp(c.h * log_e)
                lam[tiny] = -math.log(2.0) - log_e
            e_h, lam = e_h[:, None], lam[:, None]
            sl = s * lam
            near = np.abs(sl) <= 1.0
            close = eh[:, None] ** (s + c.h) * lam * special.exprel(sl)
            far = (0.5**s * e_h - eh[:, None] ** (s + c.h)) / s
            T = np.where(near, close, far)
            total = e_h[:, 0] * c.B_half + T @ c.upper
            # e_h = inf: the sum (positive, dominated by e_h B_half) overflows float64
            if any_tiny:
                total = np.where(np.isinf(e_h[:, 0]), np.inf, total)
            value = yh**-c.h * total
            if c.long is not None:
                size = np.abs(e_h[:, 0] * c.B_half) + np.abs(T) @ np.abs(c.upper)
                err_binomial = np.finfo(np.float64).eps * size / np.abs(total)
                n = c.long.size - 1
                S = np.polynomial.polynomial.polyval(yh, c.long[:n])
                err_series = c.long[n] * yh**n / (eh * S)
                series = yh ** (c.Q - c.h) * eh ** (c.P + c.h) * S / c.Q
                value = np.where(err_series < err_binomial, series, value)
            out[high] = value
    return out


# Midpoint Euler-Maclaurin weights -B_{2k}(1/2)/(2k)! of f^{(2k-1)}(X), k = 1, 2, 3.
_EM_WEIGHTS = ((1, 1 / 24), (3, -7 / 5760), (5, 31 / 967680))


def _em_coefficients(p: float, m1: int, m2: int, alpha: float, n: int) -> np.ndarray:
    r"""Coefficients c of :math:`X^{p+n} f^{(n)}(X) = \sum_a c_a L^a (1-L)^{deg-a}`.

    For :math:`f = x^{-p} L^{m_1}(1-L)^{m_2}`, :math:`L = 1/(1+\gamma x^\alpha)`:
    :math:`x^n d^n/dx^n = \prod_{r<n}(D - r)` with :math:`D = x\,d/dx`,
    :math:`DL = -\alpha L(1-L)`. Every term keeps the factors :math:`L^{m_1}` and
    :math:`(1-L)^{m_2}`, so evaluating it does not cancel where L or 1 - L is tiny.
    """
    c = np.zeros(m1 + m2 + 1)
    c[m1] = 1.0
    for r in range(n):
        deg = c.size - 1
        j = np.arange(deg + 1)
        new = np.zeros(deg + 2)
        new[:-1] += (-p - r - alpha * j) * c
        new[1:] += (-p - r + alpha * (deg - j)) * c
        c = new
    return c


class _TailPart(NamedTuple):
    """One tail sum: ``scale * V(y) + sum_k weight_k * poly_k(L(X), 1 - L(X))``."""

    integral: _TailIntegral
    scale: float
    em: tuple[tuple[float, np.ndarray], ...]


def _tail_part(p, m1, m2, alpha, X, n_terms) -> _TailPart:
    r"""Tail of :math:`\sum_{i>M} i^{-p} L_i^{m_1}(1-L_i)^{m_2}` (p = 0 or beta).

    :math:`\int_X^\infty x^{-p}L^{m_1}(1-L)^{m_2}dx = \frac{X^{1-p}}{\alpha}
    t^{h} B_y(Q, P)` with :math:`h = (p-1)/\alpha`, :math:`Q = m_1 + h`,
    :math:`P = m_2 - h` (``docs/derivations/rf_powerlaw.md``).
    """
    h = (p - 1) / alpha
    integral = _tail_integral(m1 + h, m2 - h, h, n_terms, X, alpha)
    em = tuple(
        (w * X ** (-p - n), _em_coefficients(p, m1, m2, alpha, n))
        for n, w in _EM_WEIGHTS
    )
    return _TailPart(integral, X ** (1 - p) / alpha, em)


def _eval_part(
    part: _TailPart, g: np.ndarray, y: np.ndarray, eps: np.ndarray
) -> np.ndarray:
    flat_y, flat_e = y.ravel(), eps.ravel()
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        out = part.scale * _tail_value(part.integral, flat_y, flat_e, g.ravel())
        for weight, c in part.em:
            j = np.arange(c.size)
            basis = flat_y[:, None] ** j * flat_e[:, None] ** (c.size - 1 - j)
            out = out + weight * (basis @ c)
    return out.reshape(y.shape)


@dataclass(frozen=True)
class PowerLawTail:
    r"""Analytic sums over the modes :math:`i > M` of a power-law task.

    Satisfies :class:`theory.rf_ridge.SpectrumTail`, so that
    ``rf_ridge_risk(*powerlaw_spectrum(a, b, M), ..., tail=PowerLawTail(a, b, M))``
    is the RF/KRR eigenframework of arXiv:2311.14646 for the untruncated spectrum
    :math:`\lambda_i = i^{-\alpha}`, :math:`v_i^2 = i^{-\beta}`, ``i = 1, 2, ...``
    (``docs/derivations/rf_powerlaw.md`` §1, §6.1). With
    :math:`L_i = \lambda_i/(\lambda_i+\gamma)`:

    .. math::

        \sum_{i>M} L_i, \qquad \sum_{i>M} L_i^2, \qquad
        \sum_{i>M} (1-L_i)(1-dL_i)\,v_i^2
        = \sum_{i>M}(1-L_i)^2 v_i^2 + (1-d)\sum_{i>M} L_i(1-L_i)\, v_i^2 .

    Each sum :math:`\sum_{i>M} f(i)` is the explicit modes :math:`M < i \le K`
    plus the midpoint integral :math:`\int_X^\infty f(x)\,dx`, :math:`X = K + 1/2`,
    plus the midpoint Euler-Maclaurin corrections :math:`f'(X)/24 - 7f'''(X)/5760 +
    31 f^{(5)}(X)/967680`. The summands decay like :math:`x^{-c}` at most,
    :math:`c = \alpha + \max(\alpha, \beta)`, so the first omitted term is at
    most :math:`|B_8(\tfrac12)|/8!\,(c)_7\, c/X^8` of the sum; K is the smallest
    :math:`K \ge M` that makes this bound <= 1e-15 (K + 1/2 = 53.5 at c = 2, 68.5
    at c = 3, 293.5 at c = 20, about 13 c beyond), so any ``M >= 1`` is accurate and
    modes below K cost one term per ridge each. Measured against
    ``math.fsum`` of the modes up to K + 600 plus a 30-digit mpmath tail beyond
    (``betainc`` integral plus corrections), worst over the four sums and over
    13 ridges with :math:`\gamma X^\alpha \in [10^{-6}, 10^6]`: 1.1e-15 at
    ``M = 1`` and ``M = 5``, 1.3e-15 at ``M = 50`` for
    :math:`\alpha \in \{1.1, 1.3, 1.5, 2\}`,
    :math:`\beta \in \{1.01, 1.5, 2.5, 3, 4\}`; 7.8e-16 (``M = 1``) and
    5.6e-16 (``M = 50``) for :math:`\alpha \in \{1.5, 4, 10, 50\}`,
    :math:`\beta \in \{2, 6, 20, 40\}` (5 ridges).
    The integrals are incomplete beta functions in
    :math:`y = u/(1+u) = L(X)`, :math:`u = 1/(\gamma X^\alpha)`, evaluated exactly for
    every :math:`\gamma \ge 0`: by a positive series in ``y`` for :math:`u \le 1`
    (the Pfaff transform of the alternating series in ``u``, derivations §1.2, which
    diverges for :math:`u \ge 1`, a range the solver's brackets reach) and by a
    binomial series in :math:`1 - y` beyond. That binomial series alternates, with
    terms up to ~:math:`3^Q` times its sum (Q = h + m1, h = (beta - 1)/alpha for
    the bias sums); for Q > 3 each ridge with u > 1 takes whichever of it and the
    positive series in y (to ``2 n_terms`` terms) has the smaller error bound, which
    keeps large h (beta >> alpha) at rounding level. At subnormal :math:`\gamma`
    the powers of :math:`1 - L(X) = \gamma X^\alpha` are formed from
    :math:`\gamma` itself, so the sums stay finite, ~:math:`\gamma^{-1/\alpha}`
    (``inf`` only where that exceeds float64). ``trace`` is exact, the Hurwitz zeta
    function :math:`\zeta(\alpha, M+1)`.

    Args:
      alpha: eigenvalue exponent :math:`\alpha > 1`.
      beta: target exponent :math:`\beta > 1` (any; the closed form of Section 5
        additionally needs :math:`\beta < 2\alpha + 1`, the tail does not).
      num_modes: number M of explicit modes the tail starts after, integer >= 1.
      n_terms: number of terms of each series (both converge at least like
        :math:`2^{-n}`). Worst relative error of the integrals
        :math:`t^h B_y(Q,P)` against 30-digit ``mpmath.betainc``, over
        :math:`\alpha \in \{1.1, 1.3, 1.5, 2\}`,
        :math:`\beta \in \{1.01, 1.5, 2.5, 4\}`, 49 values
        :math:`t = \gamma X^\alpha \in [10^{-6}, 10^6]` and all four sums (worst
        near t = 1): 1.4e-4 at 16 terms, 3.9e-9 at 32, 8.7e-14 at 48; the default
        64 is rounding-limited (1.8e-15) and costs about 64 flops per ridge and
        sum (128 for a sum with Q > 3, which also takes the series in y).

    Attributes:
      trace: :math:`\sum_{i>M} i^{-\alpha}`.

    Raises:
      ValueError: ``alpha <= 1``, ``beta <= 1``, ``num_modes`` or ``n_terms`` not an
        integer >= 1 (a bool is not accepted); from the methods, a negative or NaN
        ``gamma``, and from ``bias`` a ``d`` outside [0, 1].

    Examples:
      >>> tail = PowerLawTail(1.5, 1.25, 2000)
      >>> lam = np.arange(2001, 2_000_001) ** -1.5
      >>> far = PowerLawTail(1.5, 1.25, 2_000_000).sums(1e-3)[0]
      >>> brute = (lam / (lam + 1e-3)).sum() + far
      >>> bool(abs(tail.sums(1e-3)[0] / brute - 1) < 1e-12)
      True
    """

    alpha: float
    beta: float
    num_modes: int
    n_terms: int = _DEFAULT_N_TERMS
    trace: float = field(init=False, repr=False, compare=False)
    _X: float = field(init=False, repr=False, compare=False)
    _parts: tuple[_TailPart, ...] = field(init=False, repr=False, compare=False)
    _explicit: tuple[np.ndarray, np.ndarray] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        a = _check_scalar("alpha", _check_alpha(self.alpha))
        b = _check_scalar("beta", _check_beta(self.beta))
        for name in ("num_modes", "n_terms"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        m = _check_count("num_modes", self.num_modes, 1)
        n_terms = _check_count("n_terms", self.n_terms, 1)
        if a * math.log(m + 0.5) > _MAX_LOG:
            raise ValueError(
                f"alpha * log(num_modes + 1/2) must be <= {_MAX_LOG:g}: the tail "
                f"eigenvalues i**-alpha underflow float64, got alpha={plain(a)!r}, "
                f"num_modes={m!r}"
            )
        # modes m < i <= K summed explicitly; integral + corrections from X = K + 1/2
        # capped where X**alpha would pass e^_MAX_LOG (alpha >~ 60): the modes
        # beyond are below e^-700 of mode M + 1, the remainder with them
        K = max(m, min(math.ceil(_em_start(a + max(a, b)) - 0.5), _max_modes(a)))
        X = K + 0.5
        i = np.arange(m + 1, K + 1, dtype=np.float64)
        explicit = (i**a, i**-b)
        parts = tuple(  # L, L^2, (1-L)^2 v^2, L(1-L) v^2
            _tail_part(p, m1, m2, a, X, n_terms)
            for p, m1, m2 in [(0.0, 1, 0), (0.0, 2, 0), (b, 0, 2), (b, 1, 1)]
        )
        for name, value in [
            ("alpha", a),
            ("beta", b),
            ("num_modes", m),
            ("n_terms", n_terms),
            ("trace", float(special.zeta(a, m + 1))),
            ("_X", X),
            ("_parts", parts),
            ("_explicit", explicit),
        ]:
            object.__setattr__(self, name, value)

    def _yeps(self, gamma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = _as_float("gamma", gamma)
        require("gamma", g, g >= 0, ">= 0")
        with np.errstate(divide="ignore", over="ignore", under="ignore"):
            t = g * self._X**self.alpha
            y, eps = 1.0 / (1.0 + t), 1.0 / (1.0 + 1.0 / t)  # L(X) and 1 - L(X)
            tiny = t < _TINY_T
            if tiny.any():  # 1/t overflows there; eps = t (1 - t) = t to rounding
                eps = np.where(tiny, t, eps)
        return g, y, eps

    def _modes(self, g: np.ndarray, p: int) -> tuple[np.ndarray, ...]:
        """Explicit sums over M < i <= K of L, L^2 (p = 0) or B2, B1 (p = 1)."""
        lam_inv, v2 = self._explicit
        if lam_inv.size == 0:
            return 0.0, 0.0
        flat = g.ravel()
        out = np.empty((2, flat.size))
        rows = max(1, _CHUNK // lam_inv.size)  # bounds the (ridges, modes) arrays
        for start in range(0, flat.size, rows):
            with np.errstate(divide="ignore", over="ignore", under="ignore"):
                t = flat[start : start + rows, None] * lam_inv  # gamma / lambda_i
                L, one_minus_L = 1.0 / (1.0 + t), 1.0 / (1.0 + 1.0 / t)
            if p == 0:
                pair = L, L * L
            else:
                pair = one_minus_L**2 * v2, L * one_minus_L * v2
            for row, terms in zip(out, pair, strict=True):
                row[start : start + rows] = terms.sum(axis=-1)
        return out[0].reshape(g.shape), out[1].reshape(g.shape)

    def sums(self, gamma: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`\sum_{i>M} L_i` and :math:`\sum_{i>M} L_i^2` at ridge(s) ``gamma``.

        Args:
          gamma: effective ridge(s) :math:`\gamma \ge 0`, any shape.

        Returns:
          Two float64 arrays of the shape of ``gamma`` (``inf`` at ``gamma = 0``).

        Raises:
          ValueError: a negative or NaN ``gamma``.
        """
        g, y, eps = self._yeps(gamma)
        z, q = (_eval_part(part, g, y, eps) for part in self._parts[:2])
        z_modes, q_modes = self._modes(g, 0)
        z, q = z + z_modes, q + q_modes
        return np.where(g == 0, np.inf, z), np.where(g == 0, np.inf, q)

    def bias(self, gamma: ArrayLike, d: ArrayLike) -> np.ndarray:
        r""":math:`\sum_{i>M}(1-L_i)(1-dL_i)\,i^{-\beta}`, broadcast over ``gamma, d``.

        Args:
          gamma: effective ridge(s) :math:`\gamma \ge 0`.
          d: the RF weight :math:`d = (k-z)/(k-q) \in [0, 1]` (1 for KRR).

        Returns:
          float64 array of the broadcast shape (0 at ``gamma = 0``).

        Raises:
          ValueError: a negative or NaN ``gamma``, or ``d`` outside [0, 1] or NaN.
        """
        g, y, eps = self._yeps(gamma)
        d = _as_float("d", d)
        require("d", d, (d >= 0) & (d <= 1), "in [0, 1]")
        _broadcast(gamma=g, d=d)
        B2, B1 = (_eval_part(part, g, y, eps) for part in self._parts[2:])
        B2_modes, B1_modes = self._modes(g, 1)
        B2, B1 = B2 + B2_modes, B1 + B1_modes
        return np.where(g == 0, 0.0, B2 + (1 - d) * B1)
