"""Closed forms: pure float64 functions of arrays, one module per result."""

from theory._solve import FixedPointError
from theory.rf_ridge import RFRiskPrediction
from theory.rf_ridge import rf_ridge_risk

__all__ = [
    "FixedPointError",
    "RFRiskPrediction",
    "rf_ridge_risk",
]
