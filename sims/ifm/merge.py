r"""IFM on trained ReLU MLPs and a CNN: width, parameters, accuracy, error vs bound.

Chen, Zhou & Yan (ICLR 2024, arXiv:2310.06756) merge functionally equivalent features
of a trained network without data and report accuracy against the fraction of
parameters kept as the threshold :math:`\beta` varies. Here: MLPs (``mlp1``: one
hidden layer, ``mlp2``: two) and a small CNN with BatchNorm (``cnn``: two blocks of
3x3 conv with ``width`` channels, BatchNorm, ReLU and 2x2 max-pool, then a Linear head;
``docs/derivations/ifm.md`` §8) of several widths trained on
scikit-learn's 8x8 digits (Adam, full-batch for the MLPs and minibatches for the
CNN, all trials of a chunk as one batched program), then
:func:`theory.feature_merging.ifm` over a :math:`\beta` grid in both modes, without
fine-tuning. Measured: width per hidden layer after merging, parameter ratio, test
accuracy before and after, the largest output change on the test inputs and, for the
MLPs, the data-dependent bound of ``docs/derivations/ifm.md`` §5 (summed over the
merges). Run ``python -m sims.ifm --sweep --experiment merge``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import xarray as xr

from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._config import SweepConfig
from sims._config import param
from sims._dataset import chunk_dataset
from sims._dataset import config_coords
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.ifm._common import ARCHS
from sims.ifm._common import COORDS
from sims.ifm._common import REFERENCES
from sims.ifm._common import digits
from sims.ifm._common import net_forward
from sims.ifm._common import train
from theory.feature_merging import ifm
from theory.feature_merging import ifm_error_trace
from theory.feature_merging import param_count

__all__ = ["EXPERIMENT", "PRESETS", "IFMMergeSweep"]

#: relative and absolute slack of the per-merge bound check (float64 rounding)
BOUND_RTOL, BOUND_ATOL = 1e-9, 1e-10


@dataclasses.dataclass(frozen=True, kw_only=True)
class IFMMergeSweep(SweepConfig):
    """Trained MLPs and CNNs merged by IFM over a beta grid.

    Attributes: documented in the ``param`` help strings (``--help`` lists them).
    """

    arch: tuple[str, ...] = param(
        ("mlp1", "mlp2", "cnn"),
        "architecture (dim arch): mlp1/mlp2 = 1/2 hidden layers, cnn = 2 conv+BN",
        choices=tuple(ARCHS),
    )
    width: tuple[int, ...] = param(
        (32, 64, 128), "hidden width or channels (dim width)", ge=2, le=4096
    )
    beta: tuple[float, ...] = param(
        (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5),
        "IFM relative threshold β (dim beta)",
        ge=0.0,
        le=1e6,
    )
    mode: tuple[str, ...] = param(
        ("official", "exact"), "IFM mode (dim mode)", choices=("official", "exact")
    )
    max_ratio: float = param(
        1.0, "IFM cap on passes per layer (fraction of width)", gt=0.0, le=1.0
    )
    steps: int = param(400, "full-batch Adam steps", ge=1, le=10**6)
    lr: float = param(0.01, "Adam step size", gt=0.0, le=10.0)
    cnn_batch: int = param(
        128, "minibatch size of the CNN (the MLPs train full-batch)", ge=1, le=10**5
    )
    trials: int = param(4, "seeds per cell (dim trial)", ge=1, le=10**4)
    trial_batch: int = param(4, "seeds trained together", ge=1, le=10**4)


PRESETS = {
    "smoke": IFMMergeSweep(
        arch=("mlp2", "cnn"),
        width=(8, 16),
        beta=(0.0, 0.6),
        steps=30,
        lr=0.03,
        trials=2,
        trial_batch=2,
    ),
    "default": IFMMergeSweep(),
    "paper": IFMMergeSweep(
        width=(32, 64, 128, 256, 512),
        beta=(
            0.0,
            0.001,
            0.01,
            0.03,
            0.05,
            0.07,
            0.1,
            0.12,
            0.14,
            0.15,
            0.18,
            0.2,
            0.22,
            0.24,
            0.25,
            0.26,
            0.28,
            0.3,
            0.4,
            0.5,
        ),
        steps=1000,
        trials=8,
    ),
}


def _acc(arch, layers, X, y) -> float:
    return float((net_forward(arch, layers, X).argmax(1) == y).double().mean())


def _kernel(config: IFMMergeSweep, chunk: Chunk) -> xr.Dataset:
    (arch,) = chunk.coords["arch"]
    (width,) = chunk.coords["width"]
    trials = list(chunk.coords["trial"])
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    ((_, nets),) = train(config, arch, width, trials, device, dtype)
    _, _, Xte, yte = digits(device, torch.float64)
    n_layers = max(ARCHS[a] for a in config.arch)
    shape = (len(trials), len(config.beta), len(config.mode))
    width_after = np.full((*shape, n_layers), np.nan)
    ratio, acc_after, dev, bound, viol = (np.full(shape, np.nan) for _ in range(5))
    acc_before = np.full(len(trials), np.nan)
    for t, layers in enumerate(nets):
        acc_before[t] = _acc(arch, layers, Xte, yte)
        f0 = net_forward(arch, layers, Xte)
        p0 = param_count(layers)
        for i, beta in enumerate(config.beta):
            for j, mode in enumerate(config.mode):
                res = ifm(layers, beta=beta, mode=mode, max_ratio=config.max_ratio)
                width_after[t, i, j, : len(res.widths)] = res.widths
                ratio[t, i, j] = param_count(res.layers) / p0
                f1 = net_forward(arch, res.layers, Xte)
                acc_after[t, i, j] = float((f1.argmax(1) == yte).double().mean())
                dev[t, i, j] = float(torch.linalg.norm(f1 - f0, dim=1).max())
                if arch == "cnn":
                    continue  # the bound is for MLPs (docs/derivations/ifm.md §5)
                tr = ifm_error_trace(res, Xte)
                bound[t, i, j] = float(tr.total_bound.max())
                slack = tr.bound * (1 + BOUND_RTOL) + BOUND_ATOL
                viol[t, i, j] = float((tr.deviation > slack).sum())
    d3 = ("trial", "beta", "mode")
    return chunk_dataset(
        chunk,
        {
            "width_after": ((*d3, "layer"), width_after),
            "param_ratio": (d3, ratio),
            "acc_before": (("trial",), acc_before),
            "acc_after": (d3, acc_after),
            "max_deviation": (d3, dev),
            "error_bound": (d3, bound),
            "bound_violations": (d3, viol),
        },
        {**config_coords(config, "beta", "mode"), "layer": list(range(n_layers))},
    )


_ATTRS = {
    "width_after": VarAttrs(
        "width after merging",
        "1",
        "units kept in the hidden layer (NaN: the architecture has no such layer)",
    ),
    "param_ratio": VarAttrs("parameter ratio", "1", "parameters after / before"),
    "acc_before": VarAttrs("test accuracy before", "1", "accuracy of the trained net"),
    "acc_after": VarAttrs("test accuracy after", "1", "after IFM, no fine-tuning"),
    "max_deviation": VarAttrs(
        "max output change", "1", "max over test inputs of |f_merged(x) - f(x)|_2"
    ),
    "error_bound": VarAttrs(
        "error bound",
        "1",
        "max over test inputs of the summed per-merge bounds (derivations §5); "
        "NaN: not defined for the cnn arch",
    ),
    "bound_violations": VarAttrs(
        "bound violations",
        "1",
        "(merge, input) pairs whose change exceeds its bound; NaN for the cnn arch",
    ),
}

EXPERIMENT = Experiment(
    name="ifm",
    key="merge",
    config=IFMMergeSweep,
    presets=PRESETS,
    axes=Axes("arch", "width"),
    kernel=_kernel,
    attrs=_ATTRS,
    coords=COORDS,
    title="Iterative Feature Merging of trained nets on digits",
    references=REFERENCES,
    config_attrs=("steps", "max_ratio"),
    not_applicable=("width_after", "error_bound", "bound_violations"),
    summary="IFM on trained MLPs and a CNN: width, parameters, accuracy, error bound",
)
