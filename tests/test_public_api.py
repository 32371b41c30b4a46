"""The public names of ``theory`` and ``sims``: exactly these, and all importable.

A name added to or dropped from a package's ``__all__`` is an API change: update the
list here in the same commit.
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "theory": [
        "ALPHA_01",
        "LAMBDA_01",
        "NCE_MAX_DISTANCE",
        "NCE_NOISE_STD_RANGE",
        "OMEGA",
        "OMEGA_MINUS_A",
        "OMEGA_MINUS_B",
        "OMEGA_PLUS",
        "AlphaDropout",
        "BatchNorm",
        "BlockSpectrum",
        "CentralPath",
        "ClassMeans",
        "ContinuumIntegrals",
        "ConvLayer",
        "CrossEntropyETF",
        "DeepLinearMSEMinimizer",
        "DeepLinearPoint",
        "Domain",
        "EigenData",
        "ErrorTrace",
        "ExponentFit",
        "Extreme",
        "FixedPoint",
        "FixedPointError",
        "FlowRates",
        "GaussianMeanLandscape",
        "GaussianMeanNLL",
        "IFMResult",
        "ImportanceWeightMoments",
        "KernelPair",
        "MergeStep",
        "MomentJacobian",
        "MomentMap",
        "NCEFlatness",
        "NCEHessian",
        "NCEValue",
        "NearCollapseSpectrum",
        "PerturbationOperator",
        "PowerLawSpectrum",
        "PowerLawTail",
        "RFRiskPrediction",
        "ScaleStep",
        "SeluParameters",
        "SpectrumTail",
        "Theorem1Extremes",
        "Theorem3Extremes",
        "TrackerMoments",
        "UFMMinimizer",
        "alpha_dropout_affine",
        "alpha_dropout_moments",
        "alpha_proxy",
        "beta_proxy",
        "block_singular_values",
        "canonicalize",
        "central_path_flow",
        "central_path_rates",
        "central_path_velocity",
        "class_means",
        "continuum_integrals",
        "deep_linear_ce_etf",
        "deep_linear_ce_objective",
        "deep_linear_ce_point",
        "deep_linear_class_a2",
        "deep_linear_mse_minimizer",
        "deep_linear_mse_objective",
        "deep_linear_mse_point",
        "feature_complexity",
        "fixed_point",
        "functional_classes",
        "gaussian_mean_landscape",
        "gaussian_mean_nll",
        "ifm",
        "ifm_error_trace",
        "importance_weight_moments",
        "iterate_map",
        "kernel_eigendata",
        "merge_error_bound",
        "mlp_forward",
        "moment_jacobian",
        "moment_map",
        "myrtle_ntk",
        "nc1",
        "nc1_tilde",
        "nc2",
        "nc3",
        "nc4",
        "nce_flatness",
        "nce_gaussian_mean",
        "nce_hessian_at_optimum",
        "nce_optimal_offset",
        "near_collapse_spectrum",
        "neural_tangents_available",
        "nonzero_threshold",
        "optimal_classifier",
        "optimal_fitting_ratio",
        "param_count",
        "perturbation_operator",
        "population_moment_map",
        "powerlaw_constant",
        "powerlaw_spectrum",
        "powerlaw_test_risk",
        "relu_moment_map",
        "relu_nngp_ntk",
        "relu_nngp_ntk_nt",
        "rf_ridge_risk",
        "ridgeless_test_mse",
        "selu",
        "selu_parameters",
        "simplex_etf",
        "tanh_moment_map",
        "theorem1_extremes",
        "theorem2_extreme",
        "theorem3_extremes",
        "trace_inverse_scale",
        "tracker_moments",
        "ufm_gradient",
        "ufm_minimizer",
        "ufm_objective",
        "zero_ridge_optimal",
    ],
    "sims": [
        "Chunk",
        "Experiment",
        "SweepConfig",
        "VarAttrs",
        "int_logspace",
        "param",
        "plan_chunks",
        "run_sweep",
    ],
}


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_all_is_exactly_the_public_list(package):
    module = importlib.import_module(package)
    assert module.__file__ is not None, f"{package} imported as a namespace package"
    assert list(module.__all__) == PUBLIC[package]
    assert len(set(module.__all__)) == len(module.__all__)


@pytest.mark.parametrize(
    ("package", "name"), [(p, n) for p, names in sorted(PUBLIC.items()) for n in names]
)
def test_every_public_name_is_importable(package, name):
    namespace: dict = {}
    exec(f"from {package} import {name}", namespace)
    obj = namespace[name]
    assert obj is getattr(importlib.import_module(package), name)
    assert obj is not None
    # each public name is defined in the package, not a stray re-export of a dependency
    assert getattr(obj, "__module__", package).split(".")[0] == package


def test_star_import_gives_exactly_the_public_names():
    for package, names in PUBLIC.items():
        namespace: dict = {}
        exec(f"from {package} import *", namespace)
        assert sorted(k for k in namespace if k != "__builtins__") == sorted(names)
