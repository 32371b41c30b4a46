"""Functionally equivalent features and IFM (Chen, Zhou, Yan, ICLR 2024,
arXiv:2310.06756).

One experiment per module: :mod:`sims.ifm.merge` (IFM over a β grid on trained MLPs
and a CNN with BatchNorm: width, parameters and accuracy kept, output change vs the
bound) and :mod:`sims.ifm.complexity` (feature complexity at training checkpoints,
replicated initialisation). Run
``python -m sims.ifm --sweep --experiment {merge,complexity}``.
"""

from sims.ifm import complexity
from sims.ifm import merge

__all__ = ["EXPERIMENTS", "complexity", "merge"]

EXPERIMENTS = (merge.EXPERIMENT, complexity.EXPERIMENT)
