r"""Tests of the deep linear UFM of :mod:`theory.neural_collapse` (Paper B,
arXiv:2301.00437; reference values and their sources in
``docs/derivations/neural_collapse.md`` §6, "§" below). The metrics and Paper A are
tested in ``test_neural_collapse.py``.

(a) exact values with provenance: the §6.3 table, the §6.4 counter-example, the
    §6.5 CE table, the §6.4 cross-paper mapping;
(b) hypothesis properties 12-16 of §6.6, with ``@example`` at the papers' values.

Independent references used here share no code with ``theory``: scipy L-BFGS on the
objectives (deep linear gradients by torch autograd), brute-force grids.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests._tolerances import NC_CE_ATOL as CE_ATOL
from tests._tolerances import NC_DEEP_RTOL as DEEP_RTOL
from tests._tolerances import NC_EXACT_ATOL as EXACT_ATOL
from tests._tolerances import NC_EXTREME_RTOL as EXTREME_RTOL
from tests._tolerances import NC_STATIONARY_ATOL as STATIONARY_ATOL
from tests._tolerances import NC_TABLE_ATOL as TABLE_ATOL
from tests._tolerances import NC_THRESHOLD_ROUNDINGS
from tests.theory._nc_helpers import _lbfgs

# autouse: one BLAS/torch thread for every test of this module
from tests.theory._nc_helpers import _one_thread  # noqa: F401
from tests.theory._nc_helpers import lam_st
from theory import neural_collapse as nc

# ======================================================================================
# (a) exact values with provenance
# ======================================================================================

# §6.3 (ours; L-BFGS agrees to 2e-6): lambda_W = lambda_H = 5e-4, width 64.
TABLE_BALANCED = {  # M: (a^2, |hbar|^2, w.hbar, s^2, objective), classes 4 x 100
    1: (9.8, 0.098, 0.98, 9.8, 0.0198000),
    2: (21.277263, 0.046127, 0.990688, 4.612728, 0.0138815),
    3: (31.322298, 0.031522, 0.993655, 3.152230, 0.0126291),
    6: (51.451414, 0.019286, 0.996128, 1.928559, 0.0135074),
    9: (62.735275, 0.015839, 0.996822, 1.583885, 0.0158439),
}
TABLE_IMBALANCED = {  # M: (a^2, |hbar|^2, w.hbar, s^2, objective), 200, 100, 50, 50
    1: (
        (13.942136, 9.8, 6.871068),
        (0.069711, 0.098, 0.137421),
        (0.985858, 0.98, 0.971716),
        (13.942136, 9.8, 6.871068),
        0.0189421,
    ),
    2: (
        (33.932591, 21.277263, 13.304756),
        (0.029126, 0.046127, 0.072951),
        (0.99414, 0.990688, 0.98519),
        (5.825169, 4.612728, 3.647568),
        0.0133466,
    ),
    3: (
        (52.882676, 31.322298, 18.502206),
        (0.018768, 0.031522, 0.052898),
        None,
        (3.753512, 3.15223, 2.644891),
        0.0122184,
    ),
    6: (
        (93.480337, 51.451414, 28.249295),
        (0.010652, 0.019286, 0.034903),
        None,
        (2.130362, 1.928559, 1.745157),
        0.0132204,
    ),
    9: (
        (117.380558, 62.735275, 33.451306),
        (0.00849, 0.015839, 0.02954),
        None,
        None,
        0.0155963,
    ),
}


@pytest.mark.parametrize("M", sorted(TABLE_BALANCED))
def test_reference_table_balanced(M):
    a2, h2, wh, s2, obj = TABLE_BALANCED[M]
    s = nc.deep_linear_mse_minimizer([100] * 4, depth=M, lam_w=5e-4, lam_h=5e-4)
    np.testing.assert_allclose(s.a2, a2, rtol=0, atol=TABLE_ATOL)
    np.testing.assert_allclose(s.mean_norm2, h2, rtol=0, atol=TABLE_ATOL)
    np.testing.assert_allclose(s.wh, wh, rtol=0, atol=TABLE_ATOL)
    np.testing.assert_allclose(s.layer_sv2, s2, rtol=0, atol=TABLE_ATOL)
    assert abs(s.objective - obj) <= TABLE_ATOL
    assert np.all(s.residual <= 1e-12)


@pytest.mark.parametrize("M", sorted(TABLE_IMBALANCED))
def test_reference_table_imbalanced(M):
    a2, h2, wh, s2, obj = TABLE_IMBALANCED[M]
    s = nc.deep_linear_mse_minimizer(
        [200, 100, 50, 50], depth=M, lam_w=5e-4, lam_h=5e-4
    )
    expand = [0, 1, 2, 2]  # the table writes "x2" for the two classes of 50
    np.testing.assert_allclose(s.a2, np.asarray(a2)[expand], atol=TABLE_ATOL, rtol=0)
    np.testing.assert_allclose(
        s.mean_norm2, np.asarray(h2)[expand], atol=TABLE_ATOL, rtol=0
    )
    if wh is not None:
        np.testing.assert_allclose(
            s.wh, np.asarray(wh)[expand], atol=TABLE_ATOL, rtol=0
        )
    if s2 is not None:
        np.testing.assert_allclose(
            s.layer_sv2[0], np.asarray(s2)[expand], atol=TABLE_ATOL, rtol=0
        )
    assert abs(s.objective - obj) <= TABLE_ATOL


def test_reference_cifar_imbalanced_targets():
    # §6.3, last paragraph: n_k = 100,100,...,500,500 (N = 3000), lambda = 1e-5.
    n = [100, 100, 200, 200, 300, 300, 400, 400, 500, 500]
    m1 = nc.deep_linear_mse_minimizer(n, depth=1, lam_w=1e-5, lam_h=1e-5).a2
    np.testing.assert_allclose(
        m1[::2], [9.97, 14.112, 17.291, 19.97, 22.331], atol=5e-3, rtol=0
    )
    for M, (lo, hi) in {3: (31.58, 105.69), 6: (51.74, 205.73)}.items():
        a2 = nc.deep_linear_mse_minimizer(n, depth=M, lam_w=1e-5, lam_h=1e-5).a2
        np.testing.assert_allclose([a2[0], a2[-1]], [lo, hi], atol=5e-3, rtol=0)


def test_counterexample_picks_the_global_zero_branch():
    # Issue 4 / §6.4: K=2, n=[200, 50], M=2, lambda = 0.022958: class 2 at zero.
    s = nc.deep_linear_mse_minimizer([200, 50], depth=2, lam_w=0.022958, lam_h=0.022958)
    assert s.a2[1] == 0.0 and not s.nonzero[1] and s.nonzero[0]
    code = nc.deep_linear_mse_minimizer(
        [200, 50], depth=2, lam_w=0.022958, lam_h=0.022958, branch="largest_root"
    )
    assert code.a2[1] > 0 and code.objective > s.objective
    # The §6.4 numbers are at b/n_2 = 0.55 exactly: lambda^3 = 1.21e-5, printed
    # 0.022958: a_2^2 = 4.63681 and loss 0.2941383 (code), 0.2893897 (zero branch).
    lam = 1.21e-5 ** (1 / 3)
    code = nc.deep_linear_mse_minimizer(
        [200, 50], depth=2, lam_w=lam, lam_h=lam, branch="largest_root"
    )
    best = nc.deep_linear_mse_minimizer([200, 50], depth=2, lam_w=lam, lam_h=lam)
    assert abs(code.a2[1] - 4.63681) <= 5e-6
    assert abs(code.objective - 0.2941383) <= 5e-8
    assert abs(best.objective - 0.2893897) <= 5e-8
    # Both points are stationary (§6.4: |grad| < 1e-8 at both).
    for branch in ("global", "largest_root"):
        p = nc.deep_linear_mse_point(
            [200, 50], depth=2, lam_w=lam, lam_h=lam, width=3, branch=branch
        )
        assert _deep_grad_norm(p, lam, lam, "mse") < 1e-10


def test_ce_etf_reference_table():
    # §6.5 (ours): K=4, n=20, lambda_W = lambda_H, the ETF column.
    cases = {
        (1, 5e-3): 0.319722,
        (2, 5e-3): 0.198177,
        (3, 5e-3): 0.160882,
        (3, 1e-3): 0.036280,
        (3, 1e-4): 0.004135,
    }
    for (M, lam), value in cases.items():
        e = nc.deep_linear_ce_etf(4, 20, depth=M, lam_w=lam, lam_h=lam)
        assert abs(e.objective - value) <= 5e-7
        assert e.nonzero


def test_cross_paper_mapping_reproduces_theorem_21():
    # §6.4 (ours): M=1, balanced, lambda_W^B = lambda_W^A/K, lambda_H^B =
    # lambda_H^A/(Kn): a^2 = 0.790994, rho = 0.474597 at (lambda_W^A, lambda_H^A) =
    # (0.3, 0.5), K=4, n=5.
    K, n, lw, lh = 4, 5, 0.3, 0.5
    s = nc.deep_linear_mse_minimizer([n] * K, depth=1, lam_w=lw / K, lam_h=lh / (K * n))
    m = nc.ufm_minimizer(K, n, K, lam_w=lw, lam_h=lh)
    np.testing.assert_allclose(s.a2, m.w_norm2, rtol=1e-13)
    np.testing.assert_allclose(s.mean_norm2, m.rho, rtol=1e-13)
    np.testing.assert_allclose(s.wh, m.wh, rtol=1e-13)
    assert abs(m.w_norm2 - 0.790994) <= 5e-7 and abs(m.rho - 0.474597) <= 5e-7


# ======================================================================================
# (b) properties, docs/derivations/neural_collapse.md §6.6
# ======================================================================================

# --- 12-15: deep linear MSE -----------------------------------------------------------


def _deep_objective_torch(params, labels, K, M, lam_w, lam_h, loss, bias):
    Ws, H, b = params[:M], params[M], params[M + 1] if bias else None
    out = H
    for w in Ws:
        out = w @ out
    if b is not None:
        out = out + b[:, None]
    N = H.shape[1]
    if loss == "mse":
        Y = torch.nn.functional.one_hot(labels, K).T.double()
        data = 0.5 * ((out - Y) ** 2).sum() / N
    else:
        data = torch.nn.functional.cross_entropy(out.T, labels)
    reg = 0.5 * sum(lam_w * (w * w).sum() for w in Ws) + 0.5 * lam_h * (H * H).sum()
    return data + reg


def _deep_lbfgs(sizes, M, d, lam, loss="mse", bias=False, seed=0, std=0.5):
    K, N = len(sizes), int(sum(sizes))
    labels = torch.as_tensor(np.repeat(np.arange(K), sizes))
    shapes = [(d, d)] * (M - 1) + [(K, d), (d, N)] + ([(K,)] if bias else [])
    splits = np.cumsum([int(np.prod(s)) for s in shapes])[:-1]

    def unpack(x):
        t = torch.as_tensor(x, dtype=torch.float64).requires_grad_()
        parts = [
            p.reshape(s)
            for p, s in zip(torch.tensor_split(t, list(splits)), shapes, strict=True)
        ]
        return t, parts

    def fg(x):
        t, parts = unpack(x)
        v = _deep_objective_torch(parts, labels, K, M, lam, lam, loss, bias)
        (g,) = torch.autograd.grad(v, t)
        return float(v.detach()), g.numpy().copy()

    x0 = std * np.random.default_rng(seed).standard_normal(
        splits[-1] + int(np.prod(shapes[-1]))
    )
    res = _lbfgs(fg, x0, gtol=1e-13)
    _, parts = unpack(res.x)
    parts = [p.detach().numpy() for p in parts]
    return res, parts[:M], parts[M], (parts[M + 1] if bias else None), labels.numpy()


def _deep_grad_norm(point, lam_w, lam_h, loss):
    K = point.weights[-1].shape[0]
    M = len(point.weights)
    params = [torch.tensor(w, requires_grad=True) for w in point.weights]
    params.append(torch.tensor(point.H, requires_grad=True))
    bias = bool(np.any(point.b))
    if bias:
        params.append(torch.tensor(point.b, requires_grad=True))
    labels = torch.as_tensor(point.labels)
    v = _deep_objective_torch(params, labels, K, M, lam_w, lam_h, loss, bias)
    grads = torch.autograd.grad(v, params)
    return max(float(g.abs().max()) for g in grads)


deep_sizes = st.lists(st.integers(2, 8), min_size=2, max_size=4)


@settings(max_examples=4)
@given(
    sizes=deep_sizes,
    M=st.integers(1, 3),
    lam=lam_st(-3, -1.5),
    seed=st.integers(0, 2**31),
)
@example(sizes=[8, 4, 2, 2], M=2, lam=1e-2, seed=0)
def test_12_deep_linear_closed_form_against_lbfgs(sizes, M, lam, seed):
    n = np.asarray(sizes)
    N, K = n.sum(), n.size
    # branch-safe: every class well inside the non-zero region.
    s = nc.deep_linear_mse_minimizer(n, depth=M, lam_w=lam, lam_h=lam)
    b = M * N * (N * lam**M * lam) ** (1 / M)
    assume(np.all(b / n < 0.6 * nc.nonzero_threshold(M)))
    d = K + 1
    res, Ws, H, _, y = _deep_lbfgs(n, M, d, lam, seed=seed)
    assume(res.fun <= s.objective + 1e-6)  # L-BFGS found the global basin
    W = Ws[-1]
    for w in reversed(Ws[:-1]):
        W = W @ w
    G = W @ W.T
    np.testing.assert_allclose(np.diag(G), s.a2, rtol=DEEP_RTOL)
    assert np.abs(G - np.diag(np.diag(G))).max() <= DEEP_RTOL * G.max()
    means = nc.class_means(H, y).means
    np.testing.assert_allclose(
        means.T @ means, s.gram_h, atol=DEEP_RTOL * s.gram_h.max()
    )
    np.testing.assert_allclose(W @ means, s.w_hbar, atol=DEEP_RTOL)
    np.testing.assert_allclose(
        W, (s.a2 + N * lam)[:, None] * means.T, atol=DEEP_RTOL * np.abs(W).max()
    )
    assert nc.nc1(H, y) < 1e-10
    layer_energy = [lam * np.linalg.svd(w, compute_uv=False)[:K] ** 2 for w in Ws]
    np.testing.assert_allclose(
        np.sort(layer_energy, axis=1),
        np.sort(np.repeat(layer_energy[:1], M, 0), axis=1),
        atol=DEEP_RTOL * max(layer_energy[0].max(), 1e-12),
    )


@settings(max_examples=15)
@given(sizes=deep_sizes, M=st.integers(1, 4), lam=lam_st(-4, -1))
@example(sizes=[200, 100, 50, 50], M=3, lam=5e-4)
def test_14_structure(sizes, M, lam):
    n = np.asarray(sizes)
    s = nc.deep_linear_mse_minimizer(n, depth=M, lam_w=lam, lam_h=lam)
    order = np.argsort(n, kind="stable")
    assert np.all(np.diff(s.a2[order]) >= -1e-12 * s.a2.max())  # a_k non-decreasing
    N = n.sum()
    np.testing.assert_allclose(
        s.gram_h, np.diag(s.a2 / (s.a2 + N * lam) ** 2), atol=1e-15
    )
    np.testing.assert_allclose(s.w_hbar, np.diag(s.a2 / (s.a2 + N * lam)), atol=1e-15)
    if M == 1:
        on = s.a2 > 0
        np.testing.assert_allclose(
            s.a2[on] / s.mean_norm2[on], n[on] * lam / lam, rtol=1e-12
        )
    # equal per-layer lambda_l sigma_l^2, also with unequal layer decays
    lws = np.geomspace(lam, 4 * lam, M)
    u = nc.deep_linear_mse_minimizer(n, depth=M, lam_w=lws, lam_h=lam)
    energy = lws[:, None] * u.layer_sv2
    np.testing.assert_allclose(energy, np.repeat(energy[:1], M, 0), rtol=1e-12)
    np.testing.assert_allclose(np.prod(u.layer_sv2, axis=0), u.a2, rtol=1e-12)
    gbar = nc.deep_linear_mse_minimizer(
        n, depth=M, lam_w=float(np.exp(np.log(lws).mean())), lam_h=lam
    )
    np.testing.assert_allclose(u.a2, gbar.a2, rtol=1e-12)  # only the geometric mean


@pytest.mark.parametrize("M", [1, 2])
def test_14_balanced_bias_gives_simplex_etf(M):
    K, n, lam = 3, 4, 5e-3
    s = nc.deep_linear_mse_minimizer([n] * K, depth=M, lam_w=lam, lam_h=lam, bias=True)
    free = nc.deep_linear_mse_minimizer([n] * K, depth=M, lam_w=lam, lam_h=lam)
    P = np.eye(K) - 1 / K
    np.testing.assert_allclose(s.gram_w, free.a2[0] * P, rtol=1e-14)
    np.testing.assert_allclose(free.gram_w, free.a2[0] * np.eye(K), rtol=1e-14)
    np.testing.assert_allclose(s.b, 1 / K)
    res, Ws, H, b, y = _deep_lbfgs([n] * K, M, K + 1, lam, bias=True, seed=1)
    assert abs(res.fun - s.objective) <= 1e-9
    W = Ws[-1]
    for w in reversed(Ws[:-1]):
        W = W @ w
    np.testing.assert_allclose(W @ W.T, s.gram_w, atol=DEEP_RTOL * s.gram_w.max())
    np.testing.assert_allclose(b, 1 / K, atol=DEEP_RTOL)
    means = nc.class_means(H, y).means
    np.testing.assert_allclose(means.sum(axis=1), 0.0, atol=DEEP_RTOL)
    p = nc.deep_linear_mse_point(
        [n] * K, depth=M, lam_w=lam, lam_h=lam, width=K + 1, bias=True
    )
    v = nc.deep_linear_mse_objective(
        p.weights, p.H, p.labels, lam_w=lam, lam_h=lam, b=p.b
    )
    assert abs(v - s.objective) <= EXACT_ATOL
    assert _deep_grad_norm(p, lam, lam, "mse") < STATIONARY_ATOL


@given(sizes=deep_sizes, M=st.integers(1, 5), lam=lam_st(-3, 0))
@example(sizes=[200, 50], M=2, lam=0.022958)
def test_15_branch_logic(sizes, M, lam):
    n = np.asarray(sizes)
    N = n.sum()
    b = M * N * (N * lam**M * lam) ** (1 / M)
    phi = b / n
    thr = nc.nonzero_threshold(M)
    s = nc.deep_linear_mse_minimizer(n, depth=M, lam_w=lam, lam_h=lam)
    clear = np.abs(phi / thr - 1) > 1e-9
    assert np.all((s.a2 == 0)[clear] == (phi >= thr)[clear])
    # g_k of the returned branch is the minimum of g_k over a brute-force t grid.
    tmax = 4 * (max(s.a2.max(), 1.0) ** (1 / M) + 1)
    t = np.linspace(0, tmax, 20001)[:, None]
    g = n * lam / (2 * (t**M + N * lam)) + 0.5 * M * lam * t
    assert np.all(s.class_objective <= g.min(axis=0) + 1e-12)
    # the objective at explicit parameters equals sum_k g_k
    p = nc.deep_linear_mse_point(n, depth=M, lam_w=lam, lam_h=lam, width=n.size)
    v = nc.deep_linear_mse_objective(p.weights, p.H, p.labels, lam_w=lam, lam_h=lam)
    assert abs(v - s.class_objective.sum()) <= 1e-12
    assert abs(v - s.objective) <= 1e-12
    # the official code's largest-root branch is never better
    code = nc.deep_linear_mse_minimizer(
        n, depth=M, lam_w=lam, lam_h=lam, branch="largest_root"
    )
    assert s.objective <= code.objective + 1e-15


def test_15_window_between_thresholds_is_a_local_branch():
    # M = 2: a positive root exists up to phi_max = 0.6495; between 0.5 and that, it
    # is a local minimum with a higher objective than zero.
    M, thr = 2, nc.nonzero_threshold(2)
    x_star = (1 / 3) ** 0.5
    phi_max = 2 * x_star / (1 + x_star**2) ** 2
    assert abs(phi_max - 0.6495) < 1e-4
    for phi in (0.51, 0.55, 0.64):
        n = np.array([1000.0, 1000.0 * 0.1375 / phi])  # class 1 far from threshold
        # lam from b / n_2 = phi: b = 2 N sqrt(N lam^3)
        N = n.sum()
        lam = (phi * n[1] / (2 * N * np.sqrt(N))) ** (2 / 3)
        a2 = nc.deep_linear_class_a2(n, num_samples=N, depth=M, lam_w=lam, lam_h=lam)
        a2c = nc.deep_linear_class_a2(
            n, num_samples=N, depth=M, lam_w=lam, lam_h=lam, branch="largest_root"
        )
        assert a2[1] == 0 and a2c[1] > 0 and phi > thr


# --- 16: cross-entropy ---------------------------------------------------------------


@pytest.mark.parametrize(("K", "n", "d", "lam"), [(4, 20, 8, 5e-3), (3, 5, 4, 1e-2)])
def test_16_ce_etf_is_the_lbfgs_minimum_at_depth_one(K, n, d, lam):
    e = nc.deep_linear_ce_etf(K, n, depth=1, lam_w=lam, lam_h=lam)
    best = min(
        _deep_lbfgs([n] * K, 1, d, lam, loss="ce", seed=s, std=0.3)[0].fun
        for s in range(1)
    )
    assert abs(best - e.objective) <= CE_ATOL
    p = nc.deep_linear_ce_point(K, n, depth=1, lam_w=lam, lam_h=lam, width=d)
    v = nc.deep_linear_ce_objective(p.weights, p.H, p.labels, lam_w=lam, lam_h=lam)
    assert abs(v - e.objective) <= EXACT_ATOL


@pytest.mark.parametrize("M", [2, 3])
def test_16_ce_etf_point_is_stationary_beyond_depth_one(M):
    # §6.5: for M >= 2 the ETF is a critical point; global optimality is NOT
    # asserted (lower-rank solutions can be better).
    p = nc.deep_linear_ce_point(4, 20, depth=M, lam_w=5e-3, lam_h=5e-3, width=8)
    assert _deep_grad_norm(p, 5e-3, 5e-3, "ce") < STATIONARY_ATOL


@pytest.mark.parametrize(
    ("sizes", "depth", "lam_w", "lam_h"),
    [
        # s2 + N lam_h overflowed: g_k lost its first term (old value 3.0e-4, 33 %
        # low), with no warning left in the result.
        ((1, 26953), 2, 10**-157.5, 1e300),
        ((3, 5, 7), 1, 1e-300, 1e-300),
        ((5, 9), 1, 1e-200, 1e250),
        ((10, 20), 2, 1e-3, 1e-3),
    ],
)
def test_class_quantities_at_extreme_decays_match_mpmath(sizes, depth, lam_w, lam_h):
    """W Hbar, |hbar_k|^2 and g_k from a_k^2 (derivations §3) in 50-digit
    arithmetic: s2/(s2 + N lh), s2/(s2 + N lh)^2, n_k lh/(2(s2 + N lh)) + M lbar t/2."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 50
    r = nc.deep_linear_mse_minimizer(sizes, depth=depth, lam_w=lam_w, lam_h=lam_h)
    Nl = mp.mpf(sum(sizes)) * mp.mpf(lam_h)
    for k, n_k in enumerate(sizes):
        s2 = mp.mpf(float(r.a2[k]))
        t = s2 ** (mp.mpf(1) / depth)
        want = (
            s2 / (s2 + Nl),
            s2 / (s2 + Nl) ** 2,
            n_k * mp.mpf(lam_h) / (2 * (s2 + Nl)) + depth * mp.mpf(lam_w) * t / 2,
        )
        got = (r.wh[k], r.mean_norm2[k], r.class_objective[k])
        lbar_rtol = 2 * np.finfo(float).eps * abs(np.log(lam_w))
        rtols = (EXTREME_RTOL, EXTREME_RTOL, EXTREME_RTOL + lbar_rtol)
        for g, w, rtol in zip(got, want, rtols, strict=True):
            assert abs(mp.mpf(float(g)) - w) <= rtol * abs(w), (k, float(g), float(w))


@pytest.mark.parametrize("gap", [1e-5, 1e-8, 1e-9])
def test_depth_one_keeps_the_root_next_to_the_threshold(gap):
    """At depth 1 the root is the global minimum wherever it exists (derivations §3,
    §4). Within 1e-8 of the threshold its objective and the origin's differ by less
    than rounding; comparing them returned 0 (MSE a_2^2 = 0 against 3.5e-8 at
    gap 1e-8; CE nonzero=False). Against 50-digit closed forms: MSE
    a^2 = N lam_h (sqrt(n_k/b) - 1), b = N^2 lam_w lam_h; CE
    u = log(1/sqrt(lam lam_h n) - K + 1)."""
    mpmath = pytest.importorskip("mpmath")
    mp = mpmath.mp.clone()
    mp.dps = 50
    eps = np.finfo(np.float64).eps
    sizes, N = (200, 50), 250
    lam = float(((1 - gap) * sizes[1] / N**2) ** 0.5)  # b/n_2 = 1 - gap
    a2 = nc.deep_linear_mse_minimizer(sizes, depth=1, lam_w=lam, lam_h=lam).a2[1]
    x = mp.sqrt(sizes[1] / (mp.mpf(N) ** 2 * mp.mpf(lam) ** 2)) - 1
    want = N * mp.mpf(lam) * x
    rtol = NC_THRESHOLD_ROUNDINGS * eps / gap
    assert abs(mp.mpf(float(a2)) - want) <= rtol * want, (a2, float(want))
    for K in (2, 100):
        n = 10
        lam = float((1 - gap) / (K * np.sqrt(n)))  # 1/sqrt(lam^2 n) - K + 1 ~ 1 + K gap
        e = nc.deep_linear_ce_etf(K, n, depth=1, lam_w=lam, lam_h=lam)
        u = mp.log(1 / (mp.mpf(lam) * mp.sqrt(n)) - K + 1)
        assert e.nonzero
        assert abs(mp.mpf(e.u) - u) <= NC_THRESHOLD_ROUNDINGS * eps * K / u * u, K
