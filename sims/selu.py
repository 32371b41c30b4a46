r"""Self-normalizing networks: SELU layers and deep nets, simulated against theory.

Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing Neural Networks",
arXiv:1706.02515. Three experiments, each its own grid under ``results/selu/``:

``layer``
    One SELU layer, Monte Carlo. Inputs :math:`x_i = \mu + \sqrt\nu\,\epsilon_i` with
    i.i.d. standardized :math:`\epsilon_i` (``inputs``: Gaussian, uniform, or the
    output of a SELU unit at its fixed point, which is skewed); ``units`` weight
    vectors per trial, each with exactly :math:`\sum_i w_i = \omega` and
    :math:`\sum_i w_i^2 = \tau` over ``fan_in`` inputs. Measured per unit over
    ``samples`` input draws and averaged over units: the output mean and variance,
    against :func:`theory.selu_moments.moment_map`. Dims ``mu, nu, omega, tau, trial``.
``deep``
    Deep fully connected nets, LeCun-normal weights :math:`N(0, 1/n)`, no biases, no
    normalization, input :math:`x \sim N(\mu_0, \nu_0)` i.i.d. For each activation
    (SELU; SELU with alpha-dropout; ReLU; tanh), start and width: the mean and
    variance of every layer's activations over batch and units, beside the iterate of
    the wide-network population map (:func:`theory.selu_moments.population_moment_map`)
    and of the paper's map at ω = 0, τ = 1. Dims ``activation, start, width, layer,
    trial``; all activations and starts of a trial share one weight draw.
``train``
    The paper's Fig. 1 protocol on scikit-learn's digits (1797 x 64, standardized):
    depth-``depth`` nets of width ``width`` trained with plain SGD, SELU with LeCun
    init (std :math:`\sqrt{1/n}`) against ReLU with BatchNorm (std :math:`\sqrt{2/n}`).
    Full-data training loss and accuracy every ``eval_every`` steps. Dims
    ``activation, depth, seed, step``.

Run ``python -m sims.selu --sweep --experiment layer|deep|train`` (see ``--help``).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr

from sims._backend import cell_generator
from sims._backend import cpu_threads
from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._cli import run_cli
from sims._config import SweepConfig
from sims._experiment import Experiment
from sims._sweep import Chunk
from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import alpha_dropout_affine
from theory.selu_moments import alpha_dropout_moments
from theory.selu_moments import moment_map
from theory.selu_moments import population_moment_map
from theory.selu_moments import relu_moment_map
from theory.selu_moments import tanh_moment_map

__all__ = [
    "ACTIVATIONS",
    "DEEP",
    "DEEP_PRESETS",
    "INPUTS",
    "LAYER",
    "LAYER_PRESETS",
    "TRAIN",
    "TRAIN_ACTIVATIONS",
    "TRAIN_PRESETS",
    "SeluDeepSweep",
    "SeluLayerSweep",
    "SeluTrainSweep",
    "alpha_dropout",
    "deep_theory",
    "load_digits_standardized",
    "main",
    "selu",
    "simulate_deep",
    "simulate_layer",
    "simulate_train",
]

NAME = "selu"
#: Activations of the deep experiment.
ACTIVATIONS = ("selu", "selu_dropout", "relu", "tanh")
#: Models of the training experiment.
TRAIN_ACTIVATIONS = ("selu", "relu_bn")
#: Standardized input distributions of the layer experiment.
INPUTS = ("gaussian", "uniform", "selu")
_BN_EPS = 1e-5


def _check_finite(name: str, values: Sequence[float], *, positive=False) -> None:
    for v in values:
        if not math.isfinite(v) or (positive and not v > 0):
            rel = "finite and > 0" if positive else "finite"
            raise ValueError(f"{name} values must be {rel}, got {name}={v!r}")


def _check_axis(name: str, values: Sequence) -> None:
    if len(values) == 0:
        raise ValueError(f"{name} must have at least one value")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated values: {values}")


def _check_int(name: str, value, low: int = 1) -> None:
    if not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {name}={value!r}")


def _check_selu(alpha: float, lam: float) -> None:
    if not math.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got alpha={alpha!r}")
    if not (math.isfinite(lam) and lam > 0):
        raise ValueError(f"lam must be finite and > 0, got lam={lam!r}")


# ======================================================================================
# Configs and presets
# ======================================================================================


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeluLayerSweep(SweepConfig):
    """One SELU layer with prescribed weight sums, Monte Carlo over inputs.

    Attributes:
      mu: input means μ (dim ``mu``).
      nu: input variances ν > 0 (dim ``nu``).
      omega: weight sums ω = Σ w_i (dim ``omega``).
      tau: weight square sums τ = Σ w_i² > 0 (dim ``tau``); needs τ >= ω²/fan_in.
      fan_in: inputs per unit n.
      units: weight vectors (units) per trial.
      samples: input draws per trial.
      inputs: distribution of the standardized inputs: ``gaussian`` (z is exactly
        Gaussian), ``uniform`` or ``selu`` (selu(N(0, 1)), the output of a SELU unit
        at the fixed point; mean 0, variance 1, skewness 0.39).
      alpha, lam: SELU parameters of the layer.
    """

    mu: tuple[float, ...] = (-1.0, 0.0, 0.5, 1.0)
    nu: tuple[float, ...] = (0.1, 1.0, 3.0, 16.0)
    omega: tuple[float, ...] = (-1.0, 0.0, 0.1, 1.0)
    tau: tuple[float, ...] = (0.8, 1.0, 1.25)
    fan_in: int = 256
    units: int = 64
    samples: int = 1024
    inputs: str = "selu"
    alpha: float = ALPHA_01
    lam: float = LAMBDA_01
    trials: int = 32
    trial_batch: int = 8

    def validate(self) -> None:
        for name in ("mu", "nu", "omega", "tau"):
            _check_axis(name, getattr(self, name))
        _check_finite("mu", self.mu)
        _check_finite("nu", self.nu, positive=True)
        _check_finite("omega", self.omega)
        _check_finite("tau", self.tau, positive=True)
        for name in ("fan_in", "units"):
            _check_int(name, getattr(self, name))
        _check_int("samples", self.samples, 2)
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}, got {self.inputs!r}")
        _check_selu(self.alpha, self.lam)
        tau_min = max(self.omega, key=abs) ** 2 / self.fan_in
        if min(self.tau) < tau_min:
            raise ValueError(
                f"tau={min(self.tau)!r} < omega^2/fan_in={tau_min!r}: no weight "
                "vector has these sums"
            )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeluDeepSweep(SweepConfig):
    """Deep LeCun-normal nets: per-layer activation moments from several starts.

    Attributes:
      activation: subset of :data:`ACTIVATIONS` (dim ``activation``).
      start_mean, start_var: the input moments (μ₀, ν₀), paired by position
        (dim ``start``); ν₀ > 0.
      width: layer widths = input dimension (dim ``width``).
      depth: number of layers (dim ``layer`` runs 0 .. depth; 0 is the input).
      batch: inputs per trial.
      keep_rate: alpha-dropout keep probability q in (0, 1] (``selu_dropout``).
    """

    activation: tuple[str, ...] = ACTIVATIONS
    start_mean: tuple[float, ...] = (0.0, 0.5, -0.3)
    start_var: tuple[float, ...] = (1.0, 3.0, 0.2)
    width: tuple[int, ...] = (64, 256)
    depth: int = 64
    batch: int = 128
    keep_rate: float = 0.9
    trials: int = 16
    trial_batch: int = 8

    def validate(self) -> None:
        _check_axis("activation", self.activation)
        bad = [a for a in self.activation if a not in ACTIVATIONS]
        if bad:
            raise ValueError(f"activation must be in {ACTIVATIONS}, got {bad[0]!r}")
        if len(self.start_mean) != len(self.start_var) or not self.start_mean:
            raise ValueError(
                "start_mean and start_var must be non-empty and of equal length, got "
                f"{len(self.start_mean)} and {len(self.start_var)}"
            )
        _check_finite("start_mean", self.start_mean)
        _check_finite("start_var", self.start_var, positive=True)
        starts = list(zip(self.start_mean, self.start_var, strict=True))
        if len(set(starts)) != len(starts):
            raise ValueError(f"repeated (start_mean, start_var) pairs: {starts}")
        _check_axis("width", self.width)
        for w in self.width:
            _check_int("width", w)
        _check_int("depth", self.depth)
        _check_int("batch", self.batch, 2)
        q = self.keep_rate
        if not (math.isfinite(q) and 0 < q <= 1):
            raise ValueError(f"keep rate must be in (0, 1], got keep_rate={q!r}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeluTrainSweep(SweepConfig):
    """Training curves on scikit-learn's digits, SELU vs ReLU + BatchNorm.

    ``trials`` is the number of training seeds (dim ``seed``).

    Attributes:
      activation: subset of :data:`TRAIN_ACTIVATIONS` (dim ``activation``).
      depth: numbers of hidden layers (dim ``depth``).
      width: hidden width (the paper uses the input dimension; digits has 64).
      steps: SGD steps.
      eval_every: steps between full-data loss evaluations (dim ``step``).
      batch_size: minibatch size (minibatches drawn without replacement per epoch).
      lr: SGD learning rate.
    """

    activation: tuple[str, ...] = TRAIN_ACTIVATIONS
    depth: tuple[int, ...] = (8, 16, 32)
    width: int = 64
    steps: int = 300
    eval_every: int = 15
    batch_size: int = 128
    lr: float = 0.02
    trials: int = 4
    trial_batch: int = 4

    def validate(self) -> None:
        _check_axis("activation", self.activation)
        bad = [a for a in self.activation if a not in TRAIN_ACTIVATIONS]
        if bad:
            raise ValueError(
                f"activation must be in {TRAIN_ACTIVATIONS}, got {bad[0]!r}"
            )
        _check_axis("depth", self.depth)
        for d in self.depth:
            _check_int("depth", d)
        for name in ("width", "steps", "eval_every"):
            _check_int(name, getattr(self, name))
        _check_int("batch_size", self.batch_size, 2)
        if self.batch_size > 1797:
            raise ValueError(
                f"batch_size must be <= 1797 (digits), got {self.batch_size!r}"
            )
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be finite and > 0, got lr={self.lr!r}")


LAYER_PRESETS: dict[str, SeluLayerSweep] = {
    "smoke": SeluLayerSweep(
        mu=(-1.0, 0.5),
        nu=(0.5, 3.0),
        omega=(0.1, 1.0),
        tau=(1.0,),
        fan_in=64,
        units=16,
        samples=256,
        trials=16,
        trial_batch=8,
    ),
    "default": SeluLayerSweep(),
    "paper": SeluLayerSweep(
        mu=(-1.0, -0.1, 0.0, 0.1, 0.5, 1.0),
        nu=(0.02, 0.16, 0.8, 1.0, 1.5, 3.0, 16.0),
        omega=(-1.0, -0.1, 0.0, 0.1, 1.0),
        tau=(0.8, 0.95, 1.0, 1.1, 1.25),
        fan_in=1024,
        units=256,
        samples=8192,
        trials=64,
        trial_batch=8,
    ),
}

DEEP_PRESETS: dict[str, SeluDeepSweep] = {
    "smoke": SeluDeepSweep(width=(32,), depth=12, batch=64, trials=3, trial_batch=3),
    "default": SeluDeepSweep(),
    "paper": SeluDeepSweep(
        width=(256, 512, 1024), depth=64, batch=2000, trials=16, trial_batch=4
    ),
}

TRAIN_PRESETS: dict[str, SeluTrainSweep] = {
    "smoke": SeluTrainSweep(
        depth=(4,), width=32, steps=40, eval_every=10, trials=2, trial_batch=2
    ),
    "default": SeluTrainSweep(),
    "paper": SeluTrainSweep(
        steps=5000, eval_every=25, trials=10, trial_batch=10, dtype="float32"
    ),
}


# ======================================================================================
# Torch building blocks
# ======================================================================================


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


def _standardized(kind: str, shape, gen, dtype, device) -> torch.Tensor:
    """Draws with mean 0 and variance 1 from the named distribution."""
    if kind == "gaussian":
        return torch.randn(shape, generator=gen, dtype=dtype, device=device)
    if kind == "uniform":
        u = torch.rand(shape, generator=gen, dtype=dtype, device=device)
        return (u - 0.5) * math.sqrt(12.0)
    return selu(torch.randn(shape, generator=gen, dtype=dtype, device=device))


# ======================================================================================
# Experiment "layer": one layer, Monte Carlo
# ======================================================================================


def simulate_layer(
    config: SeluLayerSweep, trials: Sequence[int]
) -> dict[str, np.ndarray]:
    r"""Measured output mean and variance of one SELU layer, all cells, some trials.

    Per trial (stream seeded by (seed, "layer", trial) alone, so a trial's numbers
    do not depend on the grid or chunking): standardized inputs
    :math:`\epsilon` of shape (samples, fan_in), and ``units`` unit vectors
    :math:`u_j \perp \mathbf{1}`. A unit's weights are
    :math:`w_j = (\omega/n)\mathbf{1} + \sqrt{\tau - \omega^2/n}\,u_j`, so
    :math:`\sum w = \omega`, :math:`\sum w^2 = \tau` exactly, and its pre-activation
    is :math:`z = \mu\omega + \sqrt\nu\,(\omega\bar\epsilon + c\,u_j\cdot\epsilon)`.
    All cells of a trial reuse the same draws (common random numbers).

    Returns:
      ``mu_tilde`` and ``nu_tilde`` of shape (mu, nu, omega, tau, trial): the mean
      over units of each unit's sample mean and unbiased sample variance over the
      ``samples`` draws.
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    n = config.fan_in
    mu = torch.as_tensor(config.mu, dtype=dtype, device=device)[:, None, None, None]
    sd = torch.as_tensor(config.nu, dtype=dtype, device=device).sqrt()[:, None, None]
    shape = (len(config.mu), len(config.nu), len(config.omega), len(config.tau))
    out = {k: np.empty((*shape, len(trials))) for k in ("mu_tilde", "nu_tilde")}
    for it, t in enumerate(trials):
        gen = cell_generator(config.seed, "layer", t, device=device)
        eps = _standardized(
            config.inputs, (config.samples, n), gen, dtype=dtype, device=device
        )
        g = torch.randn(config.units, n, generator=gen, dtype=dtype, device=device)
        g = g - g.mean(dim=1, keepdim=True)
        u = g / g.norm(dim=1, keepdim=True)
        eps_bar = eps.mean(dim=1)[:, None]  # (S, 1)
        proj = eps @ u.T  # (S, U)
        for io, omega in enumerate(config.omega):
            for iq, tau in enumerate(config.tau):
                c = math.sqrt(tau - omega**2 / n)
                noise = omega * eps_bar + c * proj  # (S, U): sum_i w_i eps_i
                z = mu * omega + sd * noise  # (M, N, S, U)
                y = selu(z, alpha=config.alpha, lam=config.lam)
                m = y.mean(dim=-2).mean(dim=-1)
                v = y.var(dim=-2, correction=1).mean(dim=-1)
                out["mu_tilde"][:, :, io, iq, it] = m.double().cpu().numpy()
                out["nu_tilde"][:, :, io, iq, it] = v.double().cpu().numpy()
    return out


def _layer_kernel(config: SeluLayerSweep, chunk: Chunk) -> xr.Dataset:
    trials = chunk.coords["trial"]
    res = simulate_layer(config, trials)
    dims = ("mu", "nu", "omega", "tau", "trial")
    coords = {
        "mu": list(config.mu),
        "nu": list(config.nu),
        "omega": list(config.omega),
        "tau": list(config.tau),
        "trial": list(trials),
    }
    return xr.Dataset({k: (dims, v) for k, v in res.items()}, coords=coords)


def _layer_theory(config: SeluLayerSweep) -> xr.Dataset:
    mu, nu, omega, tau = np.meshgrid(
        config.mu, config.nu, config.omega, config.tau, indexing="ij"
    )
    out = moment_map(mu, nu, omega=omega, tau=tau, alpha=config.alpha, lam=config.lam)
    dims = ("mu", "nu", "omega", "tau")
    return xr.Dataset(
        {f"{k}_theory": (dims, getattr(out, k)) for k in out._fields},
        coords={d: list(getattr(config, d)) for d in dims},
    )


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


def _set_coord_attrs(ds: xr.Dataset) -> None:
    for name in ds.coords:
        if name in _COORD_ATTRS:
            long_name, symbol, description = _COORD_ATTRS[name]
            attrs = {"long_name": long_name, "units": "1", "description": description}
            if symbol:
                attrs["math_symbol"] = symbol
            ds[name].attrs = attrs


def _set_var_attrs(ds: xr.Dataset, table: dict, theory_fn: str = "") -> None:
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


_LAYER_ATTRS = {
    "mu_tilde": (
        "output mean",
        r"\tilde\mu",
        "mean over units of each unit's sample mean of selu(w.x)",
    ),
    "nu_tilde": (
        "output variance",
        r"\tilde\nu",
        "mean over units of each unit's unbiased sample variance of selu(w.x)",
    ),
}


def _layer_finish(config: SeluLayerSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.reindex(
        mu=list(config.mu),
        nu=list(config.nu),
        omega=list(config.omega),
        tau=list(config.tau),
        trial=list(range(config.trials)),
    )
    ds = ds.merge(_layer_theory(config))
    _set_var_attrs(ds, _LAYER_ATTRS, "theory.selu_moments.moment_map")
    _set_coord_attrs(ds)
    ds.attrs.update(
        {
            "title": "One SELU layer: Monte Carlo vs the moment map",
            "references": _REFERENCE,
            "experiment": "layer",
            "fan_in": config.fan_in,
            "units": config.units,
            "samples": config.samples,
            "inputs": config.inputs,
            "alpha": config.alpha,
            "lam": config.lam,
        }
    )
    return ds


_REFERENCE = (
    "Klambauer, Unterthiner, Mayr, Hochreiter (2017), Self-Normalizing Neural "
    "Networks, arXiv:1706.02515"
)


def _layer_axes(config: SeluLayerSweep) -> dict[str, tuple]:
    return {"trial": tuple(range(config.trials))}


# ======================================================================================
# Experiment "deep": per-layer moments of deep nets
# ======================================================================================


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


def _deep_kernel(config: SeluDeepSweep, chunk: Chunk) -> xr.Dataset:
    (width,) = chunk.coords["width"]
    trials = chunk.coords["trial"]
    res = simulate_deep(config, width, trials)
    dims = ("activation", "start", "width", "layer", "trial")
    coords = {
        "activation": list(config.activation),
        "start": list(range(len(config.start_mean))),
        "width": [width],
        "layer": list(range(config.depth + 1)),
        "trial": list(trials),
    }
    return xr.Dataset({k: (dims, v[:, :, None]) for k, v in res.items()}, coords=coords)


_DEEP_ATTRS = {
    "mean": (
        "activation mean",
        r"\mu_l",
        "mean of layer-l activations over batch and units",
    ),
    "var": (
        "activation variance",
        r"\nu_l",
        "unbiased variance of layer-l activations over batch and units",
    ),
    "mean_g_iterate": (
        "activation mean, map g at omega=0, tau=1",
        r"\mu_l^{g}",
        "iterate of the paper's moment map at omega=0, tau=1 (ignores the per-unit "
        "spread of omega under LeCun init)",
    ),
    "var_g_iterate": (
        "activation variance, map g at omega=0, tau=1",
        r"\nu_l^{g}",
        "iterate of the paper's moment map at omega=0, tau=1 (ignores the per-unit "
        "spread of omega under LeCun init)",
    ),
}


def _deep_finish(config: SeluDeepSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.reindex(width=list(config.width), trial=list(range(config.trials)))
    ds = ds.merge(deep_theory(config))
    _set_var_attrs(
        ds,
        _DEEP_ATTRS,
        "theory.selu_moments.population_moment_map (iterated; alpha-dropout via "
        "theory.selu_moments.alpha_dropout_moments)",
    )
    for name in ("mean_g_iterate", "var_g_iterate"):
        ds[name].attrs["theory_fn"] = "theory.selu_moments.moment_map (iterated)"
    ds = ds.assign_coords(
        start_mean=("start", list(config.start_mean)),
        start_var=("start", list(config.start_var)),
    )
    _set_coord_attrs(ds)
    ds.attrs.update(
        {
            "title": "Deep LeCun-normal nets: per-layer moments vs theory iterates",
            "references": _REFERENCE,
            "experiment": "deep",
            "depth": config.depth,
            "batch": config.batch,
            "keep_rate": config.keep_rate,
        }
    )
    return ds


def _deep_axes(config: SeluDeepSweep) -> dict[str, tuple]:
    return {"width": config.width, "trial": tuple(range(config.trials))}


def _deep_subsets(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Per activation, at the largest width, for the closing table."""
    widest = ds["width"] == ds["width"].max()
    return {
        f"{a}, n={int(ds['width'].max())}": (ds["activation"] == a) & widest
        for a in ds["activation"].values
    }


# ======================================================================================
# Experiment "train": Fig. 1 on digits
# ======================================================================================


def load_digits_standardized() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (1797 x 64, 10 classes), features standardized.

    Bundled with scikit-learn (no download). Returns ``(X, y)``, float64 and int64;
    constant pixels stay 0.
    """
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float64), y.astype(np.int64)


def _init_params(config, activation, depth, trials, X, device, dtype):
    """Weights N(0, gain/fan_in) (gain 1 for SELU, 2 for ReLU+BN), zero biases.

    The standard-normal draws come from (seed, "train", depth, trial) and are the
    same for both activations; only the gain differs.
    """
    n_in, width, n_out = X.shape[1], config.width, 10
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
                logits.reshape(T * N, 10), y.repeat(T), reduction="none"
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
                logits.reshape(-1, 10), yb.reshape(-1), reduction="sum"
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


def _train_kernel(config: SeluTrainSweep, chunk: Chunk) -> xr.Dataset:
    (activation,) = chunk.coords["activation"]
    (depth,) = chunk.coords["depth"]
    seeds = chunk.coords["seed"]
    res = simulate_train(config, activation, depth, seeds)
    dims = ("activation", "depth", "step", "seed")
    coords = {
        "activation": [activation],
        "depth": [depth],
        "step": res.pop("step"),
        "seed": list(seeds),
    }
    ds = xr.Dataset({k: (dims, v[None, None]) for k, v in res.items()}, coords=coords)
    return ds.transpose("activation", "depth", "seed", "step")


_TRAIN_ATTRS = {
    "train_loss": (
        "training loss",
        r"\mathcal{L}",
        "mean cross-entropy over all 1797 digits (BatchNorm with full-data stats)",
    ),
    "train_accuracy": (
        "training accuracy",
        r"\mathrm{acc}",
        "fraction of the 1797 digits classified correctly",
    ),
}


def _train_finish(config: SeluTrainSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.reindex(
        activation=list(config.activation),
        depth=list(config.depth),
        seed=list(range(config.trials)),
    )
    ds = ds.transpose("activation", "depth", "seed", "step")
    _set_var_attrs(ds, _TRAIN_ATTRS)
    _set_coord_attrs(ds)
    ds.attrs.update(
        {
            "title": "Training loss on digits: SELU (LeCun init) vs ReLU + BatchNorm",
            "references": _REFERENCE,
            "experiment": "train",
            "dataset": "sklearn.datasets.load_digits, StandardScaler",
            "width": config.width,
            "batch_size": config.batch_size,
            "lr": config.lr,
            "optimizer": "plain SGD",
        }
    )
    return ds


def _train_axes(config: SeluTrainSweep) -> dict[str, tuple]:
    return {
        "activation": config.activation,
        "depth": config.depth,
        "seed": tuple(range(config.trials)),
    }


# ======================================================================================
# CLI
# ======================================================================================


LAYER = Experiment(
    name=NAME,
    key="layer",
    config=SeluLayerSweep,
    presets=LAYER_PRESETS,
    axes=_layer_axes,
    kernel=_layer_kernel,
    finish=_layer_finish,
    summary="one SELU layer, Monte Carlo output moments vs the moment map",
)

DEEP = Experiment(
    name=NAME,
    key="deep",
    config=SeluDeepSweep,
    presets=DEEP_PRESETS,
    axes=_deep_axes,
    kernel=_deep_kernel,
    finish=_deep_finish,
    subsets=_deep_subsets,
    summary="per-layer moments of deep nets vs the iterated moment map",
)

TRAIN = Experiment(
    name=NAME,
    key="train",
    config=SeluTrainSweep,
    presets=TRAIN_PRESETS,
    axes=_train_axes,
    kernel=_train_kernel,
    finish=_train_finish,
    batch_dim="seed",
    summary="SELU vs ReLU+BatchNorm nets trained on digits (Fig. 1 protocol)",
)

EXPERIMENTS = (
    LAYER,
    DEEP,
    TRAIN,
)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sims.selu`` command line; see ``--help``."""
    return run_cli(
        argv,
        prog="python -m sims.selu",
        description=__doc__.splitlines()[0],
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    # Run the importable module, not __main__, so worker processes unpickle the
    # kernels and configs by name.
    from sims.selu import main as _main

    sys.exit(_main())
