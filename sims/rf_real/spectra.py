r"""Eigen-data and power-law exponents of infinite-width ReLU kernels on digits.

The real-data eigenstructure of Simon, Karkada, Ghosh & Belkin (2024),
arXiv:2311.14646 (its eigenspectra figure and exponent estimates), on scikit-learn's
digits: for each kernel (the fully connected ReLU NNGP and NTK, or a Myrtle
convolutional NTK) and each random ordering of the points (``trial``):

* eigen-data on the first ``n`` points for each ``n`` in ``eig_n``: eigenvalues of
  :math:`K_n/n` and :math:`v_i^2 = \lVert u_i^\top Y\rVert^2/n` (one-hot targets);
* the exponent proxies on nested training sets of the sizes ``sizes`` (drawn from
  the first ``num_points - test_size`` points, tested on the last ``test_size``):
  :math:`1/\mathrm{Tr}(K_n^{-1})` and the ridgeless test MSE;

and, in the finished grid, :math:`\alpha` and :math:`\beta` fitted over the stated
windows with their spread over the orderings (:func:`theory.kernels.alpha_proxy`,
:func:`theory.kernels.beta_proxy`).

Run ``python -m sims.rf_real --sweep --experiment spectra`` (see ``--help``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from sims._config import SweepConfig
from sims._config import int_logspace
from sims._config import param
from sims._dataset import chunk_dataset
from sims._dataset import config_coords
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.rf_real._data import KERNELS
from sims.rf_real._data import NUM_POINTS
from sims.rf_real._data import check_proxy_sizes
from sims.rf_real._data import digits
from sims.rf_real._data import draw
from sims.rf_real._data import kernel_matrix
from sims.rf_risk import REFERENCES
from theory.kernels import alpha_proxy
from theory.kernels import beta_proxy
from theory.kernels import kernel_eigendata
from theory.kernels import ridgeless_test_mse
from theory.kernels import trace_inverse_scale

__all__ = ["EXPERIMENT", "PRESETS", "SpectraSweep", "fit_exponents", "proxy_curves"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpectraSweep(SweepConfig):
    """Eigen-data and exponent proxies of digits kernels.

    Attributes: documented in the ``param`` help strings.
    """

    kernel: tuple[str, ...] = param(("nngp", "ntk"), "kernels", choices=KERNELS)
    num_points: int = param(NUM_POINTS, "digits used per ordering", ge=8, le=NUM_POINTS)
    test_size: int = param(300, "test points of the MSE proxy", ge=1, le=NUM_POINTS)
    sizes: tuple[int, ...] = param(
        int_logspace(20, 1497, 16), "training sizes of the proxies", ge=1
    )
    eig_n: tuple[int, ...] = param(
        (50, 200, 500, 1000, 1797), "sample sizes of the eigen-data", ge=1
    )
    alpha_window: tuple[int, ...] = param(
        (200, 1497), "fit window (n_lo, n_hi) of the alpha proxy", ge=1, axis=False
    )
    beta_window: tuple[int, ...] = param(
        (200, 1497), "fit window (n_lo, n_hi) of the beta proxy", ge=1, axis=False
    )
    depth: int = param(1, "hidden ReLU layers (nngp, ntk)", ge=1, le=100)
    weight_var: float = param(2.0, "weight variance σ_w²", gt=0.0, le=100.0)
    bias_var: float = param(0.0, "bias variance σ_b²", ge=0.0, le=100.0)
    trials: int = 8
    trial_batch: int = 1

    def validate(self) -> None:
        pool = self.num_points - self.test_size
        if pool < 2:
            raise ValueError(
                f"test_size={self.test_size} leaves fewer than 2 training points of "
                f"num_points={self.num_points}"
            )
        if max(self.eig_n) > self.num_points:
            raise ValueError(
                f"eig_n={max(self.eig_n)} exceeds num_points={self.num_points}"
            )
        check_proxy_sizes(self, pool, f"num_points - test_size = {pool}")


PRESETS: dict[str, SpectraSweep] = {
    "smoke": SpectraSweep(
        num_points=300,
        test_size=80,
        sizes=(20, 40, 80, 160, 220),
        eig_n=(50, 300),
        alpha_window=(40, 220),
        beta_window=(40, 220),
        trials=2,
    ),
    "default": SpectraSweep(),
    # The paper's eigenspectra figure and proxy fits, with a Myrtle NTK alongside
    # (needs neural-tangents; ~1 ms per pair of images on a CPU: use a GPU).
    "paper": SpectraSweep(
        kernel=("nngp", "ntk", "myrtle"),
        sizes=int_logspace(10, 1497, 30),
        eig_n=(50, 100, 200, 500, 1000, 1797),
        trials=10,
    ),
}


def proxy_curves(
    K: np.ndarray, Y: np.ndarray, sizes, test_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The two proxy curves on one ordering of the points.

    ``K`` is the kernel among the points in order; the last ``test_size`` are the
    test set, training sets are the leading ``n`` of the rest.

    Returns:
      ``(trace_scale, test_mse)``, each of shape ``(len(sizes),)``.
    """
    m = K.shape[0] - test_size
    trace = trace_inverse_scale(K[:m, :m], sizes)
    mse = ridgeless_test_mse(K[:m, :m], K[m:, :m], Y[:m], Y[m:], sizes)
    return trace, mse


def _kernel(config: SpectraSweep, chunk: Chunk) -> xr.Dataset:
    (name,) = chunk.coords["kernel"]
    trials = chunk.coords["trial"]
    modes = max(config.eig_n)
    shape_p = (len(config.sizes), len(trials))
    trace, mse = np.empty(shape_p), np.empty(shape_p)
    shape_e = (len(config.eig_n), modes, len(trials))
    eigval, power = np.full(shape_e, np.nan), np.full(shape_e, np.nan)
    for j, t in enumerate(trials):
        idx = draw(config.seed, "order", t)[: config.num_points]
        K = kernel_matrix(
            name,
            idx,
            depth=config.depth,
            weight_var=config.weight_var,
            bias_var=config.bias_var,
        )
        Y = digits().onehot[idx]
        trace[:, j], mse[:, j] = proxy_curves(K, Y, config.sizes, config.test_size)
        for i, n in enumerate(config.eig_n):
            e = kernel_eigendata(K[:n, :n], Y[:n])
            eigval[i, :n, j], power[i, :n, j] = e.eigvals, e.target_power
    return chunk_dataset(
        chunk,
        {
            "trace_scale": (("size", "trial"), trace),
            "test_mse": (("size", "trial"), mse),
            "eigval": (("eig_n", "mode", "trial"), eigval),
            "target_power": (("eig_n", "mode", "trial"), power),
        },
        {
            "size": list(config.sizes),
            **config_coords(config, "eig_n"),
            "mode": list(range(1, modes + 1)),
        },
    )


def fit_exponents(
    ds: xr.Dataset, alpha_window, beta_window, *, mse: str = "test_mse"
) -> xr.Dataset:
    """alpha and beta per leading coordinate of ``trace_scale`` and ``ds[mse]``.

    Adds ``alpha, alpha_spread, alpha_draw, beta, beta_spread, beta_draw`` and the
    fitted curves ``trace_scale_fit, <mse>_fit`` (dims of the curves less
    ``trial``).
    """
    sizes = ds["size"].values
    out = {}
    for var, fn, window, sym in [
        ("trace_scale", alpha_proxy, alpha_window, "alpha"),
        (mse, beta_proxy, beta_window, "beta"),
    ]:
        curves = ds[var].transpose(..., "size", "trial")
        lead = curves.dims[:-2]
        flat = curves.values.reshape(-1, len(sizes), curves.sizes["trial"])
        fits = [fn(sizes, c.T, window=tuple(window)) for c in flat]
        lead_shape = tuple(curves.sizes[d] for d in lead)
        exp = np.array([f.exponent for f in fits]).reshape(lead_shape)
        spread = np.array([f.spread for f in fits]).reshape(lead_shape)
        draws = np.stack([f.draws for f in fits]).reshape(*lead_shape, -1)
        fitted = np.stack([np.exp(f.log_prefactor) * sizes**f.slope for f in fits])
        out[sym] = (lead, exp)
        out[f"{sym}_spread"] = (lead, spread)
        out[f"{sym}_draw"] = ((*lead, "trial"), draws)
        out[f"{var}_fit"] = ((*lead, "size"), fitted.reshape(*lead_shape, -1))
    return ds.assign(out)


ATTRS = {
    "trace_scale": VarAttrs(
        "1/Tr(Kₙ⁻¹)",
        description="inverse trace of the pseudo-inverse of the n x n kernel matrix",
        symbol=r"\tilde\kappa",
    ),
    "trace_scale_fit": VarAttrs(
        "1/Tr(Kₙ⁻¹), power-law fit", description="c n^-alpha over alpha_window"
    ),
    "test_mse": VarAttrs(
        "ridgeless test MSE",
        description="test MSE of ridgeless kernel regression, summed over outputs",
        symbol="E_{te}",
    ),
    "test_mse_fit": VarAttrs(
        "ridgeless test MSE, power-law fit", description="c n^(1-beta), beta_window"
    ),
    "eigval": VarAttrs(
        "eigenvalue of Kₙ/n",
        description="descending; NaN beyond mode n (no such mode)",
        symbol=r"\lambda_i",
    ),
    "target_power": VarAttrs(
        "target power",
        description="|u_i^T Y|^2/n summed over outputs; NaN beyond mode n",
        symbol="v_i^2",
    ),
    "alpha": VarAttrs(
        "alpha", description="-slope of log 1/Tr(Kₙ⁻¹) vs log n", symbol=r"\alpha"
    ),
    "alpha_spread": VarAttrs(
        "alpha spread", description="std over orderings (ddof 1) of alpha_draw"
    ),
    "alpha_draw": VarAttrs("alpha of one ordering", symbol=r"\alpha"),
    "beta": VarAttrs(
        "beta", description="1 - slope of log test MSE vs log n", symbol=r"\beta"
    ),
    "beta_spread": VarAttrs(
        "beta spread", description="std over orderings (ddof 1) of beta_draw"
    ),
    "beta_draw": VarAttrs("beta of one ordering", symbol=r"\beta"),
}


def _finish(config: SpectraSweep, ds: xr.Dataset) -> xr.Dataset:
    return fit_exponents(ds, config.alpha_window, config.beta_window)


EXPERIMENT = Experiment(
    name="rf_real",
    key="spectra",
    config=SpectraSweep,
    presets=PRESETS,
    axes=Axes("kernel"),
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords={
        "kernel": VarAttrs(
            "kernel",
            description="nngp, ntk (deep ReLU net) or myrtle (Myrtle conv NTK); "
            "theory.kernels",
        ),
        "size": VarAttrs("training samples"),
        "eig_n": VarAttrs("samples of the eigen-data"),
        "mode": VarAttrs("mode index i"),
        "trial": VarAttrs("random ordering of the points"),
    },
    title="Eigen-data and exponent proxies of ReLU kernels on digits",
    references=REFERENCES,
    grid_attrs={
        "dataset": "scikit-learn digits (8x8 images; num_points of the 1797 per "
        "ordering), one-hot targets"
    },
    config_attrs=(
        "num_points",
        "alpha_window",
        "beta_window",
        "test_size",
        "depth",
        "weight_var",
        "bias_var",
    ),
    not_applicable=("eigval", "target_power"),  # NaN beyond mode n: no such mode
    summary="eigen-data and (alpha, beta) proxies of ReLU kernels on digits",
)
