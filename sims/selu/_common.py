r"""What the SELU experiments share: the activations, alpha-dropout, labels, digits.

Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing Neural Networks",
arXiv:1706.02515.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from sims._experiment import VarAttrs
from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import alpha_dropout_affine

__all__ = [
    "COORDS",
    "NAME",
    "REFERENCE",
    "alpha_dropout",
    "load_digits_standardized",
    "selu",
]

#: The results folder ``results/selu/`` and the figure module ``figures.selu``.
NAME = "selu"
REFERENCE = (
    "Klambauer, Unterthiner, Mayr, Hochreiter (2017), Self-Normalizing Neural "
    "Networks, arXiv:1706.02515"
)
#: Samples of scikit-learn's digits (the largest minibatch of the train experiment).
DIGITS_SAMPLES = 1797


def selu(
    x: torch.Tensor, *, alpha: float = ALPHA_01, lam: float = LAMBDA_01
) -> torch.Tensor:
    r"""SELU :math:`\lambda x` (x > 0), :math:`\lambda\alpha(e^x - 1)` (x <= 0)."""
    return lam * torch.where(x > 0, x, alpha * torch.expm1(x.clamp_max(0)))


def alpha_dropout(
    x: torch.Tensor,
    q: float,
    *,
    generator: torch.Generator,
    mu_f: float = 0.0,
    nu_f: float = 1.0,
    mask_shape: Sequence[int] | None = None,
) -> torch.Tensor:
    r"""Alpha-dropout :math:`a(xd + \alpha'(1-d)) + b`, :math:`d \sim` Bernoulli(q).

    (a, b, α') from :func:`theory.selu_moments.alpha_dropout_affine`, so an input
    with mean ``mu_f`` and variance ``nu_f`` keeps them exactly. ``mask_shape``
    (default ``x.shape``) must broadcast to ``x.shape``; a smaller mask is shared
    along the broadcast dims. ``q = 1`` is the identity.
    """
    if not (math.isfinite(q) and 0 < q <= 1):
        raise ValueError(f"keep rate must be in (0, 1], got q={q!r}")
    if q == 1:
        return x
    d = alpha_dropout_affine(q, mu_f=mu_f, nu_f=nu_f)
    shape = tuple(mask_shape) if mask_shape is not None else tuple(x.shape)
    keep = (
        torch.rand(shape, generator=generator, dtype=x.dtype, device=x.device) < q
    ).to(x.dtype)
    return float(d.a) * (x * keep + d.alpha_prime * (1 - keep)) + float(d.b)


def load_digits_standardized() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (1797 x 64, 10 classes), features standardized.

    Bundled with scikit-learn (no download). Returns ``(X, y)``, float64 and int64;
    constant pixels stay 0.
    """
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float64), y.astype(np.int64)


#: The labels of the coordinates of every SELU grid.
COORDS = {
    "mu": VarAttrs("input mean", description="mean of each input x_i", symbol=r"\mu"),
    "nu": VarAttrs(
        "input variance", description="variance of each input x_i", symbol=r"\nu"
    ),
    "omega": VarAttrs(
        "weight sum", description="sum of a unit's weights", symbol=r"\omega"
    ),
    "tau": VarAttrs(
        "weight square sum",
        description="sum of a unit's squared weights",
        symbol=r"\tau",
    ),
    "trial": VarAttrs("trial", description="independent repetition"),
    "seed": VarAttrs(
        "training seed", description="independent initialization and minibatch order"
    ),
    "activation": VarAttrs(
        "activation", description="activation function (and normalization)"
    ),
    "start": VarAttrs(
        "input moments", description="index of the input (mean, variance) pair"
    ),
    "start_mean": VarAttrs(
        "input mean", description="mean of the network input", symbol=r"\mu_0"
    ),
    "start_var": VarAttrs(
        "input variance", description="variance of the network input", symbol=r"\nu_0"
    ),
    "width": VarAttrs(
        "width", description="units per layer = input dimension", symbol="n"
    ),
    "layer": VarAttrs("layer", description="layer index; 0 is the input", symbol="l"),
    "depth": VarAttrs("depth", description="number of hidden layers", symbol="L"),
    "step": VarAttrs("SGD step", description="optimizer steps taken", symbol="t"),
}
