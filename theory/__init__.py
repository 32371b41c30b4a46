"""Closed forms: pure float64 functions of arrays, one module per result."""

from theory._solve import FixedPointError
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
    "ContinuumIntegrals",
    "FixedPointError",
    "PowerLawSpectrum",
    "PowerLawTail",
    "RFRiskPrediction",
    "SpectrumTail",
    "continuum_integrals",
    "optimal_fitting_ratio",
    "powerlaw_constant",
    "powerlaw_spectrum",
    "powerlaw_test_risk",
    "rf_ridge_risk",
    "zero_ridge_optimal",
]
