"""The shared figure helpers of ``figures._style``: zeros on log axes, and the plain
tick labels that saved figures get on short log axes of any base.

What the helpers draw is read back from the matplotlib artists.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from figures import _style


def _log_axes():
    ax = Figure().add_subplot()
    ax.set_yscale("log")
    return ax


def test_mark_zeros_puts_each_zero_on_the_lower_edge_without_moving_limits():
    ax = _log_axes()
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([1e-3, 0.0, 1e-1, np.nan, 0.0])  # NaN: nothing to mark
    ax.plot(x, y)
    before = ax.get_ylim()
    count = _style.mark_zeros(ax, x, y, colour="C0", gid="z")
    assert count == 2
    (marks,) = [ln for ln in ax.get_lines() if ln.get_gid() == "z"]
    np.testing.assert_array_equal(marks.get_xdata(), [2.0, 5.0])
    # y in axes coordinates: 0 is the lower edge, whatever the limits are
    np.testing.assert_array_equal(marks.get_ydata(), [0.0, 0.0])
    xy = marks.get_transform().transform([[2.0, 0.0]])
    assert xy[0, 1] == pytest.approx(ax.transAxes.transform([[0.0, 0.0]])[0, 1])
    assert marks.get_marker() == "v" and not marks.get_clip_on()
    assert ax.get_ylim() == before
    # nothing to mark: no artist
    assert _style.mark_zeros(ax, x, np.ones(5), colour="C0", gid="none") == 0
    assert not [ln for ln in ax.get_lines() if ln.get_gid() == "none"]


def test_mark_zeros_on_a_log_x_axis_uses_the_left_edge():
    ax = _log_axes()
    ax.set_xscale("log")
    assert _style.mark_zeros(ax, [0.0, 1.0], [5.0, 6.0], colour="k", axis="x") == 1
    (marks,) = ax.get_lines()
    assert list(marks.get_xdata()) == [0.0] and list(marks.get_ydata()) == [5.0]
    assert marks.get_marker() == "<"
    with pytest.raises(ValueError, match="axis='z'"):
        _style.mark_zeros(ax, [0.0], [1.0], colour="k", axis="z")


def test_zeros_entry_counts_the_marks():
    handle, text = _style.zeros_entry(3, "trial mean")
    assert text.startswith("trial mean exactly 0 (3)")
    assert handle.get_marker() == "v"


def _saved_labels(tmp_path, ax, axis="y"):
    _style.save(ax.get_figure(), tmp_path, "f")
    ax.get_figure().canvas.draw()
    get = ax.get_yticklabels if axis == "y" else ax.get_xticklabels
    labels = [t.get_text() for t in get() if t.get_text()]
    return labels + [t.get_text() for t in get(minor=True) if t.get_text()]


BASE_2 = [(3, 70, {"4", "8", "16", "32", "64"}), (1.5, 17, {"2", "4", "8", "16"})]


@pytest.mark.parametrize(("lo", "hi", "want"), BASE_2)
def test_saved_base_2_log_axes_label_every_power_of_two(tmp_path, lo, hi, want):
    """The base-10 plain labels (1, 2, 3, 5 x 10^j) blanked 4, 8 and 64 on the
    base-2 width axes of the ifm figures; saved, every power of 2 is a plain number."""
    ax = _log_axes()
    ax.set_yscale("log", base=2)
    ax.set_ylim(lo, hi)
    labels = _saved_labels(tmp_path, ax)
    assert want <= set(labels), labels
    assert not any("^" in t for t in labels), labels


def test_saved_short_base_10_axes_keep_their_plain_labels(tmp_path):
    ax = _log_axes()
    ax.set_ylim(20, 230)
    labels = _saved_labels(tmp_path, ax)
    assert {"20", "30", "50", "100", "200"} <= set(labels), labels
    assert "40" not in labels and "60" not in labels
