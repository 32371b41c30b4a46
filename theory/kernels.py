r"""Infinite-width kernels of ReLU networks, and their eigen-data on a finite sample.

The kernels the random-feature (RF) eigenframework of Simon, Karkada, Ghosh & Belkin
(2024), arXiv:2311.14646, needs on real data (its Section 6 and Appendix "real data"):

* :func:`relu_nngp_ntk`: the NNGP and NTK of a fully connected ReLU network in the
  NTK parameterization, by the closed-form arc-cosine recursions (numpy, float64);
* :func:`relu_nngp_ntk_nt`: the same network through neural-tangents, which
  :func:`relu_nngp_ntk` reproduces to rounding;
* :func:`myrtle_ntk`: a small Myrtle-style convolutional NTK of images through
  neural-tangents, in batches;
* :func:`kernel_eigendata`: eigenvalues of :math:`K_n/n` and target coefficients
  :math:`v_i = u_i^\top Y/\sqrt n`, the inputs of :func:`theory.rf_ridge.rf_ridge_risk`.

The exponent proxies for :math:`(\alpha, \beta)` are in ``theory._kernel_exponents``
and re-exported here.

jax and neural-tangents are optional (the ``kernels`` extra): they are imported only
inside the functions that need them, so ``import theory.kernels`` and the closed forms
work without them. Derivation of the recursions: ``docs/derivations/kernels.md``.
"""

from __future__ import annotations

import functools
import math
import sys
import types
import warnings
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import floats
from theory._args import integer
from theory._args import plain
from theory._args import real
from theory._args import require
from theory._kernel_exponents import ExponentFit
from theory._kernel_exponents import alpha_proxy
from theory._kernel_exponents import beta_proxy
from theory._kernel_exponents import fit_power_law
from theory._kernel_exponents import ridgeless_test_mse
from theory._kernel_exponents import trace_inverse_scale

__all__ = [
    "EigenData",
    "ExponentFit",
    "KernelPair",
    "alpha_proxy",
    "beta_proxy",
    "fit_power_law",
    "kernel_eigendata",
    "myrtle_ntk",
    "neural_tangents_available",
    "relu_nngp_ntk",
    "relu_nngp_ntk_nt",
    "ridgeless_test_mse",
    "trace_inverse_scale",
]

# Rows of x1 per block: keeps the (block, n2) temporaries near 8 MB each.
_BLOCK_ELEMENTS = 1 << 20
_MAX_DEPTH = 1000
_NT_HINT = (
    "needs jax and neural-tangents (the `kernels` extra): "
    "pip install 'learning-dynamics[kernels]' && "
    "pip install --no-deps neural-tangents==0.6.5"
)


class KernelPair(NamedTuple):
    r"""The two infinite-width kernels of one network on one pair of input sets.

    Attributes:
      nngp: shape ``(n1, n2)``, the NNGP kernel :math:`\Sigma(x, x')` (the covariance
        of the network's output at initialization).
      ntk: shape ``(n1, n2)``, the neural tangent kernel :math:`\Theta(x, x')`.
    """

    nngp: np.ndarray
    ntk: np.ndarray


class EigenData(NamedTuple):
    r"""Eigen-data of a kernel on ``n`` sample points, largest eigenvalue first.

    Attributes:
      eigvals: shape ``(n,)``, eigenvalues of :math:`K_n/n`, descending; estimates of
        the kernel's Mercer eigenvalues :math:`\lambda_i`.
      coeffs: shape ``(n, c)``, :math:`v_i = u_i^\top Y/\sqrt n` for unit
        eigenvectors :math:`u_i` and ``c`` target columns.
      target_power: shape ``(n,)``, :math:`v_i^2 = \lVert v_i \rVert^2`, summed over
        the target columns.
    """

    eigvals: np.ndarray
    coeffs: np.ndarray
    target_power: np.ndarray


# ---------------------------------------------------------------------------- checks


def _check_inputs(x1: ArrayLike, x2: ArrayLike | None, ndim: int, what: str):
    a = floats("x1", x1)
    if a.ndim != ndim or a.shape[0] == 0 or 0 in a.shape:
        raise ValueError(f"x1 must be a non-empty {what}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("x1 must be finite, got a NaN or inf entry")
    if x2 is None:
        return a, None
    b = floats("x2", x2)
    if b.ndim != ndim or b.shape[0] == 0 or 0 in b.shape:
        raise ValueError(f"x2 must be a non-empty {what}, got shape {b.shape}")
    if b.shape[1:] != a.shape[1:]:
        raise ValueError(
            f"x1 and x2 must have the same feature shape, got x1 {a.shape} and "
            f"x2 {b.shape}"
        )
    if not np.all(np.isfinite(b)):
        raise ValueError("x2 must be finite, got a NaN or inf entry")
    return a, b


def _check_hyper(depth, weight_var, bias_var) -> tuple[int, float, float]:
    depth = integer("depth", depth, 1)
    require("depth", depth, depth <= _MAX_DEPTH, f"in [1, {_MAX_DEPTH}]")
    w, b = real("weight_var", weight_var), real("bias_var", bias_var)
    require("weight_var", w, math.isfinite(w) and w > 0, "> 0 and finite")
    require("bias_var", b, math.isfinite(b) and b >= 0, ">= 0 and finite")
    return depth, w, b


def _check_scale(rows: np.ndarray, depth: int, w: float, b: float) -> None:
    r"""ValueError unless :math:`|x|^2/d` of every non-zero input (``rows``) and every
    layer variance stay in [2^-450, 2^450].

    The variances of an input with itself, :math:`\Sigma^1 = w|x|^2/d + b` and
    :math:`\Sigma^{l+1} = w\Sigma^l/2 + b`, grow with :math:`|x|^2/d`, so the
    smallest and largest input bound them. Inside that range no product of two of
    them leaves float64; outside it the kernels came out NaN, or silently wrong (7.5 %
    off at :math:`|x| \sim 10^{-100}`). A zero input with ``b = 0`` (variance 0) is
    exact and allowed.
    """
    lo, hi = 2.0**-450, 2.0**450
    rng = "outside [2^-450, 2^450] (about 3e-136 to 3e135)"
    squares = np.einsum("ij,ij->i", rows, rows) / rows.shape[1]
    nonzero = squares[rows.any(axis=1)]
    out = nonzero[(nonzero < lo) | (nonzero > hi)]
    if out.size:
        raise ValueError(f"|x|^2/d of an input is {plain(out[0])!r}, {rng}")
    ends = [nonzero.min(), nonzero.max()] if nonzero.size else []
    if b > 0 and nonzero.size < squares.size:
        ends.append(0.0)  # a zero input has variance b
    v = w * np.array(ends) + b
    for layer in range(1, depth + 2):
        out = v[(v < lo) | (v > hi)]
        if out.size:
            raise ValueError(
                f"the variance of layer {layer} is {plain(out[0])!r}, {rng}: rescale "
                f"the inputs or change weight_var, bias_var or depth"
            )
        v = w * (v / 2) + b


# ---------------------------------------------------------------- closed-form kernels


def _relu_layer(cov, det, v1, v2, ntk, w, b):
    r"""One ReLU layer and the Dense layer after it (docs/derivations/kernels.md §4).

    ``det`` is :math:`D = \Sigma_{11}\Sigma_{22} - \Sigma_{12}^2`, carried through the
    layers without cancellation: with :math:`\theta = \operatorname{atan2}(\sqrt D,
    \Sigma_{12})` and :math:`s = \sqrt{\Sigma_{11}\Sigma_{22}}`,
    :math:`E = E[\phi(u)\phi(v)] = (\sqrt D + (\pi-\theta)\Sigma_{12})/2\pi`,
    :math:`E[\phi'(u)\phi'(v)] = (\pi-\theta)/2\pi`, and with
    :math:`sg = \pi(s - \Sigma_{12}) - (\sqrt D - \theta\Sigma_{12}) \ge 0`
    (:math:`s - \Sigma_{12} = D/(s + \Sigma_{12})` where :math:`\Sigma_{12} > 0`) the
    next determinant is :math:`w^2 (sg/2\pi)(s/2 + E) + w b ((\sqrt{\Sigma_{11}} -
    \sqrt{\Sigma_{22}})^2/2 + sg/\pi)`. Forming :math:`\Sigma'_{11}\Sigma'_{22} -
    \Sigma'^2_{12}` instead puts an error of ~eps/theta in the next angle.
    """
    root = np.sqrt(det)
    theta = np.arctan2(root, cov)
    # pi/2 where both vanish (a zero-variance input), as neural-tangents
    theta[(root == 0) & (cov == 0)] = np.pi / 2
    dot = 0.5 - theta / (2 * np.pi)
    relu = root / (2 * np.pi) + dot * cov
    s1, s2 = np.sqrt(v1)[:, None], np.sqrt(v2)[None, :]
    s = s1 * s2
    sg = s - cov  # then D/(s + cov) where cov > 0, free of cancellation
    np.divide(det, s + cov, out=sg, where=cov > 0)
    sg *= np.pi
    sg -= root - theta * cov
    np.maximum(sg, 0.0, out=sg)
    det = s / 2 + relu
    det *= sg
    det *= w * w / (2 * np.pi)
    if b:
        det += w * b * ((s1 - s2) ** 2 / 2 + sg / np.pi)
    cov = w * relu + b
    return cov, det, w * (v1 / 2) + b, w * (v2 / 2) + b, cov + w * ntk * dot


def _input_det(a, b, g12, d1, d2, w, bias):
    r"""Covariance and :math:`D` of the first Dense layer, :math:`D = w^2(d_1 d_2 -
    g_{12}^2) + w b |x - y|^2/d`, with both parts formed from the vectors where the
    difference form gives :math:`\sin^2\theta < 10^{-4}` (it cancels there):
    :math:`d_1 d_2 \sin^2\theta` with :math:`\sin\theta = |\hat x - \hat y|\,
    |\hat x + \hat y|/2` (Kahan's angle formula) and the squared distance itself."""
    cov = w * g12 + bias
    prod = (w * d1[:, None] + bias) * (w * d2[None, :] + bias)
    det = prod - cov * cov
    i, j = np.nonzero(det < 1e-4 * prod)
    if i.size:
        x, y, d = a[i], b[j], a.shape[1]
        nx = np.linalg.norm(x, axis=1, keepdims=True)
        ny = np.linalg.norm(y, axis=1, keepdims=True)
        xh = np.divide(x, nx, out=np.zeros_like(x), where=nx > 0)
        yh = np.divide(y, ny, out=np.zeros_like(y), where=ny > 0)
        sin = np.linalg.norm(xh - yh, axis=1) * np.linalg.norm(xh + yh, axis=1) / 2
        gram = d1[i] * d2[j] * sin * sin
        det[i, j] = w * w * gram + w * bias * np.sum((x - y) ** 2, axis=1) / d
    return cov, np.maximum(det, 0.0)


def _closed_form_block(a, b, g12, d1, d2, depth, w, bias):
    """NNGP and NTK of one block from the inputs, their Gram g12 and diagonals."""
    cov, det = _input_det(a, b, g12, d1, d2, w, bias)
    ntk = cov.copy()
    v1, v2 = w * d1 + bias, w * d2 + bias
    for _ in range(depth):
        cov, det, v1, v2, ntk = _relu_layer(cov, det, v1, v2, ntk, w, bias)
    return cov, ntk


def relu_nngp_ntk(
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    depth: int = 1,
    weight_var: float = 2.0,
    bias_var: float = 0.0,
    batch_size: int | None = None,
) -> KernelPair:
    r"""NNGP and NTK of a fully connected ReLU network, by the arc-cosine recursions.

    The network has ``depth`` hidden ReLU layers and a linear readout, in the NTK
    parameterization: neural-tangents'
    ``stax.serial(*[Dense(w, W_std=√σ_w², b_std=√σ_b²), Relu()] * depth,
    Dense(1, W_std=√σ_w², b_std=√σ_b²))``. With :math:`\Sigma^{(0)} = x\cdot x'/d`,
    :math:`\Sigma^{(1)} = \Theta^{(1)} = \sigma_w^2 \Sigma^{(0)} + \sigma_b^2` and,
    for each hidden layer :math:`\ell = 1..L`,

    .. math::

        \Sigma^{(\ell+1)} = \sigma_w^2\,\frac{\sin\theta_\ell + (\pi-\theta_\ell)
        \cos\theta_\ell}{2\pi}\sqrt{\Sigma^{(\ell)}_{xx}\Sigma^{(\ell)}_{x'x'}}
        + \sigma_b^2, \qquad
        \Theta^{(\ell+1)} = \Sigma^{(\ell+1)} + \sigma_w^2\,
        \frac{\pi-\theta_\ell}{2\pi}\,\Theta^{(\ell)},

    :math:`\cos\theta_\ell = \Sigma^{(\ell)}_{xx'}/\sqrt{\Sigma^{(\ell)}_{xx}
    \Sigma^{(\ell)}_{x'x'}}`; the result is :math:`(\Sigma^{(L+1)}, \Theta^{(L+1)})`
    (Cho & Saul 2009 arc-cosine kernels; Jacot, Gabriel & Hongler 2018,
    arXiv:1806.07572; derived in ``docs/derivations/kernels.md``). This is the
    kernel arXiv:2311.14646 uses for its ReLU random features (Section 6 and
    Fig. 1: depth 1, :math:`\sigma_w^2 = 2`; the RF kernel :math:`E[K_{RF}]` is
    ``nngp / weight_var`` when ``bias_var = 0``, the readout variance taken off).

    Args:
      x1: shape ``(n1, d)``, finite inputs.
      x2: shape ``(n2, d)``; ``None`` means ``x1`` (then the result is exactly
        symmetric).
      depth: number L of hidden ReLU layers, integer >= 1.
      weight_var: :math:`\sigma_w^2 > 0`, the same for every layer.
      bias_var: :math:`\sigma_b^2 \ge 0`, the same for every layer.
      batch_size: rows of ``x1`` per block (memory bound of the temporaries);
        default about 8 MB per temporary. The result does not depend on it.

    Returns:
      :class:`KernelPair` of float64 arrays of shape ``(n1, n2)``.

    Raises:
      ValueError: inputs not 2-D, empty, non-finite or of different widths ``d``;
        ``depth`` not an integer in [1, 1000]; ``weight_var <= 0``;
        ``bias_var < 0``; ``batch_size < 1``; an input's :math:`|x|^2/d` or a layer
        variance outside [2^-450, 2^450] (where float64 products would overflow or
        underflow).

    Examples:
      >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
      >>> k = relu_nngp_ntk(x)  # |x|^2/d = 1/2; orthogonal and opposite pairs
      >>> k.nngp.round(5).tolist()[0]  # [w(w/2)/2, w(w/2)/(2 pi), 0] at w = 2
      [1.0, 0.31831, 0.0]
      >>> k.ntk[0, 0], k.ntk[0, 2]  # 1 + w (w/2)/2 on the diagonal; 0 opposite
      (np.float64(2.0), np.float64(0.0))
    """
    a, b = _check_inputs(x1, x2, 2, "2-D array (n, d)")
    depth, w, bv = _check_hyper(depth, weight_var, bias_var)
    batch = None if batch_size is None else integer("batch_size", batch_size, 1)
    d = a.shape[1]
    sym = b is None
    b = a if sym else b
    d1 = np.einsum("ij,ij->i", a, a) / d
    d2 = d1 if sym else np.einsum("ij,ij->i", b, b) / d
    _check_scale(a if sym else np.concatenate([a, b]), depth, w, bv)
    n1, n2 = a.shape[0], b.shape[0]
    rows = batch or max(1, _BLOCK_ELEMENTS // n2)
    nngp, ntk = np.empty((n1, n2)), np.empty((n1, n2))
    for start in range(0, n1, rows):
        part = slice(start, start + rows)
        g12 = a[part] @ b.T / d
        if sym:  # the diagonal of the Gram is d1 exactly (exact kernels there)
            idx = np.arange(part.start, min(part.stop, n1))
            g12[idx - start, idx] = d1[idx]
        nngp[part], ntk[part] = _closed_form_block(
            a[part], b, g12, d1[part], d2, depth, w, bv
        )
    if sym:  # exact symmetry (a@b.T blocks may round the two triangles differently)
        nngp = (nngp + nngp.T) / 2
        ntk = (ntk + ntk.T) / 2
    return KernelPair(nngp, ntk)


# ------------------------------------------------------------ neural-tangents paths


def neural_tangents_available() -> bool:
    """Whether jax and neural-tangents import (the ``kernels`` extra is installed).

    Examples:
      >>> isinstance(neural_tangents_available(), bool)
      True
    """
    try:
        _stax()
    except ImportError:
        return False
    return True


def _stax():
    """neural-tangents' ``stax`` and ``jax``, imported lazily.

    neural-tangents 0.6.5 imports its ``experimental`` subpackage, which needs
    tensorflow; the kernels never use it, so an empty module stands in for it when
    tensorflow is absent (neural-tangents is installed with ``--no-deps``).
    """
    try:
        import jax
    except ImportError as err:
        raise ImportError(f"jax is not installed: {_NT_HINT}") from err
    if "neural_tangents" not in sys.modules:
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            name = "neural_tangents.experimental"
            sys.modules.setdefault(name, types.ModuleType(name))
    try:
        with warnings.catch_warnings():  # its jax.core imports are deprecated in 0.5
            warnings.simplefilter("ignore", DeprecationWarning)
            from neural_tangents import stax
    except ImportError as err:
        raise ImportError(
            f"neural-tangents does not import ({err}): {_NT_HINT}"
        ) from err
    return jax, stax


def _nt_kernel(kernel_fn, a, b, get, batch, jax):
    """Evaluate an analytic ``kernel_fn`` in float64 over blocks of a and b.

    Every block has one shape (the last ones are zero-padded), so a jitted
    ``kernel_fn`` compiles once. The fully connected kernels run op by op: under
    ``jit`` XLA may round the input Gram and its diagonal differently, which moves
    the ReLU angle of nearly parallel pairs (the diagonal included) by about
    sqrt(eps).
    """
    import jax.numpy as jnp

    b = a if b is None else b
    n1, n2 = a.shape[0], b.shape[0]
    batch = min(batch, max(n1, n2))
    out = {g: np.empty((n1, n2)) for g in get}

    def padded(x, start):  # one block shape, so the jitted kernel compiles once
        block = x[start : start + batch]
        pad = np.zeros((batch - block.shape[0], *x.shape[1:]))
        return jnp.asarray(np.concatenate([block, pad]), dtype=jnp.float64)

    with jax.experimental.enable_x64():
        for i in range(0, n1, batch):
            xi, rows = padded(a, i), min(batch, n1 - i)
            for j in range(0, n2, batch):
                cols = min(batch, n2 - j)
                k = kernel_fn(xi, padded(b, j), get=get)
                for g in get:
                    block = np.asarray(getattr(k, g), dtype=np.float64)
                    out[g][i : i + rows, j : j + cols] = block[:rows, :cols]
    return out


def relu_nngp_ntk_nt(
    x1: ArrayLike,
    x2: ArrayLike | None = None,
    *,
    depth: int = 1,
    weight_var: float = 2.0,
    bias_var: float = 0.0,
    batch_size: int = 256,
) -> KernelPair:
    r"""The kernels of :func:`relu_nngp_ntk`, computed by neural-tangents.

    ``stax.serial(*[Dense(1, W_std=√σ_w², b_std=√σ_b²), Relu()] * depth,
    Dense(1, W_std=√σ_w², b_std=√σ_b²))``, analytic ``kernel_fn`` in jax's 64-bit
    mode (the width is irrelevant), evaluated on ``batch_size x batch_size`` blocks.
    Needs the ``kernels`` extra (jax 0.5.3 and neural-tangents 0.6.5, installed with
    ``--no-deps``); jax runs on its default device.

    Args:
      x1, x2, depth, weight_var, bias_var: as :func:`relu_nngp_ntk`.
      batch_size: rows and columns per block, integer >= 1.

    Returns:
      :class:`KernelPair` of float64 arrays of shape ``(n1, n2)``.

    Raises:
      ValueError: as :func:`relu_nngp_ntk`.
      ImportError: jax or neural-tangents missing (with the install command).
    """
    a, b = _check_inputs(x1, x2, 2, "2-D array (n, d)")
    depth, w, bv = _check_hyper(depth, weight_var, bias_var)
    batch = integer("batch_size", batch_size, 1)
    _check_scale(a if b is None else np.concatenate([a, b]), depth, w, bv)
    jax, stax = _stax()
    ws, bs = math.sqrt(w), math.sqrt(bv)
    layers = [stax.Dense(1, W_std=ws, b_std=bs), stax.Relu()] * depth
    _, _, kernel_fn = stax.serial(*layers, stax.Dense(1, W_std=ws, b_std=bs))
    out = _nt_kernel(kernel_fn, a, b, ("nngp", "ntk"), batch, jax)
    return KernelPair(out["nngp"], out["ntk"])


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
    """The jitted analytic kernel function of one Myrtle network (compiled once)."""
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
    return jax.jit(kernel_fn, static_argnames="get")


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
    (down to 1×1), Flatten and a Dense readout: the Myrtle family arXiv:2311.14646
    used for its real-data eigenstructure (depth 10 is ``layers=(3, 3, 3)``; the
    default ``(2, 1, 1)`` is its depth-5 variant). Analytic NTK in jax's 64-bit mode,
    on ``batch_size x batch_size`` blocks. A convolutional kernel keeps the
    covariance of every pair of pixels, ``(H W)^2`` numbers per pair of images: on a
    CPU, budget about a millisecond per pair of 8×8 images.

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
    kernel_fn = _myrtle_kernel_fn(blocks, side)
    return _nt_kernel(kernel_fn, a, b, ("ntk",), batch, jax)["ntk"]


# ----------------------------------------------------------------------- eigen-data


def kernel_eigendata(kernel: ArrayLike, targets: ArrayLike) -> EigenData:
    r"""Eigenvalues of :math:`K_n/n` and target coefficients on ``n`` sample points.

    With :math:`K_n = U\,\mathrm{diag}(\mu)\,U^\top` (``eigh``, float64):
    :math:`\lambda_i = \mu_i/n` and :math:`v_i = u_i^\top Y/\sqrt n`, so that
    :math:`\sum_i v_i^2 = \lVert Y\rVert^2/n` and :math:`K_n/n = \sum_i \lambda_i
    \phi_i\phi_i^\top` with :math:`\phi_i = \sqrt n\,u_i` orthonormal in the
    empirical measure: the plug-in estimates of the Mercer eigenvalues and target
    eigencoefficients arXiv:2311.14646 feeds its eigenframework on real data
    (Section 6 and the eigenspectra figure). Eigenvalues are sorted descending;
    eigenvector signs are arbitrary, ``target_power`` is not.

    Args:
      kernel: shape ``(n, n)``, a symmetric positive semi-definite kernel matrix.
      targets: shape ``(n,)`` or ``(n, c)``, targets of the same points.

    Returns:
      :class:`EigenData`; ``coeffs`` is ``(n, c)`` (``c = 1`` for 1-D targets).

    Raises:
      ValueError: ``kernel`` not square, not symmetric to 1e-8 relative, not finite;
        ``targets`` of the wrong length or non-finite.

    Examples:
      >>> K = np.diag([4.0, 2.0])
      >>> e = kernel_eigendata(K, [1.0, 3.0])
      >>> e.eigvals.tolist(), e.target_power.round(12).tolist()
      ([2.0, 1.0], [0.5, 4.5])
    """
    K = floats("kernel", kernel)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] == 0:
        raise ValueError(f"kernel must be a non-empty square matrix, got {K.shape}")
    if not np.all(np.isfinite(K)):
        raise ValueError("kernel must be finite, got a NaN or inf entry")
    scale = max(float(np.abs(K).max()), np.finfo(float).tiny)
    if np.abs(K - K.T).max() > 1e-8 * scale:
        raise ValueError("kernel must be symmetric, got |K - K.T| > 1e-8 max|K|")
    Y = floats("targets", targets)
    Y = Y[:, None] if Y.ndim == 1 else Y
    if Y.ndim != 2 or Y.shape[0] != K.shape[0]:
        raise ValueError(
            f"targets must have shape (n,) or (n, c) with n = {K.shape[0]} (the "
            f"kernel's size), got {np.shape(targets)}"
        )
    if not np.all(np.isfinite(Y)):
        raise ValueError("targets must be finite, got a NaN or inf entry")
    n = K.shape[0]
    mu, U = np.linalg.eigh((K + K.T) / 2)
    order = np.argsort(mu)[::-1]
    mu, U = mu[order], U[:, order]
    coeffs = U.T @ Y / math.sqrt(n)
    power = np.einsum("ic,ic->i", coeffs, coeffs)
    if not np.all(np.isfinite(power)):
        raise ValueError(
            f"targets up to {np.abs(Y).max():g} give squared coefficients beyond "
            "float64 (about 1.8e308): rescale the targets"
        )
    return EigenData(mu / n, coeffs, power)
