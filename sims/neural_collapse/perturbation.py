r"""Experiment ``perturbation``: Theorems 4.1-4.2 of Tirer et al. by finite differences.

Tirer, Huang & Niles-Weed (ICML 2023, arXiv:2210.16658), Theorems 4.1-4.2: minimize
:math:`f(\cdot; H^* \pm \epsilon e_j)` exactly (alternating closed-form block updates)
for every coordinate ``j`` and take central differences: the measured response
operator ``F``. Its block singular values against Theorem 4.2 and against the exact
Schur-complement ``F``. Dims ``beta, lam_h, lam_w, trial``. Run ``python -m
sims.neural_collapse --sweep --experiment perturbation``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import xarray as xr

from sims._backend import blas_threads
from sims._backend import cell_generator
from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._config import SweepConfig
from sims._config import param
from sims._dataset import chunk_dataset
from sims._dataset import config_coords
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import Theory
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.neural_collapse._common import COORDS
from sims.neural_collapse._common import NAME
from sims.neural_collapse._common import REFS_A
from sims.neural_collapse._common import minimize_f
from theory.neural_collapse import block_singular_values
from theory.neural_collapse import near_collapse_spectrum
from theory.neural_collapse import perturbation_operator
from theory.neural_collapse import ufm_minimizer

__all__ = [
    "PERTURBATION",
    "PRESETS",
    "PerturbationSweep",
    "perturbation_theory",
    "simulate_perturbation",
]

#: Largest response operator, d K n coordinates (it and its exact Schur-complement
#: version are dense (dKn)^2 matrices, decomposed per cell).
MAX_COORDINATES = 2000


@dataclasses.dataclass(frozen=True, kw_only=True)
class PerturbationSweep(SweepConfig):
    """Response of the minimizer of f(.; H0) to H0 = H* + eps e_j, all j.

    Attributes: documented in the ``param`` help strings (``--help`` lists them).
    Every λ_H λ_W < 1 (else H* = 0), width >= classes (Theorem 4.2 takes d > K),
    and width x classes x n <= 2000 coordinates.
    """

    beta: tuple[float, ...] = param(
        (10.0, 100.0, 1000.0), "proximity weights β", ge=1e-6, le=1e8
    )
    lam_h: tuple[float, ...] = param(
        (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3), "feature weight decay λ_H", ge=1e-6, le=1e3
    )
    lam_w: tuple[float, ...] = param(
        (0.5,), "classifier weight decay λ_W", ge=1e-6, le=1e3
    )
    classes: int = param(4, "classes K", ge=2, le=100)
    n: int = param(10, "samples per class", ge=1, le=1000)
    width: int = param(10, "feature dimension d (>= K)", ge=1, le=1000)
    eps: float = param(1e-4, "central-difference step", ge=1e-10, le=1.0)
    max_iter: int = param(2000, "cap on the alternating block updates", ge=1, le=10**6)
    tol: float = param(1e-15, "stop when max |ΔH| <= tol max |H|", gt=0.0, le=1e-2)
    trials: int = 1
    trial_batch: int = 1

    def validate(self) -> None:
        if self.width < self.classes:
            raise ValueError(f"width d={self.width} must be >= K={self.classes}")
        bad = [(h, w) for h in self.lam_h for w in self.lam_w if h * w >= 1]
        if bad:
            raise ValueError(
                f"need lam_h * lam_w < 1 (else H* = 0), got lam_h={bad[0][0]}, "
                f"lam_w={bad[0][1]}"
            )
        coords = self.width * self.classes * self.n
        if coords > MAX_COORDINATES:
            raise ValueError(
                f"width * classes * n = {coords} > {MAX_COORDINATES}: the response "
                "operator is a dense (d K n)^2 matrix"
            )


PRESETS: dict[str, PerturbationSweep] = {
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
}


def _rotation(config, trial, device, dtype):
    gen = cell_generator(config.seed, "rotation", trial, device=device)
    A = torch.randn(
        config.width, config.width, generator=gen, dtype=dtype, device=device
    )
    Q, R = torch.linalg.qr(A)
    return Q * torch.sign(torch.diagonal(R))


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
        _, H, iters, resid = minimize_f(
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


def _kernel(config: PerturbationSweep, chunk: Chunk) -> xr.Dataset:
    (beta,) = chunk.coords["beta"]
    (lam_w,) = chunk.coords["lam_w"]
    (trial,) = chunk.coords["trial"]
    res = simulate_perturbation(config, beta, lam_w, trial)
    data = {"sv_intra": (("lam_h", "class", "sv_index"), res["sv_intra"])}
    for key in (
        "sigma_max_inter",
        "sigma2_inter",
        "response_gap",
        "grad_residual",
        "iterations",
    ):
        data[key] = (("lam_h",), res[key])
    coords = {
        **config_coords(config, "lam_h"),
        "class": list(range(config.classes)),
        "sv_index": list(range(config.width * config.n)),
    }
    return chunk_dataset(chunk, data, coords)


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
            **config_coords(config, *dims),
            "sv_index": list(range(d * n)),
            "level": list(range(5)),
        },
    )


ATTRS = {
    "sv_intra": VarAttrs(
        "singular values",
        description="intra-class block of the response operator, descending",
        symbol=r"\sigma_i(F_{kk})",
    ),
    "sigma_max_intra": VarAttrs(
        "largest sv of F_kk", description="max over k", symbol=r"\sigma_{\max}(F_{kk})"
    ),
    "sigma_min_intra": VarAttrs(
        "smallest sv of F_kk", description="min over k", symbol=r"\sigma_{\min}(F_{kk})"
    ),
    "sigma_max_inter": VarAttrs(
        "largest sv of F_kk'",
        description="max over inter-class blocks k != k'",
        symbol=r"\sigma_{\max}(F_{k\tilde k})",
    ),
    "sigma2_inter": VarAttrs(
        "second sv of F_kk'",
        description="max over k != k'; Theorem 4.2: rank one, so 0",
        symbol=r"\sigma_2(F_{k\tilde k})",
    ),
    "response_gap": VarAttrs(
        "finite differences vs Schur complement",
        description="relative distance of the measured to the exact first-order "
        "operator",
        symbol=r"\|F_{fd}-F\|_F/\|F\|_F",
    ),
    "grad_residual": VarAttrs(
        "stationarity residual",
        description="largest gradient entry at the computed minimizers",
        symbol=r"\max|\nabla_H f|",
    ),
    "iterations": VarAttrs(
        "block-update iterations",
        description="alternating minimization steps",
        symbol="",
    ),
    "kappa": VarAttrs(
        "first-order level",
        description="sv = 1 - kappa/beta: 0, lam_h, sqrt(lam_h/lam_w), 2lam_h(1-c), "
        "4lam_h(1-c)",
        symbol=r"\kappa",
    ),
    "multiplicity": VarAttrs(
        "multiplicity of each level",
        description="d-K, (d-K)(n-1), K(n-1), K-1, 1",
        symbol="",
    ),
}


def _finish(config: PerturbationSweep, ds: xr.Dataset) -> xr.Dataset:
    ds["sigma_max_intra"] = ds["sv_intra"].isel(sv_index=0).max("class")
    ds["sigma_min_intra"] = ds["sv_intra"].isel(sv_index=-1).min("class")
    with blas_threads():
        theory = perturbation_theory(config)
    return ds.merge(theory)


def _subsets(ds: xr.Dataset) -> dict[str, xr.DataArray]:
    return {
        "beta >= 100": ds["beta"] >= 100,
        "beta >= 1000": ds["beta"] >= 1000,
    }


def _memory(config: PerturbationSweep) -> float:
    """Peak bytes of one chunk (one beta, lam_w, trial; the lam_h loop reuses its
    memory): the 2D perturbed problems (D = d K n coordinates) with their features,
    updates and solves (about 6 d N + 3 d^2 + 2 K d numbers each), and four dense
    D x D matrices (identity, differences, F and the exact F), times 1.2."""
    K, n, d = config.classes, config.n, config.width
    N = K * n
    D = d * N
    return 1.2 * 8 * (2 * D * (6 * d * N + 3 * d * d + 2 * K * d) + 4 * D * D)


PERTURBATION = Experiment(
    name=NAME,
    key="perturbation",
    config=PerturbationSweep,
    presets=PRESETS,
    axes=Axes("beta", "lam_w"),
    kernel=_kernel,
    finish=_finish,
    attrs=ATTRS,
    coords={
        **COORDS,
        "sv_index": VarAttrs("singular value index", symbol="i"),
        "trial": VarAttrs("trial (random rotation of H*)", symbol=""),
        "level": VarAttrs("first-order level", symbol=""),
    },
    theory=(
        Theory(
            label="Theorem 4.2 (first order in 1/beta)",
            fn="theory.neural_collapse.near_collapse_spectrum",
        ),
        Theory(
            "_schur",
            "exact Schur complement (Theorem 4.1)",
            "theory.neural_collapse.perturbation_operator",
        ),
    ),
    title="Perturbation of the UFM minimizer near collapse: FD vs theory",
    references=REFS_A,
    config_attrs=("classes", "n", "width", "eps"),
    subsets=_subsets,
    batch_dim=None,
    memory=_memory,
    summary="finite-difference response of the UFM minimizer to perturbed features",
)
