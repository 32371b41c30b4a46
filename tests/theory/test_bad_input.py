"""Bad input to the public theory functions that the domain table does not cover
(kernels and exponent proxies, NC metrics and flows, deep linear points and
objectives, IFM and its merge bound), one argument at a time.

For each function a valid call is fixed; each argument in turn is replaced by a bad
value (NaN, inf, a non-number, None, an empty list, an array where a scalar goes,
and the signed values -1 and 0). The promise checked: a ``ValueError`` that names
the argument and shows values as a user writes them (``nan``, not
``np.float64(nan)``), or, where the value is valid for that argument (-1 as a
coordinate, 0 as a bias variance), a result without NaN. Never another exception
type, never a NaN result, and never NaN, inf or a non-number taken silently.

Then each float argument is scaled by 1e-300 .. 1e300: the result must be finite
(or raise a ``ValueError`` naming the supported range), never NaN or inf.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import theory as T
from theory.kernels import neural_tangents_available

_rng = np.random.default_rng(0)
_X = _rng.standard_normal((6, 3))
_XB = _rng.standard_normal((8, 3))
_K = np.exp(-np.sum((_X[:, None] - _X[None]) ** 2, -1))
_KB = np.exp(-np.sum((_XB[:, None] - _XB[None]) ** 2, -1))
_YB = _rng.standard_normal(8)
_H = _rng.standard_normal((4, 6))
_W = _rng.standard_normal((3, 4))
_LABELS = [0, 0, 1, 1, 2, 2]
_SIZES = np.array([2, 3, 4, 5])
_LAYERS = [
    (_rng.standard_normal((5, 3)), _rng.standard_normal(5)),
    (_rng.standard_normal((4, 5)), _rng.standard_normal(4)),
    (_rng.standard_normal((2, 4)), _rng.standard_normal(2)),
]
_UFM = T.ufm_minimizer(K=3, n=2, d=4, lam_w=0.1, lam_h=0.01)
_FIT = dict(sizes=_SIZES, window=(2, 5))

# name -> (function, a valid call's arguments)
VALID = {
    "relu_nngp_ntk": (
        T.relu_nngp_ntk,
        dict(x1=_X, depth=2, weight_var=2.0, bias_var=0.1),
    ),
    "kernel_eigendata": (T.kernel_eigendata, dict(kernel=_K, targets=_rng.random(6))),
    "trace_inverse_scale": (T.trace_inverse_scale, dict(kernel=_KB, sizes=_SIZES)),
    "ridgeless_test_mse": (
        T.ridgeless_test_mse,
        dict(
            kernel_train=_KB,
            kernel_test=_KB[:3],
            targets_train=_YB,
            targets_test=_YB[:3],
            sizes=_SIZES,
            rcond=1e-12,
        ),
    ),
    "alpha_proxy": (T.alpha_proxy, _FIT | dict(trace_scales=[1.0, 1.4, 1.8, 2.1])),
    "beta_proxy": (T.beta_proxy, _FIT | dict(test_mse=[1.0, 0.7, 0.5, 0.4])),
    "class_means": (T.class_means, dict(H=_H, labels=_LABELS, global_mean="weighted")),
    "nc1": (T.nc1, dict(H=_H, labels=_LABELS, rcond=1e-12)),
    "nc4": (T.nc4, dict(H=_H, labels=_LABELS, W=_W, b=np.zeros(3))),
    "simplex_etf": (T.simplex_etf, dict(K=3, d=4)),
    "nonzero_threshold": (T.nonzero_threshold, dict(depth=3)),
    "block_singular_values": (
        T.block_singular_values,
        dict(F=_rng.standard_normal((12, 12)), K=3),
    ),
    "central_path_rates": (
        T.central_path_rates,
        dict(H=_H, K=3, lam_w=0.1, lam_h=0.01),
    ),
    "central_path_flow": (
        T.central_path_flow,
        dict(H0=_H, K=3, lam_w=0.1, lam_h=0.01, t=[0.0, 0.1], dt=0.01),
    ),
    "ufm_gradient": (
        T.ufm_gradient,
        dict(W=_W, H=_H, K=3, lam_w=0.1, lam_h=0.01, beta=0.5, H0=_H),
    ),
    "perturbation_operator": (
        T.perturbation_operator,
        dict(W=_UFM.W, H=_UFM.H, K=3, beta=10.0, lam_w=0.1, lam_h=0.01),
    ),
    "deep_linear_mse_point": (
        T.deep_linear_mse_point,
        dict(class_sizes=[2, 2, 2], depth=2, lam_w=0.01, lam_h=0.01, width=4),
    ),
    "deep_linear_ce_point": (
        T.deep_linear_ce_point,
        dict(K=3, n=2, depth=2, lam_w=0.01, lam_h=0.01, width=4),
    ),
    "deep_linear_mse_objective": (
        T.deep_linear_mse_objective,
        dict(weights=[_W], H=_H, labels=_LABELS, lam_w=0.01, lam_h=0.01),
    ),
    "deep_linear_ce_objective": (
        T.deep_linear_ce_objective,
        dict(weights=[_W], H=_H, labels=_LABELS, lam_w=0.01, lam_h=0.01),
    ),
    "ifm": (T.ifm, dict(layers=_LAYERS, beta=0.5, max_ratio=1.0, tol=1e-12)),
    "feature_complexity": (
        T.feature_complexity,
        dict(layers=_LAYERS, beta=0.5, max_ratio=1.0, tol=1e-12),
    ),
    "functional_classes": (T.functional_classes, dict(layers=_LAYERS, tol=1e-12)),
    "theorem2_extreme": (T.theorem2_extreme, dict(points=(3, 3, 3, 3))),
    "merge_error_bound": (
        T.merge_error_bound,
        dict(
            a_i=np.array([3.0, 0.5]),
            a_j=np.array([1.0, 2.0]),
            u_i=np.array([1.0, -2.0]),
            u_j=np.array([0.5, 1.0]),
            n_i=1.0,
            n_j=2.0,
        ),
    ),
}
if neural_tangents_available():
    VALID["myrtle_ntk"] = (
        T.myrtle_ntk,
        dict(x1=_rng.standard_normal((2, 8, 8, 1)), batch_size=2),
    )

# Never valid anywhere: must raise.
NEVER = {
    "nan": np.nan,
    "inf": np.inf,
    "'x'": "x",
    "None": None,
    "[]": [],
    "nan array": np.full((2, 2), np.nan),
}
# Valid for some arguments: must raise or give a result without NaN.
SOMETIMES = {"-1": -1.0, "0": 0.0}

CASES = [
    (name, arg, label)
    for name, (fn, valid) in VALID.items()
    for arg in valid
    for label in (*NEVER, *SOMETIMES)
    # None is valid where it is the default (nc4's b, simplex_etf's d).
    if not (label == "None" and inspect.signature(fn).parameters[arg].default is None)
]
# Documented NaN entries, left out of the checks: the diagonal k = k~ of the
# inter-class block spectrum.
_OFF_DIAGONAL = ~np.eye(3, dtype=bool)
DOCUMENTED_NAN = {"block_singular_values": lambda r: (r.intra, r.inter[_OFF_DIAGONAL])}


def _floats(out) -> list[np.ndarray]:
    """Every float array in a (nested) result."""
    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()]
    if isinstance(out, np.ndarray | float | np.floating):
        return [np.asarray(out, dtype=float)]
    if hasattr(out, "_asdict"):
        out = tuple(out._asdict().values())
    if isinstance(out, tuple | list):
        return [a for o in out for a in _floats(o)]
    return []


def _result(name, out) -> list[np.ndarray]:
    return _floats(DOCUMENTED_NAN.get(name, lambda r: r)(out))


@pytest.mark.parametrize("name", VALID)
def test_valid_call_is_finite(name):
    fn, valid = VALID[name]
    assert all(np.all(np.isfinite(a)) for a in _result(name, fn(**valid)))


@pytest.mark.parametrize(("name", "arg", "label"), CASES)
def test_bad_argument_raises_value_error_naming_it(name, arg, label):
    fn, valid = VALID[name]
    bad = NEVER[label] if label in NEVER else SOMETIMES[label]
    try:
        out = fn(**(valid | {arg: bad}))
    except ValueError as err:
        message = str(err)
        assert arg in message, f"the error does not name {arg}: {message}"
        assert "np." not in message and "array(" not in message, message
        return
    assert label in SOMETIMES, f"{name}({arg}={label}) was accepted"
    assert not any(np.isnan(a).any() for a in _result(name, out)), f"{name}: NaN"


def _scaled(value, s):
    """``value`` scaled by ``s`` if it is a float array, a non-zero float or a list
    of IFM (weight, bias) layers; else None."""
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return [(w * s, b * s) for w, b in value]
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value * s
    if isinstance(value, float) and value != 0:
        return value * s
    return None


SCALED = [
    (name, arg, s)
    for name, (_, valid) in VALID.items()
    for arg, value in valid.items()
    for s in (1e-300, 1e-150, 1e150, 1e300)
    if _scaled(value, s) is not None
]


@pytest.mark.parametrize(("name", "arg", "scale"), SCALED)
@pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow noise either
def test_extreme_scale_gives_finite_result_or_value_error(name, arg, scale):
    fn, valid = VALID[name]
    try:
        out = fn(**(valid | {arg: _scaled(valid[arg], scale)}))
    except ValueError as err:
        assert str(err), "a ValueError must say what is wrong"
        return
    assert all(np.all(np.isfinite(a)) for a in _result(name, out)), name
