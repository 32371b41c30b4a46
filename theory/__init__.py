"""Closed forms: pure float64 functions of arrays, one module per result.

The public names are those of the result modules' ``__all__`` (each module lists its
own once), plus :class:`FixedPointError`.
"""

from theory import feature_merging
from theory import kernels
from theory import nce
from theory import neural_collapse
from theory import rf_powerlaw
from theory import rf_ridge
from theory import selu_moments
from theory._solve import FixedPointError
from theory.feature_merging import *  # noqa: F403
from theory.kernels import *  # noqa: F403
from theory.nce import *  # noqa: F403
from theory.neural_collapse import *  # noqa: F403
from theory.rf_powerlaw import *  # noqa: F403
from theory.rf_ridge import *  # noqa: F403
from theory.selu_moments import *  # noqa: F403

__all__ = [
    "FixedPointError",
    *feature_merging.__all__,
    *kernels.__all__,
    *nce.__all__,
    *neural_collapse.__all__,
    *rf_powerlaw.__all__,
    *rf_ridge.__all__,
    *selu_moments.__all__,
]
