"""IFM at the edges of its input: scales that multiply along the network, the
working dtype, and the checks of the helper functions (``mlp_forward``,
``param_count``, ``merge_error_bound``, ``ifm_error_trace``)."""

from __future__ import annotations

import itertools

import pytest
import torch

from tests._tolerances import IFM_FN_RTOL
from theory.feature_merging import BatchNorm
from theory.feature_merging import ConvLayer
from theory.feature_merging import canonicalize
from theory.feature_merging import functional_classes
from theory.feature_merging import ifm
from theory.feature_merging import ifm_error_trace
from theory.feature_merging import merge_error_bound
from theory.feature_merging import mlp_forward
from theory.feature_merging import param_count

D64 = torch.float64


def _net(scale, sizes, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [
        (scale * torch.randn(o, i, dtype=D64, generator=g), torch.zeros(o, dtype=D64))
        for i, o in itertools.pairwise(sizes)
    ]


def _x(n_in, rows=5):
    return torch.randn(
        rows, n_in, dtype=D64, generator=torch.Generator().manual_seed(0)
    )


def _max_rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


# ------------------------------------------------------- scales along the network


@pytest.mark.parametrize("scale", [1e52, 1e-55])
def test_exact_mode_refuses_scales_whose_product_leaves_the_range(scale):
    """Each layer is in [2^-200, 2^200], but canonical form moves every layer's norms
    into the next: the squared distances overflowed (IndexError from an empty argmin)
    or gave NaN weights and one class for distinct units."""
    layers = _net(scale, [3, 6, 6, 6, 2])
    for call in (
        lambda: ifm(layers, beta=0.1),
        lambda: ifm(layers, beta=0.0),
        lambda: functional_classes(layers),
        lambda: canonicalize(layers),
    ):
        with pytest.raises(ValueError, match=r"layers\[1\] with the unit norms"):
            call()
    # official mode works on the raw weights, which are in range
    assert ifm(layers, beta=0.1, mode="official").widths


def test_a_tiny_row_in_a_normal_layer_keeps_its_class_and_the_function():
    """A unit whose weights are 1e-250 in a layer of O(1) units: its squared norm
    underflowed to 0, canonical form had inf and NaN, and ifm raised IndexError."""
    w1 = torch.tensor(
        [[1.0, 2.0], [1e-250, 1e-250], [3.0, -1.0], [2.0, 4.0]], dtype=D64
    )
    layers = [(w1, torch.zeros(4, dtype=D64)), _net(1.0, [4, 1])[0]]
    x = _x(2)
    f = mlp_forward(layers, x)
    can = canonicalize(layers)
    assert all(torch.isfinite(w).all() and torch.isfinite(b).all() for w, b in can)
    assert _max_rel(mlp_forward(can, x), f) <= IFM_FN_RTOL
    assert functional_classes(layers) == [[[0, 3], [1], [2]]]
    res = ifm(layers, beta=0.0)
    assert res.widths == (3,)
    assert _max_rel(mlp_forward(res.layers, x), f) <= IFM_FN_RTOL


def test_batchnorm_folded_out_of_range_is_refused():
    one = torch.ones(2, dtype=D64)
    bn = BatchNorm(one, 0 * one, 1e300 * one, one)
    layers = [ConvLayer(torch.eye(2, dtype=D64), None, bn), ConvLayer(one[None])]
    with pytest.raises(ValueError, match=r"layers\[0\] with its BatchNorm folded"):
        ifm(layers, beta=0.1)
    with pytest.raises(ValueError, match=r"layers\[0\] with its BatchNorm folded"):
        canonicalize(layers)


def test_batchnorm_must_be_a_batchnorm():
    one = torch.ones(2, dtype=D64)
    layers = [ConvLayer(torch.eye(2, dtype=D64), None, (1, 2)), ConvLayer(one[None])]
    with pytest.raises(ValueError, match="bn must be a BatchNorm or None, got tuple"):
        ifm(layers, beta=0.1)


# -------------------------------------------------------------------- the dtype


@pytest.mark.parametrize("dtype", [torch.int64, torch.float16, torch.complex128, "x"])
def test_dtype_must_be_float64_or_float32(dtype):
    with pytest.raises(ValueError, match=r"dtype must be torch\.float64 or"):
        ifm(_net(1.0, [3, 4, 2]), beta=0.1, dtype=dtype)


@pytest.mark.parametrize(("scale", "mode"), [(1e10, "exact"), (1e-25, "official")])
def test_float32_has_its_own_range(scale, mode):
    """float64's 2^±200 let float32 squares overflow (NaN weights) or underflow (every
    distance 0, so widths (1, 1) instead of (4, 4))."""
    with pytest.raises(ValueError, match=r"\[2\^-25, 2\^25\]"):
        ifm(_net(scale, [3, 4, 4, 2]), beta=0.3, mode=mode, dtype=torch.float32)


def test_float32_collapses_scaled_copies_by_default():
    """Canonical rows of 3x copies differ by ~1 float32 ulp (6e-8): the float64
    default tol = 1e-12 kept them apart (193 of 200 random pairs)."""
    g = torch.Generator().manual_seed(3)
    w = torch.randn(1, 40, generator=g)
    c = torch.exp(torch.empty(30).uniform_(-7.0, 7.0, generator=g))
    layers = [
        (torch.cat([w, c[:, None] * w]), torch.zeros(31)),
        (torch.ones(1, 31), None),
    ]
    assert ifm(layers, beta=0.0, dtype=torch.float32).widths == (1,)
    assert functional_classes(layers, dtype=torch.float32) == [[list(range(31))]]
    # an explicit tol is taken as given
    assert ifm(layers, beta=0.0, dtype=torch.float32, tol=0.0).widths[0] > 1


def test_a_pair_within_a_tiny_tol_is_found_despite_rounding_of_the_projection():
    """Rows 5.6e-17 apart (max-norm) at tol = 1e-16: the projection that pre-filters
    the pairs rounds by more than tol |r|_1, and the pair fell outside its window."""
    w = torch.tensor([[-0.44, -0.35], [-0.44, -0.35]], dtype=D64)
    b = torch.tensor([-0.71, -0.7099999999999999], dtype=D64)
    layers = [(w, b), (torch.ones(1, 2, dtype=D64), None)]
    assert functional_classes(layers, tol=1e-16) == [[[0, 1]]]
    assert functional_classes(layers, tol=0.0) == [[[0], [1]]]


@pytest.mark.parametrize("mode", ["exact", "official"])
@pytest.mark.parametrize("conv", [False, True])
def test_no_bias_in_gives_no_bias_out(mode, conv):
    """Layers given with bias None came back with zero biases, which param_count
    counted: 20 parameters in, 26 out, with nothing merged."""
    g = torch.Generator().manual_seed(0)
    ws = [torch.randn(4, 3, generator=g, dtype=D64), torch.randn(2, 4, generator=g)]
    layers = [ConvLayer(w) for w in ws] if conv else [(w, None) for w in ws]
    res = ifm(layers, beta=0.0, mode=mode)
    assert res.merges == (0,)
    assert param_count(res.layers) == param_count(layers) == 20
    assert all(layer[1] is None for layer in res.layers)
    assert all(layer[1] is None for layer in canonicalize(layers))


def test_integer_weights_of_any_width_are_taken_and_bool_is_refused():
    w = torch.tensor([[1, 2], [2, 4]], dtype=torch.int16)
    head = (torch.ones(1, 2, dtype=torch.int8), None)
    assert ifm([(w, None), head], beta=0.0).widths == (1,)
    with pytest.raises(ValueError, match=r"layers\[0\].weight must be real"):
        ifm([(w.bool(), None), head], beta=0.0)


@pytest.mark.parametrize("value", ["0.1", True])
def test_strings_and_bools_are_not_numbers(value):
    """numpy turned "0.1" into 0.1 and True into 1 (which merged everything)."""
    layers = _net(1.0, [3, 4, 2])
    for call in (
        lambda: ifm(layers, beta=value),
        lambda: ifm(layers, beta=0.1, tol=value),
        lambda: ifm(layers, beta=0.1, max_ratio=value),
    ):
        with pytest.raises(ValueError, match="must be numeric"):
            call()


# ----------------------------------------------------------------- mlp_forward


def test_mlp_forward_converts_like_ifm_and_keeps_autograd():
    layers = _net(1.0, [3, 4, 2])
    x = _x(3)
    f = mlp_forward(layers, x)
    # numpy weights and x, float32 x, a None bias (ifm's zero bias) give the same
    as_numpy = [(w.numpy(), b.numpy()) for w, b in layers]
    assert torch.equal(mlp_forward(as_numpy, x.numpy()), f)
    assert torch.equal(
        mlp_forward(layers, x.float()), mlp_forward(layers, x.float().double())
    )
    assert torch.equal(mlp_forward([(w, None) for w, _ in layers], x), f)
    w = layers[0][0].clone().requires_grad_()
    mlp_forward([(w, layers[0][1]), layers[1]], x).sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0


def _nan_at(layers, i, part):
    """``layers`` with a NaN in the weight (``part`` 0) or bias (1) of layer ``i``."""
    t = layers[i][part]
    t.view(-1)[0] = float("nan")
    return layers


@pytest.mark.parametrize(
    ("layers", "x", "match"),
    [
        ([], _x(3), "at least 1 layer"),
        (None, _x(3), "list of layers"),
        (_net(1.0, [3, 4, 2]), _x(4), r"x must have shape \(B, 3\)"),
        (_net(1.0, [3, 4, 2]), _x(3)[0], r"x must have shape \(B, 3\)"),
        (_net(1.0, [3, 4, 2]), torch.full((2, 3), float("nan"), dtype=D64), "x has"),
        (_net(1.0, [3, 4, 2]), "abc", "x must be a tensor"),
        ([_net(1.0, [3, 4])[0], _net(1.0, [5, 2])[0]], _x(3), "do not chain"),
        ([(torch.ones(4, dtype=D64), None)], _x(3), "2-D"),
        ([(torch.ones(4, 3, dtype=D64), torch.ones(3, dtype=D64))], _x(3), "bias"),
        ([torch.ones(4, 3, dtype=D64)], _x(3), r"layers\[0\] must be a \(weight"),
        # a tensor weight or bias was used as given: NaN in, NaN out
        (_nan_at(_net(1.0, [3, 4, 2]), 1, 0), _x(3), r"layers\[1\].weight has non"),
        (_nan_at(_net(1.0, [3, 4, 2]), 0, 1), _x(3), r"layers\[0\].bias has non"),
    ],
)
def test_mlp_forward_names_bad_input(layers, x, match):
    with pytest.raises(ValueError, match=match):
        mlp_forward(layers, x)


# ------------------------------------------------------------------ param_count


def test_param_count_takes_arrays_and_refuses_what_does_not_chain():
    layers = _net(1.0, [3, 4, 2])
    assert param_count([(w.numpy(), b.numpy()) for w, b in layers]) == 16 + 10
    with pytest.raises(ValueError, match="do not chain"):
        param_count([_net(1.0, [3, 4])[0], _net(1.0, [5, 2])[0]])
    with pytest.raises(ValueError, match="list of layers"):
        param_count(None)


# ------------------------------------------------------------ merge_error_bound


def test_merge_error_bound_at_huge_counts():
    """n_i n_j / (n_i + n_j) formed without n_i + n_j, which overflowed to give 0."""
    one = torch.ones(1, dtype=D64)
    bound = merge_error_bound(one, 2 * one, one, -one, 1e308, 1e308)
    # (1e308 * 1e308 / 2e308) * (1 + 1) * |1 - 2| = 1e308
    assert bound.tolist() == [1e308]


def test_merge_error_bound_wants_1d_arrays():
    with pytest.raises(ValueError, match="a_i and a_j must be 1-D"):
        merge_error_bound(torch.ones(2, 3), torch.zeros(2, 3), [1.0], [1.0], 1, 1)
    with pytest.raises(ValueError, match="u_i and u_j must be 1-D"):
        merge_error_bound([1.0], [0.0], torch.ones(2, 2), torch.ones(2, 2), 1, 1)


# --------------------------------------------------------------- ifm_error_trace


def test_trace_refuses_what_it_cannot_replay():
    res = ifm(_net(1.0, [3, 6, 2]), beta=0.3, mode="official")
    with pytest.raises(ValueError, match="result must be the IFMResult"):
        ifm_error_trace(None, _x(3))
    with pytest.raises(ValueError, match="x must be a tensor, got str"):
        ifm_error_trace(res, "abc")
    with pytest.raises(ValueError, match="x must be real"):
        ifm_error_trace(res, _x(3).to(torch.complex128))
    # official mode keeps BatchNorm outside the steps: its start is not the input
    g = torch.Generator().manual_seed(0)
    bn = BatchNorm(*(torch.rand(5, dtype=D64, generator=g) + 0.5 for _ in range(4)))
    conv = [
        ConvLayer(torch.randn(5, 3, dtype=D64, generator=g), None, bn),
        ConvLayer(torch.randn(2, 5, dtype=D64, generator=g)),
    ]
    with pytest.raises(ValueError, match="official-mode run with BatchNorm"):
        ifm_error_trace(ifm(conv, beta=0.3, mode="official"), _x(3))
    # exact mode folds it: the trace starts from the input's function and ends at
    # the merged network's
    x = _x(3)
    w1, w2 = conv[0].weight, conv[1].weight
    pre = (x @ w1.T - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
    f_in = torch.relu(pre * bn.weight + bn.bias) @ w2.T
    exact = ifm(conv, beta=0.3)
    assert _max_rel(mlp_forward(exact.start, x), f_in) <= IFM_FN_RTOL
    assert sum(exact.merges) > 0
    f_out = mlp_forward([(layer.weight, layer.bias) for layer in exact.layers], x)
    trace = ifm_error_trace(exact, x)
    expected = torch.linalg.norm(f_out - f_in, dim=1)
    scale = float(f_in.abs().max())
    assert torch.allclose(
        trace.total_deviation, expected, rtol=0, atol=IFM_FN_RTOL * scale
    )


def test_trace_refuses_a_bound_beyond_float64():
    """The outputs fit in float64 but a step's bound (the merge's bound times the
    later layers' spectral norms) does not: it was returned as inf."""
    res = ifm(_net(1e50, [3, 6, 6, 2], seed=2), beta=0.3, mode="official")
    big = 1e157 * _x(3)
    assert torch.isfinite(mlp_forward(res.start, big)).all()
    with pytest.raises(ValueError, match=r"the bound of step \d+ exceeds"):
        ifm_error_trace(res, big)
    assert torch.isfinite(ifm_error_trace(res, 1e150 * _x(3)).total_bound).all()
