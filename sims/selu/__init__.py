r"""Self-normalizing networks: SELU layers and deep nets, simulated against theory.

Klambauer, Unterthiner, Mayr & Hochreiter (2017), "Self-Normalizing Neural Networks",
arXiv:1706.02515. Three experiments, one module each, all writing grids under
``results/selu/``:

- :mod:`sims.selu.layer` (``layer``): one SELU layer, Monte Carlo, against the
  moment map; dims ``mu, nu, omega, tau, trial``.
- :mod:`sims.selu.deep` (``deep``): per-layer moments of deep LeCun-normal nets
  (SELU, SELU + alpha-dropout, ReLU, tanh) against the iterated moment maps; dims
  ``activation, start, width, layer, trial``.
- :mod:`sims.selu.train` (``train``): the paper's Fig. 1 protocol on scikit-learn's
  digits, SELU vs ReLU + BatchNorm; dims ``activation, depth, seed, step``.

Run ``python -m sims.selu --sweep --experiment layer|deep|train`` (see ``--help``).
"""

from __future__ import annotations

from sims._cli import module_main
from sims.selu._common import alpha_dropout
from sims.selu._common import load_digits_standardized
from sims.selu._common import selu
from sims.selu.deep import ACTIVATIONS
from sims.selu.deep import DEEP
from sims.selu.deep import DEEP_PRESETS
from sims.selu.deep import SeluDeepSweep
from sims.selu.deep import deep_theory
from sims.selu.deep import simulate_deep
from sims.selu.layer import INPUTS
from sims.selu.layer import LAYER
from sims.selu.layer import LAYER_PRESETS
from sims.selu.layer import SeluLayerSweep
from sims.selu.layer import simulate_layer
from sims.selu.train import TRAIN
from sims.selu.train import TRAIN_ACTIVATIONS
from sims.selu.train import TRAIN_PRESETS
from sims.selu.train import SeluTrainSweep
from sims.selu.train import simulate_train

__all__ = [
    "ACTIVATIONS",
    "DEEP",
    "DEEP_PRESETS",
    "EXPERIMENTS",
    "INPUTS",
    "LAYER",
    "LAYER_PRESETS",
    "TRAIN",
    "TRAIN_ACTIVATIONS",
    "TRAIN_PRESETS",
    "SeluDeepSweep",
    "SeluLayerSweep",
    "SeluTrainSweep",
    "alpha_dropout",
    "deep_theory",
    "load_digits_standardized",
    "main",
    "selu",
    "simulate_deep",
    "simulate_layer",
    "simulate_train",
]

#: Every experiment of the paper, in ``--experiment`` order (the first is the default).
EXPERIMENTS = (LAYER, DEEP, TRAIN)


main = module_main("sims.selu", __doc__.splitlines()[0])
