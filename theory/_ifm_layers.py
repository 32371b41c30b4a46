"""Layer containers, input checks and the chain view of a network (private)."""

from __future__ import annotations

from typing import NamedTuple

import torch

from theory._args import bounded

__all__ = [
    "BatchNorm",
    "Chain",
    "ConvLayer",
    "check_dtype",
    "check_scale",
    "from_chain",
    "to_chain",
]


class BatchNorm(NamedTuple):
    """Eval-mode BatchNorm parameters of one layer, each of shape ``(channels,)``."""

    weight: torch.Tensor
    bias: torch.Tensor
    running_mean: torch.Tensor
    running_var: torch.Tensor
    eps: float = 1e-5


class ConvLayer(NamedTuple):
    """One layer of a conv net: ``weight`` ``(C_out, C_in, kh, kw)`` or ``(out, in)``.

    ``bias`` (``(C_out,)`` or ``None``) and an optional BatchNorm applied after it.
    """

    weight: torch.Tensor
    bias: torch.Tensor | None = None
    bn: BatchNorm | None = None


class Chain(NamedTuple):
    W: list  # (n_l, n_{l-1}, s_l)
    b: list  # (n_l,)
    bn: list  # BatchNorm or None per layer
    shapes: list  # original weight shapes
    conv: bool  # whether the layers were given as ConvLayer
    no_bias: tuple = ()  # per layer, whether it was given with bias None


# The largest |entry| of a layer's weights and bias must lie in [2^-e, 2^e] for the
# working dtype (0, an all-zero layer, is allowed): IFM's squared distances sum
# squares of such entries, which then neither overflow nor underflow. e is about a
# fifth of the dtype's largest exponent (1024 for float64, 128 for float32).
_SCALE_EXP = {torch.float64: 200, torch.float32: 25}


def check_dtype(dtype) -> torch.dtype:
    """``dtype`` if IFM can work in it (float64 or float32), else ValueError."""
    if dtype not in _SCALE_EXP:
        raise ValueError(
            f"dtype must be torch.float64 or torch.float32, got dtype={dtype!r}"
        )
    return dtype


def check_scale(i: int, w: torch.Tensor, bias: torch.Tensor, what: str = "") -> None:
    """ValueError naming ``layers[i]`` (``what`` says at which stage) if its largest
    absolute weight or bias is outside the range of ``_SCALE_EXP`` for its dtype."""
    e = _SCALE_EXP[w.dtype]
    top = float(max(w.abs().max(), bias.abs().max()))
    if top and not 2.0**-e <= top <= 2.0**e:
        raise ValueError(
            f"layers[{i}]{what}: its largest |weight| or |bias| is {top:g}, outside "
            f"[2^-{e}, 2^{e}] (about {2.0**-e:.0e} to {2.0**e:.0e}), where IFM's "
            f"squared distances would overflow or underflow {w.dtype}; rescale the "
            "layers"
        )


def _tensor(name, x, dtype, device):
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(
                f"{name} must be a tensor, got {type(x).__name__}"
            ) from None
    if x.is_complex() or x.dtype == torch.bool:
        raise ValueError(f"{name} must be real, got dtype {x.dtype}")
    x = x.detach().to(dtype=dtype, device=device)
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} has non-finite entries")
    return x.clone()


def to_chain(layers, dtype=torch.float64) -> Chain:
    """Check a layer list and view it as a chain of ``(n, n_prev, s)`` tensors."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__"):
        raise ValueError(
            f"layers must be a list of layers, got {type(layers).__name__}"
        )
    if len(layers) < 2:
        raise ValueError(
            f"layers must have at least 2 layers, got len(layers)={len(layers)}"
        )
    check_dtype(dtype)
    conv = any(isinstance(layer, ConvLayer) for layer in layers)
    W, b, bns, shapes, no_bias = [], [], [], [], []
    device = None
    for i, layer in enumerate(layers):
        if isinstance(layer, ConvLayer):
            w, bias, bn = layer
        else:
            try:
                w, bias = layer
            except (TypeError, ValueError):
                raise ValueError(
                    f"layers[{i}] must be a (weight, bias) pair or a ConvLayer"
                ) from None
            bn = None
        if device is None:
            device = w.device if isinstance(w, torch.Tensor) else torch.device("cpu")
        w = _tensor(f"layers[{i}].weight", w, dtype, device)
        if w.ndim not in (2, 4):
            raise ValueError(
                f"layers[{i}].weight must be 2-D (out, in) or 4-D (out, in, kh, kw), "
                f"got shape {tuple(w.shape)}"
            )
        if w.ndim == 4 and i == len(layers) - 1:
            raise ValueError(
                f"layers[{i}] (the head) must be a Linear layer, got 4-D weight"
            )
        if min(w.shape) < 1:
            raise ValueError(f"layers[{i}].weight is empty, shape {tuple(w.shape)}")
        n = w.shape[0]
        no_bias.append(bias is None)
        if bias is None:
            bias = torch.zeros(n, dtype=dtype, device=device)
        bias = _tensor(f"layers[{i}].bias", bias, dtype, device)
        if bias.shape != (n,):
            raise ValueError(
                f"layers[{i}].bias has shape {tuple(bias.shape)}, expected ({n},) to "
                f"match layers[{i}].weight {tuple(w.shape)}"
            )
        if bn is not None:
            if not isinstance(bn, BatchNorm):
                raise ValueError(
                    f"layers[{i}].bn must be a BatchNorm or None, got "
                    f"{type(bn).__name__}"
                )
            if i == len(layers) - 1:
                raise ValueError(f"layers[{i}] (the head) cannot have a BatchNorm")
            parts = [
                _tensor(f"layers[{i}].bn.{k}", getattr(bn, k), dtype, device)
                for k in ("weight", "bias", "running_mean", "running_var")
            ]
            if any(p.shape != (n,) for p in parts):
                raise ValueError(f"layers[{i}].bn tensors must all have shape ({n},)")
            eps = bounded(f"layers[{i}].bn.eps", bn.eps, low=0.0)
            if (parts[3] + eps <= 0).any():
                raise ValueError(f"layers[{i}].bn.running_var + eps must be > 0")
            bn = BatchNorm(*parts, eps)
        if i:
            prev = W[-1].shape[0]
            fan = w.shape[1]
            if w.ndim == 4 and shapes[-1].__len__() == 2:
                raise ValueError(
                    f"layers[{i}] is a conv after a Linear layers[{i - 1}]"
                )
            if w.ndim == 4 and fan != prev:
                raise ValueError(
                    f"layers[{i}].weight has {fan} input channels but layers[{i - 1}] "
                    f"has {prev} outputs: shapes do not chain"
                )
            if w.ndim == 2 and (fan % prev or (len(shapes[-1]) == 2 and fan != prev)):
                raise ValueError(
                    f"layers[{i}].weight has {fan} inputs but layers[{i - 1}] has "
                    f"{prev} outputs: shapes do not chain"
                )
        shapes.append(tuple(w.shape))
        if w.ndim == 4:
            w3 = w.reshape(w.shape[0], w.shape[1], -1)
        elif i and w.shape[1] != W[-1].shape[0]:
            w3 = w.reshape(w.shape[0], W[-1].shape[0], -1)
        else:
            w3 = w.reshape(w.shape[0], w.shape[1], 1)
        W.append(w3.contiguous())
        b.append(bias)
        bns.append(bn)
    return Chain(W, b, bns, shapes, conv, tuple(no_bias))


def from_chain(chain: Chain, order: list, bn: list):
    """Rebuild the layer list keeping the units ``order[h]`` of each hidden layer.

    A layer given with bias ``None`` (``chain.no_bias``) gets ``None`` back while its
    bias is still all zero, so that no parameter appears that the input did not have.
    """
    out = []
    L = len(chain.W)
    for i in range(L):
        w, bias = chain.W[i], chain.b[i]
        if i < L - 1:
            idx = torch.as_tensor(order[i], dtype=torch.long, device=w.device)
            w, bias = w[idx], bias[idx]
        if i > 0:
            idx = torch.as_tensor(order[i - 1], dtype=torch.long, device=w.device)
            w = w[:, idx]
        shape = chain.shapes[i]
        if len(shape) == 4:
            w = w.reshape(w.shape[0], w.shape[1], shape[2], shape[3])
        else:
            w = w.reshape(w.shape[0], -1)
        layer_bn = bn[i]
        if layer_bn is not None and i < L - 1:
            idx = torch.as_tensor(order[i], dtype=torch.long, device=w.device)
            layer_bn = BatchNorm(*(t[idx] for t in layer_bn[:4]), layer_bn.eps)
        bias = bias.contiguous()
        if chain.no_bias and chain.no_bias[i] and not bias.any():
            bias = None
        if chain.conv:
            out.append(ConvLayer(w.contiguous(), bias, layer_bn))
        else:
            out.append((w.contiguous(), bias))
    return out
