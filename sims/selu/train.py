r"""Experiment ``train``: the paper's Fig. 1 protocol on scikit-learn's digits.

Klambauer et al. (2017), arXiv:1706.02515, Fig. 1: depth-``depth`` nets of width
``width`` trained with plain SGD on the digits (1797 x 64, standardized), SELU with
LeCun init (std :math:`\sqrt{1/n}`) against ReLU with BatchNorm (std
:math:`\sqrt{2/n}`). Full-data training loss and accuracy every ``eval_every`` steps.
Dims ``activation, depth, seed, step``. A run whose loss overflows is recorded in the
``diverged`` variable. Run ``python -m sims.selu --sweep --experiment train``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr

from sims._backend import cell_generator
from sims._backend import cpu_threads
from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._config import SweepConfig
from sims._config import param
from sims._dataset import chunk_dataset
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.selu._common import COORDS
from sims.selu._common import DIGITS_SAMPLES
from sims.selu._common import NAME
from sims.selu._common import REFERENCE
from sims.selu._common import load_digits_standardized
from sims.selu._common import selu

__all__ = [
    "TRAIN",
    "TRAIN_ACTIVATIONS",
    "TRAIN_PRESETS",
    "SeluTrainSweep",
    "simulate_train",
]

#: Models of the training experiment.
TRAIN_ACTIVATIONS = ("selu", "relu_bn")
_BN_EPS = 1e-5
_CLASSES, _PIXELS = 10, 64


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeluTrainSweep(SweepConfig):
    """Training curves on scikit-learn's digits, SELU vs ReLU + BatchNorm.

    ``trials`` is the number of training seeds (dim ``seed``). Attributes:
    documented in the ``param`` help strings (``--help`` lists them); the paper
    uses the input dimension as the width (digits has 64).
    """

    activation: tuple[str, ...] = param(
        TRAIN_ACTIVATIONS,
        "models: selu (LeCun init) or relu_bn (ReLU + BatchNorm)",
        choices=TRAIN_ACTIVATIONS,
    )
    depth: tuple[int, ...] = param((8, 16, 32), "hidden layers", ge=1, le=1000)
    width: int = param(64, "hidden width", ge=1, le=4096)
    steps: int = param(300, "SGD steps", ge=1, le=10**6)
    eval_every: int = param(
        15, "steps between full-data evaluations (dim step)", ge=1, le=10**6
    )
    batch_size: int = param(
        128,
        "minibatch size (without replacement per epoch)",
        ge=2,
        le=DIGITS_SAMPLES,
    )
    lr: float = param(0.02, "SGD learning rate", gt=0.0, le=10.0)
    trials: int = 4
    trial_batch: int = 4


TRAIN_PRESETS: dict[str, SeluTrainSweep] = {
    "smoke": SeluTrainSweep(
        depth=(4,), width=32, steps=40, eval_every=10, trials=2, trial_batch=2
    ),
    "default": SeluTrainSweep(),
    "paper": SeluTrainSweep(
        steps=5000, eval_every=25, trials=10, trial_batch=10, dtype="float32"
    ),
}


def _init_params(config, activation, depth, trials, X, device, dtype):
    """Weights N(0, gain/fan_in) (gain 1 for SELU, 2 for ReLU+BN), zero biases.

    The standard-normal draws come from (seed, "train", depth, trial) and are the
    same for both activations; only the gain differs.
    """
    n_in, width, n_out = X.shape[1], config.width, _CLASSES
    sizes = [n_in] + [width] * depth + [n_out]
    gens = [
        cell_generator(config.seed, "train", depth, t, device=device) for t in trials
    ]
    params = []
    for layer in range(depth + 1):
        fan_in, fan_out = sizes[layer], sizes[layer + 1]
        gain = 2.0 if (activation == "relu_bn" and layer < depth) else 1.0
        W = torch.stack(
            [
                torch.randn(fan_out, fan_in, generator=g, dtype=dtype, device=device)
                for g in gens
            ]
        ) * math.sqrt(gain / fan_in)
        b = torch.zeros(len(trials), fan_out, dtype=dtype, device=device)
        params += [W, b]
        if activation == "relu_bn" and layer < depth:
            params += [
                torch.ones(len(trials), fan_out, dtype=dtype, device=device),
                torch.zeros(len(trials), fan_out, dtype=dtype, device=device),
            ]
    for p in params:
        p.requires_grad_(True)
    return params, gens


def _forward(params, x, activation, depth):
    """Logits (T, N, 10); BatchNorm uses the statistics of the rows of ``x``."""
    h, i = x, 0
    for _ in range(depth):
        W, b = params[i], params[i + 1]
        h = torch.baddbmm(b[:, None, :], h, W.mT)
        i += 2
        if activation == "relu_bn":
            gamma, beta = params[i], params[i + 1]
            i += 2
            mean = h.mean(dim=1, keepdim=True)
            var = h.var(dim=1, correction=0, keepdim=True)
            h = (h - mean) / torch.sqrt(var + _BN_EPS) * gamma[:, None] + beta[:, None]
            h = torch.relu(h)
        else:
            h = selu(h)
    W, b = params[i], params[i + 1]
    return torch.baddbmm(b[:, None, :], h, W.mT)


def simulate_train(
    config: SeluTrainSweep, activation: str, depth: int, trials: Sequence[int]
) -> dict[str, np.ndarray]:
    r"""SGD on digits for one (activation, depth) and a batch of seeds, batched.

    Each seed has its own initialization and minibatch order, both from the stream
    (seed, "train", depth, seed index), shared by the two activations. Minibatches
    are drawn without replacement within an epoch (a fresh permutation per epoch; the
    last incomplete batch is dropped).

    Returns:
      ``train_loss`` (mean cross-entropy on all 1797 points) and ``train_accuracy``
      of shape (step, seed) at steps 0, eval_every, ..., steps. BatchNorm in these
      evaluations normalizes with the full-data statistics.
    """
    device = resolve_device(config.device)
    with cpu_threads(device):
        return _train(config, activation, depth, trials, device)


def _train(config, activation, depth, trials, device) -> dict[str, np.ndarray]:
    dtype = resolve_dtype(config.dtype)
    X_np, y_np = load_digits_standardized()
    X = torch.as_tensor(X_np, dtype=dtype, device=device)
    y = torch.as_tensor(y_np, device=device)
    T, N = len(trials), X.shape[0]
    params, gens = _init_params(config, activation, depth, trials, X, device, dtype)
    eval_steps = list(range(0, config.steps + 1, config.eval_every))
    if eval_steps[-1] != config.steps:
        eval_steps.append(config.steps)
    loss_out = np.empty((len(eval_steps), T))
    acc_out = np.empty_like(loss_out)
    per_epoch = N // config.batch_size
    order = None
    X_all = X.expand(T, N, X.shape[1])

    def evaluate(k: int) -> None:
        with torch.no_grad():
            logits = _forward(params, X_all, activation, depth)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(T * N, _CLASSES), y.repeat(T), reduction="none"
            ).view(T, N)
            loss_out[k] = loss.mean(1).double().cpu().numpy()
            acc = (logits.argmax(-1) == y).to(dtype).mean(1)
            acc_out[k] = acc.double().cpu().numpy()

    evaluate(0)
    k = 1
    for step in range(config.steps):
        pos = step % per_epoch
        if pos == 0:
            order = torch.stack(
                [torch.randperm(N, generator=g, device=device) for g in gens]
            )
        idx = order[:, pos * config.batch_size : (pos + 1) * config.batch_size]
        xb = torch.gather(X_all, 1, idx[..., None].expand(-1, -1, X.shape[1]))
        yb = y[idx]
        logits = _forward(params, xb, activation, depth)
        loss = (
            torch.nn.functional.cross_entropy(
                logits.reshape(-1, _CLASSES), yb.reshape(-1), reduction="sum"
            )
            / idx.shape[1]
        )  # sum over seeds of each seed's mean loss
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.sub_(config.lr * g)
        if k < len(eval_steps) and step + 1 == eval_steps[k]:
            evaluate(k)
            k += 1
    return {"train_loss": loss_out, "train_accuracy": acc_out, "step": eval_steps}


def _kernel(config: SeluTrainSweep, chunk: Chunk) -> xr.Dataset:
    (activation,) = chunk.coords["activation"]
    (depth,) = chunk.coords["depth"]
    seeds = chunk.coords["seed"]
    res = simulate_train(config, activation, depth, seeds)
    step = res.pop("step")
    data = {k: (("step", "seed"), v) for k, v in res.items()}
    ds = chunk_dataset(chunk, data, {"step": step})
    return ds.transpose("activation", "depth", "seed", "step")


ATTRS = {
    "train_loss": VarAttrs(
        "training loss",
        description="mean cross-entropy over all 1797 digits (BatchNorm with "
        "full-data stats)",
        symbol=r"\mathcal{L}",
    ),
    "train_accuracy": VarAttrs(
        "training accuracy",
        description="fraction of the 1797 digits classified correctly",
        symbol=r"\mathrm{acc}",
    ),
}


def _finish(config: SeluTrainSweep, ds: xr.Dataset) -> xr.Dataset:
    return ds.transpose("activation", "depth", "seed", "step")


def _memory(config: SeluTrainSweep) -> float:
    """Peak bytes of one chunk (the deepest net, trial_batch seeds): parameters,
    gradients and BatchNorm affines, and the activations autograd keeps for a
    minibatch (or the full-data evaluation, no graph), about four tensors of
    (rows x width) per layer, times 1.2; float64 numbers."""
    T, L, w = min(config.trial_batch, config.trials), max(config.depth), config.width
    params = (L - 1) * w * w + (_PIXELS + _CLASSES) * w + 4 * L * w
    rows = max(config.batch_size * L, DIGITS_SAMPLES * 2)
    return 1.2 * 8 * T * (3 * params + 4 * rows * w + DIGITS_SAMPLES * _PIXELS)


TRAIN = Experiment(
    name=NAME,
    key="train",
    config=SeluTrainSweep,
    presets=TRAIN_PRESETS,
    axes=Axes("activation", "depth", trial="seed"),
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords=COORDS,
    title="Training loss on digits: SELU (LeCun init) vs ReLU + BatchNorm",
    references=REFERENCE,
    grid_attrs={
        "dataset": "sklearn.datasets.load_digits, StandardScaler",
        "optimizer": "plain SGD",
    },
    config_attrs=("width", "batch_size", "lr"),
    batch_dim="seed",
    memory=_memory,
    summary="SELU vs ReLU+BatchNorm nets trained on digits (Fig. 1 protocol)",
)
