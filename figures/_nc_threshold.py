"""The minority-class collapse threshold panel of ``nc_ufm_lengths``.

Deep linear UFM with MSE loss (Dang et al., ICML 2023, arXiv:2301.00437): with every
layer's λ equal, a class of size at most :math:`n_c = b/\varphi_c(M)` has
:math:`w_k = 0` at the global minimum
(:func:`theory.neural_collapse.nonzero_threshold`).
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np

from figures import _style
from theory.neural_collapse import deep_linear_class_a2
from theory.neural_collapse import nonzero_threshold

__all__ = ["collapse_size", "threshold_lambda"]


def threshold_lambda(depths, num_samples: float, target: float) -> float:
    r"""The λ (every layer and λ_H) that puts the thresholds at ``target``.

    With every layer's :math:`\lambda` equal, :math:`b = M N^{1+1/M}\lambda^{(M+1)/M}`
    and :math:`n_c(M) = b/\varphi_c(M)`; the returned :math:`\lambda` makes the
    geometric mean over ``depths`` of :math:`n_c(M)` equal ``target``.
    """
    logs = [
        (np.log(target * nonzero_threshold(int(m)) / (m * num_samples ** (1 + 1 / m))))
        * m
        / (m + 1)
        for m in depths
    ]
    return float(np.exp(np.mean(logs)))


def collapse_size(depth: int, num_samples: float, lam: float) -> float:
    r""":math:`n_c = b/\varphi_c(M)`, all :math:`\lambda` equal: classes at most this
    size have :math:`w_k = 0` at the global minimum."""
    M = int(depth)
    b = M * num_samples ** (1 + 1 / M) * lam ** ((M + 1) / M)
    return float(b / nonzero_threshold(M))


def _plot_threshold(ax, ds, depths, cols, N, lo, hi) -> None:
    target = float(np.sqrt(lo * hi))
    lam = threshold_lambda(depths, N, target)
    n_c = {m: collapse_size(int(m), N, lam) for m in depths}
    left = min(lo, *n_c.values()) / 2
    right = max(hi, *n_c.values()) * 2
    dense = np.unique(
        np.concatenate([np.geomspace(left, right, 400), list(n_c.values())])
    )
    for m in depths:
        a2 = deep_linear_class_a2(
            dense, num_samples=N, depth=int(m), lam_w=lam, lam_h=lam
        )
        ax.plot(dense, a2, color=cols[m], lw=1.2, gid=f"a2:{m}", label=f"M={m}")
        ax.axvline(n_c[m], color=cols[m], ls=":", lw=1.0, gid=f"threshold:{m}")
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    _style.plain_log_ticks(ax.xaxis)
    ax.set_xlabel("class size $n_k$")
    ax.set_ylabel(_style.label(ds["diag_wwt"]))
    ax.set_title(
        rf"minority-class collapse: $N={N:g}$, $\lambda_W=\lambda_H={lam:.2g}$",
        fontsize=8,
        loc="left",
    )
    handles, labels = ax.get_legend_handles_labels()
    handles.append(mpl.lines.Line2D([], [], ls=":", color="0.3"))
    labels.append(r"$n_c = b/\varphi_c(M)$: $w_k = 0$ below")
    ax.legend(handles, labels, loc="upper left", fontsize=6.5)
