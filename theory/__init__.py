"""Closed forms: pure float64 functions of arrays, one module per result."""

from theory._solve import FixedPointError
from theory.feature_merging import BatchNorm
from theory.feature_merging import ConvLayer
from theory.feature_merging import ErrorTrace
from theory.feature_merging import IFMResult
from theory.feature_merging import MergeStep
from theory.feature_merging import ScaleStep
from theory.feature_merging import canonicalize
from theory.feature_merging import feature_complexity
from theory.feature_merging import functional_classes
from theory.feature_merging import ifm
from theory.feature_merging import ifm_error_trace
from theory.feature_merging import merge_error_bound
from theory.feature_merging import mlp_forward
from theory.feature_merging import param_count
from theory.kernels import EigenData
from theory.kernels import ExponentFit
from theory.kernels import KernelPair
from theory.kernels import alpha_proxy
from theory.kernels import beta_proxy
from theory.kernels import kernel_eigendata
from theory.kernels import myrtle_ntk
from theory.kernels import neural_tangents_available
from theory.kernels import relu_nngp_ntk
from theory.kernels import relu_nngp_ntk_nt
from theory.kernels import ridgeless_test_mse
from theory.kernels import trace_inverse_scale
from theory.nce import NCE_MAX_DISTANCE
from theory.nce import NCE_NOISE_STD_RANGE
from theory.nce import GaussianMeanLandscape
from theory.nce import GaussianMeanNLL
from theory.nce import ImportanceWeightMoments
from theory.nce import NCEFlatness
from theory.nce import NCEHessian
from theory.nce import NCEValue
from theory.nce import TrackerMoments
from theory.nce import gaussian_mean_landscape
from theory.nce import gaussian_mean_nll
from theory.nce import importance_weight_moments
from theory.nce import nce_flatness
from theory.nce import nce_gaussian_mean
from theory.nce import nce_hessian_at_optimum
from theory.nce import nce_optimal_offset
from theory.nce import tracker_moments
from theory.neural_collapse import BlockSpectrum
from theory.neural_collapse import CentralPath
from theory.neural_collapse import ClassMeans
from theory.neural_collapse import CrossEntropyETF
from theory.neural_collapse import DeepLinearMSEMinimizer
from theory.neural_collapse import DeepLinearPoint
from theory.neural_collapse import FlowRates
from theory.neural_collapse import NearCollapseSpectrum
from theory.neural_collapse import PerturbationOperator
from theory.neural_collapse import UFMMinimizer
from theory.neural_collapse import block_singular_values
from theory.neural_collapse import central_path_flow
from theory.neural_collapse import central_path_rates
from theory.neural_collapse import central_path_velocity
from theory.neural_collapse import class_means
from theory.neural_collapse import deep_linear_ce_etf
from theory.neural_collapse import deep_linear_ce_objective
from theory.neural_collapse import deep_linear_ce_point
from theory.neural_collapse import deep_linear_class_a2
from theory.neural_collapse import deep_linear_mse_minimizer
from theory.neural_collapse import deep_linear_mse_objective
from theory.neural_collapse import deep_linear_mse_point
from theory.neural_collapse import nc1
from theory.neural_collapse import nc1_tilde
from theory.neural_collapse import nc2
from theory.neural_collapse import nc3
from theory.neural_collapse import nc4
from theory.neural_collapse import near_collapse_spectrum
from theory.neural_collapse import nonzero_threshold
from theory.neural_collapse import optimal_classifier
from theory.neural_collapse import perturbation_operator
from theory.neural_collapse import simplex_etf
from theory.neural_collapse import ufm_gradient
from theory.neural_collapse import ufm_minimizer
from theory.neural_collapse import ufm_objective
from theory.rf_powerlaw import ContinuumIntegrals
from theory.rf_powerlaw import PowerLawSpectrum
from theory.rf_powerlaw import PowerLawTail
from theory.rf_powerlaw import continuum_integrals
from theory.rf_powerlaw import optimal_fitting_ratio
from theory.rf_powerlaw import powerlaw_constant
from theory.rf_powerlaw import powerlaw_spectrum
from theory.rf_powerlaw import powerlaw_test_risk
from theory.rf_powerlaw import zero_ridge_optimal
from theory.rf_ridge import RFRiskPrediction
from theory.rf_ridge import SpectrumTail
from theory.rf_ridge import rf_ridge_risk
from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import OMEGA
from theory.selu_moments import OMEGA_MINUS_A
from theory.selu_moments import OMEGA_MINUS_B
from theory.selu_moments import OMEGA_PLUS
from theory.selu_moments import AlphaDropout
from theory.selu_moments import Domain
from theory.selu_moments import Extreme
from theory.selu_moments import FixedPoint
from theory.selu_moments import MomentJacobian
from theory.selu_moments import MomentMap
from theory.selu_moments import SeluParameters
from theory.selu_moments import Theorem1Extremes
from theory.selu_moments import Theorem3Extremes
from theory.selu_moments import alpha_dropout_affine
from theory.selu_moments import alpha_dropout_moments
from theory.selu_moments import fixed_point
from theory.selu_moments import iterate_map
from theory.selu_moments import moment_jacobian
from theory.selu_moments import moment_map
from theory.selu_moments import population_moment_map
from theory.selu_moments import relu_moment_map
from theory.selu_moments import selu
from theory.selu_moments import selu_parameters
from theory.selu_moments import tanh_moment_map
from theory.selu_moments import theorem1_extremes
from theory.selu_moments import theorem2_extreme
from theory.selu_moments import theorem3_extremes

__all__ = [
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
]
