r"""Paper A: rates along the central path and the perturbation operator near collapse.

Tirer, Huang & Niles-Weed, "Perturbation Analysis of Neural Collapse", ICML 2023,
arXiv:2210.16658 (equation and theorem numbers below are those of its ICLR 2023
submission text, ``docs/derivations/neural_collapse.md``). Data layout, argument
names and the objective are those of ``theory._nc_ufm``:

.. math::

    f(W, H; H_0) = \frac{1}{2Kn}\|WH - Y\|_F^2 + \frac{\lambda_W}{2K}\|W\|_F^2
    + \frac{\lambda_H}{2Kn}\|H\|_F^2 + \frac{\beta}{2Kn}\|H - H_0\|_F^2

(Eq. 2, balanced classes, ``H`` ``(d, Kn)`` grouped by class). Here: the exact time
derivatives of the Theorem 3.1 quantities along the central-path flow (and Corollary
3.2), the first-order response operator ``F`` of Theorem 4.1, the singular values of
its class blocks (Eq. 6) and their near-collapse prediction (Theorem 4.2).
Derivations: ``docs/derivations/neural_collapse.md`` §2, §6.1-§6.2.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from theory._args import bounded
from theory._args import plain
from theory._args import positive
from theory._nc_metrics import _exponent
from theory._nc_metrics import _finite_out
from theory._nc_metrics import check_features
from theory._nc_metrics import check_num_classes
from theory._nc_ufm import _balanced
from theory._nc_ufm import _check_separated
from theory._nc_ufm import _classifier_pull
from theory._nc_ufm import _labels_matrix
from theory._nc_ufm import _one_minus_c
from theory._nc_ufm import _split
from theory._nc_ufm import _ufm_args
from theory._nc_ufm import _ufm_sizes

# used by a docstring example (doctests run in this module's namespace)
from theory._nc_ufm import ufm_minimizer  # noqa: F401

__all__ = [
    "BlockSpectrum",
    "FlowRates",
    "NearCollapseSpectrum",
    "PerturbationOperator",
    "block_singular_values",
    "central_path_rates",
    "near_collapse_spectrum",
    "perturbation_operator",
]


class FlowRates(NamedTuple):
    r"""Values and time derivatives along the central-path flow at one ``H``.

    Attributes:
      nc1_tilde, d_nc1_tilde: :math:`\widetilde{NC}_1` and its rate.
      tr_sigma_w, d_tr_sigma_w: :math:`\operatorname{Tr}\Sigma_W` and its rate.
      tr_sigma_b, d_tr_sigma_b: :math:`\operatorname{Tr}\Sigma_B` and its rate.
    """

    nc1_tilde: float
    d_nc1_tilde: float
    tr_sigma_w: float
    d_tr_sigma_w: float
    tr_sigma_b: float
    d_tr_sigma_b: float


@np.errstate(over="ignore", invalid="ignore")  # checked by _finite_out
def central_path_rates(
    H: ArrayLike, *, K: int, lam_w: float, lam_h: float
) -> FlowRates:
    r"""Exact time derivatives of the Theorem 3.1 quantities along the flow.

    With :math:`V = dH/dt` from :func:`central_path_velocity`, :math:`P_\perp` the
    within-class centering and :math:`\dot M` the centered means,

    .. math::

        \tfrac{d}{dt}\operatorname{Tr}\Sigma_W = \tfrac{2}{Kn}\langle HP_\perp,
        VP_\perp\rangle,\qquad
        \tfrac{d}{dt}\operatorname{Tr}\Sigma_B = \tfrac{2}{K}\langle \dot M,
        \dot M_V\rangle.

    Theorem 3.1 states ``d_nc1_tilde < 0``, ``d_tr_sigma_w <= -2 lam_h tr_sigma_w``
    and ``d_tr_sigma_b > -2 lam_h tr_sigma_b``. Corollary 3.2 follows from
    :math:`H_{1/\beta} = H_0 + V(H_0)/\beta + O(\beta^{-2})`, so
    :math:`\widetilde{NC}_1(H_{1/\beta}) = \widetilde{NC}_1(H_0)
    + \dot{\widetilde{NC}}_1/\beta + O(\beta^{-2})`.

    Args:
      H: ``(d, Kn)`` features, columns grouped by class.
      K: classes.
      lam_w: :math:`\lambda_W > 0`.
      lam_h: :math:`\lambda_H \ge 0`.

    Returns:
      :class:`FlowRates`.

    Raises:
      ValueError: bad input, or collapsed means (:math:`\operatorname{Tr}\Sigma_B=0`
        up to rounding).

    Examples:
      >>> rng = np.random.default_rng(1)
      >>> r = central_path_rates(rng.standard_normal((6, 12)), K=3, lam_w=0.2,
      ...                        lam_h=0.1)
      >>> bool(r.d_nc1_tilde < 0)
      True
    """
    H, K, n = _balanced(H, K)
    lw = bounded("lam_w", lam_w, low=0.0, low_open=True)
    lh = bounded("lam_h", lam_h, low=0.0)
    _check_separated(H, K, n)
    G = _classifier_pull(H, K, n, lw)
    V = G - lh * H
    N = K * n
    # Sums of squares and products of H, V and G divided by powers of two (exact),
    # scaled back at the end: at |H| ~ 1e-160 the squares are subnormal, and the
    # ratio was 3e-5 relative off.
    eh, ev, eg = _exponent(H), _exponent(V), _exponent(G)
    Hw, Hb = _split(np.ldexp(H, -eh), K, n)
    Vw, Vb = _split(np.ldexp(V, -ev), K, n)
    Gw, Gb = _split(np.ldexp(G, -eg), K, n)
    sw, sb = np.sum(Hw**2) / N, np.sum(Hb**2) / K
    ratio = sw / sb
    # d ratio = dsw/sb - sw dsb/sb^2 (no sb^2 underflow). The weight decay -lam_h H
    # scales H and leaves the ratio alone, so only G enters: with V it cancels, and
    # the error grew with lam_h (7.7e-8 relative at lam_h = 1e8).
    gsw, gsb = 2 * np.sum(Hw * Gw) / N, 2 * np.sum(Hb * Gb) / K
    d_ratio = np.ldexp((gsw - ratio * gsb) / sb, eg - eh)
    dsw = np.ldexp(2 * np.sum(Hw * Vw) / N, eh + ev)
    dsb = np.ldexp(2 * np.sum(Hb * Vb) / K, eh + ev)
    sw, sb = np.ldexp(sw, 2 * eh), np.ldexp(sb, 2 * eh)
    if not sb > 0:
        raise ValueError("Tr Sigma_B underflows float64: H is too small")
    _finite_out("central_path_rates", V, sw, sb, dsw, dsb, ratio, d_ratio)
    return FlowRates(
        float(ratio),
        float(d_ratio),
        float(sw),
        float(dsw),
        float(sb),
        float(dsb),
    )


class PerturbationOperator(NamedTuple):
    r"""First-order response of the minimizer of Eq. 2 to a change of ``H0``.

    Attributes:
      F: ``(dKn, dKn)``, :math:`\operatorname{vec}(\delta H) = F
        \operatorname{vec}(\delta H_0)`; symmetric.
      G: ``(dK, dKn)``, :math:`\operatorname{vec}(\delta W) = G
        \operatorname{vec}(\delta H_0)`.
      hessian_norm_ratio: :math:`\lambda_{\min}(S)/\lambda_{\max}(S)` of the Schur
        complement; positive at a strict local minimum. ``F`` is accurate to about
        float64's eps divided by it (S's condition number): against a 60-digit
        reference at the UFM minimizer (K=3, n=2, d=4, lam_h=1e-3, beta=1), 1.4e-15
        relative at lam_w=1e-3 (ratio 0.5), 9e-8 at 1e-20 (3.2e-9) and 3.8e-3 at
        1e-30 (3.1e-14).
    """

    F: np.ndarray
    G: np.ndarray
    hessian_norm_ratio: float


def perturbation_operator(
    W: ArrayLike,
    H: ArrayLike,
    *,
    K: int,
    beta: float,
    lam_w: float,
    lam_h: float,
) -> PerturbationOperator:
    r"""The operator ``F`` of Theorem 4.1, exactly, from the Hessian's Schur complement.

    At a minimizer :math:`(\hat W^*, \hat H^*)` of :math:`f(\cdot; H_0)`,

    .. math::

        \operatorname{vec}(\delta H) \approx \frac{\beta}{Kn} S^{-1}
        \operatorname{vec}(\delta H_0),\quad
        S = \nabla^2_{HH} f - \nabla_W^\top\nabla_H f\,(\nabla^2_{WW} f)^{-1}
        \nabla_H^\top\nabla_W f,

    :math:`\operatorname{vec}(\delta W) \approx -(\nabla^2_{WW}f)^{-1}
    \nabla_H^\top\nabla_W f\,\operatorname{vec}(\delta H)` (Theorem 4.1 of
    arXiv:2210.16658; exact to first order in :math:`\delta H_0`, all orders in
    :math:`1/\beta`). ``vec`` stacks columns. The Hessian is assembled analytically:
    with :math:`N = Kn` and :math:`R = WH - Y`,
    :math:`\partial^2 f/\partial W_{ai}\partial W_{bj} = \delta_{ab}(HH^\top)_{ij}/N
    + \delta_{ab}\delta_{ij}\lambda_W/K`,
    :math:`\partial^2 f/\partial H_{ij}\partial H_{kl} = \delta_{jl}((W^\top W)_{ik}
    + (\lambda_H+\beta)\delta_{ik})/N` and
    :math:`\partial^2 f/\partial W_{ai}\partial H_{kj} = (W_{ak}H_{ij}
    + \delta_{ik}R_{aj})/N`.

    Args:
      W: ``(K, d)`` minimizer's classifier.
      H: ``(d, Kn)`` minimizer's features (columns grouped by class).
      K: classes.
      beta: :math:`\beta > 0`.
      lam_w, lam_h: :math:`\lambda_W, \lambda_H > 0`.

    Returns:
      :class:`PerturbationOperator`.

    Raises:
      ValueError: bad shapes or parameters, or a Schur complement that is not
        positive definite (the point is not a strict local minimizer, or the weight
        decays are too far apart for float64 to resolve the Hessian).

    Examples:
      >>> m = ufm_minimizer(2, 2, 3, lam_w=0.5, lam_h=0.4)
      >>> op = perturbation_operator(m.W, m.H, K=2, beta=100.0, lam_w=0.5, lam_h=0.4)
      >>> op.F.shape, bool(np.allclose(op.F, op.F.T))
      ((12, 12), True)
    """
    W, H, _, K, n, lw, lh, b = _ufm_args(W, H, K, lam_w, lam_h, beta, None, False)
    if not b > 0:
        raise ValueError(f"beta must be > 0, got beta={beta!r}")
    d, N = H.shape
    with np.errstate(over="ignore", invalid="ignore"):
        R = W @ H - _labels_matrix(K, n)
        big = [H @ H.T, W.T @ W, R]
    _finite_out("perturbation_operator (Hessian)", *big)
    eK, ed, eN = np.eye(K), np.eye(d), np.eye(N)
    hww = np.einsum("ab,ij->iajb", eK, H @ H.T / N + lw / K * ed).reshape(K * d, K * d)
    hhh = np.einsum("jl,ik->jilk", eN, (W.T @ W + (lh + b) * ed) / N)
    hhh = hhh.reshape(N * d, N * d)
    hwh = (np.einsum("ak,ij->iajk", W, H) + np.einsum("ik,aj->iajk", ed, R)) / N
    hwh = hwh.reshape(K * d, N * d)
    try:  # hww >= lam_w/K > 0 exactly; singular only when float64 cannot resolve it
        coupling = np.linalg.solve(hww, hwh)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the Hessian's W block is singular in float64: lam_w/K = "
            f"{lw / K:.3g} is lost against its largest entry {np.abs(hww).max():.3g}"
            f" (lam_w={lw!r}, lam_h={lh!r})"
        ) from None
    schur = hwh.T @ coupling
    S = hhh - schur
    S = 0.5 * (S + S.T)
    evals, evecs = np.linalg.eigh(S)
    if not evals[0] > 0:
        # S is a difference of two terms, each rounded to ~ size * eps of its size
        # (and the solve to its condition number): below that the sign is undecided.
        with np.errstate(over="ignore"):  # inf: certainly not resolved
            scale = np.abs(hhh).max() + np.abs(schur).max() * np.linalg.cond(hww)
            err = S.shape[0] * np.finfo(np.float64).eps * scale
        why = (
            f"float64 cannot resolve S, whose rounding error is up to {err:.3g} "
            f"(lam_w={lw!r}, lam_h={lh!r} and the scales of W and H too far apart)"
            if abs(evals[0]) <= err
            else "(W, H) is not a strict local minimizer of f(.; H0)"
        )
        raise ValueError(
            "the Schur complement is not positive definite (eigenvalues "
            f"{evals[0]:.3g} .. {evals[-1]:.3g}): {why}"
        )
    F = (b / N) * (evecs / evals) @ evecs.T
    G = -coupling @ F
    return PerturbationOperator(F, G, float(evals[0] / evals[-1]))


class BlockSpectrum(NamedTuple):
    r"""Singular values of the ``dn x dn`` blocks :math:`F_{k\tilde k}` of ``F``.

    Attributes:
      intra: ``(K, dn)``, singular values of :math:`F_{kk}`, descending.
      inter: ``(K, K, dn)``, singular values of :math:`F_{k\tilde k}`, descending;
        ``nan`` on the diagonal ``k = k~``.
    """

    intra: np.ndarray
    inter: np.ndarray


def block_singular_values(F: ArrayLike, *, K: int) -> BlockSpectrum:
    r"""Singular values of the class blocks of a ``(dKn, dKn)`` operator (Eq. 6).

    Block row ``k`` holds the ``dn`` entries of :math:`\operatorname{vec}(\delta H)`
    that belong to the columns of class ``k``; :math:`F_{kk}` are the intra-class
    blocks and :math:`F_{k\tilde k}`, :math:`k \ne \tilde k`, the inter-class
    ("crosstalk") blocks.

    Args:
      F: square matrix whose size is a multiple of ``K``.
      K: classes.

    Returns:
      :class:`BlockSpectrum`.

    Raises:
      ValueError: ``F`` not square or its size not a multiple of ``K``, or a singular
        value beyond the float64 range.

    Examples:
      >>> bs = block_singular_values(np.eye(6), K=2)
      >>> bs.intra.tolist()
      [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """
    F = check_features(F, "F")
    K = check_num_classes(K)
    if F.ndim != 2 or F.shape[0] != F.shape[1] or F.shape[0] % K:
        raise ValueError(
            f"F must be square with size a multiple of K={K}, got {F.shape}"
        )
    m = F.shape[0] // K
    # singular values scale with F: take them of F / 2^e (exact) and scale back
    e = _exponent(F)
    blocks = np.ldexp(F, -e).reshape(K, m, K, m).transpose(0, 2, 1, 3)
    with np.errstate(over="ignore"):
        sv = np.ldexp(np.linalg.svd(blocks, compute_uv=False), e)
    _finite_out("block_singular_values", sv, inputs="F")
    intra = sv[np.arange(K), np.arange(K)]
    inter = sv.copy()
    inter[np.arange(K), np.arange(K)] = np.nan
    return BlockSpectrum(intra, inter)


class NearCollapseSpectrum(NamedTuple):
    r"""Theorem 4.2 and the five-level first-order spectrum of :math:`F_{kk}`.

    Every singular value of :math:`F_{kk}` is :math:`1 - \kappa/\beta +
    O(\beta^{-2})`. Arrays broadcast over the shapes of ``beta, lam_w, lam_h``
    (shape ``S``).

    Attributes:
      kappa: ``(*S, 5)``, the levels :math:`0, \lambda_H, \sqrt{\lambda_H/\lambda_W},
        2\lambda_H(1-c), 4\lambda_H(1-c)`.
      multiplicity: ``(5,)``, :math:`d-K, (d-K)(n-1), K(n-1), K-1, 1`.
      sv_intra: ``(*S, dn)``, the predicted singular values, descending.
      sigma_max_intra: ``(*S,)``, :math:`\sigma_{\max}(F_{kk})` (1 when ``d > K``).
      sigma_min_intra: ``(*S,)``, :math:`1 - \beta^{-1}\sqrt{\lambda_H/\lambda_W}`.
      sigma_max_inter: ``(*S,)``,
        :math:`2\beta^{-1}\lambda_H(1-\sqrt{\lambda_H\lambda_W})`.
    """

    kappa: np.ndarray
    multiplicity: np.ndarray
    sv_intra: np.ndarray
    sigma_max_intra: np.ndarray
    sigma_min_intra: np.ndarray
    sigma_max_inter: np.ndarray


def near_collapse_spectrum(
    K: int,
    n: int,
    d: int,
    *,
    beta: ArrayLike,
    lam_w: ArrayLike,
    lam_h: ArrayLike,
) -> NearCollapseSpectrum:
    r"""Theorem 4.2 of arXiv:2210.16658: block spectrum of ``F`` near collapse.

    At :math:`H_0 = H^*` (a collapsed minimizer of Eq. 1), for
    :math:`\beta \gg \max\{1, \lambda_H\}`, :math:`c = \sqrt{\lambda_H\lambda_W} < 1`
    and :math:`d > K`:

    .. math::

        \sigma_{\max}(F_{kk}) = 1,\quad
        \sigma_{\min}(F_{kk}) = 1 - \frac{1}{\beta}\sqrt{\frac{\lambda_H}{\lambda_W}},
        \quad
        \sigma_{\max}(F_{k\tilde k}) = \frac{2\lambda_H}{\beta}\big(1 - c\big),

    with :math:`F_{k\tilde k}` of rank one. The full spectrum of :math:`F_{kk}` is
    :math:`1-\kappa/\beta` with the levels and multiplicities identified numerically
    in ``docs/derivations/neural_collapse.md`` §2; exact up to :math:`O(\beta^{-2})`).
    The extremes are taken over the levels with non-zero multiplicity, so they
    stay right when ``d = K`` or ``n = 1``.

    Args:
      K: classes, ``>= 2``.
      n: samples per class, ``>= 1``.
      d: feature dimension, ``>= K``.
      beta: :math:`\beta > 0` (array).
      lam_w, lam_h: :math:`\lambda_W, \lambda_H > 0` with
        :math:`\lambda_H\lambda_W < 1` (arrays broadcasting with ``beta``).

    Returns:
      :class:`NearCollapseSpectrum`.

    Raises:
      ValueError: bad sizes, non-positive parameters or :math:`\lambda_H\lambda_W
        \ge 1` (then :math:`H^* = 0`).

    Examples:
      >>> s = near_collapse_spectrum(4, 10, 10, beta=100.0, lam_w=0.5, lam_h=0.4)
      >>> round(float(s.sigma_min_intra), 6), round(float(s.sigma_max_inter), 6)
      (0.991056, 0.004422)
    """
    K, n, d = _ufm_sizes(K, n, d)
    b = positive("beta", beta)
    lw = positive("lam_w", lam_w)
    lh = positive("lam_h", lam_h)
    try:
        b, lw, lh = np.broadcast_arrays(b, lw, lh)
    except ValueError:
        raise ValueError(
            f"the shapes of beta {b.shape}, lam_w {lw.shape}, lam_h {lh.shape} do not "
            f"broadcast"
        ) from None
    c = np.sqrt(lh) * np.sqrt(lw)
    gap = _one_minus_c(lh, lw)  # 1 - c; its sign decides, not the rounded c
    bad = (c >= 1) | ~(gap > 0)
    if np.any(bad):
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"lam_h * lam_w must be < 1 (collapse to zero otherwise), got "
            f"lam_h={plain(lh.flat[i])!r}, lam_w={plain(lw.flat[i])!r}"
        )
    mult = np.array([d - K, (d - K) * (n - 1), K * (n - 1), K - 1, 1])
    with np.errstate(over="ignore", invalid="ignore"):  # checked below
        kappa = np.stack(
            [
                np.zeros_like(lh),
                lh,
                np.sqrt(lh) / np.sqrt(lw),  # lh / lw alone under- or overflows
                2 * lh * gap,
                4 * lh * gap,
            ],
            axis=-1,
        )
        levels = np.repeat(kappa, mult, axis=-1)
        sv = 1 - np.sort(levels, axis=-1) / b[..., None]
        present = kappa[..., mult > 0]
        out = NearCollapseSpectrum(
            kappa,
            mult,
            sv,
            1 - present.min(axis=-1) / b,
            1 - present.max(axis=-1) / b,
            2 * lh * gap / b,
        )
    if not all(np.all(np.isfinite(a)) for a in out):
        raise ValueError(
            "near_collapse_spectrum: kappa / beta exceeds the float64 range; the "
            "expansion needs beta >> max(1, lam_h, sqrt(lam_h / lam_w))"
        )
    return out
