r"""Test and train risk of random-feature (RF) and kernel ridge regression.

The omniscient risk estimate of Simon, Karkada, Ghosh & Belkin (2024), "More is Better
in Modern Machine Learning: when Infinite Overparameterization is Optimal and
Overfitting is Obligatory", arXiv:2311.14646 (Theorem 1 and its RF eigenframework),
for ``k`` Gaussian-universal random features of a kernel with eigenvalues
:math:`\lambda_i` and target eigencoefficients :math:`v_i`, ``n`` samples and ridge
:math:`\delta` on the unnormalized Gram. ``k = inf`` is kernel ridge regression.

Derivation of the one-equation form, the ridgeless branches and the cancellation-free
expressions used here: ``docs/derivations/rf_ridge.md``.
"""

from __future__ import annotations

from typing import NamedTuple
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from theory._chebyshev import PiecewiseChebyshev
from theory._chebyshev import log_gauss_rules
from theory._solve import solve_bracketed

__all__ = ["RFRiskPrediction", "SpectrumTail", "rf_ridge_risk"]

_XTOL, _FTOL = 1e-12, 1e-13  # relative precision of gamma; relative residual
# Gammas per block of the exact sums: (gammas x modes) work arrays of 1 MB stay in
# cache (8 MB blocks ran 1.7x slower per gamma at 10^4 modes).
_BLOCK_ELEMENTS = 1 << 17
# Table panels: width in log(gamma) and Chebyshev nodes. The sums are analytic in
# |Im log(gamma)| < pi, so wider panels need fewer nodes per unit of log(gamma);
# width 2 with 22 nodes passes the 1e-14 coefficient check with a margin of ~30 at
# about 11 nodes per unit, against 16 for width 1 (wider panels lose relative
# accuracy where a sum varies by e^(2 width) across the panel).
_PANEL_WIDTH, _PANEL_DEGREE = 2.0, 22
# Cost model, in units of one term of a direct sum (~1 ns): the solver evaluates the
# sums ~10 times per cell (bracket ends, ~5 Newton steps from a one-panel bracket,
# the residual, the final sums); a table evaluation costs ~3 flops per degree per
# cell plus ~4 numpy calls per degree (~1 us each) per evaluation.
_EVALS_PER_CELL = 10
_CALL_OVERHEAD = 1000
# Mode compression: groups of modes within 0.7 in log(lambda) summed by 8-point Gauss
# rules (error ~ (2 pi / 0.7)^-16 relative, below rounding), used when it at least
# halves the number of terms.
_GROUP_WIDTH, _GROUP_NODES = 0.7, 8


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


def _as_float(name: str, value) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {name}={value!r}") from None


def _check_spectrum(eigvals: ArrayLike, target_power: ArrayLike):
    lam = _as_float("eigvals", eigvals)
    v2 = _as_float("target_power", target_power)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"eigvals must be a non-empty 1-D array, got {lam.shape}")
    if v2.shape != lam.shape:
        raise ValueError(
            f"target_power has shape {v2.shape} but eigvals has shape {lam.shape}"
        )
    bad = ~(np.isfinite(lam) & (lam > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"eigvals must be positive and finite, got {lam[i]} at {i}")
    bad = ~(np.isfinite(v2) & (v2 >= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"target_power must be >= 0 and finite, got target_power[{i}]={v2[i]}"
        )
    return lam, v2


def _check_param(name: str, value, low: float, *, strict=False, allow_inf=False):
    arr = _as_float(name, value)
    ok = (arr > low) if strict else (arr >= low)
    ok &= np.isfinite(arr) | (allow_inf & (arr == np.inf))
    if not np.all(ok):
        bad = arr[~ok] if arr.ndim else arr
        rel = ">" if strict else ">="
        raise ValueError(f"{name} must be {rel} {low:g}, got {name}={bad.ravel()[0]!r}")
    return arr


def _broadcast_shape(**arrays: np.ndarray) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} {a.shape}" for name, a in arrays.items())
        raise ValueError(f"the shapes of {shapes} do not broadcast") from None


def _pow2_exponent(x: float) -> int:
    """e with 2**e <= x < 2**(e+1), for finite x > 0."""
    return int(np.frexp(x)[1]) - 1


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
    c = float(np.ldexp(1.0, e))
    floor = np.ldexp(1.0, -_RANGE_EXP)
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
    c_v = float(np.ldexp(1.0, _pow2_exponent(top_v))) if top_v > 0 else 1.0
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
    shape = _broadcast_shape(n=n, k=k, ridge=ridge, noise_var=noise_var)
    cells = [np.broadcast_to(a, shape).ravel() for a in (n, k, ridge, noise_var)]
    if pool_size is not None:
        pool = _as_float("pool_size", pool_size)
        if pool.ndim:
            raise ValueError(f"pool_size must be a scalar, got shape {pool.shape}")
        _check_param("pool_size", pool, float(np.max(n, initial=1.0)), strict=True)
    if not cells[0].size:
        empty = np.zeros(shape)
        return RFRiskPrediction(*(empty for _ in RFRiskPrediction._fields))
    c, c_v = _scales(lam, v2, cells[0], cells[2], cells[3])
    spec = _Spectrum(lam / c, v2 / c_v, tail, scale=c, power_scale=c_v)
    if tail is not None:
        m = np.minimum(cells[0], cells[1])[cells[2] == 0]
        if m.size and m.max() >= lam.size:
            raise ValueError(
                f"with a tail, ridge=0 needs min(n, k) < len(eigvals)={lam.size}, "
                f"got min(n, k)={m.max()!r}"
            )

    n_c, k_c, ridge_c, noise_c = cells
    res = _solve_cells(spec, n_c, k_c, ridge_c / c, noise_c / c_v)
    with np.errstate(over="ignore"):
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
    peak = np.isinf(res["overfitting_coeff"])
    for f in ("kappa", "gamma", "test_risk", "train_risk"):
        bad = np.isinf(res[f]) & ~peak
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


class _Spectrum:
    r"""The four spectral sums the whole theory needs, as functions of gamma > 0.

    With :math:`L_i = \lambda_i/(\lambda_i+\gamma)`: :math:`z=\sum L_i`,
    :math:`w=\sum L_i(1-L_i) = z - q`, :math:`B_a=\sum(1-L_i)^2 v_i^2` and
    :math:`B_b=\sum L_i(1-L_i) v_i^2`, so that the bias is
    :math:`\sum(1-L_i)(1-dL_i)v_i^2 = B_a + (1-d) B_b`: every term is a sum of
    non-negative parts computed from :math:`1-L_i = \gamma/(\lambda_i+\gamma)`,
    without cancellation. The explicit modes are tabulated once per call on a
    piecewise Chebyshev interpolant in :math:`\log\gamma` (accurate to about 1e-14
    relative), so each cell costs a few flops instead of a pass over the modes.
    """

    def __init__(
        self,
        lam: np.ndarray,
        v2: np.ndarray,
        tail: SpectrumTail | None,
        *,
        scale: float = 1.0,
        power_scale: float = 1.0,
    ):
        # lam and v2 arrive divided by the powers of two ``scale`` and
        # ``power_scale``; the tail is defined on the original spectrum, so it is
        # evaluated at ``scale * gamma`` and its bias divided by ``power_scale``.
        self.lam, self.v2, self.tail = lam, v2, tail
        self.scale, self.power_scale = scale, power_scale
        tail_trace = tail.trace / scale if tail is not None else 0.0
        self.trace = float(lam.sum()) + tail_trace
        self.num_modes = np.inf if tail is not None else lam.size
        self._table: PiecewiseChebyshev | None = None
        self._nodes: tuple[np.ndarray, ...] | None = None

    def exact(self, gamma: np.ndarray) -> np.ndarray:
        """(z, w, B_a, B_b) over the explicit modes by direct summation, (4, P)."""
        lam = self.lam
        return _mode_sums(gamma, lam, lam, lam * self.v2, self.v2)

    @property
    def num_terms(self) -> int:
        """Terms of one :meth:`direct` evaluation (after compression)."""
        if self._nodes is None:
            self._nodes = self._compress()
        return self._nodes[0].size

    def direct(self, gamma: np.ndarray) -> np.ndarray:
        """:meth:`exact` with large groups of modes replaced by Gauss rules.

        Equal to :meth:`exact` to rounding (``docs/derivations/rf_ridge.md`` §7) at
        a fraction of the cost: 10^4 power-law modes become about 150 terms.
        """
        if self._nodes is None:
            self._nodes = self._compress()
        return _mode_sums(gamma, *self._nodes)

    def _compress(self) -> tuple[np.ndarray, ...]:
        lam, v2 = self.lam, self.v2
        order = np.argsort(lam, kind="stable")
        lam_s, v2_s = lam[order], v2[order]
        keep, nodes, weights = log_gauss_rules(
            lam_s,
            np.stack([np.ones_like(lam_s), v2_s]),
            width=_GROUP_WIDTH,
            m=_GROUP_NODES,
        )
        if keep.sum() + nodes.size > lam.size // 2:
            return lam, lam, lam * v2, v2  # too little to gain
        # Terms: kept modes (both measures), then the rules of the mode count
        # (z, w only) and of the target power (B_a, B_b only).
        a, b = nodes[0].ravel(), nodes[1].ravel()
        wa, wb = weights[0].ravel(), weights[1].ravel()
        lam_k, v2_k = lam_s[keep], v2_s[keep]
        zero_a, zero_b = np.zeros_like(a), np.zeros_like(b)
        return (
            np.concatenate([lam_k, a, b]),
            np.concatenate([lam_k, wa * a, zero_b]),
            np.concatenate([lam_k * v2_k, zero_a, wb * b]),
            np.concatenate([v2_k, zero_a, wb]),
        )

    def tabulate(self, gamma_lo, gamma_hi) -> None:
        """Build the interpolant of :meth:`exact` on [gamma_lo, gamma_hi].

        ``gamma_lo, gamma_hi`` may be arrays: the ends of sorted, non-overlapping
        intervals, only whose union is tabulated.

        Where the panels cannot reach their tolerance (sums that underflow towards
        subnormal numbers at absurdly small ridges such as 1e-157) the sums are
        evaluated directly (:meth:`direct`) instead: slower, never less accurate.
        """
        try:
            self._table = PiecewiseChebyshev(
                lambda t: self.direct(np.exp(t)),
                np.log(gamma_lo),
                np.log(gamma_hi),
                width=_PANEL_WIDTH,
                degree=_PANEL_DEGREE,
            )
        except ValueError:
            self._table = None

    def __call__(
        self, gamma: np.ndarray, *, only_zw: bool = False, direct: bool = False
    ) -> np.ndarray:
        """(z, w, B_a, B_b) at ``gamma > 0`` (shape (P,)), tail included, (4, P).

        ``only_zw`` returns just (z, w), which is all the solver needs; ``direct``
        sums over the modes (:meth:`direct`) even where a table exists.
        """
        gamma = np.asarray(gamma, dtype=np.float64)
        if self._table is None or direct:
            out = self.direct(gamma)
        else:
            out = self._table(np.log(gamma), slice(0, 2) if only_zw else slice(None))
        if only_zw:
            out = out[:2]
        if self.tail is not None:
            g = gamma * self.scale
            zt, qt = self.tail.sums(g)
        if self.tail is not None and only_zw:
            out = out + np.stack([zt, zt - qt])
        elif self.tail is not None:
            one = np.ones_like(gamma)
            sq, lin = self.tail.bias(g, one), self.tail.bias(g, 0 * one)
            sq, lin = sq / self.power_scale, lin / self.power_scale
            out = out + np.stack([zt, zt - qt, sq, lin - sq])
        return out


def _mode_sums(gamma, lam, count_lam, power_lam, power) -> np.ndarray:
    r"""(z, w, B_a, B_b) of terms at ``lam`` with weights, shape (4, P).

    ``count_lam`` = :math:`c_i\lambda_i` (mode-count weights c_i times lam),
    ``power_lam`` = :math:`p_i\lambda_i` and ``power`` = :math:`p_i` (target power):
    z = sum c L, w = sum c L (1-L), B_a = sum p (1-L)^2, B_b = sum p L (1-L).
    """
    # With r_i = 1/(lam_i + gamma): L_i = lam_i r_i and 1 - L_i = rho_i = gamma r_i,
    # so z = r.lam, w = (r rho).lam, B_a = rho^2.v2, B_b = (r rho).(lam v2): all
    # terms positive, and no factor gamma^2 or r^2 that could overflow or
    # underflow on its own (rho <= 1, r rho <= r) at extreme gamma.
    out = np.empty((4, gamma.size))
    block = max(1, _BLOCK_ELEMENTS // lam.size)
    with np.errstate(under="ignore"):
        for start in range(0, gamma.size, block):
            part = slice(start, start + block)
            g = gamma[part]
            r = np.add(lam, g[:, None])
            np.reciprocal(r, out=r)
            out[0, part] = r @ count_lam
            rho = r * g[:, None]
            np.multiply(r, rho, out=r)
            out[1, part] = r @ count_lam
            out[3, part] = r @ power_lam
            np.multiply(rho, rho, out=rho)
            out[2, part] = rho @ power
    return out


def _ridge_equation(z, w, gamma, n, k, ridge):
    r"""The one-equation form at :math:`\delta > 0`, with its log-gamma slope.

    With :math:`r = \gamma(n-z)(1-z/k)/\delta` the root is r = 1, and r increases in
    :math:`\gamma` wherever z < min(n, k) (elsewhere r is set to 0). Unlike the
    form :math:`n = z + \delta/\kappa`, r has no pole: it is linear in
    :math:`\log\gamma` where z -> min(n, k), so Newton on r - 1 converges in a few
    steps once the bracket is narrow. Uses :math:`dz/d\log\gamma = -w`.
    """
    finite_k = np.isfinite(k)
    k_f = np.where(finite_k, k, 1.0)
    one_minus_zk = np.where(finite_k, 1 - z / k_f, 1.0)
    inside = (z < n) & (one_minus_zk > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_r = np.log(gamma) + np.log(n - z) + np.log(one_minus_zk) - np.log(ridge)
        # d log r / d log gamma = [(n-q)(1-z/k) + (n-z) w / k] / [(n-z)(1-z/k)]
        cross = np.where(finite_k, (n - z) * w / k_f, 0.0)
        dlog_r = ((n - z + w) * one_minus_zk + cross) / ((n - z) * one_minus_zk)
        log_r = np.where(inside, log_r, -np.inf)
        dlog_r = np.where(inside, dlog_r, 0.0)
        return np.expm1(log_r), np.exp(log_r) * dlog_r


def _ridgeless_equation(z, w, gamma, m):
    """z(gamma) = m as log(m / z), increasing in gamma, with its log-gamma slope."""
    return np.log(m / z), w / z


def _narrow(zg, wg, grid, equation, lo, hi, *params):
    """Shrink each bracket [lo, hi] of an increasing equation to one grid interval.

    ``zg, wg`` are the sums on the shared ``grid``. Returns the new (lo, hi) and the
    index j of the interval [grid[j-1], grid[j]] that holds each root.
    """
    values = equation(zg, wg, grid, *(p[:, None] for p in params))[0]
    values = np.where(grid < lo[:, None], -np.inf, values)
    values = np.where(grid > hi[:, None], np.inf, values)
    j = np.maximum(np.argmax(values > 0, axis=1), 1)
    return np.maximum(lo, grid[j - 1]), np.minimum(hi, grid[j]), j


def _solve(sums: _Spectrum, equation, lo, hi, *params):
    """Root of an increasing ``equation(z, w, gamma, *params)`` on [lo, hi]."""

    def fun(g):
        z, w = sums(g, only_zw=True)
        return equation(z, w, g, *params)

    # Both equations are relative residuals with a rounding floor near 1e-15.
    return solve_bracketed(fun, lo, hi, xtol=_XTOL, ftol=_FTOL).root


def _solve_all(spec: _Spectrum, problems) -> list[np.ndarray]:
    """Roots of several sets of bracketed problems that share one spectrum.

    ``problems`` holds (equation, lo, hi, params) per set. The sums (z, w) are first
    summed directly on a grid with one point per table panel (every
    ``_PANEL_WIDTH`` in log gamma) over the union of the brackets, which pins each
    root to one grid interval. Then either the intervals that hold a root are
    tabulated (only those) or, when the cells are too few to pay for the tables,
    the solver sums directly; a cost model in units of one summed term decides.
    """
    lo_all = np.concatenate([p[1] for p in problems])
    hi_all = np.concatenate([p[2] for p in problems])
    span = np.log(hi_all.max()) - np.log(lo_all.min())
    grid = np.exp(
        np.linspace(np.log(lo_all.min()), np.log(hi_all.max()), _grid_points(span))
    )
    zg, wg = spec(grid, only_zw=True, direct=True)
    narrowed = [_narrow(zg, wg, grid, eq, lo, hi, *ps) for eq, lo, hi, ps in problems]
    used = np.unique(np.concatenate([j for _, _, j in narrowed]))
    terms, cells = spec.num_terms, lo_all.size
    direct = cells * terms
    table = (
        used.size * _PANEL_DEGREE * terms / _EVALS_PER_CELL
        + cells * 3 * _PANEL_DEGREE
        + 4 * _PANEL_DEGREE * _CALL_OVERHEAD
    )
    if table < direct:
        spec.tabulate(grid[used - 1], grid[used])
    return [
        _solve(spec, eq, lo, hi, *ps)
        for (eq, _, _, ps), (lo, hi, _) in zip(problems, narrowed, strict=True)
    ]


def _grid_points(span: float) -> int:
    """Points of the bracketing grid: one per ``_PANEL_WIDTH`` of log gamma."""
    return max(2, int(np.ceil(span / _PANEL_WIDTH)) + 1)


def _solve_cells(spec: _Spectrum, n, k, ridge, noise_var) -> dict[str, np.ndarray]:
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
    # delta = 0 (explicit modes only, M > m): M - z <= M gamma / min(lam) and
    # z <= tr / gamma.
    target = m[reach]
    lo_0 = spec.lam.min() * (spec.lam.size - target) / (2 * spec.lam.size)
    hi_0 = 2 * spec.trace / target
    problems, where = [], []
    if pos.any():
        problems.append((_ridge_equation, lo_pos, hi_pos, (n[pos], k[pos], d)))
        where.append(pos)
    if reach.any():
        problems.append((_ridgeless_equation, lo_0, hi_0, (target,)))
        where.append(reach)
    gamma = np.zeros_like(n)
    if problems:
        for mask, root in zip(where, _solve_all(spec, problems), strict=True):
            gamma[mask] = root

    # gamma = 0 (delta = 0 and min(n, k) >= M): every mode learned, L_i = 1.
    full_rank = gamma == 0
    sums = np.zeros((4, n.size))
    sums[0] = spec.lam.size
    if (~full_rank).any():
        sums[:, ~full_rank] = spec(gamma[~full_rank])
    z, w, bias_a, bias_b = sums
    u_inf = np.where(finite_k, k_f - z, np.inf)
    # s = n - z and u = k - z, each taken from the expression without cancellation:
    # near the solution one of them is tiny and must come from delta / kappa.
    with np.errstate(divide="ignore", invalid="ignore"):
        wide = finite_k & (n >= k)
        narrow = np.where(finite_k, k_f / u_inf, 1.0)  # k / (k - z); 1 for KRR
        s_pos = np.where(wide, n - z, ridge / gamma * narrow)
        kappa_pos = ridge / s_pos
        u_pos = np.where(wide, k_f * kappa_pos / gamma, u_inf)
        # delta = 0: z = m exactly, so s = n - m and u = k - m (not k - z(gamma)).
        s0 = np.where(full_rank, n - M, np.where(n <= k, 0.0, n - m))
        u_exact = np.where(finite_k, k_f - np.where(full_rank, M, m), np.inf)
        u0 = np.where(full_rank | (n < k), u_exact, 0.0)
        kappa0 = np.where(n < k, gamma * np.where(finite_k, u_exact / k_f, 1.0), 0.0)
        s = np.where(pos, s_pos, np.maximum(s0, 0.0))
        u = np.where(pos, u_pos, np.maximum(u0, 0.0))
        kappa = np.where(pos, kappa_pos, kappa0)
        # E_0 = n (k - q) / [s u + w (s + u)] with k - q = u + w; n / (s + w) for KRR.
        E0 = np.where(finite_k, n * (u + w) / (s * u + w * (s + u)), n / (s + w))
        E0 = np.where(full_rank, n / s, E0)
        E0 = np.where(np.isnan(E0), np.inf, E0)  # 0/0 only at the n == k peak
        # 1 - d with d = (k - z)/(k - q) = u / (u + w); d = 1 for KRR.
        one_minus_d = np.where(finite_k, w / (u + w), 0.0)
        one_minus_d = np.where(np.isnan(one_minus_d), 1.0, one_minus_d)
    bracket = bias_a + one_minus_d * bias_b + noise_var
    with np.errstate(invalid="ignore"):  # inf * 0 at peaks, replaced by np.where
        test = np.where(bracket == 0, 0.0, E0 * bracket)
        train = np.where(s == 0, 0.0, (s / n) ** 2 * test)

    with np.errstate(divide="ignore", invalid="ignore"):
        r1 = np.where(pos, (n - z - ridge / kappa) / n, 0.0)
        r2 = np.where(pos & finite_k, (k_f - z - k_f * kappa / gamma) / k_f, 0.0)
        r0 = np.where(reach, (z - m) / m, 0.0)
    residual = np.maximum(np.abs(r1), np.maximum(np.abs(r2), np.abs(r0)))
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
