r"""Proxies for the power-law exponents :math:`(\alpha, \beta)` of a kernel on data.

Direct fits of finite-``n`` eigenspectra are unreliable (the local slope of
:math:`\lambda_i` drifts with ``i``), so Simon, Karkada, Ghosh & Belkin (2024),
arXiv:2311.14646 (real-data appendix), estimate the exponents from two curves of the
sample size ``n`` that the eigenframework ties to them:

* :math:`\tilde\kappa(n) = 1/\mathrm{Tr}(K_n^{+}) \propto n^{-\alpha}`: at zero ridge
  :math:`\mathrm{Tr}(K_n^{-1}) \approx 1/\kappa` and the KRR constant of a power-law
  kernel scales as :math:`\kappa \propto n^{-\alpha}` (:func:`trace_inverse_scale`,
  :func:`alpha_proxy`);
* the ridgeless kernel-regression test MSE :math:`\propto n^{-(\beta-1)}` when
  :math:`\beta < 2\alpha + 1`; for :math:`\beta \ge 2\alpha + 1` it falls as
  :math:`n^{-2\alpha}` instead, so the proxy saturates at :math:`2\alpha + 1`
  (:func:`ridgeless_test_mse`, :func:`beta_proxy`).

Both are straight lines in log-log over a stated window of ``n``; the uncertainty is
the spread of the slope over independent draws of the sample (random subsets or
orderings of the data), which the caller supplies: these functions are pure.
Derivation and the choice of windows: ``docs/derivations/kernels.md``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import bounded
from theory._args import floats
from theory._args import plain
from theory._args import require

__all__ = [
    "ExponentFit",
    "alpha_proxy",
    "beta_proxy",
    "fit_power_law",
    "ridgeless_test_mse",
    "trace_inverse_scale",
]

# Eigenvalues below this fraction of the largest count as zero (pseudo-inverse):
# duplicated inputs make a kernel matrix exactly singular.
_RCOND = 1e-12
# A kernel matrix built in float64 is symmetric and positive semi-definite only up to
# rounding: its entries carry relative errors of a few eps (neural-tangents' Myrtle
# NTK: up to ~1e-9 on nearly parallel pairs, docs/derivations/kernels.md §4), which
# move its eigenvalues by at most about n max|error|. Asymmetry up to _SYM_RTOL max|K|
# and eigenvalues down to -_PSD_RTOL times the largest are accepted as rounding;
# beyond that the matrix is not a kernel matrix and the functions raise.
_SYM_RTOL = 1e-8
_PSD_RTOL = 1e-9


class ExponentFit(NamedTuple):
    r"""A power law :math:`c\,n^{s}` fitted over a window, with its spread over draws.

    Attributes:
      exponent: the exponent estimate (:math:`\alpha = -s` or :math:`\beta = 1 - s`),
        from the fit to the mean over draws of the log curve.
      spread: sample standard deviation (ddof 1) of the per-draw exponents; 0 for
        one draw. The uncertainty of one draw's estimate.
      stderr: ``spread / sqrt(draws)``, the standard error of the mean when the
        draws are independent samples (not when they are subsets of one data set:
        then quote ``spread``).
      draws: shape ``(B,)``, the exponent fitted to each draw.
      slope: :math:`s`, the log-log slope of the mean curve.
      log_prefactor: :math:`\log c` of the mean-curve fit.
      window: ``(n_lo, n_hi)``, the inclusive range of ``n`` fitted.
      num_sizes: number of sizes inside the window.
    """

    exponent: float
    spread: float
    stderr: float
    draws: np.ndarray
    slope: float
    log_prefactor: float
    window: tuple[float, float]
    num_sizes: int


def _check_sizes(sizes: ArrayLike, limit: int) -> np.ndarray:
    """``sizes`` as int64: strictly increasing integers in ``[1, limit]``."""
    n = floats("sizes", sizes)
    if n.ndim != 1 or n.size == 0:
        raise ValueError(f"sizes must be a non-empty 1-D sequence, got shape {n.shape}")
    if not np.all(np.isfinite(n)) or np.any(n != np.round(n)):
        raise ValueError(f"sizes must be integers, got sizes={n.tolist()!r}")
    # Range checks before the cast: a size beyond int64 would wrap around.
    require("sizes", n, n >= 1, ">= 1")
    require("sizes", n, n <= limit, f"<= {limit} (the data available)")
    if np.any(np.diff(n) <= 0):
        raise ValueError(f"sizes must be strictly increasing, got {n.tolist()!r}")
    return n.astype(np.int64)


def _pinv_solve(K: np.ndarray, Y: np.ndarray, rcond: float, name: str):
    """Pseudo-inverse solve and trace of the pseudo-inverse of a PSD matrix."""
    mu, U = np.linalg.eigh(K)
    check_psd(name, mu)
    keep = mu > rcond * max(mu[-1], np.finfo(float).tiny)
    inv = np.where(keep, 1.0 / np.where(keep, mu, 1.0), 0.0)
    return U @ (inv[:, None] * (U.T @ Y)), float(inv.sum())


def check_kernel_matrix(name: str, kernel) -> np.ndarray:
    """``kernel`` as a float64 square, finite matrix, symmetric to ``_SYM_RTOL``
    relative to its largest entry (ValueError naming ``name`` otherwise), returned
    symmetrized, so that no result depends on which triangle is read."""
    K = floats(name, kernel)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got {K.shape}")
    if not np.all(np.isfinite(K)):
        raise ValueError(f"{name} must be finite, got a NaN or inf entry")
    scale = float(np.abs(K).max())
    # Halves first where K + K.T would overflow (entries beyond ~9e307); elsewhere
    # not, since halving a subnormal entry rounds it.
    half = K / 2 if scale > 2.0**1022 else K
    asym = float(np.abs(half - half.T).max()) * (2 if half is not K else 1)
    if asym > _SYM_RTOL * scale:
        raise ValueError(
            f"{name} must be symmetric to {_SYM_RTOL:g} relative, got "
            f"max|K - K.T| = {asym:.3g} with max|K| = {scale:.3g}"
        )
    return half + half.T if half is not K else (K + K.T) / 2


def check_psd(name: str, mu: np.ndarray) -> None:
    """ValueError naming ``name`` unless the ascending eigenvalues ``mu`` are those of
    a positive semi-definite matrix up to rounding: ``mu[0] >= -_PSD_RTOL mu[-1]``."""
    if not np.all(np.isfinite(mu)):
        raise ValueError(
            f"{name}: its eigenvalues are not finite in float64 (entries too large); "
            "rescale the kernel"
        )
    if mu[0] < -_PSD_RTOL * max(float(mu[-1]), 0.0):
        raise ValueError(
            f"{name} must be positive semi-definite (smallest eigenvalue >= "
            f"-{_PSD_RTOL:g} x the largest), got eigenvalues from {plain(mu[0])!r} "
            f"to {plain(mu[-1])!r}"
        )


def trace_inverse_scale(
    kernel: ArrayLike, sizes: ArrayLike, *, rcond: float = _RCOND
) -> np.ndarray:
    r""":math:`\tilde\kappa(n) = 1/\mathrm{Tr}(K_n^{+})` on the leading ``n x n`` block.

    :math:`K_n` is ``kernel[:n, :n]`` (so the sample is the first ``n`` points in
    the given order), :math:`K_n^+` its pseudo-inverse (eigenvalues below ``rcond``
    times the largest dropped). For a kernel with :math:`\lambda_i \propto
    i^{-\alpha}`, :math:`\tilde\kappa(n) \approx \kappa(n) \propto n^{-\alpha}`, the
    :math:`\alpha` proxy of arXiv:2311.14646 (real-data appendix).

    Args:
      kernel: shape ``(N, N)``, symmetric PSD kernel matrix of the points in order:
        symmetric to 1e-8 of its largest entry (it is symmetrized, so both
        triangles count) and, on every block used, with smallest eigenvalue
        >= -1e-9 times the largest, which must be positive (rounding-level
        negative eigenvalues fall below the cutoff and are dropped).
      sizes: strictly increasing integers in ``[1, N]``.
      rcond: relative eigenvalue cutoff in (0, 1).

    Returns:
      float64 array of shape ``(len(sizes),)``.

    Raises:
      ValueError: ``kernel`` not square, not finite or not symmetric; a block
        ``kernel[:n, :n]`` not positive semi-definite, without a positive
        eigenvalue (a zero or negative semi-definite block), or with kept
        eigenvalues so small that :math:`\mathrm{Tr}(K_n^+)` overflows (all
        naming the block); bad sizes or rcond.

    Examples:
      >>> trace_inverse_scale(np.diag([4.0, 4.0, 2.0]), [1, 3]).tolist()
      [4.0, 1.0]
    """
    K = check_kernel_matrix("kernel", kernel)
    n = _check_sizes(sizes, K.shape[0])
    r = bounded("rcond", rcond, low=0.0, high=1.0, low_open=True, high_open=True)
    out = np.empty(n.size)
    for j, m in enumerate(n):
        out[j] = _trace_inverse_scale(K[:m, :m], r, f"kernel[:{m}, :{m}]")
    return out


def _trace_inverse_scale(K: np.ndarray, rcond: float, name: str) -> float:
    """1/Tr(K^+) of one symmetric block, ValueError naming ``name`` unless the block
    is PSD with a positive largest eigenvalue and Tr(K^+) stays finite."""
    mu = np.linalg.eigvalsh(K)
    check_psd(name, mu)
    if not mu[-1] > 0:
        raise ValueError(
            f"{name} must have a positive eigenvalue (1/Tr(K^+) is undefined for a "
            f"zero block), got largest eigenvalue {plain(mu[-1])!r}"
        )
    with np.errstate(over="ignore", divide="ignore"):
        total = float(np.sum(1.0 / mu[mu > rcond * mu[-1]]))
    if not math.isfinite(total):
        raise ValueError(
            f"{name} has eigenvalues down to {plain(mu[mu > rcond * mu[-1]][0])!r}, "
            "whose inverses exceed float64 (about 1.8e308): rescale the kernel"
        )
    return 1.0 / total


def ridgeless_test_mse(
    kernel_train: ArrayLike,
    kernel_test: ArrayLike,
    targets_train: ArrayLike,
    targets_test: ArrayLike,
    sizes: ArrayLike,
    *,
    rcond: float = _RCOND,
) -> np.ndarray:
    r"""Test MSE of ridgeless kernel regression trained on the first ``n`` points.

    :math:`\hat f(x) = K(x, X_n) K_n^{+} Y_n` for each ``n`` in ``sizes``; the MSE is
    :math:`\frac1T\sum_{t}\lVert \hat f(x_t) - y_t\rVert^2` over the ``T`` test
    points, summed over target columns (the convention of arXiv:2311.14646). For a
    kernel with :math:`\lambda_i \propto i^{-\alpha}` and a task with
    :math:`v_i^2 \propto i^{-\beta}` it falls as :math:`n^{-(\beta-1)}` when
    :math:`\beta < 2\alpha + 1`, the :math:`\beta` proxy of the paper's real-data
    appendix; for :math:`\beta \ge 2\alpha + 1` it falls as :math:`n^{-2\alpha}`
    (docs/derivations/kernels.md §6).

    Args:
      kernel_train: shape ``(N, N)``, kernel among the training pool, in order;
        symmetric and PSD as for :func:`trace_inverse_scale` (symmetrized), but a
        zero block is allowed (it predicts 0).
      kernel_test: shape ``(T, N)``, kernel between test points and the pool.
      targets_train: shape ``(N,)`` or ``(N, c)``.
      targets_test: shape ``(T,)`` or ``(T, c)``.
      sizes: strictly increasing integers in ``[1, N]``.
      rcond: relative eigenvalue cutoff of the pseudo-inverse, in (0, 1).

    Returns:
      float64 array of shape ``(len(sizes),)``.

    Raises:
      ValueError: shapes that do not match (naming them), non-finite input,
        ``kernel_train`` not symmetric to 1e-8 relative or a block
        ``kernel_train[:n, :n]`` not PSD (naming it), bad sizes or rcond.

    Examples:
      >>> K = np.eye(3)
      >>> ridgeless_test_mse(K, np.eye(3)[:1], [1.0, 2.0, 3.0], [1.0], [1, 2]).tolist()
      [0.0, 0.0]
    """
    K = check_kernel_matrix("kernel_train", kernel_train)
    Kt = floats("kernel_test", kernel_test)
    Y = floats("targets_train", targets_train)
    Yt = floats("targets_test", targets_test)
    Y = Y[:, None] if Y.ndim == 1 else Y
    Yt = Yt[:, None] if Yt.ndim == 1 else Yt
    N = K.shape[0]
    if Kt.ndim != 2 or Kt.shape[1] != N:
        raise ValueError(
            f"kernel_test must have shape (T, {N}) to match kernel_train {K.shape}, "
            f"got {Kt.shape}"
        )
    if Y.ndim != 2 or Y.shape[0] != N:
        raise ValueError(
            f"targets_train must have {N} rows to match kernel_train, got "
            f"{np.shape(targets_train)}"
        )
    if Yt.ndim != 2 or Yt.shape != (Kt.shape[0], Y.shape[1]):
        raise ValueError(
            f"targets_test must have shape ({Kt.shape[0]}, {Y.shape[1]}) to match "
            f"kernel_test and targets_train, got {np.shape(targets_test)}"
        )
    for name, arr in [("kernel_test", Kt), ("targets_train", Y), ("targets_test", Yt)]:
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, got a NaN or inf entry")
    n = _check_sizes(sizes, N)
    r = bounded("rcond", rcond, low=0.0, high=1.0, low_open=True, high_open=True)
    out = np.empty(n.size)
    for j, m in enumerate(n):
        coef, _ = _pinv_solve(K[:m, :m], Y[:m], r, f"kernel_train[:{m}, :{m}]")
        resid = Kt[:, :m] @ coef - Yt
        out[j] = np.mean(np.einsum("tc,tc->t", resid, resid))
    if not np.all(np.isfinite(out)):
        raise ValueError(
            "the test MSE exceeds float64 (about 1.8e308): kernel_test or the targets "
            "are too large, or kernel_train too small; rescale them"
        )
    return out


def fit_power_law(
    sizes: ArrayLike, values: ArrayLike, *, window: tuple[float, float]
) -> tuple[np.ndarray, float, float, int]:
    r"""Least-squares line :math:`\log y = \log c + s \log n` over a window of ``n``.

    Args:
      sizes: shape ``(S,)``, positive sample sizes.
      values: shape ``(S,)`` or ``(B, S)``, positive values, one row per draw.
      window: ``(n_lo, n_hi)``; the sizes with ``n_lo <= n <= n_hi`` are fitted
        (at least two).

    Returns:
      ``(draw_slopes, slope, log_prefactor, num_sizes)``: the slope of each row, and
      the slope and intercept of the fit to the mean over rows of :math:`\log y`.

    Raises:
      ValueError: fewer than two sizes in the window, a size that is not positive
        and finite, values in the window that are not, mismatched shapes.

    Examples:
      >>> n = np.array([10.0, 100.0, 1000.0])
      >>> s, slope, logc, m = fit_power_law(n, 3 * n**-1.5, window=(10, 1000))
      >>> round(slope, 12), round(float(np.exp(logc)), 12), m
      (-1.5, 3.0, 3)
    """
    return _fit(sizes, values, window, "values")


def _fit(sizes, values, window, name: str) -> tuple[np.ndarray, float, float, int]:
    """:func:`fit_power_law`, naming ``values`` as ``name`` in its errors."""
    n = floats("sizes", sizes)
    y = floats(name, values)
    y = y[None, :] if y.ndim == 1 else y
    if n.ndim != 1 or y.ndim != 2 or y.shape[1] != n.size:
        raise ValueError(
            f"{name} must have shape ({n.size},) or (B, {n.size}) to match sizes, "
            f"got {np.shape(values)}"
        )
    require("sizes", n, np.isfinite(n) & (n > 0), "positive and finite")  # all
    try:
        lo, hi = (float(w) for w in window)
    except (TypeError, ValueError):
        raise ValueError(
            f"window must be a pair (n_lo, n_hi), got {plain(window)!r}"
        ) from None
    inside = (n >= lo) & (n <= hi)
    if inside.sum() < 2:
        raise ValueError(
            f"window {window!r} must contain at least two sizes, got "
            f"{int(inside.sum())} of {n.tolist()!r}"
        )
    sel = y[:, inside]
    if not np.all(np.isfinite(sel) & (sel > 0)):
        raise ValueError(f"{name} in the window must be positive and finite")
    X = np.stack([np.ones(int(inside.sum())), np.log(n[inside])], axis=1)
    logy = np.log(sel)
    coef = np.linalg.lstsq(X, logy.T, rcond=None)[0]  # (2, B)
    mean_coef = np.linalg.lstsq(X, logy.mean(axis=0), rcond=None)[0]
    return coef[1], float(mean_coef[1]), float(mean_coef[0]), int(inside.sum())


def _exponent_fit(sizes, values, window, offset, name: str) -> ExponentFit:
    draw_slopes, slope, logc, m = _fit(sizes, values, window, name)
    draws = offset - draw_slopes
    b = draws.size
    spread = float(np.std(draws, ddof=1)) if b > 1 else 0.0
    lo, hi = (float(w) for w in window)
    return ExponentFit(
        exponent=offset - slope,
        spread=spread,
        stderr=spread / math.sqrt(b),
        draws=draws,
        slope=slope,
        log_prefactor=logc,
        window=(lo, hi),
        num_sizes=m,
    )


def alpha_proxy(
    sizes: ArrayLike, trace_scales: ArrayLike, *, window: tuple[float, float]
) -> ExponentFit:
    r""":math:`\alpha = -d\log\tilde\kappa/d\log n` over ``window``.

    Args:
      sizes: shape ``(S,)``.
      trace_scales: shape ``(S,)`` or ``(B, S)``: :func:`trace_inverse_scale` of
        each of ``B`` draws.
      window: ``(n_lo, n_hi)``, inclusive.

    Returns:
      :class:`ExponentFit` with ``exponent`` = :math:`\alpha`.

    Raises:
      ValueError: as :func:`fit_power_law`.

    Examples:
      >>> n = np.array([100.0, 200.0, 400.0])
      >>> round(alpha_proxy(n, n**-1.3, window=(100, 400)).exponent, 12)
      1.3
    """
    return _exponent_fit(sizes, trace_scales, window, 0.0, "trace_scales")


def beta_proxy(
    sizes: ArrayLike, test_mse: ArrayLike, *, window: tuple[float, float]
) -> ExponentFit:
    r""":math:`\beta = 1 - d\log E_{te}/d\log n` over ``window``.

    This is :math:`\beta` only while :math:`\beta < 2\alpha + 1`: beyond, the
    ridgeless test MSE falls as :math:`n^{-2\alpha}` and the proxy saturates at
    :math:`2\alpha + 1` (docs/derivations/kernels.md §6).

    Args:
      sizes: shape ``(S,)``.
      test_mse: shape ``(S,)`` or ``(B, S)``: :func:`ridgeless_test_mse` of each of
        ``B`` draws.
      window: ``(n_lo, n_hi)``, inclusive.

    Returns:
      :class:`ExponentFit` with ``exponent`` = :math:`\beta`.

    Raises:
      ValueError: as :func:`fit_power_law`.

    Examples:
      >>> n = np.array([100.0, 200.0, 400.0])
      >>> round(beta_proxy(n, 2 * n**-0.25, window=(100, 400)).exponent, 12)
      1.25
    """
    return _exponent_fit(sizes, test_mse, window, 1.0, "test_mse")
