r"""Tests of :mod:`theory.kernels` (and :mod:`theory._kernel_exponents`).

Groups:

(a) the closed-form ReLU NNGP/NTK against neural-tangents on random inputs (skipped,
    with the install command as the reason, where the ``kernels`` extra is absent);
(b) closed-form values derived by hand at depth 1 (equal, orthogonal and opposite
    inputs, ``docs/derivations/kernels.md``) and a Monte Carlo of a wide finite
    network in the NTK parameterization, within ``Z_SEM`` standard errors;
(c) properties: symmetric, positive semi-definite, invariant to batching,
    permutation-equivariant;
(d) the Myrtle convolutional NTK through neural-tangents: symmetric, PSD, the same
    in any block layout;
(e) eigen-data identities, and the exponent proxies against direct implementations
    and on synthetic Gaussian data with a known power-law spectrum;
(f) input validation;
(g) kernel matrices that are not symmetric or not PSD beyond rounding raise, those
    within rounding are accepted; target power per degenerate eigenspace; the beta
    proxy's saturation at 2 alpha + 1.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests._tolerances import F64_RTOL
from tests._tolerances import KERNEL_ANGLE_ATOL as ANGLE_ATOL
from tests._tolerances import KERNEL_EXPONENT_ALLOWANCE as EXPONENT_ALLOWANCE
from tests._tolerances import KERNEL_NT_DIAG_RTOL as NT_DIAG_RTOL
from tests._tolerances import KERNEL_NT_RTOL as NT_RTOL
from tests._tolerances import KERNEL_PSD_RTOL as PSD_RTOL
from tests._tolerances import Z_SEM
from theory.kernels import alpha_proxy
from theory.kernels import beta_proxy
from theory.kernels import fit_power_law
from theory.kernels import kernel_eigendata
from theory.kernels import myrtle_ntk
from theory.kernels import neural_tangents_available
from theory.kernels import relu_nngp_ntk
from theory.kernels import relu_nngp_ntk_nt
from theory.kernels import ridgeless_test_mse
from theory.kernels import trace_inverse_scale
from theory.rf_powerlaw import PowerLawTail
from theory.rf_powerlaw import powerlaw_spectrum
from theory.rf_ridge import rf_ridge_risk

needs_nt = pytest.mark.skipif(
    not neural_tangents_available(),
    reason="neural-tangents not installed: pip install 'learning-dynamics[kernels]' "
    "&& pip install --no-deps neural-tangents==0.6.5",
)


def _relmax(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


# ------------------------------------------------- (a) closed form = neural-tangents


@needs_nt
@pytest.mark.parametrize(
    ("depth", "weight_var", "bias_var", "cross"),
    [
        (1, 2.0, 0.0, False),
        (2, 1.3, 0.2, True),
        (4, 2.0, 0.05, False),
        (7, 0.8, 1.0, True),
    ],
)
def test_closed_form_matches_neural_tangents(depth, weight_var, bias_var, cross):
    """Agreement to rounding at every pair of distinct inputs.

    On the diagonal (a point with itself) the exact angle is 0: the closed form
    gets it exactly, neural-tangents rounds Sigma_11 Sigma_22 - Sigma_12^2 (its
    Gram and its diagonal come from different reductions) to ~eps * Sigma^2, an
    angle of ~sqrt(eps) and an NTK off by up to ~1e-8 relative: that entry has
    its own, stated tolerance.
    """
    rng = np.random.default_rng(depth)
    x1 = rng.normal(size=(23, 64)) * rng.uniform(0.2, 3.0, size=(23, 1))
    x2 = rng.normal(size=(17, 64)) if cross else None
    kw = {"depth": depth, "weight_var": weight_var, "bias_var": bias_var}
    ours = relu_nngp_ntk(x1, x2, **kw)
    theirs = relu_nngp_ntk_nt(x1, x2, batch_size=16, **kw)
    off = np.ones(ours.ntk.shape, dtype=bool)
    if not cross:
        np.fill_diagonal(off, False)
    for a, b in zip(ours, theirs, strict=True):
        scale = np.max(np.abs(b))
        assert np.max(np.abs(a - b)[off]) <= NT_RTOL * scale
        assert np.max(np.abs(a - b)) <= NT_DIAG_RTOL * scale


# ------------------------------------------------- (b) hand values and Monte Carlo


@pytest.mark.parametrize("w", [2.0, 0.7])
@pytest.mark.parametrize("b", [0.0, 0.3])
def test_depth1_equal_inputs(w, b):
    # x = x': Sigma1 = w|x|^2/d + b, E[relu(u)^2] = Sigma1/2, E[relu'(u)^2] = 1/2.
    x = np.array([[3.0, -1.0, 2.0]])
    s1 = w * 14.0 / 3 + b
    k = relu_nngp_ntk(x, depth=1, weight_var=w, bias_var=b)
    nngp = w * s1 / 2 + b
    assert k.nngp[0, 0] == pytest.approx(nngp, rel=F64_RTOL)
    assert k.ntk[0, 0] == pytest.approx(nngp + w * s1 / 2, rel=F64_RTOL)


def test_depth1_orthogonal_and_opposite_inputs():
    # bias 0. Orthogonal: theta = pi/2, E[relu relu] = sqrt(S11 S22)/(2 pi) and
    # Sigma1 = 0, so ntk = nngp. Opposite: relu(u) relu(-u) = 0 and relu' relu' = 0.
    w = 2.0
    x = np.array([[2.0, 0.0], [0.0, 3.0], [-2.0, 0.0]])
    k = relu_nngp_ntk(x, weight_var=w)
    s11, s22 = w * 4 / 2, w * 9 / 2
    assert k.nngp[0, 1] == pytest.approx(
        w * np.sqrt(s11 * s22) / (2 * np.pi), rel=1e-15
    )
    assert k.ntk[0, 1] == pytest.approx(k.nngp[0, 1], rel=1e-15)
    assert k.nngp[0, 2] == 0.0 and k.ntk[0, 2] == 0.0


def test_depth1_monte_carlo_wide_network():
    r"""A width-m network in the NTK parameterization, averaged over hidden units.

    :math:`f(x) = \sqrt{w/m}\sum_j a_j \mathrm{relu}(h_j(x)) + \sqrt b\,c`,
    :math:`h_j = \sqrt{w/d}\,W_j\cdot x + \sqrt b\,\beta_j`: over the initialization,
    :math:`\Sigma = w\,E[\mathrm{relu}(h)\mathrm{relu}(h')] + b` and the NTK (sum of
    squared parameter gradients) is
    :math:`\Sigma + w\,E[a^2 \mathrm{relu}'(h)\mathrm{relu}'(h')](w x\cdot x'/d + b)`.
    Each is a mean over the m i.i.d. units, tested within Z_SEM standard errors.
    """
    w, b, m = 2.0, 0.25, 400_000
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 6))
    d = x.shape[1]
    W, beta, a = rng.normal(size=(m, d)), rng.normal(size=m), rng.normal(size=m)
    h = np.sqrt(w / d) * (W @ x.T) + np.sqrt(b) * beta[:, None]  # (m, 4)
    relu, step = np.maximum(h, 0), (h > 0).astype(float)
    k = relu_nngp_ntk(x, weight_var=w, bias_var=b)
    gram = w * (x @ x.T) / d + b
    for i in range(4):
        for j in range(4):
            nngp_units = w * relu[:, i] * relu[:, j] + b
            ntk_units = nngp_units + w * a**2 * step[:, i] * step[:, j] * gram[i, j]
            for units, exact in [(nngp_units, k.nngp[i, j]), (ntk_units, k.ntk[i, j])]:
                sem = units.std(ddof=1) / np.sqrt(m)
                assert abs(units.mean() - exact) <= Z_SEM * sem


# --------------------------------------------------------------- (c) properties


inputs = st.integers(0, 2**32 - 1).map(np.random.default_rng)


@given(
    rng=inputs,
    depth=st.integers(1, 6),
    w=st.floats(0.3, 3.0),
    b=st.floats(0.0, 1.0),
)
@settings(max_examples=20)
# d = 1 makes every pair parallel or opposite; a bias of 4e-16 gives them true
# angles ~1e-7, which the recursion used to get wrong by ~1e-9 (eigenvalue -4e-11).
@example(rng=np.random.default_rng(242), depth=1, w=1.0, b=3.630545607435763e-16)
def test_symmetric_psd_batch_invariant(rng, depth, w, b):
    n, d = int(rng.integers(2, 40)), int(rng.integers(1, 9))
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 5.0, size=(n, 1))
    k = relu_nngp_ntk(x, depth=depth, weight_var=w, bias_var=b)
    small = relu_nngp_ntk(x, depth=depth, weight_var=w, bias_var=b, batch_size=3)
    cross = relu_nngp_ntk(x, x.copy(), depth=depth, weight_var=w, bias_var=b)
    perm = rng.permutation(n)
    permuted = relu_nngp_ntk(x[perm], depth=depth, weight_var=w, bias_var=b)
    for name in ("nngp", "ntk"):
        K = getattr(k, name)
        assert np.array_equal(K, K.T)
        eig = np.linalg.eigvalsh(K)
        assert eig[0] >= -PSD_RTOL * eig[-1]
        assert _relmax(getattr(small, name), K) <= F64_RTOL
        assert _relmax(getattr(cross, name), K) <= F64_RTOL
        assert _relmax(getattr(permuted, name), K[np.ix_(perm, perm)]) <= F64_RTOL


def _kernels_mp(x, y, depth, w, b):
    """(NNGP, NTK) of the pair by the recursion of docs/derivations/kernels.md §2-3,
    in 50-digit arithmetic with arccos (exact enough at 50 digits)."""
    mp.mp.dps = 50
    x, y = [mp.mpf(float(t)) for t in x], [mp.mpf(float(t)) for t in y]
    w, b, d = mp.mpf(w), mp.mpf(b), len(x)
    cov = w * mp.fsum(p * q for p, q in zip(x, y, strict=True)) / d + b
    v1 = w * mp.fsum(p * p for p in x) / d + b
    v2 = w * mp.fsum(q * q for q in y) / d + b
    ntk = cov
    for _ in range(depth):
        s = mp.sqrt(v1 * v2)
        theta = mp.acos(max(min(cov / s, 1), -1))
        relu = s * (mp.sin(theta) + (mp.pi - theta) * mp.cos(theta)) / (2 * mp.pi)
        cov = w * relu + b
        ntk = cov + w * ntk * (mp.pi - theta) / (2 * mp.pi)
        v1, v2 = w * v1 / 2 + b, w * v2 / 2 + b
    return float(cov), float(ntk)


@given(
    rng=inputs,
    d=st.integers(1, 8),
    depth=st.integers(1, 6),
    w=st.floats(0.3, 3.0),
    b=st.sampled_from([0.0, 1e-16, 1e-9, 0.1]),
    sign=st.sampled_from([1.0, -1.0]),
    noise=st.sampled_from([0.0, 1e-14, 1e-10, 1e-6, 1e-2]),
)
@settings(max_examples=40)
def test_nearly_parallel_or_opposite_inputs_match_mpmath(
    rng, d, depth, w, b, sign, noise
):
    x = rng.normal(size=d)
    y = sign * rng.uniform(0.1, 5.0) * x + noise * rng.normal(size=d)
    k = relu_nngp_ntk(np.stack([x, y]), depth=depth, weight_var=w, bias_var=b)
    for K, exact in zip((k.nngp, k.ntk), _kernels_mp(x, y, depth, w, b), strict=True):
        scale = np.sqrt(K[0, 0] * K[1, 1])  # |K_12| <= scale (Cauchy-Schwarz)
        assert abs(K[0, 1] - exact) <= ANGLE_ATOL * scale


@given(rng=inputs, depth=st.integers(1, 4), exponent=st.integers(-210, 210))
@settings(max_examples=20)
def test_zero_bias_kernels_scale_exactly_by_powers_of_two(rng, depth, exponent):
    """With b = 0 both kernels are homogeneous of degree 2 in the inputs; scaling by
    2^e keeps every variance within 2^+-450 for |e| <= 210, and every step of the
    recursion (Gram, roots of squares, angles from ratios) commutes exactly with a
    power-of-two scale: bitwise equal (600 of 600 measured)."""
    x = rng.normal(size=(int(rng.integers(2, 12)), int(rng.integers(1, 6))))
    k = relu_nngp_ntk(x, depth=depth)
    scaled = relu_nngp_ntk(np.ldexp(x, exponent), depth=depth)
    for name in ("nngp", "ntk"):
        back = np.ldexp(getattr(scaled, name), -2 * exponent)
        np.testing.assert_array_equal(back, getattr(k, name))


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(x1=np.ones((3, 2)) * 1e-100),  # |x|^2/d underflows in products
        dict(x1=np.ones((3, 2)) * 1e100),  # and overflows
        dict(x1=np.full((3, 2), 1e-200)),  # |x|^2/d is 0 although x is not
        dict(x1=np.ones((3, 2)), weight_var=1e300),
        dict(x1=np.ones((3, 2)), weight_var=0.3, depth=1000),  # decays below 2^-450
        dict(x1=np.vstack([np.ones(2), np.zeros(2)]), bias_var=1e-300),
    ],
)
def test_variances_outside_float64_range_raise(kwargs):
    with pytest.raises(ValueError, match=r"outside \[2\^-450, 2\^450\]"):
        relu_nngp_ntk(**kwargs)


def test_diagonal_at_critical_weight_var():
    # Theta^(l+1) = Sigma^(l+1) + w (pi - theta)/(2 pi) Theta^(l): on the diagonal
    # (theta = 0) with b = 0, w = 2 every layer keeps Sigma = |x|^2/d * 2 and adds it
    # to the NTK: Theta = (L + 1) Sigma exactly.
    x = np.array([[1.0, 2.0, -2.0]])
    for depth in (1, 3, 8):
        k = relu_nngp_ntk(x, depth=depth)
        assert k.nngp[0, 0] == pytest.approx(2 * 9 / 3, rel=F64_RTOL)
        assert k.ntk[0, 0] == pytest.approx((depth + 1) * 6.0, rel=F64_RTOL)


# --------------------------------------------------------------------- (d) Myrtle


@needs_nt
@pytest.mark.slow  # one XLA compile of the convolutional kernel: ~8 s of CPU
def test_myrtle_ntk_symmetric_psd_and_blockwise():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 8, 8, 1))
    K = myrtle_ntk(x, layers=(1, 1, 1), batch_size=4)
    cross = myrtle_ntk(x[:4], x[4:], layers=(1, 1, 1), batch_size=4)
    assert np.max(np.abs(K - K.T)) <= F64_RTOL * np.abs(K).max()
    eig = np.linalg.eigvalsh((K + K.T) / 2)
    assert eig[0] > 0
    assert _relmax(cross, K[:4, 4:]) <= F64_RTOL
    # Scaling an image by c scales its pre-activations by c at every layer (no
    # biases, positively homogeneous ReLU): K(cx, x') = c K(x, x').
    scaled = myrtle_ntk(
        np.concatenate([3.0 * x[:1], x[1:4]]), layers=(1, 1, 1), batch_size=4
    )
    assert _relmax(scaled[0, 1:4], 3.0 * K[0, 1:4]) <= F64_RTOL


# ------------------------------------------------------------ (e) eigen-data, proxies


def test_eigendata_reconstructs_kernel_and_target_norm():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 4))
    K = relu_nngp_ntk(x).ntk
    Y = rng.normal(size=(30, 3))
    e = kernel_eigendata(K, Y)
    assert np.all(np.diff(e.eigvals) <= 0)
    assert e.target_power.sum() == pytest.approx((Y**2).sum() / 30, rel=F64_RTOL)
    # K/n = U diag(lambda) U^T, Y/sqrt(n) = U v: rebuild Y^T (K/n) Y / n two ways.
    lhs = Y.T @ K @ Y / 30**2
    rhs = e.coeffs.T @ (e.eigvals[:, None] * e.coeffs)
    assert _relmax(rhs, lhs) <= F64_RTOL


def test_trace_proxy_and_ridgeless_mse_against_direct_formulas():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 5))
    K = relu_nngp_ntk(x).ntk
    y = np.sin(x[:, 0]) + x[:, 1]
    sizes = [5, 20, 40]
    scales = trace_inverse_scale(K[:40, :40], sizes)
    direct = [1 / np.trace(np.linalg.pinv(K[:m, :m])) for m in sizes]
    assert _relmax(scales, np.array(direct)) <= F64_RTOL
    mse = ridgeless_test_mse(K[:40, :40], K[40:, :40], y[:40], y[40:], sizes)
    ref = [
        np.mean((K[40:, :m] @ np.linalg.solve(K[:m, :m], y[:m]) - y[40:]) ** 2)
        for m in sizes
    ]
    assert _relmax(mse, np.array(ref)) <= 1e-6  # solve vs eigh: conditioning ~1e4


def _synthetic_curves(alpha, beta, num_modes, sizes, draws, num_test):
    """Gaussian data x = Lambda^(1/2) g with target y = g . v, linear kernel."""
    lam = np.arange(1, num_modes + 1) ** -alpha
    v = np.arange(1, num_modes + 1) ** (-beta / 2)
    n_max = sizes[-1]
    traces, mses = [], []
    for seed in range(draws):
        g = np.random.default_rng(seed).normal(size=(n_max + num_test, num_modes))
        x, y = g * np.sqrt(lam), g @ v
        K = x[:n_max] @ x.T  # (n_max, n_max + num_test)
        traces.append(trace_inverse_scale(K[:, :n_max], sizes))
        mses.append(
            ridgeless_test_mse(
                K[:, :n_max], K[:, n_max:].T, y[:n_max], y[n_max:], sizes
            )
        )
    return lam, v**2, np.array(traces), np.array(mses)


@pytest.mark.parametrize(("alpha", "beta"), [(2.0, 1.5), (1.6, 2.2)])
def test_exponent_proxies_recover_synthetic_power_law(alpha, beta):
    """The proxies on data with a known spectrum recover the exponents.

    The same window of the eigenframework's own prediction (finite spectrum,
    finite ``n``) says how far from the asymptotic exponent a perfect estimator
    lands: that finite-size bias plus ``Z_SEM`` standard errors of the mean over
    independent draws plus a stated allowance (the trace proxy is the KRR constant
    only up to O(1/n)) bound the error.
    """
    sizes = np.unique(np.round(np.geomspace(20, 240, 9)).astype(int))
    window = (40, 240)
    lam, v2, traces, mses = _synthetic_curves(alpha, beta, 3000, sizes, 6, 600)
    a_fit = alpha_proxy(sizes, traces, window=window)
    b_fit = beta_proxy(sizes, mses, window=window)
    pred = rf_ridge_risk(lam, v2, n=sizes, k=np.inf, ridge=0.0)
    a_pred = alpha_proxy(sizes, pred.kappa, window=window).exponent
    b_pred = beta_proxy(sizes, pred.test_risk, window=window).exponent
    assert abs(a_fit.exponent - alpha) <= (
        abs(a_pred - alpha) + Z_SEM * a_fit.stderr + EXPONENT_ALLOWANCE
    )
    assert abs(b_fit.exponent - beta) <= (
        abs(b_pred - beta) + Z_SEM * b_fit.stderr + EXPONENT_ALLOWANCE
    )
    assert a_fit.num_sizes == int(np.sum((sizes >= 40) & (sizes <= 240)))


# ------------------------------------------------------------------- (f) validation


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: relu_nngp_ntk(np.ones(3)), "x1 must be a non-empty 2-D"),
        (lambda: relu_nngp_ntk(np.ones((2, 3)), np.ones((2, 4))), "same feature"),
        (lambda: relu_nngp_ntk([[np.nan, 1.0]]), "x1 must be finite"),
        (lambda: relu_nngp_ntk(np.ones((2, 2)), depth=0), "depth"),
        (lambda: relu_nngp_ntk(np.ones((2, 2)), depth=1.5), "depth"),
        (lambda: relu_nngp_ntk(np.ones((2, 2)), weight_var=0.0), "weight_var"),
        (lambda: relu_nngp_ntk(np.ones((2, 2)), bias_var=-1.0), "bias_var"),
        (lambda: relu_nngp_ntk(np.ones((2, 2)), batch_size=0), "batch_size"),
        (lambda: myrtle_ntk(np.ones((2, 6, 6, 1))), "power-of-two"),
        (lambda: myrtle_ntk(np.ones((2, 8, 8, 1)), layers=(1, 2)), "layers"),
        (lambda: kernel_eigendata(np.ones((2, 3)), [1, 2]), "square"),
        (lambda: kernel_eigendata([[1.0, 2.0], [0.0, 1.0]], [1, 2]), "symmetric"),
        (lambda: kernel_eigendata(np.eye(2), [1, 2, 3]), "targets"),
        (lambda: trace_inverse_scale(np.eye(3), [2, 1]), "increasing"),
        (lambda: trace_inverse_scale(np.eye(3), [1, 4]), "sizes must be <= 3"),
        (lambda: trace_inverse_scale(np.eye(3), [1], rcond=2.0), "rcond"),
        # beyond int64: a cast before the range check wrapped it to -2^63
        (
            lambda: trace_inverse_scale(np.eye(3), [1, 1e300]),
            r"sizes must be <= 3 .*got sizes=1e\+300",
        ),
        (lambda: trace_inverse_scale(np.eye(3), [0, 1]), "sizes must be >= 1"),
        # sizes outside the window were dropped unchecked, NaN among them
        (
            lambda: fit_power_law([np.nan, 2, 4], [1.0, 2, 3], window=(2, 4)),
            "sizes must be positive and finite, got sizes=nan",
        ),
        (
            lambda: alpha_proxy([-1, 2, 4], [1.0, 2, 3], window=(2, 4)),
            "sizes must be positive",
        ),
        (
            lambda: ridgeless_test_mse(
                np.eye(3), np.ones((2, 4)), [1, 2, 3], [1, 2], [1]
            ),
            "kernel_test",
        ),
        (lambda: alpha_proxy([1, 2, 3], [1.0, 0.5, 0.3], window=(5, 9)), "window"),
        (lambda: beta_proxy([1, 2], [1.0, -0.5], window=(1, 2)), "positive"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------- (g) kernel matrices: symmetric and PSD inputs

_ASYM = [[1.0, 5.0], [0.0, 1.0]]  # read from its lower triangle this is I


def _mse(K):
    K = np.asarray(K, dtype=float)
    return ridgeless_test_mse(K, K[:1], np.arange(1.0, len(K) + 1), [1.0], [len(K)])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: trace_inverse_scale(_ASYM, [2]), r"kernel must be symmetric"),
        (lambda: _mse(_ASYM), r"kernel_train must be symmetric"),
        (lambda: kernel_eigendata(_ASYM, [1, 2]), r"kernel must be symmetric"),
        (
            lambda: trace_inverse_scale([[0.0, 1.0], [1.0, 0.0]], [2]),
            r"kernel\[:2, :2\] must be positive semi-definite",
        ),
        (
            lambda: trace_inverse_scale(-np.eye(2), [1, 2]),
            r"kernel\[:1, :1\] must be positive semi-definite",
        ),
        (
            lambda: trace_inverse_scale(np.zeros((2, 2)), [2]),
            r"kernel\[:2, :2\] must have a positive eigenvalue",
        ),
        (
            lambda: trace_inverse_scale(1e-320 * np.eye(2), [2]),
            r"kernel\[:2, :2\] has eigenvalues down to 1e-320",
        ),
        (
            lambda: trace_inverse_scale(1e-300 * np.diag([1.0, 1e-11]), [2]),
            r"kernel\[:2, :2\] has eigenvalues down to 1e-311",
        ),
        (
            lambda: _mse([[0.0, 1.0], [1.0, 0.0]]),
            r"kernel_train\[:2, :2\] must be positive semi-definite",
        ),
        (
            lambda: kernel_eigendata([[0.0, 1.0], [1.0, 0.0]], [1, 2]),
            r"kernel must be positive semi-definite",
        ),
        (
            lambda: kernel_eigendata(-np.eye(2), [1, 2]),
            r"kernel must be positive semi-definite",
        ),
    ],
)
def test_non_kernel_matrices_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_kernel_matrices_with_entries_near_the_float64_limit():
    """K + K.T overflowed for entries of 1e308: NaN eigenvalues, a ridgeless MSE of
    1 instead of 0, and ZeroDivisionError. Diagonal K = c I: eigenvalues c/n, and
    1/Tr(K_n^+) = c/n; the targets are interpolated exactly."""
    K = 1e308 * np.eye(2)
    assert kernel_eigendata(K, [1.0, 2.0]).eigvals.tolist() == [5e307, 5e307]
    assert trace_inverse_scale(K, [1, 2]).tolist() == [1e308, 5e307]
    mse = ridgeless_test_mse(K, K[:1], [1.0, 2.0], [1.0], [1, 2])
    np.testing.assert_allclose(mse, 0.0, atol=F64_RTOL)


def test_kernels_symmetric_and_psd_to_rounding_are_accepted():
    """A Gram matrix of rank 3 < n, with asymmetry and negative eigenvalues at the
    rounding level, gives what its symmetrized version gives."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(8, 3))
    K = x @ x.T
    noise = rng.normal(size=K.shape)
    Kr = K + 1e-15 * np.abs(K).max() * noise  # not symmetric, eigenvalues ~ -1e-15
    assert np.linalg.eigvalsh((Kr + Kr.T) / 2)[0] < 0 < np.abs(Kr - Kr.T).max()
    Ks = (Kr + Kr.T) / 2
    y = x[:, 0] + 1.0
    sizes = [2, 5, 8]
    assert np.array_equal(
        trace_inverse_scale(Kr, sizes), trace_inverse_scale(Ks, sizes)
    )
    assert np.array_equal(
        ridgeless_test_mse(Kr, K[:2], y, y[:2], sizes),
        ridgeless_test_mse(Ks, K[:2], y, y[:2], sizes),
    )
    assert np.array_equal(
        kernel_eigendata(Kr, y).eigvals, kernel_eigendata(Ks, y).eigvals
    )


def test_target_power_is_defined_per_eigenspace_only():
    """For a repeated eigenvalue only the sum of ``target_power`` over its eigenspace
    is determined: a 1e-15 perturbation inside the eigenspace moves the split, not
    the sum, which is |P Y|^2 / n for the eigenspace's projector P."""
    Q = np.linalg.qr(np.random.default_rng(5).normal(size=(3, 3)))[0]
    K = Q @ np.diag([1.0, 1.0, 0.5]) @ Q.T
    K = (K + K.T) / 2
    y = Q[:, 0] + 0.3 * Q[:, 1] + 0.2 * Q[:, 2]
    exact = np.array([1.09, 0.04]) / 3  # |P y|^2 / n for the two eigenspaces
    for eps in (0.0, 1e-15, -1e-15):
        Kp = K + eps * np.outer(Q[:, 1], Q[:, 1])
        p = kernel_eigendata((Kp + Kp.T) / 2, y).target_power
        got = np.array([p[0] + p[1], p[2]])
        assert np.max(np.abs(got - exact)) <= F64_RTOL * exact.sum()


def test_beta_proxy_saturates_at_two_alpha_plus_one():
    """The ridgeless risk falls as n^-(beta - 1) only for beta < 2 alpha + 1, and as
    n^-2alpha beyond, so the beta proxy reads 2 alpha + 1 there: checked on the
    eigenframework's own ridgeless risk (6000 modes plus the power-law tail, n in
    [200, 3200])."""
    sizes = np.geomspace(200, 3200, 5)
    for alpha, beta, expect in [
        (1.5, 5.0, 4.0),
        (1.2, 6.0, 3.4),
        (2.0, 8.0, 5.0),
        (1.5, 2.0, 2.0),
    ]:
        lam, v2 = powerlaw_spectrum(alpha, beta, 6000)
        risk = rf_ridge_risk(
            lam, v2, n=sizes, k=np.inf, ridge=0.0, tail=PowerLawTail(alpha, beta, 6000)
        )
        fit = beta_proxy(sizes, risk.test_risk, window=(200, 3200))
        assert abs(fit.exponent - expect) <= EXPONENT_ALLOWANCE
