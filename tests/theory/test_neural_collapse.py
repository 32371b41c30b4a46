r"""Tests of :mod:`theory.neural_collapse`: the NC metrics and Paper A
(arXiv:2210.16658; reference values and their sources in
``docs/derivations/neural_collapse.md`` §6, "§" below). Paper B (the deep linear UFM,
arXiv:2301.00437) is tested in ``test_nc_deep_linear.py``.

(a) exact values with provenance: the §6.2 Theorem 4.2 check;
(b) hypothesis properties 1-11 of §6.6, over its strategies (K in [2, 8],
    d in [K, K + 6], n in [2, 6], lambda log-uniform in [1e-3, 1]), with
    ``@example`` at the papers' values;
(c) input validation (of the whole public module).

Independent references used here share no code with ``theory``: scipy L-BFGS on the
objectives (UFM gradients written out below), alternating exact block minimization
of Eq. 2 written in numpy.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests._tolerances import F64_RTOL
from tests._tolerances import NC_COR22_ATOL as COR22_ATOL
from tests._tolerances import NC_EXACT_ATOL as EXACT_ATOL
from tests._tolerances import NC_INVARIANCE_RTOL as INVARIANCE_RTOL
from tests._tolerances import NC_LBFGS_VALUE_ATOL as LBFGS_VALUE_ATOL
from tests._tolerances import NC_ONE_MINUS_C_RTOL
from tests._tolerances import NC_STATIONARY_ATOL as STATIONARY_ATOL
from tests._tolerances import NC_THM41_RTOL as THM41_RTOL
from tests.theory._nc_helpers import _lbfgs

# autouse: one BLAS/torch thread for every test of this module
from tests.theory._nc_helpers import _one_thread  # noqa: F401
from tests.theory._nc_helpers import lam_st
from tests.theory._nc_helpers import nearly_collinear_features
from theory import neural_collapse as nc


def _orthonormal(d, K, seed):
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return (q * np.sign(np.diag(r)))[:, :K]


def _rotated_minimizer(sizes, lw, lh, seed):
    """``(minimizer, K, n, d)``: the UFM minimizer of ``sizes = (K, d - K, n)`` in a
    random rotation."""
    K, extra, n = sizes
    d = K + extra
    rotation = _orthonormal(d, K, seed)
    return nc.ufm_minimizer(K, n, d, lam_w=lw, lam_h=lh, rotation=rotation), K, n, d


def _labels(K, n):
    return np.repeat(np.arange(K), n)


# ======================================================================================
# (a) exact values with provenance
# ======================================================================================


def test_theorem_42_reference_values():
    # §6.2 (ours): K=4, n=10, d=10, lambda_W=0.5, lambda_H=0.4, F from the Schur
    # complement: sigma_min(F_kk) = 0.991135, sigma_max(F_kk~) = 0.004384 at beta=100;
    # 0.999106 and 0.000442 at beta = 1000; second sv of F_kk~ ~1e-13.
    m = nc.ufm_minimizer(4, 10, 10, lam_w=0.5, lam_h=0.4)
    for beta, smin, sint in ((100.0, 0.991135, 0.004384), (1000.0, 0.999106, 0.000442)):
        F = nc.perturbation_operator(m.W, m.H, K=4, beta=beta, lam_w=0.5, lam_h=0.4).F
        bs = nc.block_singular_values(F, K=4)
        assert abs(bs.intra.min() - smin) <= 5e-7
        assert abs(bs.intra.max() - 1.0) <= EXACT_ATOL
        off = bs.inter[~np.eye(4, dtype=bool)]
        assert abs(off[:, 0].max() - sint) <= 5e-7
        assert off[:, 1].max() <= 1e-12
    pred = nc.near_collapse_spectrum(4, 10, 10, beta=100.0, lam_w=0.5, lam_h=0.4)
    assert abs(float(pred.sigma_min_intra) - 0.991056) <= 5e-7
    assert abs(float(pred.sigma_max_inter) - 0.004422) <= 5e-7


# ======================================================================================
# (b) properties, docs/derivations/neural_collapse.md §6.6
# ======================================================================================

# --- 1-4: metrics ---------------------------------------------------------------------


@given(
    K=st.integers(2, 8),
    extra=st.integers(0, 6),
    seed=st.integers(0, 2**31),
    alpha=st.floats(0.1, 10.0),
)
@example(K=4, extra=6, seed=0, alpha=1.0)
def test_1_simplex_etf(K, extra, seed, alpha):
    d = K + extra
    M = nc.simplex_etf(K, d, rotation=_orthonormal(d, K, seed))
    G = M.T @ M
    np.testing.assert_allclose(np.diag(G), 1.0, atol=EXACT_ATOL, rtol=0)
    off = G[~np.eye(K, dtype=bool)]
    np.testing.assert_allclose(off, -1.0 / (K - 1), atol=EXACT_ATOL, rtol=0)
    np.testing.assert_allclose(M.sum(axis=1), 0.0, atol=EXACT_ATOL)
    assert np.linalg.matrix_rank(M, tol=1e-9) == K - 1
    assert abs(np.sum(M**2) - K) <= EXACT_ATOL * K
    assert nc.nc2(alpha * M) <= EXACT_ATOL


def _random_features(K, d, n, seed, noise=1.0):
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((d, K)) * 3
    return np.repeat(means, n, axis=1) + noise * rng.standard_normal((d, K * n))


@given(
    K=st.integers(2, 8),
    extra=st.integers(0, 6),
    n=st.integers(2, 6),
    seed=st.integers(0, 2**31),
)
def test_2_nc1_zero_on_collapsed_features(K, extra, n, seed):
    H = _random_features(K, K + extra, n, seed, noise=0.0)
    y = _labels(K, n)
    assert 0 <= nc.nc1(H, y) < 1e-12
    assert 0 <= nc.nc1_tilde(H, y) < 1e-12
    Hn = _random_features(K, K + extra, n, seed, noise=1.0)
    assert nc.nc1(Hn, y) > 0 and nc.nc1_tilde(Hn, y) > 0


def _mp_nc1(H, y, K):
    """(1/K) Tr(Sigma_W Sigma_B^+) at 50 digits, with Sigma_B^+ = B (B^T Sigma_B B)^-1
    B^T for B the first K - 1 centred means (a basis of its range)."""
    with mpmath.workdps(50):
        Hm = mpmath.matrix(H.tolist())
        d, N = H.shape
        cols = [[Hm[:, i] for i in range(N) if y[i] == k] for k in range(K)]
        means = [sum(c[1:], c[0]) / len(c) for c in cols]
        glob = sum(Hm[:, i] for i in range(N)) / N
        C = mpmath.matrix(d, K)
        for k in range(K):
            C[:, k] = means[k] - glob
        sigma_b = C * C.T / K
        sigma_w = mpmath.zeros(d, d)
        for i in range(N):
            dev = Hm[:, i] - means[y[i]]
            sigma_w += dev * dev.T / N
        B = C[:, : K - 1]
        pinv = B * mpmath.inverse(B.T * sigma_b * B) * B.T
        return float(sum((sigma_w * pinv)[i, i] for i in range(d)) / K)


@pytest.mark.parametrize("eps", [1e-3, 1e-5, 3e-6])
def test_nc1_with_nearly_collinear_means_to_the_svd_bound(eps):
    """Class means a distance eps off a line: nc1 within 10 eps_mach kappa of a
    50-digit reference, kappa = S_max / S_min of the centred means (the error of their
    SVD). Inverting Sigma_B = C C^T / K instead costs eps_mach kappa^2: at eps = 1e-5,
    2.4e-6 relative with the eigendecomposition, 2.9e-12 with the SVD."""
    K = 3
    H, y = nearly_collinear_features(eps)
    C = np.stack([H[:, y == k].mean(axis=1) for k in range(K)], axis=1)
    S = np.linalg.svd(C - H.mean(axis=1, keepdims=True), compute_uv=False)
    ref = _mp_nc1(H, y, K)
    assert abs(nc.nc1(H, y) - ref) <= 10 * np.finfo(float).eps * S[0] / S[1] * ref


@given(
    K=st.integers(2, 8),
    extra=st.integers(0, 6),
    n=st.integers(2, 6),
    seed=st.integers(0, 2**31),
    c=st.floats(0.1, 10.0),
)
@example(K=4, extra=6, n=5, seed=1, c=3.0)
def test_3_nc1_invariances(K, extra, n, seed, c):
    d = K + extra
    H = _random_features(K, d, n, seed)
    y = _labels(K, n)
    rng = np.random.default_rng(seed + 1)
    Q = _orthonormal(d, d, seed + 2)
    v = rng.standard_normal((d, 1))
    perm_classes = rng.permutation(K)
    order = np.concatenate([rng.permutation(np.flatnonzero(y == k)) for k in range(K)])
    for f in (nc.nc1, nc.nc1_tilde):
        base = f(H, y)
        for H2, y2 in (
            (Q @ H, y),
            (c * H, y),
            (H + v, y),
            (H, perm_classes[y]),
            (H[:, order], y[order]),
        ):
            np.testing.assert_allclose(f(H2, y2), base, rtol=INVARIANCE_RTOL)


@given(
    K=st.integers(2, 8),
    extra=st.integers(0, 6),
    seed=st.integers(0, 2**31),
    alpha=st.floats(0.1, 10.0),
    gamma=st.floats(0.1, 10.0),
    n=st.integers(2, 6),
)
def test_4_nc2_nc3_nc4_zeros(K, extra, seed, alpha, gamma, n):
    d = K + extra
    U = _orthonormal(d, K, seed)
    M = alpha * nc.simplex_etf(K, d, rotation=U)
    assert nc.nc2(M) <= EXACT_ATOL
    assert nc.nc2(alpha * U, frame="of") <= EXACT_ATOL  # equinorm orthogonal frame
    weights = np.random.default_rng(seed).uniform(0.5, 2.0, K)
    assert nc.nc2(U * np.sqrt(weights), frame="gof", weights=weights) <= EXACT_ATOL
    # A shifted ETF: centered means = M, global mean h_G.
    hG = np.random.default_rng(seed + 1).standard_normal(d)
    H = np.repeat(M + hG[:, None], n, axis=1)
    y = _labels(K, n)
    cm = nc.class_means(H, y)
    np.testing.assert_allclose(cm.centered, M, atol=1e-10)
    assert nc.nc3(gamma * cm.centered.T, cm.centered) <= EXACT_ATOL
    W = cm.centered.T
    assert nc.nc4(H, y, W, -W @ cm.global_mean) == 0.0
    rng = np.random.default_rng(seed + 2)
    for _ in range(3):
        A, B = rng.standard_normal((d, K)), rng.standard_normal((K, d))
        assert 0 <= nc.nc2(A) <= 2 and 0 <= nc.nc2(A, frame="of") <= 2
        assert 0 <= nc.nc3(B, A) <= 2


def test_nc_metric_conventions_by_hand():
    # Two classes in R^2 (hand computation): S_W = diag(.5,.5), S_B has the single
    # eigenvalue 4.5 along (1,-1)/sqrt 2.
    H = np.array([[1.0, 3.0, -1.0, -1.0], [0.0, 0.0, 2.0, 4.0]])
    y = [0, 0, 1, 1]
    assert abs(nc.nc1_tilde(H, y) - 1 / 4.5) <= EXACT_ATOL
    assert abs(nc.nc1(H, y) - 0.5 * 0.5 / 4.5) <= EXACT_ATOL
    # NC4: a classifier that swaps the classes mismatches every sample.
    assert nc.nc4(H, y, np.array([[-1.0, 1.0], [1.0, -1.0]])) == 1.0
    # NC2 of opposite unit vectors: the Gram is exactly the ETF shape.
    assert nc.nc2(np.array([[1.0, -1.0], [0.0, 0.0]])) <= EXACT_ATOL


# --- 5-6: Theorem 2.1 and Corollary 2.2 -----------------------------------------------


def _ufm_fg(x, K, n, d, lw, lh, beta=0.0, H0=None):
    W = x[: K * d].reshape(K, d)
    H = x[K * d :].reshape(d, K * n)
    Y = np.kron(np.eye(K), np.ones((1, n)))
    N = K * n
    R = W @ H - Y
    f = (
        0.5 * np.sum(R**2) / N
        + 0.5 * lw / K * np.sum(W**2)
        + 0.5 * lh / N * np.sum(H**2)
    )
    gW = R @ H.T / N + lw / K * W
    gH = (W.T @ R + lh * H) / N
    if beta > 0:
        f += 0.5 * beta / N * np.sum((H - H0) ** 2)
        gH = gH + beta * (H - H0) / N
    return f, np.concatenate([gW.ravel(), gH.ravel()])


ufm_sizes = st.tuples(st.integers(2, 5), st.integers(0, 3), st.integers(2, 4))


@settings(max_examples=5)
@given(sizes=ufm_sizes, lw=lam_st(), lh=lam_st(), seed=st.integers(0, 2**31))
@example(sizes=(4, 0, 5), lw=0.3, lh=0.5, seed=0)
def test_5_theorem_21_closed_form(sizes, lw, lh, seed):
    m, K, n, d = _rotated_minimizer(sizes, lw, lh, seed)
    gW, gH = nc.ufm_gradient(m.W, m.H, K=K, lam_w=lw, lam_h=lh)
    assert max(abs(gW).max(), abs(gH).max()) <= STATIONARY_ATOL
    f_star = nc.ufm_objective(m.W, m.H, K=K, lam_w=lw, lam_h=lh)
    assert abs(f_star - m.objective) <= EXACT_ATOL
    rng = np.random.default_rng(seed)
    for _ in range(3):
        x0 = rng.standard_normal(K * d + d * K * n)
        res = _lbfgs(lambda x: _ufm_fg(x, K, n, d, lw, lh), x0)
        assert f_star <= res.fun + LBFGS_VALUE_ATOL
    if m.c <= 1:
        np.testing.assert_allclose(
            nc.optimal_classifier(m.H, K=K, lam_w=lw), m.W, atol=1e-12
        )
        np.testing.assert_allclose(
            m.W @ m.H, (1 - m.c) * np.kron(np.eye(K), np.ones((1, n))), atol=1e-12
        )
    else:
        assert not m.W.any() and not m.H.any()


def test_5_zero_minimizer_above_c_one():
    m = nc.ufm_minimizer(3, 2, 4, lam_w=2.0, lam_h=0.9)  # c = sqrt(1.8) > 1
    assert m.c > 1 and m.objective == 0.5
    assert not m.W.any() and not m.H.any()
    res = _lbfgs(
        lambda x: _ufm_fg(x, 3, 2, 4, 2.0, 0.9),
        np.random.default_rng(0).standard_normal(12 + 24),
    )
    assert res.fun >= 0.5 - LBFGS_VALUE_ATOL


@settings(max_examples=10)
@given(
    sizes=ufm_sizes,
    lw=lam_st(),
    lh=lam_st(),
    beta=lam_st(-1, 2),
    seed=st.integers(0, 2**31),
)
@example(sizes=(4, 2, 3), lw=0.5, lh=0.4, beta=1.0, seed=0)
def test_6_corollary_22(sizes, lw, lh, beta, seed):
    assume(lw * lh < 0.8)
    m, K, n, d = _rotated_minimizer(sizes, lw, lh, seed)
    rng = np.random.default_rng(seed)
    start = m.H + 0.05 * rng.standard_normal(m.H.shape)
    H = _prox(m.H, K, n, lw, lh, beta, start=start)
    Y = np.kron(np.eye(K), np.ones((1, n)))
    W = np.linalg.solve(H @ H.T + n * lw * np.eye(d), H @ Y.T).T
    np.testing.assert_allclose(H, m.H, atol=COR22_ATOL, rtol=0)
    np.testing.assert_allclose(W, m.W, atol=COR22_ATOL, rtol=0)


# --- 7-8: Theorem 3.1 and Corollary 3.2 -----------------------------------------------


# (K, d - K, n), the two ridges and the seed of a random start H0 (checks 7-8).
FLOW_CASE = {
    "sizes": st.tuples(st.integers(2, 4), st.integers(0, 3), st.integers(2, 4)),
    "lw": lam_st(),
    "lh": lam_st(),
    "seed": st.integers(0, 2**31),
}


def _flow_start(sizes, seed):
    """``K``, ``n`` and a standard-normal start ``H0`` of shape ``(d, K n)``."""
    K, extra, n = sizes
    return K, n, np.random.default_rng(seed).standard_normal((K + extra, K * n))


@settings(max_examples=10)
@given(**FLOW_CASE)
@example(sizes=(3, 3, 4), lw=0.2, lh=0.1, seed=0)  # the §6.1 check
# e^{2 lam_H t} Tr Sigma_B rises by less than the Euler path's extra decay
# e^{-lam_H^2 dt t} at lam_W = 1e-3, lam_H = 1 (found by the random profile).
@example(sizes=(2, 2, 2), lw=0.001, lh=1.0, seed=370593)
def test_7_theorem_31_along_the_flow(sizes, lw, lh, seed):
    K, _, H0 = _flow_start(sizes, seed)
    t = np.linspace(0.0, 1.0, 21)
    dt = 1e-3
    path = nc.central_path_flow(H0, K=K, lam_w=lw, lam_h=lh, t=t, dt=dt, method="euler")
    assert np.all(np.diff(path.nc1_tilde) < 0)
    scaled_w = np.exp(2 * lh * t) * path.tr_sigma_w
    # Non-increasing: a rise may only be rounding of a constant (never here).
    assert np.all(np.diff(scaled_w) <= 1e-12 * scaled_w[:-1])
    # An Euler step H + h(G(H) - lam_H H) shrinks H by (1 - lam_H h), not e^{-lam_H h};
    # with that factor the between-class part rises at every step: the step adds
    # a first-order term >= 0 (the theorem) and a square.
    steps = np.ceil(np.diff(t) / dt - 1e-9)
    shrink = np.concatenate([[1.0], np.cumprod((1 - lh * np.diff(t) / steps) ** steps)])
    scaled_b = path.tr_sigma_b / shrink**2
    assert np.all(np.diff(scaled_b) > 0)
    # The exact derivatives at every checkpoint have the signs the proof gives.
    for H in path.H:
        r = nc.central_path_rates(H, K=K, lam_w=lw, lam_h=lh)
        assert r.d_nc1_tilde < 0
        assert r.d_tr_sigma_w + 2 * lh * r.tr_sigma_w <= 1e-12 * r.tr_sigma_w
        assert r.d_tr_sigma_b + 2 * lh * r.tr_sigma_b > 0


def test_7_rk4_against_euler_and_rates():
    H0 = np.random.default_rng(3).standard_normal((6, 12))
    kw = {"K": 3, "lam_w": 0.2, "lam_h": 0.1}
    rk = nc.central_path_flow(H0, t=[0.5], dt=1e-2, **kw)
    fine = nc.central_path_flow(H0, t=[0.5], dt=1e-3, **kw)
    eu = nc.central_path_flow(H0, t=[0.5], dt=1e-4, method="euler", **kw)
    assert np.abs(rk.H - fine.H).max() < 1e-9  # RK4 error O(dt^4)
    assert np.abs(eu.H - fine.H).max() < 1e-3 * np.abs(fine.H).max()  # Euler O(dt)
    # central_path_rates = finite difference of the traces along the flow.
    h = 1e-4
    a = nc.central_path_flow(H0, t=[h], dt=h / 4, **kw)
    r = nc.central_path_rates(H0, **kw)
    b0 = nc.central_path_flow(H0, t=[0.0], **kw)
    assert abs((a.nc1_tilde[0] - b0.nc1_tilde[0]) / h - r.d_nc1_tilde) < 1e-3 * abs(
        r.d_nc1_tilde
    )


def _prox(H0, K, n, lw, lh, beta, iters=50_000, start=None):
    """argmin f(.; H0) by alternating exact block minimization (numpy reference).

    Each block update is an exact minimization, so f decreases monotonically; the
    iteration stops when H no longer changes at float64 resolution.
    """
    d = H0.shape[0]
    Y = np.kron(np.eye(K), np.ones((1, n)))
    H = H0.copy() if start is None else start.copy()
    for _ in range(iters):
        W = np.linalg.solve(H @ H.T + n * lw * np.eye(d), H @ Y.T).T
        Hn = np.linalg.solve(W.T @ W + (lh + beta) * np.eye(d), W.T @ Y + beta * H0)
        if np.abs(Hn - H).max() <= 1e-15 * np.abs(Hn).max():
            return Hn
        H = Hn
    return H


@settings(max_examples=10)
@given(**FLOW_CASE, beta=st.sampled_from([1e3, 1e4]))
@example(sizes=(3, 5, 6), lw=0.2, lh=0.05, seed=0, beta=1e3)  # the §6.1 check
def test_8_corollary_32(sizes, lw, lh, seed, beta):
    K, n, H0 = _flow_start(sizes, seed)
    y = _labels(K, n)
    Hb = _prox(H0, K, n, lw, lh, beta)
    assert nc.nc1_tilde(Hb, y) < nc.nc1_tilde(H0, y)


# --- 9-11: Theorems 4.1 and 4.2 ----------------------------------------------------


@settings(max_examples=10)
@given(
    sizes=ufm_sizes,
    lw=lam_st(),
    lh=lam_st(),
    beta=lam_st(1, 3),
    seed=st.integers(0, 2**31),
)
@example(sizes=(4, 6, 3), lw=0.5, lh=0.4, beta=100.0, seed=0)
def test_9_theorem_41_against_finite_differences(sizes, lw, lh, beta, seed):
    assume(lw * lh < 0.8)
    m, K, n, d = _rotated_minimizer(sizes, lw, lh, seed)
    op = nc.perturbation_operator(m.W, m.H, K=K, beta=beta, lam_w=lw, lam_h=lh)
    rng = np.random.default_rng(seed)
    delta = rng.standard_normal(m.H.shape)
    eps = 1e-5  # central differences: O(eps^2) truncation, O(1e-16/eps) rounding
    Yk = np.kron(np.eye(K), np.ones((1, n)))
    ends = []
    for sign in (1, -1):
        Ht = _prox(m.H + sign * eps * delta, K, n, lw, lh, beta)
        Wt = np.linalg.solve(Ht @ Ht.T + n * lw * np.eye(d), Ht @ Yk.T).T
        ends.append((Ht, Wt))
    dH = ((ends[0][0] - ends[1][0]) / (2 * eps)).ravel(order="F")
    dW = ((ends[0][1] - ends[1][1]) / (2 * eps)).ravel(order="F")
    vec = delta.ravel(order="F")
    for measured, predicted in ((dH, op.F @ vec), (dW, op.G @ vec)):
        gap = np.linalg.norm(measured - predicted)
        assert gap <= THM41_RTOL * np.linalg.norm(predicted)


def _thm42_errors(K, n, d, lw, lh, beta):
    m = nc.ufm_minimizer(K, n, d, lam_w=lw, lam_h=lh)
    F = nc.perturbation_operator(m.W, m.H, K=K, beta=beta, lam_w=lw, lam_h=lh).F
    bs = nc.block_singular_values(F, K=K)
    pred = nc.near_collapse_spectrum(K, n, d, beta=beta, lam_w=lw, lam_h=lh)
    off = bs.inter[~np.eye(K, dtype=bool)]
    kappa_meas = np.sort(beta * (1 - bs.intra), axis=-1)
    kappa_pred = np.sort(beta * (1 - pred.sv_intra))
    return {
        "max_intra": abs(bs.intra.max() - 1.0),
        "min": abs(beta * (1 - bs.intra.min()) - np.sqrt(lh / lw)),
        "inter": abs(beta * off[:, 0].max() - 2 * lh * (1 - np.sqrt(lh * lw))),
        "rank2": off[:, 1].max() if off.shape[1] > 1 else 0.0,
        "levels": np.abs(kappa_meas - kappa_pred).max(),
    }


@settings(max_examples=15)
@given(
    sizes=st.tuples(st.integers(2, 5), st.integers(1, 4), st.integers(2, 4)),
    lw=lam_st(),
    lh=lam_st(),
)
@example(sizes=(4, 6, 10), lw=0.5, lh=0.4)
def test_10_theorem_42_error_shrinks_like_one_over_beta(sizes, lw, lh):
    K, extra, n = sizes
    assume(np.sqrt(lw * lh) < 0.9)
    d = K + extra
    e3 = _thm42_errors(K, n, d, lw, lh, 1e3)
    e4 = _thm42_errors(K, n, d, lw, lh, 1e4)
    for e in (e3, e4):
        assert e["max_intra"] <= 1e-10  # d > K: the rotation direction, exactly 1
        assert e["rank2"] <= 1e-10  # F_kk~ has rank one
    # beta * (1 - sigma) -> kappa with error O(1/beta): 10x larger beta, ~10x smaller
    # error (a slope of -1 in log-log; allow 7x-13x for the O(1/beta^2) remainder),
    # unless the error is already at the rounding floor (beta * 1e-13).
    for key in ("min", "inter", "levels"):
        if e3[key] > 1e-8:
            ratio = e3[key] / e4[key]
            assert 7.0 <= ratio <= 13.0, (key, e3[key], e4[key])
        else:
            assert e4[key] <= 1e-8


@settings(max_examples=10)
@given(lw=lam_st(), lh=lam_st())
@example(lw=0.5, lh=0.4)
def test_11_monotonicity_in_the_regularization(lw, lh):
    assume(np.sqrt(lw * lh) < 0.8)
    K, n, d, beta = 3, 3, 5, 1e3
    h = 1e-3

    def blocks(lw_, lh_):
        m = nc.ufm_minimizer(K, n, d, lam_w=lw_, lam_h=lh_)
        F = nc.perturbation_operator(m.W, m.H, K=K, beta=beta, lam_w=lw_, lam_h=lh_).F
        bs = nc.block_singular_values(F, K=K)
        return bs.intra.min(), np.nanmax(bs.inter[..., 0])

    base_min, base_inter = blocks(lw, lh)
    up_h_min, _ = blocks(lw, lh * (1 + h))
    up_w_min, up_w_inter = blocks(lw * (1 + h), lh)
    assert up_h_min < base_min  # d sigma_min(F_kk) / d lambda_H < 0
    assert up_w_min > base_min  # d sigma_min(F_kk) / d lambda_W > 0
    assert up_w_inter < base_inter  # d sigma_max(F_kk~) / d lambda_W < 0
    p = nc.near_collapse_spectrum(K, n, d, beta=beta, lam_w=lw, lam_h=lh)
    q = nc.near_collapse_spectrum(K, n, d, beta=beta, lam_w=lw * (1 + h), lam_h=lh)
    assert (
        q.sigma_max_inter < p.sigma_max_inter and q.sigma_min_intra > p.sigma_min_intra
    )


# ======================================================================================
# (c) validation
# ======================================================================================


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: nc.simplex_etf(1), "K"),
        (lambda: nc.simplex_etf(4, 3), "d=3"),
        (lambda: nc.simplex_etf(2, 10**12), "d=1000000000000"),
        (lambda: nc.nc1(np.ones((3, 4)), [0, 0, 1, 1]), "coincide"),
        (lambda: nc.nc1_tilde(np.ones((3, 4)), [0, 0, 1, 1]), "coincide"),
        (lambda: nc.ufm_minimizer(3, 2, 2, lam_w=0.1, lam_h=0.1), "d=2"),
        (lambda: nc.ufm_minimizer(3, 2, 4, lam_w=0.0, lam_h=0.1), "lam_w"),
        (lambda: nc.ufm_minimizer(3, 2, 4, lam_w=0.1, lam_h=-1.0), "lam_h"),
        (lambda: nc.ufm_minimizer(3, 0, 4, lam_w=0.1, lam_h=0.1), "n"),
        (lambda: nc.deep_linear_mse_minimizer([5], depth=1, lam_w=1, lam_h=1), "K"),
        (
            lambda: nc.deep_linear_mse_minimizer([5, 0], depth=1, lam_w=1, lam_h=1),
            "class sizes",
        ),
        (
            lambda: nc.deep_linear_mse_minimizer([5, 5], depth=0, lam_w=1, lam_h=1),
            "depth",
        ),
        (
            lambda: nc.deep_linear_mse_minimizer(
                [5, 5], depth=2, lam_w=[1, 2, 3], lam_h=1
            ),
            "lam_w",
        ),
        (
            lambda: nc.deep_linear_mse_minimizer([5, 5], depth=2, lam_w=1, lam_h=0),
            "lam_h",
        ),
        (
            lambda: nc.deep_linear_mse_minimizer(
                [5, 4], depth=1, lam_w=1, lam_h=1, bias=True
            ),
            "bias",
        ),
        (lambda: nc.nc1(np.ones((3, 4)), [0, 1, 1]), "labels"),
        (lambda: nc.nc1(np.ones((3, 4)), [0, 0, 2, 2]), "class 1"),
        (lambda: nc.nc1(np.ones((1, 4)), [0, 1, 0, 1]), "d=1"),
        (lambda: nc.nc1_tilde(np.ones((3, 4)), [0, 0, 0, 0]), "K"),
        (lambda: nc.near_collapse_spectrum(3, 2, 4, beta=10, lam_w=2, lam_h=1), "< 1"),
        (
            lambda: nc.central_path_flow(np.ones((3, 5)), K=2, lam_w=1, lam_h=1, t=[1]),
            "multiple",
        ),
        (lambda: nc.deep_linear_ce_etf(1, 5, depth=1, lam_w=1, lam_h=1), "K"),
    ],
)
def test_bad_input_raises_value_error_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_outputs_are_float64():
    s = nc.deep_linear_mse_minimizer([3, 2], depth=2, lam_w=1e-2, lam_h=1e-2)
    assert s.a2.dtype == np.float64 and s.layer_sv2.dtype == np.float64
    m = nc.ufm_minimizer(2, 2, 3, lam_w=0.5, lam_h=0.5)
    assert m.W.dtype == np.float64 and m.H.dtype == np.float64


@pytest.mark.parametrize(
    ("lam_w", "lam_h"),
    [
        (0.999999999999, 0.999999999999),
        (4.0, 0.24999999999975),
        (1e6, 9.99999999999e-07),
        (0.3, 3.3333333333333),
        (0.5, 0.4),
    ],
)
def test_ufm_minimizer_as_c_tends_to_one(lam_w, lam_h):
    """rho = (1 - c) sqrt(lam_w/lam_h), |w|^2 = (1 - c) sqrt(lam_h/lam_w), w.h = 1 - c
    and the Theorem 4.2 level 2 lam_h (1 - c) against 50 digits at the float inputs,
    with 1 - c down to 5e-15."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 50
    lw, lh = mp.mpf(lam_w), mp.mpf(lam_h)
    gap = 1 - mp.sqrt(lw * lh)
    m = nc.ufm_minimizer(4, 5, 6, lam_w=lam_w, lam_h=lam_h)
    want = {
        "rho": gap * mp.sqrt(lw / lh),
        "w_norm2": gap * mp.sqrt(lh / lw),
        "wh": gap,
    }
    for name, w in want.items():
        got = mp.mpf(float(getattr(m, name)))
        assert abs(got - w) <= NC_ONE_MINUS_C_RTOL * w, (name, float(got), float(w))
    s = nc.near_collapse_spectrum(4, 5, 6, beta=1.0, lam_w=lam_w, lam_h=lam_h)
    got = mp.mpf(float(s.kappa[3]))
    assert abs(got - 2 * lh * gap) <= NC_ONE_MINUS_C_RTOL * 2 * lh * gap


def test_nc1_tilde_rate_does_not_depend_on_lam_h():
    """The weight decay -lam_h H of the flow scales H and leaves NC1~ alone, so its rate
    cannot depend on lam_h (Theorem 3.1's flow; derivations §2). Formed from the whole
    velocity it cancelled, off by 7.7e-8 relative at lam_h = 1e8."""
    H = np.random.default_rng(1).standard_normal((6, 12))
    rates = [
        nc.central_path_rates(H, K=3, lam_w=0.2, lam_h=lh).d_nc1_tilde
        for lh in (0.0, 1.0, 1e4, 1e8)
    ]
    np.testing.assert_array_equal(rates, rates[0])


@pytest.mark.parametrize(("lam_w", "lam_h"), [(1e150, 1e-200), (1e-200, 1e150)])
def test_near_collapse_level_sqrt_ratio_at_extreme_decays(lam_w, lam_h):
    """The level kappa = sqrt(lam_h/lam_w) of Theorem 4.2 at ratios beyond float64
    (1e-350, 1e350) but a representable root: it underflowed to 0 or raised."""
    s = nc.near_collapse_spectrum(4, 5, 6, beta=1e300, lam_w=lam_w, lam_h=lam_h)
    want = 10.0 ** ((np.log10(lam_h) - np.log10(lam_w)) / 2)
    np.testing.assert_allclose(s.kappa[2], want, rtol=F64_RTOL)
