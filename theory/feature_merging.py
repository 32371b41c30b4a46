r"""Functionally equivalent features and Iterative Feature Merging (IFM).

Chen, Zhou & Yan (2024), "Going Beyond Neural Network Feature Similarity: The Network
Feature Complexity and Its Interpretation Using Category Theory", ICLR 2024,
arXiv:2310.06756. Two hidden features of a ReLU network are functionally equivalent
when one is a permuted (and, for ReLU, positively rescaled) copy of the other; the
*feature complexity* of a layer is the number of distinct features it carries. IFM
estimates it without data: it repeatedly merges the two units of a layer whose
concatenated [incoming | outgoing] weight vectors are closest, summing the incoming
and averaging the outgoing weights, until the closest pair is farther apart than
:math:`\beta` times the farthest.

``mode="official"`` reproduces the authors' procedure (their released code);
``mode="exact"`` is our corrected version that collapses every class of exactly
equivalent units to one unit and preserves the function. What is the paper's and what
is our reading is laid out in ``docs/derivations/ifm.md``.

A network is a list of layers, ReLU between consecutive layers and none after the
last: ``(weight, bias)`` pairs with ``weight`` of shape ``(out, in)`` as in
``torch.nn.Linear``, or :class:`ConvLayer` entries (4-D conv weights with an optional
:class:`BatchNorm`, then a Linear head). Tensors in and out; float64 by default.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from theory._args import bounded
from theory._ifm_classes import canonical_scale
from theory._ifm_classes import fold_bn
from theory._ifm_classes import tolerance_classes
from theory._ifm_engine import MergeStep
from theory._ifm_engine import _State
from theory._ifm_engine import run_greedy
from theory._ifm_layers import BatchNorm
from theory._ifm_layers import ConvLayer
from theory._ifm_layers import check_dtype
from theory._ifm_layers import check_scale
from theory._ifm_layers import from_chain
from theory._ifm_layers import to_chain
from theory._ifm_trace import ErrorTrace
from theory._ifm_trace import ScaleStep
from theory._ifm_trace import ifm_error_trace
from theory._ifm_trace import merge_error_bound
from theory._ifm_trace import mlp_forward

__all__ = [
    "BatchNorm",
    "ConvLayer",
    "ErrorTrace",
    "IFMResult",
    "MergeStep",
    "ScaleStep",
    "canonicalize",
    "feature_complexity",
    "functional_classes",
    "ifm",
    "ifm_error_trace",
    "merge_error_bound",
    "mlp_forward",
    "param_count",
]

_MODES = ("exact", "official")
_CANONICAL = " with the unit norms of the layer before moved into it"
# Canonical incoming vectors (unit norm) closer than this in max-norm are one class
# (the default of ``tol``, by working dtype): scaled copies differ by a few ulps after
# normalising (measured <= 1.8e-7 in float32 for 4 to 50,000 inputs, scales e^±7;
# ~1e-16 in float64), so each default leaves a margin of 50 or more.
_TOL = {torch.float64: 1e-12, torch.float32: 1e-5}


class IFMResult(NamedTuple):
    """Output of :func:`ifm`.

    Attributes:
      layers: the merged network, in the input's layer type (``(weight, bias)``
        pairs or :class:`ConvLayer`; in exact mode BatchNorm is folded, ``bn=None``).
      groups: per hidden layer, the partition of its original units: one list of
        original indices per kept unit, in the order of the kept units.
      merges: per hidden layer, ``width0 - width``.
      widths: per hidden layer, the number of kept units.
      counts: per hidden layer, a tensor of group sizes (``len`` of each group).
      steps: the recorded sequence of :class:`ScaleStep` / :class:`MergeStep`
        (slot indices are original unit indices) that turns ``start`` into
        ``layers`` up to the final reordering.
      start: the network the steps start from, as ``(weight, bias)`` pairs: the
        input with BatchNorm folded in exact mode; in official mode the input
        without its BatchNorm, which stays outside the steps.
      passes: number of round-robin passes, including the last one without merges.
    """

    layers: list
    groups: list
    merges: tuple
    widths: tuple
    counts: list
    steps: tuple
    start: list
    passes: int


def _check(beta, mode, max_ratio, tol, dtype):
    beta = bounded("beta", beta, low=0.0)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got mode={mode!r}")
    max_ratio = bounded("max_ratio", max_ratio, low=0.0, high=1.0, low_open=True)
    return beta, max_ratio, _tol(tol, dtype)


def _tol(tol, dtype) -> float:
    """``tol`` checked, or the default of the working ``dtype`` when ``None``."""
    return _TOL[check_dtype(dtype)] if tol is None else bounded("tol", tol, low=0.0)


def _checked_chain(layers, dtype):
    """:func:`to_chain` with every layer's scale checked."""
    chain = to_chain(layers, dtype)
    for i, (w, bias) in enumerate(zip(chain.W, chain.b, strict=True)):
        check_scale(i, w, bias)
    return chain


def _fold_all(chain) -> None:
    """Fold every BatchNorm of ``chain`` into its layer, in place."""
    W, b = chain.W, chain.b
    for i, bn in enumerate(chain.bn):
        if bn is not None:
            w4, b[i] = fold_bn(W[i], b[i], *bn[:4], bn.eps)
            W[i] = w4.reshape(W[i].shape)
            check_scale(i, W[i], b[i], " with its BatchNorm folded in")


def _canonical_collapse(W, b, counts, members, *, tol, steps, collapse=True):
    """Canonicalize and collapse exact classes, layer by layer (exact mode)."""
    for h in range(len(W) - 1):
        n = W[h].shape[0]
        win = W[h].reshape(n, -1)
        scale, zero = canonical_scale(win, b[h])
        W[h] /= scale.reshape(-1, 1, 1)
        b[h] /= scale
        W[h + 1] *= scale.reshape(1, -1, 1)
        W[h][zero] = 0.0
        b[h][zero] = 0.0
        W[h + 1][:, zero] = 0.0
        # The norms multiply along the network: the head carries their product.
        check_scale(h + 1, W[h + 1], b[h + 1], _CANONICAL)
        steps.append(ScaleStep(h, scale.clone(), zero.clone()))
        if not collapse:
            continue
        C = torch.cat([W[h].reshape(n, -1), b[h].unsqueeze(1)], 1)
        for cls in tolerance_classes(C, list(range(n)), tol):
            rep = cls[0]
            for m in cls[1:]:
                W[h + 1][:, rep] += W[h + 1][:, m]
                W[h][m] = 0.0
                b[h][m] = 0.0
                W[h + 1][:, m] = 0.0
                counts[h][rep] += counts[h][m]
                counts[h][m] = 0.0
                members[h][rep] = members[h][rep] + members[h][m]
                members[h][m] = []
                steps.append(MergeStep(h, rep, m, "collapse"))


def ifm(
    layers,
    *,
    beta: float,
    mode: str = "exact",
    max_ratio: float = 1.0,
    tol: float | None = None,
    dtype: torch.dtype = torch.float64,
) -> IFMResult:
    r"""Iterative Feature Merging of a ReLU network (arXiv:2310.06756, Sec. 4).

    Each round-robin pass visits the hidden layers from input to output; in each it
    finds the closest pair of units under the squared distance

    .. math::

        D_{ij} = \lVert v_i - v_j \rVert^2, \qquad
        v_k = [\,\text{incoming}_k \,\Vert\, \text{outgoing}_k\,],

    and merges it iff :math:`D_{\min} \le \beta\, D_{\max}` (both on the current
    weights). Passes repeat until one merges nothing; a layer stops merging after
    ``max_ratio * width0`` passes. Ties go to the lowest pair in the authors' unit
    order (merged units move to the end).

    ``mode="official"``: incoming = the rows of the layer's weight (biases and
    BatchNorm excluded), outgoing = the next layer's columns; merging sums the
    incoming rows, biases and BatchNorm parameters and takes the count-weighted mean
    of the outgoing columns, as in the authors' code.

    ``mode="exact"``: BatchNorm is folded into its layer, each unit's incoming
    :math:`(w_k, b_k)` is scaled to unit norm (the norm moves into its outgoing
    column: exact for ReLU), units with equal canonical incoming vectors (within
    ``tol``) collapse to one unit with the summed outgoing column, and the greedy
    merge then runs on count-normalised vectors: mean incoming (with bias) and mean
    outgoing, merging by count-weighted mean in and sum out. Exact duplicates and
    positively scaled copies therefore always collapse, and the function is kept to
    rounding. See ``docs/derivations/ifm.md`` §3-§4.

    Args:
      layers: list of at least 2 layers (see the module docstring).
      beta: relative threshold :math:`\beta \ge 0` (the authors' ``--threshold``).
      mode: ``"exact"`` or ``"official"``.
      max_ratio: in ``(0, 1]``, the authors' cap on passes per layer.
      tol: max-norm tolerance of the exact classes (exact mode); ``None``: 1e-12
        in float64, 1e-5 in float32 (a margin of 50 or more over the few ulps that
        normalising leaves between scaled copies).
      dtype: working dtype (float64 by default).

    Returns:
      :class:`IFMResult`.

    Raises:
      ValueError: naming ``beta`` (< 0 or not finite), ``mode``, ``max_ratio``
        (outside (0, 1]), ``tol``, ``dtype`` (not float64 or float32), or the
        offending layer (shapes that do not chain, non-finite weights, fewer than 2
        layers, or a largest absolute weight outside [2^-200, 2^200], 2^±25 in
        float32, where the squared distances would overflow or underflow: checked
        on the input, after folding BatchNorm, and in exact mode on each layer with
        the unit norms of the layer before moved into it, so the layers' scales
        multiply).

    Example:
      >>> import torch
      >>> W1 = torch.tensor([[1.0, 2.0], [2.0, 4.0], [0.0, 1.0]])
      >>> W2 = torch.tensor([[1.0, 1.0, 1.0]])
      >>> res = ifm([(W1, torch.zeros(3)), (W2, torch.zeros(1))], beta=0.0)
      >>> res.groups, res.widths
      ([[[0, 1], [2]]], (2,))
      >>> ifm([(W1, torch.zeros(3)), (W2, torch.zeros(1))], beta=0.0,
      ...     mode="official").widths
      (3,)
    """
    beta, max_ratio, tol = _check(beta, mode, max_ratio, tol, dtype)
    return _ifm(layers, beta, mode, max_ratio, tol, dtype, greedy=True)


def _ifm(layers, beta, mode, max_ratio, tol, dtype, *, greedy):
    chain = _checked_chain(layers, dtype)
    exact = mode == "exact"
    W, b = chain.W, chain.b
    L = len(W)
    steps: list = []
    bn_out = list(chain.bn)
    extra = [None] * L
    if exact:
        _fold_all(chain)
        bn_out = [None] * L
    else:
        for i, bn in enumerate(chain.bn):
            if bn is not None:
                extra[i] = torch.stack(list(bn[:4]), 1).clone()
    start = [
        (w.clone(), bb.clone()) for w, bb in zip(W, b, strict=True)
    ]  # chain view (n, n_prev, s)
    counts = [
        torch.ones(W[h].shape[0], dtype=dtype, device=W[h].device) for h in range(L - 1)
    ]
    members = [[[k] for k in range(W[h].shape[0])] for h in range(L - 1)]
    if exact:
        _canonical_collapse(W, b, counts, members, tol=tol, steps=steps)
    state = _State(W, b, extra, counts, exact=exact)
    for h, hd in enumerate(state.hidden):
        hd.members = members[h]
    log: list = []
    passes = 0
    if greedy:
        passes = run_greedy(state, beta=beta, max_ratio=max_ratio, rule=mode, log=log)
    steps.extend(log)
    order, groups, cnts = [], [], []
    for h, hd in enumerate(state.hidden):
        act = hd.active.nonzero(as_tuple=True)[0]
        if exact:
            keep = sorted(act.tolist(), key=lambda k: min(hd.members[k]))
        else:
            keep = act[torch.argsort(hd.keys[act])].tolist()
        order.append(keep)
        groups.append([list(hd.members[k]) for k in keep])
        cnts.append(counts[h][keep].clone())
    if not exact:
        for i in range(L - 1):
            if extra[i] is not None:
                e = extra[i]
                bn_out[i] = BatchNorm(
                    e[:, 0], e[:, 1], e[:, 2], e[:, 3], chain.bn[i].eps
                )
    out = from_chain(chain._replace(W=W, b=b), order, bn_out)
    widths = tuple(len(o) for o in order)
    merges = tuple(W[h].shape[0] - widths[h] for h in range(L - 1))
    start_layers = from_chain(
        chain._replace(
            W=[s[0] for s in start], b=[s[1] for s in start], conv=False, no_bias=()
        ),
        [list(range(W[h].shape[0])) for h in range(L - 1)],
        [None] * L,
    )
    return IFMResult(
        out, groups, merges, widths, cnts, tuple(steps), start_layers, passes
    )


def functional_classes(
    layers, *, tol: float | None = None, dtype=torch.float64
) -> list:
    r"""The exact partition of each hidden layer into functionally equivalent units.

    Layer by layer from the input, after the classes of the previous layer have been
    collapsed (their outgoing columns summed), two units are equivalent iff their
    incoming vectors :math:`(w_k, b_k)` are positive multiples of each other
    (:math:`z_j = c\,z_i` with :math:`c > 0`, arXiv:2310.06756 Sec. 3 with the
    ReLU scaling symmetry added, ``docs/derivations/ifm.md`` §2); all units with
    :math:`w_k = 0, b_k \le 0` are the zero feature. BatchNorm is folded first.
    ``tol`` as in :func:`ifm`.

    Returns:
      per hidden layer, a list of classes (sorted lists of unit indices), ordered by
      their smallest member.

    Example:
      >>> import torch
      >>> W1 = torch.tensor([[1.0, -1.0], [3.0, -3.0], [0.0, 0.0], [1.0, 1.0]])
      >>> b1 = torch.tensor([0.0, 0.0, -2.0, 0.0])
      >>> functional_classes([(W1, b1), (torch.ones(1, 4), torch.zeros(1))])
      [[[0, 1], [2], [3]]]
    """
    tol = _tol(tol, dtype)
    return _ifm(layers, 0.0, "exact", 1.0, tol, dtype, greedy=False).groups


def canonicalize(layers, *, dtype=torch.float64) -> list:
    r"""The canonical form: BatchNorm folded, each hidden unit's :math:`(w_k, b_k)`
    scaled to unit Euclidean norm with the norm moved into its outgoing column
    (exact by :math:`\sigma(ct) = c\sigma(t)`, :math:`c>0`), zero features zeroed.

    Scaled duplicates become identical rows. Returns ``(weight, bias)`` pairs (or
    :class:`ConvLayer` with ``bn=None``) of the original shapes.

    Example:
      >>> import torch
      >>> W1 = torch.tensor([[3.0, 4.0], [6.0, 8.0]])
      >>> (w1, _), (w2, _) = canonicalize([(W1, torch.zeros(2)),
      ...                                  (torch.ones(1, 2), torch.zeros(1))])
      >>> w1.tolist(), w2.tolist()
      ([[0.6, 0.8], [0.6, 0.8]], [[5.0, 10.0]])
    """
    chain = _checked_chain(layers, dtype)
    W, b = chain.W, chain.b
    _fold_all(chain)
    L = len(W)
    counts = [torch.ones(W[h].shape[0], dtype=dtype) for h in range(L - 1)]
    members = [[[k] for k in range(W[h].shape[0])] for h in range(L - 1)]
    _canonical_collapse(W, b, counts, members, tol=0.0, steps=[], collapse=False)
    return from_chain(
        chain._replace(W=W, b=b),
        [list(range(W[h].shape[0])) for h in range(L - 1)],
        [None] * L,
    )


def feature_complexity(
    layers,
    *,
    beta: float = 0.0,
    mode: str = "exact",
    max_ratio: float = 1.0,
    tol: float | None = None,
) -> tuple:
    r"""Feature complexity per hidden layer: the width left by :func:`ifm`.

    At ``beta=0`` in exact mode this is the number of distinct features of each layer
    up to permutation and positive scaling (the width of the layer's feature poset
    under permutation isomorphisms, arXiv:2310.06756 Def. 3.3, as read in
    ``docs/derivations/ifm.md`` §2); ``beta > 0`` gives the paper's estimator, an
    :math:`\epsilon`-complexity at relative resolution :math:`\sqrt\beta`.

    Example:
      >>> import torch
      >>> W1 = torch.tensor([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
      >>> feature_complexity([(W1, torch.zeros(3)), (torch.ones(2, 3), torch.zeros(2))])
      (2,)
    """
    return ifm(layers, beta=beta, mode=mode, max_ratio=max_ratio, tol=tol).widths


def param_count(layers) -> int:
    """Number of parameters: weights and biases (and 4 BatchNorm vectors if any).

    For an MLP this is :math:`\\sum_l (d_{l-1}+1)\\,d_l`.

    Example:
      >>> import torch
      >>> z = torch.zeros
      >>> param_count([(z(3, 2), z(3)), (z(1, 3), z(1))])
      13
    """
    to_chain(layers)  # ValueError naming a bad layer
    total = 0
    for layer in layers:
        if isinstance(layer, ConvLayer):
            w, bias, bn = layer
        else:
            (w, bias), bn = layer, None
        total += _size(w) + (0 if bias is None else _size(bias))
        if bn is not None:
            total += 4 * _size(bn.weight)
    return total


def _size(a) -> int:
    """Number of entries of a tensor or array."""
    return math.prod(np.shape(a))
