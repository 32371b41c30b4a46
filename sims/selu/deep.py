r"""Experiment ``deep``: per-layer moments of deep nets against the iterated map.

Klambauer et al. (2017), arXiv:1706.02515, Theorem 1 and Section 3 (alpha-dropout).
Deep fully connected nets, LeCun-normal weights :math:`N(0, 1/n)`, no biases, no
normalization, input :math:`x \sim N(\mu_0, \nu_0)` i.i.d. For each activation (SELU;
SELU with alpha-dropout; ReLU; tanh), start and width: the mean and variance of every
layer's activations over batch and units, beside the iterate of the wide-network
population map (:func:`theory.selu_moments.population_moment_map`) and of the
paper's map at ω = 0, τ = 1. Dims ``activation, start, width, layer, trial``; all
activations and starts of a trial share one weight draw. Run
``python -m sims.selu --sweep --experiment deep``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

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
from sims._experiment import Theory
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.selu._common import COORDS
from sims.selu._common import NAME
from sims.selu._common import REFERENCE
from sims.selu._common import alpha_dropout
from sims.selu._common import selu
from theory.selu_moments import alpha_dropout_moments
from theory.selu_moments import moment_map
from theory.selu_moments import population_moment_map
from theory.selu_moments import relu_moment_map
from theory.selu_moments import tanh_moment_map

__all__ = [
    "ACTIVATIONS",
    "DEEP",
    "DEEP_PRESETS",
    "SeluDeepSweep",
    "deep_theory",
    "simulate_deep",
]

#: Activations of the deep experiment.
ACTIVATIONS = ("selu", "selu_dropout", "relu", "tanh")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeluDeepSweep(SweepConfig):
    """Deep LeCun-normal nets: per-layer activation moments from several starts.

    Attributes: documented in the ``param`` help strings (``--help`` lists them).
    ``start_mean`` and ``start_var`` are paired by position (dim ``start``); the
    layer dim runs 0 .. depth (0 is the input).
    """

    activation: tuple[str, ...] = param(
        ACTIVATIONS, "activations (selu_dropout: alpha-dropout)", choices=ACTIVATIONS
    )
    start_mean: tuple[float, ...] = param(
        (0.0, 0.5, -0.3),
        "input means μ₀, paired with start_var (dim start)",
        ge=-100.0,
        le=100.0,
        axis=False,
    )
    start_var: tuple[float, ...] = param(
        (1.0, 3.0, 0.2),
        "input variances ν₀, paired with start_mean",
        ge=1e-6,
        le=1e4,
        axis=False,
    )
    width: tuple[int, ...] = param(
        (64, 256, 512), "layer widths = input dimension", ge=1, le=2**14
    )
    depth: int = param(64, "number of layers", ge=1, le=10**4)
    batch: int = param(128, "inputs per trial", ge=2, le=10**6)
    keep_rate: float = param(
        0.9, "alpha-dropout keep rate q (selu_dropout)", ge=0.01, le=1.0
    )
    trials: int = 16
    trial_batch: int = 8

    def validate(self) -> None:
        if len(self.start_mean) != len(self.start_var):
            raise ValueError(
                "start_mean and start_var must be of equal length, got "
                f"{len(self.start_mean)} and {len(self.start_var)}"
            )
        starts = list(zip(self.start_mean, self.start_var, strict=True))
        if len(set(starts)) != len(starts):
            raise ValueError(f"repeated (start_mean, start_var) pairs: {starts}")


DEEP_PRESETS: dict[str, SeluDeepSweep] = {
    "smoke": SeluDeepSweep(width=(32,), depth=12, batch=64, trials=16, trial_batch=8),
    "default": SeluDeepSweep(),
    "paper": SeluDeepSweep(
        width=(256, 512, 1024), depth=64, batch=2000, trials=16, trial_batch=4
    ),
}


def _activate(name: str, z: torch.Tensor) -> torch.Tensor:
    if name in ("selu", "selu_dropout"):
        return selu(z)
    if name == "relu":
        return torch.relu(z)
    return torch.tanh(z)


def simulate_deep(
    config: SeluDeepSweep, width: int, trials: Sequence[int]
) -> dict[str, np.ndarray]:
    r"""Per-layer mean and variance of deep LeCun-normal nets, one width, some trials.

    The streams are seeded by (seed, "deep", width, trial) for the input noise and
    the weights and by (seed, "dropout", width, trial) for the dropout masks, and
    shared by all activations and starts (common random numbers). Trials are batched
    on the device; the weights of layer l are drawn when layer l is computed.

    Returns:
      ``mean`` and ``var`` of shape (activation, start, layer, trial): the mean and
      the unbiased variance over the batch x width activations of each layer (layer 0
      is the input).
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    acts, depth, B = config.activation, config.depth, config.batch
    S, T = len(config.start_mean), len(trials)
    gens = [
        cell_generator(config.seed, "deep", width, t, device=device) for t in trials
    ]
    drop_gens = [
        cell_generator(config.seed, "dropout", width, t, device=device) for t in trials
    ]
    g0 = torch.stack(
        [torch.randn(B, width, generator=g, dtype=dtype, device=device) for g in gens]
    )  # (T, B, w)
    mean0 = torch.as_tensor(config.start_mean, dtype=dtype, device=device)
    sd0 = torch.as_tensor(config.start_var, dtype=dtype, device=device).sqrt()
    x0 = mean0[None, :, None, None] + sd0[None, :, None, None] * g0[:, None]
    x0 = x0.reshape(T, S * B, width)  # (T, S*B, w), start-major rows
    states = {a: x0 for a in acts}
    mean = np.empty((len(acts), S, depth + 1, T))
    var = np.empty_like(mean)

    def record(layer: int) -> None:
        for ia, a in enumerate(acts):
            flat = states[a].reshape(T, S, B * width)
            mean[ia, :, layer] = flat.mean(-1).T.double().cpu().numpy()
            var[ia, :, layer] = flat.var(-1, correction=1).T.double().cpu().numpy()

    record(0)
    scale = 1.0 / math.sqrt(width)
    for layer in range(1, depth + 1):
        W = torch.stack(
            [
                torch.randn(width, width, generator=g, dtype=dtype, device=device)
                for g in gens
            ]
        ).mul_(scale)  # (T, out, in), LeCun normal
        for a in acts:
            x = states[a]
            if a == "selu_dropout" and layer > 1:
                x = torch.stack(
                    [
                        alpha_dropout(
                            x[i].view(S, B, width),
                            config.keep_rate,
                            generator=drop_gens[i],
                            mask_shape=(1, B, width),
                        ).view(S * B, width)
                        for i in range(T)
                    ]
                )
            states[a] = _activate(a, torch.bmm(x, W.mT))
        record(layer)
    return {"mean": mean, "var": var}


def deep_theory(config: SeluDeepSweep) -> xr.Dataset:
    r"""Theory iterates for the deep grid, on (activation, start, layer).

    ``mean_theory, var_theory``: the wide-network population map
    :func:`theory.selu_moments.population_moment_map` (z ~ N(0, ν + μ²)), preceded by
    :func:`theory.selu_moments.alpha_dropout_moments` for ``selu_dropout`` from layer
    2 on. ``mean_g_iterate, var_g_iterate``: the paper's map g at ω = 0, τ = 1
    (:func:`theory.selu_moments.moment_map` and its ReLU/tanh versions), which ignores
    the per-unit spread of ω under LeCun init and so differs in the first layers
    when μ₀ ≠ 0.
    """
    S = len(config.start_mean)
    shape = (len(config.activation), S, config.depth + 1)
    res = {k: np.empty(shape) for k in ("mean", "var", "mean_g", "var_g")}
    mu0 = np.asarray(config.start_mean, dtype=np.float64)
    nu0 = np.asarray(config.start_var, dtype=np.float64)
    for ia, a in enumerate(config.activation):
        base = "selu" if a == "selu_dropout" else a
        mu, nu, mu_g, nu_g = mu0, nu0, mu0, nu0
        for layer in range(config.depth + 1):
            if layer > 0:
                if a == "selu_dropout" and layer > 1:
                    mu, nu = alpha_dropout_moments(mu, nu, q=config.keep_rate)
                    mu_g, nu_g = alpha_dropout_moments(mu_g, nu_g, q=config.keep_rate)
                mu, nu = population_moment_map(mu, nu, activation=base)
                mu_g, nu_g = _g_map(base, mu_g, nu_g)
            for key, val in (
                ("mean", mu),
                ("var", nu),
                ("mean_g", mu_g),
                ("var_g", nu_g),
            ):
                res[key][ia, :, layer] = val
    dims = ("activation", "start", "layer")
    coords = {
        "activation": list(config.activation),
        "start": list(range(S)),
        "layer": list(range(config.depth + 1)),
    }
    return xr.Dataset(
        {
            "mean_theory": (dims, res["mean"]),
            "var_theory": (dims, res["var"]),
            "mean_g_iterate": (dims, res["mean_g"]),
            "var_g_iterate": (dims, res["var_g"]),
        },
        coords=coords,
    )


def _g_map(activation: str, mu, nu):
    if activation == "selu":
        return moment_map(mu, nu, omega=0.0, tau=1.0)
    if activation == "relu":
        return relu_moment_map(mu, nu, omega=0.0, tau=1.0)
    return tanh_moment_map(mu, nu, omega=0.0, tau=1.0)


def _kernel(config: SeluDeepSweep, chunk: Chunk) -> xr.Dataset:
    (width,) = chunk.coords["width"]
    trials = chunk.coords["trial"]
    res = simulate_deep(config, width, trials)
    dims = ("activation", "start", "width", "layer", "trial")
    coords = {
        "activation": list(config.activation),
        "start": list(range(len(config.start_mean))),
        "layer": list(range(config.depth + 1)),
    }
    data = {k: (dims, v[:, :, None]) for k, v in res.items()}
    return chunk_dataset(chunk, data, coords)


ATTRS = {
    "mean": VarAttrs(
        "activation mean",
        description="mean of layer-l activations over batch and units",
        symbol=r"\mu_l",
    ),
    "var": VarAttrs(
        "activation variance",
        description="unbiased variance of layer-l activations over batch and units",
        symbol=r"\nu_l",
    ),
    "mean_g_iterate": VarAttrs(
        "activation mean, map g at omega=0, tau=1",
        description="iterate of the paper's moment map at omega=0, tau=1 (ignores "
        "the per-unit "
        "spread of omega under LeCun init)",
        symbol=r"\mu_l^{g}",
    ),
    "var_g_iterate": VarAttrs(
        "activation variance, map g at omega=0, tau=1",
        description="iterate of the paper's moment map at omega=0, tau=1 (ignores "
        "the per-unit "
        "spread of omega under LeCun init)",
        symbol=r"\nu_l^{g}",
    ),
}


def _finish(config: SeluDeepSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.merge(deep_theory(config))
    for name in ("mean_g_iterate", "var_g_iterate"):
        ds[name].attrs = {
            **ATTRS[name].as_dict(),
            "theory_fn": "theory.selu_moments.moment_map (iterated)",
        }
    return ds.assign_coords(
        start_mean=("start", list(config.start_mean)),
        start_var=("start", list(config.start_var)),
    )


def _subsets(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Per activation, at the largest width, for the closing table."""
    widest = ds["width"] == ds["width"].max()
    return {
        f"{a}, n={int(ds['width'].max())}": (ds["activation"] == a) & widest
        for a in ds["activation"].values
    }


def _memory(config: SeluDeepSweep) -> float:
    """Peak bytes of one chunk (the widest width): the weights of one layer and
    the input draws, and per activation its state, the product and the activation
    over the chunk's trials (``trial_batch``, at most ``trials``), times 1.2;
    float64 numbers (float32 runs need less). Estimated 1.36 GiB for width 512,
    batch 2000, 4 trials (0.90 GiB measured peak growth of the process)."""
    T = min(config.trial_batch, config.trials)
    w, B = max(config.width), config.batch
    rows = len(config.start_mean) * B
    per_act = 3 * rows * w
    return 1.2 * 8 * T * (2 * w * w + B * w + len(config.activation) * per_act)


DEEP = Experiment(
    name=NAME,
    key="deep",
    config=SeluDeepSweep,
    presets=DEEP_PRESETS,
    axes=Axes("width"),
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords=COORDS,
    theory=(
        Theory(
            fn="theory.selu_moments.population_moment_map (iterated; alpha-dropout "
            "via theory.selu_moments.alpha_dropout_moments)"
        ),
    ),
    title="Deep LeCun-normal nets: per-layer moments vs theory iterates",
    references=REFERENCE,
    config_attrs=("depth", "batch", "keep_rate"),
    subsets=_subsets,
    memory=_memory,
    summary="per-layer moments of deep nets vs the iterated moment map",
)
