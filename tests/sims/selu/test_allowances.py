r"""The closed forms behind the SELU allowances (:mod:`sims.selu.allowances`)
against quadrature at 30 digits of their defining integrals.

The Gaussian derivatives are checked in their integration-by-parts form
∂_m^k E h(m + √v Z) = v^{−k/2} E[h(m + √v Z) He_k(Z)], which shares nothing with the
distributional-derivative closed form under test (docs/derivations/selu_moments.md §8).
"""

from __future__ import annotations

import itertools

import mpmath
import pytest

from sims.selu import allowances
from tests._tolerances import SELU_ALLOWANCE_DERIV_RTOL
from tests._tolerances import SELU_ALLOWANCE_MOMENT_RTOL
from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01

_HERMITE = {
    3: lambda x: x**3 - 3 * x,
    4: lambda x: x**4 - 6 * x**2 + 3,
    6: lambda x: x**6 - 15 * x**4 + 45 * x**2 - 15,
}


def _selu_mp(z):
    lam = mpmath.mpf(LAMBDA_01)
    return lam * z if z > 0 else lam * mpmath.mpf(ALPHA_01) * mpmath.expm1(z)


def _hermite_integral(power, m, v, k):
    """v^{−k/2} E[selu(m + √v Z)^power He_k(Z)], split at the kink."""
    with mpmath.workdps(30):
        s = mpmath.sqrt(v)
        kink = -mpmath.mpf(m) / s

        def f(x):
            return _selu_mp(m + s * x) ** power * _HERMITE[k](x) * mpmath.npdf(x)

        edges = sorted({kink, *(mpmath.mpf(t) for t in range(-12, 13, 3))})
        pieces = [-mpmath.inf, *edges, mpmath.inf]
        return float(mpmath.quad(f, pieces) / mpmath.mpf(v) ** (mpmath.mpf(k) / 2))


@pytest.mark.parametrize(
    ("power", "k", "m", "v"),
    [
        (p, k, m, v)
        for p, k in itertools.product((1, 2), (3, 4, 6))
        for m, v in ((-2.0, 0.1), (0.0, 1.0), (0.4, 16.0), (1.5, 0.5))
    ],
)
def test_gauss_derivative_against_hermite_quadrature(power, k, m, v):
    """Scale: v^{−k/2}(1 + |m| + √v)^power, the size of the integrand's terms, since
    the closed form sums a smooth part and jump terms that cancel where v is large
    (the relative error reaches 7e-8 at m = −0.3, v = 20, k = 6, where ∂⁶H = 1.5e-6)."""
    ref = _hermite_integral(power, m, v, k)
    got = allowances._gauss_derivative(power, m, v, k)
    scale = v ** (-k / 2) * (1 + abs(m) + v**0.5) ** power
    assert abs(got - ref) <= SELU_ALLOWANCE_DERIV_RTOL * scale, (got, ref, scale)


@pytest.mark.parametrize("p", [3, 4])
@pytest.mark.parametrize("q", [1e-10, 1e-3, 0.052, 0.1999, 0.2, 0.5, 1.0, 9.0])
def test_selu_power_moment_against_quadrature(p, q):
    """Both branches (the series below q = 0.2, the closed form above) and their
    meeting point."""
    with mpmath.workdps(30):
        s = mpmath.sqrt(q)
        ref = mpmath.quad(
            lambda x: _selu_mp(s * x) ** p * mpmath.npdf(x),
            [-mpmath.inf, 0, mpmath.inf],
        )
    got = allowances._power_moment(p, q)
    assert abs(got - float(ref)) <= SELU_ALLOWANCE_MOMENT_RTOL * abs(float(ref))


def test_selu_input_cumulants_are_those_of_selu_of_a_standard_normal():
    """selu(Z) has mean 0 and variance 1 at (α01, λ01), so its raw third and fourth
    moments are its skewness and kurtosis."""
    with mpmath.workdps(30):
        moments = [
            mpmath.quad(
                lambda x, j=j: _selu_mp(x) ** j * mpmath.npdf(x),
                [-mpmath.inf, 0, mpmath.inf],
            )
            for j in (1, 2, 3, 4)
        ]
    mean, second, third, fourth = (float(x) for x in moments)
    assert abs(mean) < 1e-15 and abs(second - 1) < 1e-15
    skew, kurt = allowances.input_cumulants("selu")
    assert abs(skew - third) <= SELU_ALLOWANCE_MOMENT_RTOL * third
    assert abs(kurt - (fourth - 3)) <= SELU_ALLOWANCE_MOMENT_RTOL * abs(fourth - 3)
