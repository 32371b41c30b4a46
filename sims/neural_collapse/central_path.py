r"""Experiment ``central_path``: Theorem 3.1 and Corollary 3.2 of Tirer et al.

Tirer, Huang & Niles-Weed (ICML 2023, arXiv:2210.16658): the central-path flow
(Eq. 4) from random ``H0`` by RK4, recording NC1~,
:math:`e^{2\lambda_H t}\operatorname{Tr}\Sigma_W` and
:math:`e^{2\lambda_H t}\operatorname{Tr}\Sigma_B` (Theorem 3.1), and NC1~ of
:math:`H_{1/\beta} = \arg\min f(\cdot; H_0)` against :math:`\beta` (Corollary 3.2).
Dims ``lam_h, lam_w, trial, time`` and ``beta``. Run ``python -m sims.neural_collapse
--sweep --experiment central_path``.
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
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.neural_collapse._common import COORDS
from sims.neural_collapse._common import NAME
from sims.neural_collapse._common import REFS_A
from sims.neural_collapse._common import batched_metrics
from sims.neural_collapse._common import minimize_f
from theory.neural_collapse import central_path_rates

__all__ = [
    "CENTRAL_PATH",
    "PRESETS",
    "CentralPathSweep",
    "simulate_central_path",
]

#: Most RK4 steps (t_max / dt) one flow may take.
MAX_RK4_STEPS = 10**6


@dataclasses.dataclass(frozen=True, kw_only=True)
class CentralPathSweep(SweepConfig):
    """Central-path flow and proximal minimizers from random features H0.

    Attributes: documented in the ``param`` help strings (``--help`` lists them).
    Theorem 3.1 allows λ_H = 0; width >= classes; t_max / dt <= 10^6 RK4 steps.
    """

    lam_h: tuple[float, ...] = param(
        (0.0, 0.05, 0.1, 0.3), "feature weight decay λ_H (0 allowed)", ge=0.0, le=100.0
    )
    lam_w: tuple[float, ...] = param(
        (0.2,), "classifier weight decay λ_W", ge=1e-6, le=100.0
    )
    classes: int = param(3, "classes K", ge=2, le=100)
    n: int = param(6, "samples per class", ge=2, le=1000)
    width: int = param(8, "feature dimension d (>= K)", ge=1, le=1000)
    t_max: float = param(5.0, "flow horizon T", gt=0.0, le=1e4)
    dt: float = param(1e-3, "RK4 step", ge=1e-6, le=1.0)
    checkpoints: int = param(
        51, "equally spaced times in [0, T] (dim time)", ge=2, le=10**4
    )
    beta: tuple[float, ...] = param(
        (1e-2, 1e-1, 1.0, 10.0, 1e2, 1e3, 1e4),
        "β of H_{1/β} = argmin f(.; H0)",
        ge=1e-6,
        le=1e8,
    )
    noise: float = param(
        1.0, "std of the within-class noise of H0 (means N(0, I))", gt=0.0, le=100.0
    )
    max_iter: int = param(20_000, "cap on the proximal block updates", ge=1, le=10**6)
    trials: int = 4
    trial_batch: int = 4

    def validate(self) -> None:
        if self.width < self.classes:
            raise ValueError(f"width d={self.width} must be >= K={self.classes}")
        steps = self.t_max / self.dt
        if steps > MAX_RK4_STEPS:
            raise ValueError(
                f"t_max / dt = {steps:.3g} RK4 steps > {MAX_RK4_STEPS}: raise dt or "
                "lower t_max"
            )

    def times(self) -> np.ndarray:
        return np.linspace(0.0, self.t_max, self.checkpoints)


PRESETS: dict[str, CentralPathSweep] = {
    "smoke": CentralPathSweep(
        lam_h=(0.0, 0.1),
        t_max=2.0,
        dt=2e-3,
        checkpoints=21,
        beta=(0.1, 10.0, 1e3),
        trials=2,
        trial_batch=2,
        max_iter=5000,
    ),
    "default": CentralPathSweep(),
    "paper": CentralPathSweep(
        lam_h=(0.0, 0.01, 0.05, 0.1, 0.3, 1.0),
        lam_w=(0.05, 0.2, 1.0),
        classes=4,
        n=10,
        width=12,
        t_max=10.0,
        checkpoints=101,
        beta=tuple(float(v) for v in np.logspace(-2, 4, 13)),
        trials=16,
        trial_batch=16,
    ),
}


def _h0(config: CentralPathSweep, trial, device, dtype):
    """H0 = class means (N(0, I_d)) repeated + noise * N(0, 1), seeded by trial."""
    gen = cell_generator(config.seed, "h0", trial, device=device)
    K, n, d = config.classes, config.n, config.width
    means = torch.randn(d, K, generator=gen, dtype=dtype, device=device)
    noise = torch.randn(d, K * n, generator=gen, dtype=dtype, device=device)
    return torch.repeat_interleave(means, n, dim=1) + config.noise * noise


def _traces_t(H, K, n):
    Hc = H.reshape(*H.shape[:-1], K, n)
    m = Hc.mean(-1)
    sw = ((Hc - m[..., None]) ** 2).sum((-3, -2, -1)) / (K * n)
    sb = ((m - m.mean(-1, keepdim=True)) ** 2).sum((-2, -1)) / K
    return sw, sb


def simulate_central_path(
    config: CentralPathSweep, trials: Sequence[int]
) -> dict[str, np.ndarray]:
    """RK4 central-path flow and proximal minimizers for a batch of trials.

    All ``(lam_h, lam_w, trial)`` cells are integrated together. Returns
    ``nc1_tilde, nc1, tr_sigma_w, tr_sigma_b`` of shape ``(Lh, Lw, T, S)`` (S
    checkpoint times), and ``nc1_tilde_prox, prox_residual`` of shape
    ``(Lh, Lw, T, B)`` (B betas), ``nc1_tilde_h0`` and the first-order prediction
    ``nc1_tilde_prox_first_order`` (from
    :func:`theory.neural_collapse.central_path_rates`).
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    K, n, d = config.classes, config.n, config.width
    Lh, Lw, T = len(config.lam_h), len(config.lam_w), len(trials)
    H0 = torch.stack([_h0(config, t, device, dtype) for t in trials])  # (T, d, N)
    lam_h = torch.tensor(config.lam_h, dtype=dtype, device=device)
    lam_w = torch.tensor(config.lam_w, dtype=dtype, device=device)
    lh = lam_h[:, None, None].expand(Lh, Lw, T).reshape(-1)
    lw = lam_w[None, :, None].expand(Lh, Lw, T).reshape(-1)
    H = H0[None, None].expand(Lh, Lw, T, d, K * n).reshape(-1, d, K * n).clone()
    Y = torch.kron(
        torch.eye(K, dtype=dtype, device=device),
        torch.ones(1, n, dtype=dtype, device=device),
    )
    eye = torch.eye(d, dtype=dtype, device=device)

    def rhs(X):
        W = torch.linalg.solve(X @ X.mT + n * lw[:, None, None] * eye, X @ Y.T).mT
        return -W.mT @ (W @ X - Y) - lh[:, None, None] * X

    times = config.times()
    labels = torch.repeat_interleave(torch.arange(K, device=device), n)
    rec = {k: [] for k in ("nc1_tilde", "nc1", "tr_sigma_w", "tr_sigma_b")}
    now = 0.0
    for target in times:
        steps = math.ceil((target - now) / config.dt - 1e-9) if target > now else 0
        h = (target - now) / steps if steps else 0.0
        for _ in range(steps):
            k1 = rhs(H)
            k2 = rhs(H + 0.5 * h * k1)
            k3 = rhs(H + 0.5 * h * k2)
            k4 = rhs(H + h * k3)
            H = H + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        now = float(target)
        sw, sb = _traces_t(H, K, n)
        W0 = torch.zeros(H.shape[0], K, d, dtype=dtype, device=device)
        m = batched_metrics(W0 + 1.0, H, labels)
        rec["nc1"].append(m["nc1"])
        rec["nc1_tilde"].append(sw / sb)
        rec["tr_sigma_w"].append(sw)
        rec["tr_sigma_b"].append(sb)
    out = {
        k: torch.stack(v, -1).reshape(Lh, Lw, T, -1).double().cpu().numpy()
        for k, v in rec.items()
    }
    # Corollary 3.2: H_{1/beta} = argmin f(.; H0) for every beta.
    nb = len(config.beta)
    betas = torch.tensor(config.beta, dtype=dtype, device=device)
    Hb = H0[None, None, :, None].expand(Lh, Lw, T, nb, d, K * n).reshape(-1, d, K * n)
    _, Hp, _, resid = minimize_f(
        Hb.contiguous(),
        K,
        n,
        betas[None, None, None, :].expand(Lh, Lw, T, nb).reshape(-1),
        lam_w[None, :, None, None].expand(Lh, Lw, T, nb).reshape(-1),
        # lam_h = 0 is allowed in the flow; the proximal problem uses it as is.
        lam_h[:, None, None, None].expand(Lh, Lw, T, nb).reshape(-1),
        max_iter=config.max_iter,
        tol=1e-14,
    )
    sw, sb = _traces_t(Hp, K, n)
    out["nc1_tilde_prox"] = (sw / sb).reshape(Lh, Lw, T, nb).double().cpu().numpy()
    out["prox_residual"] = (
        (resid / (K * n)).reshape(Lh, Lw, T, nb).double().cpu().numpy()
    )
    h0 = H0.double().cpu().numpy()
    first = np.empty((Lh, Lw, T, nb))
    base = np.empty((Lh, Lw, T))
    for i, lh_ in enumerate(config.lam_h):
        for j, lw_ in enumerate(config.lam_w):
            for k in range(T):
                r = central_path_rates(h0[k], K=K, lam_w=lw_, lam_h=lh_)
                base[i, j, k] = r.nc1_tilde
                first[i, j, k] = r.nc1_tilde + r.d_nc1_tilde / np.asarray(config.beta)
    out["nc1_tilde_h0"] = base
    out["nc1_tilde_prox_first_order"] = first
    return out


def _kernel(config: CentralPathSweep, chunk: Chunk) -> xr.Dataset:
    trials = chunk.coords["trial"]
    res = simulate_central_path(config, trials)
    lead = ("lam_h", "lam_w", "trial")
    data = {}
    for key in ("nc1_tilde", "nc1", "tr_sigma_w", "tr_sigma_b"):
        data[key] = ((*lead, "time"), res[key])
    for key in ("nc1_tilde_prox", "prox_residual", "nc1_tilde_prox_first_order"):
        data[key] = ((*lead, "beta"), res[key])
    data["nc1_tilde_h0"] = (lead, res["nc1_tilde_h0"])
    coords = {
        **config_coords(config, "lam_h", "lam_w"),
        "time": list(config.times()),
        **config_coords(config, "beta"),
    }
    return chunk_dataset(chunk, data, coords)


ATTRS = {
    "nc1_tilde": VarAttrs(
        "NC1 trace ratio along the flow",
        description="Tr Sigma_W / Tr Sigma_B; Theorem 3.1: strictly decreasing",
        symbol=r"\widetilde{\mathcal{NC}}_1(H_t)",
    ),
    "nc1": VarAttrs(
        "NC1 along the flow",
        description="(1/K) Tr(Sigma_W Sigma_B^+)",
        symbol=r"\mathcal{NC}_1(H_t)",
    ),
    "tr_sigma_w": VarAttrs(
        "within-class trace",
        description="Tr Sigma_W",
        symbol=r"\mathrm{Tr}\,\Sigma_W(H_t)",
    ),
    "tr_sigma_b": VarAttrs(
        "between-class trace",
        description="Tr Sigma_B",
        symbol=r"\mathrm{Tr}\,\Sigma_B(H_t)",
    ),
    "scaled_tr_sigma_w": VarAttrs(
        "scaled within-class trace",
        description="Theorem 3.1: non-increasing",
        symbol=r"e^{2\lambda_H t}\mathrm{Tr}\,\Sigma_W(H_t)",
    ),
    "scaled_tr_sigma_b": VarAttrs(
        "scaled between-class trace",
        description="Theorem 3.1: strictly increasing",
        symbol=r"e^{2\lambda_H t}\mathrm{Tr}\,\Sigma_B(H_t)",
    ),
    "nc1_tilde_prox": VarAttrs(
        "NC1 trace ratio of the proximal minimizer",
        description="H_{1/beta} = argmin f(.; H0) by alternating exact block updates",
        symbol=r"\widetilde{\mathcal{NC}}_1(H_{1/\beta})",
    ),
    "prox_residual": VarAttrs(
        "stationarity residual of H_{1/beta}",
        description="largest gradient entry at the computed proximal minimizer",
        symbol=r"\max|\nabla_H f|",
    ),
    "nc1_tilde_prox_first_order": VarAttrs(
        "first-order prediction of NC1~(H_{1/beta})",
        description="Corollary 3.2 to first order in 1/beta, exact flow derivative "
        "at H0",
        symbol=r"\widetilde{\mathcal{NC}}_1(H_0) + "
        r"\dot{\widetilde{\mathcal{NC}}}_1(0)/\beta",
    ),
    "nc1_tilde_h0": VarAttrs(
        "NC1 trace ratio of H0", symbol=r"\widetilde{\mathcal{NC}}_1(H_0)"
    ),
}


def _finish(config: CentralPathSweep, ds: xr.Dataset) -> xr.Dataset:
    scale = np.exp(2 * ds["lam_h"] * ds["time"])
    dims = ds["tr_sigma_w"].dims
    ds["scaled_tr_sigma_w"] = (ds["tr_sigma_w"] * scale).transpose(*dims)
    ds["scaled_tr_sigma_b"] = (ds["tr_sigma_b"] * scale).transpose(*dims)
    return ds


def _memory(config: CentralPathSweep) -> float:
    """Peak bytes of one chunk: per (lam_h, lam_w, trial) cell the flow's features
    and RK4 stages (about 10 d N numbers) and d x d solves, and per (cell, beta) the
    proximal problem's features, updates and solves (6 d N + 4 d^2), times 1.2."""
    K, n, d = config.classes, config.n, config.width
    N = K * n
    trials = min(config.trial_batch, config.trials)
    cells = len(config.lam_h) * len(config.lam_w) * trials
    flow = 10 * d * N + 4 * d * d + 3 * K * N
    prox = len(config.beta) * (6 * d * N + 4 * d * d)
    return 1.2 * 8 * cells * (flow + prox)


CENTRAL_PATH = Experiment(
    name=NAME,
    key="central_path",
    config=CentralPathSweep,
    presets=PRESETS,
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords={
        **COORDS,
        "time": VarAttrs("flow time", symbol="t"),
        "trial": VarAttrs("trial (random H0)", symbol=""),
    },
    title="Central-path flow and proximal minimizers from random H0",
    references=REFS_A,
    config_attrs=("classes", "n", "width", "dt"),
    memory=_memory,
    summary="central-path flow and proximal minimizers (Thm 3.1, Cor 3.2)",
)
