r"""Experiment ``ufm``: gradient descent on the deep linear unconstrained-features model

Full-batch SGD with momentum (the official settings of Dang et al., ICML 2023,
arXiv:2301.00437: lr 0.1, momentum 0.9, init N(0, 0.1^2), width 64) on the deep linear
unconstrained-features model
:math:`\frac{1}{2N}\|W_M\cdots W_1H + b1^\top - Y\|^2 + \frac{\lambda}{2}
\sum_l\|W_l\|^2 + \frac{\lambda}{2}\|H\|^2` (MSE; or the mean cross-entropy), many
configurations batched on the device. Dims ``depth, profile, lam, bias, loss, trial,
step`` (+ ``class``); NC1, NC1~, NC2 (ETF/OF/GOF), NC3, NC4, diag(WW^T) and the
objective at log-spaced steps, with the closed forms of :mod:`theory.neural_collapse`
as ``_theory`` siblings. A run that overflows (too large a step or init) is recorded in
the ``diverged`` variable. Run ``python -m sims.neural_collapse --sweep --experiment
ufm``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr

from sims._backend import cell_generator
from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._config import SweepConfig
from sims._config import abbreviate
from sims._config import log_steps
from sims._config import param
from sims._dataset import chunk_dataset
from sims._dataset import config_coords
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import Theory
from sims._experiment import VarAttrs
from sims._report import final_step
from sims._sweep import Chunk
from sims.neural_collapse._common import BALANCED
from sims.neural_collapse._common import CIFAR10_IMB
from sims.neural_collapse._common import COORDS
from sims.neural_collapse._common import IMBALANCED
from sims.neural_collapse._common import NAME
from sims.neural_collapse._common import REFS_B
from sims.neural_collapse._common import REFS_P
from sims.neural_collapse._common import batched_metrics
from sims.neural_collapse._common import parse_profile
from theory.neural_collapse import deep_linear_ce_etf
from theory.neural_collapse import deep_linear_mse_minimizer

__all__ = [
    "PRESETS",
    "UFM",
    "DeepUFMSweep",
    "simulate_ufm",
    "ufm_targets",
    "ufm_theory",
]

_CPU_BATCH = 32  # cells per GD batch on a CPU (see simulate_ufm)
#: Most samples (sum of a profile's class sizes) a profile may have.
MAX_SAMPLES = 10**5


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeepUFMSweep(SweepConfig):
    """Full-batch SGD with momentum on the deep linear UFM.

    Attributes: documented in the ``param`` help strings (``--help`` lists them).
    A profile ``"n1-n2-..."`` (or ``"100x4"``) lists the class sizes; the width must
    be at least every profile's number of classes K.
    """

    depth: tuple[int, ...] = param((1, 3, 6, 9), "linear layers M", ge=1, le=100)
    profile: tuple[str, ...] = param(
        (BALANCED, IMBALANCED), "class-size profiles n1-n2-... (or NxK)"
    )
    lam: tuple[float, ...] = param(
        (5e-4,), "weight decay λ = λ_W (every layer) = λ_H", gt=0.0, le=10.0
    )
    bias: tuple[int, ...] = param(
        (0,), "last-layer bias: 0 none, 1 unregularized", choices=(0, 1)
    )
    loss: tuple[str, ...] = param(("mse", "ce"), "loss", choices=("mse", "ce"))
    width: int = param(64, "hidden width d (>= every K)", ge=1, le=4096)
    steps: int = param(10_000, "GD iterations", ge=1, le=10**7)
    checkpoints: int = param(
        30, "log-spaced checkpoints, plus step 0 (dim step)", ge=1, le=10**4
    )
    lr: float = param(0.1, "learning rate", gt=0.0, le=10.0)
    momentum: float = param(
        0.9, "heavy-ball momentum (buf = m buf + grad)", ge=0.0, lt=1.0
    )
    init_std: float = param(
        0.1, "std of the Gaussian init of H and every W_l", gt=0.0, le=10.0
    )
    trials: int = 1
    trial_batch: int = 1

    def validate(self) -> None:
        # parse_profile checks the sample count on the numbers as written, before
        # it builds a tuple of class sizes.
        sizes = [parse_profile(p, max_samples=MAX_SAMPLES) for p in self.profile]
        kmax = max(len(s) for s in sizes)
        if self.width < kmax:
            raise ValueError(f"width d={self.width} must be >= K={kmax}")
        first: dict[tuple[int, ...], str] = {}
        for profile, n in zip(self.profile, sizes, strict=True):
            if n in first:  # e.g. "10-10" and "10x2"
                raise ValueError(
                    f"profiles {abbreviate(first[n])} and {abbreviate(profile)} are "
                    f"the same class sizes {abbreviate(n)}; give each profile once"
                )
            first[n] = profile

    def step_grid(self) -> tuple[int, ...]:
        """Step 0, about ``checkpoints`` log-spaced steps, and always ``steps``."""
        return log_steps(self.steps, self.checkpoints)


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


def _kernel(config: DeepUFMSweep, chunk: Chunk) -> xr.Dataset:
    (depth,) = chunk.coords["depth"]
    (profile,) = chunk.coords["profile"]
    (loss,) = chunk.coords["loss"]
    trials = chunk.coords["trial"]
    cells = [
        (lam, bias, t) for lam in config.lam for bias in config.bias for t in trials
    ]
    res = simulate_ufm(config, depth, profile, loss, cells)
    shape = (len(config.lam), len(config.bias), len(trials))
    kmax = max(len(parse_profile(p)) for p in config.profile)
    data = {}
    dims = ("lam", "bias", "trial", "step")
    for key, val in res.items():
        if val.ndim == 2:
            data[key] = (dims, val.reshape(*shape, -1))
        else:
            pad = np.full((*val.shape[:2], kmax), np.nan)
            pad[..., : val.shape[2]] = val
            data[key] = ((*dims, "class"), pad.reshape(*shape, -1, kmax))
    coords = {
        **config_coords(config, "lam", "bias"),
        "step": list(config.step_grid()),
        "class": list(range(kmax)),
    }
    return chunk_dataset(chunk, data, coords)


ATTRS = {
    "objective": VarAttrs(
        "objective",
        description="training objective: data loss + weight decay",
        symbol="L",
    ),
    "nc1": VarAttrs(
        "NC1",
        description="(1/K) Tr(Sigma_W pinv(Sigma_B)) of H",
        symbol=r"\mathcal{NC}_1",
    ),
    "nc1_tilde": VarAttrs(
        "NC1 trace ratio",
        description="Tr Sigma_W / Tr Sigma_B of H",
        symbol=r"\widetilde{\mathcal{NC}}_1",
    ),
    "nc2_etf": VarAttrs(
        "NC2 (ETF)",
        description="|| WW^T/||WW^T|| - P_K/||P_K|| ||_F",
        symbol=r"\mathcal{NC}_2^{ETF}",
    ),
    "nc2_of": VarAttrs(
        "NC2 (OF)",
        description="|| WW^T/||WW^T|| - I/sqrt(K) ||_F",
        symbol=r"\mathcal{NC}_2^{OF}",
    ),
    "nc2_gof": VarAttrs(
        "NC2 (GOF)",
        description="|| WW^T/||WW^T|| - D/||D|| ||_F with D = diag(a_k^2) of the "
        "closed form",
        symbol=r"\mathcal{NC}_2^{GOF}",
    ),
    "nc3": VarAttrs(
        "NC3",
        description="|| W^T/||W|| - Mdot/||Mdot|| ||_F, centered means (unsquared)",
        symbol=r"\mathcal{NC}_3",
    ),
    "nc3_gof": VarAttrs(
        "NC3 (GOF)",
        description="|| W^T/||W|| - A/||A|| ||_F, A = Hbar diag(a_k^2 + N lam) (raw "
        "means)",
        symbol=r"\mathcal{NC}_3^{GOF}",
    ),
    "nc4": VarAttrs(
        "NC4 (NCC mismatch)",
        description="fraction argmax(Wh+b) != NCC",
        symbol=r"\mathcal{NC}_4",
    ),
    "diag_wwt": VarAttrs(
        "classifier length",
        description="diag of W W^T, W = W_M...W_1",
        symbol=r"\|w_k\|^2",
    ),
    "mean_norm2": VarAttrs(
        "class-mean norm",
        description="squared norm of class mean",
        symbol=r"\|\bar h_k\|^2",
    ),
    "wh": VarAttrs(
        "alignment", description="diag of W Hbar", symbol=r"w_k^\top \bar h_k"
    ),
    "class_size": VarAttrs(
        "class size", description="samples in class k", symbol="n_k"
    ),
    "rel_err": VarAttrs(
        "relative error of diag(WWᵀ)",
        description="max over classes; zero-branch classes relative to max_j a_j^2",
        symbol=r"\max_k |\|w_k\|^2 - a_k^2| / a_k^2",
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


def _finish(config: DeepUFMSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.merge(ufm_theory(config))
    ds["rel_err"] = _relative_error(ds)
    return ds


def _subsets(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    final = final_step(ds)["final step"]
    return {"final step": final, "final, mse": final & (ds["loss"] == "mse")}


PRESETS: dict[str, DeepUFMSweep] = {
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
}


def _memory(config: DeepUFMSweep) -> float:
    """Peak bytes of one chunk (the deepest net, the largest profile): per cell the
    features, their momentum buffer and the metrics' copies (5 d x N), the layers
    with buffers, gradients and suffix products (4 M d x d), the logits, residuals
    and distances (6 K x N) and the metrics' d x d matrices, for every (lam, bias,
    trial) cell of the chunk, times 1.2; float64 numbers."""
    sizes = [parse_profile(p) for p in config.profile]
    N, K = max(sum(s) for s in sizes), max(len(s) for s in sizes)
    d, M = config.width, max(config.depth)
    cells = len(config.lam) * len(config.bias) * min(config.trial_batch, config.trials)
    return 1.2 * 8 * cells * (5 * d * N + 4 * M * d * d + 6 * K * N + 6 * d * d)


UFM = Experiment(
    name=NAME,
    key="ufm",
    config=DeepUFMSweep,
    presets=PRESETS,
    axes=Axes("depth", "profile", "loss"),
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords={
        **COORDS,
        "depth": VarAttrs("linear layers", symbol="M"),
        "profile": VarAttrs("class-size profile", symbol="n_k"),
        "lam": VarAttrs("weight decay", symbol=r"\lambda"),
        "bias": VarAttrs("last-layer bias (0/1)", symbol="b"),
        "loss": VarAttrs("loss", symbol=""),
        "trial": VarAttrs("trial", symbol=""),
        "step": VarAttrs("GD step", symbol="t"),
    },
    theory=(
        Theory(
            label="closed form",
            fn="theory.neural_collapse.deep_linear_mse_minimizer (MSE); "
            "deep_linear_ce_etf (CE, balanced, bias-free)",
        ),
    ),
    title="Deep linear unconstrained-features model: GD vs closed form",
    references=f"{REFS_B}; metrics: {REFS_P}",
    config_attrs=("width", "steps", "lr", "momentum", "init_std"),
    subsets=_subsets,
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
    memory=_memory,
    summary="GD on the deep linear unconstrained-features model vs closed forms",
)
