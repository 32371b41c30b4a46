r"""Neural-collapse metrics NC1-NC4 and the simplex ETF, float64 numpy.

Conventions (``docs/derivations/neural_collapse.md`` §1), stated once for every
function here:

- Features ``H`` are ``(d, N)``: one column per sample. ``labels`` are ``(N,)``
  integers in ``0..K-1``; every class must occur. Classifiers ``W`` are ``(K, d)``
  (row ``k`` is :math:`w_k^\top`).
- Class means :math:`\bar h_k`, the sample-weighted global mean
  :math:`\bar h_G = \frac1N\sum_i h_i` and the centered means
  :math:`\dot M = \bar H - \bar h_G 1_K^\top`.
- :math:`\Sigma_W = \frac1N\sum_k\sum_i (h_{k,i}-\bar h_k)(h_{k,i}-\bar h_k)^\top`,
  :math:`\Sigma_B = \frac1K\sum_k (\bar h_k-\bar h_G)(\bar h_k-\bar h_G)^\top`.

Papyan, Han & Donoho (PNAS 2020) define the metrics; Tirer, Huang & Niles-Weed
(arXiv:2210.16658) add :math:`\widetilde{NC}_1`; Dang et al. (arXiv:2301.00437) use
the orthogonal-frame targets. Derivations and conventions:
``docs/derivations/neural_collapse.md``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import bounded
from theory._args import floats
from theory._args import integer
from theory._args import plain
from theory._args import require

__all__ = [
    "ClassMeans",
    "class_means",
    "nc1",
    "nc1_tilde",
    "nc2",
    "nc3",
    "nc4",
    "simplex_etf",
]

_FRAMES = ("etf", "of", "gof")


class ClassMeans(NamedTuple):
    r"""Class statistics of a feature matrix.

    Attributes:
      means: ``(d, K)``, :math:`\bar H = [\bar h_1, \dots, \bar h_K]`.
      global_mean: ``(d,)``, :math:`\bar h_G`, weighted by samples.
      centered: ``(d, K)``, :math:`\dot M = \bar H - \bar h_G 1_K^\top`.
      counts: ``(K,)``, :math:`n_k`.
      sigma_w: ``(d, d)``, :math:`\Sigma_W`.
      sigma_b: ``(d, d)``, :math:`\Sigma_B`.
    """

    means: np.ndarray
    global_mean: np.ndarray
    centered: np.ndarray
    counts: np.ndarray
    sigma_w: np.ndarray
    sigma_b: np.ndarray


def _finite_out(name: str, *arrays, inputs: str = "W, H or the weight decays") -> None:
    """ValueError where a result left float64 (the inputs are too large)."""
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise ValueError(
                f"{name} exceeds the float64 range (|value| > 1.8e308): {inputs} too "
                "large"
            )


def check_num_classes(K) -> int:
    """``K`` as an int >= 2, else ``ValueError`` naming it."""
    return integer("K", K, 2)


def check_features(H: ArrayLike, name: str = "H") -> np.ndarray:
    """``H`` as a finite float64 ``(d, N)`` array."""
    H = floats(name, H)
    if H.ndim != 2 or H.shape[1] == 0:
        raise ValueError(f"{name} must be a (d, N) matrix, got shape {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError(f"{name} has non-finite entries")
    return H


def check_labels(
    labels: ArrayLike, N: int, K: int | None = None
) -> tuple[np.ndarray, int]:
    """Integer labels of length ``N`` covering ``0..K-1``; returns ``(labels, K)``."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != N:
        raise ValueError(
            f"labels must have one entry per column of H (N={N}), got shape {y.shape}"
        )
    # Values are checked before the int cast (inf and 1e20 do not fit int64) and
    # before bincount allocates max(labels) + 1 counts.
    if y.dtype.kind == "f":
        require("labels", y, np.isfinite(y), "finite")
        require("labels", y, y == np.round(y), "integers")
    elif y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {y.dtype}")
    if y.min() < 0:
        raise ValueError(f"labels must be >= 0, got label {plain(y.min())!r}")
    if K is not None:
        K = check_num_classes(K)
        if y.max() >= K:
            raise ValueError(f"labels must be < K={K}, got label {plain(y.max())!r}")
        if K > N:
            raise ValueError(
                f"every class needs a sample: K={K} classes but N={N} labels"
            )
    elif y.max() >= N:
        # every class 0..max(labels) needs a sample, so max(labels) < N
        raise ValueError(
            f"labels must be < N={N} (every class 0..max(labels) needs a sample), "
            f"got label {plain(y.max())!r}"
        )
    y = y.astype(np.int64)
    K = int(y.max()) + 1 if K is None else K
    counts = np.bincount(y, minlength=K)
    if np.any(counts < 1):
        k = int(np.flatnonzero(counts < 1)[0])
        raise ValueError(f"every class needs a sample: class {k} has none in labels")
    check_num_classes(K)
    return y.astype(np.int64), K


def _normalized(X: np.ndarray) -> np.ndarray:
    """X divided by the power of two nearest its largest entry (exact, invertible).

    The NC metrics are invariant under scaling the features, so computing them on
    the normalized matrix gives the same value without overflowing or underflowing
    squares at entries near 1e±300.
    """
    return np.ldexp(X, -_exponent(X))


def _exponent(X: np.ndarray) -> int:
    """The exponent of the power of two :func:`_normalized` divides by (0 for 0)."""
    top = float(np.max(np.abs(X), initial=0.0))
    return int(np.frexp(top)[1]) if top else 0


def _means_rounding(X: np.ndarray) -> np.ndarray:
    """``(d, 1)``: a bound on the rounding of the centred class means of ``X``, per row.

    A class mean sums at most ``N`` entries of a row and the global mean ``N``
    (recursive or pairwise, each with error <= (terms - 1) eps/2 times the sum of
    their sizes; Higham, *Accuracy and Stability*, §4.2), and a division and the
    centring subtraction round once more: every centred mean is within
    ``(N + 1) eps max|row|`` of its exact value.
    """
    eps = np.finfo(np.float64).eps
    return (X.shape[1] + 1) * eps * np.max(np.abs(X), axis=1, keepdims=True)


def _means_coincide(X: np.ndarray, centered: np.ndarray) -> bool:
    """The centred class means of ``X`` are zero up to their rounding: their norm is
    at most that of :func:`_means_rounding`'s bound (so Sigma_B is rounding noise).

    Both are divided by the power of two nearest ``max|X|`` (exact), so the test is
    the same for ``X`` and ``c X`` and the norms neither overflow nor underflow.
    """
    if not np.any(X):
        return True
    e = -_exponent(X)
    bound = np.broadcast_to(_means_rounding(np.ldexp(X, e)), centered.shape)
    return not np.linalg.norm(np.ldexp(centered, e)) > np.linalg.norm(bound)


# |R^T R - I| allowed of a rotation: a float64 orthonormalization (QR, SVD, eigh) of
# a d x d matrix leaves ~d eps ~ 1e-13 at d = 1000, so 1e-10 accepts every such
# matrix up to d ~ 1e5 and still refuses a float32 one (~1e-7) or a scaled one.
_ROTATION_ATOL = 1e-10


def check_rotation(rotation: ArrayLike, d: int, r: int, *, wider: bool) -> np.ndarray:
    """``rotation`` as a float64 ``(d, r)`` matrix with orthonormal columns.

    ``wider``: ``(d, m)``, ``r <= m <= d``, is accepted too (every column checked) and
    its first ``r`` columns are returned; else the shape must be ``(d, r)``.
    """
    U = floats("rotation", rotation)
    if U.ndim != 2 or U.shape[0] != d or (U.shape[1] < r if wider else U.shape[1] != r):
        also = f" or ({d}, {d})" if wider else ""
        raise ValueError(f"rotation must be ({d}, {r}){also}, got shape {U.shape}")
    require("rotation", U, np.isfinite(U), "finite")
    with np.errstate(over="ignore", invalid="ignore"):  # huge entries: err = inf
        err = float(np.max(np.abs(U.T @ U - np.eye(U.shape[1]))))
    if not err <= _ROTATION_ATOL:
        raise ValueError(
            f"rotation must have orthonormal columns (|R^T R - I| <= "
            f"{_ROTATION_ATOL:g}), got max |R^T R - I| = {err:.3g}"
        )
    return U[:, :r]


def _check_width(d: int, K: int, name: str = "d") -> None:
    if d < K:
        raise ValueError(f"feature dimension {name}={d} must be >= K={K}")


def class_means(
    H: ArrayLike, labels: ArrayLike, *, global_mean: str = "weighted"
) -> ClassMeans:
    r"""Class means, the global mean and the two covariances of ``H``.

    .. math::

        \Sigma_W = \frac1N \sum_{k,i}(h_{k,i}-\bar h_k)(h_{k,i}-\bar h_k)^\top,\qquad
        \Sigma_B = \frac1K \sum_k (\bar h_k-\bar h_G)(\bar h_k-\bar h_G)^\top

    (Papyan et al. 2020; derivations §1).

    Args:
      H: ``(d, N)`` features, float.
      labels: ``(N,)`` integer labels, every class in ``0..K-1`` present.
      global_mean: ``"weighted"`` (default): :math:`\bar h_G` is the mean of all
        samples, as Papyan et al. (2020) and the papers' official code define it;
        ``"unweighted"``: the plain mean of the class means, the default of
        rhubarbwu's neural-collapse library. The two coincide on balanced classes;
        on imbalanced ones the centered means, hence NC1 and NC2, differ.

    Returns:
      :class:`ClassMeans`.

    Raises:
      ValueError: ``H`` not 2-D or non-finite, labels not matching ``H``, a class
        without samples, ``K < 2`` or ``d < K``.

    Examples:
      >>> H = np.array([[1.0, 3.0, -1.0, -1.0], [0.0, 0.0, 2.0, 4.0]])
      >>> cm = class_means(H, [0, 0, 1, 1])
      >>> cm.means.tolist(), float(np.trace(cm.sigma_w))
      ([[2.0, -1.0], [0.0, 3.0]], 1.0)
    """
    if not isinstance(global_mean, str) or global_mean not in (
        "weighted",
        "unweighted",
    ):
        raise ValueError(
            "global_mean must be 'weighted' or 'unweighted', got "
            f"global_mean={plain(global_mean)!r}"
        )
    H = check_features(H)
    y, K = check_labels(labels, H.shape[1])
    _check_width(H.shape[0], K)
    with np.errstate(over="ignore", invalid="ignore"):
        out = _class_means(H, y, K, unweighted=global_mean == "unweighted")
    if not all(np.all(np.isfinite(a)) for a in out):
        raise ValueError(
            "class_means: the covariances exceed the float64 range (entries of H "
            "beyond ~1e154); the NC metrics themselves are scale invariant"
        )
    return out


def _class_means(
    H: np.ndarray, y: np.ndarray, K: int, *, unweighted: bool = False
) -> ClassMeans:
    N = H.shape[1]
    counts = np.bincount(y, minlength=K).astype(np.float64)
    onehot = np.zeros((K, N))
    onehot[y, np.arange(N)] = 1.0
    means = (H @ onehot.T) / counts
    glob = means.mean(axis=1) if unweighted else H.mean(axis=1)
    centered = means - glob[:, None]
    dev = H - means[:, y]
    sigma_w = dev @ dev.T / N
    sigma_b = centered @ centered.T / K
    return ClassMeans(means, glob, centered, counts, sigma_w, sigma_b)


def nc1(
    H: ArrayLike,
    labels: ArrayLike,
    *,
    rcond: float = 1e-12,
    global_mean: str = "weighted",
) -> float:
    r"""Within-class variability relative to the between-class spread (NC1).

    .. math:: \mathcal{NC}_1 = \frac1K \operatorname{Tr}(\Sigma_W \Sigma_B^\dagger)

    (Papyan et al. 2020, with the :math:`1/K` factor; some re-implementations drop
    it). :math:`\Sigma_B^\dagger` is the Moore-Penrose pseudo-inverse, taken from the
    SVD of the centred class means rather than from :math:`\Sigma_B` itself (which
    squares their condition number): eigenvalues
    of :math:`\Sigma_B` below ``rcond`` times the largest are treated as zero (the
    Han-Papyan Colab instead inverts the top ``K-1`` directions; the two agree when
    the class means span exactly ``K-1`` centered directions, e.g. balanced data), and
    so are directions whose singular value is within the float64 rounding of the
    means (at most ``(N + 1) eps`` times each row's largest entry, per entry).

    Args:
      H: ``(d, N)`` features.
      labels: ``(N,)`` integer labels.
      rcond: relative cut-off of the pseudo-inverse, in ``(0, 1)``.
      global_mean: ``"weighted"`` or ``"unweighted"``, see :func:`class_means`.

    Returns:
      :math:`\mathcal{NC}_1 \ge 0`.

    Raises:
      ValueError: as :func:`class_means`, ``rcond`` outside ``(0, 1)``, or class
        means that coincide up to rounding (NC1 undefined).

    Examples:
      >>> H = np.array([[1.0, 3.0, -1.0, -1.0], [0.0, 0.0, 2.0, 4.0]])
      >>> round(nc1(H, [0, 0, 1, 1]), 12)  # (1/2) * 0.5 / 4.5
      0.055555555556
    """
    rcond = bounded("rcond", rcond, low=0.0, high=1.0, low_open=True, high_open=True)
    Hn = _normalized(check_features(H))
    cm = class_means(Hn, labels, global_mean=global_mean)
    # Sigma_B = C C^T / K with C the centred means: from the SVD C = U S V^T,
    # NC1 = sum_i u_i^T Sigma_W u_i / S_i^2, without forming Sigma_B (whose
    # eigenvectors carry the square of the means' condition number).
    # Singular values within the means' rounding (Weyl: an error E moves each by at
    # most |E|_2 <= |E|_F) carry no direction: dropped, and none left means the means
    # coincide (this includes _means_coincide, as S[0] <= |C|_F).
    floor = np.linalg.norm(np.broadcast_to(_means_rounding(Hn), cm.centered.shape))
    U, S, _ = np.linalg.svd(cm.centered, full_matrices=False)
    if not S[0] > floor:
        raise ValueError(
            "nc1: the class means coincide (Sigma_B = 0 up to rounding); NC1 is "
            "undefined"
        )
    keep = ((S / S[0]) ** 2 > rcond) & (S > floor)
    u = U[:, keep]
    return max(float(np.sum(np.sum((cm.sigma_w @ u) * u, axis=0) / S[keep] ** 2)), 0.0)


def nc1_tilde(
    H: ArrayLike, labels: ArrayLike, *, global_mean: str = "weighted"
) -> float:
    r"""Trace ratio :math:`\widetilde{\mathcal{NC}}_1` of Tirer, Huang & Niles-Weed.

    .. math::

        \widetilde{\mathcal{NC}}_1(H) = \frac{\operatorname{Tr}\Sigma_W(H)}
        {\operatorname{Tr}\Sigma_B(H)}

    Eq. (3) of arXiv:2210.16658 (``covariance_ratio(metric="quotient")`` in
    rhubarbwu/neural-collapse). It is zero iff :math:`\Sigma_W = 0`.

    Args:
      H: ``(d, N)`` features.
      labels: ``(N,)`` integer labels.
      global_mean: ``"weighted"`` or ``"unweighted"``, see :func:`class_means`.

    Returns:
      :math:`\widetilde{\mathcal{NC}}_1 \ge 0`.

    Raises:
      ValueError: as :func:`class_means`, or class means that coincide up to
        rounding.

    Examples:
      >>> H = np.array([[1.0, 3.0, -1.0, -1.0], [0.0, 0.0, 2.0, 4.0]])
      >>> round(nc1_tilde(H, [0, 0, 1, 1]), 12)  # 1 / 4.5
      0.222222222222
    """
    Hn = _normalized(check_features(H))
    cm = class_means(Hn, labels, global_mean=global_mean)
    tb = float(np.trace(cm.sigma_b))
    if _means_coincide(Hn, cm.centered) or not tb > 0:
        raise ValueError(
            "nc1_tilde: the class means coincide (Sigma_B = 0 up to rounding); the "
            "ratio is undefined"
        )
    return float(np.trace(cm.sigma_w)) / tb


def simplex_etf(K: int, d: int | None = None, *, rotation: ArrayLike | None = None):
    r"""The standard simplex equiangular tight frame, optionally rotated into R^d.

    .. math::

        M = \sqrt{\tfrac{K}{K-1}}\, U P_K, \qquad P_K = I_K - \tfrac1K 1_K 1_K^\top,
        \qquad U^\top U = I_K

    (Papyan et al. 2020; derivations §1). :math:`M^\top M = \frac{K}{K-1}P_K`: unit
    diagonal, off-diagonal :math:`-1/(K-1)`, :math:`M 1_K = 0`, rank ``K-1``,
    :math:`\|M\|_F^2 = K`.

    Args:
      K: number of classes, ``K >= 2``.
      d: ambient dimension, ``d >= K`` (default ``K``).
      rotation: ``U``, a ``(d, K)`` matrix with orthonormal columns, or a ``(d, d)``
        orthogonal matrix (its first ``K`` columns are used). Default: the first
        ``K`` columns of :math:`I_d`.

    Returns:
      ``(d, K)`` float64 matrix; column ``k`` is the vertex of class ``k``.

    Raises:
      ValueError: ``K < 2``, ``d < K``, ``d K > 10^9``, or ``rotation`` of the wrong
        shape or without orthonormal columns.

    Examples:
      >>> M = simplex_etf(3)
      >>> np.round(M.T @ M, 12).tolist()
      [[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0]]
    """
    K = check_num_classes(K)
    d = K if d is None else d
    _check_width(integer("d", d, K), K)
    if d * K > 10**9:
        raise ValueError(f"d*K must be <= 1e9 (an 8 GB frame), got d={d}, K={K}")
    if rotation is None:
        U = np.zeros((d, K))
        U[:K] = np.eye(K)
    else:
        U = check_rotation(rotation, d, K, wider=True)
    P = np.eye(K) - np.full((K, K), 1.0 / K)
    return np.sqrt(K / (K - 1)) * (U @ P)


def _frame_target(K: int, frame: str, weights) -> np.ndarray:
    if frame == "etf":
        return np.eye(K) - np.full((K, K), 1.0 / K)
    if frame == "of":
        return np.eye(K)
    if frame == "gof":
        if weights is None:
            raise ValueError("frame='gof' needs weights (the diagonal of the target)")
        try:
            w = np.asarray(weights, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"weights must be numeric, got {weights!r}") from None
        if w.shape != (K,) or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"weights must be K={K} finite values >= 0, got {w}")
        if not np.any(w > 0):
            raise ValueError("weights must have a positive entry")
        return np.diag(_normalized(w))
    raise ValueError(f"frame must be one of {_FRAMES}, got frame={frame!r}")


def nc2(M: ArrayLike, *, frame: str = "etf", weights: ArrayLike | None = None) -> float:
    r"""Distance of a Gram matrix from a tight-frame target (NC2, Frobenius form).

    .. math::

        \mathcal{NC}_2 = \Big\| \frac{M^\top M}{\|M^\top M\|_F}
        - \frac{T}{\|T\|_F} \Big\|_F,\qquad
        T = P_K\ (\text{etf}),\ I_K\ (\text{of}),\ \operatorname{diag}(w)\ (\text{gof})

    The form of Zhu et al. (NeurIPS 2021), Tirer et al. (arXiv:2210.16658) and Dang
    et al. (arXiv:2301.00437). Both matrices have unit norm, so the value lies in
    ``[0, 2]``. Pass the centered means :math:`\dot M` for the features' ETF test,
    the raw means :math:`\bar H` for OF/GOF, and :math:`W^\top` for the classifier.

    Args:
      M: ``(d, K)``; its columns are the K vectors (means or classifier rows).
      frame: ``"etf"``, ``"of"`` or ``"gof"``.
      weights: ``(K,)``, the GOF target's diagonal (e.g. :math:`a_k^2` for
        :math:`WW^\top`); only for ``frame="gof"``.

    Returns:
      :math:`\mathcal{NC}_2 \in [0, 2]`.

    Raises:
      ValueError: ``M`` not 2-D or all zero, ``K < 2``, unknown ``frame``, bad
        ``weights``.

    Examples:
      >>> round(nc2(simplex_etf(4, 6)), 12)
      0.0
      >>> round(nc2(np.eye(3), frame="of"), 12)
      0.0
    """
    M = check_features(M, "M")
    M = _normalized(M)
    K = check_num_classes(M.shape[1])
    T = _frame_target(K, frame, weights)
    G = M.T @ M
    g = np.linalg.norm(G)
    if not g > 0:
        raise ValueError("M is zero: NC2 is undefined")
    return float(np.linalg.norm(G / g - T / np.linalg.norm(T)))


def nc3(W: ArrayLike, M: ArrayLike, *, scale: ArrayLike | None = None) -> float:
    r"""Self-duality of classifier and class means (NC3, Papyan's unsquared form).

    .. math::

        \mathcal{NC}_3 = \Big\| \frac{W^\top}{\|W\|_F} - \frac{A}{\|A\|_F}\Big\|_F,
        \qquad A = M \operatorname{diag}(s)

    With ``M`` the centered means :math:`\dot M` and no ``scale`` this is the
    distance of Papyan et al. (2020, Fig. 5) **without** the square (as Paper B's
    ``compute_NC3_W_sub_H`` and nc-toolbox; the Colab ``W_M_dist`` squares it).
    With the raw means :math:`\bar H` and :math:`s_k = a_k^2 + N\lambda_H` it is
    the general-orthogonal-frame duality :math:`w_k = (a_k^2+N\lambda_H)\bar h_k` of
    the deep linear MSE minimizer (derivations §1, §3). The value lies in ``[0, 2]``.

    Args:
      W: ``(K, d)`` classifier.
      M: ``(d, K)`` means (centered or raw).
      scale: ``(K,)`` per-class factors ``s`` (default all ones).

    Returns:
      :math:`\mathcal{NC}_3 \in [0, 2]`.

    Raises:
      ValueError: shapes that do not match, a zero ``W`` or ``A``, bad ``scale``.

    Examples:
      >>> Mdot = simplex_etf(3, 4)
      >>> round(nc3(2.5 * Mdot.T, Mdot), 12)
      0.0
    """
    W = _normalized(check_features(W, "W"))
    M = check_features(M, "M")
    if W.shape != M.T.shape:
        raise ValueError(
            f"W must be (K, d) and M (d, K); got W {W.shape} and M {M.shape}"
        )
    K = check_num_classes(W.shape[0])
    A = M.copy()
    if scale is not None:
        s = floats("scale", scale)
        if s.shape != (K,) or not np.all(np.isfinite(s)):
            raise ValueError(f"scale must be K={K} finite values, got {s}")
        A = _normalized(A) * _normalized(s)
    A = _normalized(A)
    nw, na = np.linalg.norm(W), np.linalg.norm(A)
    if not (nw > 0 and na > 0):
        raise ValueError("W and the scaled means must be non-zero for NC3")
    return float(np.linalg.norm(W.T / nw - A / na))


def nc4(
    H: ArrayLike, labels: ArrayLike, W: ArrayLike, b: ArrayLike | None = None
) -> float:
    r"""Mismatch between the classifier and the nearest-class-center rule (NC4).

    .. math::

        \mathcal{NC}_4 = \frac1N \#\{i : \arg\max_k (w_k^\top h_i + b_k)
        \ne \arg\min_k \|h_i - \bar h_k\|\}

    (Papyan et al. 2020, Fig. 7; some libraries report the agreement
    :math:`1-\mathcal{NC}_4`). Ties go to the lowest class index on both sides.

    Args:
      H: ``(d, N)`` features.
      labels: ``(N,)`` integer labels (define the class means).
      W: ``(K, d)`` classifier.
      b: ``(K,)`` bias, default zero.

    Returns:
      The mismatch fraction in ``[0, 1]``.

    Raises:
      ValueError: as :func:`class_means`, or ``W``/``b`` of the wrong shape.

    Examples:
      >>> M = simplex_etf(3)
      >>> H = np.repeat(M, 2, axis=1)
      >>> nc4(H, [0, 0, 1, 1, 2, 2], M.T)
      0.0
    """
    H = check_features(H)
    _, K = check_labels(labels, H.shape[1])
    _check_width(H.shape[0], K)
    W = check_features(W, "W")
    if W.shape != (K, H.shape[0]):
        raise ValueError(f"W must be (K, d)=({K}, {H.shape[0]}), got {W.shape}")
    # argmax_k (w_k . h + b_k) is unchanged by a positive scaling of all logits: W
    # and H are divided by powers of two near their largest entries (exact) and b by
    # their product, so W H neither underflows to ties (at W, H ~ 1e-170 every
    # logit was 0) nor overflows. Where b / (that product) leaves float64, b
    # outweighs W H by more than 2^900 and the unscaled sum is used.
    shift = _exponent(W) + _exponent(H)
    with np.errstate(over="ignore", invalid="ignore"):
        logits = _normalized(W) @ _normalized(H)
    if b is not None:
        b = floats("b", b)
        if b.shape != (K,) or not np.all(np.isfinite(b)):
            raise ValueError(f"b must be ({K},) finite values, got b={plain(b)!r}")
        with np.errstate(over="ignore"):
            bs = np.ldexp(b, -shift)
        if np.all(np.isfinite(bs)):
            logits = logits + bs[:, None]
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                logits = W @ H + b[:, None]
    if not np.all(np.isfinite(logits)):
        raise ValueError("nc4: the logits W @ H + b exceed the float64 range")
    # nearest class mean is invariant under scaling H and the means together
    Hn = _normalized(H)
    means = _class_means(Hn, check_labels(labels, H.shape[1])[0], K).means
    dist = (
        np.sum(Hn * Hn, axis=0)[None, :]
        - 2 * means.T @ Hn
        + np.sum(means**2, axis=0)[:, None]
    )
    return float(np.mean(np.argmax(logits, axis=0) != np.argmin(dist, axis=0)))
