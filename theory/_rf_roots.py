r"""Root finding for the effective ridge gamma of the RF eigenframework.

Used by :func:`theory.rf_ridge.rf_ridge_risk` (arXiv:2311.14646, Theorem 1). Every
cell is one increasing equation in :math:`\log\gamma` on a proven bracket
(``docs/derivations/rf_ridge.md`` §1, §4). The brackets are narrowed on direct sums
over a shared grid, which also gives each cell a start close to its root; then the
shared solver (:func:`theory._solve.solve_bracketed`) finishes with Newton steps, on
direct sums or on a table of the sums (``rf_ridge.md`` §7).

Everything here runs under the caller's ``np.errstate`` that silences divide,
invalid, overflow and underflow (:func:`theory.rf_ridge.rf_ridge_risk`): the
equations are formed from logs and clipped where a sum leaves its range, and the
solver checks every value it uses for NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from theory import _rf_spectrum
from theory._rf_spectrum import ZW
from theory._rf_spectrum import _Spectrum
from theory._solve import solve_bracketed

_XTOL, _FTOL = 1e-12, 1e-13  # relative precision of gamma; relative residual
# Cost model, per cell and evaluation, in units of one term of a direct sum (~1 ns):
# from the start of _narrow the solver evaluates (z, w) ~3 times per cell (two
# Newton steps and the residual); a table costs 22 nodes x all terms per tabulated
# interval to build, then ~3 flops per degree for each of the 2 rows per cell plus
# ~4 numpy calls per degree (~1 us each) per evaluation. (10^4 power-law modes,
# ~150 terms: the two ways break even near 6000 cells.)
_EVALS_PER_CELL = 3
_CALL_OVERHEAD = 1000
# Second bracketing pass: sub-intervals per grid interval that holds a root.
_SUBDIVISIONS = 16
# Newton steps on a cubic model of z(t) for the solver's start (see _start).
_MODEL_STEPS = 3
# Most Newton steps of polish_full_rank (it starts within ~M eps / c of the root and
# converges quadratically; steps are capped at 1 in log gamma).
_POLISH_STEPS = 12


def _ridge_equation(z, w, gamma, n, k, ridge, log_ridge):
    r"""The one-equation form at :math:`\delta > 0`, with its log-gamma slope.

    With :math:`r = \gamma(n-z)(1-z/k)/\delta` the root is r = 1, and r increases in
    :math:`\gamma` wherever z < min(n, k) (elsewhere r is set to 0). Unlike the
    form :math:`n = z + \delta/\kappa`, r has no pole: it is linear in
    :math:`\log\gamma` where z -> min(n, k), so Newton on r - 1 converges in a few
    steps once the bracket is narrow. Uses :math:`dz/d\log\gamma = -w`, so
    :math:`d\log r/d\log\gamma = 1 + w/(n-z) + w/(k-z)`. ``k = inf`` (KRR) makes
    z/k = 0; ``log_ridge`` is :math:`\log\delta`. r is formed from logs, since
    :math:`\gamma/\delta` alone may overflow.
    """
    s = np.maximum(n - z, 0.0)  # log(0) = -inf: r = 0 outside
    one_minus_zk = np.maximum(1 - z / k, 0.0)
    r = np.exp(np.log(gamma) + np.log(s) + np.log(one_minus_zk) - log_ridge)
    dr = r * (1 + w / s + w / (k * one_minus_zk))
    return r - 1, np.where(r > 0, dr, 0.0)


def _ridge_positive(z, gamma, n, k, ridge, log_ridge):
    """Where r > 1, without logs: (n - z)(1 - z/k) > delta / gamma, both factors
    positive. delta / gamma only overflows or underflows far from r = 1, where the
    comparison still holds."""
    s = np.maximum(n - z, 0.0)
    return s * np.maximum(1 - z / k, 0.0) > ridge / gamma


def _ridgeless_equation(z, w, gamma, m):
    """z(gamma) = m as log(m / z), increasing in gamma, with its log-gamma slope."""
    return np.log(m / z), w / z


def _ridgeless_positive(z, gamma, m):
    return z < m


def _ridge_step(z, w, t, n, k, ridge, log_ridge):
    """The Newton step f / f' of :func:`_ridge_equation` at log gamma = t, from the
    log form: (r - 1) / (r d log r) = -expm1(-log r) / (d log r). NaN where r = 0."""
    s = n - z
    log_r = t + np.log(s) + np.log(1 - z / k) - log_ridge
    return -np.expm1(-log_r) / (1 + w / s + w / (k - z))


def _ridgeless_step(z, w, t, m):
    """The Newton step f / f' of :func:`_ridgeless_equation`."""
    return np.log(m / z) * z / w


class Equation(NamedTuple):
    """An equation increasing in gamma: values and log-gamma slope, a cheap sign
    test, its log form (close to linear in log gamma) and its Newton step in log
    gamma, for the start."""

    value: object
    positive: object
    log_form: object
    step: object


RIDGE = Equation(_ridge_equation, _ridge_positive, np.log1p, _ridge_step)
RIDGELESS = Equation(_ridgeless_equation, _ridgeless_positive, None, _ridgeless_step)


class Problem(NamedTuple):
    """One equation per cell: ``equation.value(z, w, gamma, *params)`` = 0 with
    the root in [lo, hi]."""

    equation: Equation
    lo: np.ndarray
    hi: np.ndarray
    params: tuple[np.ndarray, ...]


def _locate(z, gamma, problem: Problem):
    """First point where the equation is positive.

    ``gamma`` (increasing along its last axis) is shared, shape (P,), or per cell,
    (C, P), and ``z`` are the sums there. Returns j >= 1 per cell, so that the root
    lies in [gamma[j-1], gamma[j]]. Points outside a cell's proven bracket need no
    mask: the equation is negative below it and positive above it with margins
    (r <= 1/2 and r >= 9/4 at the ends, ``rf_ridge.md`` §1).
    """
    params = (p[:, None] for p in problem.params)
    positive = problem.equation.positive(z, gamma, *params)
    return np.maximum(np.argmax(positive, axis=1), 1)


def _start(problem: Problem, f, df, t, z, w):
    """A start for Newton in [t_a, t_b] = t[0], t[1] (log gamma), from the values
    f_a <= 0 < f_b, the slopes and the sums (z, w) at the ends.

    First guess: the smaller of a Newton step from t_b and the chord of the
    equation's log form (log r = log(1 + f) for the ridge equation, close to linear
    in log gamma; the ridgeless equation is already a log), both upper estimates
    where r - 1 is convex and log r concave (where r = 0 at t_a only the step
    counts). Then ``_MODEL_STEPS`` Newton steps on the equation with z(t) replaced by
    its cubic Hermite interpolant on [t_a, t_b] (values z, slopes dz/dt = -w): no
    sums, accurate to about h^4 / 384 times the fourth derivative of z for a width h.
    """
    newton = t[1] - f[1] / df[1]
    if problem.equation.log_form is not None:
        f = [problem.equation.log_form(v) for v in f]
    chord = t[1] - f[1] * (t[1] - t[0]) / (f[1] - f[0])
    t0 = np.fmin(np.where(np.isfinite(newton), newton, np.nan), chord)
    t0 = np.where(np.isfinite(t0), t0, 0.5 * (t[0] + t[1]))
    h = t[1] - t[0]
    # z(t_a + s h) = z_a + s (c1 + s (c2 + s c3)), w = -dz/dt = d1 + s (d2 + s d3).
    dz = z[1] - z[0]
    c1 = -h * w[0]
    c2 = 3 * dz + h * (2 * w[0] + w[1])
    c3 = -2 * dz - h * (w[0] + w[1])
    d1, d2, d3 = w[0], -2 / h * c2, -3 / h * c3
    for _ in range(_MODEL_STEPS):
        s = (t0 - t[0]) / h
        zm = z[0] + s * (c1 + s * (c2 + s * c3))
        wm = d1 + s * (d2 + s * d3)
        step = problem.equation.step(zm, wm, t0, *problem.params)
        t0 = np.fmax(np.fmin(t0 - step, t[1]), t[0])  # NaN (r = 0): to t_b
    return t0


class _Known(NamedTuple):
    """Sums (and equation values, or None) at points gamma, one per cell."""

    gamma: np.ndarray
    z: np.ndarray
    w: np.ndarray
    f: np.ndarray
    df: np.ndarray


def _narrow(spec: _Spectrum, problems: list[Problem]):
    """Brackets of width ~2/16 in log gamma around each root, and a start in each.

    Two passes of :func:`_locate`: on a grid with one point per table panel (every
    ``_PANEL_WIDTH`` in log gamma) over the union of the brackets, then on
    ``_SUBDIVISIONS`` intervals across each grid interval that holds a root. The
    sub-interval that holds a root (within the proven bracket) is the new bracket,
    and :func:`_start` gives a start in it. Where the equation's values at its ends
    disagree with the sign test (rounding, at a root on a sub-grid point), the cell
    keeps its grid interval. Returns per problem (lo, hi, x0, known) with ``known``
    the sums and values at the sub-interval's ends (:class:`_Known`), and the grid
    intervals that hold roots (the only ones a table needs), as (lo, hi) arrays.
    """
    lo_all = np.concatenate([p.lo for p in problems])
    hi_all = np.concatenate([p.hi for p in problems])
    t_lo, t_hi = np.log(lo_all.min()), np.log(hi_all.max())
    points = _grid_points(t_hi - t_lo)
    t = t_lo + (t_hi - t_lo) / (points - 1) * np.arange(points)
    grid = np.exp(t)
    zg = spec(grid, rows=ZW, direct=True)[0]
    coarse = [_locate(zg, grid, p) for p in problems]
    holds = np.bincount(np.concatenate(coarse), minlength=points) > 0
    used = np.flatnonzero(holds)
    row_of = np.cumsum(holds) - 1  # grid interval j -> its row in ``used``
    frac = np.arange(_SUBDIVISIONS + 1) / _SUBDIVISIONS
    sub_g = np.exp(t[used - 1, None] + (t[used] - t[used - 1])[:, None] * frac)
    zs, ws = spec(sub_g.ravel(), rows=ZW, direct=True).reshape(2, *sub_g.shape)
    out = []
    for p, j in zip(problems, coarse, strict=True):
        row = row_of[j]
        i = _locate(zs[row], sub_g[row], p)
        ends = (row[:, None], i[:, None] + [-1, 0])  # (C, 2): the sub-interval's ends
        g, z, w = sub_g[ends], zs[ends], ws[ends]
        params = (q[:, None] for q in p.params)
        f, df = p.equation.value(z, w, g, *params)
        known = [_Known(g[:, e], z[:, e], w[:, e], f[:, e], df[:, e]) for e in (0, 1)]
        ok = (f[:, 0] <= 0) & (f[:, 1] > 0)  # else: rounding, keep the grid interval
        lo = np.maximum(p.lo, np.where(ok, g[:, 0], grid[j - 1]))
        hi = np.minimum(p.hi, np.where(ok, g[:, 1], grid[j]))
        t0 = _start(p, f.T, df.T, [np.log(lo), np.log(hi)], z.T, w.T)
        out.append((lo, hi, np.fmin(np.fmax(np.exp(t0), lo), hi), known))
    return out, (grid[used - 1], grid[used])


def _grid_points(span: float) -> int:
    """Points of the bracketing grid: one per ``_PANEL_WIDTH`` of log gamma."""
    return max(2, int(np.ceil(span / _rf_spectrum._PANEL_WIDTH)) + 1)


def _solve(spec: _Spectrum, problem: Problem, lo, hi, x0, known: list[_Known]):
    """Root of the problem on [lo, hi] from the start x0, and (z, w) there.

    The solver asks for the bracket ends first (lo, then hi), then evaluates every
    cell at every step, also those already converged. ``known`` holds the sums and
    values at the ends of the sub-intervals of :func:`_narrow`; where an end is one
    of them, the solver gets the very values that bracket was checked with, and
    elsewhere the sums are formed only where gamma moved since the last evaluation.
    """
    pending, last = list(known), {}

    def fun(g):
        ref = pending.pop(0) if pending else last.get("at")
        same = np.zeros(g.shape, dtype=bool) if ref is None else g == ref.gamma
        if ref is not None and ref.f is not None and same.all():
            last["at"] = ref
            return ref.f, ref.df
        if not same.any():
            z, w = spec(g, rows=ZW)
        else:
            z, w = ref.z.copy(), ref.w.copy()
            if not same.all():
                z[~same], w[~same] = spec(g[~same], rows=ZW)
        f, df = problem.equation.value(z, w, g, *problem.params)
        if ref is not None and ref.f is not None:
            f, df = np.where(same, ref.f, f), np.where(same, ref.df, df)
        last["at"] = _Known(g, z, w, None, None)
        return f, df

    # Both equations are relative residuals with a rounding floor near 1e-15.
    root = solve_bracketed(fun, lo, hi, xtol=_XTOL, ftol=_FTOL, x0=x0).root
    if not np.array_equal(last["at"].gamma, root):  # the last call is at the root
        fun(root)
    return root, last["at"].z, last["at"].w


def solve_all(spec: _Spectrum, problems: list[Problem]) -> list[tuple[np.ndarray, ...]]:
    """Roots gamma, and (z, w) at them, of problems that share one spectrum.

    The brackets are first narrowed on direct sums (:func:`_narrow`). Then either
    the grid intervals that hold a root are tabulated (only those) or, when the
    cells are too few to pay for the tables, the solver sums directly; a cost model
    in units of one summed term decides.
    """
    narrowed, (table_lo, table_hi) = _narrow(spec, problems)
    cells = sum(p.lo.size for p in problems)
    degree = _rf_spectrum._PANEL_DEGREE
    direct = cells * spec.num_zw_terms
    table = (
        table_lo.size * degree * spec.num_terms / _EVALS_PER_CELL
        + cells * 6 * degree
        + 4 * degree * _CALL_OVERHEAD
    )
    if table < direct:
        spec.tabulate(table_lo, table_hi)
    return [_solve(spec, p, *n) for p, n in zip(problems, narrowed, strict=True)]


def polish_full_rank(spec: _Spectrum, gamma, n, k, ridge):
    r"""Newton steps in :math:`\log\gamma` on :math:`\log r` for cells with
    :math:`n \ge M` or :math:`k \ge M` (explicit modes only), with
    :math:`n - z = (n - M) + c` and :math:`k - z = (k - M) + c` formed from
    :math:`c = \sum_i (1-L_i)` (:meth:`_Spectrum.complement`).

    There :math:`\gamma \to 0` as :math:`\delta \to 0` when :math:`k = M` or
    :math:`n = M`, z comes within :math:`M\epsilon` of M, and :func:`_ridge_equation`
    forms the vanishing factor from z with a relative error :math:`M\epsilon/c`,
    which the root inherits (``docs/derivations/rf_ridge.md`` §4.1). Each cell
    stops on its own once its step is at rounding level, so its result does not
    depend on the other cells. Returns gamma and (z, w) there.
    """
    M = spec.num_modes
    finite = np.isfinite(k)
    t, log_ridge = np.log(gamma), np.log(ridge)
    active = np.ones(t.shape, dtype=bool)
    for _ in range(_POLISH_STEPS):
        g = np.exp(t[active])
        z, w = spec(g, rows=ZW, direct=True)
        c = spec.complement(g)
        nn, kk, fin = n[active], k[active], finite[active]
        s = np.where(nn >= M, (nn - M) + c, nn - z)
        u = np.where(kk >= M, (kk - M) + c, kk - z)
        log_r = np.log(g) + np.log(s) + np.where(fin, np.log(u / kk), 0.0)
        slope = 1 + w / s + np.where(fin, w / u, 0.0)
        step = np.clip((log_r - log_ridge[active]) / slope, -1.0, 1.0)
        ok = np.isfinite(step)
        t_new = t[active] - np.where(ok, step, 0.0)
        tiny = 4 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(t_new))
        done = ~ok | (np.abs(step) <= tiny)
        t[active] = t_new
        active[np.flatnonzero(active)[done]] = False
        if not active.any():
            break
    gamma = np.exp(t)
    z, w = spec(gamma, rows=ZW, direct=True)
    return gamma, z, w
