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
from sims._config import int_logspace
from sims._config import param
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.rf_real._data import NUM_POINTS
from sims.rf_real._data import digits
from sims.rf_risk import COORDS
from sims.rf_risk import PAPER_RIDGES
from sims.rf_risk import REFERENCES
from sims.rf_risk import RF_THEORY
from sims.rf_risk import RidgePoolSweep
from sims.rf_risk import _randn
from sims.rf_risk import _ridge_solutions
from sims.rf_risk import away_from_peak
from sims.rf_risk import feature_subsets
from sims.rf_risk import risk_dataset
from sims.rf_risk import risk_theory
from theory.kernels import kernel_eigendata
from theory.kernels import relu_nngp_ntk

__all__ = ["EXPERIMENT", "PRESETS", "RealRFSweep", "rf_spectrum", "simulate"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class RealRFSweep(RidgePoolSweep):
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
    test_size: int = param(1000, "held-out points per (trial, n)", ge=1, le=NUM_POINTS)
    weight_var: float = param(
        2.0, "feature weight variance σ_w² (w ~ N(0, σ_w²/d))", gt=0.0, le=100.0
    )
    trials: int = 20
    trial_batch: int = 5

    def validate(self) -> None:
        super().validate()
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
        ridge=PAPER_RIDGES,
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
    for ik, (_, _, phi) in enumerate(feature_subsets(config, n, trials, F, device)):
        theta = _ridge_solutions(phi[:, :n], y[:, :n], ridges)  # (T, R, k)
        resid = theta @ phi.mT - y[:, None, :]
        out["train_risk"][ik] = (
            resid[..., :n].square().mean(-1).double().cpu().numpy().T
        )
        out["test_risk"][ik] = resid[..., n:].square().mean(-1).double().cpu().numpy().T
    return out


def _kernel(config: RealRFSweep, chunk: Chunk) -> xr.Dataset:
    (n,) = chunk.coords["n"]
    res = simulate(config, n, chunk.coords["trial"])
    return risk_dataset(config, chunk, res)


def theory_grid(config: RealRFSweep) -> xr.Dataset:
    """Theory siblings on the config's (n, k, ridge) grid, float64."""
    lam, v2 = rf_spectrum(config.weight_var)
    names = ("test_risk", "train_risk")
    return risk_theory(config, lam, v2, names, pool_size=NUM_POINTS)


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
    return ds.merge(theory_grid(config))


EXPERIMENT = Experiment(
    name="rf_real",
    key="rf",
    config=RealRFSweep,
    presets=PRESETS,
    axes=Axes("n"),
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords=COORDS,
    theory=RF_THEORY,
    title="Random ReLU features on digits, sim vs theory (empirical NNGP)",
    references=REFERENCES,
    grid_attrs={
        "dataset": "scikit-learn digits, labels +1 for 5-9 and -1 for 0-4",
        "pool_size_correction": NUM_POINTS,
    },
    config_attrs=("pool", "weight_var"),
    subsets=away_from_peak,
    summary="random ReLU features on digits vs theory with empirical NNGP eigen-data",
)
