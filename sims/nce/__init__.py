"""MECO versus NCE for unnormalized models (Jiang et al., ICML 2023, arXiv:2306.07485).

One experiment per module: :mod:`sims.nce.gaussian` (1-D Gaussian mean, stochastic
runs), :mod:`sims.nce.landscape` (population and Monte Carlo loss/gradient
landscapes), :mod:`sims.nce.density` (MLP energies on 2-D toy densities). Run
``python -m sims.nce --sweep --experiment {gaussian,landscape,density}``.
"""

from sims.nce import density
from sims.nce import gaussian
from sims.nce import landscape

__all__ = ["EXPERIMENTS", "density", "gaussian", "landscape"]

EXPERIMENTS = (gaussian.EXPERIMENT, landscape.EXPERIMENT, density.EXPERIMENT)
