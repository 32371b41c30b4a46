r"""The analytic tail :class:`PowerLawTail` of a power-law task.

Sums over the modes :math:`i > M` of the power-law eigenstructure of Section 5 of
Simon, Karkada, Ghosh & Belkin (2024), arXiv:2311.14646, for
:func:`theory.rf_ridge.rf_ridge_risk`'s ``tail=`` argument: midpoint integrals as
incomplete beta functions (their series in ``y`` and in ``1 - y``) plus the midpoint
Euler-Maclaurin corrections. Derivations: ``docs/derivations/rf_powerlaw.md`` §1,
§6.1. Public through :mod:`theory.rf_powerlaw`.
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


def _tail_integral(Q: float, P: float, h: float, n_terms: int) -> _TailIntegral:
    j = np.arange(n_terms - 1, dtype=np.float64)
    lower = np.concatenate([[1.0], np.cumprod((Q + P + j) / (Q + 1 + j))])
    upper = np.concatenate([[1.0], np.cumprod((1 - Q + j) / (1 + j))])
    S_half = np.polynomial.polynomial.polyval(0.5, lower)
    return _TailIntegral(Q, P, h, lower, upper, 0.5 ** (Q + P) * S_half / Q)


def _tail_value(c: _TailIntegral, y: np.ndarray, eps: np.ndarray) -> np.ndarray:
    r""":math:`V = t^h B_y(Q,P)` with :math:`t = \varepsilon / y`, without overflow.

    ``y <= 1/2``: :math:`V = y^{Q-h}\varepsilon^{P+h} S(y)/Q` with the positive series
    :math:`S(y) = \sum_j (Q+P)_j/(Q+1)_j\, y^j` (Q - h and P + h are the integer
    powers of L and 1 - L in the integrand). ``y > 1/2``: :math:`B_y = B_{1/2} +
    \sum_k (1-Q)_k/k! \int_\varepsilon^{1/2} r^{P+k-1} dr`, each integral taken as
    :math:`\varepsilon^{s}\Lambda\,\mathrm{exprel}(s\Lambda)`,
    :math:`\Lambda = \ln(1/2\varepsilon)`, where :math:`|s\Lambda| \le 1` (this is
    the log at :math:`s = 0`) and in closed form elsewhere.
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
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lam = np.log(0.5 / eh)[:, None]
            e_h = eh[:, None] ** c.h
            sl = s * lam
            near = np.abs(sl) <= 1.0
            close = eh[:, None] ** (s + c.h) * lam * special.exprel(sl)
            far = (0.5**s * e_h - eh[:, None] ** (s + c.h)) / s
            T = np.where(near, close, far)
            total = e_h[:, 0] * c.B_half + T @ c.upper
            out[high] = yh**-c.h * total
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
    integral = _tail_integral(m1 + h, m2 - h, h, n_terms)
    em = tuple(
        (w * X ** (-p - n), _em_coefficients(p, m1, m2, alpha, n))
        for n, w in _EM_WEIGHTS
    )
    return _TailPart(integral, X ** (1 - p) / alpha, em)


def _eval_part(part: _TailPart, y: np.ndarray, eps: np.ndarray) -> np.ndarray:
    flat_y, flat_e = y.ravel(), eps.ravel()
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        out = part.scale * _tail_value(part.integral, flat_y, flat_e)
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

    Each sum :math:`\sum_{i>M} f(i)` is the midpoint integral
    :math:`\int_X^\infty f(x)\,dx`, :math:`X = M + 1/2`, plus the midpoint
    Euler-Maclaurin corrections :math:`f'(X)/24 - 7f'''(X)/5760 +
    31 f^{(5)}(X)/967680`; what is left is :math:`O(X^{-8})` relative. Measured
    against brute-force sums up to :math:`i = 2\cdot 10^6`, worst over
    :math:`\gamma` and over :math:`1.1 \le \alpha \le 2`, :math:`\beta \le 4`:
    3e-2 at ``M = 1``, 2e-6 at ``M = 5``, 4e-14 at ``M = 50``; use ``M >= 50``.
    The integrals are incomplete beta functions in
    :math:`y = u/(1+u) = L(X)`, :math:`u = 1/(\gamma X^\alpha)`, evaluated exactly for
    every :math:`\gamma \ge 0`: by a positive series in ``y`` for :math:`u \le 1`
    (the Pfaff transform of the alternating series in ``u``, derivations §1.2, which
    diverges for :math:`u \ge 1`, a range the solver's brackets reach) and by a
    binomial series in :math:`1 - y` beyond. ``trace`` is exact, the Hurwitz zeta
    function :math:`\zeta(\alpha, M+1)`.

    Args:
      alpha: eigenvalue exponent :math:`\alpha > 1`.
      beta: target exponent :math:`\beta > 1` (any; the closed form of Section 5
        additionally needs :math:`\beta < 2\alpha + 1`, the tail does not).
      num_modes: number M of explicit modes the tail starts after, integer >= 1.
      n_terms: number of terms of each series (both converge at least like
        :math:`2^{-n}`). Worst relative error of the integrals against mpmath:
        6e-5 at 16 terms, 2e-9 at 32, 3e-14 at 48; the default 64 is
        rounding-limited (1e-15) and costs about 64 flops per ridge and sum.

    Attributes:
      trace: :math:`\sum_{i>M} i^{-\alpha}`.

    Raises:
      ValueError: ``alpha <= 1``, ``beta <= 1``, ``num_modes`` or ``n_terms`` not an
        integer >= 1; from the methods, a negative or NaN ``gamma``.

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

    def __post_init__(self) -> None:
        a = _check_scalar("alpha", _check_alpha(self.alpha))
        b = _check_scalar("beta", _check_beta(self.beta))
        m = _check_count("num_modes", self.num_modes, 1)
        n_terms = _check_count("n_terms", self.n_terms, 1)
        X = m + 0.5
        if a * math.log(X) > _MAX_LOG:
            raise ValueError(
                f"alpha * log(num_modes + 1/2) must be <= {_MAX_LOG:g}: the tail "
                f"eigenvalues i**-alpha underflow float64, got alpha={plain(a)!r}, "
                f"num_modes={m!r}"
            )
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
        ]:
            object.__setattr__(self, name, value)

    def _yeps(self, gamma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = _as_float("gamma", gamma)
        require("gamma", g, g >= 0, ">= 0")
        with np.errstate(divide="ignore", over="ignore"):
            t = g * self._X**self.alpha
            y, eps = 1.0 / (1.0 + t), 1.0 / (1.0 + 1.0 / t)  # L(X) and 1 - L(X)
        return g, y, eps

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
        z, q = (_eval_part(part, y, eps) for part in self._parts[:2])
        return np.where(g == 0, np.inf, z), np.where(g == 0, np.inf, q)

    def bias(self, gamma: ArrayLike, d: ArrayLike) -> np.ndarray:
        r""":math:`\sum_{i>M}(1-L_i)(1-dL_i)\,i^{-\beta}`, broadcast over ``gamma, d``.

        Args:
          gamma: effective ridge(s) :math:`\gamma \ge 0`.
          d: the RF weight :math:`d = (k-z)/(k-q) \in [0, 1]` (1 for KRR).

        Returns:
          float64 array of the broadcast shape (0 at ``gamma = 0``).

        Raises:
          ValueError: a negative or NaN ``gamma``, or a NaN ``d``.
        """
        g, y, eps = self._yeps(gamma)
        d = _as_float("d", d)
        require("d", d, np.isfinite(d), "finite")
        _broadcast(gamma=g, d=d)
        B2, B1 = (_eval_part(part, y, eps) for part in self._parts[2:])
        return np.where(g == 0, 0.0, B2 + (1 - d) * B1)
