r"""Random ReLU features on digits vs the RF eigenframework on empirical eigen-data.

The right panel of Fig. 1 of Simon, Karkada, Ghosh & Belkin (2024),
arXiv:2311.14646 ("Random ReLU features @ CIFAR10"), on scikit-learn's digits with
binarized labels (``+1`` for digits 5-9). Per (n, trial): ``n + test_size`` points
drawn without replacement from the 1797; a pool of ``pool`` features
:math:`\phi_j(x) = \mathrm{ReLU}(w_j\cdot x)` with :math:`w_j \sim N(0, (\sigma_w^2/d)
I_d)`; each ``k`` subsamples ``k`` of them without replacement and scales them by
:math:`1/\sqrt k`; ridge regression with ridge :math:`\delta` on the unnormalized
Gram, all ridges from one eigendecomposition. Measured: the held-out MSE on the
``test_size`` points and the train MSE.

Theory (:func:`theory.rf_ridge.rf_ridge_risk`): the eigenvalues of :math:`K/M` and
the target power :math:`v_i^2 = (u_i^\top y)^2/M` of the mean RF kernel
:math:`E[\phi(x)\phi(x')]` (the depth-1 ReLU NNGP without its readout,
:func:`theory.kernels.relu_nngp_ntk` ``.nngp / weight_var``) on all ``M = 1797``
points, with the finite-pool correction for a test set drawn from the same ``M``
points outside the training set, and no label noise.

Run ``python -m sims.rf_real --sweep --experiment rf`` (see ``--help``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence

import numpy as np
import torch
import xarray as xr

from sims._backend import cell_generator
from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._config import SweepConfig
from sims._config import int_logspace
from sims._config import param
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.rf_real._data import NUM_POINTS
from sims.rf_real._data import digits
from sims.rf_risk import _ridge_solutions
from sims.rf_risk import away_from_peak
from sims.rf_risk import chunk_dataset
from theory.kernels import kernel_eigendata
from theory.kernels import relu_nngp_ntk
from theory.rf_ridge import rf_ridge_risk

__all__ = ["EXPERIMENT", "PRESETS", "RealRFSweep", "rf_spectrum", "simulate"]

_PAPER_RIDGES = tuple(float(r) for r in np.logspace(-3, 2, 31))


@dataclasses.dataclass(frozen=True, kw_only=True)
class RealRFSweep(SweepConfig):
    """Random ReLU features on digits over (n, k, ridge).

    Attributes: documented in the ``param`` help strings.
    """

    n: tuple[int, ...] = param((256,), "training-set sizes", ge=1, le=NUM_POINTS)
    k: tuple[int, ...] = param(
        tuple(sorted({*int_logspace(10, 2000, 20), 256})),
        "numbers of features, each <= pool",
        ge=1,
        le=10**6,
    )
    ridge: tuple[float, ...] = param(
        tuple(_PAPER_RIDGES[i] for i in (5, 8, 12, 20, 26)),
        "ridges δ on the unnormalized Gram",
        ge=0.0,
        le=1e150,
    )
    pool: int = param(2000, "features drawn per (trial, n)", ge=1, le=10**6)
    test_size: int = param(1000, "held-out points per (trial, n)", ge=1, le=NUM_POINTS)
    weight_var: float = param(
        2.0, "feature weight variance σ_w² (w ~ N(0, σ_w²/d))", gt=0.0, le=100.0
    )
    trials: int = 20
    trial_batch: int = 5

    def validate(self) -> None:
        if max(self.k) > self.pool:
            raise ValueError(f"k={max(self.k)} exceeds the feature pool={self.pool}")
        if max(self.n) + self.test_size > NUM_POINTS:
            raise ValueError(
                f"n={max(self.n)} plus test_size={self.test_size} exceeds the "
                f"{NUM_POINTS} digits"
            )


PRESETS: dict[str, RealRFSweep] = {
    "smoke": RealRFSweep(
        n=(48,),
        k=(8, 16, 96, 192),
        ridge=(1e-2, 1.0),
        pool=192,
        test_size=400,
        trials=4,
        trial_batch=2,
    ),
    "default": RealRFSweep(),
    # The paper's Fig. 1 grids (31 ridges, 45 trials) with the k range of digits.
    "paper": RealRFSweep(
        k=int_logspace(10, 10_000, 31),
        ridge=_PAPER_RIDGES,
        pool=10_000,
        trials=45,
        trial_batch=3,
    ),
}


@functools.cache
def rf_spectrum(weight_var: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of K/M and target power of the mean ReLU-feature kernel on digits.

    Eigenvalues at rounding level (<= 1e-13 of the largest, or negative) are set to
    that floor: the theory needs positive eigenvalues, and such modes are
    unlearnable either way (their target power is kept). Cached per process
    (read-only arrays).
    """
    data = digits()
    K = relu_nngp_ntk(data.x, depth=1, weight_var=weight_var).nngp / weight_var
    e = kernel_eigendata(K, data.binary)
    lam = np.maximum(e.eigvals, 1e-13 * e.eigvals[0])
    power = e.target_power
    lam.setflags(write=False)
    power.setflags(write=False)
    return lam, power


def _randn(gen, *shape, dtype):
    return torch.randn(
        *shape, generator=gen, dtype=torch.float64, device=gen.device
    ).to(dtype)


def simulate(
    config: RealRFSweep, n: int, trials: Sequence[int]
) -> dict[str, np.ndarray]:
    """One ``n`` and a batch of trials, all ``k`` and ridges: the batched kernel.

    Data order and the pool come from a generator seeded by (seed, n, trial), each
    feature subset from (seed, n, trial, k).

    Returns:
      ``test_risk`` and ``train_risk`` of shape ``(len(k), len(ridge), len(trials))``.
    """
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    data = digits()
    d, m, P = data.x.shape[1], n + config.test_size, config.pool
    ridges = torch.as_tensor(config.ridge, dtype=dtype, device=device)
    X, y, W = [], [], []
    for t in trials:
        gen = cell_generator(config.seed, "data", n, t, device=device)
        idx = torch.randperm(NUM_POINTS, generator=gen, device=device)[:m].cpu().numpy()
        X.append(torch.as_tensor(data.x[idx], dtype=dtype, device=device))
        y.append(torch.as_tensor(data.binary[idx], dtype=dtype, device=device))
        W.append(_randn(gen, P, d, dtype=dtype) * math.sqrt(config.weight_var / d))
    X, y, W = torch.stack(X), torch.stack(y), torch.stack(W)
    F = torch.relu(X @ W.mT)  # (T, m, P)
    T = len(trials)
    shape = (len(config.k), len(config.ridge), T)
    out = {key: np.empty(shape) for key in ("test_risk", "train_risk")}
    for ik, k in enumerate(config.k):
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
        )
        phi = torch.gather(F, 2, idx[:, None, :].expand(T, m, k)) / math.sqrt(k)
        theta = _ridge_solutions(phi[:, :n], y[:, :n], ridges)  # (T, R, k)
        resid = theta @ phi.mT - y[:, None, :]
        out["train_risk"][ik] = (
            resid[..., :n].square().mean(-1).double().cpu().numpy().T
        )
        out["test_risk"][ik] = resid[..., n:].square().mean(-1).double().cpu().numpy().T
    return out


def _kernel(config: RealRFSweep, chunk: Chunk) -> xr.Dataset:
    (n,) = chunk.coords["n"]
    trials = chunk.coords["trial"]
    return chunk_dataset(config, n, trials, simulate(config, n, trials))


def theory_grid(config: RealRFSweep) -> xr.Dataset:
    """Theory siblings on the config's (n, k, ridge) grid, float64."""
    lam, v2 = rf_spectrum(config.weight_var)
    n = np.asarray(config.n, dtype=float)[:, None, None]
    k = np.asarray(config.k, dtype=float)[None, :, None]
    ridge = np.asarray(config.ridge, dtype=float)[None, None, :]
    pred = rf_ridge_risk(lam, v2, n=n, k=k, ridge=ridge, pool_size=NUM_POINTS)
    dims = ("n", "k", "ridge")
    return xr.Dataset(
        {
            "test_risk_theory": (dims, pred.test_risk),
            "train_risk_theory": (dims, pred.train_risk),
        },
        coords={"n": list(config.n), "k": list(config.k), "ridge": list(config.ridge)},
    )


ATTRS = {
    "test_risk": VarAttrs(
        "test MSE",
        description="held-out MSE on test_size digits outside the training set",
        symbol="E_{te}",
    ),
    "train_risk": VarAttrs(
        "train MSE",
        description="mean squared residual on the n training digits",
        symbol="E_{tr}",
    ),
}


def _finish(config: RealRFSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = ds.reindex(
        n=list(config.n),
        k=list(config.k),
        ridge=list(config.ridge),
        trial=list(range(config.trials)),
    )
    ds = ds.merge(theory_grid(config))
    for name in ("test_risk_theory", "train_risk_theory"):
        base = ATTRS[name.removesuffix("_theory")]
        ds[name].attrs = {
            **base.as_dict(theory=True),
            "theory_fn": "theory.rf_ridge.rf_ridge_risk",
        }
    ds["n"].attrs = {"long_name": "training samples", "units": "1", "math_symbol": "n"}
    ds["k"].attrs = {"long_name": "random features", "units": "1", "math_symbol": "k"}
    ds["ridge"].attrs = {"long_name": "ridge", "units": "1", "math_symbol": r"\delta"}
    ds["trial"].attrs = {"long_name": "trial", "units": "1"}
    ds.attrs.update(
        {
            "title": "Random ReLU features on digits, sim vs theory (empirical NNGP)",
            "references": "Simon, Karkada, Ghosh, Belkin (2024), arXiv:2311.14646",
            "dataset": "scikit-learn digits, labels +1 for 5-9 and -1 for 0-4",
            "pool": config.pool,
            "weight_var": config.weight_var,
            "pool_size_correction": NUM_POINTS,
        }
    )
    return ds


def _axes(config: RealRFSweep) -> dict[str, tuple]:
    return {"n": config.n, "trial": tuple(range(config.trials))}


EXPERIMENT = Experiment(
    name="rf_real",
    key="rf",
    config=RealRFSweep,
    presets=PRESETS,
    axes=_axes,
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    subsets=away_from_peak,
    summary="random ReLU features on digits vs theory with empirical NNGP eigen-data",
)
