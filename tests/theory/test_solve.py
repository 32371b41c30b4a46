"""Tests of the shared bracketed Newton-bisection solver, ``theory._solve``.

Every root below is known in closed form, so each test states its own expected value.
"""

import numpy as np
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from tests._tolerances import F64_RTOL
from theory._solve import FixedPointError
from theory._solve import SolveResult
from theory._solve import solve_bracketed

XTOL = (
    1e-14  # the solver's default; a root is then exact to ~XTOL in the solved variable
)


def _sqrt_problem(a):
    """f(x) = x^2 - a, with df/dlog x = 2 x^2 (for ``log=True``)."""

    def fun(x):
        return x**2 - a, 2 * x**2

    return fun


# ------------------------------------------------------------------------------
# Known roots, vectorized
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("with_derivative", [True, False])
def test_log_space_finds_square_roots_vectorized(with_derivative):
    a = np.array([1e-20, 2.0, 3.0, 1e6, 7.5e18])
    fun = _sqrt_problem(a)
    f = fun if with_derivative else (lambda x: fun(x)[0])
    out = solve_bracketed(f, 1e-12, 1e12, log=True, xtol=XTOL)
    assert isinstance(out, SolveResult)
    assert out.root.shape == a.shape
    # log=True: xtol is a relative tolerance on x.
    np.testing.assert_allclose(out.root, np.sqrt(a), rtol=10 * XTOL, atol=0)


@pytest.mark.parametrize("with_derivative", [True, False])
def test_linear_space_finds_roots_vectorized(with_derivative):
    # f(x) = x^3 - c crosses zero at cbrt(c), including negative roots and zero.
    c = np.array([-27.0, -0.001, 0.0, 0.5, 8.0, 1000.0])

    def fun(x):
        return x**3 - c, 3 * x**2

    f = fun if with_derivative else (lambda x: fun(x)[0])
    out = solve_bracketed(f, -20.0, 20.0, log=False, xtol=XTOL)
    # log=False: xtol is absolute below |x| = 1 and relative above.
    expected = np.cbrt(c)
    tol = 10 * XTOL * np.maximum(1.0, np.abs(expected))
    assert np.all(np.abs(out.root - expected) <= tol), out.root - expected


def test_decreasing_function_and_per_problem_brackets():
    # Brackets differ per problem, f decreases: f(x) = exp(-x) - p on [0, b_i].
    p = np.array([0.9, 0.5, 1e-3])
    hi = np.array([1.0, 5.0, 50.0])

    def fun(x):
        return np.exp(-x) - p, -np.exp(-x)

    out = solve_bracketed(fun, 0.0, hi, log=False, xtol=XTOL)
    np.testing.assert_allclose(out.root, -np.log(p), rtol=10 * XTOL)


def test_infinite_values_at_the_ends_are_allowed():
    # f(x) = 1/x - 1 is +inf at x = 0 (linear) and the root is x = 1.
    def fun(x):
        with np.errstate(divide="ignore"):
            return 1.0 / x - 1.0

    out = solve_bracketed(fun, 0.0, 3.0, log=False, xtol=XTOL)
    assert abs(out.root[0] - 1.0) <= 10 * XTOL


def test_root_at_bracket_end_is_returned_exactly():
    out = solve_bracketed(lambda x: x - 2.0, [2.0, 1.0], [5.0, 2.0], log=False)
    np.testing.assert_array_equal(out.root, [2.0, 2.0])
    np.testing.assert_array_equal(out.residual, [0.0, 0.0])


def test_newton_is_faster_than_bisection():
    a = np.array([2.0, 3.0, 10.0])
    fun = _sqrt_problem(a)
    newton = solve_bracketed(fun, 1e-3, 1e3, log=True, xtol=XTOL)
    bisect = solve_bracketed(lambda x: fun(x)[0], 1e-3, 1e3, log=True, xtol=XTOL)
    np.testing.assert_allclose(newton.root, bisect.root, rtol=10 * XTOL)
    # Bisection halves a bracket of width log(1e6) ~ 14 down to 1e-14: ~50 steps.
    assert bisect.iterations >= 45
    # Newton in log x from x = 1 first overshoots to x ~ e^4.5, then walks back.
    assert newton.iterations <= 20


def test_wrong_derivative_still_converges_by_bisection():
    # A derivative of the wrong sign sends every Newton step outside the bracket; the
    # safeguard must fall back to bisection and still find the root.
    a = np.array([2.0, 5.0])

    def fun(x):
        return x**2 - a, -np.ones_like(x)

    out = solve_bracketed(fun, 1e-3, 1e3, log=True, xtol=XTOL)
    np.testing.assert_allclose(out.root, np.sqrt(a), rtol=10 * XTOL)


def test_newton_creeping_up_an_exponential_tail_gives_way_to_bisection():
    # f = 1 - e^(c - x): from the midpoint 0 of [-1e5, 1e5] each Newton step is
    # 1 - e^(x - c) ~ +1, always inside the bracket. Without the safeguard reaching
    # c = 250 took 250 steps, past maxiter = 200 (the NCE offset at c'* ~ 200 raised).
    c = np.array([250.0, 1000.0, -700.0])

    def fun(x):
        with np.errstate(over="ignore", invalid="ignore"):
            e = np.exp(c - x)
            return 1.0 - e, e

    out = solve_bracketed(fun, -1e5, 1e5, log=False, xtol=1e-13)
    np.testing.assert_allclose(out.root, c, rtol=1e-13)
    assert out.iterations < 100


def test_a_root_far_from_one_in_log_space_converges_by_bisection():
    # At log x ~ -80 float64 spaces log x 1.4e-14 apart, so the bracket cannot shrink
    # to xtol = 1e-14: bisection ran out of iterations (the optimal fitting ratio at
    # noise 3e92 raised). Two spacings of log x is as far as float64 resolves.
    root = np.array([6.5e-36, 3e40])
    out = solve_bracketed(lambda x: x - root, 1e-60, 1e60, xtol=1e-14)
    np.testing.assert_allclose(out.root, root, rtol=1e-13)


def test_ftol_stops_early_with_small_residual():
    a = np.array([2.0, 7.0])
    ftol = 1e-3
    out = solve_bracketed(
        lambda x: x**2 - a, 1e-3, 1e3, log=True, xtol=1e-15, ftol=ftol, maxiter=200
    )
    assert np.all(np.abs(out.residual) <= ftol)
    # Far fewer iterations than the ~55 bisections that xtol=1e-15 alone would need.
    assert out.iterations < 40


@given(
    a=st.floats(min_value=1e-12, max_value=1e12),
    p=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
    with_derivative=st.booleans(),
)
@example(a=2.0, p=2.0, with_derivative=True)
def test_power_roots_property(a, p, with_derivative):
    def fun(x):
        return x**p - a, p * x**p

    f = fun if with_derivative else (lambda x: fun(x)[0])
    out = solve_bracketed(f, 1e-30, 1e30, log=True, xtol=XTOL)
    np.testing.assert_allclose(out.root, a ** (1 / p), rtol=100 * XTOL)


# ------------------------------------------------------------------------------
# Residual equals f(root)
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("log", [True, False])
def test_residual_is_f_at_root(log):
    a = np.array([0.3, 2.0, 11.0])
    calls = []

    def fun(x):
        calls.append(x.copy())
        return np.sin(x) - a / 12.0, np.cos(x) * (x if log else 1.0)

    out = solve_bracketed(fun, 0.01, 1.5, log=log, xtol=1e-13)
    np.testing.assert_array_equal(out.residual, np.sin(out.root) - a / 12.0)
    np.testing.assert_allclose(out.root, np.arcsin(a / 12.0), rtol=F64_RTOL)
    assert out.iterations >= 1


# ------------------------------------------------------------------------------
# Failures raise FixedPointError naming the problem
# ------------------------------------------------------------------------------


def test_no_sign_change_raises_naming_the_problem():
    a = np.array([2.0, -1.0, 3.0])  # problem 1: x^2 + 1 > 0 everywhere
    lo, hi = np.full(3, 0.5), np.array([4.0, 5.0, 6.0])
    with pytest.raises(FixedPointError, match=r"problem 1 has no sign change") as err:
        solve_bracketed(lambda x: x**2 - a, lo, hi, log=False)
    msg = str(err.value)
    assert "0.5" in msg and "5.0" in msg  # the bracket is named too


def test_no_sign_change_with_scalar_bracket_raises_fixed_point_error():
    # The docstring allows lo, hi "broadcastable to (C,)": a scalar bracket shared by
    # three problems must still report the failing problem, not crash.
    a = np.array([2.0, -1.0, 3.0])
    with pytest.raises(FixedPointError, match=r"problem 1 has no sign change"):
        solve_bracketed(lambda x: x**2 - a, 0.5, 4.0, log=True)


def test_nan_at_bracket_end_raises():
    def fun(x):
        return np.where(x > 3.0, np.nan, x - 1.0)

    with pytest.raises(FixedPointError, match=r"problem 0.*nan"):
        solve_bracketed(fun, 0.5, 4.0, log=False)


def test_nan_inside_bracket_raises_naming_the_problem():
    # Finite and of opposite signs at the ends; NaN near x = 2.5, the first midpoint
    # of problem 1's bracket [1, 4] (problem 0's bracket [0, 1] never gets there).
    c = np.array([0.5, 3.0])

    def fun(x):
        return np.where(np.abs(x - 2.5) < 0.1, np.nan, x - c)

    with pytest.raises(FixedPointError, match=r"f is NaN at x=.*2\.5.*problem 1"):
        solve_bracketed(fun, [0.0, 1.0], [1.0, 4.0], log=False)


def test_maxiter_too_small_raises_naming_the_problem():
    a = np.array([4.0, 2.0])  # root 2 is the midpoint of [1, 3]: problem 0 converges

    with pytest.raises(FixedPointError, match=r"no convergence in 3 iterations.*1"):
        solve_bracketed(lambda x: x**2 - a, 1.0, 3.0, log=False, maxiter=3)


def test_maxiter_message_names_first_unconverged_problem():
    a = np.array([4.0, 2.0, 5.0])
    with pytest.raises(FixedPointError, match=r"problem 1 \(bracket"):
        solve_bracketed(lambda x: x**2 - a, 1.0, 3.0, log=False, maxiter=3)


@pytest.mark.parametrize("lo", [0.0, -1.0, np.nan])
def test_log_space_needs_positive_bracket(lo):
    with pytest.raises(FixedPointError, match="lo, hi > 0"):
        solve_bracketed(lambda x: x - 1.0, lo, 2.0, log=True)
