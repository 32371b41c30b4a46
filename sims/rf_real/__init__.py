"""Random-feature and kernel regression on real data (scikit-learn's digits).

Three experiments of Simon, Karkada, Ghosh & Belkin (2024), arXiv:2311.14646, on the
8x8 digits that ship with scikit-learn: :mod:`sims.rf_real.spectra` (eigen-data and
the exponent proxies of the infinite-width ReLU kernels), :mod:`sims.rf_real.rf`
(random ReLU features vs the RF eigenframework fed with the empirical NNGP
eigen-data) and :mod:`sims.rf_real.fitting_ratio` (kernel regression with the NTK
over a ridge grid at several noise levels: the optimal fitting ratio).
``python -m sims.rf_real --sweep --experiment spectra|rf|fitting_ratio``.
"""

from sims.rf_real import fitting_ratio
from sims.rf_real import rf
from sims.rf_real import spectra

EXPERIMENTS = (spectra.EXPERIMENT, rf.EXPERIMENT, fitting_ratio.EXPERIMENT)

__all__ = ["EXPERIMENTS"]
