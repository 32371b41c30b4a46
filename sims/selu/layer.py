r"""Experiment ``layer``: one SELU layer, Monte Carlo, against the moment map.

Klambauer et al. (2017), arXiv:1706.02515: the moment map g (its Gaussian closed
form, docs/derivations/selu_moments.md §3). Inputs
:math:`x_i = \mu + \sqrt\nu\,\epsilon_i` with i.i.d. standardized :math:`\epsilon_i`
(``inputs``: Gaussian, uniform, or the output of a SELU unit at its fixed point, which
is skewed); ``units`` weight vectors per trial, each with exactly
:math:`\sum_i w_i = \omega` and :math:`\sum_i w_i^2 = \tau` over ``fan_in`` inputs.
Measured per unit over ``samples`` input draws and averaged over units: the output
mean and variance, against :func:`theory.selu_moments.moment_map`. Dims
``mu, nu, omega, tau, trial``. Run ``python -m sims.selu --sweep --experiment layer``.
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
from sims._dataset import config_coords
from sims._experiment import Experiment
from sims._experiment import Theory
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.selu._common import COORDS
from sims.selu._common import NAME
from sims.selu._common import REFERENCE
from sims.selu._common import selu
from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import moment_map

__all__ = ["INPUTS", "LAYER", "LAYER_PRESETS", "SeluLayerSweep", "simulate_layer"]

#: Standardized input distributions of the layer experiment.
INPUTS = ("gaussian", "uniform", "selu")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeluLayerSweep(SweepConfig):
    """One SELU layer with prescribed weight sums, Monte Carlo over inputs.

    Attributes: documented in the ``param`` help strings (``--help`` lists them).
    ``inputs="selu"`` draws selu(N(0, 1)), the output of a SELU unit at the fixed
    point (mean 0, variance 1, skewness 0.39). The bounds keep μω and ντ where the
    moment map is finite in float64.
    """

    mu: tuple[float, ...] = param(
        (-1.0, 0.0, 0.5, 1.0), "input means μ", ge=-100.0, le=100.0
    )
    nu: tuple[float, ...] = param(
        (0.1, 1.0, 3.0, 16.0), "input variances ν", ge=1e-6, le=1e4
    )
    omega: tuple[float, ...] = param(
        (-1.0, 0.0, 0.1, 1.0), "weight sums ω = Σ w_i", ge=-100.0, le=100.0
    )
    tau: tuple[float, ...] = param(
        (0.8, 1.0, 1.25),
        "weight square sums τ = Σ w_i², each >= ω²/fan_in",
        ge=1e-6,
        le=1e4,
    )
    fan_in: int = param(256, "inputs per unit n", ge=2, le=10**5)
    units: int = param(64, "weight vectors (units) per trial", ge=1, le=10**5)
    samples: int = param(1024, "input draws per trial", ge=2, le=10**7)
    inputs: str = param(
        "selu", "distribution of the standardized inputs", choices=INPUTS
    )
    alpha: float = param(ALPHA_01, "SELU α of the layer", ge=0.0, le=100.0)
    lam: float = param(LAMBDA_01, "SELU λ of the layer", gt=0.0, le=100.0)
    trials: int = 32
    trial_batch: int = 8

    def validate(self) -> None:
        tau_min = max(self.omega, key=abs) ** 2 / self.fan_in
        if min(self.tau) < tau_min:
            raise ValueError(
                f"tau={min(self.tau)!r} < omega^2/fan_in={tau_min!r}: no weight "
                "vector has these sums"
            )


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


def _standardized(kind: str, shape, gen, dtype, device) -> torch.Tensor:
    """Draws with mean 0 and variance 1 from the named distribution."""
    if kind == "gaussian":
        return torch.randn(shape, generator=gen, dtype=dtype, device=device)
    if kind == "uniform":
        u = torch.rand(shape, generator=gen, dtype=dtype, device=device)
        return (u - 0.5) * math.sqrt(12.0)
    return selu(torch.randn(shape, generator=gen, dtype=dtype, device=device))


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


def _kernel(config: SeluLayerSweep, chunk: Chunk) -> xr.Dataset:
    trials = chunk.coords["trial"]
    res = simulate_layer(config, trials)
    dims = ("mu", "nu", "omega", "tau", "trial")
    data = {k: (dims, v) for k, v in res.items()}
    return chunk_dataset(chunk, data, config_coords(config, *dims[:-1]))


def _theory(config: SeluLayerSweep) -> xr.Dataset:
    mu, nu, omega, tau = np.meshgrid(
        config.mu, config.nu, config.omega, config.tau, indexing="ij"
    )
    out = moment_map(mu, nu, omega=omega, tau=tau, alpha=config.alpha, lam=config.lam)
    dims = ("mu", "nu", "omega", "tau")
    return xr.Dataset(
        {f"{k}_theory": (dims, getattr(out, k)) for k in out._fields},
        coords=config_coords(config, *dims),
    )


ATTRS = {
    "mu_tilde": VarAttrs(
        "output mean",
        description="mean over units of each unit's sample mean of selu(w.x)",
        symbol=r"\tilde\mu",
    ),
    "nu_tilde": VarAttrs(
        "output variance",
        description="mean over units of each unit's unbiased sample variance of "
        "selu(w.x)",
        symbol=r"\tilde\nu",
    ),
}


def _finish(config: SeluLayerSweep, ds: xr.Dataset) -> xr.Dataset:
    return ds.merge(_theory(config))


def _memory(config: SeluLayerSweep) -> float:
    """Peak bytes of one chunk (one trial at a time): the draws ε (samples x fan_in),
    the unit vectors, and z and selu(z) over (mu, nu, samples, units) with one
    temporary each, times 1.2; float64 numbers (float32 runs need less).
    Estimated 3.2 GiB for 42 (mu, nu) cells x 8192 samples x 256 units (2.1 GiB
    measured peak growth of the process)."""
    S, n, U = config.samples, config.fan_in, config.units
    cells = len(config.mu) * len(config.nu)
    return 1.2 * 8 * (S * n + 2 * U * n + 3 * S * U + 4 * cells * S * U)


LAYER = Experiment(
    name=NAME,
    key="layer",
    config=SeluLayerSweep,
    presets=LAYER_PRESETS,
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords=COORDS,
    theory=(Theory(fn="theory.selu_moments.moment_map"),),
    title="One SELU layer: Monte Carlo vs the moment map",
    references=REFERENCE,
    config_attrs=("fan_in", "units", "samples", "inputs", "alpha", "lam"),
    memory=_memory,
    summary="one SELU layer, Monte Carlo output moments vs the moment map",
)
