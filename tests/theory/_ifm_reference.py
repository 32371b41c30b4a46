r"""Reference implementation of the authors' IFM loop, for tests and the benchmark.

A straightforward re-implementation of the procedure of Chen, Zhou & Yan (ICLR 2024,
arXiv:2310.06756; their ``self_merge_weight``), written independently of
:mod:`theory.feature_merging`: every pass and every hidden layer recomputes the Gram
matrix of the concatenated [incoming | outgoing] weight vectors (biases and BatchNorm
excluded), forms ``D = diag + diag^T - 2G``, merges the closest pair iff
``d_min <= beta * d_max`` (sum in, count-weighted mean out, BatchNorm parameters
summed) and moves the merged unit to the end. Float64, with the fixes of
``docs/derivations/ifm.md`` §3.4 (diagonal masked, lowest pair on ties, no merge below
width 1). ``tests/theory/test_feature_merging.py`` holds the package's official mode
to it; ``python -m bench.ifm`` times the package against it.
"""

from __future__ import annotations

import torch

__all__ = ["official_naive"]


def _chain(layers):
    """Weights as (n, n_prev, s) tensors, biases, BN stacks (n, 4) or None."""
    W, b, extra = [], [], []
    for i, layer in enumerate(layers):
        w, bias = layer[0], layer[1]
        bn = layer[2] if len(layer) > 2 else None
        w = w.to(torch.float64).clone()
        if w.ndim == 4:
            w = w.reshape(w.shape[0], w.shape[1], -1)
        else:
            prev = W[-1].shape[0] if i else w.shape[1]
            w = w.reshape(w.shape[0], prev, -1)
        W.append(w)
        b.append(
            torch.zeros(w.shape[0], dtype=torch.float64)
            if bias is None
            else bias.to(torch.float64).clone()
        )
        extra.append(
            None if bn is None else torch.stack(list(bn[:4]), 1).double().clone()
        )
    return W, b, extra


def official_naive(layers, beta, max_ratio=1.0):
    """The authors' loop, full recomputation each pass: (W, b, extra, groups, counts).

    ``layers``: (weight, bias[, bn]) tuples; returns the chain view ``(n, n_prev, s)``.
    """
    W, b, extra = _chain(layers)
    L = len(W)
    n0 = [W[h].shape[0] for h in range(L - 1)]
    counts = [torch.ones(n, dtype=torch.float64) for n in n0]
    groups = [[[k] for k in range(n)] for n in n0]
    t = 0
    while True:
        merged = False
        for h in range(L - 1):
            if t >= n0[h] * max_ratio:
                continue
            n = W[h].shape[0]
            if n < 2:
                continue
            vin = W[h].reshape(n, -1)
            vout = W[h + 1].transpose(0, 1).reshape(n, -1)
            G = vin @ vin.T + vout @ vout.T
            g = G.diagonal()
            D = g.unsqueeze(0) + g.unsqueeze(1) - 2.0 * G
            d_max = D.max()
            Dm = D.clone()
            Dm[torch.ones(n, n, dtype=torch.bool).tril()] = float("inf")
            k = int(Dm.flatten().argmin())
            i, j = divmod(k, n)
            if Dm[i, j] > beta * d_max:
                continue
            merged = True
            idx = [r for r in range(n) if r not in (i, j)] + [j, i]
            c = counts[h][idx]
            w = W[h][idx]
            w[-2] += w[-1]
            W[h] = w[:-1]
            bb = b[h][idx]
            bb[-2] += bb[-1]
            b[h] = bb[:-1]
            if extra[h] is not None:
                e = extra[h][idx]
                e[-2] += e[-1]
                extra[h] = e[:-1]
            wn = W[h + 1][:, idx]
            wn[:, -2] = (wn[:, -2] * c[-2] + wn[:, -1] * c[-1]) / (c[-2] + c[-1])
            W[h + 1] = wn[:, :-1]
            c[-2] += c[-1]
            counts[h] = c[:-1]
            gi = groups[h].pop(i)
            gj = groups[h].pop(j - 1)
            groups[h].append(gi + gj)
        t += 1
        if not merged:
            return W, b, extra, groups, counts
