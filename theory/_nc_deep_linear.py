r"""Paper B: global minimizers of the deep linear unconstrained-features model.

Dang, Tran, Osher, Tran-The, Ho & Nguyen, "Neural Collapse in Deep Linear Networks:
From Balanced to Imbalanced Data", ICML 2023, arXiv:2301.00437. The model (as in the
official code ``Fsoft-AIC/Neural-Collapse-in-Deep-Linear-Networks``) is

.. math::

    \min\ \frac{1}{2N}\|W_M\cdots W_1 H + b 1_N^\top - Y\|_F^2
    + \sum_{l=1}^M \frac{\lambda_{W_l}}{2}\|W_l\|_F^2 + \frac{\lambda_H}{2}\|H\|_F^2

with ``H`` ``(d, N)``, hidden layers ``(d, d)``, ``W_M`` ``(K, d)`` and an optional
**unregularized** bias ``b``. ``depth`` is ``M``, ``lam_w`` the
:math:`\lambda_{W_l}` (one number or one per layer), ``lam_h`` is :math:`\lambda_H`,
``class_sizes`` the :math:`n_k`. The closed forms here were derived for this package
(``docs/derivations/neural_collapse.md`` §3, §6.3-§6.4) and checked against L-BFGS
and gradient descent in the tests; the paper's own theorem statements were not
available to check against.

Here: the MSE minimizer and its explicit parameters (objectives at explicit parameters:
``theory._nc_deep_objectives``; the cross-entropy reduction: ``theory._nc_deep_ce``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import floats
from theory._args import integer
from theory._args import real
from theory._args import require
from theory._nc_metrics import check_rotation
from theory._solve import solve_bracketed

__all__ = [
    "DeepLinearMSEMinimizer",
    "DeepLinearPoint",
    "deep_linear_class_a2",
    "deep_linear_mse_minimizer",
    "deep_linear_mse_point",
    "nonzero_threshold",
]

_XTOL = 1e-15

_MAX_SIZE = 2**53  # class sizes and their sum stay exact float64 integers


def _class_sizes(class_sizes) -> np.ndarray:
    n = np.asarray(class_sizes)
    if n.dtype.kind not in "iuf":
        raise ValueError(f"class_sizes must be integers, got {class_sizes!r}")
    if n.ndim != 1:
        raise ValueError(f"class_sizes must be 1-D, got shape {n.shape}")
    if n.size < 2:
        raise ValueError(f"need K >= 2 classes, got K={n.size} (class_sizes={n})")
    if not np.all(np.isfinite(n.astype(np.float64))) or np.any(n != np.round(n)):
        raise ValueError(f"class_sizes must be integers, got {n}")
    if np.any(n < 1):
        raise ValueError(f"class sizes must be >= 1, got class_sizes={n.tolist()}")
    if float(np.sum(n, dtype=np.float64)) > _MAX_SIZE:
        raise ValueError(
            f"the class sizes must sum to at most 2^53 (exact in float64), got "
            f"class_sizes={n.tolist()}"
        )
    return n.astype(np.int64)


def _depth(depth) -> int:
    return integer("depth", depth, 1)


def _layer_lams(lam_w, depth: int) -> np.ndarray:
    lw = floats("lam_w", lam_w)
    if lw.ndim == 0:
        lw = np.full(depth, float(lw))
    if lw.shape != (depth,):
        raise ValueError(
            f"lam_w must be a number or one value per layer (depth={depth}), got "
            f"shape {lw.shape}"
        )
    if not np.all(np.isfinite(lw) & (lw > 0)):
        raise ValueError(f"lam_w must be finite and > 0, got lam_w={lw.tolist()}")
    return lw


def _lam(name: str, value) -> float:
    v = real(name, value)
    require(name, v, np.isfinite(v) and v > 0, "finite and > 0")
    return v


def nonzero_threshold(depth: int) -> float:
    r"""Largest :math:`b/n_k` at which class ``k`` is non-zero at the global minimum.

    .. math::

        \varphi_c(M) = \frac{(M-1)^{(M-1)/M}}{M}\ (M \ge 2),\qquad \varphi_c(1) = 1

    where :math:`b = MN(N\bar\lambda^M\lambda_H)^{1/M}` (derivations §3, derived: the
    zero branch and the positive root have equal objective exactly here).

    Args:
      depth: ``M >= 1``.

    Returns:
      The threshold (``0.5`` for ``M = 2``).

    Raises:
      ValueError: ``depth < 1`` or beyond the float64 range (1.8e308).

    Examples:
      >>> nonzero_threshold(1), nonzero_threshold(2)
      (1.0, 0.5)
    """
    M = _depth(depth)
    if M == 1:
        return 1.0
    if M > sys.float_info.max:  # an exact int-float comparison: M has no float64
        raise ValueError(
            "depth must be at most 1.8e308 (the float64 range), got "
            f"depth~1e{len(str(M)) - 1}"
        )
    return float((M - 1) ** ((M - 1) / M) / M)


class DeepLinearMSEMinimizer(NamedTuple):
    r"""The global minimizer of the deep linear UFM with MSE, per class.

    ``W = W_M ... W_1`` is the end-to-end classifier, :math:`\bar H` the class means.

    Attributes:
      a2: ``(K,)``, :math:`\|w_k\|^2 = (WW^\top)_{kk}`.
      layer_sv2: ``(M, K)``, squared singular value of layer ``l`` along class
        direction ``k`` (:math:`\lambda_{W_l}\sigma_{l,k}^2` equal over ``l``).
        With a bias the last direction is the (unused) all-ones one, so 0.
      mean_norm2: ``(K,)``, :math:`\|\bar h_k\|^2 = (\bar H^\top\bar H)_{kk}`.
      wh: ``(K,)``, :math:`w_k^\top\bar h_k = (W\bar H)_{kk}`.
      objective: the minimum value.
      gram_w: ``(K, K)``, :math:`WW^\top` (``diag(a2)``; :math:`s P_K` with bias).
      gram_h: ``(K, K)``, :math:`\bar H^\top\bar H`.
      w_hbar: ``(K, K)``, :math:`W\bar H`.
      b: ``(K,)``, the bias (zeros when bias-free, :math:`1_K/K` with bias).
      x: ``(K,)``, the official code's variable, :math:`a_k^2 = N\lambda_H x_k^M`
        (per class direction).
      nonzero: ``(K,)`` bool, class direction ``k`` is non-zero.
      class_objective: ``(K,)``, :math:`g_k` at the solution (sum = objective up to
        the bias case's constant).
      residual: ``(K,)``, relative residual of the stationarity equation (0 on the
        zero branch).
    """

    a2: np.ndarray
    layer_sv2: np.ndarray
    mean_norm2: np.ndarray
    wh: np.ndarray
    objective: float
    gram_w: np.ndarray
    gram_h: np.ndarray
    w_hbar: np.ndarray
    b: np.ndarray
    x: np.ndarray
    nonzero: np.ndarray
    class_objective: np.ndarray
    residual: np.ndarray


def _largest_root(log_phi: np.ndarray, M: int) -> tuple[np.ndarray, np.ndarray]:
    """Largest x > 0 of M x^(M-1)/(1+x^M)^2 = phi (NaN where none); residuals.

    Takes log(phi): phi spans 1e-600 .. 1e600 for weight decays of 1e-300 .. 1e300.
    """
    x = np.full(log_phi.shape, np.nan)
    res = np.zeros(log_phi.shape)
    if M == 1:
        ok = log_phi < 0
        with np.errstate(over="ignore", divide="ignore"):
            phi = np.exp(log_phi[ok])
            # 1/sqrt(phi) where phi is a normal float (as rounded before), else logs
            direct = 1 / np.sqrt(phi) - 1
        normal = (phi > np.finfo(np.float64).tiny) & np.isfinite(phi)
        x[ok] = np.where(normal, direct, np.exp(-0.5 * log_phi[ok]) - 1)
        return x, res
    x_star = ((M - 1) / (M + 1)) ** (1 / M)
    phi_max = M * x_star ** (M - 1) / (1 + x_star**M) ** 2
    ok = log_phi <= np.log(phi_max)
    if not np.any(ok):
        return x, res
    target = log_phi[ok]

    def fun(xx):
        # log phi(x) - log target, and its derivative in log x: decreasing on
        # [x_star, inf), where the larger root lives.
        with np.errstate(over="ignore"):
            log_xm = M * np.log(xx)
            # log(1 + x^M) and x^M/(1 + x^M) without overflowing x^M
            f = np.log(M) + (M - 1) * np.log(xx) - 2 * np.logaddexp(0, log_xm) - target
            return f, (M - 1) - 2 * M * np.exp(-np.logaddexp(0, -log_xm))

    # M x^(M-1)/(1+x^M)^2 < M x^-(M+1), so the root lies below (M/phi)^(1/(M+1)).
    hi = np.maximum(2 * x_star, 2 * np.exp((np.log(M) - target) / (M + 1)))
    # f is a difference of logs up to ~700 in size: its rounding floor is a few eps
    # times that, and log x itself is resolved only to eps |log x|.
    ftol = 8 * np.finfo(np.float64).eps * (1 + np.abs(target))
    sol = solve_bracketed(fun, x_star, hi, log=True, xtol=_XTOL, ftol=ftol)
    x[ok] = sol.root
    res[ok] = np.abs(sol.residual)
    return x, res


def deep_linear_class_a2(
    class_size: ArrayLike,
    *,
    num_samples: float,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
    branch: str = "global",
) -> np.ndarray:
    r"""Squared classifier length :math:`a^2` of a class of size :math:`n_k`.

    The per-class scalar problem of :func:`deep_linear_mse_minimizer` depends on
    the other classes only through :math:`N`:
    :math:`a^2 = N\lambda_H x^M` with :math:`M x^{M-1}/(x^M+1)^2 = b/n_k`,
    :math:`b = MN(N\bar\lambda^M\lambda_H)^{1/M}`, on the global branch (0 when
    :math:`b/n_k \ge` :func:`nonzero_threshold`) or the largest root.

    Args:
      class_size: :math:`n_k > 0`, any shape (need not be integers, for curves).
      num_samples: :math:`N > 0`.
      depth, lam_w, lam_h, branch: as :func:`deep_linear_mse_minimizer`.

    Returns:
      :math:`a_k^2`, the shape of ``class_size``.

    Raises:
      ValueError: non-positive sizes or parameters.

    Examples:
      >>> float(deep_linear_class_a2(100, num_samples=400, depth=1, lam_w=5e-4,
      ...                            lam_h=5e-4))
      9.8
    """
    try:
        n = np.asarray(class_size, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"class_size must be numeric, got {class_size!r}") from None
    if not np.all(np.isfinite(n) & (n > 0)):
        raise ValueError(f"class_size must be > 0, got {class_size!r}")
    N = _lam("num_samples", num_samples)
    M = _depth(depth)
    lw = _layer_lams(lam_w, M)
    lh = _lam("lam_h", lam_h)
    if branch not in ("global", "largest_root"):
        raise ValueError(f"branch must be 'global' or 'largest_root', got {branch!r}")
    t, _ = _per_class(n.ravel(), N, M, lw, lh, branch)
    with np.errstate(over="ignore", invalid="ignore"):
        a2 = (t**M).reshape(n.shape)
    _check_a2(a2)
    return a2


def _check_a2(a2: np.ndarray) -> None:
    if not np.all(np.isfinite(a2)):
        raise ValueError(
            "a_k^2 = N lam_h x^M exceeds the float64 range (> 1.8e308): lam_h too "
            "large or lam_w too small for this depth"
        )


@np.errstate(over="ignore", invalid="ignore", divide="ignore")  # callers check t^M
def _per_class(sizes, N, M, lw, lh, branch):
    """Per-layer value t_k (a_k^2 = t_k^M) and the root residual, per class.

    In logarithms: b = M N (N lbar^M lam_h)^(1/M) and its parts under- or overflow
    for weight decays near 1e-300 or 1e300 although t is representable.
    """
    log_lbar = float(np.mean(np.log(lw)))
    lbar = float(np.exp(log_lbar))
    with np.errstate(over="ignore", under="ignore"):
        inner = N * np.float64(lbar) ** M * lh
        b_direct = M * N * inner ** (1 / M)
    if np.isfinite(b_direct) and inner > np.finfo(np.float64).tiny:
        log_phi = np.log(b_direct / sizes)  # the plain form, where it is in range
    else:
        log_b = np.log(M) + np.log(N) + (np.log(N) + M * log_lbar + np.log(lh)) / M
        log_phi = log_b - np.log(sizes)
    x, res = _largest_root(log_phi, M)
    found = np.isfinite(x)
    x = np.where(found, x, 0.0)
    res = np.where(found, res, 0.0)
    scale = (N * lh) ** (1 / M)
    if not (np.isfinite(scale) and scale > 0):
        with np.errstate(over="ignore"):  # inf: _check_a2 raises
            scale = np.exp(np.log(N) / M + np.log(lh) / M)
    t = scale * x
    if branch == "global" and M > 1:
        # (M = 1: the root, where it exists, is the global minimum, docs §3; comparing
        # it with zero near b/n_k = 1 would decide on rounding and could drop it.)
        # g_k / n_k at t relative to zero: 1/(2N) against
        # 1/(2 (N + t^M/lam_h)) + M lbar t / (2 n_k), with t^M/lam_h in logs.
        with np.errstate(over="ignore", divide="ignore"):
            ratio = np.exp(M * np.log(t) - np.log(lh))
            g0 = 1 / (2 * N)
            gt = 1 / (2 * (ratio + N)) + 0.5 * M * lbar * t / sizes
        zero_better = g0 <= gt
        t = np.where(zero_better, 0.0, t)
        res = np.where(zero_better, 0.0, res)
    return t, res


def deep_linear_mse_minimizer(
    class_sizes: ArrayLike,
    *,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
    bias: bool = False,
    branch: str = "global",
) -> DeepLinearMSEMinimizer:
    r"""Closed-form minimizer of the deep linear UFM with MSE, any class sizes.

    At the optimum the features collapse (:math:`H = \bar H Y`), :math:`WW^\top` and
    :math:`\bar H^\top\bar H` are diagonal (a general orthogonal frame) and the
    problem splits per class into a scalar one in the per-layer value
    :math:`t = a_k^{2/M}` (equal layer weight decays; unequal ones enter through
    their geometric mean :math:`\bar\lambda`, with
    :math:`\lambda_{W_l}\sigma_{l,k}^2 = \bar\lambda t_k` in every layer):

    .. math::

        g_k(t) = \frac{n_k\lambda_H}{2(t^M + N\lambda_H)} + \frac{M\bar\lambda}{2}t,
        \qquad a_k^2 = N\lambda_H x_k^M,\qquad
        \frac{M x^{M-1}}{(x^M+1)^2} = \frac{b}{n_k},\quad
        b = MN(N\bar\lambda^M\lambda_H)^{1/M}

    (derivations §3; the official code's ``compute_x``/``compute_s``). Then
    :math:`\|\bar h_k\|^2 = a_k^2/(a_k^2+N\lambda_H)^2`,
    :math:`w_k^\top\bar h_k = a_k^2/(a_k^2+N\lambda_H)` and
    :math:`w_k = (a_k^2+N\lambda_H)\bar h_k`. The global branch is chosen: for
    :math:`M \ge 2` the zero solution is always a local minimum, and class ``k`` is
    non-zero only if :math:`b/n_k <` :func:`nonzero_threshold`; the official code
    instead returns the largest root whenever it exists (``branch="largest_root"``).

    With ``bias=True`` (balanced data only) the unregularized bias is
    :math:`b = 1_K/K` and the frame is the simplex ETF: :math:`WW^\top = sP_K`,
    :math:`\bar H^\top\bar H = s/(s+N\lambda_H)^2 P_K`,
    :math:`W\bar H = s/(s+N\lambda_H) P_K` with ``s`` the bias-free balanced
    :math:`a^2` (derivations §3, "Unregularized bias, balanced data").

    Args:
      class_sizes: ``(K,)`` integers :math:`n_k \ge 1`, ``K >= 2``.
      depth: ``M >= 1`` linear layers.
      lam_w: :math:`\lambda_{W_l} > 0`, a number or ``M`` values (``lam_w[0]`` for
        the first layer ``W_1``).
      lam_h: :math:`\lambda_H > 0`.
      bias: include the unregularized last-layer bias (needs equal class sizes).
      branch: ``"global"`` or ``"largest_root"`` (the official code's answer).

    Returns:
      :class:`DeepLinearMSEMinimizer`.

    Raises:
      ValueError: ``K < 2``, a class size below 1, ``depth < 1``, non-positive or
        wrongly shaped ``lam_w``/``lam_h``, ``bias`` with unequal classes, unknown
        ``branch``.

    Examples:
      >>> s = deep_linear_mse_minimizer([200, 100, 50, 50], depth=1, lam_w=5e-4,
      ...                               lam_h=5e-4)
      >>> np.round(s.a2, 6).tolist(), round(s.objective, 7)
      ([13.942136, 9.8, 6.871068, 6.871068], 0.0189421)
    """
    return _minimize(class_sizes, depth, lam_w, lam_h, bias, branch)[0]


def _minimize(class_sizes, depth, lam_w, lam_h, bias, branch):
    """The minimizer and eta_k^2 per class direction (|hbar_k|^2 before the frame)."""
    n = _class_sizes(class_sizes)
    M = _depth(depth)
    lw = _layer_lams(lam_w, M)
    lh = _lam("lam_h", lam_h)
    if branch not in ("global", "largest_root"):
        raise ValueError(f"branch must be 'global' or 'largest_root', got {branch!r}")
    K, N = n.size, float(n.sum())
    if bias and np.any(n != n[0]):
        raise ValueError(
            f"bias=True needs equal class sizes (balanced data), got {n.tolist()}"
        )
    lbar = float(np.exp(np.mean(np.log(lw))))
    # With a bias the target's all-ones direction is fitted by b = 1/K and the other
    # K-1 directions are the balanced problem; the last direction is kept at zero.
    sizes = n.astype(np.float64)
    t, res = _per_class(sizes, N, M, lw, lh, branch)
    if bias:
        t[-1], res[-1] = 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        s2 = t**M  # squared singular value of W along each class direction
    _check_a2(s2)
    x = t / (N * lh) ** (1 / M)
    if bias:
        x[-1] = 0.0

    nonzero = t > 0
    # In terms of u = s2 / (N lh), since s2 + N lh (and N lh) can leave float64
    # although every result is representable:
    #   W Hbar along k        s2 / (s2 + N lh)    = 1 / (1 + 1/u)
    #   |hbar_k|^2            s2 / (s2 + N lh)^2  = wh_s^2 / s2 (u >= 1),
    #                                               wh_s / (1 + u) / (N lh) (u < 1)
    #   g_k (derivations §3)  n_k lh / (2 (s2 + N lh)) + M lbar t / 2
    #                         = n_k / (2 N (1 + u)) + M lbar t / 2
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        Nl = N * lh
        u = s2 / Nl
        if not (np.isfinite(Nl) and Nl >= np.finfo(np.float64).tiny):
            u = np.exp(np.log(s2) - np.log(N) - np.log(lh))
        wh_s = 1 / (1 + 1 / u)
        eta2 = np.where(u >= 1, wh_s**2 / s2, wh_s / (1 + u) / Nl)
    gk = sizes / (2 * N * (1 + u)) + 0.5 * M * lbar * t
    layer = lbar * t[None, :] / lw[:, None]
    if bias:
        P = np.eye(K) - np.full((K, K), 1.0 / K)
        gram_w, gram_h, w_hbar = s2[0] * P, eta2[0] * P, wh_s[0] * P
        objective = float(np.sum(gk[:-1]))
        b = np.full(K, 1.0 / K)
    else:
        gram_w, gram_h, w_hbar = np.diag(s2), np.diag(eta2), np.diag(wh_s)
        objective = float(np.sum(gk))
        b = np.zeros(K)
    sol = DeepLinearMSEMinimizer(
        a2=np.diag(gram_w).copy(),
        layer_sv2=layer,
        mean_norm2=np.diag(gram_h).copy(),
        wh=np.diag(w_hbar).copy(),
        objective=objective,
        gram_w=gram_w,
        gram_h=gram_h,
        w_hbar=w_hbar,
        b=b,
        x=x,
        nonzero=nonzero,
        class_objective=gk,
        residual=res,
    )
    return sol, eta2


class DeepLinearPoint(NamedTuple):
    r"""Explicit parameters of a deep linear UFM point.

    Attributes:
      weights: ``[W_1, ..., W_M]``; hidden layers ``(d, d)``, ``W_M`` ``(K, d)``.
      H: ``(d, N)`` features, columns grouped by class.
      b: ``(K,)`` bias.
      labels: ``(N,)`` class of each column.
    """

    weights: list
    H: np.ndarray
    b: np.ndarray
    labels: np.ndarray


def _point(
    class_sizes: ArrayLike,
    layer_sv: ArrayLike,
    mean_coef: ArrayLike,
    *,
    width: int,
    frame: str = "of",
    b: ArrayLike | None = None,
    rotation: ArrayLike | None = None,
) -> DeepLinearPoint:
    r"""Build explicit layers and features from per-direction singular values.

    With an orthonormal ``U`` (``d x r``) and a class-space basis ``Q`` (``K x r``:
    :math:`I_K` for ``frame="of"``, an orthonormal basis of :math:`1_K^\perp` for
    ``frame="etf"``, ``r = K`` or ``K-1``):
    :math:`W_l = U\,\mathrm{diag}(\sigma_l)U^\top` for ``l < M``,
    :math:`W_M = Q\,\mathrm{diag}(\sigma_M)U^\top` and
    :math:`\bar H = U\,\mathrm{diag}(\eta)Q^\top`, :math:`H = \bar H Y`.

    Args:
      class_sizes: ``(K,)`` class sizes.
      layer_sv: ``(M, r)`` singular values of each layer per direction.
      mean_coef: ``(r,)`` feature-mean coefficients :math:`\eta`.
      width: ``d >= K``.
      frame: ``"of"`` (``r = K``) or ``"etf"`` (``r = K - 1``).
      b: ``(K,)`` bias, default zeros.
      rotation: ``(d, r)`` orthonormal ``U`` (default first columns of the identity).

    Returns:
      :class:`DeepLinearPoint`.

    Raises:
      ValueError: bad sizes or shapes, or ``rotation`` not finite with orthonormal
        columns.

    Examples:
      >>> p = _point([2, 1], [[2.0, 1.0]], [0.5, 0.5], width=3)
      >>> (p.weights[0] @ p.H).tolist()
      [[1.0, 1.0, 0.0], [0.0, 0.0, 0.5]]
    """
    n = _class_sizes(class_sizes)
    K = n.size
    integer("width", width, K)
    if frame == "of":
        Q = np.eye(K)
    elif frame == "etf":
        P = np.eye(K) - np.full((K, K), 1.0 / K)
        Q = np.linalg.eigh(P)[1][:, 1:]
    else:
        raise ValueError(f"frame must be 'of' or 'etf', got frame={frame!r}")
    r = Q.shape[1]
    sv = np.atleast_2d(np.asarray(layer_sv, dtype=np.float64))
    eta = np.asarray(mean_coef, dtype=np.float64)
    if sv.shape[1] != r or eta.shape != (r,):
        raise ValueError(
            f"layer_sv must be (M, {r}) and mean_coef ({r},); got {sv.shape}, "
            f"{eta.shape}"
        )
    if rotation is None:
        U = np.eye(width)[:, :r]
    else:
        U = check_rotation(rotation, width, r, wider=False)
    weights = [U @ np.diag(s) @ U.T for s in sv[:-1]]
    weights.append(Q @ np.diag(sv[-1]) @ U.T)
    labels = np.repeat(np.arange(K), n)
    Hbar = U @ np.diag(eta) @ Q.T
    bias = np.zeros(K) if b is None else np.asarray(b, dtype=np.float64)
    return DeepLinearPoint(weights, Hbar[:, labels], bias, labels)


def deep_linear_mse_point(
    class_sizes: ArrayLike,
    *,
    depth: int,
    lam_w: float | Sequence[float],
    lam_h: float,
    width: int,
    bias: bool = False,
    branch: str = "global",
    rotation: ArrayLike | None = None,
) -> DeepLinearPoint:
    r"""Explicit layers and features of :func:`deep_linear_mse_minimizer`.

    Layer ``l`` is :math:`U\,\mathrm{diag}(\sigma_{l})U^\top` (the last one
    :math:`Q\,\mathrm{diag}(\sigma_M)U^\top`) with
    :math:`\sigma_{l,k}^2` = ``layer_sv2[l, k]``, and
    :math:`\bar H = U\,\mathrm{diag}(\eta)Q^\top` with
    :math:`\eta_k = a_k/(a_k^2 + N\lambda_H)`; ``Q = I_K`` bias-free, an
    orthonormal basis of :math:`1_K^\perp` with a bias. Any orthogonal ``U``
    (``rotation``) gives another minimizer.

    Args:
      class_sizes, depth, lam_w, lam_h, bias, branch: as
        :func:`deep_linear_mse_minimizer`.
      width: ``d >= K``.
      rotation: ``(d, K)`` (``(d, K-1)`` with a bias) orthonormal columns.

    Returns:
      :class:`DeepLinearPoint`.

    Raises:
      ValueError: as :func:`deep_linear_mse_minimizer`, ``width < K``, or a ``rotation``
        that is not finite with orthonormal columns (to 1e-10).

    Examples:
      >>> p = deep_linear_mse_point([2, 1], depth=1, lam_w=1e-3, lam_h=1e-3, width=2)
      >>> [w.shape for w in p.weights], p.H.shape
      ([(2, 2)], (2, 3))
    """
    sol, eta2 = _minimize(class_sizes, depth, lam_w, lam_h, bias, branch)
    n = _class_sizes(class_sizes)
    r = n.size - 1 if bias else n.size
    return _point(
        n,
        np.sqrt(sol.layer_sv2[:, :r]),
        np.sqrt(eta2[:r]),
        width=width,
        frame="etf" if bias else "of",
        b=sol.b,
        rotation=rotation,
    )
