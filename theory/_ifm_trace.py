r"""The output-error bound of one merge and its replay along an IFM run (private).

Derivation: ``docs/derivations/ifm.md`` §5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from theory._args import positive
from theory._args import real
from theory._ifm_layers import _tensor

__all__ = [
    "ErrorTrace",
    "ScaleStep",
    "ifm_error_trace",
    "merge_error_bound",
    "mlp_forward",
]


@dataclass(frozen=True)
class ScaleStep:
    """Exact rescaling of hidden layer ``layer``: rows divided by ``scale``, outgoing
    columns multiplied by it; units in ``zero`` (zero features) zeroed."""

    layer: int
    scale: torch.Tensor
    zero: torch.Tensor


class ErrorTrace(NamedTuple):
    r"""Per-step output change of an IFM run and its bound, on a batch of inputs.

    Attributes:
      layer: ``(T,)`` hidden layer of each step (``-1`` never occurs).
      deviation: ``(T, B)`` :math:`\lVert f_t(x) - f_{t-1}(x)\rVert_2` per step.
      bound: ``(T, B)`` the step's bound (:func:`merge_error_bound` times the
        spectral norms of the later layers; 0 for exact rescalings).
      total_deviation: ``(B,)`` :math:`\lVert f_T(x) - f_0(x)\rVert_2`.
      total_bound: ``(B,)`` the sum of the step bounds (triangle inequality).
    """

    layer: torch.Tensor
    deviation: torch.Tensor
    bound: torch.Tensor
    total_deviation: torch.Tensor
    total_bound: torch.Tensor


def _count(name: str, n) -> float:
    if isinstance(n, torch.Tensor) and n.numel() == 1:
        n = n.item()
    return float(positive(name, real(name, n)))


def mlp_forward(layers, x: torch.Tensor) -> torch.Tensor:
    r""":math:`f(x) = W_L\sigma(\dots\sigma(W_1x+b_1)\dots)+b_L`, ReLU :math:`\sigma`.

    Args:
      layers: ``(weight, bias)`` pairs, ``weight`` of shape ``(out, in)`` (finite
        tensors or arrays; ``bias`` ``(out,)`` or ``None``); computed in the first
        weight's dtype (float64 if it is not floating), keeping autograd.
      x: ``(B, in)`` finite inputs.

    Raises:
      ValueError: no layers, a layer that is not such a pair, shapes that do not
        chain, or ``x`` of the wrong shape or with a non-finite entry.

    Example:
      >>> import torch
      >>> layers = [(torch.tensor([[1.0], [-1.0]]), torch.zeros(2)),
      ...           (torch.tensor([[1.0, 1.0]]), torch.zeros(1))]
      >>> mlp_forward(layers, torch.tensor([[-3.0], [2.0]])).ravel().tolist()
      [3.0, 2.0]
    """
    pairs = _pairs(layers)
    w0 = pairs[0][0]
    h = _like("x", x, w0)
    if h.ndim != 2 or h.shape[1] != w0.shape[1]:
        raise ValueError(f"x must have shape (B, {w0.shape[1]}), got {tuple(h.shape)}")
    for i, (w, b) in enumerate(pairs):
        h = h @ w.T + b
        if i < len(pairs) - 1:
            h = torch.relu(h)
    return h


def _like(name: str, v, ref: torch.Tensor | None) -> torch.Tensor:
    """``v`` as a float tensor of ``ref``'s dtype and device (for the first weight,
    ``ref=None``: its own floating dtype, else float64); a tensor is converted, not
    copied, so autograd flows through it."""
    if isinstance(v, torch.Tensor) and v.is_floating_point():
        if not torch.isfinite(v).all():
            raise ValueError(f"{name} has non-finite entries")
        return v if ref is None else v.to(dtype=ref.dtype, device=ref.device)
    if ref is None:
        device = v.device if isinstance(v, torch.Tensor) else torch.device("cpu")
        return _tensor(name, v, torch.float64, device)
    return _tensor(name, v, ref.dtype, ref.device)


def _pairs(layers) -> list:
    """``layers`` as ``(weight, bias)`` tensors of the first weight's dtype and
    device, checked to chain."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__"):
        raise ValueError(
            f"layers must be a list of layers, got {type(layers).__name__}"
        )
    if not len(layers):
        raise ValueError("layers must have at least 1 layer, got none")
    pairs: list = []
    for i, layer in enumerate(layers):
        try:
            w, b = layer
        except (TypeError, ValueError):
            raise ValueError(f"layers[{i}] must be a (weight, bias) pair") from None
        w = _like(f"layers[{i}].weight", w, pairs[0][0] if pairs else None)
        if w.ndim != 2:
            raise ValueError(
                f"layers[{i}].weight must be 2-D (out, in), got shape {tuple(w.shape)}"
            )
        b = w.new_zeros(w.shape[0]) if b is None else _like(f"layers[{i}].bias", b, w)
        if b.shape != (w.shape[0],):
            raise ValueError(
                f"layers[{i}].bias has shape {tuple(b.shape)}, expected ({w.shape[0]},)"
            )
        if i and w.shape[1] != pairs[-1][0].shape[0]:
            raise ValueError(
                f"layers[{i}].weight has {w.shape[1]} inputs but layers[{i - 1}] has "
                f"{pairs[-1][0].shape[0]} outputs: shapes do not chain"
            )
        pairs.append((w, b))
    return pairs


def merge_error_bound(a_i, a_j, u_i, u_j, n_i, n_j):
    r"""Bound on the change of the next pre-activation when units i, j are merged.

    With per-original-unit mean pre-activations :math:`\bar a_k` and mean outgoing
    columns :math:`\bar u_k` (a unit representing :math:`n_k` originals contributes
    :math:`n_k\bar u_k\sigma(\bar a_k)`), the merge replaces both by
    :math:`(n_i\bar u_i+n_j\bar u_j)\sigma(\lambda\bar a_i+(1-\lambda)\bar a_j)`,
    :math:`\lambda = n_i/N`, :math:`N=n_i+n_j`. Since ReLU is 1-Lipschitz,

    .. math::

        \lVert e(x)\rVert \le \frac{n_i n_j}{N}
        \big(\lVert\bar u_i\rVert+\lVert\bar u_j\rVert\big)\,|\bar a_i-\bar a_j|,

    tight (equality at :math:`\bar u_j = -\bar u_i`, both pre-activations positive).
    ``docs/derivations/ifm.md`` §5. The arrays may be tensors or array-likes; the
    bound is computed in float64 on the device of ``a_i``.

    Args:
      a_i, a_j: ``(B,)`` mean pre-activations :math:`\bar a_i, \bar a_j` per input.
      u_i, u_j: ``(m,)`` mean outgoing columns.
      n_i, n_j: counts (> 0).

    Returns:
      ``(B,)`` float64 tensor.

    Example:
      >>> import torch
      >>> merge_error_bound(torch.tensor([3.0]), torch.tensor([1.0]),
      ...                   torch.tensor([1.0]), torch.tensor([-1.0]), 1, 1).tolist()
      [2.0]
    """
    device = a_i.device if isinstance(a_i, torch.Tensor) else torch.device("cpu")
    a_i, a_j, u_i, u_j = (
        _tensor(name, v, torch.float64, device)
        for name, v in (("a_i", a_i), ("a_j", a_j), ("u_i", u_i), ("u_j", u_j))
    )
    n_i, n_j = (_count(name, n) for name, n in (("n_i", n_i), ("n_j", n_j)))
    if u_i.ndim != 1 or u_i.shape != u_j.shape:
        raise ValueError(
            f"u_i and u_j must be 1-D of one length, got {tuple(u_i.shape)} and "
            f"{tuple(u_j.shape)}"
        )
    if a_i.ndim != 1 or a_i.shape != a_j.shape:
        raise ValueError(
            f"a_i and a_j must be 1-D of one length, got {tuple(a_i.shape)} and "
            f"{tuple(a_j.shape)}"
        )
    # n_i n_j / (n_i + n_j) without forming n_i + n_j, which may overflow
    coef = n_j / (1.0 + n_j / n_i) * (_norm(u_i) + _norm(u_j))
    bound = coef * (a_i - a_j).abs()
    if not torch.isfinite(bound).all():
        raise ValueError("the bound exceeds the float64 range (inputs too large)")
    return bound


def _norm(u: torch.Tensor) -> torch.Tensor:
    """Euclidean norm without overflow or underflow of the squares."""
    if u.numel() == 0:
        return u.new_zeros(())
    m = u.abs().max()
    return m * torch.linalg.norm(u / m) if m > 0 else m


def _row_norms(d: torch.Tensor) -> torch.Tensor:
    """Euclidean norm of each row of ``(B, m)`` ``d``, without overflow of the squares
    (a plain norm is inf for entries above ~1e154)."""
    if d.shape[1] == 0:
        return d.new_zeros(d.shape[0])
    m = d.abs().amax(dim=1, keepdim=True)
    return m.squeeze(1) * torch.linalg.norm(d / torch.where(m > 0, m, 1.0), dim=1)


def ifm_error_trace(result, x: torch.Tensor) -> ErrorTrace:
    r"""Replay an MLP's IFM run step by step on inputs ``x`` and bound every step.

    Starting from ``result.start``, each recorded step is applied to dense weights;
    the step's bound is :func:`merge_error_bound` on the current layer input times
    :math:`\prod_{k > l+1}\lVert W_k\rVert_2` (ReLU is 1-Lipschitz), and the measured
    change is the output difference before/after the step. Exact rescalings have
    bound 0 (their measured change is rounding).

    Args:
      result: an :class:`~theory.feature_merging.IFMResult` of an MLP.
      x: ``(B, in)`` inputs.

    Returns:
      :class:`ErrorTrace`.

    Raises:
      ValueError: a network that is not an MLP; ``x`` of the wrong shape, with a
        non-finite entry, or whose outputs exceed the float64 range.
    """
    if not all(hasattr(result, k) for k in ("start", "steps", "layers")):
        raise ValueError(
            f"result must be the IFMResult of ifm, got {type(result).__name__}"
        )
    W = [w.clone() for w, _ in result.start]
    b = [bb.clone() for _, bb in result.start]
    if any(w.ndim != 2 for w in W) or any(
        W[i + 1].shape[1] != W[i].shape[0] for i in range(len(W) - 1)
    ):
        raise ValueError("ifm_error_trace needs an MLP (Linear layers only)")
    if any(getattr(layer, "bn", None) is not None for layer in result.layers):
        raise ValueError(
            "ifm_error_trace cannot replay an official-mode run with BatchNorm (the "
            "BatchNorm stays outside its steps); use mode='exact', which folds it"
        )
    x = _tensor("x", x, W[0].dtype, W[0].device)
    if x.ndim != 2 or x.shape[1] != W[0].shape[1]:
        raise ValueError(
            f"x must have shape (B, {W[0].shape[1]}), got {tuple(x.shape)}"
        )
    counts = [torch.ones(w.shape[0], dtype=w.dtype, device=w.device) for w in W[:-1]]
    f_prev = mlp_forward(list(zip(W, b, strict=True)), x)
    if not torch.isfinite(f_prev).all():
        raise ValueError("the network's outputs at x exceed the float64 range")
    f0 = f_prev
    layers, devs, bounds = [], [], []
    for st in result.steps:
        h = st.layer
        if isinstance(st, ScaleStep):
            W[h] /= st.scale.unsqueeze(1)
            b[h] /= st.scale
            W[h + 1] *= st.scale.unsqueeze(0)
            W[h][st.zero] = 0.0
            b[h][st.zero] = 0.0
            W[h + 1][:, st.zero] = 0.0
            bound = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        else:
            i, j = st.keep, st.drop
            hin = x
            for k in range(h):
                hin = torch.relu(hin @ W[k].T + b[k])
            a = hin @ W[h][[i, j]].T + b[h][[i, j]]
            ni, nj = counts[h][i], counts[h][j]
            ci, cj = W[h + 1][:, i], W[h + 1][:, j]
            if st.rule == "collapse":
                bz = _norm(cj) * (a[:, 0] - a[:, 1]).abs()
            elif st.rule == "official":
                bz = merge_error_bound(a[:, 0] / ni, a[:, 1] / nj, ci, cj, ni, nj)
            else:
                bz = merge_error_bound(a[:, 0], a[:, 1], ci / ni, cj / nj, ni, nj)
            amp = 1.0
            for k in range(h + 2, len(W)):
                amp = amp * torch.linalg.matrix_norm(W[k], ord=2)
            bound = bz * amp
            if not torch.isfinite(bound).all():
                raise ValueError(
                    f"the bound of step {len(layers)} exceeds the float64 range at x "
                    "(x or the weights too large)"
                )
            N = ni + nj
            if st.rule == "official":
                W[h][i] += W[h][j]
                b[h][i] += b[h][j]
                W[h + 1][:, i] = (ci * ni + cj * nj) / N
            elif st.rule == "exact":
                W[h][i] = (W[h][i] * ni + W[h][j] * nj) / N
                b[h][i] = (b[h][i] * ni + b[h][j] * nj) / N
                W[h + 1][:, i] = ci + cj
            else:
                W[h + 1][:, i] = ci + cj
            W[h][j] = 0.0
            b[h][j] = 0.0
            W[h + 1][:, j] = 0.0
            counts[h][i] = N
            counts[h][j] = 0.0
        f_new = mlp_forward(list(zip(W, b, strict=True)), x)
        layers.append(h)
        devs.append(_row_norms(f_new - f_prev))
        bounds.append(bound)
        f_prev = f_new
    B = x.shape[0]
    dev = torch.stack(devs) if devs else x.new_zeros((0, B))
    bnd = torch.stack(bounds) if bounds else x.new_zeros((0, B))
    return ErrorTrace(
        torch.tensor(layers, dtype=torch.long),
        dev,
        bnd,
        _row_norms(f_prev - f0),
        bnd.sum(0),
    )
