r"""Loss and gradient landscapes of the NLL (MECO's objective) and of NCE, 1-D Gaussian.

The landscape comparison of Jiang et al. (ICML 2023, arXiv:2306.07485) for data
:math:`N(R, 1)` and noise :math:`q = N(0, s^2)`: along :math:`\theta`, the population
values from :func:`theory.nce.gaussian_mean_landscape` (``<var>_theory``) next to
Monte Carlo estimates from ``samples`` data and noise points per trial:

- ``meco``: :math:`\bar E + \log\hat g` and its gradient
  :math:`(\theta - \bar x) + \nabla\hat g/\hat g` (the plug-in compositional
  estimates; biased by :math:`O(\chi^2/m)`, see ``chi2_over_m``);
- ``nce_fixed_c``: the NCE loss and :math:`\partial_\theta` at the true normalizer;
- ``nce_profiled``: the same at the profiled :math:`c^*(\theta)` (from theory).

``chi2_over_m`` is :math:`\chi^2(p_\theta\|q)/m`, infinite (``inf``, a true value,
not a divergence) for :math:`s \le 1/\sqrt 2`, where :math:`p_\theta^2/q` is not
integrable (``docs/derivations/nce.md`` §2), and ``inf`` where it exceeds the
float64 range.

Samples are shared across :math:`\theta` (common random numbers), drawn per trial
from a generator seeded by ``(seed, R, trial)``. Run ``python -m sims.nce --sweep
--experiment landscape``.
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
from sims._dataset import config_coords
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.nce._common import HALF_LOG_2PI
from sims.nce._common import REFERENCES
from sims.nce._common import check_chunk_bytes
from theory.nce import gaussian_mean_landscape
from theory.nce import importance_weight_moments

__all__ = ["EXPERIMENT", "PRESETS", "LandscapeSweep", "theory_grid"]

METHODS = ("meco", "nce_fixed_c", "nce_profiled")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LandscapeSweep(SweepConfig):
    """Population and Monte Carlo landscapes along θ.

    Attributes: documented in the ``param`` help strings.
    """

    R: tuple[float, ...] = param(
        (4.0, 8.0), "data mean R = θ* (noise mean 0)", ge=-20.0, le=20.0
    )
    theta: tuple[float, ...] = param(
        tuple(float(v) for v in np.round(np.linspace(-1.0, 9.0, 41), 6)),
        "model means θ (dim theta)",
        ge=-20.0,
        le=20.0,
    )
    noise_std: float = param(1.0, "noise scale s", ge=0.25, le=25.0)
    nu: float = param(1.0, "NCE noise ratio ν", ge=1e-3, le=1e3)
    samples: int = param(4096, "data (and noise) samples per trial", ge=2, le=10**7)
    trials: int = 8
    trial_batch: int = 8

    def validate(self) -> None:
        check_chunk_bytes(
            _chunk_bytes(self),
            f"samples={self.samples} x {len(self.theta)} thetas x "
            f"{min(self.trial_batch, self.trials)} trials per chunk",
            "samples or trial_batch",
        )
        for r in self.R:
            for th in self.theta:
                if abs(th - r) > 25 or abs(th) > 25:
                    raise ValueError(f"theta={th} too far from R={r} (<= 25)")


def _chunk_bytes(config: LandscapeSweep) -> float:
    """Peak memory of one chunk: ~6 (trials, theta, samples) float64 arrays, for
    the chunk's trials (``trial_batch``, at most ``trials``)."""
    T = min(config.trial_batch, config.trials)
    return 8.0 * len(config.theta) * T * config.samples * 6


PRESETS: dict[str, LandscapeSweep] = {
    "smoke": LandscapeSweep(
        theta=tuple(float(v) for v in np.linspace(0.0, 8.0, 9)),
        samples=2048,
        trials=4,
        trial_batch=4,
    ),
    "default": LandscapeSweep(),
    "paper": LandscapeSweep(
        R=(2.0, 4.0, 6.0, 8.0),
        theta=tuple(float(v) for v in np.round(np.linspace(-1.0, 9.0, 101), 6)),
        samples=65536,
        trials=32,
        trial_batch=8,
    ),
}


def theory_grid(config: LandscapeSweep) -> xr.Dataset:
    """``loss_theory`` and ``grad_theory`` on (method, R, theta), float64."""
    R = np.asarray(config.R)[:, None]
    th = np.asarray(config.theta)[None, :]
    land = gaussian_mean_landscape(
        th, data_mean=R, noise_std=config.noise_std, nu=config.nu
    )
    loss = np.stack([land.nll, land.nce_loss, land.nce_profiled_loss])
    grad = np.stack([land.nll_grad, land.nce_grad_theta, land.nce_profiled_grad])
    chi2 = importance_weight_moments(th + 0 * R, noise_std=config.noise_std).chi2
    coords = {"method": list(METHODS), "R": list(config.R), "theta": list(config.theta)}
    dims = ("method", "R", "theta")
    return xr.Dataset(
        {
            "loss_theory": (dims, loss),
            "grad_theory": (dims, grad),
            "c_opt": (("R", "theta"), land.c_opt),
            "chi2_over_m": (("R", "theta"), chi2 / config.samples),
        },
        coords=coords,
    )


def _kernel(config: LandscapeSweep, chunk: Chunk) -> xr.Dataset:
    (R,) = chunk.coords["R"]
    trials = chunk.coords["trial"]
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    n, s, nu = config.samples, config.noise_std, config.nu
    m_noise = max(1, round(nu * n))
    z = []
    for t in trials:
        gen = cell_generator(config.seed, "landscape", R, t, device=device)
        z.append(torch.randn(n + m_noise, generator=gen, dtype=torch.float64))
    z = torch.stack(z).to(dtype)[:, None, :]  # (T, 1, n + M)
    x, zy = R + z[..., :n], z[..., n:]
    y = s * zy
    th = torch.as_tensor(config.theta, dtype=dtype, device=device)[None, :, None]
    # MECO plug-in: mean energy + log g_hat, gradient (theta - xbar) + SNIS term.
    lh = -0.5 * (y - th) ** 2 + 0.5 * zy**2 + math.log(s) + HALF_LOG_2PI
    log_ghat = torch.logsumexp(lh, -1) - math.log(m_noise)
    w = torch.softmax(lh, -1)
    meco_loss = (0.5 * (x - th) ** 2).mean(-1) + log_ghat
    meco_grad = (th[..., 0] - x.mean(-1)) + (w * (y - th)).sum(-1)
    c_opt = gaussian_mean_landscape(
        np.asarray(config.theta), data_mean=R, noise_std=s, nu=nu
    ).c_opt
    out_loss, out_grad = [meco_loss], [meco_grad]
    for c in (np.full(len(config.theta), HALF_LOG_2PI), c_opt):
        cc = torch.as_tensor(c, dtype=dtype, device=device)[None, :, None]

        def logit(pts, cc=cc):
            log_q = -0.5 * (pts / s) ** 2 - math.log(s) - HALF_LOG_2PI
            return -0.5 * (pts - th) ** 2 - cc - math.log(nu) - log_q

        gx, gy = logit(x), logit(y)
        loss = torch.nn.functional.softplus(-gx).mean(-1) + nu * (
            torch.nn.functional.softplus(gy).mean(-1)
        )
        grad = -(torch.sigmoid(-gx) * (x - th)).mean(-1) + nu * (
            torch.sigmoid(gy) * (y - th)
        ).mean(-1)
        out_loss.append(loss)
        out_grad.append(grad)
    dims = ("method", "R", "theta", "trial")

    def arr(parts):
        a = torch.stack(parts).double().cpu().numpy()  # (method, T, theta)
        return a.transpose(0, 2, 1)[:, None]

    return chunk_dataset(
        chunk,
        {"loss": (dims, arr(out_loss)), "grad": (dims, arr(out_grad))},
        {"method": list(METHODS), **config_coords(config, "theta")},
    )


def _finish(config: LandscapeSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.merge(theory_grid(config))
    ds["abs_grad_theory"] = np.abs(ds["grad_theory"])
    return ds


def _subsets(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """NCE everywhere; MECO where its plug-in bias chi2/m is below 1e-3."""
    nce = ds["method"] != "meco"
    return {"nce": nce, "meco, χ²/m<1e-3": (~nce) & (ds["chi2_over_m"] < 1e-3)}


EXPERIMENT = Experiment(
    name="nce",
    key="landscape",
    config=LandscapeSweep,
    presets=PRESETS,
    axes=Axes("R"),
    kernel=_kernel,
    finish=_finish,
    attrs={
        "loss": VarAttrs(
            "loss", "1", "NLL F(θ) (meco) or NCE loss (nce_*); MC estimate", "L"
        ),
        "grad": VarAttrs("dL/dθ", "1", "derivative along θ; MC estimate", "L'"),
        "abs_grad": VarAttrs("|dL/dθ|", "1", "gradient magnitude"),
        "c_opt": VarAttrs(
            "profiled NCE normalizer c*(θ)",
            description="argmin over c of the population NCE loss",
        ),
        "chi2_over_m": VarAttrs(
            "χ²(p_θ‖q)/m",
            description="relative variance of g_hat; the MECO plug-in bias scale; "
            "inf means an infinite χ² (noise_std s <= 1/√2, where p_θ²/q is not "
            "integrable) or one beyond the float64 range; never NaN",
        ),
    },
    coords={
        "method": VarAttrs("objective"),
        "R": VarAttrs("data-noise distance", symbol="R"),
        "theta": VarAttrs("model mean", symbol=r"\theta"),
        "trial": VarAttrs("trial"),
    },
    title="NLL vs NCE landscapes, 1-D Gaussian mean",
    references=REFERENCES,
    config_attrs=("noise_std", "nu", "samples"),
    subsets=_subsets,
    # chi2_over_m is a closed form: its inf (s <= 1/sqrt 2) is the true value, not a
    # diverged run, so it is not flagged.
    not_applicable=("chi2_over_m",),
    memory=_chunk_bytes,
    summary="NLL vs NCE loss/gradient landscapes (theory and Monte Carlo)",
)
