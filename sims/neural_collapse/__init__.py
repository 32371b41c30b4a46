r"""Neural collapse: gradient descent on unconstrained-features models, in torch.

Four experiments, one module each, all writing grids under
``results/neural_collapse/``:

- :mod:`sims.neural_collapse.ufm` (``ufm``): full-batch SGD with momentum on the deep
  linear unconstrained-features model (Dang et al., ICML 2023, arXiv:2301.00437)
  against its closed forms.
- :mod:`sims.neural_collapse.perturbation` (``perturbation``): the response of the
  UFM minimizer to perturbed features by finite differences against Theorems 4.1-4.2
  of Tirer, Huang & Niles-Weed (ICML 2023, arXiv:2210.16658).
- :mod:`sims.neural_collapse.central_path` (``central_path``): the central-path flow
  and proximal minimizers (Theorem 3.1, Corollary 3.2 of the same paper).
- :mod:`sims.neural_collapse.digits` (``digits``): a ReLU MLP trained layer by layer
  on scikit-learn's digits, NC1 of the deepest features.

Run ``python -m sims.neural_collapse --sweep --experiment E [--preset P]``.
"""

from __future__ import annotations

from sims._cli import module_main
from sims._config import SweepConfig
from sims.neural_collapse import central_path as _central_path
from sims.neural_collapse import digits as _digits
from sims.neural_collapse import perturbation as _perturbation
from sims.neural_collapse import ufm as _ufm
from sims.neural_collapse._common import BALANCED
from sims.neural_collapse._common import CIFAR10_IMB
from sims.neural_collapse._common import IMBALANCED
from sims.neural_collapse._common import batched_metrics
from sims.neural_collapse._common import parse_profile
from sims.neural_collapse.central_path import CENTRAL_PATH
from sims.neural_collapse.central_path import CentralPathSweep
from sims.neural_collapse.central_path import simulate_central_path
from sims.neural_collapse.digits import DIGITS
from sims.neural_collapse.digits import DigitsSweep
from sims.neural_collapse.digits import simulate_digits
from sims.neural_collapse.perturbation import PERTURBATION
from sims.neural_collapse.perturbation import PerturbationSweep
from sims.neural_collapse.perturbation import perturbation_theory
from sims.neural_collapse.perturbation import simulate_perturbation
from sims.neural_collapse.ufm import UFM
from sims.neural_collapse.ufm import DeepUFMSweep
from sims.neural_collapse.ufm import simulate_ufm
from sims.neural_collapse.ufm import ufm_targets
from sims.neural_collapse.ufm import ufm_theory

__all__ = [
    "BALANCED",
    "CENTRAL_PATH",
    "CIFAR10_IMB",
    "DIGITS",
    "EXPERIMENTS",
    "IMBALANCED",
    "PERTURBATION",
    "PRESETS",
    "UFM",
    "CentralPathSweep",
    "DeepUFMSweep",
    "DigitsSweep",
    "PerturbationSweep",
    "batched_metrics",
    "main",
    "parse_profile",
    "perturbation_theory",
    "simulate_central_path",
    "simulate_digits",
    "simulate_perturbation",
    "simulate_ufm",
    "ufm_targets",
    "ufm_theory",
]

#: Every experiment of the paper, in ``--experiment`` order (the first is the default).
EXPERIMENTS = (UFM, PERTURBATION, CENTRAL_PATH, DIGITS)

#: ``PRESETS[experiment][preset]``: each experiment's presets (from its module).
PRESETS: dict[str, dict[str, SweepConfig]] = {
    "ufm": _ufm.PRESETS,
    "perturbation": _perturbation.PRESETS,
    "central_path": _central_path.PRESETS,
    "digits": _digits.PRESETS,
}


main = module_main("sims.neural_collapse", __doc__.splitlines()[0])
