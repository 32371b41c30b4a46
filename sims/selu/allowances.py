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
import itertools
import math

import numpy as np
from scipy.integrate import quad

from theory.selu_moments import moment_map
from theory.selu_moments import selu

__all__ = ["edgeworth_bias", "finite_width_bias", "input_cumulants"]

_HERMITE = {
    3: lambda x: x**3 - 3 * x,
    4: lambda x: x**4 - 6 * x**2 + 3,
    6: lambda x: x**6 - 15 * x**4 + 45 * x**2 - 15,
}


def _integrate(f, x0):
    pts = [-40.0, 40.0] if not -40 < x0 < 40 else [-40.0, x0, 40.0]
    return sum(
        quad(f, a, b, epsabs=1e-15, epsrel=1e-11, limit=400)[0]
        for a, b in itertools.pairwise(pts)
    )


def _gauss_derivative(h, m, v, k):
    """∂^k/∂m^k E h(m + √v Z) = v^{-k/2} E[h(m + √v Z) He_k(Z)]."""
    sd = math.sqrt(v)

    def f(x):
        return h(m + sd * x) * _HERMITE[k](x) * math.exp(-x * x / 2)

    return _integrate(f, -m / sd) / math.sqrt(2 * math.pi) / v ** (k / 2)


def _selu_f(z):
    return float(selu(z))


def _standard_normal_moment(f):
    return _integrate(lambda x: f(x) * math.exp(-x * x / 2), 0.0) / math.sqrt(
        2 * math.pi
    )


@functools.cache
def input_cumulants(kind):
    """(skewness, excess kurtosis) of the standardized inputs of the layer sim."""
    if kind == "gaussian":
        return 0.0, 0.0
    if kind == "uniform":
        return 0.0, -1.2
    m3 = _standard_normal_moment(lambda x: _selu_f(x) ** 3)
    m4 = _standard_normal_moment(lambda x: _selu_f(x) ** 4)
    return m3, m4 - 3.0


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
    for h in (_selu_f, lambda z: _selu_f(z) ** 2):
        shifts.append(
            k3 / 6 * _gauss_derivative(h, m, v, 3)
            + k4 / 24 * _gauss_derivative(h, m, v, 4)
            + k3sq / 72 * _gauss_derivative(h, m, v, 6)
        )
    mean = float(moment_map(mu, nu, omega=omega, tau=tau).mu_tilde)
    return shifts[0], shifts[1] - 2 * mean * shifts[0]


def _second_moment(q):
    out = moment_map(0.0, q)
    return float(out.nu_tilde + out.mu_tilde**2)


def _mean(q):
    return float(moment_map(0.0, q).mu_tilde)


def _fourth_moment(q):
    sd = math.sqrt(q)
    return _integrate(lambda x: _selu_f(sd * x) ** 4 * math.exp(-x * x / 2), 0.0) / (
        math.sqrt(2 * math.pi)
    )


def _d12(fun, q):
    h = 1e-3 * q
    lo, mid, hi = fun(q - h), fun(q), fun(q + h)
    return (hi - lo) / (2 * h), (hi - 2 * mid + lo) / h**2


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
        g1, g2 = _d12(_second_moment, q)
        m1, m2 = _d12(_mean, q)
        eps = m1 * shift + 0.5 * m2 * var_q
        new_shift = g1 * shift + 0.5 * g2 * var_q
        var_q = g1**2 * var_q + (_fourth_moment(q) - _second_moment(q) ** 2) / width
        mean_bias.append(eps)
        var_bias.append(new_shift - 2 * _mean(q) * eps)
        q, shift = _second_moment(q), new_shift
    return np.array(mean_bias), np.array(var_bias)
