"""The simulation tolerances the report shares with the test suite.

The report must not import ``tests/`` (it is not installed with the package), so the
values are restated here; ``tests/sims/test_report.py`` asserts that each equals its
namesake in ``tests/_tolerances.py``, where the reasons are written out in full.
Every sim-vs-theory comparison is ``|mean - theory| <= Z_SEM * SEM + allowance``.
"""

#: Standard errors allowed for sampling noise (SEM over trials).
Z_SEM = 4.0
#: RF on Gaussian data: finite-size bias of the deterministic equivalent at n = 100
#: (2% of theory for the test risk, 5% for the train risk), O(1/n).
RF_SIM_TEST_REL = 0.02
RF_SIM_TRAIN_REL = 0.05
#: RF on digits vs the eigenframework on empirical eigen-data, set at n = 64.
RF_REAL_TEST_REL = 0.08
#: SELU sims: this factor times the derived first-order bias (Edgeworth / 1/width).
SELU_SIM_ALLOWANCE_FACTOR = 2.0
#: Layer-64 moments of SELU nets of width >= 512 within this of (0, 1).
SELU_SIM_DEEP_CONVERGENCE_ATOL = 0.05
#: GD on the deep linear UFM: max relative error of diag(W W^T) (30k-step target).
NC_SIM_GD_30K_RTOL = 1e-6
#: MECO's tail mean within this of theta*.
NCE_REACH_ATOL = 0.05
#: MECO fixed-point bias allowance: this factor times gamma/(2-gamma) chi2/m.
NCE_MECO_BIAS_FACTOR = 2.0
#: Exact-mode IFM at beta = 0: change of trained-net logits (float64 rounding).
IFM_SIM_FN_ATOL = 1e-10
