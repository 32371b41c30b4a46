"""Finding the artists a figure test checks, by the gid the figure code gives them."""

from __future__ import annotations


def line_by_gid(fig, gid: str):
    """The one line of ``fig`` whose gid is ``gid`` (AssertionError if none)."""
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_gid() == gid:
                return line
    raise AssertionError(f"no line with gid {gid!r}")
