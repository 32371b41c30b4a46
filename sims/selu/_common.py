r"""What the SELU experiments share: the activations, alpha-dropout, attrs, digits.

Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing Neural Networks",
arXiv:1706.02515.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr

from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import alpha_dropout_affine

__all__ = [
    "NAME",
    "REFERENCE",
    "alpha_dropout",
    "load_digits_standardized",
    "selu",
    "set_coord_attrs",
    "set_var_attrs",
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


_COORD_ATTRS = {
    "mu": ("input mean", r"\mu", "mean of each input x_i"),
    "nu": ("input variance", r"\nu", "variance of each input x_i"),
    "omega": ("weight sum", r"\omega", "sum of a unit's weights"),
    "tau": ("weight square sum", r"\tau", "sum of a unit's squared weights"),
    "trial": ("trial", "", "independent repetition"),
    "seed": ("training seed", "", "independent initialization and minibatch order"),
    "activation": ("activation", "", "activation function (and normalization)"),
    "start": ("input moments", "", "index of the input (mean, variance) pair"),
    "start_mean": ("input mean", r"\mu_0", "mean of the network input"),
    "start_var": ("input variance", r"\nu_0", "variance of the network input"),
    "width": ("width", "n", "units per layer = input dimension"),
    "layer": ("layer", "l", "layer index; 0 is the input"),
    "depth": ("depth", "L", "number of hidden layers"),
    "step": ("SGD step", "t", "optimizer steps taken"),
}


def set_coord_attrs(ds: xr.Dataset) -> None:
    """Label every coordinate of a SELU grid (in place)."""
    for name in ds.coords:
        if name in _COORD_ATTRS:
            long_name, symbol, description = _COORD_ATTRS[name]
            attrs = {"long_name": long_name, "units": "1", "description": description}
            if symbol:
                attrs["math_symbol"] = symbol
            ds[name].attrs = attrs


def set_var_attrs(ds: xr.Dataset, table: dict, theory_fn: str = "") -> None:
    """Label every data variable from ``table`` (``_theory`` siblings too; in place)."""
    for name in ds.data_vars:
        base = name.removesuffix("_theory")
        long_name, symbol, description = table[base]
        attrs = {
            "long_name": long_name,
            "units": "1",
            "math_symbol": symbol,
            "description": description,
        }
        if name.endswith("_theory"):
            attrs["long_name"] = f"{long_name}, theory"
            attrs["theory_fn"] = theory_fn
        ds[name].attrs = attrs
