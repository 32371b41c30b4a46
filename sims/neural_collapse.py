r"""Neural collapse: gradient descent on unconstrained-features models, in torch.

Four experiments (``--experiment``), each writing one labelled grid:

``ufm``
    Full-batch SGD with momentum (the official settings of Dang et al., ICML 2023,
    arXiv:2301.00437: lr 0.1, momentum 0.9, init N(0, 0.1^2), width 64) on the deep
    linear unconstrained-features model
    :math:`\frac{1}{2N}\|W_M\cdots W_1H + b1^\top - Y\|^2 + \frac{\lambda}{2}
    \sum_l\|W_l\|^2 + \frac{\lambda}{2}\|H\|^2` (MSE; or the mean cross-entropy),
    many configurations batched on the device. Dims ``depth, profile, lam, bias,
    loss, trial, step`` (+ ``class``); NC1, NC1~, NC2 (ETF/OF/GOF), NC3, NC4,
    diag(WW^T) and the objective at log-spaced steps, with the closed forms of
    :mod:`theory.neural_collapse` as ``_theory`` siblings.
``perturbation``
    Tirer, Huang & Niles-Weed (ICML 2023, arXiv:2210.16658), Theorems 4.1-4.2:
    minimize :math:`f(\cdot; H^* \pm \epsilon e_j)` exactly (alternating closed-form
    block updates) for every coordinate ``j`` and take central differences: the
    measured response operator ``F``. Its block singular values against Theorem 4.2
    and against the exact Schur-complement ``F``. Dims ``beta, lam_h, lam_w, trial``.
``central_path``
    The central-path flow (Eq. 4) from random ``H0`` by RK4, recording NC1~,
    :math:`e^{2\lambda_H t}\operatorname{Tr}\Sigma_W` and
    :math:`e^{2\lambda_H t}\operatorname{Tr}\Sigma_B` (Theorem 3.1), and NC1~ of
    :math:`H_{1/\beta} = \arg\min f(\cdot; H_0)` against :math:`\beta`
    (Corollary 3.2). Dims ``lam_h, lam_w, trial, time`` and ``beta``.
``digits``
    A ReLU MLP trained layer by layer on scikit-learn's digits (each new layer and a
    fresh classifier on top of the frozen earlier layers, the idea of Paper A's
    Fig. 2): NC1 and NC1~ of the deepest features as layers are added.
    Dims ``loss, trial, layer``.

Run ``python -m sims.neural_collapse --sweep --experiment E [--preset P]``.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr

from sims._backend import blas_threads
from sims._backend import cell_generator
from sims._backend import cpu_threads
from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._cli import run_cli
from sims._config import SweepConfig
from sims._config import int_logspace
from sims._experiment import Experiment
from sims._sweep import Chunk
from theory.neural_collapse import block_singular_values
from theory.neural_collapse import central_path_rates
from theory.neural_collapse import deep_linear_ce_etf
from theory.neural_collapse import deep_linear_mse_minimizer
from theory.neural_collapse import near_collapse_spectrum
from theory.neural_collapse import perturbation_operator
from theory.neural_collapse import ufm_minimizer

__all__ = [
    "CENTRAL_PATH",
    "DIGITS",
    "PERTURBATION",
    "PRESETS",
    "UFM",
    "CentralPathSweep",
    "DeepUFMSweep",
    "DigitsSweep",
    "PerturbationSweep",
    "batched_metrics",
    "main",
    "parse_profile",
    "perturbation_theory",
    "simulate_central_path",
    "simulate_digits",
    "simulate_perturbation",
    "simulate_ufm",
    "ufm_theory",
]

NAME = "neural_collapse"
_CPU_BATCH = 32  # cells per GD batch on a CPU (see simulate_ufm)
REFS_A = "Tirer, Huang, Niles-Weed (ICML 2023), arXiv:2210.16658"
REFS_B = "Dang, Tran, Osher, Tran-The, Ho, Nguyen (ICML 2023), arXiv:2301.00437"
REFS_P = "Papyan, Han, Donoho (PNAS 2020)"

BALANCED = "100-100-100-100"
IMBALANCED = "200-100-50-50"
CIFAR10_IMB = "100-100-200-200-300-300-400-400-500-500"


def parse_profile(profile: str) -> tuple[int, ...]:
    """Class sizes of a profile label ``"n1-n2-..."`` (``"100x4"`` repeats).

    Examples:
      >>> parse_profile("200-100-50-50"), parse_profile("10x3")
      ((200, 100, 50, 50), (10, 10, 10))
    """
    text = str(profile).strip()
    try:
        if "x" in text:
            size, _, count = text.partition("x")
            sizes = (int(size),) * int(count)
        else:
            sizes = tuple(int(p) for p in text.split("-"))
    except ValueError:
        raise ValueError(
            f"profile must look like '200-100-50-50' or '100x4', got {profile!r}"
        ) from None
    if len(sizes) < 2:
        raise ValueError(f"profile {profile!r} has K={len(sizes)} < 2 classes")
    if min(sizes) < 1:
        raise ValueError(f"class sizes must be >= 1, got profile {profile!r}")
    return sizes


def _check_positive(name: str, values: Sequence[float], *, allow_zero=False) -> None:
    if len(values) == 0:
        raise ValueError(f"{name} must have at least one value")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} has repeated values: {values}")
    for v in values:
        ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
        if not ok:
            rel = ">= 0" if allow_zero else "> 0"
            raise ValueError(f"{name} values must be finite and {rel}, got {v!r}")


def _check_int(name: str, value, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_float(name: str, value, *, low=0.0, strict=True) -> None:
    ok = math.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        raise ValueError(
            f"{name} must be {'>' if strict else '>='} {low}, got {value!r}"
        )


def _attrs(long_name, symbol, description, units="1", **extra) -> dict:
    return {
        "long_name": long_name,
        "units": units,
        "math_symbol": symbol,
        "description": description,
        **extra,
    }


# --------------------------------------------------------------------------------------
# Batched NC metrics (torch). Same conventions as theory._nc_metrics (tested equal).
# --------------------------------------------------------------------------------------


def _frame_distance(G: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
    """||G/||G|| - T/||T|| ||_F over the last two dims (NaN where G = 0)."""
    g = torch.linalg.matrix_norm(G)
    t = torch.linalg.matrix_norm(T)
    return torch.linalg.matrix_norm(G / g[..., None, None] - T / t[..., None, None])


def batched_metrics(
    W: torch.Tensor,
    H: torch.Tensor,
    labels: torch.Tensor,
    *,
    b: torch.Tensor | None = None,
    gof: torch.Tensor | None = None,
    gof_scale: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    r"""NC metrics of a batch of classifiers and features.

    Args:
      W: ``(B, K, d)`` end-to-end classifiers.
      H: ``(B, d, N)`` features.
      labels: ``(N,)`` integer labels (every class present).
      b: ``(B, K)`` biases, default zero.
      gof: ``(B, K)`` GOF target diagonal for :math:`WW^\top` (NaN rows allowed).
      gof_scale: ``(B, K)`` the factors :math:`a_k^2+N\lambda_H` of the GOF NC3.

    Returns:
      ``nc1, nc1_tilde, nc2_etf, nc2_of, nc2_gof, nc3, nc3_gof, nc4`` of shape
      ``(B,)`` and ``diag_wwt, mean_norm2, wh`` of shape ``(B, K)``;
      conventions as :mod:`theory.neural_collapse` (NC1 with 1/K and a pseudo-inverse
      at relative cut-off ``max(1e-12, 100 eps d)``; NC3 unsquared).
    """
    B, K, d = W.shape
    N = H.shape[-1]
    onehot = torch.zeros(K, N, dtype=H.dtype, device=H.device)
    onehot[labels, torch.arange(N, device=H.device)] = 1.0
    counts = onehot.sum(-1)
    means = (H @ onehot.mT) / counts  # (B, d, K)
    glob = H.mean(-1, keepdim=True)
    centered = means - glob
    dev = H - means[..., labels]
    sigma_w = dev @ dev.mT / N
    sigma_b = centered @ centered.mT / K
    evals, evecs = torch.linalg.eigh(sigma_b)
    top = evals.amax(-1, keepdim=True)
    rcond = max(1e-12, 100 * torch.finfo(H.dtype).eps * d)
    inv_vals = torch.where(evals > rcond * top, 1.0 / evals, torch.zeros_like(evals))
    pinv = (evecs * inv_vals[..., None, :]) @ evecs.mT
    tr_w = torch.diagonal(sigma_w, dim1=-2, dim2=-1).sum(-1)
    tr_b = torch.diagonal(sigma_b, dim1=-2, dim2=-1).sum(-1)
    out = {
        "nc1": (sigma_w * pinv).sum((-2, -1)).clamp_min(0) / K,
        "nc1_tilde": tr_w / tr_b,
    }
    G = W @ W.mT
    eye = torch.eye(K, dtype=H.dtype, device=H.device)
    P = eye - 1.0 / K
    out["nc2_etf"] = _frame_distance(G, P.expand(B, K, K))
    out["nc2_of"] = _frame_distance(G, eye.expand(B, K, K))
    if gof is None:
        out["nc2_gof"] = torch.full((B,), float("nan"), dtype=H.dtype)
    else:
        out["nc2_gof"] = _frame_distance(G, torch.diag_embed(gof))
    Wt = W.mT
    wn = torch.linalg.matrix_norm(Wt)[:, None, None]
    cn = torch.linalg.matrix_norm(centered)[:, None, None]
    out["nc3"] = torch.linalg.matrix_norm(Wt / wn - centered / cn)
    if gof_scale is None:
        out["nc3_gof"] = torch.full((B,), float("nan"), dtype=H.dtype)
    else:
        A = means * gof_scale[:, None, :]
        an = torch.linalg.matrix_norm(A)[:, None, None]
        out["nc3_gof"] = torch.linalg.matrix_norm(Wt / wn - A / an)
    logits = W @ H
    if b is not None:
        logits = logits + b[..., None]
    dist = (
        (H * H).sum(-2, keepdim=True)
        - 2 * means.mT @ H
        + (means * means).sum(-2)[..., None]
    )
    mismatch = logits.argmax(-2) != dist.argmin(-2)
    out["nc4"] = mismatch.to(H.dtype).mean(-1)
    out["diag_wwt"] = torch.diagonal(G, dim1=-2, dim2=-1)
    out["mean_norm2"] = (means * means).sum(-2)
    out["wh"] = torch.diagonal(W @ means, dim1=-2, dim2=-1)
    return out


# --------------------------------------------------------------------------------------
# Experiment "ufm": GD on the deep linear unconstrained-features model (Paper B).
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeepUFMSweep(SweepConfig):
    """Full-batch SGD with momentum on the deep linear UFM.

    Attributes:
      depth: numbers of linear layers M (dim ``depth``).
      profile: class-size profiles ``"n1-n2-..."`` (dim ``profile``).
      lam: weight decay λ = λ_W (every layer) = λ_H (dim ``lam``).
      bias: 0 (bias-free) or 1 (unregularized last-layer bias) (dim ``bias``).
      loss: ``mse`` and/or ``ce`` (dim ``loss``).
      width: hidden width d (>= every K).
      steps: GD iterations.
      checkpoints: log-spaced checkpoints (plus step 0) (dim ``step``).
      lr: learning rate.
      momentum: heavy-ball momentum (torch convention, buf = m buf + grad).
      init_std: std of the Gaussian init of H and every W_l.
    """

    depth: tuple[int, ...] = (1, 3, 6, 9)
    profile: tuple[str, ...] = (BALANCED, IMBALANCED)
    lam: tuple[float, ...] = (5e-4,)
    bias: tuple[int, ...] = (0,)
    loss: tuple[str, ...] = ("mse", "ce")
    width: int = 64
    steps: int = 10_000
    checkpoints: int = 30
    lr: float = 0.1
    momentum: float = 0.9
    init_std: float = 0.1
    trials: int = 1
    trial_batch: int = 1

    def validate(self) -> None:
        if not self.depth or len(set(self.depth)) != len(self.depth):
            raise ValueError(f"depth needs distinct values, got {self.depth}")
        for m in self.depth:
            _check_int("depth", m, 1)
        if not self.profile or len(set(self.profile)) != len(self.profile):
            raise ValueError(f"profile needs distinct values, got {self.profile}")
        kmax = max(len(parse_profile(p)) for p in self.profile)
        _check_positive("lam", self.lam)
        if (
            not self.bias
            or set(self.bias) - {0, 1}
            or len(set(self.bias)) != len(self.bias)
        ):
            raise ValueError(f"bias values must be distinct 0/1, got {self.bias}")
        if (
            not self.loss
            or set(self.loss) - {"mse", "ce"}
            or len(set(self.loss)) != len(self.loss)
        ):
            raise ValueError(f"loss values must be distinct mse/ce, got {self.loss}")
        _check_int("width", self.width, 1)
        if self.width < kmax:
            raise ValueError(f"width d={self.width} must be >= K={kmax}")
        _check_int("steps", self.steps, 1)
        _check_int("checkpoints", self.checkpoints, 1)
        _check_float("lr", self.lr)
        _check_float("momentum", self.momentum, strict=False)
        if self.momentum >= 1:
            raise ValueError(f"momentum must be < 1, got {self.momentum!r}")
        _check_float("init_std", self.init_std)

    def step_grid(self) -> tuple[int, ...]:
        """Step 0, about ``checkpoints`` log-spaced steps, and always ``steps``."""
        grid = {0, self.steps, *int_logspace(1, self.steps, self.checkpoints)}
        return tuple(sorted(grid))


def _ufm_init(config: DeepUFMSweep, depth, profile, loss, cells, device, dtype):
    """Per-cell initial parameters, each from its own coordinate-seeded stream."""
    sizes = parse_profile(profile)
    K, N, d = len(sizes), sum(sizes), config.width
    H, Ws = [], [[] for _ in range(depth)]
    for lam, bias, trial in cells:
        gen = cell_generator(
            config.seed, "ufm", depth, profile, loss, lam, bias, trial, device=device
        )

        def draw(*shape, gen=gen):
            return config.init_std * torch.randn(
                *shape, generator=gen, dtype=dtype, device=device
            )

        H.append(draw(d, N))
        for layer in range(depth):
            Ws[layer].append(draw(d, d) if layer < depth - 1 else draw(K, d))
    return torch.stack(H), [torch.stack(w) for w in Ws]


def _product(Ws):
    """End-to-end ``W_M...W_1`` and the suffixes ``S_l = W_M...W_{l+1}``."""
    M = len(Ws)
    suffix = [None] * M
    cur = Ws[-1]
    for layer in range(M - 2, -1, -1):
        suffix[layer] = cur
        cur = cur @ Ws[layer]
    return cur, suffix


def _ufm_run(config, depth, profile, loss, cells, *, device, dtype, record=True):
    """The batched GD kernel: returns per-checkpoint metrics and final parameters."""
    sizes = parse_profile(profile)
    K, N = len(sizes), sum(sizes)
    labels = torch.repeat_interleave(
        torch.arange(K, device=device), torch.tensor(sizes, device=device)
    )
    Y = torch.zeros(K, N, dtype=dtype, device=device)
    Y[labels, torch.arange(N, device=device)] = 1.0
    H, Ws = _ufm_init(config, depth, profile, loss, cells, device, dtype)
    B = H.shape[0]
    lam = torch.tensor([c[0] for c in cells], dtype=dtype, device=device)
    lam3 = lam[:, None, None]
    bias_on = torch.tensor([float(c[1]) for c in cells], dtype=dtype, device=device)
    b = torch.zeros(B, K, 1, dtype=dtype, device=device)
    params = [*Ws, H, b]
    bufs = [torch.zeros_like(p) for p in params]
    lr, mom = config.lr, config.momentum
    # GOF targets only where the bias-free MSE closed form applies (NaN elsewhere).
    targets = ufm_targets(config, depth, profile, loss, cells)
    a2 = targets["a2"].copy()
    if loss != "mse":
        a2[:] = np.nan
    a2[[bool(c[1]) for c in cells]] = np.nan
    gof = torch.as_tensor(a2, dtype=dtype, device=device)
    scale = a2 + N * targets["lam"][:, None]
    gof_scale = torch.as_tensor(scale, dtype=dtype, device=device)
    checkpoints = set(config.step_grid()) if record else set()
    records = []
    for step in range(config.steps + 1):
        W, suffix = _product(Ws)
        out = W @ H + b
        if loss == "mse":
            G = (out - Y) / N
        else:
            G = (torch.softmax(out, dim=1) - Y) / N
        if step in checkpoints:
            records.append(
                _ufm_record(W, H, b, G, out, Y, Ws, lam, loss, labels, gof, gof_scale)
            )
        if step == config.steps:
            break
        J = G @ H.mT  # (B, K, d)
        grads = [None] * depth
        v = J.mT  # (B, d, K): C_l J^T with C_l = W_{l-1}...W_1
        for layer in range(depth):
            if layer == depth - 1:
                grad = v.mT.clone()
            else:
                grad = suffix[layer].mT @ v.mT
            grads[layer] = grad.add_(lam3 * Ws[layer])
            if layer < depth - 1:
                v = Ws[layer] @ v
        grad_b = G.sum(-1, keepdim=True) * bias_on[:, None, None]
        for p, buf, grad in zip(params, bufs, [*grads, None, grad_b], strict=True):
            if grad is None:  # H, the largest tensor: fused, no temporaries
                buf.baddbmm_(W.mT, G, beta=mom).addcmul_(H, lam3)
            else:
                buf.mul_(mom).add_(grad)
            p.add_(buf, alpha=-lr)
    return records, (Ws, H, b)


def _ufm_record(W, H, b, G, out, Y, Ws, lam, loss, labels, gof, gof_scale):
    N = H.shape[-1]
    if loss == "mse":
        data = 0.5 * N * (G * G).sum((-2, -1))
    else:
        data = (torch.logsumexp(out, dim=1) - (out * Y).sum(1)).mean(-1)
    reg = sum((w * w).sum((-2, -1)) for w in Ws) + (H * H).sum((-2, -1))
    rec = batched_metrics(W, H, labels, b=b[..., 0], gof=gof, gof_scale=gof_scale)
    rec["objective"] = data + 0.5 * lam * reg
    return {k: v.detach().double().cpu().numpy() for k, v in rec.items()}


def ufm_targets(config, depth, profile, loss, cells) -> dict[str, np.ndarray]:
    """Closed-form targets per cell: a2, mean_norm2, wh (C, K), objective (C,).

    MSE: :func:`theory.neural_collapse.deep_linear_mse_minimizer` (bias only for
    balanced profiles). CE: the balanced bias-free ETF reduction
    :func:`theory.neural_collapse.deep_linear_ce_etf` (a stationary point; global
    only for ``depth = 1``). NaN where no closed form applies.
    """
    sizes = parse_profile(profile)
    K = len(sizes)
    out = {k: np.full((len(cells), K), np.nan) for k in ("a2", "mean_norm2", "wh")}
    out["objective"] = np.full(len(cells), np.nan)
    out["lam"] = np.array([c[0] for c in cells], dtype=np.float64)
    balanced = len(set(sizes)) == 1
    for i, (lam, bias, _) in enumerate(cells):
        if loss == "mse" and (balanced or not bias):
            s = deep_linear_mse_minimizer(
                sizes, depth=depth, lam_w=lam, lam_h=lam, bias=bool(bias)
            )
            out["a2"][i], out["mean_norm2"][i], out["wh"][i] = s.a2, s.mean_norm2, s.wh
            out["objective"][i] = s.objective
        elif loss == "ce" and balanced and not bias:
            e = deep_linear_ce_etf(K, sizes[0], depth=depth, lam_w=lam, lam_h=lam)
            frac = (K - 1) / K
            out["a2"][i] = e.a**2 * frac
            out["mean_norm2"][i] = e.h**2 * frac
            out["wh"][i] = e.a * e.h * frac
            out["objective"][i] = e.objective
    return out


def simulate_ufm(
    config: DeepUFMSweep,
    depth: int,
    profile: str,
    loss: str,
    cells: Sequence[tuple[float, int, int]],
) -> dict[str, np.ndarray]:
    """One (depth, profile, loss) and a batch of ``(lam, bias, trial)`` cells.

    Every cell's initial parameters come from a generator seeded by
    ``(seed, depth, profile, loss, lam, bias, trial)``, so its trajectory does not
    depend on the other cells of the batch (up to floating-point reassociation in
    batched matmuls).

    Returns:
      ``(C, S)`` arrays ``objective, nc1, nc1_tilde, nc2_etf, nc2_of, nc2_gof, nc3,
      nc3_gof, nc4`` and ``(C, S, K)`` arrays ``diag_wwt, mean_norm2, wh`` for the
      ``C`` cells and ``S`` checkpoints of ``config.step_grid()``.
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    cells = list(cells)
    # On a CPU, batches beyond a few dozen cells fall out of cache and get slower per
    # cell (measured: 0.12 ms per cell-step at 32 cells, 0.17 at 100, 0.20 at 1);
    # cells are independent, so splitting changes no number.
    size = len(cells) if device.type != "cpu" else _CPU_BATCH
    parts = []
    for start in range(0, len(cells), size):
        records, _ = _ufm_run(
            config,
            depth,
            profile,
            loss,
            cells[start : start + size],
            device=device,
            dtype=dtype,
        )
        parts.append({k: np.stack([r[k] for r in records], axis=1) for k in records[0]})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _ufm_kernel(config: DeepUFMSweep, chunk: Chunk) -> xr.Dataset:
    (depth,) = chunk.coords["depth"]
    (profile,) = chunk.coords["profile"]
    (loss,) = chunk.coords["loss"]
    trials = chunk.coords["trial"]
    cells = [
        (lam, bias, t) for lam in config.lam for bias in config.bias for t in trials
    ]
    with cpu_threads(resolve_device(config.device)):
        res = simulate_ufm(config, depth, profile, loss, cells)
    shape = (len(config.lam), len(config.bias), len(trials))
    kmax = max(len(parse_profile(p)) for p in config.profile)
    data = {}
    dims = ("depth", "profile", "loss", "lam", "bias", "trial", "step")
    for key, val in res.items():
        if val.ndim == 2:
            data[key] = (dims, val.reshape(*shape, -1)[None, None, None])
        else:
            pad = np.full((*val.shape[:2], kmax), np.nan)
            pad[..., : val.shape[2]] = val
            data[key] = (
                (*dims, "class"),
                pad.reshape(*shape, -1, kmax)[None, None, None],
            )
    coords = {
        "depth": [depth],
        "profile": [profile],
        "loss": [loss],
        "lam": list(config.lam),
        "bias": list(config.bias),
        "trial": list(trials),
        "step": list(config.step_grid()),
        "class": list(range(kmax)),
    }
    return xr.Dataset(data, coords=coords)


_UFM_ATTRS = {
    "objective": ("objective", "L", "training objective: data loss + weight decay"),
    "nc1": ("NC1", r"\mathcal{NC}_1", "(1/K) Tr(Sigma_W pinv(Sigma_B)) of H"),
    "nc1_tilde": (
        "NC1 trace ratio",
        r"\widetilde{\mathcal{NC}}_1",
        "Tr Sigma_W / Tr Sigma_B of H",
    ),
    "nc2_etf": (
        "NC2 (ETF)",
        r"\mathcal{NC}_2^{ETF}",
        "|| WW^T/||WW^T|| - P_K/||P_K|| ||_F",
    ),
    "nc2_of": ("NC2 (OF)", r"\mathcal{NC}_2^{OF}", "|| WW^T/||WW^T|| - I/sqrt(K) ||_F"),
    "nc2_gof": (
        "NC2 (GOF)",
        r"\mathcal{NC}_2^{GOF}",
        "|| WW^T/||WW^T|| - D/||D|| ||_F with D = diag(a_k^2) of the closed form",
    ),
    "nc3": (
        "NC3",
        r"\mathcal{NC}_3",
        "|| W^T/||W|| - Mdot/||Mdot|| ||_F, centered means (unsquared)",
    ),
    "nc3_gof": (
        "NC3 (GOF)",
        r"\mathcal{NC}_3^{GOF}",
        "|| W^T/||W|| - A/||A|| ||_F, A = Hbar diag(a_k^2 + N lam) (raw means)",
    ),
    "nc4": ("NC4 (NCC mismatch)", r"\mathcal{NC}_4", "fraction argmax(Wh+b) != NCC"),
    "diag_wwt": ("classifier length", r"\|w_k\|^2", "diag of W W^T, W = W_M...W_1"),
    "mean_norm2": ("class-mean norm", r"\|\bar h_k\|^2", "squared norm of class mean"),
    "wh": ("alignment", r"w_k^\top \bar h_k", "diag of W Hbar"),
    "rel_err": (
        "relative error of diag(WW^T)",
        r"\max_k |\|w_k\|^2 - a_k^2| / a_k^2",
        "max over classes; zero-branch classes relative to max_j a_j^2",
    ),
}


def ufm_theory(config: DeepUFMSweep) -> xr.Dataset:
    """Closed-form targets on the config's (depth, profile, lam, bias, loss) grid."""
    kmax = max(len(parse_profile(p)) for p in config.profile)
    shape = (
        len(config.depth),
        len(config.profile),
        len(config.loss),
        len(config.lam),
        len(config.bias),
    )
    arrays = {k: np.full((*shape, kmax), np.nan) for k in ("a2", "mean_norm2", "wh")}
    obj = np.full(shape, np.nan)
    sizes = np.full((len(config.profile), kmax), np.nan)
    for ip, profile in enumerate(config.profile):
        n = parse_profile(profile)
        sizes[ip, : len(n)] = n
        for im, depth in enumerate(config.depth):
            for il, loss in enumerate(config.loss):
                cells = [(lam, bias, 0) for lam in config.lam for bias in config.bias]
                t = ufm_targets(config, depth, profile, loss, cells)
                for key in arrays:
                    arrays[key][im, ip, il, ..., : len(n)] = t[key].reshape(
                        len(config.lam), len(config.bias), len(n)
                    )
                obj[im, ip, il] = t["objective"].reshape(len(config.lam), -1)
    dims = ("depth", "profile", "loss", "lam", "bias")
    return xr.Dataset(
        {
            "diag_wwt_theory": ((*dims, "class"), arrays["a2"]),
            "mean_norm2_theory": ((*dims, "class"), arrays["mean_norm2"]),
            "wh_theory": ((*dims, "class"), arrays["wh"]),
            "objective_theory": (dims, obj),
            "class_size": (("profile", "class"), sizes),
        },
        coords={
            "depth": list(config.depth),
            "profile": list(config.profile),
            "loss": list(config.loss),
            "lam": list(config.lam),
            "bias": list(config.bias),
            "class": list(range(kmax)),
        },
    )


def _relative_error(ds: xr.Dataset) -> xr.DataArray:
    theory = ds["diag_wwt_theory"]
    scale = theory.where(theory > 0, theory.max("class"))
    return (abs(ds["diag_wwt"] - theory) / scale).max("class", skipna=True)


def _ufm_finish(config: DeepUFMSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.reindex(
        depth=list(config.depth),
        profile=list(config.profile),
        loss=list(config.loss),
        lam=list(config.lam),
        bias=list(config.bias),
        trial=list(range(config.trials)),
    )
    ds = ds.merge(ufm_theory(config))
    ds["rel_err"] = _relative_error(ds)
    theory_fn = {
        "diag_wwt": "theory.neural_collapse.deep_linear_mse_minimizer (MSE); "
        "deep_linear_ce_etf (CE, balanced, bias-free)",
    }
    for name in list(ds.data_vars):
        base = name.removesuffix("_theory")
        if name == "class_size":
            ds[name].attrs = _attrs("class size", "n_k", "samples in class k")
            continue
        long_name, symbol, description = _UFM_ATTRS[base]
        attrs = _attrs(long_name, symbol, description)
        if name.endswith("_theory"):
            attrs["long_name"] = f"{long_name}, closed form"
            attrs["theory_fn"] = theory_fn["diag_wwt"]
        ds[name].attrs = attrs
    coord_attrs = {
        "depth": ("linear layers", "M"),
        "profile": ("class-size profile", "n_k"),
        "lam": ("weight decay", r"\lambda"),
        "bias": ("last-layer bias (0/1)", "b"),
        "loss": ("loss", ""),
        "trial": ("trial", ""),
        "step": ("GD step", "t"),
        "class": ("class", "k"),
    }
    for dim, (long_name, symbol) in coord_attrs.items():
        ds[dim].attrs = {"long_name": long_name, "units": "1", "math_symbol": symbol}
    ds.attrs.update(
        {
            "title": "Deep linear unconstrained-features model: GD vs closed form",
            "experiment": "ufm",
            "references": f"{REFS_B}; metrics: {REFS_P}",
            "width": config.width,
            "steps": config.steps,
            "lr": config.lr,
            "momentum": config.momentum,
            "init_std": config.init_std,
        }
    )
    return ds


def _ufm_axes(config: DeepUFMSweep) -> dict[str, tuple]:
    return {
        "depth": config.depth,
        "profile": config.profile,
        "loss": config.loss,
        "trial": tuple(range(config.trials)),
    }


def _ufm_subsets(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    final = ds["step"] == ds["step"].max()
    return {"final step": final, "final, mse": final & (ds["loss"] == "mse")}


# --------------------------------------------------------------------------------------
# Experiment "perturbation": Theorems 4.1-4.2 of Paper A by finite differences.
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class PerturbationSweep(SweepConfig):
    """Response of the minimizer of f(.; H0) to H0 = H* + eps e_j, all j.

    Attributes:
      beta: proximity weights β (dim ``beta``).
      lam_h: λ_H values (dim ``lam_h``).
      lam_w: λ_W values (dim ``lam_w``); every λ_H λ_W < 1.
      classes: K.
      n: samples per class.
      width: feature dimension d (> K for Theorem 4.2).
      eps: central-difference step.
      max_iter: cap on the alternating block updates.
      tol: stop when the largest update of H is below ``tol`` times max |H|.
    """

    beta: tuple[float, ...] = (10.0, 100.0, 1000.0)
    lam_h: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3)
    lam_w: tuple[float, ...] = (0.5,)
    classes: int = 4
    n: int = 10
    width: int = 10
    eps: float = 1e-4
    max_iter: int = 2000
    tol: float = 1e-15
    trials: int = 1
    trial_batch: int = 1

    def validate(self) -> None:
        _check_positive("beta", self.beta)
        _check_positive("lam_h", self.lam_h)
        _check_positive("lam_w", self.lam_w)
        _check_int("classes", self.classes, 2)
        _check_int("n", self.n, 1)
        _check_int("width", self.width, 1)
        if self.width < self.classes:
            raise ValueError(f"width d={self.width} must be >= K={self.classes}")
        bad = [(h, w) for h in self.lam_h for w in self.lam_w if h * w >= 1]
        if bad:
            raise ValueError(
                f"need lam_h * lam_w < 1 (else H* = 0), got lam_h={bad[0][0]}, "
                f"lam_w={bad[0][1]}"
            )
        _check_float("eps", self.eps)
        _check_int("max_iter", self.max_iter, 1)
        _check_float("tol", self.tol)


def _rotation(config, trial, device, dtype):
    gen = cell_generator(config.seed, "rotation", trial, device=device)
    A = torch.randn(
        config.width, config.width, generator=gen, dtype=dtype, device=device
    )
    Q, R = torch.linalg.qr(A)
    return Q * torch.sign(torch.diagonal(R))


def _minimize_f(H0, K, n, beta, lam_w, lam_h, *, max_iter, tol):
    """argmin_{W,H} f(W, H; H0) by alternating exact block minimization (batched).

    W-step: W = Y H^T (H H^T + n lam_w I)^-1; H-step:
    H = (W^T W + (lam_h + beta) I)^-1 (W^T Y + beta H0). Each step lowers f; the
    iteration contracts at a rate ~ ||W||^2 / (beta + lam_h), fast for large beta.
    Returns (W, H, iterations, gradient residual max|grad_H f| * Kn).
    """
    d = H0.shape[-2]
    dtype, device = H0.dtype, H0.device
    Y = torch.kron(
        torch.eye(K, dtype=dtype, device=device),
        torch.ones(1, n, dtype=dtype, device=device),
    )
    eye = torch.eye(d, dtype=dtype, device=device)
    beta3 = beta[:, None, None]
    H = H0.clone()
    it = 0
    while it < max_iter:
        it += 1
        W = torch.linalg.solve(H @ H.mT + n * lam_w[:, None, None] * eye, H @ Y.T).mT
        A = W.mT @ W + (lam_h[:, None, None] + beta3) * eye
        H_new = torch.linalg.solve(A, W.mT @ Y + beta3 * H0)
        change = (H_new - H).abs().amax()
        H = H_new
        if change <= tol * H.abs().amax():
            break
    W = torch.linalg.solve(H @ H.mT + n * lam_w[:, None, None] * eye, H @ Y.T).mT
    grad = W.mT @ (W @ H - Y) + lam_h[:, None, None] * H + beta3 * (H - H0)
    return W, H, it, grad.abs().amax((-2, -1))


def simulate_perturbation(
    config: PerturbationSweep, beta: float, lam_w: float, trial: int
) -> dict[str, np.ndarray]:
    """Finite-difference response operator at every ``lam_h`` for one (beta, lam_w).

    H* = the Theorem 2.1 minimizer rotated by a random orthogonal matrix (seeded by
    ``(seed, trial)``); the minimizer of ``f(.; H* ± eps e_j)`` is found for all
    ``2 d K n`` coordinates ``j`` at once, and column ``j`` of ``F`` is the central
    difference. Returns per ``lam_h``: ``sv_intra (L, K, dn)``, ``sigma_max_inter``,
    ``sigma2_inter``, ``response_gap`` (relative Frobenius distance to the exact
    Schur-complement F), ``grad_residual``, ``iterations``.
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    K, n, d = config.classes, config.n, config.width
    N = K * n
    D = d * N
    Q = _rotation(config, trial, device, dtype)
    out = {
        "sv_intra": np.empty((len(config.lam_h), K, d * n)),
        "sigma_max_inter": np.empty(len(config.lam_h)),
        "sigma2_inter": np.empty(len(config.lam_h)),
        "response_gap": np.empty(len(config.lam_h)),
        "grad_residual": np.empty(len(config.lam_h)),
        "iterations": np.empty(len(config.lam_h)),
    }
    eye = torch.eye(D, dtype=dtype, device=device)
    for i, lam_h in enumerate(config.lam_h):
        star = ufm_minimizer(K, n, d, lam_w=lam_w, lam_h=lam_h)
        Hs = Q @ torch.as_tensor(star.H, dtype=dtype, device=device)
        # Column-stacking vec: entry j of vec(H) is H[j % d, j // d].
        delta = eye.reshape(D, N, d).mT * config.eps  # (D, d, N)
        H0 = torch.cat([Hs + delta, Hs - delta])
        full = torch.full((2 * D,), 1.0, dtype=dtype, device=device)
        _, H, iters, resid = _minimize_f(
            H0,
            K,
            n,
            beta * full,
            lam_w * full,
            lam_h * full,
            max_iter=config.max_iter,
            tol=config.tol,
        )
        diff = (H[:D] - H[D:]) / (2 * config.eps)  # (D, d, N): response to e_j
        F = diff.mT.reshape(D, D).T.double().cpu().numpy()  # column j = vec(diff_j)
        spec = block_singular_values(F, K=K)
        inter = spec.inter[~np.eye(K, dtype=bool)]  # (K(K-1), dn)
        out["sv_intra"][i] = spec.intra
        out["sigma_max_inter"][i] = inter[:, 0].max()
        out["sigma2_inter"][i] = inter[:, 1].max() if inter.shape[1] > 1 else 0.0
        W_s = torch.as_tensor(star.W, dtype=torch.float64) @ Q.double().cpu().T
        exact = perturbation_operator(
            W_s.numpy(),
            Hs.double().cpu().numpy(),
            K=K,
            beta=beta,
            lam_w=lam_w,
            lam_h=lam_h,
        ).F
        out["response_gap"][i] = np.linalg.norm(F - exact) / np.linalg.norm(exact)
        out["grad_residual"][i] = float(resid.amax()) / N
        out["iterations"][i] = iters
    return out


def _perturbation_kernel(config: PerturbationSweep, chunk: Chunk) -> xr.Dataset:
    (beta,) = chunk.coords["beta"]
    (lam_w,) = chunk.coords["lam_w"]
    (trial,) = chunk.coords["trial"]
    with cpu_threads(resolve_device(config.device)):
        res = simulate_perturbation(config, beta, lam_w, trial)
    lead = ("beta", "lam_w", "trial", "lam_h")
    data = {
        "sv_intra": ((*lead, "class", "sv_index"), res["sv_intra"][None, None, None]),
    }
    for key in (
        "sigma_max_inter",
        "sigma2_inter",
        "response_gap",
        "grad_residual",
        "iterations",
    ):
        data[key] = (lead, res[key][None, None, None])
    K = config.classes
    return xr.Dataset(
        data,
        coords={
            "beta": [beta],
            "lam_w": [lam_w],
            "trial": [trial],
            "lam_h": list(config.lam_h),
            "class": list(range(K)),
            "sv_index": list(range(config.width * config.n)),
        },
    )


def perturbation_theory(config: PerturbationSweep) -> xr.Dataset:
    """Theorem 4.2 (first order) and the exact Schur-complement block spectra."""
    K, n, d = config.classes, config.n, config.width
    beta = np.asarray(config.beta)[:, None, None]
    lam_h = np.asarray(config.lam_h)[None, :, None]
    lam_w = np.asarray(config.lam_w)[None, None, :]
    pred = near_collapse_spectrum(K, n, d, beta=beta, lam_w=lam_w, lam_h=lam_h)
    shape = (len(config.beta), len(config.lam_h), len(config.lam_w))
    exact_sv = np.empty((*shape, d * n))
    exact = {k: np.empty(shape) for k in ("max_intra", "min_intra", "max_inter")}
    for ib, b in enumerate(config.beta):
        for ih, lh in enumerate(config.lam_h):
            for iw, lw in enumerate(config.lam_w):
                star = ufm_minimizer(K, n, d, lam_w=lw, lam_h=lh)
                F = perturbation_operator(
                    star.W, star.H, K=K, beta=b, lam_w=lw, lam_h=lh
                ).F
                spec = block_singular_values(F, K=K)
                exact_sv[ib, ih, iw] = spec.intra[0]
                exact["max_intra"][ib, ih, iw] = spec.intra[:, 0].max()
                exact["min_intra"][ib, ih, iw] = spec.intra[:, -1].min()
                exact["max_inter"][ib, ih, iw] = np.nanmax(spec.inter[..., 0])
    dims = ("beta", "lam_h", "lam_w")
    return xr.Dataset(
        {
            "sv_intra_theory": ((*dims, "sv_index"), pred.sv_intra),
            "sigma_max_intra_theory": (dims, pred.sigma_max_intra),
            "sigma_min_intra_theory": (dims, pred.sigma_min_intra),
            "sigma_max_inter_theory": (dims, pred.sigma_max_inter),
            "sigma2_inter_theory": (dims, np.zeros(shape)),
            "sv_intra_schur": ((*dims, "sv_index"), exact_sv),
            "sigma_max_intra_schur": (dims, exact["max_intra"]),
            "sigma_min_intra_schur": (dims, exact["min_intra"]),
            "sigma_max_inter_schur": (dims, exact["max_inter"]),
            "kappa_theory": ((*dims, "level"), pred.kappa),
            "multiplicity": (("level",), pred.multiplicity),
        },
        coords={
            "beta": list(config.beta),
            "lam_h": list(config.lam_h),
            "lam_w": list(config.lam_w),
            "sv_index": list(range(d * n)),
            "level": list(range(5)),
        },
    )


_PERT_ATTRS = {
    "sv_intra": (
        "singular values",
        r"\sigma_i(F_{kk})",
        "intra-class block of the response operator, descending",
    ),
    "sigma_max_intra": ("largest sv of F_kk", r"\sigma_{\max}(F_{kk})", "max over k"),
    "sigma_min_intra": ("smallest sv of F_kk", r"\sigma_{\min}(F_{kk})", "min over k"),
    "sigma_max_inter": (
        "largest sv of F_kk'",
        r"\sigma_{\max}(F_{k\tilde k})",
        "max over inter-class blocks k != k'",
    ),
    "sigma2_inter": (
        "second sv of F_kk'",
        r"\sigma_2(F_{k\tilde k})",
        "max over k != k'; Theorem 4.2: rank one, so 0",
    ),
    "response_gap": (
        "finite differences vs Schur complement",
        r"\|F_{fd}-F\|_F/\|F\|_F",
        "relative distance of the measured to the exact first-order operator",
    ),
    "grad_residual": (
        "stationarity residual",
        r"\max|\nabla_H f|",
        "largest gradient entry at the computed minimizers",
    ),
    "iterations": ("block-update iterations", "", "alternating minimization steps"),
    "kappa": (
        "first-order level",
        r"\kappa",
        "sv = 1 - kappa/beta: 0, lam_h, sqrt(lam_h/lam_w), 2lam_h(1-c), 4lam_h(1-c)",
    ),
    "multiplicity": (
        "multiplicity of each level",
        "",
        "d-K, (d-K)(n-1), K(n-1), K-1, 1",
    ),
}


def _perturbation_finish(config: PerturbationSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.reindex(
        beta=list(config.beta),
        lam_w=list(config.lam_w),
        trial=list(range(config.trials)),
        lam_h=list(config.lam_h),
    )
    ds["sigma_max_intra"] = ds["sv_intra"].isel(sv_index=0).max("class")
    ds["sigma_min_intra"] = ds["sv_intra"].isel(sv_index=-1).min("class")
    with blas_threads():
        theory = perturbation_theory(config)
    ds = ds.merge(theory)
    for name in list(ds.data_vars):
        base = name.removesuffix("_theory").removesuffix("_schur")
        long_name, symbol, description = _PERT_ATTRS[base]
        attrs = _attrs(long_name, symbol, description)
        if name.endswith("_theory"):
            attrs["long_name"] = f"{long_name}, Theorem 4.2 (first order in 1/beta)"
            attrs["theory_fn"] = "theory.neural_collapse.near_collapse_spectrum"
        elif name.endswith("_schur"):
            attrs["long_name"] = f"{long_name}, exact Schur complement (Theorem 4.1)"
            attrs["theory_fn"] = "theory.neural_collapse.perturbation_operator"
        ds[name].attrs = attrs
    for dim, (long_name, symbol) in {
        "beta": ("proximity weight", r"\beta"),
        "lam_h": ("feature weight decay", r"\lambda_H"),
        "lam_w": ("classifier weight decay", r"\lambda_W"),
        "sv_index": ("singular value index", "i"),
        "class": ("class", "k"),
        "trial": ("trial (random rotation of H*)", ""),
        "level": ("first-order level", ""),
    }.items():
        ds[dim].attrs = {"long_name": long_name, "units": "1", "math_symbol": symbol}
    ds.attrs.update(
        {
            "title": "Perturbation of the UFM minimizer near collapse: FD vs theory",
            "experiment": "perturbation",
            "references": REFS_A,
            "classes": config.classes,
            "n": config.n,
            "width": config.width,
            "eps": config.eps,
        }
    )
    return ds


def _perturbation_axes(config: PerturbationSweep) -> dict[str, tuple]:
    return {
        "beta": config.beta,
        "lam_w": config.lam_w,
        "trial": tuple(range(config.trials)),
    }


def _perturbation_subsets(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    return {
        "beta >= 100": ds["beta"] >= 100,
        "beta >= 1000": ds["beta"] >= 1000,
    }


# --------------------------------------------------------------------------------------
# Experiment "central_path": Theorem 3.1 and Corollary 3.2 of Paper A.
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class CentralPathSweep(SweepConfig):
    """Central-path flow and proximal minimizers from random features H0.

    Attributes:
      lam_h: λ_H >= 0 values (dim ``lam_h``; Theorem 3.1 allows 0).
      lam_w: λ_W > 0 values (dim ``lam_w``).
      classes, n, width: K, samples per class, d.
      t_max: flow horizon T.
      dt: RK4 step.
      checkpoints: equally spaced times in [0, T] (dim ``time``).
      beta: β values for H_{1/β} = argmin f(.; H0) (dim ``beta``).
      noise: std of the within-class noise of H0 (class means are N(0, I)).
      max_iter: cap on the alternating block updates of the proximal problem.
    """

    lam_h: tuple[float, ...] = (0.0, 0.05, 0.1, 0.3)
    lam_w: tuple[float, ...] = (0.2,)
    classes: int = 3
    n: int = 6
    width: int = 8
    t_max: float = 5.0
    dt: float = 1e-3
    checkpoints: int = 51
    beta: tuple[float, ...] = (1e-2, 1e-1, 1.0, 10.0, 1e2, 1e3, 1e4)
    noise: float = 1.0
    max_iter: int = 20_000
    trials: int = 4
    trial_batch: int = 4

    def validate(self) -> None:
        _check_positive("lam_h", self.lam_h, allow_zero=True)
        _check_positive("lam_w", self.lam_w)
        _check_int("classes", self.classes, 2)
        _check_int("n", self.n, 2)
        _check_int("width", self.width, 1)
        if self.width < self.classes:
            raise ValueError(f"width d={self.width} must be >= K={self.classes}")
        _check_float("t_max", self.t_max)
        _check_float("dt", self.dt)
        _check_int("checkpoints", self.checkpoints, 2)
        _check_positive("beta", self.beta)
        _check_float("noise", self.noise)
        _check_int("max_iter", self.max_iter, 1)

    def times(self) -> np.ndarray:
        return np.linspace(0.0, self.t_max, self.checkpoints)


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
    _, Hp, _, resid = _minimize_f(
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


def _central_path_kernel(config: CentralPathSweep, chunk: Chunk) -> xr.Dataset:
    trials = chunk.coords["trial"]
    with cpu_threads(resolve_device(config.device)):
        res = simulate_central_path(config, trials)
    lead = ("lam_h", "lam_w", "trial")
    data = {}
    for key in ("nc1_tilde", "nc1", "tr_sigma_w", "tr_sigma_b"):
        data[key] = ((*lead, "time"), res[key])
    for key in ("nc1_tilde_prox", "prox_residual", "nc1_tilde_prox_first_order"):
        data[key] = ((*lead, "beta"), res[key])
    data["nc1_tilde_h0"] = (lead, res["nc1_tilde_h0"])
    return xr.Dataset(
        data,
        coords={
            "lam_h": list(config.lam_h),
            "lam_w": list(config.lam_w),
            "trial": list(trials),
            "time": list(config.times()),
            "beta": list(config.beta),
        },
    )


_FLOW_ATTRS = {
    "nc1_tilde": (
        "NC1 trace ratio along the flow",
        r"\widetilde{\mathcal{NC}}_1(H_t)",
        "Tr Sigma_W / Tr Sigma_B; Theorem 3.1: strictly decreasing",
    ),
    "nc1": (
        "NC1 along the flow",
        r"\mathcal{NC}_1(H_t)",
        "(1/K) Tr(Sigma_W Sigma_B^+)",
    ),
    "tr_sigma_w": ("within-class trace", r"\mathrm{Tr}\,\Sigma_W(H_t)", "Tr Sigma_W"),
    "tr_sigma_b": ("between-class trace", r"\mathrm{Tr}\,\Sigma_B(H_t)", "Tr Sigma_B"),
    "scaled_tr_sigma_w": (
        "scaled within-class trace",
        r"e^{2\lambda_H t}\mathrm{Tr}\,\Sigma_W(H_t)",
        "Theorem 3.1: non-increasing",
    ),
    "scaled_tr_sigma_b": (
        "scaled between-class trace",
        r"e^{2\lambda_H t}\mathrm{Tr}\,\Sigma_B(H_t)",
        "Theorem 3.1: strictly increasing",
    ),
    "nc1_tilde_prox": (
        "NC1 trace ratio of the proximal minimizer",
        r"\widetilde{\mathcal{NC}}_1(H_{1/\beta})",
        "H_{1/beta} = argmin f(.; H0) by alternating exact block updates",
    ),
    "prox_residual": (
        "stationarity residual of H_{1/beta}",
        r"\max|\nabla_H f|",
        "largest gradient entry at the computed proximal minimizer",
    ),
    "nc1_tilde_prox_first_order": (
        "first-order prediction of NC1~(H_{1/beta})",
        r"\widetilde{\mathcal{NC}}_1(H_0) + \dot{\widetilde{\mathcal{NC}}}_1(0)/\beta",
        "Corollary 3.2 to first order in 1/beta, exact flow derivative at H0",
    ),
    "nc1_tilde_h0": ("NC1 trace ratio of H0", r"\widetilde{\mathcal{NC}}_1(H_0)", ""),
}


def _central_path_finish(config: CentralPathSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.reindex(trial=list(range(config.trials)))
    scale = np.exp(2 * ds["lam_h"] * ds["time"])
    dims = ds["tr_sigma_w"].dims
    ds["scaled_tr_sigma_w"] = (ds["tr_sigma_w"] * scale).transpose(*dims)
    ds["scaled_tr_sigma_b"] = (ds["tr_sigma_b"] * scale).transpose(*dims)
    for name in ds.data_vars:
        long_name, symbol, description = _FLOW_ATTRS[str(name)]
        ds[name].attrs = _attrs(long_name, symbol, description)
    for dim, (long_name, symbol) in {
        "lam_h": ("feature weight decay", r"\lambda_H"),
        "lam_w": ("classifier weight decay", r"\lambda_W"),
        "time": ("flow time", "t"),
        "beta": ("proximity weight", r"\beta"),
        "trial": ("trial (random H0)", ""),
    }.items():
        ds[dim].attrs = {"long_name": long_name, "units": "1", "math_symbol": symbol}
    ds.attrs.update(
        {
            "title": "Central-path flow and proximal minimizers from random H0",
            "experiment": "central_path",
            "references": REFS_A,
            "classes": config.classes,
            "n": config.n,
            "width": config.width,
            "dt": config.dt,
        }
    )
    return ds


def _central_path_axes(config: CentralPathSweep) -> dict[str, tuple]:
    return {"trial": tuple(range(config.trials))}


# --------------------------------------------------------------------------------------
# Experiment "digits": layer-wise trained MLP on scikit-learn's digits.
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class DigitsSweep(SweepConfig):
    """Layer-wise training of a ReLU MLP on ``sklearn.datasets.load_digits``.

    Attributes:
      layers: hidden layers added one at a time (dim ``layer``, 0 = the pixels).
      width: hidden width.
      steps: full-batch Adam steps per added layer.
      lr: Adam learning rate.
      weight_decay: L2 penalty λ/2 ||.||^2 on the new layer's and the classifier's
        weights (biases free).
      loss: ``mse`` and/or ``ce`` (dim ``loss``).
    """

    layers: int = 6
    width: int = 64
    steps: int = 300
    lr: float = 1e-2
    weight_decay: float = 5e-4
    loss: tuple[str, ...] = ("mse", "ce")
    trials: int = 2
    trial_batch: int = 1

    def validate(self) -> None:
        _check_int("layers", self.layers, 1)
        _check_int("width", self.width, 10)
        _check_int("steps", self.steps, 1)
        _check_float("lr", self.lr)
        _check_float("weight_decay", self.weight_decay, strict=False)
        if (
            not self.loss
            or set(self.loss) - {"mse", "ce"}
            or len(set(self.loss)) != len(self.loss)
        ):
            raise ValueError(f"loss values must be distinct mse/ce, got {self.loss}")


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


def _digits_kernel(config: DigitsSweep, chunk: Chunk) -> xr.Dataset:
    (loss,) = chunk.coords["loss"]
    trials = chunk.coords["trial"]
    with cpu_threads(resolve_device(config.device)):
        runs = [simulate_digits(config, loss, t) for t in trials]
    data = {
        key: (("loss", "trial", "layer"), np.stack([r[key] for r in runs])[None])
        for key in runs[0]
    }
    return xr.Dataset(
        data,
        coords={
            "loss": [loss],
            "trial": list(trials),
            "layer": list(range(config.layers + 1)),
        },
    )


_DIGITS_ATTRS = {
    "nc1": (
        "NC1 of the deepest features",
        r"\mathcal{NC}_1",
        "(1/K) Tr(Sigma_W Sigma_B^+) on the training set",
    ),
    "nc1_tilde": (
        "NC1 trace ratio of the deepest features",
        r"\widetilde{\mathcal{NC}}_1",
        "Tr Sigma_W / Tr Sigma_B",
    ),
    "train_error": ("training error", "", "classifier trained with the new layer"),
    "train_loss": ("training objective", "", "data loss + weight decay at the end"),
}


def _digits_finish(config: DigitsSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.reindex(loss=list(config.loss), trial=list(range(config.trials)))
    for name in ds.data_vars:
        long_name, symbol, description = _DIGITS_ATTRS[str(name)]
        ds[name].attrs = _attrs(long_name, symbol, description)
    ds["layer"].attrs = {"long_name": "hidden layers", "units": "1", "math_symbol": "L"}
    ds["loss"].attrs = {"long_name": "loss", "units": "1"}
    ds["trial"].attrs = {"long_name": "trial", "units": "1"}
    ds.attrs.update(
        {
            "title": "Layer-wise trained MLP on digits: NC1 of the deepest features",
            "experiment": "digits",
            "references": f"{REFS_A} (Fig. 2 idea, on digits instead of CIFAR-10)",
            "dataset": "sklearn.datasets.load_digits (1797 x 64, 10 classes)",
            "width": config.width,
            "steps": config.steps,
            "lr": config.lr,
            "weight_decay": config.weight_decay,
        }
    )
    return ds


def _digits_axes(config: DigitsSweep) -> dict[str, tuple]:
    return {"loss": config.loss, "trial": tuple(range(config.trials))}


# --------------------------------------------------------------------------------------
# Presets and CLI.
# --------------------------------------------------------------------------------------

PRESETS: dict[str, dict[str, SweepConfig]] = {
    "ufm": {
        "smoke": DeepUFMSweep(
            depth=(1, 2),
            profile=("10-10-10-10", "20-10-5-5"),
            lam=(5e-3,),
            bias=(0, 1),
            loss=("mse", "ce"),
            width=16,
            init_std=0.2,
            steps=2000,
            checkpoints=12,
            trials=2,
            trial_batch=2,
        ),
        "default": DeepUFMSweep(),
        "paper": DeepUFMSweep(
            depth=(1, 2, 3, 6, 9),
            profile=(BALANCED, IMBALANCED, CIFAR10_IMB),
            lam=(1e-4, 5e-4, 1e-3, 5e-3),
            bias=(0, 1),
            loss=("mse", "ce"),
            steps=30_000,
            checkpoints=60,
            trials=4,
            trial_batch=4,
        ),
    },
    "perturbation": {
        "smoke": PerturbationSweep(
            beta=(100.0, 1000.0),
            lam_h=(0.01, 0.1),
            lam_w=(0.5,),
            classes=3,
            n=3,
            width=5,
        ),
        "default": PerturbationSweep(),
        "paper": PerturbationSweep(
            beta=(10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 1e4),
            lam_h=tuple(float(v) for v in np.geomspace(1e-3, 0.45, 16)),
            lam_w=(0.5, 1.0, 2.0),
            trials=2,
        ),
    },
    "central_path": {
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
    },
    "digits": {
        "smoke": DigitsSweep(layers=2, width=32, steps=60, loss=("mse",), trials=1),
        "default": DigitsSweep(),
        "paper": DigitsSweep(layers=10, width=512, steps=2000, lr=1e-3, trials=5),
    },
}


UFM = Experiment(
    name=NAME,
    key="ufm",
    config=DeepUFMSweep,
    presets=PRESETS["ufm"],
    axes=_ufm_axes,
    kernel=_ufm_kernel,
    finish=_ufm_finish,
    subsets=_ufm_subsets,
    # NaN where no closed form applies (CE loss, biases, depth > 1 for some) and
    # padding of the class dim for profiles with fewer classes.
    not_applicable=(
        "nc2_gof",
        "nc3_gof",
        "diag_wwt",
        "diag_wwt_theory",
        "mean_norm2",
        "mean_norm2_theory",
        "wh",
        "wh_theory",
        "objective_theory",
        "rel_err",
    ),
    summary="GD on the deep linear unconstrained-features model vs closed forms",
)

PERTURBATION = Experiment(
    name=NAME,
    key="perturbation",
    config=PerturbationSweep,
    presets=PRESETS["perturbation"],
    axes=_perturbation_axes,
    kernel=_perturbation_kernel,
    finish=_perturbation_finish,
    subsets=_perturbation_subsets,
    batch_dim=None,
    summary="finite-difference response of the UFM minimizer to perturbed features",
)

CENTRAL_PATH = Experiment(
    name=NAME,
    key="central_path",
    config=CentralPathSweep,
    presets=PRESETS["central_path"],
    axes=_central_path_axes,
    kernel=_central_path_kernel,
    finish=_central_path_finish,
    summary="gradient flow near the central path vs the first-order theory",
)

DIGITS = Experiment(
    name=NAME,
    key="digits",
    config=DigitsSweep,
    presets=PRESETS["digits"],
    axes=_digits_axes,
    kernel=_digits_kernel,
    finish=_digits_finish,
    not_applicable=("train_error", "train_loss"),  # entry 0: the input, untrained
    summary="per-layer neural-collapse metrics of deep nets trained on digits",
)

EXPERIMENTS = (
    UFM,
    PERTURBATION,
    CENTRAL_PATH,
    DIGITS,
)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sims.neural_collapse`` command line; see ``--help``."""
    return run_cli(
        argv,
        prog="python -m sims.neural_collapse",
        description=__doc__.splitlines()[0],
        experiments=EXPERIMENTS,
    )


if __name__ == "__main__":
    # Run the importable module, not __main__, so worker processes unpickle the
    # kernels and configs by name.
    from sims.neural_collapse import main as _main

    sys.exit(_main())
