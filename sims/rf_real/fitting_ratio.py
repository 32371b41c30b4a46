r"""Kernel regression with the NTK on digits: test MSE vs the fitting ratio.

The fitting-ratio experiment of Simon, Karkada, Ghosh & Belkin (2024),
arXiv:2311.14646 (its Fig. 2), on scikit-learn's digits with one-hot targets and
the fully connected ReLU NTK (:func:`theory.kernels.relu_nngp_ntk`). Per random
ordering of the points (``trial``): the first ``n_train`` are the training set,
the next ``test_size`` the test set; the base MSE is the ridgeless noiseless test
MSE; at each relative noise :math:`\sigma^2_{rel}` Gaussian noise of total variance
:math:`\sigma^2_{rel}` × base MSE (spread evenly over the 10 outputs) is added to
the training and the test labels; kernel ridge regression is fitted for every
ridge :math:`\delta` of the grid (one eigendecomposition), and the train and test
MSE (summed over outputs) give the fitting ratio :math:`R = E_{tr}/E_{te}`.

The exponents :math:`(\alpha, \beta)` of the same kernel and targets come from the
proxies of :mod:`sims.rf_real.spectra` on the same orderings; the theory is the
large-``n`` power-law closed form (:func:`theory.rf_powerlaw.optimal_fitting_ratio`
for :math:`R^*`, :func:`theory.rf_powerlaw.powerlaw_test_risk` for the curve, scaled
by one constant per noise level so that its minimum matches the measured minimum,
as the paper does). Unlike the paper, labels are not renormalized after the noise.

Run ``python -m sims.rf_real --sweep --experiment fitting_ratio`` (see ``--help``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import xarray as xr

from sims._backend import cell_generator
from sims._config import SweepConfig
from sims._config import int_logspace
from sims._config import param
from sims._dataset import chunk_dataset
from sims._dataset import config_coords
from sims._experiment import Experiment
from sims._experiment import Theory
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.rf_real._data import NUM_POINTS
from sims.rf_real._data import check_proxy_sizes
from sims.rf_real._data import digits
from sims.rf_real._data import draw
from sims.rf_real._data import kernel_matrix
from sims.rf_real.spectra import fit_exponents
from sims.rf_real.spectra import proxy_curves
from sims.rf_risk import REFERENCES
from theory.rf_powerlaw import optimal_fitting_ratio
from theory.rf_powerlaw import powerlaw_test_risk

__all__ = ["EXPERIMENT", "PRESETS", "FittingRatioSweep", "fit_krr"]

_RIDGES = (0.0, *(float(r) for r in np.logspace(-3, 5, 33)))
_RCOND = 1e-12  # pseudo-inverse cutoff at ridge 0, as theory.kernels' proxies


@dataclasses.dataclass(frozen=True, kw_only=True)
class FittingRatioSweep(SweepConfig):
    """NTK ridge regression on digits over (noise_rel, ridge).

    Attributes: documented in the ``param`` help strings.
    """

    # le: the range on which theory.rf_powerlaw.optimal_fitting_ratio's solve is
    # verified (it refuses more), so the config refuses it before any work.
    noise_rel: tuple[float, ...] = param(
        (0.0, 1.0, 5.0, 50.0),
        "noise relative to the ridgeless MSE, σ²_rel",
        ge=0.0,
        le=1e100,
    )
    ridge: tuple[float, ...] = param(
        _RIDGES, "ridges δ on the unnormalized Gram", ge=0.0
    )
    n_train: int = param(1300, "training points", ge=2, le=NUM_POINTS)
    test_size: int = param(497, "test points", ge=1, le=NUM_POINTS)
    sizes: tuple[int, ...] = param(
        int_logspace(20, 1300, 14), "training sizes of the exponent proxies", ge=1
    )
    alpha_window: tuple[int, ...] = param(
        (200, 1300), "fit window (n_lo, n_hi) of the alpha proxy", ge=1, axis=False
    )
    beta_window: tuple[int, ...] = param(
        (200, 1300), "fit window (n_lo, n_hi) of the beta proxy", ge=1, axis=False
    )
    depth: int = param(1, "hidden ReLU layers of the NTK", ge=1, le=100)
    num_ratios: int = param(200, "points of the theory curve in R", ge=2, le=10**5)
    trials: int = 5
    trial_batch: int = 1

    def validate(self) -> None:
        if self.n_train + self.test_size > NUM_POINTS:
            raise ValueError(
                f"n_train={self.n_train} plus test_size={self.test_size} exceeds "
                f"the {NUM_POINTS} digits"
            )
        check_proxy_sizes(self, self.n_train, f"n_train={self.n_train}")


PRESETS: dict[str, FittingRatioSweep] = {
    "smoke": FittingRatioSweep(
        ridge=(0.0, 1e-2, 1.0, 10.0, 100.0, 1e3, 1e4),
        n_train=300,
        test_size=100,
        sizes=(25, 50, 100, 200, 300),
        alpha_window=(50, 300),
        beta_window=(50, 300),
        num_ratios=50,
        trials=2,
    ),
    "default": FittingRatioSweep(),
    # The paper's 50 ridges and 5 orderings, with every digit used.
    "paper": FittingRatioSweep(
        ridge=(0.0, *(float(r) for r in np.logspace(-3, 5, 49))),
        n_train=1400,
        test_size=397,
        sizes=int_logspace(20, 1400, 20),
        alpha_window=(200, 1400),
        beta_window=(200, 1400),
    ),
}


def fit_krr(K_train, K_test, Y_train, Y_test, ridges):
    """Train and test MSE (summed over outputs) of KRR for every ridge.

    One eigendecomposition of ``K_train``; a ridge of 0 is the pseudo-inverse
    (eigenvalues below 1e-12 of the largest dropped). Returns two arrays of shape
    ``(len(ridges),)``.
    """
    mu, U = np.linalg.eigh(K_train)
    B = U.T @ Y_train  # (n, c)
    A = K_test @ U  # (T, n)
    r = np.asarray(ridges, dtype=np.float64)[:, None]
    denom = mu[None, :] + r
    keep = (mu[None, :] > _RCOND * mu[-1]) | (r > 0)
    inv = np.where(keep, 1.0 / np.where(keep, denom, 1.0), 0.0)  # (R, n)
    # train residual: U diag(1 - mu inv) B
    shrink = 1.0 - mu[None, :] * inv
    train = np.einsum("rn,nc->r", shrink**2, B**2) / K_train.shape[0]
    pred = np.einsum("tn,rn,nc->rtc", A, inv, B)
    test = np.mean(np.sum((pred - Y_test[None]) ** 2, axis=-1), axis=-1)
    return train, test


def _kernel(config: FittingRatioSweep, chunk: Chunk) -> xr.Dataset:
    trials = chunk.coords["trial"]
    n, T = config.n_train, config.test_size
    shape = (len(config.noise_rel), len(config.ridge), len(trials))
    train, test = np.empty(shape), np.empty(shape)
    base = np.empty(len(trials))
    trace = np.empty((len(config.sizes), len(trials)))
    proxy = np.empty_like(trace)
    for j, t in enumerate(trials):
        idx = draw(config.seed, "order", t)[: n + T]
        K = kernel_matrix("ntk", idx, depth=config.depth)
        Y = digits().onehot[idx]
        trace[:, j], proxy[:, j] = proxy_curves(K, Y, config.sizes, T)
        K_tr, K_te = K[:n, :n], K[n:, :n]
        _, (base[j],) = fit_krr(K_tr, K_te, Y[:n], Y[n:], [0.0])
        for i, noise in enumerate(config.noise_rel):
            gen = cell_generator(
                config.seed, "noise", t, noise, device=torch.device("cpu")
            )
            eps = torch.randn(n + T, Y.shape[1], generator=gen, dtype=torch.float64)
            Yn = Y + np.sqrt(noise * base[j] / Y.shape[1]) * eps.numpy()
            train[i, :, j], test[i, :, j] = fit_krr(
                K_tr, K_te, Yn[:n], Yn[n:], config.ridge
            )
    dims = ("noise_rel", "ridge", "trial")
    return chunk_dataset(
        chunk,
        {
            "train_mse": (dims, train),
            "test_mse": (dims, test),
            "base_mse": (("trial",), base),
            "trace_scale": (("size", "trial"), trace),
            "ridgeless_mse": (("size", "trial"), proxy),
        },
        {**config_coords(config, "noise_rel", "ridge"), "size": list(config.sizes)},
    )


ATTRS = {
    "train_mse": VarAttrs(
        "train MSE", description="summed over outputs", symbol="E_{tr}"
    ),
    "test_mse": VarAttrs(
        "test MSE",
        description="with test-label noise, summed over outputs",
        symbol="E_{te}",
    ),
    "fitting_ratio": VarAttrs(
        "fitting ratio", description="train MSE / test MSE", symbol="R_{tr/te}"
    ),
    "base_mse": VarAttrs("ridgeless noiseless test MSE", description="noise unit"),
    "trace_scale": VarAttrs("1/Tr(Kₙ⁻¹)", symbol=r"\tilde\kappa"),
    "ridgeless_mse": VarAttrs("ridgeless test MSE (proxy)", symbol="E_{te}"),
    "optimal_ratio": VarAttrs(
        "optimal fitting ratio",
        description="R at the ridge of least test MSE (per ordering; theory: R*)",
        symbol="R^*",
    ),
    "test_mse_curve": VarAttrs(
        "test MSE vs R, theory",
        description="power-law closed form, scaled to the measured minimum",
        symbol="E_{te}(R)",
    ),
    "alpha": VarAttrs("alpha", symbol=r"\alpha"),
    "beta": VarAttrs("beta", symbol=r"\beta"),
    "alpha_spread": VarAttrs("alpha spread", description="std over orderings"),
    "beta_spread": VarAttrs("beta spread", description="std over orderings"),
    "alpha_draw": VarAttrs("alpha of one ordering", symbol=r"\alpha"),
    "beta_draw": VarAttrs("beta of one ordering", symbol=r"\beta"),
    "trace_scale_fit": VarAttrs("1/Tr(Kₙ⁻¹), power-law fit"),
    "ridgeless_mse_fit": VarAttrs("ridgeless test MSE, power-law fit"),
    "theory_in_domain": VarAttrs(
        "exponents in the closed form's domain",
        description="1 if alpha > 1 and 1 < beta < 2 alpha + 1; else 0 and no theory",
    ),
}


def _finish(config: FittingRatioSweep, ds: xr.Dataset) -> xr.Dataset:
    ds = fit_exponents(ds, config.alpha_window, config.beta_window, mse="ridgeless_mse")
    ds["fitting_ratio"] = ds["train_mse"] / ds["test_mse"]
    best = ds["test_mse"].argmin("ridge")
    ds["optimal_ratio"] = ds["fitting_ratio"].isel(ridge=best)
    a, b = float(ds["alpha"]), float(ds["beta"])
    ok = a > 1 and 1 < b < 2 * a + 1
    ds["theory_in_domain"] = int(ok)
    if ok:  # else no theory: the closed form needs alpha > 1, 1 < beta < 2 alpha + 1
        noise = np.asarray(config.noise_rel)
        ratios = np.linspace(0.0, 1.0, config.num_ratios, endpoint=False)
        r_star = optimal_fitting_ratio(a, b, noise)
        curve = powerlaw_test_risk(
            ratios[None, :], alpha=a, beta=b, n=config.n_train, noise_rel=noise[:, None]
        )
        measured_min = ds["test_mse"].mean("trial").min("ridge").values
        curve = curve * (measured_min / curve.min(axis=1))[:, None]
        ds["optimal_ratio_theory"] = (("noise_rel",), r_star)
        ds = ds.assign_coords(ratio=ratios)
        ds["test_mse_curve"] = (("noise_rel", "ratio"), curve)
    return ds


EXPERIMENT = Experiment(
    name="rf_real",
    key="fitting_ratio",
    config=FittingRatioSweep,
    presets=PRESETS,
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords={
        "ratio": VarAttrs("fitting ratio R"),
        "noise_rel": VarAttrs("relative noise"),
        "ridge": VarAttrs("ridge", symbol=r"\delta"),
        "size": VarAttrs("training samples"),
        "trial": VarAttrs("random ordering of the points"),
    },
    theory=(Theory(fn="theory.rf_powerlaw.optimal_fitting_ratio"),),
    title="NTK ridge regression on digits: test MSE vs fitting ratio",
    references=REFERENCES,
    grid_attrs={"dataset": "scikit-learn digits, one-hot targets"},
    config_attrs=("n_train", "test_size", "alpha_window", "beta_window"),
    summary="NTK ridge regression on digits: test MSE vs fitting ratio, R* vs theory",
)
