r"""Random-feature ridge regression on Gaussian data: simulated vs predicted risk.

The protocol of Simon, Karkada, Ghosh & Belkin (2024), arXiv:2311.14646, Fig. 1
("Gaussian RF @ Gaussian data"). Data ``x ~ N(0, I_M)`` with kernel eigenvalues
:math:`\lambda_i = i^{-\alpha}` acting through ``Λ^{1/2} x``, target
:math:`y = \sum_i v_i x_i + \epsilon` with :math:`v_i^2 = i^{-\beta}` and
:math:`\epsilon \sim N(0, \sigma^2)`. Per (trial, n) a pool of ``pool`` features
:math:`g_j \cdot \Lambda^{1/2} x` with :math:`g_j \sim N(0, I_M)` is drawn; each ``k``
subsamples ``k`` of them without replacement (so the ``k`` features are i.i.d.) and
scales them by :math:`1/\sqrt{k}`. Ridge regression with ridge :math:`\delta` on the
unnormalized Gram is fitted for all ridges from one eigendecomposition.

Measured per (n, k, ridge, trial): the population test risk of the fitted weights,
exactly, :math:`\|w_{eff} - v\|^2 + \sigma^2` with
:math:`w_{eff} = \Lambda^{1/2} G_S^\top \theta / \sqrt{k}`; the held-out MSE on
``test_size`` fresh points; the train MSE. Theory siblings come from
:func:`theory.rf_ridge.rf_ridge_risk` on the same ``M`` modes.

Run ``python -m sims.rf_risk --sweep`` (see ``--help``).
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
from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._cli import module_main
from sims._config import SweepConfig
from sims._config import int_logspace
from sims._config import param
from sims._dataset import chunk_dataset
from sims._dataset import config_coords
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import Theory
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from theory.rf_ridge import rf_ridge_risk

__all__ = [
    "EXPERIMENT",
    "EXPERIMENTS",
    "PRESETS",
    "RFRiskSweep",
    "main",
    "simulate",
    "sweep",
    "theory_grid",
]

NAME = "rf_risk"
REFERENCES = "Simon, Karkada, Ghosh, Belkin (2024), arXiv:2311.14646"
#: The 31 ridges of the paper's Fig. 1 grids.
PAPER_RIDGES = tuple(float(r) for r in np.logspace(-3, 2, 31))


@dataclasses.dataclass(frozen=True, kw_only=True)
class RidgePoolSweep(SweepConfig):
    """The ridge grid and the feature pool of a random-feature sweep (every ``k`` of
    the subclass subsamples the pool); shared with :mod:`sims.rf_real.rf`."""

    ridge: tuple[float, ...] = param(
        tuple(PAPER_RIDGES[i] for i in (5, 8, 12, 20, 26)),
        "ridges δ on the unnormalized Gram",
        ge=0.0,
        le=1e150,
    )
    pool: int = param(2000, "features drawn per (trial, n)", ge=1, le=10**6)

    def validate(self) -> None:
        if max(self.k) > self.pool:
            raise ValueError(f"k={max(self.k)} exceeds the feature pool={self.pool}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RFRiskSweep(RidgePoolSweep):
    """A grid of Gaussian random-feature ridge regressions.

    Attributes:
      n: training-set sizes (dim ``n``).
      k: numbers of features (dim ``k``); each at most ``pool``.
      ridge: ridges δ >= 0 on the unnormalized Gram (dim ``ridge``).
      num_modes: data dimension M = number of kernel eigenmodes.
      pool: features drawn per (trial, n); every k subsamples this pool.
      alpha: eigenvalue exponent, λ_i = i^-alpha.
      beta: target exponent, v_i^2 = i^-beta.
      noise_var: label-noise variance σ².
      test_size: held-out points per (trial, n) for the held-out MSE.
    """

    n: tuple[int, ...] = param((256,), "training-set sizes", ge=1, le=10**6)
    k: tuple[int, ...] = param(
        tuple(sorted({*int_logspace(10, 2000, 24), 256})),
        "numbers of features, each <= pool",
        ge=1,
        le=10**6,
    )
    num_modes: int = param(2000, "data dimension M (kernel eigenmodes)", ge=1, le=10**6)
    alpha: float = param(1.5, "eigenvalue exponent, λ_i = i^-alpha", gt=0.0, le=100.0)
    beta: float = param(1.5, "target exponent, v_i² = i^-beta", gt=0.0, le=100.0)
    noise_var: float = param(0.5, "label-noise variance σ²", ge=0.0, le=1e100)
    test_size: int = param(1000, "held-out points per (trial, n)", ge=1, le=10**6)
    trials: int = 30
    trial_batch: int = 5

    def spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues λ_i = i^-alpha and target power v_i² = i^-beta, float64."""
        i = np.arange(1, self.num_modes + 1, dtype=np.float64)
        return i**-self.alpha, i**-self.beta


PRESETS: dict[str, RFRiskSweep] = {
    "smoke": RFRiskSweep(
        n=(48,),
        k=(8, 16, 32, 96, 128),
        ridge=(1e-2, 1.0),
        num_modes=160,
        pool=160,
        test_size=200,
        trials=4,
        trial_batch=2,
    ),
    "default": RFRiskSweep(),
    # The authors' protocol (docs/derivations/rf_ridge.md §8.3): M = 1e4, 31 ridges,
    # 45 trials, a k-sweep at n = 256 ...
    "paper": RFRiskSweep(
        n=(256,),
        k=int_logspace(10, 10_000, 31),
        ridge=PAPER_RIDGES,
        num_modes=10_000,
        pool=10_000,
        trials=45,
        trial_batch=3,
    ),
    # ... and an n-sweep at k = 256.
    "paper_n": RFRiskSweep(
        n=int_logspace(10, 10_000, 31),
        k=(256,),
        ridge=PAPER_RIDGES,
        num_modes=10_000,
        pool=10_000,
        trials=45,
        trial_batch=3,
    ),
}


def _ridge_solutions(phi, y, ridges):
    """Ridge weights θ for every ridge from one eigendecomposition.

    phi: (T, n, k) features, y: (T, n) labels, ridges: (R,). Returns (T, R, k).
    Uses the k x k Gram when k <= n and the n x n Gram (dual form) otherwise.
    A ridge of 0 gives the minimum-norm interpolator (zero eigenvalues dropped).
    """
    n, k = phi.shape[-2:]
    if k <= n:
        s, V = torch.linalg.eigh(phi.mT @ phi)  # (T,k), (T,k,k)
        b = (V.mT @ (phi.mT @ y[..., None]))[..., 0]  # (T,k)
    else:
        s, V = torch.linalg.eigh(phi @ phi.mT)  # (T,n), (T,n,n)
        b = (V.mT @ y[..., None])[..., 0]  # (T,n)
    s = s.clamp_min(0)[:, None, :]  # (T,1,r)
    floor = s.amax(-1, keepdim=True) * s.shape[-1] * torch.finfo(s.dtype).eps
    denom = s + ridges[None, :, None]
    inv = torch.where(denom > floor, 1.0 / denom, torch.zeros_like(denom))
    coef = inv * b[:, None, :]  # (T,R,r)
    sol = coef @ V.mT  # (T,R,r): rows are V @ coef
    return sol if k <= n else sol @ phi  # dual: θ = Φᵀ α


def _randn(gen: torch.Generator, *shape: int, dtype: torch.dtype) -> torch.Tensor:
    """Standard normals drawn in float64 and cast: float32 runs see the same draws."""
    return torch.randn(
        *shape, generator=gen, dtype=torch.float64, device=gen.device
    ).to(dtype)


def simulate(
    config: RFRiskSweep, n: int, trials: Sequence[int]
) -> dict[str, np.ndarray]:
    """One ``n`` and a batch of trials, all ``k`` and ridges: the batched kernel.

    Every random draw comes from a generator seeded by (seed, n, trial) for data and
    pool, and by (seed, n, trial, k) for the feature subset, so a cell's numbers do
    not depend on the other cells or the batch it runs in.

    Returns:
      ``test_risk``, ``test_risk_heldout``, ``train_risk``, each of shape
      ``(len(k), len(ridge), len(trials))``, float64 numpy.
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    lam, v2 = config.spectrum()
    sqrt_lam = torch.as_tensor(np.sqrt(lam), dtype=dtype, device=device)
    v = torch.as_tensor(np.sqrt(v2), dtype=dtype, device=device)
    ridges = torch.as_tensor(config.ridge, dtype=dtype, device=device)
    M, P, m = config.num_modes, config.pool, n + config.test_size
    sigma = math.sqrt(config.noise_var)

    X, y, G = [], [], []
    for t in trials:
        gen = cell_generator(config.seed, "data", n, t, device=device)
        X.append(_randn(gen, m, M, dtype=dtype))
        y.append(X[-1] @ v + sigma * _randn(gen, m, dtype=dtype))
        G.append(_randn(gen, P, M, dtype=dtype))
    X, y, G = torch.stack(X), torch.stack(y), torch.stack(G)  # (T,m,M) (T,m) (T,P,M)
    W = G * sqrt_lam  # (T,P,M): pool feature j is W_j · x
    F = X @ W.mT  # (T,m,P)
    T = len(trials)

    shape = (len(config.k), len(config.ridge), T)
    out = {
        key: np.empty(shape) for key in ("test_risk", "test_risk_heldout", "train_risk")
    }
    for ik, (k, idx, phi) in enumerate(feature_subsets(config, n, trials, F, device)):
        theta = _ridge_solutions(phi[:, :n], y[:, :n], ridges)  # (T,R,k)
        pred = theta @ phi.mT  # (T,R,m)
        resid = pred - y[:, None, :]
        train = resid[..., :n].square().mean(-1)
        heldout = resid[..., n:].square().mean(-1)
        # Population risk: w_eff = Λ^{1/2} G_Sᵀ θ / √k over the M data modes. The
        # k rows of W are gathered: reading k x M instead of P x M per ridge batch
        # (a product with a zero-padded θ) is what bounds this step.
        W_S = torch.gather(W, 1, idx[:, :, None].expand(T, k, M))  # (T,k,M)
        w_eff = theta @ W_S / math.sqrt(k)  # (T,R,M)
        test = (w_eff - v).square().sum(-1) + config.noise_var
        for key, val in (
            ("test_risk", test),
            ("test_risk_heldout", heldout),
            ("train_risk", train),
        ):
            out[key][ik] = val.double().cpu().numpy().T
    return out


def feature_subsets(config, n: int, trials: Sequence[int], F: torch.Tensor, device):
    """For each ``k``: ``(k, idx, phi)``, the pool indices ``(T, k)`` of each trial's
    features (drawn without replacement from a generator seeded by (seed, n, trial,
    k)) and those features of the pool ``F (T, m, P)`` scaled by 1/√k, ``(T, m, k)``.
    Shared with :mod:`sims.rf_real.rf`."""
    T, m, P = F.shape
    for k in config.k:
        idx = torch.stack(
            [
                torch.randperm(
                    P,
                    generator=cell_generator(
                        config.seed, "subset", n, t, k, device=device
                    ),
                    device=device,
                )[:k]
                for t in trials
            ]
        )  # (T,k)
        yield k, idx, torch.gather(F, 2, idx[:, None, :].expand(T, m, k)) / math.sqrt(k)


def _kernel(config: RFRiskSweep, chunk: Chunk) -> xr.Dataset:
    (n,) = chunk.coords["n"]
    res = simulate(config, n, chunk.coords["trial"])
    return risk_dataset(config, chunk, res)


def risk_dataset(config, chunk: Chunk, res: dict) -> xr.Dataset:
    """One chunk's ``(n, k, ridge, trial)`` Dataset from arrays of shape
    ``(k, ridge, trial)`` (shared with :mod:`sims.rf_real.rf`)."""
    dims = ("k", "ridge", "trial")
    data = {key: (dims, val) for key, val in res.items()}
    return chunk_dataset(chunk, data, config_coords(config, "k", "ridge"))


ATTRS = {
    "test_risk": VarAttrs(
        "test risk (population MSE)",
        description="exact population MSE of the fitted weights, "
        "||w_eff - v||^2 + noise_var",
        symbol="E_{te}",
    ),
    "test_risk_heldout": VarAttrs(
        "held-out MSE",
        description="mean squared error on test_size fresh samples",
        symbol=r"\hat{E}_{te}",
    ),
    "train_risk": VarAttrs(
        "train risk (train MSE)",
        description="mean squared residual on the n training samples",
        symbol="E_{tr}",
    ),
    "kappa": VarAttrs(
        "kappa", description="KRR constant of the random RF kernel", symbol=r"\kappa"
    ),
    "gamma": VarAttrs(
        "effective ridge",
        description="effective ridge of the infinite-width kernel",
        symbol=r"\gamma",
    ),
}

#: The (n, k, ridge, trial) coordinates (shared with :mod:`sims.rf_real.rf`).
COORDS = {
    "n": VarAttrs("training samples", symbol="n"),
    "k": VarAttrs("random features", symbol="k"),
    "ridge": VarAttrs("ridge", symbol=r"\delta"),
    "trial": VarAttrs("trial"),
}

#: The theory siblings' label (shared with :mod:`sims.rf_real.rf`).
RF_THEORY = (Theory(fn="theory.rf_ridge.rf_ridge_risk"),)


def risk_theory(config, lam, v2, names: Sequence[str], **kwargs) -> xr.Dataset:
    """``<name>_theory`` of :func:`theory.rf_ridge.rf_ridge_risk` for each of
    ``names`` on the config's (n, k, ridge) grid, float64 (``kwargs`` go to it)."""
    n = np.asarray(config.n, dtype=float)[:, None, None]
    k = np.asarray(config.k, dtype=float)[None, :, None]
    ridge = np.asarray(config.ridge, dtype=float)[None, None, :]
    pred = rf_ridge_risk(lam, v2, n=n, k=k, ridge=ridge, **kwargs)
    dims = ("n", "k", "ridge")
    return xr.Dataset(
        {f"{name}_theory": (dims, getattr(pred, name)) for name in names},
        coords=config_coords(config, *dims),
    )


def theory_grid(config: RFRiskSweep) -> xr.Dataset:
    """Theory siblings on the config's (n, k, ridge) grid, float64."""
    lam, v2 = config.spectrum()
    names = ("test_risk", "train_risk", "kappa", "gamma")
    return risk_theory(config, lam, v2, names, noise_var=config.noise_var)


def _finish(config: RFRiskSweep, ds: xr.Dataset) -> xr.Dataset:
    return ds.merge(theory_grid(config))


def away_from_peak(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    """Cells with k outside [0.5 n, 1.2 n], where finite-size effects are small."""
    ratio = ds["k"] / ds["n"]
    return {"k not in [n/2,1.2n]": (ratio < 0.5) | (ratio > 1.2)}


def _memory(config: RFRiskSweep) -> float:
    """Peak bytes of one chunk (the largest n): the batched tensors of
    :func:`simulate` plus one k's solve, times 1.2 for temporaries (float32 runs
    also hold the float64 draws). Estimated 0.88 GiB for the default preset (the
    whole process peaked at 1.39 GiB resident, interpreter and torch included:
    ``/usr/bin/time -v``, ``--workers 1``, 2026-11-30) and 9.1 GiB for the paper
    preset."""
    T, M, P = min(config.trial_batch, config.trials), config.num_modes, config.pool
    n, k, R = max(config.n), max(config.k), len(config.ridge)
    m, r = n + config.test_size, min(n, k)
    data = T * (m * M + 2 * P * M + m * P)  # X, G and W, F
    solve = T * (m * k + 2 * r * r + k * M + R * (M + m))
    if config.dtype == "float64":
        return 1.2 * 8 * (data + solve)
    return 1.2 * 4 * (data + solve) + 8 * T * (m * M + P * M)


EXPERIMENT = Experiment(
    name=NAME,
    key="rf",
    config=RFRiskSweep,
    presets=PRESETS,
    axes=Axes("n"),
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords=COORDS,
    theory=RF_THEORY,
    title="Gaussian random-feature ridge regression, sim vs theory",
    references=REFERENCES,
    config_attrs=("alpha", "beta", "num_modes", "pool", "noise_var"),
    subsets=away_from_peak,
    memory=_memory,
    summary="Gaussian random-feature ridge regression, risk vs (n, k, ridge)",
)

EXPERIMENTS = (EXPERIMENT,)

#: ``sweep(config, *, out=None, resume=True, ...) -> (dataset, path)``: dims
#: ``n, k, ridge, trial``; variables ``test_risk, test_risk_heldout, train_risk``
#: and the siblings ``test_risk_theory, train_risk_theory, kappa_theory,
#: gamma_theory``. See :meth:`sims._experiment.Experiment.run`.
sweep = EXPERIMENT.run


main = module_main("sims.rf_risk", __doc__.splitlines()[0])


if __name__ == "__main__":
    # Run the importable module, not __main__, so worker processes unpickle the
    # kernel and config by name.
    from sims.rf_risk import main as _main

    sys.exit(_main())
