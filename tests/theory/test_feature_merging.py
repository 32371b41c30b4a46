r"""Tests of :mod:`theory.feature_merging` (IFM, arXiv:2310.06756).

(a) the incremental engine against
    :func:`tests.theory._ifm_reference.official_naive`, an independent
    full-recomputation re-implementation of the authors' loop;
(b) properties P1-P16 of ``docs/derivations/ifm.md`` §6 as hypothesis properties, with
    small-integer weights where the claim is bit-exact;
(c) official-mode quirks kept as regression tests (popcount(g) at beta = 0, BatchNorm
    non-exactness, the scaled-duplicate error);
(d) bad input.
"""

from __future__ import annotations

import itertools
import math
from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from tests._tolerances import IFM_BN_OFFICIAL_MIN_ERR
from tests._tolerances import IFM_BOUND_RTOL
from tests._tolerances import IFM_FN_RTOL
from tests._tolerances import IFM_IMPL_RTOL
from tests.theory._ifm_cases import bias_only_twins
from tests.theory._ifm_cases import bias_only_twins_case
from tests.theory._ifm_cases import cap_binds_before_a_clean_pass
from tests.theory._ifm_reference import official_naive
from theory import _ifm_engine
from theory.feature_merging import BatchNorm
from theory.feature_merging import ConvLayer
from theory.feature_merging import canonicalize
from theory.feature_merging import feature_complexity
from theory.feature_merging import functional_classes
from theory.feature_merging import ifm
from theory.feature_merging import ifm_error_trace
from theory.feature_merging import merge_error_bound
from theory.feature_merging import mlp_forward
from theory.feature_merging import param_count

D64 = torch.float64


# ==============================================================================
# Strategies and helpers
# ==============================================================================


def _t(rows):
    return torch.tensor(rows, dtype=D64)


@st.composite
def int_mlp(draw, max_hidden=6, max_depth=2, lo=-4, hi=4):
    """Small-integer MLP: sums are exact, so integer claims are checked bit-exactly."""
    d_in = draw(st.integers(1, 3))
    depth = draw(st.integers(1, max_depth))
    sizes = [d_in] + [draw(st.integers(1, max_hidden)) for _ in range(depth)]
    sizes.append(draw(st.integers(1, 3)))
    ints = st.integers(lo, hi)
    layers = []
    for a, b in itertools.pairwise(sizes):
        w = draw(
            st.lists(st.lists(ints, min_size=a, max_size=a), min_size=b, max_size=b)
        )
        bias = draw(st.lists(ints, min_size=b, max_size=b))
        layers.append((_t(w), _t(bias)))
    return layers


@st.composite
def real_mlp(draw, max_hidden=8, max_depth=3):
    """Continuous-weight MLP from a drawn seed (no distance ties almost surely)."""
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    depth = draw(st.integers(1, max_depth))
    sizes = [draw(st.integers(1, 4))]
    sizes += [draw(st.integers(2, max_hidden)) for _ in range(depth)]
    sizes.append(draw(st.integers(1, 3)))
    return [
        (
            torch.randn(b, a, generator=g, dtype=D64),
            torch.randn(b, generator=g, dtype=D64),
        )
        for a, b in itertools.pairwise(sizes)
    ]


def _x(layers, n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return 3 * torch.randn(n, layers[0][0].shape[1], generator=g, dtype=D64)


def _xint(layers):
    g = torch.Generator().manual_seed(0)
    return torch.randint(-4, 5, (32, layers[0][0].shape[1]), generator=g).to(D64)


def _close(a, b, rtol=IFM_FN_RTOL):
    scale = max(1.0, float(a.abs().max()), float(b.abs().max()))
    return float((a - b).abs().max()) <= rtol * scale


def _as_sets(groups):
    return [sorted(sorted(g) for g in layer) for layer in groups]


def _exit_distances(layers, counts, exact):
    """(d_min, d_max) per hidden layer from the returned weights (naive, full)."""
    out = []
    for h in range(len(layers) - 1):
        w, b = layers[h]
        vin = torch.cat([w, b[:, None]], 1) if exact else w
        vout = layers[h + 1][0].T
        if exact:
            vout = vout / counts[h][:, None]
        v = torch.cat([vin, vout], 1)
        D = ((v[:, None] - v[None]) ** 2).sum(-1)
        n = D.shape[0]
        if n < 2:
            out.append(None)
            continue
        off = ~torch.eye(n, dtype=torch.bool)
        out.append((float(D[off].min()), float(D[off].max())))
    return out


# ==============================================================================
# (a) The incremental engine against the full-recomputation reference
# ==============================================================================


@given(
    real_mlp(), st.sampled_from([0.0, 0.1, 0.3, 0.5, 1.0]), st.sampled_from([1.0, 0.4])
)
def test_official_matches_full_recomputation(layers, beta, max_ratio):
    res = ifm(layers, beta=beta, mode="official", max_ratio=max_ratio)
    W, b, _, groups, counts = official_naive(layers, beta, max_ratio)
    assert res.groups == groups
    for (w, bias), w_ref, b_ref in zip(res.layers, W, b, strict=True):
        assert _close(w, w_ref.reshape(w.shape), IFM_IMPL_RTOL)
        assert _close(bias, b_ref, IFM_IMPL_RTOL)
    assert [c.tolist() for c in res.counts] == [c.tolist() for c in counts]


@given(int_mlp(max_hidden=7, max_depth=3), st.sampled_from([0.0, 0.25, 0.5, 1.0]))
def test_official_matches_reference_on_integer_ties(layers, beta):
    """Integer weights produce exact distance ties: the tie-break must agree too."""
    res = ifm(layers, beta=beta, mode="official")
    assert res.groups == official_naive(layers, beta)[3]


@given(
    int_mlp(max_hidden=7, max_depth=3),
    st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    st.sampled_from([1, 20, 40]),
)
def test_row_extremes_in_blocks_match_reference(layers, beta, block):
    """The engine takes row minima and maxima in row blocks of ~``_BLOCK`` entries;
    tiny blocks (one row, ragged last blocks) must give the reference's merges."""
    with mock.patch.object(_ifm_engine, "_BLOCK", block):
        res = ifm(layers, beta=beta, mode="official")
    assert res.groups == official_naive(layers, beta)[3]


# ==============================================================================
# (b) Properties P1-P16
# ==============================================================================


@given(int_mlp(), st.data())
def test_p1_permutation_leaves_function_unchanged(layers, data):
    h = data.draw(st.integers(0, len(layers) - 2))
    n = layers[h][0].shape[0]
    perm = torch.tensor(data.draw(st.permutations(range(n))))
    new = list(layers)
    new[h] = (layers[h][0][perm], layers[h][1][perm])
    new[h + 1] = (layers[h + 1][0][:, perm], layers[h + 1][1])
    x = _xint(layers)
    assert torch.equal(mlp_forward(new, x), mlp_forward(layers, x))


@given(real_mlp(max_depth=2), st.data(), st.sampled_from(["official", "exact"]))
def test_p1_ifm_is_permutation_equivariant(layers, data, mode):
    h = data.draw(st.integers(0, len(layers) - 2))
    n = layers[h][0].shape[0]
    perm = data.draw(st.permutations(range(n)))
    p = torch.tensor(perm)
    new = list(layers)
    new[h] = (layers[h][0][p], layers[h][1][p])
    new[h + 1] = (layers[h + 1][0][:, p], layers[h + 1][1])
    beta = data.draw(st.sampled_from([0.05, 0.2, 0.4]))
    a = ifm(layers, beta=beta, mode=mode)
    b = ifm(new, beta=beta, mode=mode)
    relabel = [[perm[k] for k in g] for g in b.groups[h]]
    assert _as_sets(a.groups)[h] == sorted(sorted(g) for g in relabel)
    x = _x(layers)
    assert _close(mlp_forward(a.layers, x), mlp_forward(b.layers, x), 1e-9)


@st.composite
def duplicated_mlp(draw, scaled=False):
    """An integer MLP whose first hidden layer has each unit copied (and scaled)."""
    layers = draw(int_mlp(max_hidden=4, max_depth=2))
    w, b = layers[0]
    n = w.shape[0]
    copies = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6))
    if scaled:
        c = draw(
            st.lists(
                st.sampled_from([0.25, 0.5, 2.0, 3.0, 0.3, 7.0]),
                min_size=len(copies),
                max_size=len(copies),
            )
        )
    else:
        c = [1.0] * len(copies)
    cs = torch.tensor(c, dtype=D64)
    idx = torch.tensor(copies)
    w2 = torch.cat([w, cs[:, None] * w[idx]])
    b2 = torch.cat([b, cs * b[idx]])
    w_next = layers[1][0]
    extra = draw(
        st.lists(
            st.lists(st.integers(-4, 4), min_size=len(copies), max_size=len(copies)),
            min_size=w_next.shape[0],
            max_size=w_next.shape[0],
        )
    )
    out = [(w2, b2), (torch.cat([w_next, _t(extra)], 1), layers[1][1]), *layers[2:]]
    return out, n


@given(duplicated_mlp())
@example(case=bias_only_twins_case())
def test_p2_official_merges_duplicates_exactly(case):
    """Identical incoming rows (any outgoing): sum-in / mean-out keeps f at beta = 0."""
    layers, _ = case
    assume(not bias_only_twins(layers))
    res = ifm(layers, beta=0.0, mode="official")
    x = _xint(layers)
    assert _close(mlp_forward(res.layers, x), mlp_forward(layers, x))


@given(duplicated_mlp(scaled=True))
def test_p2_p4_exact_mode_collapses_classes_and_keeps_f(case):
    layers, n = case
    res = ifm(layers, beta=0.0, mode="exact")
    x = _x(layers)
    assert _close(mlp_forward(res.layers, x), mlp_forward(layers, x))
    classes = functional_classes(layers)
    # each class is one unit after merging (classes computed independently)
    assert _as_sets(res.groups)[0] == _as_sets(classes)[0]
    assert res.widths[0] <= n


@given(int_mlp(max_hidden=2, max_depth=1))
def test_p3_sum_in_mean_out_equals_mean_in_sum_out(layers):
    w, b = layers[0]
    assume(w.shape[0] == 2)
    res = ifm(layers, beta=1.0, mode="official")  # merges the pair
    alt = [
        ((w[:1] + w[1:]) / 2, (b[:1] + b[1:]) / 2),
        (layers[1][0].sum(1, keepdim=True), layers[1][1]),
    ]
    x = _xint(layers)
    assert torch.equal(mlp_forward(res.layers, x), mlp_forward(alt, x))


@given(int_mlp(), st.data())
def test_p4_rescaling_a_unit_keeps_f_and_exact_decisions(layers, data):
    h = data.draw(st.integers(0, len(layers) - 2))
    n = layers[h][0].shape[0]
    c = torch.tensor(
        data.draw(
            st.lists(
                st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]), min_size=n, max_size=n
            )
        ),
        dtype=D64,
    )
    new = list(layers)
    new[h] = (layers[h][0] * c[:, None], layers[h][1] * c)
    new[h + 1] = (layers[h + 1][0] / c, layers[h + 1][1])
    x = _xint(layers)
    assert torch.equal(mlp_forward(new, x), mlp_forward(layers, x))  # powers of two
    beta = data.draw(st.sampled_from([0.0, 0.1, 0.3]))
    assert ifm(new, beta=beta).groups == ifm(layers, beta=beta).groups


@given(
    st.lists(st.integers(-4, 4), min_size=2, max_size=3),
    st.sampled_from([0.5, 2.0, 3.0]),
    st.lists(st.integers(-4, 4), min_size=4, max_size=4),
)
def test_p4_official_merge_of_scaled_duplicate_is_not_exact(w, c, u):
    """original - merged = (c-1)(u_j - u_i) sigma(a_i) / 2 (a known non-invariance)."""
    wi = _t([w])
    W1 = torch.cat([wi, c * wi])
    U = _t([u[:2], u[2:]])  # columns u_i, u_j
    layers = [(W1, torch.zeros(2, dtype=D64)), (U, torch.zeros(2, dtype=D64))]
    res = ifm(layers, beta=1.0, mode="official")
    x = _xint(layers)
    a_i = torch.relu(x @ wi.T)
    expect = (c - 1) * (U[:, 1] - U[:, 0]) * a_i / 2
    got = mlp_forward(layers, x) - mlp_forward(res.layers, x)
    assert _close(got, expect)
    exact = ifm(layers, beta=0.0, mode="exact")
    assert exact.widths == (1,) and _close(
        mlp_forward(exact.layers, x), mlp_forward(layers, x)
    )


@given(
    real_mlp(),
    st.sampled_from([0.0, 0.2, 0.5, 2.0]),
    st.sampled_from(["official", "exact"]),
    st.sampled_from([1.0, 0.3]),
)
def test_p5_p7_p8_bookkeeping_and_termination(layers, beta, mode, max_ratio):
    res = ifm(layers, beta=beta, mode=mode, max_ratio=max_ratio)
    for h, groups in enumerate(res.groups):
        n = layers[h][0].shape[0]
        assert sorted(k for g in groups for k in g) == list(range(n))  # P5
        assert res.counts[h].tolist() == [len(g) for g in groups]
        assert res.widths[h] == len(groups) == n - res.merges[h]  # P7
        assert res.layers[h][0].shape[0] == res.widths[h]
        if mode == "official":
            assert res.merges[h] <= math.ceil(max_ratio * n)  # P8 cap
    widths = [layers[0][0].shape[1], *res.widths, layers[-1][0].shape[0]]
    assert param_count(res.layers) == sum(
        (a + 1) * b for a, b in itertools.pairwise(widths)
    )
    # P8: at exit every layer still checked in the last pass (the one without merges)
    # has width 1 or d_min > beta d_max. A layer of n0 units is checked in passes
    # t < n0 * max_ratio only, so one whose passes ran out is exempt: with several
    # layers a pass may leave it unmerged and a merge in a neighbour layer then
    # change its distances.
    last = res.passes - 1
    exits = _exit_distances(res.layers, res.counts, mode == "exact")
    for (w, _), ext in zip(layers[:-1], exits, strict=True):
        if ext is not None and last < w.shape[0] * max_ratio:
            d_min, d_max = ext
            assert d_min > beta * d_max * (1 - IFM_BOUND_RTOL)


@given(int_mlp(max_hidden=5, max_depth=1))
def test_p6_closed_form_single_layer(layers):
    res = ifm(layers, beta=0.4, mode="official")
    (w1, b1), (w2, _) = layers
    for k, g in enumerate(res.groups[0]):
        gi = torch.tensor(g)
        assert torch.equal(res.layers[0][0][k], w1[gi].sum(0))
        assert torch.equal(res.layers[0][1][k], b1[gi].sum(0))
        assert _close(res.layers[1][0][:, k], w2[:, gi].mean(1))


@given(real_mlp())
def test_p9_beta_zero_is_identity_and_beta_one_merges_to_one(layers):
    off = ifm(layers, beta=0.0, mode="official")
    assert all(m == 0 for m in off.merges)
    for (w, b), (w0, b0) in zip(off.layers, layers, strict=True):
        assert torch.equal(w, w0) and torch.equal(b, b0)
    for mode in ("official", "exact"):
        assert all(w == 1 for w in ifm(layers, beta=1.0, mode=mode).widths)


@pytest.mark.parametrize("g", range(1, 9))
def test_p9_official_popcount_quirk_at_beta_zero(g):
    """g identical units (in and out): the authors' sums leave popcount(g) units."""
    gen = torch.Generator().manual_seed(g)
    w = torch.randint(-3, 4, (1, 3), generator=gen).to(D64) + _t([[5, 0, 0]])
    u = torch.randint(-3, 4, (2, 1), generator=gen).to(D64)
    layers = [
        (w.repeat(g, 1), torch.zeros(g, dtype=D64)),
        (u.repeat(1, g), torch.zeros(2)),
    ]
    assert ifm(layers, beta=0.0, mode="official").widths == (bin(g).count("1"),)
    assert ifm(layers, beta=0.0, mode="exact").widths == (1,)


@given(real_mlp(max_depth=1, max_hidden=10), st.sampled_from(["official", "exact"]))
def test_p10_single_layer_partitions_nested_in_beta(layers, mode):
    betas = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0]
    runs = [ifm(layers, beta=b, mode=mode) for b in betas]
    for fine, coarse in itertools.pairwise(runs):
        assert coarse.widths[0] <= fine.widths[0]
        blocks = [set(g) for g in coarse.groups[0]]
        assert all(any(set(g) <= c for c in blocks) for g in fine.groups[0])


@given(real_mlp(), st.sampled_from([0.1, 0.3, 0.6]))
@example(layers=cap_binds_before_a_clean_pass(), beta=0.6)
def test_p11_official_is_idempotent(layers, beta):
    once = ifm(layers, beta=beta, mode="official")
    # Only where the run ended on a pass that merged nothing with every layer still
    # active (a layer of width n0 takes part in passes 0 .. n0 - 1); a merge in one
    # layer can re-open another, so max(merges) + 1 passes is not enough to know.
    widths = [w.shape[0] for w, _ in layers[:-1]]
    assume(once.passes - 1 < min(widths))
    twice = ifm(once.layers, beta=beta, mode="official")
    assert all(m == 0 for m in twice.merges)


@given(real_mlp(), st.sampled_from([0.1, 0.3]), st.sampled_from([0.5, 2.0, 8.0]))
def test_p12_global_scale_does_not_change_official_decisions(layers, beta, s):
    scaled = [(w * s, b * s) for w, b in layers]
    ref = ifm(layers, beta=beta, mode="official").groups
    assert ifm(scaled, beta=beta, mode="official").groups == ref


# ---- P13 BatchNorm (conv nets) ------------------------------------------------------


def _conv_forward(layers, x):
    h = x
    for layer in layers[:-1]:
        h = F.conv2d(h, layer.weight, layer.bias, padding=1)
        if layer.bn is not None:
            bn = layer.bn
            h = F.batch_norm(
                h,
                bn.running_mean,
                bn.running_var,
                bn.weight,
                bn.bias,
                False,
                0.0,
                bn.eps,
            )
        h = torch.relu(h)
    h = F.adaptive_avg_pool2d(h, 1).flatten(1)
    return h @ layers[-1].weight.T + layers[-1].bias


def _dup_conv_net(seed):
    g = torch.Generator().manual_seed(seed)

    def r(*s):
        return torch.randn(*s, generator=g, dtype=D64)

    w1 = r(3, 2, 3, 3)
    w1 = torch.cat([w1, w1[:2]])  # channels 3, 4 duplicate 0, 1
    bn_params = [r(3).abs() + 0.5, r(3), r(3), r(3).abs() + 0.5]
    bn1 = BatchNorm(*[torch.cat([p, p[:2]]) for p in bn_params], 1e-5)
    w2 = r(4, 3, 3, 3)
    w2 = torch.cat([w2, w2[:, :2]], 1)  # identical outgoing too: official distance 0
    bn2 = BatchNorm(r(4).abs() + 0.5, r(4), r(4), r(4).abs() + 0.5, 1e-5)
    return [
        ConvLayer(w1, torch.cat([b := r(3), b[:2]]), bn1),
        ConvLayer(w2, r(4), bn2),
        ConvLayer(r(3, 4), r(3)),
    ]


@pytest.mark.parametrize("seed", range(3))
def test_p13_batchnorm_exact_mode_folds_and_keeps_f(seed):
    layers = _dup_conv_net(seed)
    x = torch.randn(8, 2, 6, 6, generator=torch.Generator().manual_seed(9), dtype=D64)
    res = ifm(layers, beta=0.0, mode="exact")
    assert res.widths[0] == 3 and all(layer.bn is None for layer in res.layers)
    assert _close(_conv_forward(res.layers, x), _conv_forward(layers, x))


@pytest.mark.parametrize("seed", range(3))
def test_p13_official_batchnorm_merge_changes_f(seed):
    """Regression: summing BN mean/var of two identical channels is not exact."""
    layers = _dup_conv_net(seed)
    x = torch.randn(8, 2, 6, 6, generator=torch.Generator().manual_seed(9), dtype=D64)
    res = ifm(layers, beta=0.0, mode="official")
    assert res.widths[0] == 3  # the identical channels (distance 0) are merged
    assert res.layers[0].bn.running_var.shape == (3,)
    err = (_conv_forward(res.layers, x) - _conv_forward(layers, x)).abs().max()
    assert err > IFM_BN_OFFICIAL_MIN_ERR


# ---- P15 error bound ----------------------------------------------------------------


def test_p15_bound_is_attained():
    """u_j = -u_i, both pre-activations positive: |e| equals the bound."""
    layers = [(_t([[3.0], [1.0]]), _t([0, 0])), (_t([[1.0, -1.0]]), _t([0]))]
    x = _t([[1.0], [2.0]])
    res = ifm(layers, beta=1.0, mode="official")
    tr = ifm_error_trace(res, x)
    assert torch.allclose(tr.deviation, tr.bound, rtol=1e-15, atol=0)
    assert tr.bound.tolist() == [[2.0, 4.0]]
    assert (
        merge_error_bound(_t([3.0]), _t([1.0]), _t([1.0]), _t([-1.0]), 1, 1).item()
        == 2.0
    )


@given(
    real_mlp(max_depth=3),
    st.sampled_from([0.1, 0.3, 0.7]),
    st.sampled_from(["official", "exact"]),
)
def test_p15_bound_holds_on_every_merge(layers, beta, mode):
    res = ifm(layers, beta=beta, mode=mode)
    x = _x(layers)
    tr = ifm_error_trace(res, x)
    scale = 1.0 + mlp_forward(layers, x).abs().max()
    assert (tr.deviation <= tr.bound * (1 + IFM_BOUND_RTOL) + IFM_FN_RTOL * scale).all()
    assert (
        tr.total_deviation
        <= tr.total_bound * (1 + IFM_BOUND_RTOL) + IFM_FN_RTOL * scale
    ).all()
    # the replay ends at the returned network
    got = (mlp_forward(res.layers, x) - mlp_forward(layers, x)).norm(dim=1)
    assert _close(got, tr.total_deviation, 1e-9)


@pytest.mark.parametrize("mode", ["official", "exact"])
def test_p15_trace_scales_exactly_up_to_huge_inputs(mode):
    """A bias-free ReLU MLP is positively homogeneous and a power of two scales every
    rounding step exactly, so the trace at 2^600 x is 2^600 times the trace at x,
    bitwise. The plain norms made the deviations inf from about x = 1e154."""
    g = torch.Generator().manual_seed(0)
    layers = [
        (torch.randn(6, 4, dtype=D64, generator=g), torch.zeros(6, dtype=D64)),
        (torch.randn(2, 6, dtype=D64, generator=g), torch.zeros(2, dtype=D64)),
    ]
    res = ifm(layers, beta=0.5, mode=mode)
    x = torch.randn(3, 4, dtype=D64, generator=g)
    c = 2.0**600
    small, big = ifm_error_trace(res, x), ifm_error_trace(res, c * x)
    assert small.deviation.count_nonzero() > 0
    for name in ("deviation", "bound", "total_deviation", "total_bound"):
        assert torch.equal(getattr(big, name), c * getattr(small, name)), name


def test_p15_trace_names_a_non_finite_x():
    layers = [(_t([[3.0], [1.0]]), _t([0, 0])), (_t([[1.0, -1.0]]), _t([0]))]
    res = ifm(layers, beta=1.0, mode="official")
    with pytest.raises(ValueError, match="x has non-finite"):
        ifm_error_trace(res, _t([[float("nan")]]))


# ---- P16 replicated initialisation --------------------------------------------------


@pytest.mark.parametrize(("k", "r"), [(3, 4), (5, 2)])
def test_p16_replicated_init_keeps_complexity(k, r):
    g = torch.Generator().manual_seed(k)
    X = torch.randn(40, 3, generator=g, dtype=D64)
    Y = torch.randn(40, 2, generator=g, dtype=D64)
    W1 = (torch.randn(k, 3, generator=g, dtype=D64)).repeat(r, 1).requires_grad_()
    b1 = torch.randn(k, generator=g, dtype=D64).repeat(r).requires_grad_()
    W2 = (torch.randn(2, k, generator=g, dtype=D64) / r).repeat(1, r).requires_grad_()
    b2 = torch.zeros(2, dtype=D64, requires_grad=True)
    params = [W1, b1, W2, b2]
    for step in range(60):
        loss = ((mlp_forward([(W1, b1), (W2, b2)], X) - Y) ** 2).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, gr in zip(params, grads, strict=True):
                p -= 0.05 * gr
        if step % 20 == 19:
            layers = [(W1.detach(), b1.detach()), (W2.detach(), b2.detach())]
            assert feature_complexity(layers) == (k,)


# ==============================================================================
# (c) canonical form, classes
# ==============================================================================


@given(int_mlp(max_depth=1), st.data())
def test_canonical_form_keeps_f_and_unit_norm(layers, data):
    can = canonicalize(layers)
    x = _x(layers)
    assert _close(mlp_forward(can, x), mlp_forward(layers, x))
    w, b = can[0]
    norms = torch.sqrt((w * w).sum(1) + b * b)
    live = norms > 0
    assert torch.allclose(norms[live], torch.ones_like(norms[live]), rtol=1e-15, atol=0)


def test_zero_and_constant_features():
    w1 = _t([[0, 0], [0, 0], [0, 0], [0, 0], [1, 1]])
    b1 = _t([-1, 0, 2, 5, 0])
    layers = [(w1, b1), (_t([[1, 2, 3, 4, 5]]), _t([0]))]
    assert functional_classes(layers) == [[[0, 1], [2, 3], [4]]]
    res = ifm(layers, beta=0.0)
    x = _t([[1, -2], [3, 0.5]])
    assert _close(mlp_forward(res.layers, x), mlp_forward(layers, x))


# ==============================================================================
# (d) bad input
# ==============================================================================

GOOD = [
    (torch.ones(3, 2, dtype=D64), torch.zeros(3)),
    (torch.ones(1, 3), torch.zeros(1)),
]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beta": -0.1}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"beta": 0.1, "max_ratio": 0.0}, "max_ratio"),
        ({"beta": 0.1, "max_ratio": 1.5}, "max_ratio"),
        ({"beta": 0.1, "mode": "fast"}, "mode"),
        ({"beta": 0.1, "tol": -1.0}, "tol"),
    ],
)
def test_bad_scalars(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ifm(GOOD, **kwargs)


@pytest.mark.parametrize(
    ("layers", "match"),
    [
        (GOOD[:1], "at least 2"),
        (
            [(torch.ones(3, 2), torch.zeros(3)), (torch.ones(1, 4), torch.zeros(1))],
            "chain",
        ),
        (
            [(torch.ones(3, 2), torch.zeros(2)), (torch.ones(1, 3), torch.zeros(1))],
            "bias",
        ),
        ([(torch.full((3, 2), float("inf")), torch.zeros(3)), GOOD[1]], "non-finite"),
        (
            [(torch.ones(3, 2), torch.tensor([0, float("nan"), 0])), GOOD[1]],
            "non-finite",
        ),
        ([(torch.ones(3), torch.zeros(3)), GOOD[1]], "2-D"),
        ("abc", "list"),
    ],
)
def test_bad_layers(layers, match):
    with pytest.raises(ValueError, match=match):
        ifm(layers, beta=0.1)
