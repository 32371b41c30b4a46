r"""Paper B: the deep linear UFM objectives at explicit parameters.

Dang, Tran, Osher, Tran-The, Ho & Nguyen, "Neural Collapse in Deep Linear Networks:
From Balanced to Imbalanced Data", ICML 2023, arXiv:2301.00437. With ``weights``
``[W_1, ..., W_M]`` (hidden layers ``(d, d)``, ``W_M`` ``(K, d)``), features ``H``
``(d, N)``, integer ``labels`` and an optional unregularized bias ``b``, the MSE
objective (``docs/derivations/neural_collapse.md`` §3) and the cross-entropy one
(a mean over samples, derivations §4 and §6.5) are evaluated directly: the
reference the closed forms of ``theory._nc_deep_linear`` and ``theory._nc_deep_ce``
are checked against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from theory._args import floats
from theory._args import plain
from theory._nc_deep_linear import _lam
from theory._nc_deep_linear import _layer_lams

# used by the docstring examples (doctests run in this module's namespace)
from theory._nc_deep_linear import deep_linear_mse_minimizer  # noqa: F401
from theory._nc_deep_linear import deep_linear_mse_point  # noqa: F401
from theory._nc_metrics import _exponent
from theory._nc_metrics import _finite_out
from theory._nc_metrics import check_features
from theory._nc_metrics import check_labels

__all__ = [
    "deep_linear_ce_objective",
    "deep_linear_mse_objective",
]

_OBJECTIVE, _INPUTS = "the deep linear objective", "the weights, H or the weight decays"


def _model_args(weights, H, labels, lam_w, lam_h, b):
    H = check_features(H)
    y, K = check_labels(labels, H.shape[1])
    if isinstance(weights, str) or not hasattr(weights, "__len__") or not len(weights):
        raise ValueError(
            f"weights must be a non-empty list [W_1, ..., W_M] of matrices, got "
            f"weights={plain(weights)!r}"
        )
    Ws = [check_features(w, f"weights[{i}]") for i, w in enumerate(weights)]
    M = len(Ws)
    lw = _layer_lams(lam_w, M)
    lh = _lam("lam_h", lam_h)
    d = H.shape[0]
    for i, w in enumerate(Ws[:-1]):
        if w.shape != (d, d):
            raise ValueError(f"hidden layer {i + 1} must be ({d}, {d}), got {w.shape}")
    if Ws[-1].shape != (K, d):
        raise ValueError(f"last layer must be ({K}, {d}), got {Ws[-1].shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = H
        for w in Ws:
            out = w @ out
        if b is not None:
            b = floats("b", b)
            if b.shape != (K,) or not np.all(np.isfinite(b)):
                raise ValueError(f"b must be ({K},) finite values, got b={plain(b)!r}")
            out = out + b[:, None]
        reg = 0.5 * sum(lam * np.sum(w * w) for lam, w in zip(lw, Ws, strict=True))
        reg += 0.5 * lh * np.sum(H * H)
    _finite_out(_OBJECTIVE, out, reg, inputs=_INPUTS)
    return out, y, K, reg


@np.errstate(over="ignore")  # checked by _finite_out
def _total(loss, reg) -> float:
    total = loss + reg
    _finite_out(_OBJECTIVE, total, inputs=_INPUTS)
    return float(total)


def deep_linear_mse_objective(
    weights: Sequence[ArrayLike],
    H: ArrayLike,
    labels: ArrayLike,
    *,
    lam_w: float | Sequence[float],
    lam_h: float,
    b: ArrayLike | None = None,
) -> float:
    r"""The deep linear UFM objective with MSE at explicit parameters.

    .. math::

        \frac{1}{2N}\|W_M\cdots W_1 H + b1^\top - Y\|_F^2
        + \sum_l \frac{\lambda_{W_l}}{2}\|W_l\|_F^2 + \frac{\lambda_H}{2}\|H\|_F^2

    Args:
      weights: ``[W_1, ..., W_M]``.
      H: ``(d, N)``.
      labels: ``(N,)`` integer labels.
      lam_w: a number or ``M`` values.
      lam_h: :math:`\lambda_H > 0`.
      b: optional ``(K,)`` bias (not regularized).

    Returns:
      The objective value.

    Raises:
      ValueError: shapes that do not chain, labels not matching ``H``, bad
        :math:`\lambda`.

    Examples:
      >>> p = deep_linear_mse_point([3, 1], depth=2, lam_w=1e-2, lam_h=1e-2, width=2)
      >>> v = deep_linear_mse_objective(p.weights, p.H, p.labels, lam_w=1e-2,
      ...                               lam_h=1e-2)
      >>> s = deep_linear_mse_minimizer([3, 1], depth=2, lam_w=1e-2, lam_h=1e-2)
      >>> bool(abs(v - s.objective) < 1e-14)
      True
    """
    out, y, _, reg = _model_args(weights, H, labels, lam_w, lam_h, b)
    N = out.shape[1]
    R = out.copy()
    R[y, np.arange(N)] -= 1.0
    # sum(R^2) / (2N) as s^2 (sum((R/s)^2) / (2N)) with s the power of two nearest
    # max|R| (exact): R^2 overflows at |R| > 1.3e154 though the mean may not.
    e = _exponent(R)
    Rs = np.ldexp(R, -e)
    with np.errstate(over="ignore"):  # checked by _total
        loss = np.ldexp(0.5 * np.sum(Rs * Rs) / N, 2 * e)
    return _total(loss, reg)


def deep_linear_ce_objective(
    weights: Sequence[ArrayLike],
    H: ArrayLike,
    labels: ArrayLike,
    *,
    lam_w: float | Sequence[float],
    lam_h: float,
    b: ArrayLike | None = None,
) -> float:
    r"""The deep linear UFM objective with cross-entropy at explicit parameters.

    .. math::

        \frac1N\sum_i \mathrm{CE}(W_M\cdots W_1 h_i + b, y_i)
        + \sum_l \frac{\lambda_{W_l}}{2}\|W_l\|_F^2 + \frac{\lambda_H}{2}\|H\|_F^2

    (a mean over samples, as ``nn.CrossEntropyLoss``; the normalization of the
    paper's CE theorem was not available to check; derivations §6.5).

    Args:
      weights, H, labels, lam_w, lam_h, b: as :func:`deep_linear_mse_objective`.

    Returns:
      The objective value.

    Raises:
      ValueError: as :func:`deep_linear_mse_objective`.

    Examples:
      >>> from theory.neural_collapse import deep_linear_ce_etf
      >>> e = deep_linear_ce_etf(4, 20, depth=1, lam_w=5e-3, lam_h=5e-3)
      >>> round(e.objective, 6)
      0.319722
    """
    out, y, _, reg = _model_args(weights, H, labels, lam_w, lam_h, b)
    N = out.shape[1]
    cols = np.arange(N)
    # CE_i = log sum_k exp(z_k) - z_y = (m - z_y) + log1p(sum_{k != j} exp(z_k - m))
    # with m = z_j the largest logit, j = y where z_y is largest: then the first term
    # is 0 and log1p keeps a CE far below eps (e^-100 at margin 100), which
    # log(1 + ...) rounded to 0; else both terms are >= 0 (no cancellation).
    m = out.max(axis=0)
    zy = out[y, cols]
    j = np.where(zy == m, y, out.argmax(axis=0))
    with np.errstate(over="ignore", invalid="ignore"):  # checked by _total
        rest = np.exp(out - m)
        rest[j, cols] = 0.0
        ce = np.mean((m - zy) + np.log1p(np.sum(rest, axis=0)))
    return _total(ce, reg)
