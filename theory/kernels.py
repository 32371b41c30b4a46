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

The exponent proxies for :math:`(\alpha, \beta)` are in ``theory._kernel_exponents``,
the Myrtle NTK in ``theory._kernel_myrtle`` and the shared input checks and
neural-tangents plumbing in ``theory._kernel_common``; all are re-exported here.

jax and neural-tangents are optional (the ``kernels`` extra): they are imported only
inside the functions that need them, so ``import theory.kernels`` and the closed forms
work without them. Derivation of the recursions: ``docs/derivations/kernels.md``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import floats
from theory._args import integer
from theory._args import real
from theory._args import require
from theory._kernel_common import _check_inputs
from theory._kernel_common import _check_scale
from theory._kernel_common import _nt_kernel
from theory._kernel_common import _stax
from theory._kernel_common import neural_tangents_available
from theory._kernel_exponents import ExponentFit
from theory._kernel_exponents import alpha_proxy
from theory._kernel_exponents import beta_proxy
from theory._kernel_exponents import check_kernel_matrix
from theory._kernel_exponents import check_psd
from theory._kernel_exponents import fit_power_law
from theory._kernel_exponents import ridgeless_test_mse
from theory._kernel_exponents import trace_inverse_scale
from theory._kernel_myrtle import myrtle_ntk

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


def _check_hyper(depth, weight_var, bias_var) -> tuple[int, float, float]:
    depth = integer("depth", depth, 1)
    require("depth", depth, depth <= _MAX_DEPTH, f"in [1, {_MAX_DEPTH}]")
    w, b = real("weight_var", weight_var), real("bias_var", bias_var)
    require("weight_var", w, math.isfinite(w) and w > 0, "> 0 and finite")
    require("bias_var", b, math.isfinite(b) and b >= 0, ">= 0 and finite")
    return depth, w, b


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


# ----------------------------------------------------------------------- eigen-data


def kernel_eigendata(kernel: ArrayLike, targets: ArrayLike) -> EigenData:
    r"""Eigenvalues of :math:`K_n/n` and target coefficients on ``n`` sample points.

    With :math:`K_n = U\,\mathrm{diag}(\mu)\,U^\top` (``eigh``, float64):
    :math:`\lambda_i = \mu_i/n` and :math:`v_i = u_i^\top Y/\sqrt n`, so that
    :math:`\sum_i v_i^2 = \lVert Y\rVert^2/n` and :math:`K_n/n = \sum_i \lambda_i
    \phi_i\phi_i^\top` with :math:`\phi_i = \sqrt n\,u_i` orthonormal in the
    empirical measure: the plug-in estimates of the Mercer eigenvalues and target
    eigencoefficients arXiv:2311.14646 feeds its eigenframework on real data
    (Section 6 and the eigenspectra figure). Eigenvalues are sorted descending.

    What is determined: the eigenvalues, to about ``4e-16`` times the largest in
    absolute terms (not relative: the small ones of a badly conditioned kernel
    carry that absolute error). Eigenvector signs are arbitrary, so ``coeffs`` is
    defined up to the sign of each row. ``target_power`` does not depend on the
    signs, but for a repeated eigenvalue the eigenvectors are any basis of its
    eigenspace, so only the sum of ``target_power`` over that eigenspace is
    defined: rounding can move all of it onto one member (``diag(1, 1, 0.5)``
    rotated, ``Y`` along one eigenvector: ``[0.333, 0.000, 0]`` becomes
    ``[0.009, 0.325, 0]`` when ``1e-15`` is added along another). Likewise for
    nearly equal eigenvalues and for the small eigenvalues of a badly conditioned
    kernel, whose eigenvectors are accurate only to about
    ``eps max|mu| / gap``: at condition number 1e15 (``n = 30``) the
    per-eigenvector power was off by ``1e-4`` of the total against a 40-digit
    evaluation, at 1e12 (``n = 20``) by ``7e-8``. Sums over well-separated groups
    of modes (and ``sum(target_power) = |Y|^2/n``) are reliable.

    Args:
      kernel: shape ``(n, n)``, a symmetric positive semi-definite kernel matrix:
        symmetric to 1e-8 of its largest entry (it is symmetrized) and with
        smallest eigenvalue >= -1e-9 times the largest (rounding-level negative
        eigenvalues are returned as they are).
      targets: shape ``(n,)`` or ``(n, c)``, targets of the same points.

    Returns:
      :class:`EigenData`; ``coeffs`` is ``(n, c)`` (``c = 1`` for 1-D targets).

    Raises:
      ValueError: ``kernel`` not square, not symmetric to 1e-8 relative, not
        positive semi-definite to 1e-9 relative, not finite; ``targets`` of the
        wrong length or non-finite.

    Examples:
      >>> K = np.diag([4.0, 2.0])
      >>> e = kernel_eigendata(K, [1.0, 3.0])
      >>> e.eigvals.tolist(), e.target_power.round(12).tolist()
      ([2.0, 1.0], [0.5, 4.5])
    """
    K = check_kernel_matrix("kernel", kernel)
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
    mu, U = np.linalg.eigh(K)
    check_psd("kernel", mu)
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
