r"""Derived allowances of the SELU simulations (not tuned; see each docstring).

Shared by the test suite and the reproduction report (:mod:`sims.report.selu`).

Every comparison is ``|mean - theory| <= Z_SEM * SEM + allowance`` with ``Z_SEM = 4``
and SEM over independent trials; each allowance is derived:

- one layer, Gaussian inputs: z is exactly Gaussian, allowance 0;
- one layer, non-Gaussian inputs (uniform, or SELU outputs, which are skewed): the
  CLT error of a finite fan-in, bounded by twice the leading Edgeworth term
  (:func:`edgeworth_bias`);
- deep SELU nets: the O(1/width) bias of the mean-field population map, twice its
  first-order value (:func:`finite_width_bias`), plus the known downward bias of a
  pooled variance, Var(grand mean);
- deep ReLU nets: the second moment halves per layer *exactly* in expectation at any
  width (Gaussian weights, positively homogeneous ReLU), allowance 0.

Derivations: ``docs/derivations/selu_moments.md`` §7-§8.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.polynomial.hermite_e import hermeval
from scipy.special import log_ndtr

from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import moment_map

__all__ = [
    "RELU_SD_MAX",
    "edgeworth_bias",
    "finite_width_bias",
    "input_cumulants",
    "relu_ratio_sd_bound",
]

# Below this variance the power moments are summed as a series (derivations §7): the
# closed form cancels like 1/q² there (3.2e-13 relative at q = 0.052, 3.7e-8 at
# 1e-4); 40 terms of the series are within 3.3e-15 up to q = 0.2.
_SERIES_BELOW_Q, _SERIES_TERMS = 0.2, 40


def _exp_below(j, m, v):
    """E[e^{jz} 1{z < 0}] = e^{jm + j²v/2} Φ(−(m + jv)/√v) for z ~ N(m, v), in logs."""
    return math.exp(j * m + j * j * v / 2 + log_ndtr(-(m + j * v) / math.sqrt(v)))


def _delta_moment(r, m, s):
    """E δ^{(r)}(z) = s^{−1−r} He_r(−m/s) φ(m/s) for z ~ N(m, s²)."""
    he_r = hermeval(-m / s, [0.0] * r + [1.0])
    return s ** (-1 - r) * he_r * math.exp(-0.5 * (m / s) ** 2) / math.sqrt(2 * math.pi)


def _gauss_derivative(power, m, v, k):
    """∂^k/∂m^k E h(m + √v Z) for h = selu^power (power 1 or 2, k >= 3), closed form.

    It is E h^{(k)}(z), h^{(k)} taken as a distribution: the smooth part of each side
    plus Δ_j δ^{(k−1−j)} for every jump Δ_j of h^{(j)} at 0 (derivations §8).
    """
    lam, lam_a = LAMBDA_01, LAMBDA_01 * ALPHA_01
    if power == 1:  # λz above 0, λα(e^z − 1) below
        smooth = lam_a * _exp_below(1, m, v)
        jumps = [lam - lam_a] + [-lam_a] * (k - 2)
    else:  # λ²z² above 0, λ²α²(e^{2z} − 2e^z + 1) below
        c = lam_a**2
        smooth = c * (2**k * _exp_below(2, m, v) - 2 * _exp_below(1, m, v))
        jumps = [0.0, 2 * (lam**2 - c)] + [-c * (2**j - 2) for j in range(3, k)]
    s = math.sqrt(v)
    return smooth + sum(
        d * _delta_moment(k - 1 - j, m, s) for j, d in enumerate(jumps, start=1)
    )


@functools.cache
def _stirling2(n, p):
    """Stirling numbers of the second kind S(n, p)."""
    if n == p:
        return 1
    if p == 0 or n < p:
        return 0
    return p * _stirling2(n - 1, p) + _stirling2(n - 1, p - 1)


def _power_moment(p, q):
    """E selu(z)^p for z ~ N(0, q), p >= 1 (closed form; a series at small q)."""
    s = math.sqrt(q)
    above = (LAMBDA_01 * s) ** p * 2 ** (p / 2) * math.gamma((p + 1) / 2)
    above /= 2 * math.sqrt(math.pi)
    if q < _SERIES_BELOW_Q:
        # (e^y − 1)^p = p! Σ_n S(n, p) y^n / n!, and E[z^n; z < 0] = (−s)^n E|Z|^n / 2.
        below = sum(
            math.factorial(p)
            * _stirling2(n, p)
            / math.factorial(n)
            * (-s) ** n
            * 2 ** (n / 2 - 1)
            * math.gamma((n + 1) / 2)
            / math.sqrt(math.pi)
            for n in range(p, p + _SERIES_TERMS)
        )
    else:
        below = 0.5 * (-1) ** p + sum(
            math.comb(p, j) * (-1) ** (p - j) * _exp_below(j, 0.0, q)
            for j in range(1, p + 1)
        )
    return above + (LAMBDA_01 * ALPHA_01) ** p * below


@functools.cache
def input_cumulants(kind):
    """(skewness, excess kurtosis) of the standardized inputs of the layer sim.

    SELU inputs are selu(Z), Z ~ N(0, 1), whose mean is 0 and variance 1 at α01, λ01,
    so the raw third and fourth moments are the standardized ones.
    """
    if kind == "gaussian":
        return 0.0, 0.0
    if kind == "uniform":
        return 0.0, -1.2
    return _power_moment(3, 1.0), _power_moment(4, 1.0) - 3.0


def edgeworth_bias(mu, nu, omega, tau, n, kind):
    r"""Leading CLT error of (μ̃, ν̃) for the layer sim's weights and inputs.

    z = μω + √ν Σ w_i ε_i has cumulants κ₃ = ν^{3/2} γ Σw³, κ₄ = ν² κ Σw⁴, so
    E h(z) - E h(N(m, v)) ≈ κ₃/6 ∂³H + κ₄/24 ∂⁴H + κ₃²/72 ∂⁶H (Edgeworth), H the
    Gaussian expectation. The sim's w = (ω/n)1 + c u (u a random unit vector ⊥ 1,
    c² = τ - ω²/n) has E Σw³ = n a³ + 3ac² exactly (a = ω/n) and E Σw⁴ ≈ na⁴ + 6a²c²
    + 3c⁴/(n-1), E(Σw³)² ≈ (EΣw³)² + 15c⁶/(n-1)² (bounds for a uniform u).
    """
    gamma, kurt = input_cumulants(kind)
    a, c2 = omega / n, tau - omega**2 / n
    s3 = n * a**3 + 3 * a * c2
    s4 = n * a**4 + 6 * a**2 * c2 + 3 * c2**2 / (n - 1)
    s3sq = s3**2 + 15 * c2**3 / (n - 1) ** 2
    k3, k4, k3sq = nu**1.5 * gamma * s3, nu**2 * kurt * s4, nu**3 * gamma**2 * s3sq
    m, v = mu * omega, nu * tau
    shifts = []
    for power in (1, 2):
        shifts.append(
            k3 / 6 * _gauss_derivative(power, m, v, 3)
            + k4 / 24 * _gauss_derivative(power, m, v, 4)
            + k3sq / 72 * _gauss_derivative(power, m, v, 6)
        )
    mean = float(moment_map(mu, nu, omega=omega, tau=tau).mu_tilde)
    return shifts[0], shifts[1] - 2 * mean * shifts[0]


def _mean_and_second_moment(q):
    """M(q) = E selu(z) and G(q) = E selu(z)² for z ~ N(0, q), with their first two
    derivatives in q by central differences (step 1e-3 q): three (value, d/dq,
    d²/dq²) triples from one moment-map call."""
    h = 1e-3 * q
    out = moment_map(0.0, np.array([q - h, q, q + h]))
    mean = out.mu_tilde
    second = out.nu_tilde + mean**2

    def d12(f):
        return f[1], (f[2] - f[0]) / (2 * h), (f[2] - 2 * f[1] + f[0]) / h**2

    return d12(mean), d12(second)


def finite_width_bias(mu0, nu0, width, depth):
    r"""First-order 1/n bias of the pooled per-layer (mean, var) of a SELU net.

    q_l = ‖x_l‖²/n per sample; given x_l, z is exactly N(0, q_l) over the Gaussian
    weights, so E x_{l+1}² = E G(q_l) ≈ G(E q_l) + ½G''(q_l) Var q_l with
    G(q) = E selu(N(0, q))², and Var q_{l+1} ≈ G'² Var q_l + (E selu⁴ - G²)/n.
    Propagating the shift δ_{l+1} = G' δ_l + ½G'' Var q_l gives the bias of the
    second moment, of the mean (M' δ + ½M'' Var q, M(q) = E selu(N(0, q))) and of
    the variance (δ - 2μ ε). Input x ~ N(μ₀, ν₀): Var x² = 2ν₀² + 4μ₀²ν₀.
    Returns arrays over layers 0..depth.
    """
    q = nu0 + mu0**2
    var_q = (2 * nu0**2 + 4 * mu0**2 * nu0) / width
    shift = 0.0
    mean_bias, var_bias = [0.0], [0.0]
    for _ in range(depth):
        (m0, m1, m2), (g0, g1, g2) = _mean_and_second_moment(q)
        eps = m1 * shift + 0.5 * m2 * var_q
        new_shift = g1 * shift + 0.5 * g2 * var_q
        var_q = g1**2 * var_q + (_power_moment(4, q) - g0**2) / width
        mean_bias.append(eps)
        var_bias.append(new_shift - 2 * m0 * eps)
        q, shift = g0, new_shift
    return np.array(mean_bias), np.array(var_bias)


#: Largest relative SD (:func:`relu_ratio_sd_bound`) of the ReLU ratio at which a
#: 4-SEM test over 16 trials is used: on the default deep grid (widths 64, 256, 512,
#: 16 trials) |z| <= 3.7 over the 324 (width, layer, start) cells within it and up
#: to 10.1 beyond.
RELU_SD_MAX = 1.0


def relu_ratio_sd_bound(width, layer):
    r"""Bound on the relative SD of one trial's E x_l² / ((ν₀ + μ₀²) 2^−l), ReLU net.

    Given layer l, the n pre-activations of a sample are i.i.d. N(0, q_l), so
    r_l = q_{l+1}/(q_l/2) = (2/n) Σ relu(g_i)² has mean 1 and variance
    (4/n)(E relu⁴ − (E relu²)²) = 5/n, independently of the earlier layers; the
    product of l of them has second moment (1 + 5/n)^l. Pooling over a batch that
    shares the weights can only lower the variance, so √((1 + 5/n)^l − 1) bounds it
    (the input's own spread, O(1/n), is left out). Where it exceeds ~1 the ratio is
    a heavy-tailed product (log-normal-like) whose 16-trial sample SEM understates
    the spread of the mean: at width 64, depth 64 the 4-SEM test failed with |z| up
    to 10.1 at layers 51-64, where this bound is 6.7-11 (derivations §7).
    """
    return np.sqrt((1.0 + 5.0 / width) ** layer - 1.0)
