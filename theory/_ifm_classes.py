r"""Exact functional-equivalence classes of ReLU units (private).

A hidden unit computes :math:`z_k = \sigma(\tilde w_k \cdot \tilde x)` with
:math:`\tilde w_k = (w_k, b_k)` and :math:`\tilde x = (x, 1)`. For ReLU,
:math:`\sigma(c t) = c\,\sigma(t)` for :math:`c > 0`, so two units with
:math:`\tilde w_j = c\,\tilde w_i` compute :math:`z_j = c\,z_i`: the same feature up to
a positive scale that the next layer absorbs. The canonical form divides every
incoming vector by its Euclidean norm (pushing the norm into the outgoing column); the
zero feature (:math:`w_k = 0`, :math:`b_k \le 0`, identically 0) is mapped to the zero
vector. Units with equal canonical incoming vectors form one class
(``docs/derivations/ifm.md`` §2).
"""

from __future__ import annotations

import torch

__all__ = ["canonical_scale", "fold_bn", "tolerance_classes"]


def canonical_scale(win: torch.Tensor, b: torch.Tensor):
    """Norms of the rows of ``[win | b]`` and the mask of zero features.

    Args:
      win: ``(n, d)`` incoming weights.
      b: ``(n,)`` biases.

    Returns:
      ``(scale, zero)``: ``scale`` (n,) is the Euclidean norm of ``(w_k, b_k)``
      (1 where ``zero``); ``zero`` marks units with ``w_k = 0`` and ``b_k <= 0``.
    """
    wzero = (win == 0).all(1)
    zero = wzero & (b <= 0)
    # Scaled by each row's largest entry, so that no square overflows or underflows
    # (a row of 1e-250 in a layer of O(1) rows had norm 0 and became inf).
    top = torch.maximum(win.abs().amax(1), b.abs())
    top = torch.where(top > 0, top, torch.ones_like(top))
    scale = top * torch.sqrt(((win / top[:, None]) ** 2).sum(1) + (b / top) ** 2)
    scale = torch.where(zero, torch.ones_like(scale), scale)
    return scale, zero


def tolerance_classes(C: torch.Tensor, idx: list[int], tol: float) -> list[list[int]]:
    """Connected components of ``max|C_a - C_b| <= tol`` among rows ``idx`` of ``C``.

    Bit-identical rows are grouped first (``torch.unique``); the remaining distinct
    rows are compared only within a window of a fixed projection (two rows within
    ``tol`` in max-norm differ by at most ``tol * |r|_1`` in ``C @ r``, plus the
    rounding of the projection), so the cost is near-linear for generic rows.
    Classes are returned with sorted members, ordered by their smallest member.
    """
    if not idx:
        return []
    rows = C[idx]
    uniq, inverse = torch.unique(rows, dim=0, return_inverse=True)
    m = uniq.shape[0]
    parent = list(range(m))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    if m > 1 and tol > 0:
        r = torch.linspace(
            1.0, 2.0, uniq.shape[1], dtype=uniq.dtype, device=uniq.device
        )
        key = uniq @ r
        order = torch.argsort(key)
        ks = key[order]
        # Each key is off by at most d eps sum_j |C_j| r_j (a dot product's rounding):
        # the window takes that twice on top of tol |r|_1, else a pair within a tol
        # below ~1e-15 could fall outside it.
        d, eps = uniq.shape[1], torch.finfo(uniq.dtype).eps
        slack = 2 * d * eps * float((uniq.abs() @ r).max())
        width = tol * float(r.abs().sum()) * (1 + 1e-9) + slack
        ends = torch.searchsorted(ks, ks + width, right=True).tolist()
        for p in range(m):
            if ends[p] <= p + 1:
                continue
            cand = order[p + 1 : ends[p]]
            close = (uniq[cand] - uniq[order[p]]).abs().amax(1) <= tol
            for q in cand[close].tolist():
                ra, rb = find(int(order[p])), find(q)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for pos, u in zip(idx, inverse.tolist(), strict=True):
        groups.setdefault(find(u), []).append(pos)
    out = [sorted(g) for g in groups.values()]
    out.sort(key=lambda g: g[0])
    return out


def fold_bn(weight, bias, gamma, beta, mean, var, eps):
    r"""Fold an eval-mode BatchNorm into the preceding layer.

    :math:`\tilde W = \gamma W/\sqrt{\sigma^2+\epsilon}`,
    :math:`\tilde b = \gamma (b-\mu)/\sqrt{\sigma^2+\epsilon} + \beta`.
    """
    s = gamma / torch.sqrt(var + eps)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    return weight * s.reshape(shape), (bias - mean) * s + beta
