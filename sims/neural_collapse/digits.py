r"""Experiment ``digits``: NC1 of a ReLU MLP trained layer by layer on digits.

A ReLU MLP trained layer by layer on scikit-learn's digits (each new layer and a fresh
classifier on top of the frozen earlier layers, the idea of Tirer, Huang &
Niles-Weed, ICML 2023, arXiv:2210.16658, Fig. 2): NC1 and NC1~ of the deepest features
as layers are added. Dims ``loss, trial, layer``. A run whose features overflow is
recorded in the ``diverged`` variable. Run ``python -m sims.neural_collapse --sweep
--experiment digits``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
import xarray as xr

from sims._backend import cell_generator
from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._config import SweepConfig
from sims._config import param
from sims._dataset import chunk_dataset
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.neural_collapse._common import NAME
from sims.neural_collapse._common import REFS_A
from sims.neural_collapse._common import batched_metrics

__all__ = ["DIGITS", "PRESETS", "DigitsSweep", "simulate_digits"]

_SAMPLES, _PIXELS, _CLASSES = 1797, 64, 10


@dataclasses.dataclass(frozen=True, kw_only=True)
class DigitsSweep(SweepConfig):
    """Layer-wise training of a ReLU MLP on ``sklearn.datasets.load_digits``.

    Attributes: documented in the ``param`` help strings (``--help`` lists them).
    The weight decay is λ/2 ||.||^2 on the new layer's and the classifier's weights
    (biases free).
    """

    layers: int = param(
        6, "hidden layers added one at a time (dim layer, 0 = pixels)", ge=1, le=100
    )
    width: int = param(64, "hidden width", ge=10, le=4096)
    steps: int = param(300, "full-batch Adam steps per added layer", ge=1, le=10**6)
    lr: float = param(1e-2, "Adam learning rate", gt=0.0, le=1.0)
    weight_decay: float = param(
        5e-4, "L2 weight decay λ on the weights", ge=0.0, le=10.0
    )
    loss: tuple[str, ...] = param(("mse", "ce"), "loss", choices=("mse", "ce"))
    trials: int = 5
    trial_batch: int = 1


PRESETS: dict[str, DigitsSweep] = {
    "smoke": DigitsSweep(layers=2, width=32, steps=60, loss=("mse",), trials=1),
    "default": DigitsSweep(),
    "paper": DigitsSweep(layers=10, width=512, steps=2000, lr=1e-3, trials=5),
}


def _digits(device, dtype):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / np.maximum(X.std(0), 1e-12)
    order = np.argsort(y, kind="stable")
    return (
        torch.as_tensor(X[order].T, dtype=dtype, device=device),
        torch.as_tensor(y[order], device=device),
    )


def simulate_digits(
    config: DigitsSweep, loss: str, trial: int
) -> dict[str, np.ndarray]:
    """Add hidden layers one at a time; NC of the deepest features after each.

    Layer ``l`` (``Linear(width) + ReLU``) and a fresh linear classifier are trained
    by full-batch Adam on the frozen features of layer ``l-1``; seeded by
    ``(seed, loss, trial, l)``. Returns ``nc1, nc1_tilde`` of shape ``(layers+1,)``
    (entry 0: the standardized pixels) and ``train_error, train_loss`` (entry 0 NaN).
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    X, y = _digits(device, dtype)
    K, N = 10, X.shape[1]
    Y = torch.zeros(K, N, dtype=dtype, device=device)
    Y[y, torch.arange(N, device=device)] = 1.0
    ones = torch.ones(1, 1, dtype=dtype, device=device)
    res = {
        k: np.full(config.layers + 1, np.nan)
        for k in ("nc1", "nc1_tilde", "train_error", "train_loss")
    }

    def record(i, feats):
        m = batched_metrics(ones.expand(1, K, feats.shape[0]), feats[None], y)
        res["nc1"][i] = float(m["nc1"][0])
        res["nc1_tilde"][i] = float(m["nc1_tilde"][0])

    record(0, X)
    feats = X
    for layer in range(1, config.layers + 1):
        gen = cell_generator(config.seed, "digits", loss, trial, layer, device=device)
        d_in = feats.shape[0]
        A = torch.randn(config.width, d_in, generator=gen, dtype=dtype, device=device)
        A = (A * math.sqrt(2.0 / d_in)).requires_grad_()
        c = torch.zeros(config.width, 1, dtype=dtype, device=device, requires_grad=True)
        V = torch.randn(K, config.width, generator=gen, dtype=dtype, device=device)
        V = (V / math.sqrt(config.width)).requires_grad_()
        bv = torch.zeros(K, 1, dtype=dtype, device=device, requires_grad=True)
        opt = torch.optim.Adam([A, c, V, bv], lr=config.lr)

        def objective(A=A, c=c, V=V, bv=bv, feats=feats):
            out = V @ torch.relu(A @ feats + c) + bv
            if loss == "mse":
                data = 0.5 * ((out - Y) ** 2).sum() / N
            else:
                data = torch.nn.functional.cross_entropy(out.T, y)
            reg = 0.5 * config.weight_decay * ((A * A).sum() + (V * V).sum())
            return data + reg, out

        for _ in range(config.steps):
            opt.zero_grad()
            value, _ = objective()
            value.backward()
            opt.step()
        with torch.no_grad():
            value, out = objective()
            feats = torch.relu(A @ feats + c)
            res["train_error"][layer] = float((out.argmax(0) != y).to(dtype).mean())
            res["train_loss"][layer] = float(value)
        record(layer, feats)
    return res


def _kernel(config: DigitsSweep, chunk: Chunk) -> xr.Dataset:
    (loss,) = chunk.coords["loss"]
    trials = chunk.coords["trial"]
    runs = [simulate_digits(config, loss, t) for t in trials]
    data = {
        key: (("trial", "layer"), np.stack([r[key] for r in runs])) for key in runs[0]
    }
    return chunk_dataset(chunk, data, {"layer": list(range(config.layers + 1))})


ATTRS = {
    "nc1": VarAttrs(
        "NC1 of the deepest features",
        description="(1/K) Tr(Sigma_W Sigma_B^+) on the training set",
        symbol=r"\mathcal{NC}_1",
    ),
    "nc1_tilde": VarAttrs(
        "NC1 trace ratio of the deepest features",
        description="Tr Sigma_W / Tr Sigma_B",
        symbol=r"\widetilde{\mathcal{NC}}_1",
    ),
    "train_error": VarAttrs(
        "training error", description="classifier trained with the new layer", symbol=""
    ),
    "train_loss": VarAttrs(
        "training objective",
        description="data loss + weight decay at the end",
        symbol="",
    ),
}


def _memory(config: DigitsSweep) -> float:
    """Peak bytes of one chunk (its trials run one after another): the data and
    features, the activations autograd keeps and the metrics' copies (about 8
    width x 1797 numbers), the layer, classifier and Adam states and the metrics'
    width x width matrices (8 width^2), times 1.2; float64 numbers."""
    w = config.width
    return 1.2 * 8 * (8 * w * _SAMPLES + 8 * w * w + 4 * _PIXELS * _SAMPLES)


DIGITS = Experiment(
    name=NAME,
    key="digits",
    config=DigitsSweep,
    presets=PRESETS,
    axes=Axes("loss"),
    kernel=_kernel,
    attrs=ATTRS,
    coords={
        "layer": VarAttrs("hidden layers", symbol="L"),
        "loss": VarAttrs("loss"),
        "trial": VarAttrs("trial"),
    },
    title="Layer-wise trained MLP on digits: NC1 of the deepest features",
    references=f"{REFS_A} (Fig. 2 idea, on digits instead of CIFAR-10)",
    grid_attrs={
        "dataset": "sklearn.datasets.load_digits (1797 x 64, 10 classes)",
    },
    config_attrs=("width", "steps", "lr", "weight_decay"),
    not_applicable=("train_error", "train_loss"),  # entry 0: the input, untrained
    memory=_memory,
    summary="NC1 of the deepest features of a ReLU MLP trained layer-wise on digits",
)
