r"""The one shared root solver for every fixed point in :mod:`theory`.

A vectorized, bracket-checked bisection with Newton acceleration. Each element of the
input arrays is an independent scalar problem ``f(x) = 0`` with a sign change between
``lo`` and ``hi``. Steps are Newton steps when ``fun`` supplies a derivative, the
step stays strictly inside the current bracket and it is at most half the step before
the last one (the safeguard of Numerical Recipes' ``rtsafe``); otherwise they bisect.
The bracket shrinks monotonically and a slow Newton run gives way to bisection, so the
method converges whenever bisection does, and it is quadratic near a simple root.

With ``log=True`` the unknown is ``t = log x`` and ``fun`` receives ``x = exp(t)``;
the derivative it returns must then be ``df/dt = x df/dx``. Order parameters such as
the effective ridge span 1e-15 to 1e15, so working in ``log x`` gives every scale the
same relative precision.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from theory._args import plain

__all__ = ["FixedPointError", "SolveResult", "solve_bracketed"]


class FixedPointError(RuntimeError):
    """A root solve failed: the bracket held no sign change or it did not converge."""


class SolveResult(NamedTuple):
    """Roots and diagnostics of :func:`solve_bracketed`, one entry per problem."""

    root: np.ndarray
    residual: np.ndarray
    iterations: int


def _split(out):
    if isinstance(out, tuple):
        return np.asarray(out[0], dtype=np.float64), np.asarray(out[1], np.float64)
    return np.asarray(out, dtype=np.float64), None


def solve_bracketed(
    fun: Callable[[np.ndarray], np.ndarray | tuple[np.ndarray, np.ndarray]],
    lo,
    hi,
    *,
    log: bool = True,
    xtol: float = 1e-14,
    ftol: float = 0.0,
    maxiter: int = 200,
    x0=None,
) -> SolveResult:
    r"""Solve ``fun(x) = 0`` elementwise on the bracket ``[lo, hi]``.

    Args:
      fun: vectorized; maps an array ``x`` of shape ``(C,)`` to ``f(x)`` or to
        ``(f(x), f'(x))`` of the same shape. ``f`` may be ``±inf`` (that side of the
        root); NaN is an error. With ``log=True`` the derivative is ``df/dlog x``.
      lo, hi: arrays broadcastable to ``(C,)``; ``f(lo)`` and ``f(hi)`` must have
        opposite signs (or one of them be zero). With ``log=True`` both must be > 0.
      log: solve in ``t = log x``.
      xtol: stop when the last step, or the bracket, is below ``xtol`` in the solved
        variable (a relative tolerance on ``x`` when ``log=True``).
      ftol: also stop where ``|f| <= ftol``; useful when ``f`` is a relative
        residual whose rounding floor is above zero.
      maxiter: iteration cap.
      x0: optional first iterate, broadcastable to ``(C,)`` (default: the midpoint
        of the bracket, in ``log x`` when ``log=True``); clipped into the bracket. A
        start close to the root saves iterations; the bracket still guarantees
        convergence.

    Returns:
      ``SolveResult(root, residual, iterations)`` with ``residual = f(root)``.

    Raises:
      ValueError: ``x0`` NaN, or ``<= 0`` with ``log=True``.
      FixedPointError: a bracket without a sign change, NaN from ``fun``, or no
        convergence within ``maxiter``. The message names the first failing problem.

    Examples:
      >>> r = solve_bracketed(lambda x: (x**2 - 2.0, 2 * x**2), 1.0, 10.0)
      >>> float(r.root[0])
      1.4142135623730951
    """
    lo, hi = np.broadcast_arrays(
        np.atleast_1d(np.asarray(lo, np.float64)),
        np.atleast_1d(np.asarray(hi, np.float64)),
    )
    if x0 is not None:
        x0 = np.asarray(x0, dtype=np.float64)
        if np.isnan(x0).any() or (log and (x0 <= 0).any()):
            need = "> 0" if log else "a number"
            raise ValueError(f"x0 must be {need}, got x0={x0}")
    if log:
        if not ((lo > 0).all() and (hi > 0).all()):
            raise FixedPointError(f"log-space bracket needs lo, hi > 0; got {lo}, {hi}")
        to_x, a, b = np.exp, np.log(lo), np.log(hi)
    else:
        to_x, a, b = (lambda t: t), lo.copy(), hi.copy()

    fa, _ = _split(fun(to_x(a)))
    fb, _ = _split(fun(to_x(b)))
    # Scalar brackets are shared by all problems: broadcast them to fun's output.
    a, b, fa, fb = (x.copy() for x in np.broadcast_arrays(a, b, fa, fb))
    bad = np.isnan(fa) | np.isnan(fb) | (np.sign(fa) * np.sign(fb) > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FixedPointError(
            f"bracket [{to_x(a[i])!r}, {to_x(b[i])!r}] of problem {i} has no sign "
            f"change: f(lo)={plain(fa[i])!r}, f(hi)={plain(fb[i])!r}"
        )
    sign_a = np.sign(fa)
    if x0 is None:
        start = 0.5 * (a + b)
    else:
        start = np.clip(np.log(x0) if log else x0, np.minimum(a, b), np.maximum(a, b))
    root = np.where(fa == 0, a, np.where(fb == 0, b, start))
    done = (fa == 0) | (fb == 0)
    # The last step and the one before it (Numerical Recipes' rtsafe safeguard).
    step = step_before = np.abs(b - a)
    iterations = 0
    while iterations < maxiter:
        iterations += 1
        f, df = _split(fun(to_x(root)))
        nan = np.isnan(f) & ~done
        if nan.any():
            i = int(np.flatnonzero(nan)[0])
            raise FixedPointError(f"f is NaN at x={to_x(root[i])!r} (problem {i})")
        done |= np.abs(f) <= ftol
        same = np.sign(f) == sign_a
        a = np.where(done | ~same, a, root)
        b = np.where(done | same, b, root)
        mid = 0.5 * (a + b)
        scale = 1.0 if log else np.maximum(1.0, np.abs(root))
        # Never below two float64 spacings of the root: at log x ~ -80, xtol = 1e-14
        # is finer than float64 resolves and the bracket could not shrink to it.
        step_tol = np.maximum(xtol * scale, 2.0 * np.spacing(np.abs(root)))
        conv = np.abs(b - a) <= step_tol
        if df is None:
            new = mid
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                newton = root - f / df  # inf/NaN: not inside, bisect instead
            # A Newton step below xtol has converged even if rounding puts it on the
            # bracket edge; larger steps are taken only strictly inside the bracket.
            conv |= np.abs(newton - root) <= step_tol
            inside = (newton > np.minimum(a, b)) & (newton < np.maximum(a, b))
            # A Newton step must also halve the step before the last one: on an
            # exponential tail Newton creeps (steps of ~1 across a bracket of 1e5)
            # and would run out of iterations; bisection keeps the cap safe.
            fast = np.abs(newton - root) <= 0.5 * step_before
            newton_ok = conv | (inside & fast)
            new = np.where(newton_ok, newton, mid)
            taken = np.where(newton_ok, np.abs(newton - root), 0.5 * np.abs(b - a))
            step, step_before = taken, step
        root = np.where(done, root, new)
        done |= conv
        if done.all():
            break
    if not done.all():
        i = int(np.flatnonzero(~done)[0])
        raise FixedPointError(
            f"no convergence in {maxiter} iterations for problem {i} "
            f"(bracket [{to_x(a[i])!r}, {to_x(b[i])!r}])"
        )
    x = to_x(root)
    f_final, _ = _split(fun(x))
    return SolveResult(root=x, residual=f_final, iterations=iterations)
