"""Shared by the power-law tests (``test_rf_powerlaw.py``, ``test_rf_tail.py``).

The paper's (alpha, beta) are its Fig. 2 exponents for CIFAR-10, SVHN and MNIST
(``docs/derivations/rf_powerlaw.md`` §6.2, arXiv:2311.14646), plus the truncation
example (1.5, 1.25) of §6.1; hypothesis strategies over the exponents.
"""

from __future__ import annotations

from hypothesis import example
from hypothesis import strategies as st

PAPER_PAIRS = [(1.17, 1.14), (1.22, 1.20), (1.12, 1.36), (1.5, 1.25)]

alphas = st.floats(1.05, 3.0)


@st.composite
def exponents(draw, beta_over=0.9):
    """(alpha, beta) with 1.05 <= beta <= 2 alpha + beta_over (rf_ridge.md §8.2)."""
    alpha = draw(alphas)
    return alpha, draw(st.floats(1.05, 2 * alpha + beta_over))


def _ex(**kwargs):
    """@example at every paper (alpha, beta), with the other arguments fixed."""

    def deco(f):
        for a, b in PAPER_PAIRS:
            f = example(ab=(a, b), **kwargs)(f)
        return f

    return deco
