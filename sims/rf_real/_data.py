"""scikit-learn's digits as the experiments use them, and their kernel matrices.

Preprocessing (the paper's, arXiv:2311.14646 Section 6, applied to digits): pixels
normalized by the global mean and standard deviation of all 1797 images, flattened
to ``d = 64``. Targets: one-hot over the 10 classes, or binarized (``+1`` for the
digits 5-9, ``-1`` for 0-4; our choice, the counterpart of the paper's
vehicle/animal split of CIFAR-10). Kernel matrices are computed on the points of
each draw.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import torch

from sims._backend import cell_generator
from theory.kernels import myrtle_ntk
from theory.kernels import relu_nngp_ntk

__all__ = [
    "NUM_POINTS",
    "Digits",
    "check_fit_windows",
    "check_proxy_sizes",
    "digits",
    "draw",
    "kernel_matrix",
]

NUM_POINTS = 1797
KERNELS = ("nngp", "ntk", "myrtle")


class Digits(NamedTuple):
    """The digits data set, normalized.

    Attributes:
      x: ``(1797, 64)`` normalized pixels.
      images: ``(1797, 8, 8, 1)`` the same pixels as images.
      labels: ``(1797,)`` integer classes 0-9.
      onehot: ``(1797, 10)`` one-hot targets.
      binary: ``(1797,)`` ``+1`` for digits 5-9, ``-1`` for 0-4.
    """

    x: np.ndarray
    images: np.ndarray
    labels: np.ndarray
    onehot: np.ndarray
    binary: np.ndarray


@functools.cache
def digits() -> Digits:
    """Load and normalize scikit-learn's bundled digits (no download)."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    pixels = raw.data.astype(np.float64)
    x = (pixels - pixels.mean()) / pixels.std()
    labels = raw.target.astype(np.int64)
    return Digits(
        x=x,
        images=x.reshape(-1, 8, 8, 1),
        labels=labels,
        onehot=np.eye(10)[labels],
        binary=np.where(labels >= 5, 1.0, -1.0),
    )


def kernel_matrix(
    name: str, idx: np.ndarray, *, depth=1, weight_var=2.0, bias_var=0.0
) -> np.ndarray:
    """The ``name`` kernel among the points ``idx`` (in that order), float64.

    ``nngp``/``ntk``: the fully connected ReLU kernels of
    :func:`theory.kernels.relu_nngp_ntk` (about 1 s for all 1797 points).
    ``myrtle``: :func:`theory.kernels.myrtle_ntk` on these images (neural-tangents;
    about a millisecond per pair on a CPU).
    """
    if name == "myrtle":
        return myrtle_ntk(digits().images[idx])
    if name not in ("nngp", "ntk"):
        raise ValueError(f"kernel must be one of {KERNELS}, got {name!r}")
    x = digits().x[idx]
    pair = relu_nngp_ntk(x, depth=depth, weight_var=weight_var, bias_var=bias_var)
    return getattr(pair, name)


def draw(seed: int, *coords) -> np.ndarray:
    """A random ordering of the 1797 points, seeded by (seed, coords) only."""
    gen = cell_generator(seed, *coords, device=torch.device("cpu"))
    return torch.randperm(NUM_POINTS, generator=gen).numpy()


def check_proxy_sizes(config, limit: int, what: str) -> None:
    """``config.sizes`` (the training sizes of the exponent proxies) increase and stay
    within ``limit`` (the training points, named by ``what``), and the fit windows
    hold enough of them (:func:`check_fit_windows`); ``ValueError`` naming the bad
    value."""
    if max(config.sizes) > limit:
        raise ValueError(f"sizes up to {max(config.sizes)} exceed {what}")
    if list(config.sizes) != sorted(config.sizes):
        raise ValueError(f"sizes must be increasing, got {config.sizes}")
    check_fit_windows(config)


def check_fit_windows(config) -> None:
    """``alpha_window`` and ``beta_window`` are ``(n_lo, n_hi)``, ``n_lo < n_hi``,
    each holding at least two of ``config.sizes`` (``ValueError`` naming it)."""
    for name in ("alpha_window", "beta_window"):
        w = getattr(config, name)
        inside = [n for n in config.sizes if len(w) == 2 and w[0] <= n <= w[1]]
        if len(w) != 2 or w[0] >= w[1] or len(inside) < 2:
            raise ValueError(
                f"{name}={w} must be (n_lo, n_hi) with n_lo < n_hi holding at "
                f"least two of the sizes"
            )
