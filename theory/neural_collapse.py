r"""Neural collapse: NC metrics, perturbation analysis, deep-linear ETF geometry.

Three sources made executable (derivations: ``docs/derivations/neural_collapse.md``):

- the NC1-NC4 metrics of Papyan, Han & Donoho (PNAS 2020) and the simplex ETF;
- Paper A, Tirer, Huang & Niles-Weed, "Perturbation Analysis of Neural Collapse",
  ICML 2023, arXiv:2210.16658: the UFM minimizer (Theorem 2.1), the optimal
  classifier and the central-path flow (Theorem 3.1, Corollary 3.2), the
  first-order perturbation operator ``F`` (Theorem 4.1) and its near-collapse block
  spectrum (Theorem 4.2);
- Paper B, Dang et al., "Neural Collapse in Deep Linear Networks: From Balanced to
  Imbalanced Data", ICML 2023, arXiv:2301.00437: the closed-form global minimizer of
  the deep linear UFM with MSE for any class sizes, depth and layer weight decays,
  and the CE simplex-ETF reduction.

Everything is pure float64 numpy; the scalar roots go through
:func:`theory._solve.solve_bracketed`. Conventions of each metric are in
``theory._nc_metrics``; derivations in ``docs/derivations/neural_collapse.md``.
"""

from theory._nc_deep_ce import CrossEntropyETF
from theory._nc_deep_ce import deep_linear_ce_etf
from theory._nc_deep_ce import deep_linear_ce_point
from theory._nc_deep_linear import DeepLinearMSEMinimizer
from theory._nc_deep_linear import DeepLinearPoint
from theory._nc_deep_linear import deep_linear_class_a2
from theory._nc_deep_linear import deep_linear_mse_minimizer
from theory._nc_deep_linear import deep_linear_mse_point
from theory._nc_deep_linear import nonzero_threshold
from theory._nc_deep_objectives import deep_linear_ce_objective
from theory._nc_deep_objectives import deep_linear_mse_objective
from theory._nc_metrics import ClassMeans
from theory._nc_metrics import class_means
from theory._nc_metrics import nc1
from theory._nc_metrics import nc1_tilde
from theory._nc_metrics import nc2
from theory._nc_metrics import nc3
from theory._nc_metrics import nc4
from theory._nc_metrics import simplex_etf
from theory._nc_perturbation import BlockSpectrum
from theory._nc_perturbation import FlowRates
from theory._nc_perturbation import NearCollapseSpectrum
from theory._nc_perturbation import PerturbationOperator
from theory._nc_perturbation import block_singular_values
from theory._nc_perturbation import central_path_rates
from theory._nc_perturbation import near_collapse_spectrum
from theory._nc_perturbation import perturbation_operator
from theory._nc_ufm import CentralPath
from theory._nc_ufm import UFMMinimizer
from theory._nc_ufm import central_path_flow
from theory._nc_ufm import central_path_velocity
from theory._nc_ufm import optimal_classifier
from theory._nc_ufm import ufm_gradient
from theory._nc_ufm import ufm_minimizer
from theory._nc_ufm import ufm_objective

__all__ = [
    "BlockSpectrum",
    "CentralPath",
    "ClassMeans",
    "CrossEntropyETF",
    "DeepLinearMSEMinimizer",
    "DeepLinearPoint",
    "FlowRates",
    "NearCollapseSpectrum",
    "PerturbationOperator",
    "UFMMinimizer",
    "block_singular_values",
    "central_path_flow",
    "central_path_rates",
    "central_path_velocity",
    "class_means",
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
    "perturbation_operator",
    "simplex_etf",
    "ufm_gradient",
    "ufm_minimizer",
    "ufm_objective",
]
