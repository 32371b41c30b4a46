r"""Density estimation on 2-D toy data: an MLP energy trained by MECO and by NCE.

The density-estimation application of Jiang et al. (ICML 2023, arXiv:2306.07485) on
data we can generate exactly: ``mog`` (8 Gaussians of std 0.25 on a circle of
radius 2) and ``rings`` (radius :math:`\sim N(r_k, 0.1^2)`, :math:`r_k \in \{1, 2\}`,
uniform angle). Both methods train the same MLP energy :math:`E_\theta(x)` (2 -> H ->
H -> 1, SiLU) from the same initialization, with the same noise
:math:`q = N(0, s^2 I)`, the same data/noise batches, steps and Adam learning rate:

- ``meco``: surrogate :math:`\bar E(x) - \sum_j \mathrm{sg}[h_j/(M u_t)]\,E(y_j)`,
  whose gradient is the compositional estimate :math:`\nabla\bar E + \nabla\hat
  g/u_t`; :math:`\log u_t` is the moving average (weight ``gamma``) of
  :math:`\log\hat g`'s exponent, in log space;
- ``nce``: the NCE loss with a learned normalizer :math:`c` and noise ratio 1.

The held-out NLL :math:`\overline{E(x)} + \log Z_\theta` integrates :math:`Z_\theta`
on a ``grid x grid`` mesh of :math:`[-L, L]^2` (logsumexp); ``nll_theory`` is the
held-out NLL of the true density (the floor). All trials of a chunk train as one
batched program (parameters stacked along a trial dim). Run ``python -m sims.nce
--sweep --experiment density``.
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
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._report import final_step
from sims._sweep import Chunk
from sims.nce._common import REFERENCES
from sims.nce._common import check_chunk_bytes
from sims.nce._common import meco_weights

__all__ = ["EXPERIMENT", "PRESETS", "DensitySweep", "log_density_true", "sample"]

_BLOCK = 128
_LOG_2PI = math.log(2.0 * math.pi)
_MOG_STD, _RING_STD = 0.25, 0.1


@dataclasses.dataclass(frozen=True, kw_only=True)
class DensitySweep(SweepConfig):
    """MECO vs NCE training of an MLP energy on 2-D toy densities.

    Attributes: documented in the ``param`` help strings.
    """

    method: tuple[str, ...] = param(("meco", "nce"), "method", choices=("meco", "nce"))
    dataset: tuple[str, ...] = param(
        ("mog", "rings"), "2-D toy density", choices=("mog", "rings")
    )
    hidden: int = param(64, "MLP hidden units H", ge=1, le=4096)
    steps: int = param(2000, "Adam steps", ge=1, le=10**7)
    batch_size: int = param(256, "data batch B (= noise batch)", ge=1, le=10**5)
    lr: float = param(3e-3, "Adam learning rate", gt=0.0, le=10.0)
    gamma: float = param(0.1, "MECO inner moving-average weight γ", gt=0.0, le=1.0)
    noise_std: float = param(2.0, "noise q = N(0, s² I)", ge=0.1, le=100.0)
    grid: int = param(160, "normalizer grid points per axis", ge=8, le=2000)
    extent: float = param(4.5, "normalizer grid half-width L", gt=0.0, le=100.0)
    test_size: int = param(4000, "held-out points", ge=1, le=10**6)
    record: int = param(8, "log-spaced evaluation steps (dim step)", ge=1, le=1000)
    display: int = param(
        48, "display-grid points per axis (final density)", ge=4, le=1000
    )
    trials: int = 4
    trial_batch: int = 4

    def validate(self) -> None:
        trials = min(self.trial_batch, self.trials)
        check_chunk_bytes(
            _chunk_bytes(self),
            f"grid={self.grid}, display={self.display}, test_size={self.test_size} "
            f"x hidden={self.hidden} x {trials} trials per chunk",
            "grid, display, test_size or trial_batch",
        )

    def record_steps(self) -> tuple[int, ...]:
        """Step 0, ``steps`` and ``record`` log-spaced steps in between."""
        return log_steps(self.steps, self.record)


def _chunk_bytes(config: DensitySweep) -> float:
    """Peak memory of one chunk: the hidden activations of a block of the
    normalizer grid (8192 points), of a batch, of the held-out points or of the
    whole display grid (one pass), for the chunk's trials (``trial_batch``, at most
    ``trials``), ~3 copies, plus the energies on the whole normalizer and display
    grids."""
    T = min(config.trial_batch, config.trials)
    display = config.display**2
    points = max(
        min(config.grid**2, 8192), 2 * config.batch_size, config.test_size, display
    )
    energies = 8.0 * (T + 3) * (config.grid**2 + display)  # E on the grids, meshes
    return 8.0 * T * points * config.hidden * 3 + energies


PRESETS: dict[str, DensitySweep] = {
    "smoke": DensitySweep(
        hidden=16,
        steps=150,
        batch_size=64,
        grid=64,
        test_size=500,
        record=3,
        display=16,
        trials=2,
        trial_batch=2,
        lr=1e-2,
    ),
    "default": DensitySweep(),
    "paper": DensitySweep(
        hidden=128,
        steps=20000,
        batch_size=512,
        grid=400,
        test_size=20000,
        record=16,
        display=96,
        trials=8,
        trial_batch=8,
    ),
}


def sample(dataset: str, u: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Points of ``dataset`` from uniforms ``u (..., 2)`` and normals ``z (..., 2)``."""
    if dataset == "mog":
        k = torch.floor(u[..., 0] * 8).clamp(max=7)
        ang = 2 * math.pi * k / 8
        centre = 2.0 * torch.stack([torch.cos(ang), torch.sin(ang)], -1)
        return centre + _MOG_STD * z
    r = torch.where(u[..., 0] < 0.5, 1.0, 2.0) + _RING_STD * z[..., 0]
    ang = 2 * math.pi * u[..., 1]
    return r[..., None] * torch.stack([torch.cos(ang), torch.sin(ang)], -1)


def log_density_true(dataset: str, pts: np.ndarray) -> np.ndarray:
    """Exact log-density of ``dataset`` at ``pts (..., 2)``, float64."""
    pts = np.asarray(pts, dtype=np.float64)
    if dataset == "mog":
        ang = 2 * np.pi * np.arange(8) / 8
        c = 2.0 * np.stack([np.cos(ang), np.sin(ang)], -1)
        d2 = ((pts[..., None, :] - c) ** 2).sum(-1)
        comp = -d2 / (2 * _MOG_STD**2) - _LOG_2PI - 2 * math.log(_MOG_STD)
        return np.logaddexp.reduce(comp, axis=-1) - math.log(8)
    r = np.hypot(pts[..., 0], pts[..., 1])
    comp = [
        -((r - rk) ** 2) / (2 * _RING_STD**2) - 0.5 * _LOG_2PI - math.log(_RING_STD)
        for rk in (1.0, 2.0)
    ]
    with np.errstate(divide="ignore"):
        return np.logaddexp(*comp) - math.log(2) - np.log(2 * np.pi * r)


def _init(config, trials, dtype, device, dataset):
    params = []
    for t in trials:
        gen = cell_generator(config.seed, "density-init", dataset, t, device=device)
        H = config.hidden
        shapes = [(2, H), (H,), (H, H), (H,), (H, 1), (1,)]
        fans = [2, None, H, None, H, None]
        ps = []
        for shp, fan in zip(shapes, fans, strict=True):
            w = torch.randn(shp, generator=gen, dtype=torch.float64, device=device)
            ps.append(
                w / math.sqrt(fan) if fan else torch.zeros(shp, dtype=torch.float64)
            )
        params.append(ps)
    return [
        torch.stack(p).to(dtype).requires_grad_() for p in zip(*params, strict=True)
    ]


def _energy(params, pts):
    """Batched MLP energy: pts (T, N, 2) -> (T, N)."""
    w1, b1, w2, b2, w3, b3 = params
    h = torch.nn.functional.silu(pts @ w1 + b1[:, None])
    h = torch.nn.functional.silu(h @ w2 + b2[:, None])
    return (h @ w3 + b3[:, None])[..., 0]


def _log_q(pts, s):
    return -0.5 * (pts**2).sum(-1) / s**2 - _LOG_2PI - 2 * math.log(s)


def _heldout_nll(params, config, grid_pts, cell_log_area, test):
    with torch.no_grad():
        e_grid = torch.cat(
            [_energy(params, g.expand(params[0].shape[0], -1, -1)) for g in grid_pts], 1
        )
        log_z = torch.logsumexp(-e_grid, -1) + cell_log_area
        e_test = _energy(params, test.expand(params[0].shape[0], -1, -1)).mean(-1)
    return e_test + log_z, log_z


def _kernel(config: DensitySweep, chunk: Chunk) -> xr.Dataset:
    (method,) = chunk.coords["method"]
    (dataset,) = chunk.coords["dataset"]
    trials = chunk.coords["trial"]
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    T, B, s = len(trials), config.batch_size, config.noise_std
    params = _init(config, trials, dtype, device, dataset)
    c = torch.zeros(T, dtype=dtype, device=device, requires_grad=True)
    opt = torch.optim.Adam([*params, c] if method == "nce" else params, lr=config.lr)
    gen = cell_generator(config.seed, "density-test", dataset, device=device)
    u = torch.rand(config.test_size, 2, generator=gen, dtype=torch.float64)
    z = torch.randn(config.test_size, 2, generator=gen, dtype=torch.float64)
    test_np = sample(dataset, u, z).numpy()
    test = torch.as_tensor(test_np, dtype=dtype, device=device)[None]
    axis = np.linspace(-config.extent, config.extent, config.grid)
    mesh = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    grid_t = torch.as_tensor(mesh, dtype=dtype, device=device)[None]
    grid_pts = torch.split(grid_t, 8192, dim=1)
    cell_log_area = 2 * math.log(axis[1] - axis[0])
    record = config.record_steps()
    nll = np.full((T, len(record)), np.nan)
    log_z_rec = np.full((T, len(record)), np.nan)
    log_u = None
    # log(1 - gamma) and log(gamma) of the tracker (-inf at gamma = 1: no memory)
    log_keep = math.log1p(-config.gamma) if config.gamma < 1 else -math.inf
    log_gamma = math.log(config.gamma)
    diverged = torch.zeros(T, dtype=torch.bool)
    for start in range(0, config.steps + 1, _BLOCK):
        count = min(_BLOCK, config.steps + 1 - start)
        draws = []
        for t in trials:
            g = cell_generator(config.seed, "density", dataset, t, start, device=device)
            draws.append(torch.randn(count, B, 6, generator=g, dtype=torch.float64))
        draws = torch.stack(draws, 1).to(dtype)  # (count, T, B, 6)
        for k in range(count):
            step = start + k
            if step in record:
                i = record.index(step)
                val, lz = _heldout_nll(params, config, grid_pts, cell_log_area, test)
                nll[:, i], log_z_rec[:, i] = (
                    val.double().cpu().numpy(),
                    lz.double().cpu().numpy(),
                )
            if step == config.steps:
                break
            d = draws[k]
            uu = torch.special.ndtr(d[..., :2])
            x = sample(dataset, uu, d[..., 2:4])
            y = s * d[..., 4:6]
            e_x, e_y = _energy(params, x), _energy(params, y)
            if method == "meco":
                with torch.no_grad():
                    lh = -e_y - _log_q(y, s)
                    w, log_u = meco_weights(lh, log_u, log_keep, log_gamma)
                loss = e_x.mean(-1) - (w * e_y).sum(-1)
            else:
                gx = -e_x - c[:, None] - _log_q(x, s)
                gy = -e_y - c[:, None] - _log_q(y, s)
                sp = torch.nn.functional.softplus
                loss = sp(-gx).mean(-1) + sp(gy).mean(-1)
            bad = ~torch.isfinite(loss.detach())
            diverged |= bad.cpu()
            opt.zero_grad(set_to_none=True)
            torch.where(bad, 0.0, loss).sum().backward()
            opt.step()
    div = diverged.numpy()
    nll[div] = np.nan
    bad_eval = ~np.isfinite(nll)
    div |= bad_eval.any(1)
    nll[div] = np.nan
    log_z_rec[div] = np.nan
    disp_axis = np.linspace(-config.extent, config.extent, config.display)
    disp = np.stack(np.meshgrid(disp_axis, disp_axis, indexing="ij"), -1)
    with torch.no_grad():
        e_disp = _energy(params, torch.as_tensor(disp.reshape(1, -1, 2), dtype=dtype)
                         .expand(T, -1, -1)).double().cpu().numpy()  # fmt: skip
    log_dens = -e_disp - log_z_rec[:, -1:]
    log_dens[div] = np.nan
    log_dens = log_dens.reshape(T, config.display, config.display)
    return chunk_dataset(
        chunk,
        {
            "heldout_nll": (("trial", "step"), nll),
            "log_z": (("trial", "step"), log_z_rec),
            "log_density": (("trial", "x1", "x2"), log_dens),
            "diverged": (("trial",), div),
        },
        {"step": list(record), "x1": disp_axis, "x2": disp_axis},
    )


def _finish(config: DensitySweep, ds: xr.Dataset) -> xr.Dataset:
    ds["diverged"] = ds["diverged"].astype(bool)
    truth_nll, truth_dens = [], []
    disp = np.stack(np.meshgrid(ds.x1.values, ds.x2.values, indexing="ij"), -1)
    for name in config.dataset:
        gen = cell_generator(
            config.seed, "density-test", name, device=torch.device("cpu")
        )
        u = torch.rand(config.test_size, 2, generator=gen, dtype=torch.float64)
        z = torch.randn(config.test_size, 2, generator=gen, dtype=torch.float64)
        test = sample(name, u, z).numpy()
        truth_nll.append(-log_density_true(name, test).mean())
        truth_dens.append(log_density_true(name, disp))
    ds["heldout_nll_theory"] = xr.DataArray(
        np.asarray(truth_nll), dims="dataset", coords={"dataset": list(config.dataset)}
    )
    ds["log_density_theory"] = xr.DataArray(
        np.asarray(truth_dens), dims=("dataset", "x1", "x2"),
        coords={"dataset": list(config.dataset), "x1": ds.x1, "x2": ds.x2},
    )  # fmt: skip
    return ds


EXPERIMENT = Experiment(
    name="nce",
    key="density",
    config=DensitySweep,
    presets=PRESETS,
    axes=Axes("method", "dataset"),
    kernel=_kernel,
    finish=_finish,
    subsets=final_step,
    attrs={
        "heldout_nll": VarAttrs(
            "held-out NLL",
            "nats",
            "mean E(x) + log Z over held-out points, Z integrated on the grid; "
            "theory: NLL of the true density",
        ),
        "log_z": VarAttrs("log Z_θ", "nats", "grid-integrated log normalizer"),
        "log_density": VarAttrs(
            "log density", "nats", "learned (theory: true) log density, final step"
        ),
        "diverged": VarAttrs("diverged", "1", "a non-finite loss or NLL; masked"),
    },
    coords={
        "method": VarAttrs("method"),
        "dataset": VarAttrs("2-D toy density"),
        "trial": VarAttrs("trial"),
        "step": VarAttrs("Adam step"),
        "x1": VarAttrs("x₁"),
        "x2": VarAttrs("x₂"),
    },
    title="2-D density estimation: MECO vs NCE",
    references=REFERENCES,
    config_attrs=(
        "hidden",
        "steps",
        "batch_size",
        "lr",
        "gamma",
        "noise_std",
        "grid",
        "extent",
    ),
    memory=_chunk_bytes,
    summary="2-D density estimation with an MLP energy: MECO vs NCE",
)
