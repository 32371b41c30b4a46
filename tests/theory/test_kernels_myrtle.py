r"""Accuracy of :func:`theory.kernels.myrtle_ntk` against independent references.

(a) Entries of an image with itself (the diagonal, exact duplicates in a cross call,
    and images scaled by 1e-60, where :math:`K(cx, cx) = c^2 K(x, x)`) against a
    float128 (``np.longdouble``) evaluation of the convolutional NTK recursion
    written here from docs/derivations/kernels.md §2-3: zero-padded 3×3 mean of the
    pixel-pair covariance, the ReLU arc-cosine step with the angle of a pixel with
    itself set to exactly 0, 2×2 average pools, a Dense readout.
(b) The normalisation: neural-tangents' own network with ``W_std = √2`` in every
    weight layer, evaluated op by op (no ``jit``), is :math:`2^L` times ours.

Both need jax and neural-tangents and are skipped, with the install command as the
reason, where the ``kernels`` extra is absent.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests._tolerances import KERNEL_MYRTLE_SELF_RTOL as SELF_RTOL
from tests._tolerances import KERNEL_NT_RTOL as NT_RTOL
from theory.kernels import myrtle_ntk
from theory.kernels import neural_tangents_available

needs_nt = pytest.mark.skipif(
    not neural_tangents_available(),
    reason="neural-tangents not installed: pip install 'learning-dynamics[kernels]' "
    "&& pip install --no-deps neural-tangents==0.6.5",
)

LD = np.longdouble
PI = LD("3.14159265358979323846264338327950288")


def _conv_mean(S):
    """Mean over the nine common 3×3 shifts of a (H, W, H, W) covariance, zeros
    outside the image (``SAME`` padding)."""
    H, W = S.shape[:2]
    P = np.zeros((H + 2, W + 2, H + 2, W + 2), dtype=LD)
    P[1:-1, 1:-1, 1:-1, 1:-1] = S
    out = np.zeros_like(S)
    for i in range(3):
        for j in range(3):
            out += P[i : i + H, j : j + W, i : i + H, j : j + W]
    return out / 9


def _pool(S):
    h, w = S.shape[0] // 2, S.shape[1] // 2
    return S.reshape(h, 2, w, 2, h, 2, w, 2).mean(axis=(1, 3, 5, 7))


def _self_ntk_float128(x, layers):
    r""":math:`\Theta(x, x)` of the ``W_std = 1``, ``b_std = 0`` Myrtle network."""
    x = np.asarray(x, dtype=LD)
    S = np.einsum("abc,dec->abde", x, x) / x.shape[2]  # pixel-pair covariance
    T = np.zeros_like(S)
    for block, m in enumerate(layers):
        if block:
            S, T = _pool(S), _pool(T)
        same = np.eye(S.shape[0] * S.shape[1], dtype=bool).reshape(S.shape)
        for _ in range(m):
            S = _conv_mean(S)
            T = _conv_mean(T) + S
            v = np.einsum("abab->ab", S)
            s = np.sqrt(v[:, :, None, None] * v[None, None, :, :])
            root = np.sqrt(np.maximum(s * s - S * S, 0))
            theta = np.arctan2(root, S)
            theta[same] = 0  # a pixel with itself: exactly parallel
            E = (root + (PI - theta) * S) / (2 * PI)
            E[same] = v.reshape(-1) / 2
            T = T * (PI - theta) / (2 * PI)
            S = E
    while S.shape[0] > 1:
        S, T = _pool(S), _pool(T)
    return float(S[0, 0, 0, 0] + T[0, 0, 0, 0])


@needs_nt
@pytest.mark.slow  # compiles the jitted blocks and the op-by-op diagonal: ~10 s
def test_entries_of_equal_images_match_float128():
    layers = (1, 1, 1)
    x = np.random.default_rng(0).standard_normal((4, 4, 4, 3))
    c = 1e-60
    images = np.concatenate([x, c * x])
    K = myrtle_ntk(images, layers=layers)
    ref = np.array([_self_ntk_float128(z, layers) for z in x])
    diag = np.diag(K)
    assert np.max(np.abs(diag[:4] - ref) / ref) <= SELF_RTOL
    assert np.max(np.abs(diag[4:] / c**2 - ref) / ref) <= SELF_RTOL
    assert np.array_equal(K, K.T)
    # A cross call: each image of x1 appears, reversed, in x2.
    cross = myrtle_ntk(images, images[::-1], layers=layers)
    assert np.array_equal(np.diag(cross[:, ::-1]), diag)
    # A zero image (like the padding of the blocks) has the zero kernel, not NaN;
    # the same block shapes as above, so nothing is compiled again.
    zero = myrtle_ntk(np.concatenate([images[:-1], 0 * x[:1]]), layers=layers)
    assert np.all(zero[-1] == 0) and np.all(zero[:, -1] == 0)
    assert np.array_equal(zero[:-1, :-1], K[:-1, :-1])


@needs_nt
@pytest.mark.slow  # one op-by-op neural-tangents evaluation: ~10 s
def test_normalisation_is_neural_tangents_with_unit_weight_std():
    from theory.kernels import _stax

    jax, stax = _stax()
    import jax.numpy as jnp

    layers = (1, 1, 1)
    x = np.random.default_rng(1).standard_normal((3, 4, 4, 2))
    conv = dict(padding="SAME", W_std=math.sqrt(2), b_std=0.0)
    net = []
    for i, m in enumerate(layers):
        if i:
            net.append(stax.AvgPool((2, 2), strides=(2, 2)))
        net += [stax.Conv(1, (3, 3), **conv), stax.Relu()] * m
    net += [stax.Flatten(), stax.Dense(1, W_std=math.sqrt(2), b_std=0.0)]
    _, _, kernel_fn = stax.serial(*net)
    with jax.experimental.enable_x64():
        theirs = np.asarray(kernel_fn(jnp.asarray(x), None, "ntk"), dtype=np.float64)
    weight_layers = sum(layers) + 1
    ours = myrtle_ntk(x, layers=layers)
    assert np.max(np.abs(theirs / 2**weight_layers - ours)) <= NT_RTOL * np.max(ours)
