"""The domain table shared by the domain tests (``test_domain.py``,
``test_domain_specific.py``): for every public theory function of the RF, power-law,
SELU and neural-collapse modules, a strategy of valid values per argument, reaching
the ends of float64 (1e-300 .. 1e300), and a list of invalid values per argument;
with the value strategies and the fixed arrays the tests share.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

import theory as T

# ------------------------------------------------------------------ value strategies


def logu(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Log-uniform floats in [lo, hi] (both > 0), endpoints included."""
    return st.one_of(
        st.sampled_from([lo, hi]),
        st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e),
    ).map(lambda x: min(max(x, lo), hi))


def signed(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), logu(lo, hi), logu(lo, hi).map(lambda x: -x))


POS = logu(1e-300, 1e300)  # any positive float64 of ordinary size
# (mu, nu, omega, tau) of the moment maps: any finite mean and weight mean, any
# positive variance and weight variance.
_GAUSS_INPUT = {
    "mu": signed(1e-300, 1e300),
    "nu": POS,
    "omega": signed(1e-300, 1e300),
    "tau": POS,
}


def _features(scale_lo=1e-300, scale_hi=1e300, K=3, n=2, d=4):
    return logu(scale_lo, scale_hi).map(
        lambda c: (
            c
            * np.random.default_rng(int(abs(math.log(c)) * 7) % 97).standard_normal(
                (d, K * n)
            )
        )
    )


# ---------------------------------------------------------------------- the tables
# name -> (function, {argument: valid strategy}, {argument: invalid values}).
# Arrays of the same length are drawn for eigvals/target_power.

_LAM = np.arange(1, 31.0) ** -1.5
_H = np.random.default_rng(0).standard_normal((4, 6))
_W = np.random.default_rng(1).standard_normal((3, 4))
_LABELS = [0, 0, 1, 1, 2, 2]
_BAD_SCALAR = [np.nan, np.inf, -np.inf, -1.0, 0.0, "x", [1.0, 2.0, 3.0, 4.0, 5.0]]
_BAD_POSITIVE = [np.nan, np.inf, -1.0, 0.0, "x"]
_BAD_FINITE = [np.nan, np.inf, -np.inf, "x"]
_BAD_MATRIX = [np.full((4, 6), np.nan), np.zeros((4, 0)), np.ones(3), "x"]

TABLE: dict[str, tuple[Callable, dict, dict]] = {
    "rf_ridge_risk": (
        lambda eigvals, target_power, **kw: T.rf_ridge_risk(
            eigvals, target_power, **kw
        ),
        {
            "eigvals": st.just(_LAM),
            "target_power": st.just(_LAM),
            "n": logu(1, 1e6),
            "k": st.one_of(logu(1, 1e6), st.just(np.inf)),
            "ridge": st.one_of(st.just(0.0), POS),
            "noise_var": st.one_of(st.just(0.0), POS),
        },
        {
            "eigvals": [[np.nan], [-1.0] * 30, [], np.ones((2, 2)), "x", [0.0] * 30],
            "target_power": [[np.nan] * 30, [-1.0] * 30, [1.0] * 29, "x"],
            "n": [np.nan, 0.5, -1.0, np.inf, "x"],
            "k": [np.nan, 0.5, -np.inf, "x"],
            "ridge": [np.nan, -1e-300, np.inf, "x"],
            "noise_var": [np.nan, -1.0, np.inf, "x"],
            "pool_size": [np.nan, 0.5, [1e3, 2e3], "x"],
        },
    ),
    "powerlaw_spectrum": (
        T.powerlaw_spectrum,
        {
            "alpha": logu(1 + 1e-12, 1e3),
            "beta": logu(1 + 1e-12, 1e3),
            "num_modes": st.integers(1, 200),
        },
        {
            "alpha": [np.nan, 1.0, np.inf, [2.0, 3.0], "x"],
            "beta": [np.nan, 0.5, np.inf, [2.0, 3.0]],
            "num_modes": [0, 1.5, np.nan, "x", -3],
        },
    ),
    "PowerLawTail.sums": (
        lambda alpha, beta, num_modes, gamma: T.PowerLawTail(
            alpha, beta, num_modes
        ).sums(gamma),
        {
            "alpha": logu(1 + 1e-9, 30.0),
            "beta": logu(1 + 1e-9, 30.0),
            "num_modes": st.integers(1, 10**6),
            "gamma": POS,
        },
        {
            "alpha": [1.0, np.nan, 1e300],
            "gamma": [-1.0, np.nan, "x"],
            "num_modes": [0, 2.5],
        },
    ),
    "PowerLawTail.bias": (
        lambda alpha, beta, num_modes, gamma, d: T.PowerLawTail(
            alpha, beta, num_modes
        ).bias(gamma, d),
        {
            "alpha": logu(1 + 1e-9, 30.0),
            "beta": logu(1 + 1e-9, 30.0),
            "num_modes": st.integers(1, 10**6),
            "gamma": st.one_of(st.just(0.0), POS),
            "d": st.floats(0, 1),
        },
        {"gamma": [-1.0, np.nan], "d": [np.nan, np.inf], "beta": [1.0]},
    ),
    "continuum_integrals": (
        T.continuum_integrals,
        {"alpha": logu(1 + 1e-12, 1e300), "beta": st.floats(1 + 1e-12, 2.999)},
        {"alpha": [1.0, np.nan, np.inf, "x"], "beta": [1.0, np.nan, 1e300]},
    ),
    "powerlaw_constant": (
        T.powerlaw_constant,
        {"alpha": logu(1 + 1e-12, 1e300), "beta": st.floats(1 + 1e-12, 2.999)},
        {"alpha": [1.0, np.nan, np.inf], "beta": [1.0, np.nan, 1e300]},
    ),
    "powerlaw_test_risk": (
        lambda R, **kw: T.powerlaw_test_risk(R, **kw),
        {
            "R": st.floats(0, 1 - 1e-16),
            "alpha": logu(1 + 1e-12, 1e300),
            "beta": st.floats(1 + 1e-12, 2.999),
            "n": logu(1, 1e300),
            "noise_rel": st.one_of(st.just(0.0), POS),
        },
        {
            "R": [1.0, -0.1, np.nan],
            "n": [0.5, np.nan, np.inf],
            "noise_rel": [-1.0, np.nan, np.inf],
        },
    ),
    "zero_ridge_optimal": (
        T.zero_ridge_optimal,
        {
            "alpha": logu(1 + 1e-12, 1e300),
            "beta": st.floats(1 + 1e-12, 2.999),
            "noise_rel": st.one_of(st.just(0.0), POS),
        },
        {
            "alpha": [1.0, np.nan],
            "beta": [1.0, 1e300],
            "noise_rel": [-1.0, np.nan, np.inf],
        },
    ),
    "optimal_fitting_ratio": (
        T.optimal_fitting_ratio,
        # the supported range: alpha <= 1e6, noise_rel <= 1e100 (ValueError beyond)
        {
            "alpha": logu(1 + 1e-6, 1e6),
            "beta": st.floats(1 + 1e-6, 2.999),
            "noise_rel": st.one_of(st.just(0.0), logu(1e-300, 1e100)),
        },
        {
            "alpha": [1.0, np.nan, 1e7, 1e300],
            "beta": [1.0, 1e300],
            "noise_rel": [-1.0, np.nan, np.inf, 1e101],
        },
    ),
    "selu": (
        lambda x, **kw: T.selu(x, **kw),
        {
            "x": signed(1e-300, 1e300),
            "alpha": signed(1e-300, 1e10),
            "lam": logu(1e-300, 1e5),
        },
        {"x": [np.nan, "x"], "alpha": [np.nan, np.inf], "lam": _BAD_POSITIVE},
    ),
    "moment_map": (
        lambda mu, nu, **kw: T.moment_map(mu, nu, **kw),
        {
            **_GAUSS_INPUT,
            "alpha": signed(1e-300, 1e10),
            "lam": logu(1e-300, 1e5),
        },
        {
            "mu": _BAD_FINITE,
            "nu": _BAD_POSITIVE,
            "omega": _BAD_FINITE,
            "tau": _BAD_POSITIVE,
            "lam": _BAD_POSITIVE,
        },
    ),
    "moment_jacobian": (
        lambda mu, nu, **kw: T.moment_jacobian(mu, nu, **kw),
        {
            **_GAUSS_INPUT,
        },
        {"mu": _BAD_FINITE, "nu": _BAD_POSITIVE, "tau": _BAD_POSITIVE},
    ),
    "relu_moment_map": (
        lambda mu, nu, **kw: T.relu_moment_map(mu, nu, **kw),
        {
            **_GAUSS_INPUT,
        },
        {"mu": _BAD_FINITE, "nu": _BAD_POSITIVE, "omega": _BAD_FINITE},
    ),
    "tanh_moment_map": (
        lambda mu, nu, **kw: T.tanh_moment_map(mu, nu, **kw),
        {
            **_GAUSS_INPUT,
            "step": st.floats(1e-3, 1.0),
        },
        {
            "mu": _BAD_FINITE,
            "nu": _BAD_POSITIVE,
            "step": [np.nan, 0.0, 2.0, "x", [0.1, 0.2]],
        },
    ),
    "population_moment_map": (
        lambda mu, nu, **kw: T.population_moment_map(mu, nu, **kw),
        {
            "mu": signed(1e-300, 1e300),
            "nu": POS,
            "activation": st.sampled_from(["selu", "relu", "tanh"]),
        },
        {
            "mu": _BAD_FINITE,
            "nu": [np.nan, -1.0, np.inf],
            "activation": ["gelu", 3, None],
        },
    ),
    "iterate_map": (
        lambda mu0, nu0, **kw: T.iterate_map(mu0, nu0, **kw),
        {
            "mu0": signed(1e-300, 1e300),
            "nu0": POS,
            "steps": st.integers(0, 5),
            "omega": signed(1e-3, 1e3),
            "tau": logu(1e-3, 1e3),
        },
        {"mu0": _BAD_FINITE, "nu0": _BAD_POSITIVE, "steps": [-1, 1.5, "x"]},
    ),
    "fixed_point": (
        lambda **kw: T.fixed_point(**kw),
        {
            "omega": st.floats(-0.1, 0.1),
            "tau": st.floats(0.95, 1.1),
            "maxiter": st.integers(500, 5000),
        },
        {
            "omega": _BAD_FINITE,
            "tau": _BAD_POSITIVE,
            "xtol": [0.0, np.nan],
            "maxiter": [0, 1.5],
        },
    ),
    "selu_parameters": (
        lambda mu_f, nu_f, **kw: T.selu_parameters(mu_f, nu_f, **kw),
        {
            "mu_f": signed(1e-300, 1e300),
            "nu_f": POS,
            "omega": signed(1e-3, 1e3),
            "tau": logu(1e-3, 1e3),
        },
        {"mu_f": _BAD_FINITE, "nu_f": _BAD_POSITIVE, "alpha_max": [0.0, np.nan]},
    ),
    "alpha_dropout_affine": (
        lambda q, **kw: T.alpha_dropout_affine(q, **kw),
        {"q": logu(1e-300, 1.0), "mu_f": signed(1e-300, 1e300), "nu_f": POS},
        {
            "q": [0.0, 1.5, np.nan, "x"],
            "mu_f": _BAD_FINITE,
            "nu_f": _BAD_POSITIVE,
            "alpha": [[1.0, 2.0]],
        },
    ),
    "alpha_dropout_moments": (
        lambda mu, nu, **kw: T.alpha_dropout_moments(mu, nu, **kw),
        {
            "mu": signed(1e-300, 1e300),
            "nu": POS,
            "q": logu(1e-300, 1.0),
            "mu_f": signed(1e-3, 1e3),
            "nu_f": logu(1e-3, 1e3),
        },
        {"mu": _BAD_FINITE, "nu": _BAD_POSITIVE, "q": [0.0, 1.5, np.nan]},
    ),
    "deep_linear_mse_minimizer": (
        lambda class_sizes, **kw: T.deep_linear_mse_minimizer(class_sizes, **kw),
        {
            "class_sizes": st.lists(st.integers(1, 10**6), min_size=2, max_size=5),
            "depth": st.integers(1, 6),
            "lam_w": POS,
            "lam_h": POS,
            "branch": st.sampled_from(["global", "largest_root"]),
        },
        {
            "class_sizes": [[1], [0, 2], [1.5, 2], ["a", "b"], [[1, 2]], [2.0**60, 1]],
            "depth": [0, 1.5, "x"],
            "lam_w": _BAD_SCALAR,
            "lam_h": _BAD_SCALAR,
            "branch": ["best"],
        },
    ),
    "deep_linear_class_a2": (
        lambda class_size, **kw: T.deep_linear_class_a2(class_size, **kw),
        {
            "class_size": logu(1e-3, 1e12),
            "num_samples": logu(1, 1e15),
            "depth": st.integers(1, 6),
            "lam_w": POS,
            "lam_h": POS,
        },
        {
            "class_size": [0.0, np.nan, "x"],
            "num_samples": _BAD_POSITIVE,
            "lam_w": _BAD_SCALAR,
            "lam_h": _BAD_SCALAR,
        },
    ),
    "deep_linear_ce_etf": (
        lambda K, n, **kw: T.deep_linear_ce_etf(K, n, **kw),
        {
            "K": st.integers(2, 50),
            "n": st.integers(1, 10**6),
            "depth": st.integers(1, 6),
            "lam_w": POS,
            "lam_h": POS,
        },
        {"K": [1, 2.5, "x"], "n": [0, 1.5], "lam_w": _BAD_SCALAR, "lam_h": _BAD_SCALAR},
    ),
    "ufm_minimizer": (
        lambda K, n, d, **kw: T.ufm_minimizer(K, n, d, **kw),
        {
            "K": st.integers(2, 5),
            "n": st.integers(1, 4),
            "d": st.integers(5, 7),
            "lam_w": POS,
            "lam_h": POS,
        },
        {"K": [1, 2.5], "n": [0], "d": [1], "lam_w": _BAD_SCALAR, "lam_h": _BAD_SCALAR},
    ),
    "ufm_objective": (
        lambda W, H, **kw: T.ufm_objective(W, H, K=3, **kw),
        {
            "W": logu(1e-300, 1e300).map(lambda c: c * _W),
            "H": _features(),
            "lam_w": POS,
            "lam_h": POS,
        },
        {
            "W": [_W * np.nan, np.ones((2, 4)), "x"],
            "H": _BAD_MATRIX,
            "lam_w": _BAD_SCALAR,
            "beta": [-1.0, np.nan],
        },
    ),
    "optimal_classifier": (
        lambda H, **kw: T.optimal_classifier(H, K=3, **kw),
        {"H": _features(), "lam_w": POS},
        {"H": _BAD_MATRIX, "lam_w": _BAD_SCALAR},
    ),
    "central_path_velocity": (
        lambda H, **kw: T.central_path_velocity(H, K=3, **kw),
        {"H": _features(), "lam_w": POS, "lam_h": st.one_of(st.just(0.0), POS)},
        {
            "H": _BAD_MATRIX,
            "lam_w": _BAD_SCALAR,
            "lam_h": [np.nan, -1.0, np.inf, [1.0, 2.0]],
        },
    ),
    "near_collapse_spectrum": (
        lambda **kw: T.near_collapse_spectrum(3, 2, 4, **kw),
        {"beta": POS, "lam_w": POS, "lam_h": POS},
        {"beta": _BAD_POSITIVE, "lam_w": _BAD_POSITIVE, "lam_h": _BAD_POSITIVE},
    ),
    "nc1_tilde": (
        lambda H: T.nc1_tilde(H, _LABELS),
        {"H": _features()},
        {"H": _BAD_MATRIX},
    ),
    "nc2": (
        lambda M, **kw: T.nc2(M, **kw),
        {
            "M": logu(1e-300, 1e300).map(lambda c: c * _H[:, :3]),
            "frame": st.sampled_from(["etf", "of"]),
        },
        {
            "M": [np.full((4, 3), np.nan), np.zeros((4, 3)), np.ones(3)],
            "frame": ["tight"],
        },
    ),
    "nc3": (
        lambda W, M: T.nc3(W, M),
        {
            "W": logu(1e-300, 1e300).map(lambda c: c * _W),
            "M": logu(1e-300, 1e300).map(lambda c: c * _W.T),
        },
        {
            "W": [_W * np.nan, np.zeros((3, 4)), np.ones((4, 3))],
            "M": [np.full((4, 3), np.inf)],
        },
    ),
}

# Entries above whose valid strategies include documented non-finite outputs.
_DOCUMENTED_NONFINITE = {"PowerLawTail.sums"}  # sums(0) = inf (infinitely many L_i = 1)


def _assert_finite(out) -> None:
    values = out if isinstance(out, tuple) else (out,)
    for v in values:
        if isinstance(v, list):  # DeepLinearPoint weights
            continue
        arr = np.asarray(v)
        if arr.dtype.kind in "fc":
            assert not np.any(np.isnan(arr)), f"NaN in {out!r}"
            assert np.all(np.isfinite(arr)), f"non-finite value in {out!r}"
