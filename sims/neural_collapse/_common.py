r"""What the neural-collapse experiments share: profiles, batched metrics.

The metrics follow Papyan, Han & Donoho (PNAS 2020) with the conventions of
:mod:`theory.neural_collapse` (tested equal); :func:`minimize_f` is the proximal
problem :math:`\min_{W,H} f(W, H; H_0)` of Tirer, Huang & Niles-Weed (ICML 2023,
arXiv:2210.16658), Eq. 2, shared by the ``perturbation`` and ``central_path``
experiments.
"""

from __future__ import annotations

import re

import torch

from sims._config import abbreviate
from sims._experiment import VarAttrs

__all__ = [
    "BALANCED",
    "CIFAR10_IMB",
    "COORDS",
    "IMBALANCED",
    "MAX_SAMPLES",
    "NAME",
    "REFS_A",
    "REFS_B",
    "REFS_P",
    "batched_metrics",
    "minimize_f",
    "parse_profile",
]

#: The results folder ``results/neural_collapse/`` and ``figures.neural_collapse``.
NAME = "neural_collapse"
REFS_A = "Tirer, Huang, Niles-Weed (ICML 2023), arXiv:2210.16658"
REFS_B = "Dang, Tran, Osher, Tran-The, Ho, Nguyen (ICML 2023), arXiv:2301.00437"
REFS_P = "Papyan, Han, Donoho (PNAS 2020)"

#: Labels of the coordinates several experiments share (each adds its own).
COORDS = {
    "beta": VarAttrs("proximity weight", symbol=r"\beta"),
    "lam_h": VarAttrs("feature weight decay", symbol=r"\lambda_H"),
    "lam_w": VarAttrs("classifier weight decay", symbol=r"\lambda_W"),
    "class": VarAttrs("class", symbol="k"),
}

BALANCED = "100-100-100-100"
IMBALANCED = "200-100-50-50"
CIFAR10_IMB = "100-100-200-200-300-300-400-400-500-500"


#: Most samples (the sum of the class sizes) :func:`parse_profile` accepts: checked
#: on the numbers as written, before any tuple is built.
MAX_SAMPLES = 10**5

_PROFILE = re.compile(r"([0-9]+)x([0-9]+)|[0-9]+(-[0-9]+)*")


def parse_profile(profile: str, *, max_samples: int = MAX_SAMPLES) -> tuple[int, ...]:
    """Class sizes of a profile label ``"n1-n2-..."`` (``"100x4"`` repeats).

    ``ValueError`` naming the profile unless it is written in ASCII digits, has at
    least 2 classes, every size >= 1 and at most ``max_samples`` samples in all.

    Examples:
      >>> parse_profile("200-100-50-50"), parse_profile("10x3")
      ((200, 100, 50, 50), (10, 10, 10))
    """
    text = str(profile).strip()
    match = _PROFILE.fullmatch(text)
    if match is None:
        raise ValueError(
            "profile must look like '200-100-50-50' or '100x4', got "
            f"{abbreviate(profile)}"
        )
    try:
        if match.group(1) is not None:
            size, count = int(match.group(1)), int(match.group(2))
            total, classes, smallest = size * count, count, size
        else:
            parts = [int(p) for p in text.split("-")]
            total, classes, smallest = sum(parts), len(parts), min(parts)
    except ValueError:  # a number of more than 4300 digits
        raise ValueError(
            f"profile {abbreviate(profile)} has a number too large"
        ) from None
    if classes < 2:
        raise ValueError(f"profile {abbreviate(profile)} has K={classes} < 2 classes")
    if smallest < 1:
        raise ValueError(f"class sizes must be >= 1, got profile {abbreviate(profile)}")
    if total > max_samples:
        raise ValueError(
            f"profile {abbreviate(profile)} has {abbreviate(total)} samples > "
            f"{max_samples}"
        )
    if match.group(1) is not None:
        return (size,) * count
    return tuple(parts)


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
      conventions as :mod:`theory.neural_collapse` (NC1 with 1/K, from the SVD of the
      centred means, squared singular-value ratios below ``max(1e-12, d (100
      eps)^2)`` dropped; NC3 unsquared). A diverged (non-finite) batch element, or
      one whose class means coincide, gets a NaN NC1, never an error.
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
    # A diverged run (overflowed features) has non-finite means, on which the SVD
    # fails: decompose zeros there instead and report NaN for its NC1.
    finite = torch.isfinite(centered).all(-1).all(-1) & torch.isfinite(sigma_w).all(
        -1
    ).all(-1)
    centered_svd = torch.where(finite[:, None, None], centered, 0.0)
    # Sigma_B = C C^T / K with C the centred means; from the SVD C = U S V^T,
    # NC1 = sum_i u_i^T Sigma_W u_i / S_i^2 without forming Sigma_B, whose
    # eigenvectors would carry the square of the means' condition number.
    U, S, _ = torch.linalg.svd(centered_svd, full_matrices=False)
    ratio2 = (S / S[..., :1]) ** 2
    rcond = max(1e-12, d * (100 * torch.finfo(H.dtype).eps) ** 2)
    inv_s2 = torch.where(ratio2 > rcond, 1.0 / S**2, torch.zeros_like(S))
    tr_w = torch.diagonal(sigma_w, dim1=-2, dim2=-1).sum(-1)
    tr_b = centered.square().sum((-2, -1)) / K  # Tr Sigma_B
    nc1 = (((sigma_w @ U) * U).sum(-2) * inv_s2).sum(-1).clamp_min(0)
    defined = finite & (S[..., 0] > 0)  # NC1 is undefined where the means coincide
    out = {
        "nc1": torch.where(defined, nc1, torch.full_like(nc1, float("nan"))),
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


def minimize_f(H0, K, n, beta, lam_w, lam_h, *, max_iter, tol):
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
