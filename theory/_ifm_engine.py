r"""Incremental greedy Iterative Feature Merging on a chain of layers (private).

The network is a chain of weight tensors ``W[l]`` of shape ``(n_l, n_{l-1}, s_l)``
(``s_l`` = spatial kernel size, 1 for a Linear layer) with biases ``b[l]`` of shape
``(n_l,)``; the hidden units of layer ``h`` (every layer but the last) are mergeable.
Unit ``k`` of layer ``h`` has the incoming vector ``W[h][k]`` (plus ``b[h][k]`` in exact
mode) and the outgoing vector ``W[h+1][:, k]`` (divided by its count in exact mode);
the merge distance is the squared Euclidean distance of their concatenations
(``docs/derivations/ifm.md`` §3).

Merged (dropped) units keep their slot with zeroed rows and columns, so distances over
the full-size tensors only see active units. Each hidden layer keeps its distance
matrix ``D`` (``+inf`` on the diagonal and on dropped slots) and its row minima and
maxima; a merge recomputes one row of its own layer and updates the two neighbouring
layers' matrices with the exact change of their squared distances, instead of
recomputing every Gram matrix each pass as the authors' code does.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

import torch

__all__ = ["MergeStep", "run_greedy"]

# Pairs whose Gram-formula distance is below this fraction of |v_a|^2 + |v_b|^2 are
# recomputed from the difference vector: the Gram formula loses ~m * eps of that sum to
# cancellation, and exact duplicates must get exactly zero.
_RECHECK = 1e-8
# Row blocks of the full-matrix extremes: entries per block (4 MiB in float64).
_BLOCK = 2**19


@dataclass(frozen=True)
class MergeStep:
    """One recorded merge: ``drop`` folded into ``keep`` in hidden layer ``layer``.

    ``rule`` is ``"official"`` (sum in, count-mean out), ``"exact"`` (count-mean in,
    sum out) or ``"collapse"`` (keep ``keep``'s incoming, sum out: the exact merge of
    two units whose canonical incoming vectors are equal).
    """

    layer: int
    keep: int
    drop: int
    rule: str


@dataclass
class _Hidden:
    Din: torch.Tensor  # incoming part of D; +inf on the diagonal and dropped slots
    Dout: torch.Tensor  # outgoing part
    sq_in: torch.Tensor  # squared norms of the incoming parts
    sq_out: torch.Tensor
    rowmin: torch.Tensor
    rowarg: torch.Tensor
    rowmax: torch.Tensor
    rowargmax: torch.Tensor
    active: torch.Tensor
    keys: torch.Tensor
    n0: int
    merges: int = 0
    members: list = field(default_factory=list)


def _pd(Y: torch.Tensor) -> torch.Tensor:
    """Pairwise squared distances of the rows of ``Y`` (n, s), from differences."""
    diff = Y.unsqueeze(1) - Y.unsqueeze(0)
    return (diff * diff).sum(-1)


def _delta_pd(Yn: torch.Tensor, Yi: torch.Tensor, Yj: torch.Tensor) -> torch.Tensor:
    r"""``_pd(Yn) - _pd(Yi) - _pd(Yj)`` for rows of length ``s``.

    For ``s == 1`` (Linear layers) from differences; for bigger kernels in the Gram
    form: with :math:`\Delta G = Y_n Y_n^T - Y_i Y_i^T - Y_j Y_j^T` (one
    ``(n, 3s) x (3s, n)`` product), :math:`\Delta D_{ab} = \Delta G_{aa} +
    \Delta G_{bb} - 2\Delta G_{ab}`, instead of three ``(n, n, s)`` temporaries
    (the cost that dominated the 512-channel 3x3 benchmark). Rows ``a, b`` that are
    equal in all three inputs give exactly 0 either way (equal operands, equal
    products).
    """
    if Yn.shape[1] == 1:
        return _pd(Yn) - _pd(Yi) - _pd(Yj)
    A = torch.cat([Yn, Yi, Yj], 1)
    B = torch.cat([Yn, -Yi, -Yj], 1)
    dG = A @ B.T
    g = dG.diagonal()
    return (g.unsqueeze(1) + g.unsqueeze(0)) - 2.0 * dG


def _gram_pd(V: torch.Tensor):
    """Pairwise squared distances of the rows of ``V`` as ``(sq_a + sq_b) - 2 G_ab``.

    One pass for the norms' sum and one ``addmm``; exactly symmetric when the Gram
    product is (as BLAS computes ``V @ V.T``). Entries may come out slightly
    negative: the caller clamps.
    """
    sq = (V * V).sum(1)
    return (sq.unsqueeze(1) + sq).addmm_(V, V.T, alpha=-2.0), sq


class _State:
    def __init__(self, W, b, extra, counts, *, exact, keys=None):
        self.W, self.b, self.extra, self.c = W, b, extra, counts
        self.exact = exact
        self.L = len(W)
        self.hidden = []
        for h in range(self.L - 1):
            n = W[h].shape[0]
            active = counts[h] > 0
            k = torch.arange(n, device=W[h].device) if keys is None else keys[h]
            inf = torch.full((n,), float("inf"), dtype=W[h].dtype, device=W[h].device)
            z = torch.zeros(n, dtype=torch.long, device=W[h].device)
            hd = _Hidden(
                None, None, None, None, inf, z, inf.clone(), z.clone(), active, k, n
            )
            hd.members = [[i] if a else [] for i, a in enumerate(active.tolist())]
            self.hidden.append(hd)
        self.next_key = [int(hd.keys.max()) + 1 if hd.n0 else 0 for hd in self.hidden]
        for h in range(self.L - 1):
            self._full(h)

    # ---------------------------------------------------------------- vectors
    def _parts(self, h, idx):
        """Incoming and outgoing parts of the units ``idx`` as (k, m_in), (k, m_out)."""
        vin = self.W[h][idx].reshape(len(idx), -1)
        if self.exact:
            vin = torch.cat([vin, self.b[h][idx].unsqueeze(1)], 1)
        vout = self.W[h + 1][:, idx].transpose(0, 1).reshape(len(idx), -1)
        if self.exact:
            c = self.c[h][idx]
            vout = vout / torch.where(c > 0, c, 1.0).unsqueeze(1)
        return vin, vout

    def _direct(self, h, a, bb):
        """Exact (difference-based) components for the pairs (a, bb)."""
        ia, oa = self._parts(h, a)
        ib, ob = self._parts(h, bb)
        return ((ia - ib) ** 2).sum(1), ((oa - ob) ** 2).sum(1)

    # ---------------------------------------------------------- distances
    def _full(self, h):
        hd = self.hidden[h]
        idx = torch.arange(hd.n0, device=self.W[h].device)
        vin, vout = self._parts(h, idx)
        hd.Din, hd.sq_in = _gram_pd(vin)
        hd.Dout, hd.sq_out = _gram_pd(vout)
        hd.Din.clamp_(min=0.0)
        hd.Dout.clamp_(min=0.0)
        self._mask(h)
        self._extremes(h)
        # the exact test on the few pairs below the prefilter, found through the row
        # minima (clamping first changes no pair: a negative entry and its clamped 0
        # pass both tests); their rows' extremes are then taken again
        sq = hd.sq_in + hd.sq_out
        cut = _RECHECK * 2.0 * float(sq.max())
        rows = (hd.rowmin <= cut).nonzero(as_tuple=True)[0]
        if not rows.numel():
            return
        r, bb = (self._rows(h, rows) <= cut).nonzero(as_tuple=True)
        a = rows[r]
        keep = (a < bb) & (
            hd.Din[a, bb] + hd.Dout[a, bb] <= _RECHECK * (sq[a] + sq[bb])
        )
        a, bb = a[keep], bb[keep]
        if a.numel():
            di, do = self._direct(h, a, bb)
            hd.Din[a, bb], hd.Din[bb, a] = di, di
            hd.Dout[a, bb], hd.Dout[bb, a] = do, do
            self._extremes(h, torch.cat([a, bb]).unique())

    def _mask(self, h):
        """+inf on the diagonal and on the dropped slots of ``Din``."""
        hd = self.hidden[h]
        hd.Din.fill_diagonal_(float("inf"))
        if not bool(hd.active.all()):
            hd.Din[~hd.active] = float("inf")
            hd.Din[:, ~hd.active] = float("inf")

    def _rows(self, h, rows):
        hd = self.hidden[h]
        return hd.Din[rows] + hd.Dout[rows]

    def _extremes(self, h, rows=None):
        """Row minima and maxima of ``Din + Dout``, for ``rows`` or all rows.

        All rows go in blocks of about 2**19 entries through one reused buffer: no
        ``n x n`` temporary (its fresh pages cost more than the sums).
        """
        hd = self.hidden[h]
        if rows is None:
            n = hd.Din.shape[0]
            step = max(1, _BLOCK // max(n, 1))
            buf = torch.empty(
                (min(step, n), n), dtype=hd.Din.dtype, device=hd.Din.device
            )
            for lo in range(0, n, step):
                s = slice(lo, min(lo + step, n))
                D = torch.add(hd.Din[s], hd.Dout[s], out=buf[: s.stop - lo])
                hd.rowmin[s], hd.rowarg[s] = D.min(1)
                hd.rowmax[s], hd.rowargmax[s] = D.nan_to_num_(posinf=-1.0).max(1)
            return
        D = self._rows(h, rows)
        hd.rowmin[rows], hd.rowarg[rows] = D.min(1)
        hd.rowmax[rows], hd.rowargmax[rows] = D.nan_to_num_(posinf=-1.0).max(1)

    @staticmethod
    def _combine(D, sq, i, j, al, be):
        """Row of |v_a - (al v_i + be v_j)|^2 and the new |.|^2, from D and norms."""
        dij = D[i, j]
        new_sq = al * al * sq[i] + be * be * sq[j] + al * be * (sq[i] + sq[j] - dij)
        if al + be == 1.0:  # centroid identity: no norms, no cancellation
            row = al * D[i] + be * D[j] - al * be * dij
        else:
            gi = 0.5 * (sq + sq[i] - D[i])
            gj = 0.5 * (sq + sq[j] - D[j])
            row = sq + new_sq - 2 * (al * gi + be * gj)
        return row, new_sq

    # ---------------------------------------------------------- selection
    def candidate(self, h):
        """(d_min, d_max, keep, drop) of the closest pair, or None below 2 units."""
        hd = self.hidden[h]
        if int(hd.active.sum()) < 2:
            return None
        rm = torch.where(hd.active, hd.rowmin, float("inf"))
        d_min = rm.min()
        d_max = torch.where(hd.active, hd.rowmax, -1.0).max()
        rows = (rm == d_min).nonzero(as_tuple=True)[0]
        sub = self._rows(h, rows) == d_min
        r, cidx = sub.nonzero(as_tuple=True)
        a, bb = rows[r], cidx
        ka, kb = hd.keys[a], hd.keys[bb]
        lo = torch.minimum(ka, kb)
        hi = torch.maximum(ka, kb)
        order = lo * (int(hd.keys.max()) + 1) + hi
        t = int(order.argmin())
        p, q = int(a[t]), int(bb[t])
        if hd.keys[p] > hd.keys[q]:
            p, q = q, p
        return float(d_min), float(d_max), p, q

    # ---------------------------------------------------------- merging
    def merge(self, h, keep, drop, rule):
        """Fold unit ``drop`` into ``keep`` in hidden layer ``h`` and update D."""
        W, b, c = self.W, self.b, self.c
        hd = self.hidden[h]
        ni, nj = float(c[h][keep]), float(c[h][drop])
        N = ni + nj
        lam = ni / N
        # own layer, from the old distances (before the weights change)
        if rule == "official":
            ain, bin_, aout, bout = 1.0, 1.0, lam, 1.0 - lam
        else:  # exact: count-mean in, and the count-normalised out is a mean too
            ain, bin_, aout, bout = lam, 1.0 - lam, lam, 1.0 - lam
        Din = (
            hd.Din
        )  # entries at keep/drop of the rows come out inf or junk: reset below
        row_in, sq_in = self._combine(Din, hd.sq_in, keep, drop, ain, bin_)
        row_out, sq_out = self._combine(hd.Dout, hd.sq_out, keep, drop, aout, bout)
        # neighbour updates need the old slices
        if h >= 1:
            Xi, Xj = W[h][keep].clone(), W[h][drop].clone()
        if h + 1 <= self.L - 2:
            Zi, Zj = W[h + 1][:, keep].clone(), W[h + 1][:, drop].clone()
        if rule == "official":
            W[h][keep] += W[h][drop]
            b[h][keep] += b[h][drop]
            if self.extra[h] is not None:
                self.extra[h][keep] += self.extra[h][drop]
            W[h + 1][:, keep] = (W[h + 1][:, keep] * ni + W[h + 1][:, drop] * nj) / N
        else:
            W[h][keep] = (W[h][keep] * ni + W[h][drop] * nj) / N
            b[h][keep] = (b[h][keep] * ni + b[h][drop] * nj) / N
            W[h + 1][:, keep] += W[h + 1][:, drop]
        W[h][drop] = 0.0
        b[h][drop] = 0.0
        if self.extra[h] is not None:
            self.extra[h][drop] = 0.0
        W[h + 1][:, drop] = 0.0
        c[h][keep] = N
        c[h][drop] = 0.0
        hd.active[drop] = False
        hd.keys[keep] = self.next_key[h]
        self.next_key[h] += 1
        hd.merges += 1
        if hd.members:
            hd.members[keep] = hd.members[keep] + hd.members[drop]
            hd.members[drop] = []
        # exact recomputation where the update formula may have lost the value
        sq = hd.sq_in + hd.sq_out
        sq_k = sq_in + sq_out
        total = row_in + row_out
        small = (total <= _RECHECK * (sq + sq_k)) & hd.active
        small[keep] = False
        idx = small.nonzero(as_tuple=True)[0]
        if idx.numel():
            di, do = self._direct(h, idx, torch.full_like(idx, keep))
            row_in[idx], row_out[idx] = di, do
        row_in.clamp_(min=0.0)
        row_out.clamp_(min=0.0)
        row_in.masked_fill_(~hd.active, float("inf"))
        row_in[keep] = float("inf")
        row_out.masked_fill_(~hd.active, 0.0)
        row_out[keep] = 0.0
        hd.sq_in[keep], hd.sq_out[keep] = sq_in, sq_out
        hd.sq_in[drop], hd.sq_out[drop] = 0.0, 0.0
        Din[drop], Din[:, drop] = float("inf"), float("inf")
        Din[keep], Din[:, keep] = row_in, row_in
        hd.Dout[keep], hd.Dout[:, keep] = row_out, row_out
        row = row_in + row_out
        # rows whose extreme partner was merged: still exact if the new entry is at
        # least as extreme, otherwise rescan the row
        gone_min = (hd.rowarg == keep) | (hd.rowarg == drop)
        gone_max = (hd.rowargmax == keep) | (hd.rowargmax == drop)
        stale = hd.active & (
            (gone_min & (row > hd.rowmin)) | (gone_max & (row < hd.rowmax))
        )
        stale[keep] = True
        upd = hd.active & ~stale
        better = upd & ((row < hd.rowmin) | gone_min)
        hd.rowmin = torch.where(better, row, hd.rowmin)
        hd.rowarg = torch.where(better, keep, hd.rowarg)
        bigger = upd & ((row > hd.rowmax) | gone_max)
        hd.rowmax = torch.where(bigger, row, hd.rowmax)
        hd.rowargmax = torch.where(bigger, keep, hd.rowargmax)
        rows = stale.nonzero(as_tuple=True)[0]
        if rows.numel():
            self._extremes(h, rows)
        # neighbours: layer h-1 sees its outgoing part change, layer h+1 its incoming
        if h >= 1:
            Yi, Yj, Yn = Xi, Xj, W[h][keep]
            if self.exact:
                cg = torch.where(c[h - 1] > 0, c[h - 1], 1.0).unsqueeze(1)
                Yi, Yj, Yn = Yi / cg, Yj / cg, Yn / cg
            g = self.hidden[h - 1]
            g.Dout += _delta_pd(Yn, Yi, Yj)
            g.Dout.clamp_(min=0.0)
            g.sq_out += (Yn * Yn).sum(1) - (Yi * Yi).sum(1) - (Yj * Yj).sum(1)
            self._extremes(h - 1)
        if h + 1 <= self.L - 2:
            Zn = W[h + 1][:, keep]
            g = self.hidden[h + 1]
            g.Din += _delta_pd(Zn, Zi, Zj)
            g.Din.clamp_(min=0.0)
            g.sq_in += (Zn * Zn).sum(1) - (Zi * Zi).sum(1) - (Zj * Zj).sum(1)
            self._mask(h + 1)
            self._extremes(h + 1)


def run_greedy(state: _State, *, beta: float, max_ratio: float, rule: str, log=None):
    """Round-robin passes of the authors' loop (one pair per layer per pass)."""
    t = 0
    while True:
        merged = False
        for h, hd in enumerate(state.hidden):
            if t >= hd.n0 * max_ratio:
                continue
            cand = state.candidate(h)
            if cand is None:
                continue
            d_min, d_max, keep, drop = cand
            if d_min <= beta * d_max:
                state.merge(h, keep, drop, rule)
                if log is not None:
                    log.append(MergeStep(h, keep, drop, rule))
                merged = True
        t += 1
        if not merged:
            return t
