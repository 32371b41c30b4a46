r"""Test and train risk of random-feature (RF) and kernel ridge regression.

The omniscient risk estimate of Simon, Karkada, Ghosh & Belkin (2024), "More is Better
in Modern Machine Learning: when Infinite Overparameterization is Optimal and
Overfitting is Obligatory", arXiv:2311.14646 (Theorem 1 and its RF eigenframework),
for ``k`` Gaussian-universal random features of a kernel with eigenvalues
:math:`\lambda_i` and target eigencoefficients :math:`v_i`, ``n`` samples and ridge
:math:`\delta` on the unnormalized Gram. ``k = inf`` is kernel ridge regression.

Derivation of the one-equation form, the ridgeless branches and the cancellation-free
expressions used here: ``docs/derivations/rf_ridge.md``. The spectral sums (mode
compression, tables, the cache across calls) are in ``theory/_rf_spectrum.py``, the
root finding for gamma in ``theory/_rf_roots.py``.
"""

from __future__ import annotations

import math
from typing import NamedTuple
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from theory._args import broadcast_shape
from theory._args import floats
from theory._args import require
from theory._rf_roots import RIDGE
from theory._rf_roots import RIDGELESS
from theory._rf_roots import Problem
from theory._rf_roots import polish_full_rank
from theory._rf_roots import solve_all
from theory._rf_spectrum import BIAS
from theory._rf_spectrum import _Spectrum

__all__ = ["RFRiskPrediction", "SpectrumTail", "rf_ridge_risk"]


class RFRiskPrediction(NamedTuple):
    r"""Order parameters and risks of RF ridge regression, broadcast over the cells.

    Attributes:
      test_risk: :math:`E_{te}`, population MSE including the label noise.
      train_risk: :math:`E_{tr}`, mean squared training residual.
      kappa: :math:`\kappa \ge 0`, the KRR constant of the random RF kernel.
      gamma: :math:`\gamma \ge \kappa`, the effective ridge of the infinite-width
        kernel.
      overfitting_coeff: :math:`E_0^{RF} \ge 1` (``inf`` at the interpolation peak).
      learnability_sum: :math:`z = \sum_i L_i` with
        :math:`L_i = \lambda_i/(\lambda_i+\gamma)`.
      learnability_sq_sum: :math:`q = \sum_i L_i^2`.
      residual: largest relative residual of the two fixed-point equations.
    """

    test_risk: np.ndarray
    train_risk: np.ndarray
    kappa: np.ndarray
    gamma: np.ndarray
    overfitting_coeff: np.ndarray
    learnability_sum: np.ndarray
    learnability_sq_sum: np.ndarray
    residual: np.ndarray


def _check_spectrum(eigvals: ArrayLike, target_power: ArrayLike):
    lam = floats("eigvals", eigvals)
    v2 = floats("target_power", target_power)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"eigvals must be a non-empty 1-D array, got {lam.shape}")
    if v2.shape != lam.shape:
        raise ValueError(
            f"target_power has shape {v2.shape} but eigvals has shape {lam.shape}"
        )
    # min and max are NaN if any value is, so two reductions check each array.
    if not (lam.min() > 0 and lam.max() < np.inf):
        i = int(np.flatnonzero(~(np.isfinite(lam) & (lam > 0)))[0])
        raise ValueError(f"eigvals must be positive and finite, got {lam[i]} at {i}")
    if not (v2.min() >= 0 and v2.max() < np.inf):
        i = int(np.flatnonzero(~(np.isfinite(v2) & (v2 >= 0)))[0])
        raise ValueError(
            f"target_power must be >= 0 and finite, got target_power[{i}]={v2[i]}"
        )
    return lam, v2


def _check_param(name: str, value, low: float, *, strict=False, allow_inf=False):
    arr = floats(name, value)
    ok = (arr > low) if strict else (arr >= low)
    ok &= (arr <= np.inf) if allow_inf else (arr < np.inf)  # also False for NaN
    require(name, arr, ok, f"{'>' if strict else '>='} {low:g}")
    return arr


def _pow2_exponent(x: float) -> int:
    """e with 2**e <= x < 2**(e+1), for finite x > 0."""
    return math.frexp(x)[1] - 1


# Supported dynamic range (log2) of the normalized problem: eigenvalues relative to
# the largest, and ridge / n relative to it, within [2^-1000, 2^1000] ~ 1e-301..1e301.
_RANGE_EXP = 1000


def _scales(lam, v2, n, ridge, noise_var) -> tuple[float, float]:
    r"""Powers of two ``c`` (eigenvalues, ridge) and ``c_v`` (target power, noise).

    The theory is invariant under :math:`(\lambda, \delta) \to (\lambda/c,
    \delta/c)` with :math:`(\kappa, \gamma) \to (\kappa/c, \gamma/c)`, and the
    risks are homogeneous of degree one in :math:`(v^2, \sigma^2)`. Dividing by
    powers of two is exact, so solving the normalized problem and scaling back is
    exact; it keeps every intermediate sum inside float64 (ridges up to 1e308,
    eigenvalues at 1e-300 or 1e300).
    """
    e = _pow2_exponent(float(lam.max()))
    pos = ridge > 0
    per_sample = ridge[pos] / n[pos]  # cells are 1-D here
    if per_sample.size:
        e = max(e, _pow2_exponent(float(per_sample.max())) - _RANGE_EXP)
    c = math.ldexp(1.0, e)
    floor = math.ldexp(1.0, -_RANGE_EXP)
    if float(lam.min()) / c < floor:
        raise ValueError(
            f"eigvals span too wide a range for float64: min(eigvals)="
            f"{float(lam.min())!r} is below 2^-{_RANGE_EXP} ~ 1e-301 times the scale "
            f"{c!r} (max(eigvals), or max(ridge / n) * 2^-{_RANGE_EXP} if larger)"
        )
    if per_sample.size and float(per_sample.min()) / c < floor:
        raise ValueError(
            f"ridge / n = {float(per_sample.min())!r} is below 2^-{_RANGE_EXP} ~ "
            f"1e-301 times the scale {c!r} (max(eigvals)): outside the float64 range "
            f"of the solver (ridge=0 gives the ridgeless limit)"
        )
    top_v = max(float(v2.max()), float(noise_var.max(initial=0.0)))
    c_v = math.ldexp(1.0, _pow2_exponent(top_v)) if top_v > 0 else 1.0
    return c, c_v


def rf_ridge_risk(
    eigvals: ArrayLike,
    target_power: ArrayLike,
    *,
    n: ArrayLike,
    k: ArrayLike,
    ridge: ArrayLike,
    noise_var: ArrayLike = 0.0,
    pool_size: float | None = None,
    tail: SpectrumTail | None = None,
) -> RFRiskPrediction:
    r"""Asymptotic test and train risk of random-feature ridge regression.

    Solves the RF eigenframework of arXiv:2311.14646 (Theorem 1) for the pair
    :math:`(\kappa, \gamma)`:

    .. math::

        n = \sum_i \frac{\lambda_i}{\lambda_i+\gamma} + \frac{\delta}{\kappa}, \qquad
        k = \sum_i \frac{\lambda_i}{\lambda_i+\gamma} + \frac{k\kappa}{\gamma},

        E_{te} = E_0^{RF}\Big[\sum_i (1-L_i)\Big(1 - L_i\frac{k-z}{k-q}\Big) v_i^2
        + \sigma^2\Big], \qquad E_{tr} = \Big(1-\frac{z}{n}\Big)^2 E_{te},

    with :math:`L_i = \lambda_i/(\lambda_i+\gamma)`, :math:`z=\sum_i L_i`,
    :math:`q=\sum_i L_i^2` and :math:`E_0^{RF} = 1/(1-x)`,
    :math:`x = [q(k-2z)+z^2]/[n(k-q)]`. Eliminating κ leaves one monotone equation,
    :math:`\gamma(1-z/n)(1-z/k) = \delta/n`, solved in :math:`\log\gamma`.
    ``k = inf`` gives kernel ridge regression (:math:`\kappa=\gamma`,
    :math:`E_0 = n/(n-q)`). At :math:`\delta = 0` the ridgeless limits are used:
    :math:`z = \min(n, k)` if it is below the number of modes; the peak ``n == k``
    has :math:`E_0 = \infty`.

    Here :math:`\lambda_i` = ``eigvals``, :math:`v_i^2` = ``target_power``,
    :math:`\delta` = ``ridge`` (on the unnormalized ``n x n`` Gram), :math:`\sigma^2`
    = ``noise_var``, ``n`` samples and ``k`` features.

    Args:
      eigvals: shape ``(M,)``, kernel eigenvalues, positive (any order).
      target_power: shape ``(M,)``, squared target eigencoefficients, >= 0.
      n: number of training samples, >= 1; broadcasts with ``k, ridge, noise_var``.
      k: number of random features, >= 1, or ``inf`` for kernel ridge regression.
      ridge: ridge :math:`\delta \ge 0`.
      noise_var: label-noise variance :math:`\sigma^2 \ge 0` (included in the test
        risk).
      pool_size: optional finite-pool correction for a test set drawn uniformly from
        a pool of ``pool_size`` points that contains the training set:
        :math:`E_{te} \leftarrow (P E_{te} - n E_{tr})/(P-n)`, then :math:`E_{tr}`
        recomputed from it. Off (``None``) for i.i.d. test data. Needs ``P > n``.
      tail: optional analytic sum over modes beyond ``eigvals`` (a truncated power
        law, :class:`theory.rf_powerlaw.PowerLawTail`). At ``ridge = 0`` it needs
        ``min(n, k)`` below the number of explicit modes.

    Returns:
      :class:`RFRiskPrediction`, every field float64 of the broadcast shape of
      ``n, k, ridge, noise_var``.

    Raises:
      ValueError: non-positive or non-finite eigvals, negative target power,
        mismatched lengths, ``n < 1``, ``k < 1``, ``ridge < 0``, ``noise_var < 0``,
        ``pool_size <= n``, shapes of ``n, k, ridge, noise_var`` that do not
        broadcast, a ridgeless cell that a tail cannot resolve, eigenvalues or
        ``ridge / n`` more than 2^1000 (~1e301) below the largest of ``max(eigvals)``
        and ``max(ridge / n) * 2^-1000``, or a risk beyond float64 (> 1.8e308).
        The problem is solved after dividing eigenvalues and ridge (and target power
        and noise) by powers of two, which is exact by the scale invariance of the
        framework, so any ridge up to 1.8e308 and spectra at 1e±300 are supported.
      FixedPointError: the solver failed (it checks its bracket and convergence).

    Examples:
      >>> lam = np.arange(1, 1001) ** -1.5
      >>> out = rf_ridge_risk(lam, lam, n=100, k=[50, 200, np.inf], ridge=1e-2)
      >>> bool(np.all(np.diff(out.test_risk) < 0))
      True
      >>> bool(np.all(out.kappa <= out.gamma))
      True
    """
    lam, v2 = _check_spectrum(eigvals, target_power)
    n = _check_param("n", n, 1.0)
    k = _check_param("k", k, 1.0, allow_inf=True)
    ridge = _check_param("ridge", ridge, 0.0)
    noise_var = _check_param("noise_var", noise_var, 0.0)
    shape = broadcast_shape(n=n, k=k, ridge=ridge, noise_var=noise_var)
    cells = [a.ravel() for a in np.broadcast_arrays(n, k, ridge, noise_var)]
    if pool_size is not None:
        pool = floats("pool_size", pool_size)
        if pool.ndim:
            raise ValueError(f"pool_size must be a scalar, got shape {pool.shape}")
        _check_param("pool_size", pool, float(np.max(n, initial=1.0)), strict=True)
    if not cells[0].size:
        empty = np.zeros(shape)
        return RFRiskPrediction(*(empty for _ in RFRiskPrediction._fields))
    c, c_v = _scales(lam, v2, cells[0], cells[2], cells[3])
    # Division by a power of two is exact; by 1, a copy of no use.
    lam_c, v2_c = (lam / c if c != 1 else lam), (v2 / c_v if c_v != 1 else v2)
    spec = _Spectrum(lam_c, v2_c, tail, scale=c, power_scale=c_v)
    if tail is not None:
        m = np.minimum(cells[0], cells[1])[cells[2] == 0]
        if m.size and m.max() >= lam.size:
            raise ValueError(
                f"with a tail, ridge=0 needs min(n, k) < len(eigvals)={lam.size}, "
                f"got min(n, k)={m.max()!r}"
            )

    n_c, k_c, ridge_c, noise_c = cells
    # One errstate for the whole solve: every inf, 0/0 and underflow on the way is
    # either replaced by np.where or checked (NaN in the solver, _check_overflow).
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        res = _solve_cells(spec, n_c, k_c, ridge_c / c, noise_c / c_v)
        for f, factor in [("kappa", c), ("gamma", c), ("test_risk", c_v)]:
            res[f] = res[f] * factor
        res["train_risk"] = res["train_risk"] * c_v
    _check_overflow(res)
    out = RFRiskPrediction(
        **{f: res[f].reshape(shape) for f in RFRiskPrediction._fields}
    )
    if pool_size is None:
        return out
    P = float(pool_size)
    n_b = np.broadcast_to(n, shape)
    test = (P * out.test_risk - n_b * out.train_risk) / (P - n_b)
    fit_ratio = (res["s"].reshape(shape) / n_b) ** 2  # E_tr / E_te = (1 - z/n)^2
    return out._replace(test_risk=test, train_risk=fit_ratio * test)


def _check_overflow(res: dict[str, np.ndarray]) -> None:
    """ValueError where a scaled-back result exceeds float64 (E_0 = inf is the peak)."""
    peak = None
    for f in ("kappa", "gamma", "test_risk", "train_risk"):
        inf = np.isinf(res[f])
        if not inf.any():
            continue
        if peak is None:
            peak = np.isinf(res["overfitting_coeff"])
        bad = inf & ~peak
        if bad.any():
            raise ValueError(
                f"{f} exceeds the float64 range (> 1.8e308) at cell "
                f"{int(np.flatnonzero(bad)[0])}: eigvals, ridge, target_power or "
                f"noise_var are too large"
            )


class SpectrumTail(Protocol):
    r"""Analytic contribution of the modes beyond the explicit ``eigvals``.

    See :class:`theory.rf_powerlaw.PowerLawTail`. Each method broadcasts over
    ``gamma`` and returns the sum over the omitted modes :math:`i > M`.
    """

    trace: float  # sum of the omitted eigenvalues

    def sums(self, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`\sum_{i>M} L_i` and :math:`\sum_{i>M} L_i^2`."""
        ...

    def bias(self, gamma: np.ndarray, d: np.ndarray) -> np.ndarray:
        r""":math:`\sum_{i>M} (1-L_i)(1-d L_i) v_i^2`."""
        ...


# n - z or k - z below this fraction of M (at n or k >= M): polish_full_rank.
_FULL_RANK_FRACTION = 0.05


def _solve_cells(spec: _Spectrum, n, k, ridge, noise_var) -> dict[str, np.ndarray]:
    """The risks of the cells (1-D arrays), under the caller's ``np.errstate``."""
    M = spec.num_modes
    finite_k = np.isfinite(k)
    k_f = np.where(finite_k, k, 1.0)  # placeholder where k = inf
    m = np.minimum(n, k)
    pos = ridge > 0
    reach = ~pos & (m < M)  # delta = 0: z(gamma) = min(n, k) when below M
    # delta > 0: r <= gamma n / delta = 1/2 at delta / 2n, and r >= 9n / 4m > 1 at
    # 4 (tr + delta) / m, where z <= tr / gamma <= m / 4.
    d = ridge[pos]
    lo_pos, hi_pos = d / (2 * n[pos]), 4 * (spec.trace + d) / m[pos]
    problems, where = [], []
    if pos.any():
        params = (n[pos], k[pos], d, np.log(d))
        problems.append(Problem(RIDGE, lo_pos, hi_pos, params))
        where.append(pos)
    if reach.any():
        # delta = 0 (explicit modes only, M > m): M - z <= M gamma / min(lam) and
        # z <= tr / gamma.
        target = m[reach]
        lo_0 = spec.lam.min() * (spec.lam.size - target) / (2 * spec.lam.size)
        hi_0 = 2 * spec.trace / target
        problems.append(Problem(RIDGELESS, lo_0, hi_0, (target,)))
        where.append(reach)
    gamma = np.zeros_like(n)
    sums = np.zeros((4, n.size))
    # gamma = 0 (delta = 0 and min(n, k) >= M): every mode learned, L_i = 1.
    sums[0] = spec.lam.size
    if problems:
        for mask, (root, z, w) in zip(where, solve_all(spec, problems), strict=True):
            gamma[mask], sums[0, mask], sums[1, mask] = root, z, w
    # n >= M or k >= M with n - z or k - z small (gamma -> 0 as delta -> 0 when n or
    # k is M): formed from z, that factor has a relative error ~M eps / (n - z) that
    # the root inherits; re-solve without the cancellation where it can exceed ~1e-14
    # (docs/derivations/rf_ridge.md §4.1).
    z = sums[0]
    near = _FULL_RANK_FRACTION * M
    full = pos & (((n >= M) & (n - z < near)) | ((k >= M) & (k - z < near)))
    if full.any():
        polished = polish_full_rank(spec, gamma[full], n[full], k[full], ridge[full])
        gamma[full], sums[0, full], sums[1, full] = polished
    full_rank = gamma == 0
    if (~full_rank).any():
        sums[2:, ~full_rank] = spec(gamma[~full_rank], rows=BIAS)
    z, w, bias_a, bias_b = sums
    u_inf = np.where(finite_k, k_f - z, np.inf)
    # s = n - z and u = k - z, each taken from the expression without cancellation:
    # near the solution one of them is tiny and must come from delta / kappa.
    zero_ridge = not pos.all()  # the ridgeless branches only where some delta = 0
    wide = finite_k & (n >= k)
    narrow = np.where(finite_k, k_f / u_inf, 1.0)  # k / (k - z); 1 for KRR
    s = np.where(wide, n - z, ridge / gamma * narrow)
    kappa = ridge / s
    u = np.where(wide, k_f * kappa / gamma, u_inf)
    if zero_ridge:
        # delta = 0: z = m exactly, so s = n - m and u = k - m (not k - z(gamma)).
        s0 = np.where(full_rank, n - M, np.where(n <= k, 0.0, n - m))
        u_exact = np.where(finite_k, k_f - np.where(full_rank, M, m), np.inf)
        u0 = np.where(full_rank | (n < k), u_exact, 0.0)
        g_k = gamma * np.where(finite_k, u_exact / k_f, 1.0)
        kappa0 = np.where(n < k, g_k, 0.0)
        s = np.where(pos, s, np.maximum(s0, 0.0))
        u = np.where(pos, u, np.maximum(u0, 0.0))
        kappa = np.where(pos, kappa, kappa0)
    # E_0 = n (k - q) / [s u + w (s + u)] with k - q = u + w; n / (s + w) for KRR.
    E0 = np.where(finite_k, n * (u + w) / (s * u + w * (s + u)), n / (s + w))
    if zero_ridge:
        E0 = np.where(full_rank, n / s, E0)
    E0 = np.where(np.isnan(E0), np.inf, E0)  # 0/0 only at the n == k peak
    # 1 - d with d = (k - z)/(k - q) = u / (u + w); d = 1 for KRR.
    one_minus_d = np.where(finite_k, w / (u + w), 0.0)
    one_minus_d = np.where(np.isnan(one_minus_d), 1.0, one_minus_d)
    bracket = bias_a + one_minus_d * bias_b + noise_var
    test = np.where(bracket == 0, 0.0, E0 * bracket)  # inf * 0 at peaks
    train = np.where(s == 0, 0.0, (s / n) ** 2 * test)

    r1 = (n - z - ridge / kappa) / n
    r2 = np.where(finite_k, (k_f - z - k_f * kappa / gamma) / k_f, 0.0)
    residual = np.maximum(np.abs(r1), np.abs(r2))
    if zero_ridge:
        r0 = np.where(reach, (z - m) / m, 0.0)
        residual = np.where(pos, residual, np.abs(r0))
    return {
        "test_risk": test,
        "train_risk": train,
        "kappa": kappa,
        "gamma": gamma,
        "overfitting_coeff": E0,
        "learnability_sum": z,
        "learnability_sq_sum": z - w,
        "residual": residual,
        "s": s,
    }
