r"""Paper A: the unconstrained-features model, its minimizer and the central path.

Tirer, Huang & Niles-Weed, "Perturbation Analysis of Neural Collapse", ICML 2023,
arXiv:2210.16658 (equation and theorem numbers below are those of its ICLR 2023
submission text, ``docs/derivations/neural_collapse.md``). Balanced data: ``K``
classes of ``n`` samples, ``H`` is ``(d, Kn)`` with the columns of class ``k`` at
``k*n .. (k+1)*n - 1``, :math:`Y = I_K \otimes 1_n^\top` and ``W`` is ``(K, d)``. The
objective is

.. math::

    f(W, H; H_0) = \frac{1}{2Kn}\|WH - Y\|_F^2 + \frac{\lambda_W}{2K}\|W\|_F^2
    + \frac{\lambda_H}{2Kn}\|H\|_F^2 + \frac{\beta}{2Kn}\|H - H_0\|_F^2

(Eq. 2; ``beta = 0`` is the plain UFM of Eq. 1). ``lam_w`` is :math:`\lambda_W`,
``lam_h`` is :math:`\lambda_H`, ``beta`` is :math:`\beta`. Here: the minimizer of
Eq. 1 (Theorem 2.1), the objective and its gradients, the optimal classifier and the
central-path flow (Eq. 4, Theorem 3.1), with the argument checks that
``theory._nc_perturbation`` shares. Derivations: ``docs/derivations/neural_collapse.md``
§2, §6.1.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import bounded
from theory._args import floats
from theory._args import integer
from theory._exact import two_product
from theory._nc_metrics import _exponent
from theory._nc_metrics import _finite_out
from theory._nc_metrics import _means_coincide
from theory._nc_metrics import _normalized
from theory._nc_metrics import check_features
from theory._nc_metrics import check_num_classes
from theory._nc_metrics import check_rotation

__all__ = [
    "CentralPath",
    "UFMMinimizer",
    "central_path_flow",
    "central_path_velocity",
    "optimal_classifier",
    "ufm_gradient",
    "ufm_minimizer",
    "ufm_objective",
]


def _ufm_sizes(K, n, d) -> tuple[int, int, int]:
    """K classes (>= 2), n >= 1 samples per class and feature dimension d >= K."""
    K = check_num_classes(K)
    n = integer("n", n, 1)
    d = integer("d", d, 1)
    if d < K:
        raise ValueError(f"feature dimension d={d} must be >= K={K}")
    return K, n, d


def _balanced(H: ArrayLike, K, name: str = "H") -> tuple[np.ndarray, int, int]:
    H = check_features(H, name)
    K = check_num_classes(K)
    d, N = H.shape
    if N % K:
        raise ValueError(
            f"{name} has N={N} columns, not a multiple of K={K} (balanced classes)"
        )
    if d < K:
        raise ValueError(f"feature dimension d={d} must be >= K={K}")
    return H, K, N // K


def _labels_matrix(K: int, n: int) -> np.ndarray:
    return np.kron(np.eye(K), np.ones((1, n)))


def _split(X: np.ndarray, K: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Within-class deviations ``(d, K, n)`` and centred class means ``(d, K)``."""
    Xc = X.reshape(X.shape[0], K, n)
    m = Xc.mean(axis=2)
    return Xc - m[:, :, None], m - m.mean(axis=1, keepdims=True)


def _check_separated(H: np.ndarray, K: int, n: int, name: str = "H") -> None:
    """ValueError where the class means of ``H`` coincide up to their rounding
    (Tr Sigma_B = 0: NC1~ and its rate are undefined)."""
    if _means_coincide(H, _split(H, K, n)[1]):
        raise ValueError(
            f"the class means of {name} coincide: Tr Sigma_B = 0 (up to rounding)"
        )


_MAX_STEPS = 10**7  # central_path_flow: integration steps in one call
# central_path_flow: largest h * (lam_h + 1/(4 lam_w)), the step times the fastest
# decay rate of the linearized flow (see there); a quarter of Euler's real stability
# limit 2 and under a fifth of RK4's 2.785.
_STEP_RATE = 0.5


class UFMMinimizer(NamedTuple):
    r"""A global minimizer of the plain UFM (Eq. 1) and its scalars.

    Attributes:
      W: ``(K, d)``, :math:`W^*`.
      H: ``(d, Kn)``, :math:`H^* = \bar H^* \otimes 1_n^\top`.
      rho: :math:`\rho = \|\bar h_k^*\|^2 = (1-c)\sqrt{\lambda_W/\lambda_H}`
        (0 when :math:`c > 1`).
      c: :math:`c = \sqrt{\lambda_H\lambda_W}`.
      w_norm2: :math:`\|w_k^*\|^2 = (1-c)\sqrt{\lambda_H/\lambda_W}`.
      wh: :math:`w_k^{*\top}\bar h_k^* = 1 - c`.
      objective: :math:`f^* = c - c^2/2` (``1/2`` when :math:`c > 1`).
    """

    W: np.ndarray
    H: np.ndarray
    rho: float
    c: float
    w_norm2: float
    wh: float
    objective: float


def _one_minus_c(lam_h: ArrayLike, lam_w: ArrayLike) -> np.ndarray:
    r""":math:`1 - c`, :math:`c = \sqrt{\lambda_H\lambda_W}`, to rounding also as
    :math:`c \to 1`.

    Formed as :math:`(1 - \lambda_H\lambda_W)/(1 + c)` with the product split
    exactly into ``p + e`` (Dekker's product, after scaling by a power of two), so
    that :math:`1 - \lambda_H\lambda_W = (1 - p) - e` rounds once where it is small;
    ``1 - c`` from a rounded c lost up to all digits there (1.1e-4 relative at
    :math:`\lambda_H = \lambda_W = 1 - 10^{-12}`).
    """
    lh, lw = np.asarray(lam_h, np.float64), np.asarray(lam_w, np.float64)
    c = np.sqrt(lh) * np.sqrt(lw)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        m, e = np.frexp(lh)
        p, err = two_product(m, np.ldexp(lw, e))  # the product of lh and lw
        exact = ((1 - p) - err) / (1 + c)
    near = (p > 0.5) & (p < 2) & np.isfinite(err)
    return np.where(near, exact, 1 - c)


def ufm_minimizer(
    K: int,
    n: int,
    d: int,
    *,
    lam_w: float,
    lam_h: float,
    rotation: ArrayLike | None = None,
) -> UFMMinimizer:
    r"""Closed-form global minimizer of the balanced, bias-free UFM with MSE.

    Theorem 2.1 of arXiv:2210.16658 (Theorem 3.1 of Tirer & Bruna, ICML 2022): with
    :math:`c = \sqrt{\lambda_H\lambda_W} \le 1`,

    .. math::

        H^* = \sqrt{\rho}\, R \otimes 1_n^\top,\quad
        W^* = \sqrt{\lambda_H/\lambda_W}\,\sqrt{\rho}\, R^\top,\quad
        \rho = (1-c)\sqrt{\lambda_W/\lambda_H},\quad R^\top R = I_K,

    so :math:`W^*H^* = (1-c)Y`; for :math:`c > 1` the minimizer is ``(0, 0)``.

    Args:
      K: classes, ``>= 2``.
      n: samples per class, ``>= 1``.
      d: feature dimension, ``>= K``.
      lam_w: :math:`\lambda_W > 0`.
      lam_h: :math:`\lambda_H > 0`.
      rotation: ``R``, ``(d, K)`` with orthonormal columns (or ``(d, d)``
        orthogonal; first ``K`` columns used). Default: first ``K`` columns of
        :math:`I_d`. Every minimizer has this form for some ``R``.

    Returns:
      :class:`UFMMinimizer`.

    Raises:
      ValueError: ``K < 2``, ``n < 1``, ``d < K``, non-positive ``lam_w`` or
        ``lam_h``, or a bad ``rotation``.

    Examples:
      >>> m = ufm_minimizer(4, 5, 6, lam_w=0.3, lam_h=0.5)
      >>> round(m.rho, 6), round(m.w_norm2, 6), round(m.objective, 6)
      (0.474597, 0.790994, 0.312298)
    """
    K, n, d = _ufm_sizes(K, n, d)
    lw = bounded("lam_w", lam_w, low=0.0, low_open=True)
    lh = bounded("lam_h", lam_h, low=0.0, low_open=True)
    if rotation is None:
        R = np.eye(d)[:, :K]
    else:
        R = check_rotation(rotation, d, K, wider=True)
    c = float(np.sqrt(lh) * np.sqrt(lw))  # sqrt(lh lw) overflows at 1e300
    gap = float(_one_minus_c(lh, lw))  # its sign decides, not the rounded c
    if not gap > 0:
        return UFMMinimizer(
            np.zeros((K, d)), np.zeros((d, K * n)), 0.0, c, 0.0, 0.0, 0.5
        )
    # sqrt(lw)/sqrt(lh), not sqrt(lw/lh): the ratio overflows for 1e-300 vs 1e300
    rho = gap * (np.sqrt(lw) / np.sqrt(lh))
    Hbar = np.sqrt(rho) * R
    H = np.repeat(Hbar, n, axis=1)
    W = (np.sqrt(lh) / np.sqrt(lw)) * Hbar.T
    w_norm2 = gap * (np.sqrt(lh) / np.sqrt(lw))
    return UFMMinimizer(W, H, float(rho), c, float(w_norm2), gap, c - c * c / 2)


def _check_h0(H0, shape) -> np.ndarray:
    H0 = check_features(H0, "H0")
    if H0.shape != shape:
        raise ValueError(f"H0 must have the shape of H {shape}, got {H0.shape}")
    return H0


@np.errstate(over="ignore", invalid="ignore")  # checked by _finite_out
def ufm_objective(
    W: ArrayLike,
    H: ArrayLike,
    *,
    K: int,
    lam_w: float,
    lam_h: float,
    beta: float = 0.0,
    H0: ArrayLike | None = None,
) -> float:
    r"""The objective :math:`f(W, H; H_0)` of Eq. 2 (Eq. 1 when ``beta = 0``).

    .. math::

        f = \frac{1}{2Kn}\|WH - Y\|_F^2 + \frac{\lambda_W}{2K}\|W\|_F^2
        + \frac{\lambda_H}{2Kn}\|H\|_F^2 + \frac{\beta}{2Kn}\|H - H_0\|_F^2

    Args:
      W: ``(K, d)``.
      H: ``(d, Kn)``, columns grouped by class.
      K: classes.
      lam_w, lam_h: :math:`\lambda_W, \lambda_H > 0`.
      beta: :math:`\beta \ge 0`.
      H0: ``(d, Kn)``; required when ``beta > 0``.

    Returns:
      The objective value.

    Raises:
      ValueError: bad shapes or parameters.

    Examples:
      >>> m = ufm_minimizer(3, 2, 4, lam_w=0.2, lam_h=0.1)
      >>> round(ufm_objective(m.W, m.H, K=3, lam_w=0.2, lam_h=0.1), 12)
      0.131421356237
    """
    W, H, H0, K, n, lw, lh, b = _ufm_args(W, H, K, lam_w, lam_h, beta, H0)
    N = K * n
    R = W @ H - _labels_matrix(K, n)
    val = 0.5 * np.sum(R * R) / N + 0.5 * lw / K * np.sum(W * W)
    val += 0.5 * lh / N * np.sum(H * H)
    if b > 0:
        val += 0.5 * b / N * np.sum((H - H0) ** 2)
    _finite_out("ufm_objective", val)
    return float(val)


def _ufm_args(W, H, K, lam_w, lam_h, beta, H0, need_h0=True):
    H, K, n = _balanced(H, K)
    W = check_features(W, "W")
    if W.shape != (K, H.shape[0]):
        raise ValueError(f"W must be (K, d)=({K}, {H.shape[0]}), got {W.shape}")
    lw = bounded("lam_w", lam_w, low=0.0, low_open=True)
    lh = bounded("lam_h", lam_h, low=0.0, low_open=True)
    b = bounded("beta", beta, low=0.0)
    if H0 is not None:
        H0 = _check_h0(H0, H.shape)
    elif b > 0 and need_h0:
        raise ValueError("beta > 0 needs H0")
    return W, H, H0, K, n, lw, lh, b


@np.errstate(over="ignore", invalid="ignore")  # checked by _finite_out
def ufm_gradient(
    W: ArrayLike,
    H: ArrayLike,
    *,
    K: int,
    lam_w: float,
    lam_h: float,
    beta: float = 0.0,
    H0: ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients :math:`(\nabla_W f, \nabla_H f)` of Eq. 2.

    .. math::

        \nabla_W f = \tfrac{1}{Kn}(WH-Y)H^\top + \tfrac{\lambda_W}{K}W,\quad
        \nabla_H f = \tfrac{1}{Kn}\big(W^\top(WH-Y) + \lambda_H H + \beta(H-H_0)\big)

    Args:
      W, H, K, lam_w, lam_h, beta, H0: as :func:`ufm_objective`.

    Returns:
      ``(grad_W, grad_H)`` with the shapes of ``W`` and ``H``.

    Raises:
      ValueError: bad shapes or parameters.

    Examples:
      >>> m = ufm_minimizer(3, 2, 4, lam_w=0.2, lam_h=0.1)
      >>> gW, gH = ufm_gradient(m.W, m.H, K=3, lam_w=0.2, lam_h=0.1)
      >>> bool(max(abs(gW).max(), abs(gH).max()) < 1e-15)
      True
    """
    W, H, H0, K, n, lw, lh, b = _ufm_args(W, H, K, lam_w, lam_h, beta, H0)
    N = K * n
    R = W @ H - _labels_matrix(K, n)
    gW = R @ H.T / N + lw / K * W
    gH = W.T @ R + lh * H
    if b > 0:
        gH = gH + b * (H - H0)
    _finite_out("ufm_gradient", gW, gH)
    return gW, gH / N


@np.errstate(over="ignore", invalid="ignore")  # checked by _finite_out
def optimal_classifier(H: ArrayLike, *, K: int, lam_w: float) -> np.ndarray:
    r"""The minimizing classifier for fixed features, :math:`W^*(H)`.

    .. math:: W^*(H) = Y H^\top (H H^\top + n\lambda_W I_d)^{-1}

    (Section 3 of arXiv:2210.16658); the same for Eq. 1 and Eq. 2.

    Args:
      H: ``(d, Kn)`` features, columns grouped by class.
      K: classes.
      lam_w: :math:`\lambda_W > 0`.

    Returns:
      ``(K, d)`` classifier.

    Raises:
      ValueError: bad ``H``, ``K`` or ``lam_w``.

    Examples:
      >>> m = ufm_minimizer(3, 2, 4, lam_w=0.2, lam_h=0.1)
      >>> bool(np.allclose(optimal_classifier(m.H, K=3, lam_w=0.2), m.W))
      True
    """
    H, K, n = _balanced(H, K)
    lw = bounded("lam_w", lam_w, low=0.0, low_open=True)
    out = _optimal_classifier(H, K, n, lw)
    _finite_out("optimal_classifier", out)
    return out


def _optimal_classifier(H, K, n, lw):
    # W*(2^e H; 4^e lw) = 2^-e W*(H; lw): where max|H| is beyond 2^±400, solve at the
    # normalized H (exact powers of two) so that H H^T neither underflows nor
    # overflows. Where lw/4^e is beyond 2^500 the ridge swamps H H^T (its rounding
    # does not matter) and the plain form is kept, as it is where lw/4^e would be
    # subnormal.
    e = _exponent(H)
    if abs(e) > 400:
        with np.errstate(over="ignore", under="ignore"):
            lw_n = np.ldexp(lw, -2 * e)
        if np.finfo(np.float64).tiny <= lw_n <= 2.0**500:
            return np.ldexp(_optimal_classifier(np.ldexp(H, -e), K, n, lw_n), -e)
    A = H @ H.T + n * lw * np.eye(H.shape[0])
    return np.linalg.solve(A, H @ _labels_matrix(K, n).T).T


@np.errstate(over="ignore", invalid="ignore")  # checked by _finite_out
def central_path_velocity(
    H: ArrayLike, *, K: int, lam_w: float, lam_h: float
) -> np.ndarray:
    r"""Right-hand side of the central-path flow (Eq. 4).

    .. math::

        \frac{dH}{dt} = -Kn\,\nabla L(H) = -W^*(H)^\top\big(W^*(H)H - Y\big)
        - \lambda_H H

    with :math:`L(H) = f(W^*(H), H)` of Eq. 1 (envelope theorem; derivations §2).

    Args:
      H: ``(d, Kn)`` features, columns grouped by class.
      K: classes.
      lam_w: :math:`\lambda_W > 0`.
      lam_h: :math:`\lambda_H \ge 0` (Theorem 3.1 allows 0).

    Returns:
      ``(d, Kn)`` velocity.

    Raises:
      ValueError: bad ``H``, ``K``, ``lam_w`` or negative ``lam_h``.

    Examples:
      >>> m = ufm_minimizer(3, 2, 4, lam_w=0.2, lam_h=0.1)
      >>> bool(abs(central_path_velocity(m.H, K=3, lam_w=0.2, lam_h=0.1)).max() < 1e-14)
      True
    """
    H, K, n = _balanced(H, K)
    lw = bounded("lam_w", lam_w, low=0.0, low_open=True)
    lh = bounded("lam_h", lam_h, low=0.0)
    out = _velocity(H, K, n, lw, lh)
    _finite_out("central_path_velocity", out)
    return out


def _classifier_pull(H, K, n, lw):
    """The part of the flow's velocity that is not weight decay: -W*^T (W* H - Y)."""
    W = _optimal_classifier(H, K, n, lw)
    return -W.T @ (W @ H - _labels_matrix(K, n))


def _velocity(H, K, n, lw, lh):
    return _classifier_pull(H, K, n, lw) - lh * H


def _traces(H, K, n):
    d = H.shape[0]
    Hc = H.reshape(d, K, n)
    means = Hc.mean(axis=2)
    sw = np.sum((Hc - means[:, :, None]) ** 2) / (K * n)
    sb = np.sum((means - means.mean(axis=1, keepdims=True)) ** 2) / K
    return float(sw), float(sb)


class CentralPath(NamedTuple):
    r"""A trajectory of the central-path flow.

    Attributes:
      t: ``(T,)`` times.
      H: ``(T, d, Kn)`` features :math:`H_t`.
      nc1_tilde: ``(T,)``, :math:`\widetilde{NC}_1(H_t)`.
      tr_sigma_w: ``(T,)``, :math:`\operatorname{Tr}\Sigma_W(H_t)`.
      tr_sigma_b: ``(T,)``, :math:`\operatorname{Tr}\Sigma_B(H_t)`.
    """

    t: np.ndarray
    H: np.ndarray
    nc1_tilde: np.ndarray
    tr_sigma_w: np.ndarray
    tr_sigma_b: np.ndarray


@np.errstate(over="ignore", invalid="ignore")  # checked by _finite_out
def central_path_flow(
    H0: ArrayLike,
    *,
    K: int,
    lam_w: float,
    lam_h: float,
    t: ArrayLike,
    dt: float = 1e-3,
    method: str = "rk4",
) -> CentralPath:
    r"""Integrate the central-path flow :math:`dH/dt = -Kn\nabla L(H)` from ``H0``.

    .. math::

        \frac{dH_t}{dt} = -W^*(H_t)^\top\big(W^*(H_t)H_t - Y\big) - \lambda_H H_t,
        \qquad H_{t=0} = H_0

    (Eq. 4 of arXiv:2210.16658). Theorem 3.1: :math:`\widetilde{NC}_1(H_t)` strictly
    decreases, :math:`e^{2\lambda_H t}\operatorname{Tr}\Sigma_W(H_t)` decreases and
    :math:`e^{2\lambda_H t}\operatorname{Tr}\Sigma_B(H_t)` strictly increases.
    Each interval between requested times is cut into equal steps (at least one)
    that land exactly on the times, of size at most ``dt`` and at most
    :math:`1/(2(\lambda_H + 1/(4\lambda_W)))`: the flow is a gradient flow, so its
    Jacobian is symmetric, and its decaying modes have rates at most
    :math:`\lambda_H + \|W^*(H)\|_2^2 \le \lambda_H + 1/(4\lambda_W)`; a step of half
    the inverse rate keeps them well inside the stability interval of RK4 (2.79)
    and Euler (2), where a large ``lam_h * dt`` blew up.

    Args:
      H0: ``(d, Kn)`` initial features, columns grouped by class.
      K: classes.
      lam_w: :math:`\lambda_W > 0`.
      lam_h: :math:`\lambda_H \ge 0`.
      t: increasing output times ``>= 0``.
      dt: largest step, ``> 0``.
      method: ``"rk4"`` (classical Runge-Kutta, error O(dt^4)) or ``"euler"``.

    Returns:
      :class:`CentralPath` at the times ``t``.

    Raises:
      ValueError: bad ``H0``, parameters, times or method; class means of ``H0``
        that coincide (up to rounding); more than 10^7 steps; ``H`` leaving the
        float64 range (it shrinks like :math:`e^{-\lambda_H t}` and underflows below
        1e-308, or grows past 1.8e308).

    Examples:
      >>> rng = np.random.default_rng(0)
      >>> path = central_path_flow(rng.standard_normal((6, 12)), K=3, lam_w=0.2,
      ...                          lam_h=0.1, t=[0.0, 1.0, 2.0])
      >>> bool(np.all(np.diff(path.nc1_tilde) < 0))
      True
    """
    H, K, n = _balanced(H0, K, "H0")
    lw = bounded("lam_w", lam_w, low=0.0, low_open=True)
    lh = bounded("lam_h", lam_h, low=0.0)
    dt = bounded("dt", dt, low=0.0, low_open=True)
    times = np.atleast_1d(floats("t", t))
    if (
        times.ndim != 1
        or times.size == 0
        or np.any(~np.isfinite(times))
        or np.any(times < 0)
    ):
        raise ValueError(f"t must be finite times >= 0, got {times}")
    if np.any(np.diff(times) <= 0):
        raise ValueError("t must be strictly increasing")
    if method not in ("rk4", "euler"):
        raise ValueError(f"method must be 'rk4' or 'euler', got method={method!r}")
    _check_separated(H, K, n, "H0")
    # Steps per interval: at least one, each at most dt and at most _STEP_RATE / rate
    # (docstring). rate is inf for lam_w below ~1e-308 (then too many steps).
    rate = lh + 0.25 / lw
    spans = np.diff(times, prepend=0.0)
    need = np.maximum(spans / dt, spans * (rate / _STEP_RATE))
    steps = np.where(spans > 0, np.maximum(1.0, np.ceil(need - 1e-9)), 0.0)
    total = float(np.sum(steps))
    if total > _MAX_STEPS:
        stable = _STEP_RATE / rate
        if dt <= stable:
            raise ValueError(
                f"t[-1] / dt = {total:.3g} steps exceeds the supported "
                f"{_MAX_STEPS:.0e}: increase dt (got dt={dt!r})"
            )
        raise ValueError(
            f"central_path_flow needs {total:.3g} steps, more than the supported "
            f"{_MAX_STEPS:.0e}: a stable step is at most 1/(2 (lam_h + 1/(4 lam_w))) "
            f"= {stable:.3g} at lam_h={lh!r}, lam_w={lw!r} (dt={dt!r} is larger); "
            f"request an earlier t[-1]"
        )

    def rhs(X):
        return _velocity(X, K, n, lw, lh)

    out = np.empty((times.size, *H.shape))
    for i, target in enumerate(times):
        steps_i = int(steps[i])
        h = spans[i] / steps_i if steps_i else 0.0
        for _ in range(steps_i):
            if method == "euler":
                H = H + h * rhs(H)
            else:
                k1 = rhs(H)
                k2 = rhs(H + 0.5 * h * k1)
                k3 = rhs(H + 0.5 * h * k2)
                k4 = rhs(H + h * k3)
                H = H + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        _finite_out("central_path_flow", H)
        top = float(np.max(np.abs(H)))
        if top < np.finfo(np.float64).tiny:
            # subnormal H has lost its digits (and 0 has no NC1~)
            raise ValueError(
                f"central_path_flow: H underflows float64 (max |H| = {top:.3g} < "
                f"2.2e-308) by t={target:g}: the weight decay shrinks it like "
                f"exp(-lam_h t) at lam_h={lh!r}; request earlier times"
            )
        out[i] = H
    tr = np.array([_traces(X, K, n) for X in out])
    _finite_out("central_path_flow", tr)
    # The ratio from power-of-two normalized H: the traces may underflow (H ~ 1e-300)
    unit = np.array([_traces(_normalized(X), K, n) for X in out])
    return CentralPath(times, out, unit[:, 0] / unit[:, 1], tr[:, 0], tr[:, 1])
