r"""1-D Gaussian mean estimation: MECO vs NCE vs the naive compositional estimator.

The first experiment of Jiang et al. (ICML 2023, arXiv:2306.07485): data
:math:`x \sim N(\theta^*, 1)`, model :math:`E_\theta(x) = (x-\theta)^2/2`, noise
:math:`q = N(m, s^2)` with :math:`m = \rho\,\theta^*` (``noise_frac`` :math:`\rho`).
Three stochastic methods start at ``theta0`` and take ``steps`` steps:

- ``meco``: the moving-average inner-value tracker :math:`u_t` (weight ``gamma``) and
  the compositional gradient :math:`\nabla E + \nabla\hat g/u_t`;
- ``naive``: the same with :math:`u_t = \hat g_t` (i.e. :math:`\nabla\log\hat g`);
- ``nce``: SGD on :math:`(\theta, c)` of the NCE loss with noise ratio ``nu``.

All three average their gradient with weight ``beta`` (``beta = 1``: none) and step
with ``lr``. All cells (``theta_star x noise_frac x noise_std x gamma``) and all
trials of a chunk advance as one batched tensor program; the standard normals are
drawn per trial from a generator seeded by ``(seed, batch_size, trial)``, so methods
and cells see the same data and noise streams (common random numbers) and a cell's
numbers do not depend on chunking. Run ``python -m sims.nce --sweep --experiment
gaussian``.
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
from sims._config import log_steps
from sims._config import param
from sims._dataset import chunk_dataset
from sims._dataset import config_coords
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.nce._common import HALF_LOG_2PI
from sims.nce._common import REFERENCES
from sims.nce._common import MecoState
from sims.nce._common import NceState
from sims.nce._common import check_chunk_bytes
from sims.nce._common import meco_step
from sims.nce._common import nce_step

__all__ = ["EXPERIMENT", "PRESETS", "GaussianMeanSweep", "simulate"]

#: A run whose |theta - theta*| or |c| exceeds this is recorded as diverged.
DIVERGENCE_BOUND = 1e4
_BLOCK_STEPS = 256  # steps of random numbers drawn per generator call
_CELL_DIMS = ("theta_star", "noise_frac", "noise_std", "gamma")


@dataclasses.dataclass(frozen=True, kw_only=True)
class GaussianMeanSweep(SweepConfig):
    """A grid of stochastic runs on the 1-D Gaussian-mean problem.

    Attributes: documented in the ``param`` help strings (``--help`` lists them).
    """

    method: tuple[str, ...] = param(
        ("meco", "nce", "naive"), "method", choices=("meco", "nce", "naive")
    )
    theta_star: tuple[float, ...] = param(
        (1.0, 2.0, 4.0), "true means θ* (data N(θ*, 1))", ge=-20.0, le=20.0
    )
    noise_frac: tuple[float, ...] = param(
        (0.0,), "noise mean as a fraction ρ of θ*: m = ρ θ*", ge=0.0, le=1.0
    )
    noise_std: tuple[float, ...] = param(
        (1.0, 1.5, 3.0), "noise scale s (q = N(m, s²))", ge=0.25, le=25.0
    )
    gamma: tuple[float, ...] = param(
        (0.1,), "MECO inner moving-average weight γ (meco only)", gt=0.0, le=1.0
    )
    batch_size: tuple[int, ...] = param(
        (64,), "data batch B (= MECO noise batch)", ge=1, le=10**5
    )
    beta: float = param(0.1, "gradient moving-average weight β (1: none)", gt=0, le=1)
    lr: float = param(0.05, "step size η", gt=0.0, le=1e6)
    nu: float = param(1.0, "NCE noise ratio ν (noise batch = ν B)", gt=0.0, le=100.0)
    steps: int = param(5000, "optimizer steps", ge=1, le=10**7)
    theta0: float = param(0.0, "initial θ", ge=-100.0, le=100.0)
    record: int = param(40, "log-spaced recorded steps (dim step)", ge=2, le=10**4)
    window: int = param(1000, "last iterates averaged for tail_mean/tail_rmse", ge=1)
    trials: int = 16
    trial_batch: int = 16

    def validate(self) -> None:
        if self.window > self.steps:
            raise ValueError(f"window={self.window} exceeds steps={self.steps}")
        check_chunk_bytes(
            _chunk_bytes(self),
            f"batch_size={max(self.batch_size)} with {_cells(self)} cells x "
            f"trial_batch={min(self.trial_batch, self.trials)}",
            "batch_size or trial_batch",
        )

    def noise_batch(self, batch_size: int) -> int:
        """NCE noise points per step, ``max(1, round(nu * batch_size))``."""
        return max(1, round(self.nu * batch_size))

    def record_steps(self) -> tuple[int, ...]:
        """Step 0, ``steps`` and ``record`` log-spaced steps in between.

        Examples:
          >>> GaussianMeanSweep(steps=100, record=4, window=10).record_steps()
          (0, 1, 4, 21, 100)
        """
        return log_steps(self.steps, self.record)


def _cells(config: GaussianMeanSweep) -> int:
    """The (theta_star, noise_frac, noise_std, gamma) cells one program advances."""
    return math.prod(len(getattr(config, d)) for d in _CELL_DIMS)


def _chunk_bytes(config: GaussianMeanSweep) -> float:
    """Peak memory of one chunk: a block of draws plus ~8 (cells, trials, B + M)
    float64 work arrays per step."""
    cells = _cells(config)
    b = max(config.batch_size)
    width = b + max(b, config.noise_batch(b))
    trials = min(config.trial_batch, config.trials)
    return 8.0 * width * trials * (_BLOCK_STEPS + 8 * cells)


PRESETS: dict[str, GaussianMeanSweep] = {
    "smoke": GaussianMeanSweep(
        theta_star=(2.0, 4.0),
        noise_frac=(0.0, 0.5),
        noise_std=(1.0, 3.0),
        steps=600,
        window=200,
        record=12,
        trials=4,
        trial_batch=4,
    ),
    "default": GaussianMeanSweep(),
    "paper": GaussianMeanSweep(
        theta_star=(1.0, 2.0, 4.0, 6.0),
        noise_frac=(0.0, 0.5, 1.0),
        noise_std=(1.0, 1.5, 3.0),
        gamma=(0.01, 0.1, 1.0),
        batch_size=(16, 64, 256),
        steps=20000,
        record=60,
        window=2000,
        trials=64,
        trial_batch=64,
    ),
}


def _draws(config, batch_size, trials, width, start, count, dtype, device):
    """Standard normals for steps [start, start+count): (count, T, width)."""
    out = []
    for t in trials:
        gen = cell_generator(
            config.seed, "gaussian", batch_size, t, start, device=device
        )
        out.append(
            torch.randn(count, width, generator=gen, dtype=torch.float64, device=device)
        )
    return torch.stack(out, dim=1).to(dtype)


def simulate(config: GaussianMeanSweep, method: str, batch_size: int, trials):
    """All cells and ``trials`` of one (method, batch_size), as one batched program.

    Returns:
      dict of numpy arrays; per-step ones have shape ``(C, T, S)``, others
      ``(C, T)``, with ``C`` the flattened (theta_star, noise_frac, noise_std, gamma)
      cells and ``S`` the recorded steps.
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    grid = np.array(
        np.meshgrid(
            config.theta_star,
            config.noise_frac,
            config.noise_std,
            config.gamma,
            indexing="ij",
        )
    ).reshape(4, -1)
    T = len(trials)

    def col(values):
        t = torch.as_tensor(values, dtype=dtype, device=device)[:, None]
        return t.expand(-1, T).contiguous()

    th_star, frac, s, gamma = (col(v) for v in grid)
    m = frac * th_star
    gamma = gamma if method == "meco" else torch.ones_like(gamma)
    B = batch_size
    M = config.noise_batch(B) if method == "nce" else B
    record = config.record_steps()
    rec_index = {step: i for i, step in enumerate(record)}
    C = th_star.shape[0]
    theta_rec = torch.full((C, T, len(record)), math.nan, dtype=dtype, device=device)
    norm_rec = torch.full_like(theta_rec, math.nan)
    theta = torch.full_like(th_star, config.theta0)
    zeros = torch.zeros_like(theta)
    if method == "nce":
        state = NceState(theta, zeros + HALF_LOG_2PI, zeros, zeros)
    else:
        state = MecoState(theta, None, zeros)
    diverged = torch.zeros_like(theta, dtype=torch.bool)
    tail_sum, tail_sq = zeros.clone(), zeros.clone()
    beta, lr = config.beta, config.lr
    theta_rec[..., 0] = theta
    norm_rec[..., 0] = state.c if method == "nce" else math.nan
    for start in range(0, config.steps, _BLOCK_STEPS):
        count = min(_BLOCK_STEPS, config.steps - start)
        z = _draws(config, B, trials, B + M, start, count, dtype, device)
        for k in range(count):
            zx, zy = z[k, None, :, :B], z[k, None, :, B : B + M]
            x = th_star[..., None] + zx
            y = m[..., None] + s[..., None] * zy
            if method == "nce":
                new = nce_step(state, x, y, m, s, config.nu, beta, lr)
                norm = new.c
            else:
                new = meco_step(state, x, y, zy, s, gamma, beta, lr)
                norm = new.log_u
            bad = ~torch.isfinite(new.theta) | (
                (new.theta - th_star).abs() > DIVERGENCE_BOUND
            )
            if method == "nce":
                bad |= ~torch.isfinite(new.c) | (new.c.abs() > DIVERGENCE_BOUND)
            diverged |= bad
            state = type(state)(
                *(
                    torch.where(diverged, old, n) if old is not None else n
                    for old, n in zip(state, new, strict=True)
                )
            )
            step = start + k + 1
            if step > config.steps - config.window:
                err = state.theta - th_star
                tail_sum += err
                tail_sq += err**2
            if step in rec_index:
                i = rec_index[step]
                keep = ~diverged
                theta_rec[..., i] = torch.where(keep, state.theta, math.nan)
                norm_rec[..., i] = torch.where(keep, norm, math.nan)
    w = config.window
    tail_mean = th_star + tail_sum / w
    tail_rmse = torch.sqrt(tail_sq / w)
    masked = [torch.where(diverged, math.nan, v) for v in (tail_mean, tail_rmse)]

    def np_(t):
        return t.double().cpu().numpy()

    return {
        "theta": np_(theta_rec),
        "log_normalizer": np_(norm_rec),
        "tail_mean": np_(masked[0]),
        "tail_rmse": np_(masked[1]),
        "diverged": diverged.cpu().numpy(),
    }


def _kernel(config: GaussianMeanSweep, chunk: Chunk) -> xr.Dataset:
    (method,) = chunk.coords["method"]
    (batch_size,) = chunk.coords["batch_size"]
    res = simulate(config, method, batch_size, chunk.coords["trial"])
    shape = tuple(len(getattr(config, d)) for d in _CELL_DIMS)
    data = {}
    for key, val in res.items():
        lead = (*_CELL_DIMS, "trial")
        dims = (*lead, "step") if val.ndim == 3 else lead
        data[key] = (dims, val.reshape(*shape, *val.shape[1:]))
    coords = {**config_coords(config, *_CELL_DIMS), "step": list(config.record_steps())}
    return chunk_dataset(chunk, data, coords)


def _finish(config: GaussianMeanSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.transpose("method", "batch_size", *_CELL_DIMS, "trial", "step")
    ds["diverged"] = ds["diverged"].astype(bool)
    ds["abs_err"] = np.abs(ds["theta"] - ds["theta_star"])
    ds["excess_nll"] = 0.5 * (ds["theta"] - ds["theta_star"]) ** 2
    ds["theta_theory"] = ds["theta_star"] + 0.0 * ds["noise_frac"]
    ds["log_normalizer_theory"] = xr.full_like(ds["theta_theory"], HALF_LOG_2PI)
    ds["tail_mean_theory"] = ds["theta_theory"]
    return ds.assign_coords(noise_mean=ds["noise_frac"] * ds["theta_star"])


def _final(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Subsets for the closing table: MECO with a covering q, at the last step.

    (``tail_mean`` has no ``step`` dim; the mask repeats it once per step, so its
    cell count is inflated but its gaps are not.)
    """
    good = (ds["noise_std"] >= 1.5) | (ds["noise_frac"] >= 0.5)
    last = ds["step"] == ds["step"].max()
    return {
        "meco, s>=1.5 or m>=θ*/2, last step": (ds["method"] == "meco") & good & last
    }


EXPERIMENT = Experiment(
    name="nce",
    key="gaussian",
    config=GaussianMeanSweep,
    presets=PRESETS,
    axes=Axes("method", "batch_size"),
    kernel=_kernel,
    finish=_finish,
    coords={
        "method": VarAttrs("method"),
        "batch_size": VarAttrs("batch size", symbol="B"),
        "theta_star": VarAttrs("true mean", symbol=r"\theta^*"),
        "noise_frac": VarAttrs("noise mean / true mean", symbol=r"\rho"),
        "noise_mean": VarAttrs("noise mean", symbol="m"),
        "noise_std": VarAttrs("noise scale", symbol="s"),
        "gamma": VarAttrs("inner moving-average weight", symbol=r"\gamma"),
        "trial": VarAttrs("trial"),
        "step": VarAttrs("optimizer step", symbol="t"),
    },
    title="1-D Gaussian mean: MECO vs NCE vs naive",
    references=REFERENCES,
    config_attrs=("beta", "lr", "nu", "steps", "theta0", "window"),
    attrs={
        "theta": VarAttrs("θ_t", "1", "parameter after `step` steps", r"\theta_t"),
        "abs_err": VarAttrs("|θ_t − θ*|", "1", "distance to the true mean"),
        "excess_nll": VarAttrs(
            "excess NLL", "1", "population F(θ_t) − F(θ*) = (θ_t − θ*)²/2"
        ),
        "log_normalizer": VarAttrs(
            "log-normalizer estimate",
            "1",
            "MECO/naive: log u_t (tracker of log g = log Z; not defined, NaN, at "
            "step 0); NCE: learned c_t; theory: log Z = ½ log 2π",
            r"\log u_t",
        ),
        "tail_mean": VarAttrs(
            "tail mean of θ_t", "1", "mean of the last `window` iterates"
        ),
        "tail_rmse": VarAttrs(
            "stationary error", "1", "RMS of θ_t − θ* over the last `window` iterates"
        ),
        "diverged": VarAttrs(
            "diverged",
            "1",
            f"|θ − θ*| or |c| exceeded {DIVERGENCE_BOUND:g} or became non-finite; "
            "the run's later values are masked",
        ),
    },
    subsets=_final,
    not_applicable=("log_normalizer",),
    memory=_chunk_bytes,
    summary="1-D Gaussian mean: MECO vs NCE vs naive (θ_t over steps)",
)
