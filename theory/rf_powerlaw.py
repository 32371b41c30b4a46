r"""Power-law tasks: truncated spectra, continuum constants, optimal fitting ratio.

Section 5 of Simon, Karkada, Ghosh & Belkin (2024), "More is Better in Modern Machine
Learning: when Infinite Overparameterization is Optimal and Overfitting is
Obligatory", arXiv:2311.14646, for a kernel with eigenvalues
:math:`\lambda_i = i^{-\alpha}` and target power :math:`v_i^2 = i^{-\beta}`:

* :func:`powerlaw_spectrum` and :class:`PowerLawTail`, the explicit first ``M`` modes
  and an analytic sum over the rest, for :func:`theory.rf_ridge.rf_ridge_risk`'s
  ``tail=`` argument;
* the continuum constants :math:`I_1, I_2, I_B` (:func:`continuum_integrals`) and
  :math:`C_{\alpha,\beta}` (:func:`powerlaw_constant`);
* the large-``n`` kernel ridge regression (KRR) risk as a function of the fitting
  ratio :math:`R = E_{tr}/E_{te}` (:func:`powerlaw_test_risk`) and its minimizer
  :math:`R^*` (:func:`optimal_fitting_ratio`, :func:`zero_ridge_optimal`).

The tail sums live in ``theory._rf_tail`` and the argument checks in
``theory._powerlaw_checks``; :class:`PowerLawTail` is public from here. Derivations
(the tail integrals as incomplete beta functions, their series, the
Euler-Maclaurin correction, the closed form and :math:`g(s)`):
``docs/derivations/rf_powerlaw.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from theory._args import broadcast as _broadcast
from theory._args import require
from theory._powerlaw_checks import _as_float
from theory._powerlaw_checks import _check_alpha
from theory._powerlaw_checks import _check_beta
from theory._powerlaw_checks import _check_count
from theory._powerlaw_checks import _check_nonneg
from theory._powerlaw_checks import _check_scalar
from theory._rf_tail import PowerLawTail
from theory._solve import solve_bracketed

__all__ = [
    "ContinuumIntegrals",
    "PowerLawSpectrum",
    "PowerLawTail",
    "continuum_integrals",
    "optimal_fitting_ratio",
    "powerlaw_constant",
    "powerlaw_spectrum",
    "powerlaw_test_risk",
    "zero_ridge_optimal",
]


# ------------------------------------------------------------------------- spectrum


class PowerLawSpectrum(NamedTuple):
    r"""The first ``M`` modes of a power-law task.

    Attributes:
      eigvals: shape ``(M,)``, :math:`\lambda_i = i^{-\alpha}`, ``i = 1..M``.
      target_power: shape ``(M,)``, :math:`v_i^2 = i^{-\beta}`.
    """

    eigvals: np.ndarray
    target_power: np.ndarray


def powerlaw_spectrum(alpha: float, beta: float, num_modes: int) -> PowerLawSpectrum:
    r"""Eigenvalues and target power of a power-law task (Definition 2).

    .. math::

        \lambda_i = i^{-\alpha}, \qquad v_i^2 = i^{-\beta}, \qquad i = 1, \dots, M,

    the power-law eigenstructure of Section 5 of arXiv:2311.14646. Here
    :math:`\alpha` = ``alpha``, :math:`\beta` = ``beta``, :math:`M` = ``num_modes``.
    Pair it with :class:`PowerLawTail` for the modes :math:`i > M`.

    Args:
      alpha: eigenvalue decay exponent, > 1 (trace-class kernel).
      beta: target-power decay exponent, > 1 (finite target norm).
      num_modes: number of explicit modes M, an integer >= 1.

    Returns:
      :class:`PowerLawSpectrum` of two float64 arrays of shape ``(M,)``, ready to be
      unpacked into :func:`theory.rf_ridge.rf_ridge_risk`.

    Raises:
      ValueError: ``alpha <= 1``, ``beta <= 1``, non-scalar exponents, or
        ``num_modes`` not an integer >= 1.

    Examples:
      >>> spec = powerlaw_spectrum(2.0, 1.5, 4)
      >>> spec.eigvals.tolist()
      [1.0, 0.25, 0.1111111111111111, 0.0625]
      >>> float(spec.target_power[3])
      0.125
    """
    a = _check_scalar("alpha", _check_alpha(alpha))
    b = _check_scalar("beta", _check_beta(beta))
    m = _check_count("num_modes", num_modes, 1)
    i = np.arange(1, m + 1, dtype=np.float64)
    return PowerLawSpectrum(eigvals=i**-a, target_power=i**-b)


# ------------------------------------------------------------- continuum constants


class ContinuumIntegrals(NamedTuple):
    r"""Continuum constants of a power-law task (derivations §2; our derivation).

    Attributes:
      I_1: :math:`\int_0^\infty du/(1+u^\alpha) = (\pi/\alpha)/\sin(\pi/\alpha)`.
      I_2: :math:`\int_0^\infty du/(1+u^\alpha)^2 = (1-1/\alpha) I_1`.
      I_B: :math:`\int_0^\infty u^{2\alpha-\beta}/(1+u^\alpha)^2 du
        = \Gamma(x)\Gamma(2-x)/\alpha`, :math:`x = (\beta-1)/\alpha`.
    """

    I_1: np.ndarray
    I_2: np.ndarray
    I_B: np.ndarray


def continuum_integrals(alpha: ArrayLike, beta: ArrayLike) -> ContinuumIntegrals:
    r"""The integrals behind the large-``n`` power-law risk (Section 5).

    .. math::

        I_1 = \int_0^\infty \frac{du}{1+u^\alpha} = \frac{\pi/\alpha}{\sin(\pi/\alpha)},
        \qquad I_2 = \int_0^\infty \frac{du}{(1+u^\alpha)^2} = (1-\tfrac1\alpha) I_1,

        I_B = \int_0^\infty \frac{u^{2\alpha-\beta}}{(1+u^\alpha)^2}\,du
        = \frac1\alpha\,\Gamma\!\Big(\frac{\beta-1}{\alpha}\Big)
          \Gamma\!\Big(2-\frac{\beta-1}{\alpha}\Big).

    :math:`I_1` is the continuum learnability sum (:math:`\sum_i L_i \approx I_1
    \kappa^{-1/\alpha}`), :math:`I_2` that of :math:`L_i^2` and :math:`I_B` the
    bias sum (:math:`\sum_i (1-L_i)^2 v_i^2 \approx I_B \kappa^{(\beta-1)/\alpha}`)
    of arXiv:2311.14646, App. B (derived in ``docs/derivations/rf_powerlaw.md``).

    Args:
      alpha: :math:`\alpha > 1`, broadcasts with ``beta``.
      beta: :math:`1 < \beta < 2\alpha + 1` (where :math:`I_B` converges).

    Returns:
      :class:`ContinuumIntegrals` of float64 arrays of the broadcast shape.

    Raises:
      ValueError: ``alpha <= 1``, ``beta <= 1`` or ``beta >= 2 alpha + 1``.

    Examples:
      >>> c = continuum_integrals(2.0, 2.0)
      >>> round(float(c.I_1), 12), round(float(c.I_2), 12), round(float(c.I_B), 12)
      (1.570796326795, 0.785398163397, 0.785398163397)
    """
    a = _check_alpha(alpha)
    b = _check_beta(beta, a)
    a, b = np.broadcast_arrays(a, b)
    I_1 = (np.pi / a) / np.sin(np.pi / a)
    x = (b - 1) / a
    # Gamma(x) / a = Gamma(1 + x) / (a x) = Gamma(1 + x) / (beta - 1): finite where
    # x = (beta - 1)/alpha is subnormal (alpha ~ 1e300) and Gamma(x) overflows.
    I_B = special.gamma(1 + x) * special.gamma(2 - x) / (b - 1)
    return ContinuumIntegrals(I_1=I_1, I_2=(1 - 1 / a) * I_1, I_B=I_B)


def powerlaw_constant(alpha: ArrayLike, beta: ArrayLike) -> np.ndarray:
    r"""The prefactor :math:`C_{\alpha,\beta}` of the power-law KRR risk.

    .. math::

        C_{\alpha,\beta} = \alpha I_B I_1^{\beta-1}
        = \frac{(\alpha-\beta+1)\,\pi^\beta\,\alpha^{-\beta}\,
                \sin(\pi/\alpha)^{1-\beta}}{\sin(\pi(\beta-1)/\alpha)},

    so that the ridgeless noiseless KRR risk is :math:`C_{\alpha,\beta}\,
    n^{-(\beta-1)}` at large ``n`` (Section 5 of arXiv:2311.14646). Evaluated in the
    Γ form of :math:`I_B` (:func:`continuum_integrals`), which is finite at
    :math:`\beta = \alpha+1`, where the sine form is 0/0 and
    :math:`C = (\pi/\alpha)^{\beta-1}\sin(\pi/\alpha)^{1-\beta}`.

    Args:
      alpha: :math:`\alpha > 1`, broadcasts with ``beta``.
      beta: :math:`1 < \beta < 2\alpha+1`.

    Returns:
      float64 array of the broadcast shape, positive.

    Raises:
      ValueError: ``alpha <= 1``, ``beta <= 1`` or ``beta >= 2 alpha + 1``, or a
        constant beyond float64 (> 1.8e308; alpha = 1e300 with beta - 1 = 1e-12).

    Examples:
      >>> a = 1.5
      >>> limit = (np.pi / a) ** a / np.sin(np.pi / a) ** a  # beta = alpha + 1
      >>> bool(np.isclose(powerlaw_constant(a, a + 1), limit, rtol=1e-14))
      True
    """
    I_1, _, I_B = continuum_integrals(alpha, beta)
    a, b = np.broadcast_arrays(np.asarray(alpha, np.float64), np.asarray(beta, float))
    with np.errstate(over="ignore"):
        out = a * I_B * I_1 ** (b - 1)
    over = np.isinf(out).ravel()
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise ValueError(
            f"C_alpha,beta exceeds the float64 range (> 1.8e308) at alpha="
            f"{float(a.ravel()[i])!r}, beta={float(b.ravel()[i])!r}: it grows like "
            f"alpha / (beta - 1)"
        )
    return out


def powerlaw_test_risk(
    R: ArrayLike,
    *,
    alpha: ArrayLike,
    beta: ArrayLike,
    n: ArrayLike,
    noise_rel: ArrayLike,
) -> np.ndarray:
    r"""Large-``n`` KRR test risk of a power-law task at fitting ratio ``R``.

    .. math::

        E_{te}(R) \approx C_{\alpha,\beta}\, n^{-(\beta-1)}\,
        \frac{(1-\sqrt R)^{1-\beta} + \alpha\,\sigma^2_{rel}}{1 + (\alpha-1)\sqrt R},

    Section 5 of arXiv:2311.14646 (the curves of its fitting-ratio figure), from
    :math:`\kappa \approx (I_1/(n(1-s)))^\alpha`, :math:`\delta = n\kappa s`,
    :math:`E_0 \approx \alpha/(1+(\alpha-1)s)` with :math:`s = \sqrt R = 1-z/n`.
    The noise is relative to the ridgeless noiseless risk (the paper's noise
    scaling, its Eq. 7 per the abstract/review text):
    :math:`\sigma^2 = \sigma^2_{rel} C_{\alpha,\beta} n^{-(\beta-1)}`. Here
    :math:`R` = ``R`` (:math:`E_{tr}/E_{te}`, 0 is ridgeless), :math:`\alpha` =
    ``alpha``, :math:`\beta` = ``beta``, :math:`\sigma^2_{rel}` = ``noise_rel``.
    The discrete eigenframework with :class:`PowerLawTail` approaches it with
    relative error below 2e-3 at ``n = 1000`` (tested).

    Args:
      R: fitting ratio in ``[0, 1)``; all arguments broadcast together.
      alpha: :math:`\alpha > 1`.
      beta: :math:`1 < \beta < 2\alpha+1`.
      n: number of samples, >= 1.
      noise_rel: :math:`\sigma^2_{rel} \ge 0`.

    Returns:
      float64 array :math:`E_{te}` of the broadcast shape (includes the noise).

    Raises:
      ValueError: an argument out of its domain.

    Examples:
      >>> e0 = powerlaw_test_risk(0.0, alpha=1.5, beta=1.25, n=1000, noise_rel=0.0)
      >>> bool(np.isclose(e0, powerlaw_constant(1.5, 1.25) * 1000**-0.25))
      True
      >>> risk = powerlaw_test_risk([0.0, 0.3, 0.9], alpha=1.5, beta=1.25, n=1000,
      ...                           noise_rel=2.0)
      >>> int(np.argmin(risk))
      1
    """
    R = _as_float("R", R)
    require("R", R, (R >= 0) & (R < 1), "in [0, 1)")
    a = _check_alpha(alpha)
    b = _check_beta(beta, a)
    n = _as_float("n", n)
    require("n", n, (n >= 1) & np.isfinite(n), ">= 1 and finite")
    noise = _check_nonneg("noise_rel", noise_rel)
    R, a, b, n, noise = _broadcast(R=R, alpha=a, beta=b, n=n, noise_rel=noise)
    s = np.sqrt(R)
    C = powerlaw_constant(a, b)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        scale = C * n ** (1 - b)
        risk = scale * ((1 - s) ** (1 - b) + a * noise) / (1 + (a - 1) * s)
        # Where a factor alone overflows (alpha ~ 1e300, noise ~ 1e308, R -> 1) or
        # underflows or loses digits as a subnormal (C n^(1-beta) at n = 1e300) the
        # product may still be a normal float64: take it in logarithms there.
        log_num = np.logaddexp((1 - b) * np.log1p(-s), np.log(a) + np.log(noise))
        log_risk = np.log(C) + (1 - b) * np.log(n) + log_num - np.log1p((a - 1) * s)
        tiny = np.finfo(np.float64).tiny
        plain = np.isfinite(risk) & (risk >= tiny) & (scale >= tiny)
        risk = np.where(plain, risk, np.exp(log_risk))
    require("powerlaw_test_risk", risk, np.isfinite(risk), "below 1.8e308 (float64)")
    return risk


# ------------------------------------------------------------ optimal fitting ratio


def zero_ridge_optimal(
    alpha: ArrayLike, beta: ArrayLike, noise_rel: ArrayLike
) -> np.ndarray:
    r"""Whether zero ridge (:math:`R^* = 0`, interpolation) minimizes the test risk.

    .. math::

        R^* = 0 \iff g(0) \ge 0 \iff \sigma^2_{rel} \le \frac{\beta-\alpha}
        {\alpha(\alpha-1)},

    with :math:`g` of :func:`optimal_fitting_ratio` (Section 5 of arXiv:2311.14646,
    "overfitting is obligatory"). Only possible for :math:`\beta \ge \alpha`.

    Args:
      alpha: :math:`\alpha > 1`; broadcasts with the others.
      beta: :math:`1 < \beta < 2\alpha+1`.
      noise_rel: :math:`\sigma^2_{rel} \ge 0`.

    Returns:
      bool array of the broadcast shape.

    Raises:
      ValueError: an argument out of its domain.

    Examples:
      >>> zero_ridge_optimal(1.12, 1.36, [0.0, 1.0, 5.0]).tolist()  # MNIST
      [True, True, False]
    """
    a = _check_alpha(alpha)
    b = _check_beta(beta, a)
    noise = _check_nonneg("noise_rel", noise_rel)
    a, b, noise = _broadcast(alpha=a, beta=b, noise_rel=noise)
    # noise <= (b - a) / (a (a - 1)), without overflowing a (a - 1) for a ~ 1e300
    with np.errstate(over="ignore"):  # noise * a = inf compares correctly
        return np.asarray(noise * a <= (b - a) / (a - 1))


def _root_in_log_s(B, C0, C1, C2) -> np.ndarray:
    """Root in (0, 1/2] of g(s) = C0 + C1 s - C2 (1-s)^B, given g(0) < 0 <= g(1/2)."""

    def g_of_s(x):
        # (1-s)^B via log1p: rounding 1 - s costs B eps relative (2e-8 at B ~ 1e6)
        tail = C2 * np.exp(B * np.log1p(-x))
        return C0 + C1 * x - tail, x * (C1 + B * tail / (1 - x))

    s_hi = np.minimum(2 * (C2 - C0) / C1, 0.5)
    s_lo = (C2 - C0) / (2 * (C1 + B * C2))
    return solve_bracketed(g_of_s, s_lo, s_hi).root


def optimal_fitting_ratio(
    alpha: ArrayLike, beta: ArrayLike, noise_rel: ArrayLike
) -> np.ndarray:
    r"""Fitting ratio :math:`R^* = E_{tr}/E_{te}` at the optimal ridge (large ``n``).

    :math:`dE_{te}/ds` (:func:`powerlaw_test_risk`, :math:`s = \sqrt R`) has the sign
    of

    .. math::

        g(s) = (\beta-\alpha) + \beta(\alpha-1)s - \alpha(\alpha-1)\sigma^2_{rel}
        (1-s)^\beta ,

    which increases on [0, 1] with :math:`g(1) = \alpha(\beta-1) > 0`. Hence
    :math:`R^* = 0` when :math:`g(0) \ge 0` (:func:`zero_ridge_optimal`) and
    :math:`R^* = s_*^2` with :math:`g(s_*) = 0` otherwise; :math:`R^* < 1` always and
    it increases with :math:`\sigma^2_{rel}`. Without noise
    :math:`R^* = ((\alpha-\beta)/(\beta(\alpha-1)))^2` for :math:`\beta < \alpha`.
    This is the optimal fitting ratio of arXiv:2311.14646 (its Eq. 10 and Theorem 2
    per the abstract/review text; the typeset statement was not checked), derived
    in ``docs/derivations/rf_powerlaw.md``. The root is found by
    :func:`theory._solve.solve_bracketed` in :math:`\log s` where
    :math:`s_* \le 1/2` and in :math:`\log(1-s)` beyond, so both :math:`R^*` and
    :math:`1-R^*` keep the relative precision the rounded coefficients allow
    (:math:`R^*` is tiny when the noise is just above the zero-ridge threshold,
    :math:`1-R^*` as :math:`\sigma^2_{rel} \to \infty`): measured within 1.4e-14
    of 60 digits up to :math:`\alpha = 10^6`. Within about 1e-8 relative of the
    threshold :math:`g(0) = \beta - \alpha - \alpha(\alpha-1)\sigma^2_{rel}` is
    itself a cancellation, and there a tiny :math:`R^*` can be off by O(1) relative.

    Args:
      alpha: :math:`\alpha > 1`; broadcasts with the others.
      beta: :math:`1 < \beta < 2\alpha+1`.
      noise_rel: :math:`\sigma^2_{rel} \ge 0`, noise relative to the ridgeless
        noiseless risk.

    Returns:
      float64 array :math:`R^* \in [0, 1)` of the broadcast shape.

    Raises:
      ValueError: an argument out of its domain.
      ValueError: ``alpha > 1e6`` or ``noise_rel > 1e100`` (outside the verified
        range of the solve), or invalid arguments.
      FixedPointError: the root solve failed (not expected: g is monotone).

    Examples:
      >>> r = optimal_fitting_ratio(1.17, 1.14, [0.0, 1.0, 5.0, 50.0])  # CIFAR-10
      >>> np.round(r, 3).tolist()
      [0.024, 0.312, 0.691, 0.948]
    """
    a = _check_alpha(alpha)
    b = _check_beta(beta, a)
    noise = _check_nonneg("noise_rel", noise_rel)
    a, b, noise = _broadcast(alpha=a, beta=b, noise_rel=noise)
    # The bracketed solve is verified on alpha <= 1e6 and noise_rel <= 1e100 (tests/
    # theory/test_domain.py); beyond, the bracket can lose its sign change.
    if np.any(a > 1e6) or np.any(noise > 1e100):
        raise ValueError(
            "optimal_fitting_ratio supports alpha <= 1e6 and noise_rel <= 1e100, got "
            f"alpha up to {np.max(a):g}, noise_rel up to {np.max(noise):g}"
        )
    c0 = b - a  # g(s) = c0 + c1 s - c2 (1-s)^b
    c1, c2 = b * (a - 1), a * (a - 1) * noise
    zero = noise <= c0 / (a * (a - 1))  # as zero_ridge_optimal (c2 may underflow)
    with np.errstate(over="ignore"):
        g_half = c0 + c1 / 2 - c2 * 0.5**b
    s = np.zeros(a.shape)
    # Root in (0, 1/2]: solve in log s on a bracket within a bounded factor of the
    # root (Newton in log s from far above a tiny root would creep by unit steps).
    # g(s) >= g(0) + c1 s, so g(-2 g(0)/c1) >= -g(0) > 0; g(s) <= g(0) + (c1 + b c2) s,
    # so g < 0 at half of -g(0)/(c1 + b c2).
    low = ~zero & (g_half >= 0)
    if low.any():
        # Below 1e-100 the Newton step from 0, -g(0)/g'(0), is exact to O(s) relative
        # (and R* = s^2 may underflow to 0 only where it is below 1e-308 anyway).
        B, C0, C1, C2 = b[low], c0[low], c1[low], c2[low]
        root = (C2 - C0) / (C1 + B * C2)
        keep = 2 * (C2 - C0) / C1 >= 1e-100
        if keep.any():
            root[keep] = _root_in_log_s(B[keep], C0[keep], C1[keep], C2[keep])
        s[low] = root
    # Root in (1/2, 1): solve in log w, w = 1 - s, with -g(1 - w) increasing in w.
    # With g(1 - w) = a(b-1) - c1 w - c2 w^b: g < 0 once c1 w or c2 w^b reaches
    # 2a(b-1), and g > 0 where each is below a(b-1)/4.
    high = ~zero & (g_half < 0)
    if high.any():
        A, B, C1, C2 = a[high], b[high], c1[high], c2[high]
        top = A * (B - 1)

        def minus_g_of_w(w):
            return C1 * w + C2 * w**B - top, C1 * w + B * C2 * w**B

        with np.errstate(divide="ignore", over="ignore"):  # C2 = 0 without noise
            w_hi = np.minimum(np.minimum(2 * top / C1, (2 * top / C2) ** (1 / B)), 0.5)
            w_lo = np.minimum(top / (4 * C1), (top / (4 * C2)) ** (1 / B))
        s[high] = 1 - solve_bracketed(minus_g_of_w, w_lo, w_hi).root
    return s * s
