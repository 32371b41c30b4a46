r"""Domain tests: every public theory function of the RF, power-law, SELU and
neural-collapse modules at invalid and at extreme valid inputs.

The promise (README, "Nothing silent"): an input outside a function's domain raises
``ValueError`` naming it; an extreme input inside the domain returns finite values
that are correct, or raises ``ValueError`` naming the supported range. Never NaN,
never another exception type.

Each function has a small table ``argument -> strategy of valid values`` whose
ranges reach the ends of float64 (1e-300 .. 1e300). Two generic tests run over the
tables: one draws extreme valid arguments and checks "finite or ValueError"; one
replaces one argument by an invalid value (NaN, inf, out of range, wrong shape,
empty, not a number) and checks a ``ValueError`` that names the argument and shows
the value as a user writes it (``nan``, not ``np.float64(nan)``). The tables are in
``_domain_table.py``. Correctness at the extremes is checked separately, in
``test_domain_specific.py``, against identities: the joint scale invariance of the
RF theory, the saturated limits of the SELU moments, the stationarity of the deep
linear minimizer, and the scale invariance of the NC metrics.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.theory._domain_table import _DOCUMENTED_NONFINITE
from tests.theory._domain_table import _H
from tests.theory._domain_table import _LAM
from tests.theory._domain_table import _W
from tests.theory._domain_table import TABLE
from tests.theory._domain_table import _assert_finite


@pytest.mark.parametrize("name", sorted(TABLE))
@pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow noise either
@settings(max_examples=12)
@given(data=st.data())
def test_extreme_valid_inputs_are_finite_or_value_error(name, data):
    fun, valid, _ = TABLE[name]
    kwargs = data.draw(st.fixed_dictionaries(valid))
    try:
        out = fun(**kwargs)
    except ValueError as err:
        assert str(err), "a ValueError must say what is wrong"
        return
    if name in _DOCUMENTED_NONFINITE:
        return
    if name == "rf_ridge_risk" and np.isinf(out.overfitting_coeff):
        # documented: E_0 = inf (and E_te = inf) at the ridgeless peak n == k
        assert kwargs["ridge"] == 0 and kwargs["n"] == kwargs["k"]
        return
    _assert_finite(out)


_INVALID = [
    (name, arg, bad)
    for name, (_, _, invalid) in sorted(TABLE.items())
    for arg, values in invalid.items()
    for bad in values
]


@pytest.mark.parametrize(
    ("name", "arg", "bad"),
    _INVALID,
    ids=[f"{n}-{a}-{i}" for i, (n, a, _) in enumerate(_INVALID)],
)
def test_invalid_input_raises_value_error_naming_it(name, arg, bad):
    fun, valid, _ = TABLE[name]
    kwargs = {k: _typical(name, k) for k in valid}
    kwargs[arg.strip()] = bad
    with pytest.raises(ValueError) as err:
        fun(**kwargs)
    message = str(err.value)
    assert arg.strip() in message, f"the error does not name {arg.strip()}: {message}"
    # Values as a user writes them (nan, -1.0), not numpy reprs (np.float64(nan)).
    assert "np." not in message and "array(" not in message, message


# Two arguments given arrays of lengths 2 and 3: every function must name them.
SHAPE_PAIRS = {
    "rf_ridge_risk": ("n", "ridge"),
    "PowerLawTail.bias": ("gamma", "d"),
    "continuum_integrals": ("alpha", "beta"),
    "powerlaw_constant": ("alpha", "beta"),
    "powerlaw_test_risk": ("R", "n"),
    "zero_ridge_optimal": ("beta", "noise_rel"),
    "optimal_fitting_ratio": ("alpha", "noise_rel"),
    "selu": ("x", "lam"),
    "moment_map": ("mu", "tau"),
    "moment_jacobian": ("nu", "omega"),
    "relu_moment_map": ("mu", "nu"),
    "tanh_moment_map": ("mu", "nu"),
    "population_moment_map": ("mu", "nu"),
    "iterate_map": ("mu0", "omega"),
    "fixed_point": ("omega", "tau"),
    "selu_parameters": ("mu_f", "nu_f"),
    "alpha_dropout_affine": ("q", "mu_f"),
    "alpha_dropout_moments": ("mu", "q"),
    "near_collapse_spectrum": ("beta", "lam_h"),
}


@pytest.mark.parametrize("name", sorted(SHAPE_PAIRS))
def test_mismatched_shapes_raise_value_error_naming_them(name):
    fun, valid, _ = TABLE[name]
    kwargs = {k: _typical(name, k) for k in valid}
    first, second = SHAPE_PAIRS[name]
    kwargs[first] = np.full(2, np.asarray(kwargs[first], dtype=float))
    kwargs[second] = np.full(3, np.asarray(kwargs[second], dtype=float))
    with pytest.raises(ValueError, match=f"{first}.*{second}"):
        fun(**kwargs)


_TYPICAL = {
    "eigvals": _LAM,
    "target_power": _LAM,
    "n": 10.0,
    "k": 20.0,
    "ridge": 1e-2,
    "noise_var": 0.1,
    "alpha": 1.5,
    "beta": 1.25,
    "num_modes": 50,
    "gamma": 1e-2,
    "d": 0.5,
    "R": 0.3,
    "noise_rel": 1.0,
    "x": 0.5,
    "lam": 1.0,
    "mu": 0.1,
    "nu": 1.0,
    "omega": 0.1,
    "tau": 1.0,
    "step": 0.2,
    "activation": "selu",
    "mu0": 0.1,
    "nu0": 1.0,
    "steps": 2,
    "maxiter": 100,
    "mu_f": 0.0,
    "nu_f": 1.0,
    "q": 0.9,
    "class_sizes": [3, 2],
    "class_size": 3.0,
    "num_samples": 5.0,
    "depth": 2,
    "lam_w": 1e-2,
    "lam_h": 1e-2,
    "branch": "global",
    "K": 3,
    "W": _W,
    "H": _H,
    "M": _H[:, :3],
    "frame": "etf",
}


def _typical(name: str, arg: str):
    if name == "powerlaw_spectrum" and arg == "beta":
        return 1.25
    if name in ("selu",) and arg == "alpha":
        return 1.67
    if name == "deep_linear_ce_etf" and arg == "n":
        return 4
    if name == "ufm_minimizer":
        return {"K": 3, "n": 2, "d": 4}.get(arg, 0.1)
    if name == "nc3" and arg == "M":
        return _W.T
    return _TYPICAL[arg]
