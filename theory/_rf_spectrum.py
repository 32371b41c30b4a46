r"""The four spectral sums of the RF eigenframework, as functions of gamma > 0.

Used by :func:`theory.rf_ridge.rf_ridge_risk` (arXiv:2311.14646, Theorem 1). With
:math:`L_i = \lambda_i/(\lambda_i+\gamma)`: :math:`z=\sum L_i`,
:math:`w=\sum L_i(1-L_i) = z - q`, :math:`B_a=\sum(1-L_i)^2 v_i^2` and
:math:`B_b=\sum L_i(1-L_i) v_i^2`. Large groups of modes are replaced by Gauss rules
(exact to rounding), and the compressed terms of recent spectra are kept in a small
cache keyed on the exact bits of the spectrum, since a sweep calls the theory many
times with one spectrum. ``docs/derivations/rf_ridge.md`` §6-7.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING
from typing import NamedTuple

import numpy as np

from theory._chebyshev import PiecewiseChebyshev
from theory._chebyshev import log_gauss_rules

if TYPE_CHECKING:
    from theory.rf_ridge import SpectrumTail

# Gammas per block of the exact sums: (gammas x modes) work arrays of 1 MB stay in
# cache (8 MB blocks ran 1.7x slower per gamma at 10^4 modes).
_BLOCK_ELEMENTS = 1 << 17
# gamma and lam + gamma within which the sums may square r = 1 / (lam + gamma) (see
# _mode_sums): r^2 and gamma^2 stay within 2^+-500, so no product of them with a weight
# of the normalized problem (lam <= 2, v2 <= 2) overflows or leaves the normal range
# where the form without squares would not.
_SQUARE_RANGE = (2.0**-250, 2.0**250)
# Table panels: width in log(gamma) and Chebyshev nodes. The sums are analytic in
# |Im log(gamma)| < pi, so wider panels need fewer nodes per unit of log(gamma);
# width 2 with 22 nodes passes the 1e-14 coefficient check with a margin of ~30 at
# about 11 nodes per unit, against 16 for width 1 (wider panels lose relative
# accuracy where a sum varies by e^(2 width) across the panel).
_PANEL_WIDTH, _PANEL_DEGREE = 2.0, 22
# Mode compression: groups of modes within 0.7 in log(lambda) summed by 8-point Gauss
# rules (error ~ (2 pi / 0.7)^-16 relative, below rounding), used when it at least
# halves the number of terms.
_GROUP_WIDTH, _GROUP_NODES = 0.7, 8
# Rows of the sums: (z, w) for the solver, (B_a, B_b) for the risks, or all four.
ZW, BIAS, ALL = slice(0, 2), slice(2, 4), slice(0, 4)


class _Terms(NamedTuple):
    """Weighted terms that stand for the modes in the sums (see :func:`_mode_sums`).

    ``zw`` and ``bias`` select the terms with a non-zero mode-count weight (all that
    z and w need) and with a non-zero target-power weight (all B_a, B_b need).
    """

    lam: np.ndarray
    count_lam: np.ndarray
    power_lam: np.ndarray
    power: np.ndarray
    zw: slice
    bias: slice


def _uncompressed(lam: np.ndarray, v2: np.ndarray) -> _Terms:
    every = slice(None)
    return _Terms(lam, lam, lam * v2, v2, every, every)


def _compress(lam: np.ndarray, v2: np.ndarray) -> _Terms:
    """Gauss-rule terms for large groups of modes (``rf_ridge.md`` §7)."""
    order = np.argsort(lam, kind="stable")
    lam_s, v2_s = lam[order], v2[order]
    keep, nodes, weights = log_gauss_rules(
        lam_s,
        np.stack([np.ones_like(lam_s), v2_s]),
        width=_GROUP_WIDTH,
        m=_GROUP_NODES,
    )
    if keep.sum() + nodes.size > lam.size // 2:
        return _uncompressed(lam, v2)  # too little to gain
    # Terms: the rules of the mode count (z, w only), the kept modes (both measures),
    # then the rules of the target power (B_a, B_b only).
    a, b = nodes[0].ravel(), nodes[1].ravel()
    wa, wb = weights[0].ravel(), weights[1].ravel()
    lam_k, v2_k = lam_s[keep], v2_s[keep]
    zero_a, zero_b = np.zeros_like(a), np.zeros_like(b)
    return _Terms(
        np.concatenate([a, lam_k, b]),
        np.concatenate([wa * a, lam_k, zero_b]),
        np.concatenate([zero_a, lam_k * v2_k, wb * b]),
        np.concatenate([zero_a, v2_k, wb]),
        slice(0, a.size + lam_k.size),
        slice(a.size, None),
    )


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two contiguous float64 arrays are equal bit for bit (-0.0 != 0.0)."""
    return a.shape == b.shape and a.tobytes() == b.tobytes()


class _TermsCache:
    """Compressed terms of the last few spectra, keyed on their exact bits.

    A hit needs every bit of ``lam`` and ``v2`` to match a stored copy (the hash of a
    sample of the values only picks the candidate), so a different spectrum, even
    one ulp apart, is never served another spectrum's terms. The stored copies are
    private and read-only, so mutating the caller's arrays in place cannot alter an
    entry. At most ``entries`` spectra (least recently used first out), each of at
    most ``max_bytes / entries`` (spectra and terms). ``enabled = False`` compresses
    on every call.
    """

    def __init__(self, entries: int = 8, max_bytes: int = 64 << 20):
        self.entries, self.max_bytes = entries, max_bytes
        self.enabled = True
        self._store: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._store.clear()

    def __len__(self) -> int:
        return len(self._store)

    @staticmethod
    def _key(lam: np.ndarray, v2: np.ndarray) -> tuple:
        step = max(1, lam.size // 32)
        sample = np.concatenate([lam[::step], lam[-1:], v2[::step], v2[-1:]])
        return (lam.size, _GROUP_WIDTH, _GROUP_NODES, hash(sample.tobytes()))

    def get(self, lam: np.ndarray, v2: np.ndarray) -> _Terms:
        """Terms of (lam, v2): from the cache when the bits match, else computed."""
        if not self.enabled:
            return _compress(lam, v2)
        lam = np.ascontiguousarray(lam, dtype=np.float64)
        v2 = np.ascontiguousarray(v2, dtype=np.float64)
        key = self._key(lam, v2)
        with self._lock:
            hit = self._store.get(key)
            if hit is not None and _same_bits(hit[0], lam) and _same_bits(hit[1], v2):
                self._store.move_to_end(key)
                return hit[2]
        terms = _compress(lam, v2)
        size = 2 * lam.nbytes + sum(t.nbytes for t in terms[:4])
        if size <= self.max_bytes // self.entries:
            # Private read-only copies (uncompressed terms are the arrays passed in).
            stored = _Terms(*(np.array(t) for t in terms[:4]), terms.zw, terms.bias)
            entry = (lam.copy(), v2.copy(), stored)
            for t in (*entry[:2], *stored[:4]):
                t.flags.writeable = False
            with self._lock:
                self._store[key] = entry
                self._store.move_to_end(key)
                while len(self._store) > self.entries:
                    self._store.popitem(last=False)
            return stored
        return terms


TERMS_CACHE = _TermsCache()


class _Spectrum:
    r"""The four spectral sums the whole theory needs, as functions of gamma > 0.

    Every sum is a sum of non-negative parts computed from
    :math:`1-L_i = \gamma/(\lambda_i+\gamma)`, without cancellation, so that the bias
    is :math:`\sum(1-L_i)(1-dL_i)v_i^2 = B_a + (1-d) B_b`. The explicit modes can be
    tabulated on a piecewise Chebyshev interpolant in :math:`\log\gamma` (accurate to
    about 1e-14 relative), so each cell costs a few flops instead of a pass over the
    modes.
    """

    def __init__(
        self,
        lam: np.ndarray,
        v2: np.ndarray,
        tail: SpectrumTail | None,
        *,
        scale: float = 1.0,
        power_scale: float = 1.0,
    ):
        # lam and v2 arrive divided by the powers of two ``scale`` and
        # ``power_scale``; the tail is defined on the original spectrum, so it is
        # evaluated at ``scale * gamma`` and its bias divided by ``power_scale``.
        self.lam, self.v2, self.tail = lam, v2, tail
        self.scale, self.power_scale = scale, power_scale
        tail_trace = tail.trace / scale if tail is not None else 0.0
        self.trace = float(lam.sum()) + tail_trace
        self.num_modes = np.inf if tail is not None else lam.size
        self._table: PiecewiseChebyshev | None = None
        self._terms: _Terms | None = None
        self._lam_max: float | None = None

    def exact(self, gamma: np.ndarray) -> np.ndarray:
        """(z, w, B_a, B_b) over the explicit modes by direct summation, (4, P)."""
        lam = self.lam
        sq = self._may_square(gamma)
        return _mode_sums(gamma, lam, lam, lam * self.v2, self.v2, sq)

    def _may_square(self, gamma: np.ndarray) -> bool:
        """Whether gamma and lam_i + gamma lie in ``_SQUARE_RANGE`` for every mode
        (and so for every term: Gauss nodes lie within their group's range)."""
        if self._lam_max is None:
            self._lam_max = float(self.lam.max())
        lo, hi = _SQUARE_RANGE
        return lo < gamma.min() and self._lam_max + gamma.max() < hi

    @property
    def terms(self) -> _Terms:
        """The compressed terms (computed once, or taken from the cache)."""
        if self._terms is None:
            self._terms = TERMS_CACHE.get(self.lam, self.v2)
        return self._terms

    @property
    def num_terms(self) -> int:
        """Terms of one :meth:`direct` evaluation of all four sums."""
        return self.terms.lam.size

    @property
    def num_zw_terms(self) -> int:
        """Terms of one :meth:`direct` evaluation of (z, w) alone."""
        return self.terms.lam[self.terms.zw].size

    def direct(self, gamma: np.ndarray, rows: slice = ALL) -> np.ndarray:
        """:meth:`exact` with large groups of modes replaced by Gauss rules.

        Equal to :meth:`exact` to rounding (``docs/derivations/rf_ridge.md`` §7) at
        a fraction of the cost: 10^4 power-law modes become about 230 terms, of which
        (z, w) need about 140. ``rows`` is :data:`ZW`, :data:`BIAS` or :data:`ALL`.
        """
        t, sq = self.terms, self._may_square(gamma)
        if rows == ZW:
            part = t.zw
            return _mode_sums(gamma, t.lam[part], t.count_lam[part], None, None, sq)
        if rows == BIAS:
            part = t.bias
            return _mode_sums(
                gamma, t.lam[part], None, t.power_lam[part], t.power[part], sq
            )
        return _mode_sums(gamma, t.lam, t.count_lam, t.power_lam, t.power, sq)

    def complement(self, gamma: np.ndarray) -> np.ndarray:
        r""":math:`c = \sum_i (1-L_i) = \sum_i \gamma/(\lambda_i+\gamma)` over the
        explicit modes at ``gamma`` (shape (P,)), summed directly from its positive
        terms: M - z without the cancellation of forming it from z when z is close
        to M (``docs/derivations/rf_ridge.md`` §4.1)."""
        t = self.terms
        lam = t.lam[t.zw]
        count = t.count_lam[t.zw] / lam  # the mode counts (1, or Gauss weights)
        out = np.empty(gamma.size)
        block = max(1, _BLOCK_ELEMENTS // max(lam.size, 1))
        for start in range(0, gamma.size, block):
            g = gamma[start : start + block]
            r = np.add(lam, g[:, None])
            np.divide(g[:, None], r, out=r)
            out[start : start + block] = r @ count
        return out

    def tabulate(self, gamma_lo, gamma_hi) -> None:
        """Build the interpolant of :meth:`exact` on [gamma_lo, gamma_hi].

        ``gamma_lo, gamma_hi`` may be arrays: the ends of sorted, non-overlapping
        intervals, only whose union is tabulated.

        Where the panels cannot reach their tolerance (sums that underflow towards
        subnormal numbers at absurdly small ridges such as 1e-157) the sums are
        evaluated directly (:meth:`direct`) instead: slower, never less accurate.
        """
        try:
            self._table = PiecewiseChebyshev(
                lambda t: self.direct(np.exp(t)),
                np.log(gamma_lo),
                np.log(gamma_hi),
                width=_PANEL_WIDTH,
                degree=_PANEL_DEGREE,
            )
        except ValueError:
            self._table = None

    def __call__(
        self, gamma: np.ndarray, *, rows: slice = ALL, direct: bool = False
    ) -> np.ndarray:
        """Rows ``rows`` of (z, w, B_a, B_b) at ``gamma > 0`` (shape (P,)), tail
        included: :data:`ZW` (all the solver needs), :data:`BIAS` or :data:`ALL`.

        ``direct`` sums over the terms (:meth:`direct`) even where a table exists.
        """
        gamma = np.asarray(gamma, dtype=np.float64)
        if self._table is None or direct:
            out = self.direct(gamma, rows)
        else:
            out = self._table(np.log(gamma), rows)
        if self.tail is None:
            return out
        g = gamma * self.scale
        parts = []
        if rows != BIAS:
            zt, qt = self.tail.sums(g)
            parts += [zt, zt - qt]
        if rows != ZW:
            one = np.ones_like(gamma)
            sq, lin = self.tail.bias(g, one), self.tail.bias(g, 0 * one)
            sq, lin = sq / self.power_scale, lin / self.power_scale
            parts += [sq, lin - sq]
        return out + np.stack(parts)


def _mode_sums(
    gamma, lam, count_lam, power_lam, power, square: bool = False
) -> np.ndarray:
    r"""(z, w, B_a, B_b) of terms at ``lam`` with weights, shape (4, P).

    ``count_lam`` = :math:`c_i\lambda_i` (mode-count weights c_i times lam),
    ``power_lam`` = :math:`p_i\lambda_i` and ``power`` = :math:`p_i` (target power):
    z = sum c L, w = sum c L (1-L), B_a = sum p (1-L)^2, B_b = sum p L (1-L).
    ``count_lam = None`` gives just (B_a, B_b) and ``power = None`` just (z, w),
    shape (2, P). ``square``: gamma and every lam + gamma lie in ``_SQUARE_RANGE``.
    """
    # With r_i = 1/(lam_i + gamma): L_i = lam_i r_i and 1 - L_i = rho_i = gamma r_i,
    # so z = r.lam, w = (r rho).lam, B_a = rho^2.v2, B_b = (r rho).(lam v2): all
    # terms positive. With ``square`` r^2 is a normal float64, and r rho = gamma r^2,
    # rho^2 = gamma^2 r^2 save two passes over the (gamma x term) array; otherwise
    # (extreme gamma) no factor gamma^2 or r^2 that could overflow or underflow on
    # its own is formed (rho <= 1, r rho <= r).
    zw, bias = count_lam is not None, power is not None
    out = np.empty((2 * zw + 2 * bias, gamma.size))
    iz, iw, ia, ib = (0, 1, 2, 3) if zw else (None, None, 0, 1)
    block = max(1, _BLOCK_ELEMENTS // max(lam.size, 1))
    for start in range(0, gamma.size, block):  # underflow: to zero, harmless
        part = slice(start, start + block)
        g = gamma[part]
        r = np.add(lam, g[:, None])
        np.reciprocal(r, out=r)
        if zw:
            out[iz, part] = r @ count_lam
        if square:
            np.multiply(r, r, out=r)
            if zw:
                out[iw, part] = (r @ count_lam) * g
            if bias:
                out[ib, part] = (r @ power_lam) * g
                out[ia, part] = (r @ power) * (g * g)
            continue
        rho = r * g[:, None]
        np.multiply(r, rho, out=r)
        if zw:
            out[iw, part] = r @ count_lam
        if bias:
            out[ib, part] = r @ power_lam
            np.multiply(rho, rho, out=rho)
            out[ia, part] = rho @ power
    return out
