r"""Input handling and numerical edge cases of :mod:`theory.neural_collapse`.

Most tests here failed on the code before its fix (the others guard the fixes'
boundaries): the central-path flow with a step larger than an interval, a stiff
weight decay, or coinciding class means; class means equal up to rounding; the
cross-entropy of a large margin; rotations that are not orthonormal; labels that are
not finite or out of range; non-numeric arguments; a depth beyond float64; an MSE
objective beyond float64; NC4 at scales where the logits underflow or overflow; a
deep-linear point whose per-layer decays' product leaves float64; the central-path
rates where the squares of H are subnormal; block singular values beyond float64;
the perturbation operator where float64 cannot resolve its Hessian, and its
accuracy. Any RuntimeWarning is an error.

References: 50-digit mpmath (cross-entropy), scipy ``solve_ivp`` on the scalar ODE
of the class means and the exact exponential decay of the within-class part
(central-path flow from a start where the two decouple), exact power-of-two scale
covariance (central-path rates), and a 60-digit mpmath Schur complement built from
the Hessian's quadratic form (perturbation operator).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from tests._tolerances import NC_CE_MPMATH_RTOL
from tests._tolerances import NC_EXACT_ATOL
from tests._tolerances import NC_SEPARATION_ROUNDINGS

# autouse: one BLAS/torch thread for every test of this module
from tests.theory._nc_helpers import _one_thread  # noqa: F401
from theory import neural_collapse as nc

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

EPS = np.finfo(np.float64).eps
H6 = np.random.default_rng(0).standard_normal((4, 6))
Y6 = [0, 0, 1, 1, 2, 2]
W34 = np.random.default_rng(1).standard_normal((3, 4))


def _orthonormal(d, r, seed=0):
    q, s = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return (q * np.sign(np.diag(s)))[:, :r]


# ======================================================================================
# central-path flow
# ======================================================================================


@pytest.mark.parametrize(("lam_w", "lam_h"), [(0.2, 0.1), (1e-3, 0.0), (5.0, 30.0)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_flows_decay_rates_are_within_the_step_bound(lam_w, lam_h, seed):
    """central_path_flow's step bound rests on: decay rates <= lam_h + 1/(4 lam_w).
    Checked against the spectrum of the velocity's Jacobian (central differences,
    h = 1e-6: error ~1e-6 of the rate). The Jacobian is symmetric (a gradient flow);
    its growing modes (the objective is not convex) need no bound for stability."""
    K, n, d = 3, 2, 4
    H = np.random.default_rng(seed).standard_normal((d, K * n))
    rate = lam_h + 0.25 / lam_w
    J = np.empty((H.size, H.size))
    h = 1e-6
    for i in range(H.size):
        E = np.zeros(H.size)
        E[i] = h
        E = E.reshape(H.shape)
        up = nc.central_path_velocity(H + E, K=K, lam_w=lam_w, lam_h=lam_h)
        down = nc.central_path_velocity(H - E, K=K, lam_w=lam_w, lam_h=lam_h)
        J[:, i] = ((up - down) / (2 * h)).ravel()
    assert np.max(np.abs(J - J.T)) <= 1e-5 * rate
    eig = np.linalg.eigvalsh((J + J.T) / 2)
    assert -eig.min() <= rate * (1 + 1e-5)


def test_flow_takes_a_step_when_dt_exceeds_the_interval():
    """dt is the largest step: dt = 1e9 took 0 steps per interval (H never moved).
    Any dt at least the interval length must give the same steps."""
    kw = {"K": 3, "lam_w": 0.2, "lam_h": 0.1, "t": [0.0, 0.5, 1.0]}
    huge = nc.central_path_flow(H6, dt=1e9, **kw)
    span = nc.central_path_flow(H6, dt=0.5, **kw)
    np.testing.assert_array_equal(huge.H, span.H)
    assert np.all(np.diff(huge.nc1_tilde) < 0)  # Theorem 3.1


def _decoupled_start(K, n, d, scale, seed=0):
    """``H0 = scale (R (x) 1_n^T) + P Z``: R, P orthonormal and orthogonal to each
    other, Z with zero class sums. Then ``W*(H) = s/(s^2 + lam_w) R^T`` for
    ``H = s R (x) 1_n^T + E`` (E within-class and orthogonal to R), ``W* E = 0``, and
    the flow splits exactly: ``E' = -lam_h E`` and
    ``s' = s (lam_w / (s^2 + lam_w)^2 - lam_h)``."""
    Q = _orthonormal(d, d, seed)
    R, P = Q[:, :K], Q[:, K:]
    Z = np.random.default_rng(seed + 1).standard_normal((d - K, K * n))
    Z -= np.repeat(Z.reshape(d - K, K, n).mean(axis=2), n, axis=1)
    return scale * np.repeat(R, n, axis=1) + scale * (P @ Z)


def _rk4_decay_error(z):
    """RK4's factor for y' = -y over a step z, relative to exp(-z): >= 0, rising."""
    return (1 - z + z**2 / 2 - z**3 / 6 + z**4 / 24) * np.exp(z) - 1


def test_stiff_weight_decay_matches_the_decoupled_flow():
    """lam_h = 2800 with the default dt = 1e-3 (lam_h dt = 2.8 > RK4's stability limit
    2.79): the traces grew like 1.02^steps instead of decaying like e^(-2 lam_h t).
    The flow must shorten its steps; from a start where the within-class part decays
    exactly as e^(-lam_h t) and the class means follow a scalar ODE, it must match both.

    Tolerance: steps are at most 1/(2 (lam_h + 1/(4 lam_w))) (documented), so
    lam_h h <= 1/2 and each step scales a decaying part by RK4's polynomial, within
    ``_rk4_decay_error(1/2)`` = 4.0e-4 of the exponential; over ``m`` steps the traces
    (squares) are within (1 + 4.0e-4)^(2m) - 1. The class means' rate
    lam_h - lam_w/(s^2 + lam_w)^2 is constant to 1e-3 relative of its 5 / 2800 part
    here (s^2 = 1e-4 << lam_w), so the same bound holds for them.
    """
    K, n, d, lw, lh = 3, 2, 6, 0.2, 2800.0
    t = np.array([0.0, 1e-3, 2e-3, 5e-3])
    H0 = _decoupled_start(K, n, d, 1e-2)
    path = nc.central_path_flow(H0, K=K, lam_w=lw, lam_h=lh, t=t)
    assert np.all(np.isfinite(path.H))

    want_w = path.tr_sigma_w[0] * np.exp(-2 * lh * t)
    s0 = 1e-2
    ode = solve_ivp(
        lambda _, u: lw / (np.exp(2 * u) + lw) ** 2 - lh,
        (0.0, t[-1]),
        [np.log(s0)],
        method="DOP853",
        t_eval=t,
        rtol=1e-13,
        atol=1e-13,
    )
    want_b = path.tr_sigma_b[0] * np.exp(2 * (ode.y[0] - np.log(s0)))

    rate = lh + 1 / (4 * lw)
    steps = np.sum(np.ceil(2 * rate * np.diff(t)))
    tol = (1 + _rk4_decay_error(0.5)) ** (2 * steps) - 1
    np.testing.assert_allclose(path.tr_sigma_w, want_w, rtol=tol)
    np.testing.assert_allclose(path.tr_sigma_b, want_b, rtol=tol)
    # the ratio: both traces err by the same kind of factor, at most 2 tol together
    np.testing.assert_allclose(path.nc1_tilde, want_w / want_b, rtol=2 * tol)


def test_stiff_weight_decay_keeps_theorem_31():
    """A random start at lam_h = 2800: Theorem 3.1 along the path. Before, each
    step of lam_h dt = 2.8 multiplied H by ~1.02 instead of e^-2.8 (Tr Sigma_W was
    1.5e19 at t = 1). NC1~ must fall; e^(2 lam_h t) Tr Sigma_W must not rise, up to
    RK4's slower decay: at most (1 + _rk4_decay_error(1/2))^2 per step (as above)."""
    t = np.linspace(0.0, 5e-3, 6)
    lw, lh = 0.2, 2800.0
    path = nc.central_path_flow(H6, K=3, lam_w=lw, lam_h=lh, t=t)
    assert np.all(np.diff(path.nc1_tilde) < 0)
    scaled_w = np.exp(2 * lh * t) * path.tr_sigma_w
    steps = np.ceil(2 * (lh + 1 / (4 * lw)) * np.diff(t))
    allowed = (1 + _rk4_decay_error(0.5)) ** (2 * steps)
    assert np.all(scaled_w[1:] / scaled_w[:-1] <= allowed)


@pytest.mark.parametrize("lam_h", [2800.0, 3000.0])
def test_flow_past_the_float64_range_names_lam_h(lam_h):
    """H ~ e^(-lam_h t) leaves float64 (below 1e-308) before t = 1: a ValueError
    naming lam_h, not 1.9e19 (2800) or 'a step too small' (3000)."""
    with pytest.raises(ValueError, match="lam_h") as err:
        nc.central_path_flow(H6, K=3, lam_w=0.2, lam_h=lam_h, t=[0.0, 1.0])
    assert "underflow" in str(err.value) and "too small" not in str(err.value)


def test_flow_needing_too_many_stable_steps_names_dt_and_lam_h():
    """lam_h = 1e9 over t = 1: stable steps are at most 1/(2 (lam_h + 1/(4 lam_w))) =
    5e-10, 2e9 of them; the message names dt, lam_h and that step."""
    with pytest.raises(ValueError, match="lam_h") as err:
        nc.central_path_flow(H6, K=3, lam_w=0.2, lam_h=1e9, t=[0.0, 1.0])
    msg = str(err.value)
    assert "dt=0.001" in msg and "5e-10" in msg and "too small" not in msg


@pytest.mark.parametrize("H0", [np.ones((4, 3)), np.full((3, 6), 0.1)])
def test_flow_refuses_coinciding_class_means(H0):
    """nc1_tilde was NaN along the path (0/0); central_path_rates already refused."""
    kw = {"K": 3, "lam_w": 0.2, "lam_h": 0.1}
    with pytest.raises(ValueError, match="class means of H0 coincide"):
        nc.central_path_flow(H0, t=[0.0, 1.0], **kw)
    with pytest.raises(ValueError, match="class means of H coincide"):
        nc.central_path_rates(H0, **kw)


# ======================================================================================
# class means equal up to rounding
# ======================================================================================


def test_class_means_equal_up_to_rounding_coincide():
    """0.1 summed 3 times and 2 times gives means 1 ulp apart: NC1 was 0.0714."""
    H, y = np.full((3, 7), 0.1), [0, 0, 0, 1, 1, 2, 2]
    for f in (nc.nc1, nc.nc1_tilde):
        with pytest.raises(ValueError, match="coincide"):
            f(H, y)
    with pytest.raises(ValueError, match="coincide"):
        nc.central_path_rates(np.full((3, 6), 0.1), K=3, lam_w=0.2, lam_h=0.1)


@pytest.mark.parametrize("delta", [1e-10, 1e-6])
def test_small_real_separations_are_kept(delta):
    """Features 1 + delta A: the classes are separated by ~delta, far above the
    rounding of their means (~N eps). ``1 + delta A - 1`` is exact (Sterbenz), so
    both calls see the same data; NC1's translation invariance holds to the rounding
    of the shifted means and deviations (absolute ~N eps against ~delta), amplified
    by NC1's O(1) condition here: NC_SEPARATION_ROUNDINGS N eps / delta."""
    shifted = 1.0 + delta * H6
    A = (shifted - 1.0) / delta
    rtol = NC_SEPARATION_ROUNDINGS * H6.shape[1] * EPS / delta
    for f in (nc.nc1, nc.nc1_tilde):
        np.testing.assert_allclose(f(shifted, Y6), f(A, Y6), rtol=rtol)
    r = nc.central_path_rates(shifted, K=3, lam_w=0.2, lam_h=0.1)
    np.testing.assert_allclose(r.nc1_tilde, nc.nc1_tilde(A, Y6), rtol=rtol)


# ======================================================================================
# cross-entropy objective
# ======================================================================================


def _mp_ce_objective(logits, labels, weights, H, lam):
    """At 50 digits, CE_i = log(sum_k exp(z_k)) - z_y written as
    log1p(sum_{k != y} exp(z_k - z_y)): the plain form keeps only 50 - 44 digits of a
    CE of 1e-44."""
    with mpmath.workdps(50):
        ce = mpmath.mpf(0)
        for i, y in enumerate(labels):
            z = [mpmath.mpf(float(v)) for v in logits[:, i]]
            ce += mpmath.log1p(
                mpmath.fsum(mpmath.exp(v - z[y]) for k, v in enumerate(z) if k != y)
            )
        reg = mpmath.fsum(mpmath.mpf(float(v)) ** 2 for v in np.ravel(weights))
        reg += mpmath.fsum(mpmath.mpf(float(v)) ** 2 for v in np.ravel(H))
        return ce / len(labels) + mpmath.mpf(lam) * reg / 2


@pytest.mark.parametrize("margin", [1.0, 30.0, 100.0])
@pytest.mark.parametrize("wrong", [False, True])
def test_ce_objective_matches_mpmath(margin, wrong):
    """log(sum exp z) - z_y lost everything below eps of the margin: at margin 100 the
    CE is 3.7e-44 and the old value was 0. W = I, so the logits are H exactly; the
    decays 1e-300 leave the CE dominant. ``wrong``: the label is not the largest
    logit (CE ~ 2 margin). Each term is a few correctly rounded operations
    (exp, a sum, log1p, a mean of 3): NC_CE_MPMATH_RTOL."""
    m = margin
    H = np.array([[m, -1.0, -m], [0.0, m, 0.5], [-m, 0.25, m]])
    labels = [2, 0, 1] if wrong else [0, 1, 2]
    lam = 1e-300
    got = nc.deep_linear_ce_objective([np.eye(3)], H, labels, lam_w=lam, lam_h=lam)
    want = _mp_ce_objective(H, labels, np.eye(3), H, lam)
    assert abs(mpmath.mpf(got) - want) <= NC_CE_MPMATH_RTOL * abs(want)


# ======================================================================================
# rotations
# ======================================================================================

ROTATED = {
    "deep_linear_mse_point": (
        lambda R: nc.deep_linear_mse_point(
            [3, 2], depth=2, lam_w=1e-2, lam_h=1e-2, width=3, rotation=R
        ),
        (3, 2),
    ),
    "deep_linear_ce_point": (
        lambda R: nc.deep_linear_ce_point(
            3, 2, depth=2, lam_w=1e-3, lam_h=1e-3, width=4, rotation=R
        ),
        (4, 2),
    ),
    "simplex_etf": (lambda R: nc.simplex_etf(3, 4, rotation=R), (4, 3)),
    "ufm_minimizer": (
        lambda R: nc.ufm_minimizer(3, 2, 4, lam_w=0.1, lam_h=0.1, rotation=R),
        (4, 3),
    ),
}


def _bad_rotations(shape):
    d, r = shape
    U = _orthonormal(d, r)
    off = U.copy()
    off[0, 0] += 1e-8  # R^T R - I ~ 1e-8, far above float64 rounding
    return {"scaled": 5 * U, "nan": np.full(shape, np.nan), "off by 1e-8": off}


@pytest.mark.parametrize("name", ROTATED)
def test_rotations_must_be_orthonormal_and_finite(name):
    call, shape = ROTATED[name]
    for label, R in _bad_rotations(shape).items():
        with pytest.raises(ValueError, match="rotation") as err:
            call(R)
        assert "np." not in str(err.value), (label, str(err.value))


@pytest.mark.parametrize("name", ["simplex_etf", "ufm_minimizer"])
def test_square_rotation_must_be_orthogonal_in_every_column(name):
    """A (d, d) rotation (documented as orthogonal) whose unused last column is not
    unit: only the first K columns were checked."""
    call, (d, _) = ROTATED[name]
    R = _orthonormal(d, d)
    R[:, -1] *= 5
    with pytest.raises(ValueError, match="rotation"):
        call(R)


def test_orthonormal_rotation_gives_the_same_minimum():
    """A float64 rotation (|R^T R - I| ~ 1e-16) is accepted and, U orthogonal, gives
    another minimizer: the objective of the explicit point is the closed form's."""
    R = _orthonormal(3, 2, seed=5)
    p = nc.deep_linear_mse_point(
        [3, 2], depth=2, lam_w=1e-2, lam_h=1e-2, width=3, rotation=R
    )
    v = nc.deep_linear_mse_objective(p.weights, p.H, p.labels, lam_w=1e-2, lam_h=1e-2)
    s = nc.deep_linear_mse_minimizer([3, 2], depth=2, lam_w=1e-2, lam_h=1e-2)
    assert abs(v - s.objective) <= NC_EXACT_ATOL


@pytest.mark.parametrize("bias", [False, True])
def test_point_with_layer_decays_whose_product_leaves_float64(bias):
    """Per-layer weight decays 1e-200, 1e-200, 1e190, 1e190: each layer's singular
    values are finite, but their running product overflowed, so the point's features
    were inf/inf = NaN. They are now the minimizer's, and the point attains its
    objective."""
    sizes = [4, 4, 4] if bias else [3, 5, 4]
    lam_w = [1e-200, 1e-200, 1e190, 1e190]
    s = nc.deep_linear_mse_minimizer(sizes, depth=4, lam_w=lam_w, lam_h=1e-3, bias=bias)
    assert np.all(s.a2 > 1)  # the non-zero branch, where the features are not 0
    p = nc.deep_linear_mse_point(
        sizes, depth=4, lam_w=lam_w, lam_h=1e-3, width=5, bias=bias
    )
    means = nc.class_means(p.H, p.labels).means
    np.testing.assert_allclose(means.T @ means, s.gram_h, rtol=1e-13, atol=1e-18)
    v = nc.deep_linear_mse_objective(
        p.weights, p.H, p.labels, lam_w=lam_w, lam_h=1e-3, b=p.b
    )
    assert abs(v - s.objective) <= 1e-12 * s.objective


# ======================================================================================
# labels, non-numeric arguments, depth, overflow
# ======================================================================================


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        (np.inf, "inf"),
        (-np.inf, "-inf"),
        (np.nan, "nan"),
        (1e20, "1e+20"),
        (2**40, "1099511627776"),
        (2**63 - 1, "9223372036854775807"),
        (6, "6"),
        (-1, "-1"),
        (2.5, "2.5"),
    ],
)
def test_bad_labels_are_named_before_any_cast(bad, shown):
    """inf leaked a RuntimeWarning on the int cast and reported label
    -9223372036854775808; 2**40 allocated 8 TiB in bincount (MemoryError). Every
    class 0..max must occur, so a label must be < N = 6."""
    with pytest.raises(ValueError, match="labels") as err:
        nc.nc1(H6, [0, 0, 1, 1, 2, bad])
    assert shown in str(err.value), str(err.value)


_NUMERIC_ARGS = [
    ("rotation", lambda v: nc.simplex_etf(3, 4, rotation=v)),
    ("rotation", lambda v: nc.ufm_minimizer(3, 2, 4, lam_w=0.1, lam_h=0.1, rotation=v)),
    ("rotation", ROTATED["deep_linear_mse_point"][0]),
    ("rotation", ROTATED["deep_linear_ce_point"][0]),
    ("t", lambda v: nc.central_path_flow(H6, K=3, lam_w=0.2, lam_h=0.1, t=v)),
    (
        "b",
        lambda v: nc.deep_linear_mse_objective(
            [W34], H6, Y6, lam_w=1e-2, lam_h=1e-2, b=v
        ),
    ),
    (
        "b",
        lambda v: nc.deep_linear_ce_objective(
            [W34], H6, Y6, lam_w=1e-2, lam_h=1e-2, b=v
        ),
    ),
    ("scale", lambda v: nc.nc3(W34, W34.T, scale=v)),
]


@pytest.mark.parametrize(("name", "call"), _NUMERIC_ARGS)
@pytest.mark.parametrize("value", [{}, "abc", "0.5", True, [1.0, None]])
def test_non_numeric_arguments_are_named(name, call, value):
    with pytest.raises(ValueError, match=f"{name} must be numeric, got {name}="):
        call(value)


def test_depth_beyond_float64_is_named():
    with pytest.raises(ValueError, match="depth"):
        nc.nonzero_threshold(10**309)


def test_mse_objective_beyond_float64_raises():
    """Residuals 1e200: the objective ~1e400; it returned inf with a RuntimeWarning."""
    big = 1e100 * np.eye(2)
    with pytest.raises(ValueError, match="float64 range"):
        nc.deep_linear_mse_objective([big], big, [0, 1], lam_w=1e-3, lam_h=1e-3)


def test_mse_objective_with_a_square_beyond_float64_but_a_finite_mean():
    """One residual 1e155 among N = 100 samples: its square (1e310) leaves float64
    but the objective (1e310 / 200 = 5e307) does not."""
    N = 100
    H = np.zeros((2, N))
    H[0, 0] = 1e77
    labels = np.arange(N) % 2
    W = 1e78 * np.eye(2)
    got = nc.deep_linear_mse_objective([W], H, labels, lam_w=1e-300, lam_h=1e-300)
    with mpmath.workdps(50):
        res = (mpmath.mpf(1e77) * mpmath.mpf(1e78) - 1) ** 2 + (N - 1)
        want = (
            res / (2 * N)
            + mpmath.mpf(1e-300)
            * (2 * mpmath.mpf(1e78) ** 2 + mpmath.mpf(1e77) ** 2)
            / 2
        )
    assert abs(mpmath.mpf(got) - want) <= NC_CE_MPMATH_RTOL * want


def test_ce_objective_beyond_float64_raises():
    """CE of a 1.4e308 margin plus a 1.4e308 penalty: the sum left float64."""
    W = np.array([[1.2e154], [0.0]])
    H = np.array([[1.2e154, -1e150]])
    with pytest.raises(ValueError, match="float64 range"):
        nc.deep_linear_ce_objective([W], H, [1, 0], lam_w=1.0, lam_h=1.0)


# ======================================================================================
# nc4 at the ends of float64
# ======================================================================================


@pytest.mark.parametrize(
    ("c", "with_bias"),
    [(1e-170, False), (1e160, False), (1e-100, True), (1e150, True)],
)
def test_nc4_is_scale_invariant(c, with_bias):
    """argmax_k (w_k.h + b_k) and the nearest class mean are unchanged when W and H
    are scaled by c and b by c^2. At c = 1e-170 the logits underflowed to ties (NC4
    0.5 instead of 1.0); at 1e160 they overflowed (ValueError). With a bias, c^2 b
    must stay a normal float64 for the scaled classifier to be the same one."""
    rng = np.random.default_rng(3)
    K, n, d = 3, 4, 5
    y = np.repeat(np.arange(K), n)
    means = np.repeat(rng.standard_normal((d, K)), n, axis=1)
    H = rng.standard_normal((d, K * n)) + 2 * means
    W = rng.standard_normal((K, d))
    b = rng.standard_normal(K) if with_bias else None
    ref = nc.nc4(H, y, W, b)
    assert 0 < ref < 1  # some, not all, predictions disagree: the test can fail
    scaled_b = None if b is None else b * c * c
    assert nc.nc4(c * H, y, c * W, scaled_b) == ref


# ======================================================================================
# the perturbation operator where float64 cannot resolve the Hessian
# ======================================================================================


@pytest.mark.parametrize(
    ("lam_w", "why"),
    [
        (5e-324, "W block is singular in float64"),  # lam_w/K underflows: LinAlgError
        (1e-100, "float64 cannot resolve S"),  # said "not a strict local minimizer"
    ],
)
def test_perturbation_operator_names_what_float64_cannot_resolve(lam_w, why):
    """At the closed-form minimizer with lam_w / lam_h = 1e-97 or below: |W|^2 ~ 1e48
    and the Schur complement is a difference of terms far beyond its smallest
    eigenvalue (at lam_w = 1e-30 it is still resolved: lambda_min/lambda_max =
    3e-14). Before, 5e-324 raised LinAlgError and 1e-100 blamed the point."""
    m = nc.ufm_minimizer(3, 2, 4, lam_w=lam_w, lam_h=1e-3)
    with pytest.raises(ValueError, match=why):
        nc.perturbation_operator(m.W, m.H, K=3, beta=1.0, lam_w=lam_w, lam_h=1e-3)


def test_perturbation_operator_refuses_a_point_that_is_not_a_minimizer():
    """A random (W, H): the Schur complement has a clearly negative eigenvalue."""
    with pytest.raises(ValueError, match="not a strict local minimizer"):
        nc.perturbation_operator(W34, H6, K=3, beta=1.0, lam_w=1e-3, lam_h=1e-3)


def test_block_singular_values_beyond_float64_are_refused():
    """Blocks of 1.7e308 have the singular value 2 x 1.7e308: it was returned as inf
    (with an overflow warning). Just inside the range it is exact."""
    with pytest.raises(ValueError, match="block_singular_values exceeds the float64"):
        nc.block_singular_values(np.full((4, 4), 1.7e308), K=2)
    bs = nc.block_singular_values(np.full((4, 4), 2.0**1022), K=2)
    np.testing.assert_allclose(bs.intra[:, 0], 2.0**1023, rtol=4 * EPS)


@pytest.mark.parametrize("k", [480, 530])
def test_central_path_rates_are_scale_covariant_down_to_subnormal_squares(k):
    """H -> cH and lam_w -> c^2 lam_w (lam_h = 0) scale W* by 1/c and the flow by 1/c,
    so NC1~ is unchanged and its rate scales by 1/c^2; with c = 2^-k this is exact in
    float64. At k = 530 (|H| ~ 1e-160) the squares of H are subnormal: NC1~ was
    2.6e-5 and its rate 4.8e-5 relative off."""
    H = np.random.default_rng(1).standard_normal((6, 12))
    ref = nc.central_path_rates(H, K=3, lam_w=2.0**40, lam_h=0.0)
    c = 2.0**-k
    got = nc.central_path_rates(c * H, K=3, lam_w=2.0**40 * c * c, lam_h=0.0)
    assert got.nc1_tilde == ref.nc1_tilde
    assert got.d_nc1_tilde == ref.d_nc1_tilde / (c * c)


def _perturbation_reference(W, H, K, beta, lam_w, lam_h):
    """F = (beta/N) S^-1 in 60-digit mpmath, with S built independently of the code's
    Hessian blocks: S is the quadratic form of Eq. 2's Hessian with dW minimized out,
    S(dH) = (|W dH|^2 - tr(G M^-1 G^T) + (lam_h + beta) |dH|^2) / N with
    G = W dH H^T + R dH^T, M = H H^T + (N lam_w / K) I and R = W H - Y."""
    d, N = H.shape
    with mpmath.workdps(60):
        Wm, Hm = mpmath.matrix(W.tolist()), mpmath.matrix(H.tolist())
        R = Wm * Hm
        for j in range(N):
            R[j // (N // K), j] -= 1
        Minv = mpmath.inverse(Hm * Hm.T + (N * mpmath.mpf(lam_w) / K) * mpmath.eye(d))
        units = []  # vec stacks columns: entry (i, j) of dH is p = j d + i
        for p in range(N * d):
            E = mpmath.zeros(d, N)
            E[p % d, p // d] = 1
            units.append(
                (Wm * E, (Wm * E * Hm.T + R * E.T) * Minv, Wm * E * Hm.T + R * E.T)
            )
        S = mpmath.zeros(N * d, N * d)
        reg = mpmath.mpf(lam_h) + mpmath.mpf(beta)
        for p, (WEp, GMp, _) in enumerate(units):
            for q, (WEq, _, Gq) in enumerate(units):
                fit = sum(WEp[a, b] * WEq[a, b] for a in range(K) for b in range(N))
                pull = sum(GMp[a, b] * Gq[a, b] for a in range(K) for b in range(d))
                S[p, q] = (fit - pull + (reg if p == q else 0)) / N
        F = (mpmath.mpf(beta) / N) * mpmath.inverse(S)
        return np.array(F.tolist(), dtype=float)


@pytest.mark.parametrize("lam_w", [1e-3, 1e-20, 1e-25])
def test_perturbation_operator_is_accurate_to_eps_over_its_hessian_ratio(lam_w):
    """F's relative error is about eps / hessian_norm_ratio, the condition number of
    S, however S is assembled (docstring). Measured at these points against the
    reference: at most 3.3 times eps / ratio (from 1e-3 to 1e-30); the test allows
    10. At lam_w = 1e-25 the ratio is 1e-11 and F is good to ~1e-5."""
    m = nc.ufm_minimizer(3, 2, 4, lam_w=lam_w, lam_h=1e-3)
    op = nc.perturbation_operator(m.W, m.H, K=3, beta=1.0, lam_w=lam_w, lam_h=1e-3)
    ref = _perturbation_reference(m.W, m.H, 3, 1.0, lam_w, 1e-3)
    err = np.abs(op.F - ref).max() / np.abs(ref).max()
    assert err <= 10 * EPS / op.hessian_norm_ratio
