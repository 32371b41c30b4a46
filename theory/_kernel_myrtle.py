r"""The Myrtle-style convolutional NTK of images, by neural-tangents
(:func:`myrtle_ntk`, re-exported by :mod:`theory.kernels`).

Normalisation, accuracy and cost: ``docs/derivations/kernels.md`` §4.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import ArrayLike

from theory._args import integer
from theory._kernel_common import _check_inputs
from theory._kernel_common import _check_scale
from theory._kernel_common import _nt_kernel
from theory._kernel_common import _stax

__all__ = ["myrtle_ntk"]


def _check_layers(layers) -> tuple[int, ...]:
    try:
        blocks = tuple(layers)
    except TypeError:
        raise ValueError(
            f"layers must be a tuple of 3 ints >= 1, got {layers!r}"
        ) from None
    ok = len(blocks) == 3 and all(
        isinstance(m, int | np.integer) and not isinstance(m, bool) and m >= 1
        for m in blocks
    )
    if not ok:
        raise ValueError(f"layers must be a tuple of 3 ints >= 1, got {layers!r}")
    return tuple(int(m) for m in blocks)


@functools.lru_cache(maxsize=8)
def _myrtle_kernel_fn(blocks: tuple[int, ...], side: int):
    r"""The analytic NTK functions of one Myrtle network: ``(jitted, self_ntk)``.

    ``jitted`` is ``kernel_fn`` under ``jax.jit`` (compiled once per block shape);
    ``self_ntk`` maps a stack of images to each one's :math:`\Theta(x, x)`, op by op
    (``vmap`` without ``jit``), which rounds the pixel Gram and its diagonal alike.
    """
    jax, stax = _stax()
    net = []
    for i, m in enumerate(blocks):
        if i:
            net.append(stax.AvgPool((2, 2), strides=(2, 2)))
        conv = stax.Conv(1, (3, 3), padding="SAME", W_std=1.0, b_std=0.0)
        net += [conv, stax.Relu()] * m
    net += [stax.AvgPool((2, 2), strides=(2, 2))] * (int(math.log2(side)) - 2)
    net += [stax.Flatten(), stax.Dense(1, W_std=1.0, b_std=0.0)]
    _, _, kernel_fn = stax.serial(*net)
    self_ntk = jax.vmap(lambda z: kernel_fn(z[None], None, get="ntk")[0, 0])
    return jax.jit(kernel_fn, static_argnames="get"), self_ntk


def _myrtle_equal_pairs(kernel, a, b, self_ntk, batch, jax) -> None:
    r"""Overwrite, in place, the entries of pairs of equal images (the diagonal when
    ``b`` is None) with :math:`\Theta(x, x)` computed op by op.

    Under ``jit`` these entries can be off by up to ~2e-9 relative (the ReLU angle of a
    pixel with itself comes out ~sqrt(eps) instead of 0, see :func:`_nt_kernel`);
    op by op they are exact to ~1e-15. Each distinct image is evaluated once, in
    padded blocks of ``min(batch**2, count)`` images (the memory of one
    off-diagonal block).
    """
    import jax.numpy as jnp

    flat = (a if b is None else np.concatenate([a, b])).reshape(
        a.shape[0] + (0 if b is None else b.shape[0]), -1
    )
    uniq, ids = np.unique(flat, axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    id1 = ids[: a.shape[0]]
    id2 = id1 if b is None else ids[a.shape[0] :]
    need = np.intersect1d(id1, id2)
    if need.size == 0:
        return
    images = uniq[need].reshape(need.size, *a.shape[1:])
    block = min(batch * batch, need.size)
    values = np.empty(need.size)
    with jax.experimental.enable_x64():
        for start in range(0, need.size, block):
            part = images[start : start + block]
            pad = np.zeros((block - part.shape[0], *part.shape[1:]))
            x = jnp.asarray(np.concatenate([part, pad]), dtype=jnp.float64)
            out = np.asarray(self_ntk(x), dtype=np.float64)
            values[start : start + part.shape[0]] = out[: part.shape[0]]
    lookup = np.full(uniq.shape[0], np.nan)
    lookup[need] = values
    rows, cols = np.nonzero(id1[:, None] == id2[None, :])
    kernel[rows, cols] = lookup[id1[rows]]


def myrtle_ntk(
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    layers: tuple[int, int, int] = (2, 1, 1),
    batch_size: int = 32,
) -> np.ndarray:
    r"""NTK of a Myrtle-style convolutional ReLU network on images, by neural-tangents.

    Three blocks of ``layers[b]`` × (Conv 3×3 ``SAME``, ``W_std = 1``, ``b_std = 0``,
    then ReLU), a 2×2 average pool between blocks and :math:`\log_2 H - 2` final ones
    (down to 1×1), Flatten and a Dense readout (``W_std = 1``, ``b_std = 0``): the
    Myrtle family arXiv:2311.14646 used for its real-data eigenstructure (depth 10
    is ``layers=(3, 3, 3)``; the default ``(2, 1, 1)`` is its depth-5 variant).

    Normalisation: every weight layer has ``W_std = 1``, where neural-tangents'
    example ``MyrtleNetwork`` uses ``W_std = √2``. With no biases the kernel is
    homogeneous of degree 1 in :math:`\sigma_w^2` per weight layer, so that
    network's NTK is :math:`2^{L}` times this one, :math:`L` = ``sum(layers) + 1``
    weight layers (:math:`2^5` for the default): the same eigenvectors, spectral
    shape and exponents, eigenvalues scaled by :math:`2^{L}`.

    Analytic NTK in jax's 64-bit mode, on ``batch_size x batch_size`` jitted
    blocks. Under ``jit`` the entries of an image with itself can come out up to
    ~2e-9 relative off (the ReLU angle of a pixel with itself is ~sqrt(eps), not 0), so
    the entries of every pair of equal images (the diagonal, and exact duplicates)
    are recomputed op by op, exact to ~1e-15 relative (measured against a float128
    evaluation); the other entries agree with it to ~5e-16 of
    :math:`\sqrt{K_{xx}K_{x'x'}}`, except for nearly parallel distinct images,
    where neural-tangents' own angle formula leaves errors of up to ~1e-9 of
    :math:`\sqrt{K_{xx}K_{x'x'}}` (measured: 2e-10 to 6.5e-10 for
    :math:`x' = x + 10^{-7}` noise and :math:`x' = 2x` at the default depths,
    1.6e-9 for 4x4x2 images with one layer per stage; 7e-12 to 5e-11 for
    :math:`x' = -x`); docs/derivations/kernels.md §4.
    The result is exactly symmetric when ``x2`` is None. A convolutional kernel keeps
    the covariance of every pair of pixels, ``(H W)^2`` numbers per pair of
    images: on a CPU, budget about a millisecond per pair of 8×8 images, plus
    about 30 ms per image for its diagonal entry (and ~7 s once per new block
    shape for the op-by-op primitives).

    Args:
      x1: shape ``(n1, H, W, C)``, images with ``H == W`` a power of two >= 4.
      x2: shape ``(n2, H, W, C)``, or ``None`` for ``x1``.
      layers: convolutions per block, three integers >= 1.
      batch_size: images per block side, integer >= 1.

    Returns:
      float64 array of shape ``(n1, n2)``.

    Raises:
      ValueError: images not 4-D, not square, side not a power of two >= 4,
        non-finite, or different shapes; bad ``layers`` or ``batch_size``; an
        image's mean square or a layer variance outside [2^-450, 2^450].
      ImportError: jax or neural-tangents missing (with the install command).
    """
    a, b = _check_inputs(x1, x2, 4, "4-D array (n, H, W, C)")
    side = a.shape[1]
    if a.shape[2] != side or side < 4 or side & (side - 1):
        raise ValueError(
            f"x1 images must be square with a power-of-two side >= 4, got shape "
            f"{a.shape}"
        )
    blocks = _check_layers(layers)
    batch = integer("batch_size", batch_size, 1)
    # W_std = 1, b_std = 0: each ReLU layer halves the variance, as w = 1 here
    images = a if b is None else np.concatenate([a, b])
    _check_scale(images.reshape(images.shape[0], -1), sum(blocks), 1.0, 0.0)
    jax, _ = _stax()
    kernel_fn, self_ntk = _myrtle_kernel_fn(blocks, side)
    kernel = _nt_kernel(kernel_fn, a, b, ("ntk",), batch, jax)["ntk"]
    if b is None:  # exact symmetry (the two triangles come from different blocks)
        kernel = (kernel + kernel.T) / 2
    _myrtle_equal_pairs(kernel, a, b, self_ntk, batch, jax)
    return kernel
