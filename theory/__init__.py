"""Closed forms: pure float64 functions of arrays, one module per result."""

from theory._solve import FixedPointError
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

__all__ = [
    "BlockSpectrum",
    "CentralPath",
    "ClassMeans",
    "ContinuumIntegrals",
    "CrossEntropyETF",
    "DeepLinearMSEMinimizer",
    "DeepLinearPoint",
    "FixedPointError",
    "FlowRates",
    "NearCollapseSpectrum",
    "PerturbationOperator",
    "PowerLawSpectrum",
    "PowerLawTail",
    "RFRiskPrediction",
    "SpectrumTail",
    "UFMMinimizer",
    "block_singular_values",
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
    "nc1",
    "nc1_tilde",
    "nc2",
    "nc3",
    "nc4",
    "near_collapse_spectrum",
    "nonzero_threshold",
    "optimal_classifier",
    "optimal_fitting_ratio",
    "perturbation_operator",
    "powerlaw_constant",
    "powerlaw_spectrum",
    "powerlaw_test_risk",
    "rf_ridge_risk",
    "simplex_etf",
    "ufm_gradient",
    "ufm_minimizer",
    "ufm_objective",
    "zero_ridge_optimal",
]
