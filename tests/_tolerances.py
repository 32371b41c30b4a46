"""Every numerical tolerance the tests use, in one place, with its reason."""

import numpy as np

# Float64 theory against an exact value or an algebraic identity.
F64_RTOL = 1e-10
# Fixed-point residuals returned by the solvers (docs/derivations/rf_ridge.md §8.2,
# property 1).
RESIDUAL_RTOL = 1e-10
# Per-dtype tolerance for comparing two implementations of the same computation.
IMPL_RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 5e-4}
# Simulation vs theory: |mean - theory| <= Z_SEM * SEM + allowance * |theory|.
Z_SEM = 4.0

# --- rf_ridge_risk (tests/theory/test_rf_ridge.py) -----------------------------------
# Two float64 solves of the same fixed point (rescaled, permuted, in a bigger grid, or
# the n<->k mirror): the solver stops at ~1e-12 relative in gamma (_XTOL) on sums
# tabulated to ~1e-14, and E_te moves by at most a few times that away from the
# delta = 0 peak.
SOLVE_RTOL = 1e-10
# The package against the independent brentq solve of the one-line gamma equation
# (docs/derivations/rf_ridge.md §1) (and recomputations of E_0 = 1/(1-x), E_te = E_0
# [sum b v^2 + s^2] from the returned gamma): the x-form of E_0 (rf_ridge.md §0) loses
# ~(k/(k-q)) eps to cancellation in k - z, n - z at the tiniest ridges (1e-6), so a
# decade looser than IMPL_RTOL.
RF_REFERENCE_RTOL = 1e-9
# Inequalities that are exact in real arithmetic (kappa <= gamma, b_i in [0, 1],
# E_te >= sigma^2, monotonicity in n, k) may be violated by rounding of M-term sums.
BOUND_RTOL = 1e-12
# Limits (rf_ridge.md §8.1, property 7), each at a point where the analytic gap is far
# smaller (k -> inf: K_INF_GAP_FACTOR below);
# n -> approximation error at n = 1e12 (rf_ridge.md §8.1 setting) or n = 1e13 (k +
# delta/gamma_k) (gap O(k/n) + O(delta/(n gamma_k)) ~ 1e-13..1e-10, times the
# sensitivity of E_te to z near k, up to ~1e2 for steep spectra);
N_INF_RTOL = 1e-8
# delta = 1e13 n tr(lambda) -> null predictor (gap O(n tr/delta) = 1e-13);
RIDGE_INF_RTOL = 1e-10
# delta = 1e-14 min(lambda) -> the delta = 0 branch where the gap is linear in delta
# (every case but k = M < n, rf_ridge.md §4.1): gap ~ 1e-14 times the sensitivity;
RIDGE_ZERO_RTOL = 1e-6
# k = M < n: the gap goes as sqrt(delta) and must match rf_ridge.md §4.1's leading
# order; the neglected terms are O(rho), rho = gamma T1/(n - M) + gamma/min(lambda),
# with coefficients of order one (measured up to 2.0 rho at M = 50..2000,
# n - M = 3..794);
RIDGE_SQRT_FACTOR = 5.0
# gamma at n >= M or k >= M against a 60-digit solve: the polish stops at steps of
# 4 eps in log gamma and sums ~50 terms (measured <= 4.7e-15 at delta down to
# 1e-30 min(lambda)); the old cancelling form was off by 1e-8 at 1e-14 min(lambda).
FULL_RANK_GAMMA_RTOL = 1e-13
# |k - n| E_te at |k - n| = 1e-6 n, delta = 0 -> n [sum (1-L) v^2 + s^2]: the test
# allows the analytic first-order gap 3 |k - n|/(n - q) explicitly; PEAK_RTOL is the
# numerical part, E_te's conditioning n/|k - n| ~ 1e6 times ~1e-13 of z and q.
PEAK_RTOL = 1e-6
# Theorem 1 (rf_ridge.md §8.2, property 9): min over ridge by a 0.02-decade log grid
# refined with minimize_scalar (xatol 1e-7 in log10 delta): E* is resolved to ~1e-12
# relative; the margin covers a second local minimum being missed by the grid by a hair.
THEOREM1_RTOL = 1e-6
# Chebyshev tables of spectral sums vs direct summation: the panels are refined until
# trailing coefficients are below 1e-14 of the panel's scale; allow 10x for Clenshaw.
TABLE_RTOL = 1e-13

# --- rf_risk simulation (tests/sims/test_rf_risk.py) ---------------------------------
# Sim vs theory, docs/derivations/rf_ridge.md §8.4 (M = pool = 800, n = 100, 40 trials,
# k outside [0.5n, 1.2n]): |mean - theory| <= Z_SEM * SEM + RF_SIM_TEST_REL * |theory|.
# Our earlier Monte Carlo at exactly this size found the 40-trial mean within 2% of the
# theory there. That 2% includes the sampling noise, which Z_SEM * SEM covers
# separately, so 2% bounds the finite-size bias of the deterministic equivalent (its
# O(1/n), O(1/k) corrections) at this size.
RF_SIM_TEST_REL = 0.02
# Train risk at the same size: in that same Monte Carlo (rf_ridge.md §8.4) the
# train-error formula agreed to within about 5%.
RF_SIM_TRAIN_REL = 0.05
# The always-run version at half the size (n = 50, M = pool = 400, 16 trials, same
# k/n ratios): the finite-size corrections are O(1/n), so halving n doubles both.
RF_SIM_TEST_REL_SMALL = 2 * RF_SIM_TEST_REL
RF_SIM_TRAIN_REL_SMALL = 2 * RF_SIM_TRAIN_REL
# Interpolation (k >= n, ridge <= 1e-10): the train residual is delta (K + delta)^-1 y,
# so train MSE <= (delta / s_min(K))^2 mean(y^2); with s_min(K) >~ 1e-4 for the smoke
# spectrum at k >= n = 48 that is <= 1e-12 of mean(y^2) (ridge 0: rounding, ~1e-20).
# Measured: <= 2e-14 relative. The bound is 1e-10 relative to sum(v^2) + sigma^2.
INTERP_TRAIN_RTOL = 1e-10

# Neural collapse (theory).
# Float64 algebraic identities (ETF Gram, zero metrics, invariances of closed forms).
NC_EXACT_ATOL = 1e-12
# NC1 invariances: two float64 evaluations of Tr(S_W S_B^+) after O(1) rescalings.
NC_INVARIANCE_RTOL = 1e-9
# The docs/derivations/neural_collapse.md §6.3 table is printed to 6 decimals
# (objectives to 7): abs rounding <= 5e-7.
NC_TABLE_ATOL = 1e-6
# Stationarity of closed forms: gradients are sums of O(1) terms, rounding ~1e-15.
NC_STATIONARY_ATOL = 1e-10
# L-BFGS (scipy, gtol 1e-12 on O(1) objectives) finds minima to ~1e-12 in value; the
# closed form may not be above it by more than this.
NC_LBFGS_VALUE_ATOL = 1e-10
# Corollary 2.2: the minimizer from a perturbed start (neural_collapse.md §6.6, 6).
NC_COR22_ATOL = 1e-7
# Theorem 4.1 vs central differences at eps = 1e-5 (neural_collapse.md §6.6, 9: 1e-3,
# sized for a one-sided difference; the central one is O(eps^2) + O(1e-16/eps) ~ 1e-10).
NC_THM41_RTOL = 1e-3
# Deep linear closed form vs L-BFGS (neural_collapse.md §6.6, 12): L-BFGS stops at
# |grad| ~1e-11, the a_k^2 are resolved to ~1e-7 relative.
NC_DEEP_RTOL = 1e-5
# CE ETF value vs L-BFGS at M = 1 (neural_collapse.md §6.6, 16).
NC_CE_ATOL = 1e-8
# Deep linear class quantities from a_k^2 at decays up to 1e+-300 vs 50-digit mpmath:
# a handful of roundings (measured <= 1.5e-16); g_k also carries lbar =
# exp(mean log lam_W), whose relative error is |log lam_W| eps (added per case).
NC_EXTREME_RTOL = 1e-14
# Cross-entropy (and MSE) objectives vs 50-digit mpmath: each value is a few
# correctly rounded operations on terms of one sign (CE: exp, a two-term sum, log1p,
# a mean of 3; MSE: a product, a square, a sum, a halving mean; rescalings by powers
# of two are exact), each <= eps/2 relative: 8 of them, <= 4 eps.
NC_CE_MPMATH_RTOL = 4 * np.finfo(np.float64).eps
# NC1 of 1 + delta A vs NC1 of A: the shifted means and deviations carry absolute
# rounding ~N eps (Higham, recursive summation) against separations ~delta, i.e.
# relative N eps / delta, amplified by NC1's O(1) condition (a ratio of quadratic
# forms): this many N eps / delta, relative. Measured at most 0.11 of it (nc1,
# delta = 1e-10 and 1e-6, tests/theory/test_nc_inputs.py); 2 leaves a factor 18.
NC_SEPARATION_ROUNDINGS = 2

# Neural collapse (simulations).
# Two float64 implementations of the same formula (torch batched vs numpy).
NC_SIM_IMPL_RTOL = 1e-10
# Batched vs one-cell runs: identical arithmetic up to BLAS reassociation, amplified
# over 2000 steps of a contracting iteration; still at rounding level.
NC_SIM_BATCH_RTOL = 1e-9
# The GD linear regime starts once the relative error of diag(WW^T) is below this.
NC_SIM_LINEAR_REGIME = 0.1
# The derivations/neural_collapse.md §6.3 target for the 30k-step runs.
NC_SIM_GD_30K_RTOL = 1e-6

# SELU moment maps (theory).
# Closed form vs adaptive scipy quad at epsrel 1e-13 (our target 1e-9,
# docs/derivations/selu_moments.md §12.10; the
# measured worst gap over the domain is ~5e-12).
SELU_QUAD_RTOL = 1e-9
# Stable erfcx form vs the plain erfc form (selu_moments.md §12.1) where both are
# finite: identical formulas up to rounding of exp*erfc products and the centred
# variance (~1e-14).
SELU_PLAIN_RTOL = 1e-11
# 50-digit mpmath quadrature vs float64, including |m| >> sqrt(v) (cancellation).
SELU_MPMATH_RTOL = 1e-12
# SELU Jacobian vs mpmath, relative per entry. Just above the series' range
# (v > 1e-4, a < 0) Var(e^z | z <= 0) = E2/Q - (E1/Q)^2 cancels to ~eps/v: measured
# 3.3e-12 at a = -2.9, v = 1.0001e-4 (J21); elsewhere on the scanned grids (40 values
# of a in [-37.9, 37.9] per v) <= 4.8e-13 for v >= 0.01 and <= 9.6e-13 for v <= 1e-6.
SELU_JAC_MPMATH_RTOL = 1e-11
# Central differences, h = 1e-6 (selu_moments.md §12.10): truncation O(h^2 f''') ~
# 1e-12, rounding O(eps / h) ~ 1e-10.
SELU_FD_ATOL = 1e-8
# Theorem extremes vs the 7-significant-digit numbers of selu_moments.md §12.5-§12.6.
SELU_THEOREM1_ATOL = 1e-6
SELU_THEOREM2_ATOL = 1e-5
SELU_THEOREM3_ATOL = 1e-6
# The selu_moments.md §12.8 test vectors are printed to 16 digits; the solve is
# float64-tight.
SELU_PARAMS_ATOL = 1e-12

# SELU networks (simulations).
# Leading-order perturbative allowances are doubled to cover the next order
# (O(n^-2) for Edgeworth, O(n^-3/2) for the finite-width expansion).
SELU_SIM_ALLOWANCE_FACTOR = 2.0
# selu_moments.md §12.9 (our criterion): layer-64 moments of SELU nets (width >= 512)
# within +-0.05 of (0, 1).
SELU_SIM_DEEP_CONVERGENCE_ATOL = 0.05

# Power-law tasks (theory.rf_powerlaw).
# Tail integrals against 30-digit mpmath: ~64-term series plus a few roundings.
POWERLAW_TAIL_MPMATH_RTOL = 1e-13
# Tail(M) - Tail(N) against brute-force sums over (M, N], M >= 50: the explicit modes
# keep the midpoint Euler-Maclaurin remainder below 1e-15 relative (it was 2e-12 at
# (alpha, beta) = (3, 8), M = 50, when the integral started at M + 1/2). Over 150
# random cases of the strategy's range the gap stayed within the atol below alone;
# 1e-13 is a few roundings of the 2e5-term reference sum. (The cancellation in
# Tail(M) - Tail(N) is allowed for separately, as an atol.)
POWERLAW_TAIL_SUM_RTOL = 1e-13
# The same tail fed to rf_ridge_risk with M = 1500 or M = 20000 explicit modes: the
# two solves stop at ~1e-12 relative in gamma (rf_ridge _XTOL); measured 1e-13.
POWERLAW_TAIL_PIPELINE_RTOL = 1e-10
# docs/derivations/rf_powerlaw.md §3: discrete framework / closed form at n = 1e3.
POWERLAW_RATIO_TOL_N1E3 = 2e-3
# rf_powerlaw.md §3: 0.9999 at n = 1e4 (measured 0.99993-0.99994).
POWERLAW_RATIO_TOL_N1E4 = 2e-4
# rf_powerlaw.md §4: the discrete framework's argmin over ridge reproduces R* to
# +-0.005 (measured 9e-4).
POWERLAW_RSTAR_TOL = 0.005
# powerlaw_test_risk taken as exp(log E) where a factor under- or overflows: exp
# turns the ~|log E| eps absolute rounding of the log (|log E| <= 745) into as much
# relative error, <= 1.7e-13.
POWERLAW_LOG_RTOL = 1e-12
# optimal_fitting_ratio's root against 60 digits at large alpha: the rounding of the
# coefficients c0 = beta - alpha, c1, c2 (a few eps each) times the root's condition
# (measured <= 1.4e-14 at alpha = 1e6; (1 - s)^beta was off by beta eps, 2.1e-8).
POWERLAW_ROOT_RTOL = 1e-13
# Ratio error at 8n over that at n against the predicted 8^-min(1, 2a+1-b): the
# subleading corrections moved it by at most 14% in 300 random cases.
POWERLAW_CONVERGENCE_SLACK = 1.5

# Values read back from plotted matplotlib lines vs the grid or theory they came from
# (float64 arrays passed through matplotlib unchanged up to rounding).
PLOTTED_RTOL = 1e-12

# --- nce (tests/theory/test_nce.py, tests/sims/test_nce.py) ---------------------------
# Reference values of docs/derivations/nce.md §5, printed to 4 significant digits:
# rounding is <= 5e-4 relative (the 4th digit of a leading 1..2).
NCE_TABLE_RTOL = 1e-3
# Entries that are exactly 0 in that table (a rounding-free zero vs a quadrature sum of
# O(1) terms): float64 rounding of ~6000 terms.
NCE_ZERO_ATOL = 1e-12
# Central differences (h = 1e-5) of the quadrature loss vs the quadrature gradient:
# truncation h^2 |L'''|/6 <~ 1e-10 plus rounding eps |L| / h <~ 1e-10 for |L| <= 50.
NCE_FD_ATOL = 1e-7
# Our Gauss-Legendre quadrature vs independent scipy.integrate.quad (epsrel 1e-12) of
# the same integrals: quad's own error dominates (~1e-10 relative); 1e-8 also covers
# cancellation in the gradient (two O(1) halves giving an O(0.01) difference).
NCE_QUAD_RTOL = 1e-8
NCE_QUAD_ATOL = 1e-11
# The population NCE minimizer by Newton from the quadrature gradient: the smallest
# Hessian eigenvalue at R = 4 is 2e-3, so a gradient accurate to 1e-12 fixes
# (theta, c) to ~1e-9; 1e-5 is the consistency claim being tested.
NCE_CONSISTENCY_ATOL = 1e-5
# Flatness band (docs/derivations/nce.md §3.3): measured ratio range 0.90-1.07 of the
# profiled gradient to its leading-order asymptote for R in {6..12}; the band is the
# claim (a 10-15% next-order correction), not a fitted number.
NCE_FLATNESS_BAND = (0.85, 1.10)
# lambda_max(H_NCE) / e^{-R^2/8} for R <= 12 (table: 0.69-3.75): exponential flatness
# means this ratio stays within a bounded band while e^{-R^2/8} spans 11 decades.
NCE_CURVATURE_BAND = (0.5, 5.0)
# Jensen bias of log g_hat (m = 100, chi2 = 0.6): the delta method's first order is
# -chi2/(2m); the next order (third and fourth cumulants, O(chi2^2/m^2) ~ 4e-5 vs
# 3e-3) is allowed as 15% of the first-order value, on top of Z_SEM * SEM.
NCE_JENSEN_ALLOWANCE = 0.15

# Infinite-width kernels (theory.kernels, tests/theory/test_kernels.py).
# Closed-form arc-cosine recursions vs neural-tangents' stax kernels: the same float64
# formulas evaluated in a different order (numpy vs jax, x64); measured <= 7e-16
# relative to max|K| through depth 7, so 1e-10 is rounding with a wide margin.
KERNEL_NT_RTOL = 1e-10
# Smallest eigenvalue of a PSD kernel matrix (n <= 40) may round below zero by about
# n * eps * max eigenvalue (~1e-14); 1e-12 leaves margin.
KERNEL_PSD_RTOL = 1e-12
# Exponent proxies on synthetic power-law data, beyond the eigenframework's own
# finite-size bias and Z_SEM standard errors: 1/Tr(K_n^-1) equals the KRR constant
# kappa(n) only up to O(1/n) (over 40 draws the ratio is 0.9989 +- 0.0047 at n = 25
# and 0.998 +- 0.0004 at n = 400, mean +- SEM, docs/derivations/kernels.md §6; one
# draw ranged 0.93-1.06 at n = 25), and the test MSE over 600 test points adds its
# own O(1/sqrt(T)) scatter: 0.03.
KERNEL_EXPONENT_ALLOWANCE = 0.03

# --- IFM (tests/theory/test_feature_merging.py, tests/sims/test_ifm.py)
# Function preservation of exact-mode merges and exact rescalings, relative to the
# output scale: canonical scaling divides by a norm and multiplies back (a few ulps per
# unit), class sums add up to width terms, so ~1e3 eps for the widths tested.
IFM_FN_RTOL = 1e-12
# Real-arithmetic inequalities (the per-merge bound, d_min > beta d_max at exit)
# evaluated with float64 sums: relative slack for rounding of the two sides.
IFM_BOUND_RTOL = 1e-9
# Incremental distances vs full recomputation: the same merge applied to the same
# weights in a different order of float64 operations (rounding of O(width) sums).
IFM_IMPL_RTOL = 1e-11
# Official-mode BatchNorm merge of two identical channels: docs/derivations/ifm.md gives
# an O(1) change (sqrt(2) on the normalised output); a regression floor far above
# rounding, far below the measured size.
IFM_BN_OFFICIAL_MIN_ERR = 1e-3
# nce simulations (tests/sims/test_nce.py). MECO's fixed point with a finite noise
# batch m and tracker weight gamma is biased by the covariance of u_t with the
# gradient term, first order gamma/(2 - gamma) * chi2(p_theta* || q) / m (the
# tracker's relative stationary variance, theory.nce.tracker_moments); the
# allowance is NCE_MECO_BIAS_FACTOR times that, the factor covering the next order.
# Measured at the test's settings: 0.001-0.004 against allowances 0.003-0.008.
NCE_MECO_BIAS_FACTOR = 2.0
# "MECO reaches theta*" (our target, docs/nce.md): the tail mean of the last 1000
# iterates within 0.05.
NCE_REACH_ATOL = 0.05
# NCE "has not moved off the flat region": its profiled population gradient at the
# final theta is below this fraction of the NLL gradient there (theory at R = 4,
# theta = 3.5: ~0.03).
NCE_FLAT_RATIO = 0.1
# Held-out NLL of a trained energy vs the true density's NLL on the same test set:
# KL >= 0 in expectation; the test-set estimate of it can be negative by
# sd(log p - log p_model)/sqrt(n_test) (<= ~1.5/sqrt(500) = 0.07 at 4 sigma: 0.27)
# plus the grid-integration error of log Z (spacing 0.19 against features of width
# >= 0.25: < 0.01 measured). Allowance 0.3 nats.
NCE_DENSITY_FLOOR_ALLOWANCE = 0.3
# IFM sims: exact-mode merging at beta = 0 changes trained-MLP logits (|f| ~ 10, width
# <= 128) only by rounding, ~1e3 eps * 10 ~ 2e-12; 1e-10 leaves a 50x margin.
IFM_SIM_FN_ATOL = 1e-10

# --- theory domain (tests/theory/test_domain.py) -----------------------------------
# Identities at 1e+-300: the RF risk under (lambda, delta) -> (c lambda, c delta) with
# c = 10^e (not a power of two, so lambda * c rounds: ~1 ulp per eigenvalue, and the
# solve stops at 1e-12 relative in gamma, rf_ridge _XTOL), measured <= 2e-15; the deep
# linear residuals/closed forms (a few roundings of logs up to 700: 700 eps ~ 2e-13).
DOMAIN_SCALE_RTOL = 1e-11
# SELU moments in their saturated limits and against 40-digit mpmath at v = 1e308:
# erfcx/erfc rounding plus ~10 roundings in the centred variance (a few eps each);
# the limits themselves are exact beyond 40 sigma (e^-800 relative).
DOMAIN_SELU_LIMIT_RTOL = 1e-12

# Random ReLU features on digits vs the RF eigenframework on empirical NNGP eigen-data
# (tests/sims/test_rf_real.py), beyond Z_SEM standard errors, away from k = n. The
# theory treats the data as i.i.d. draws from the 1797 digits under Gaussian
# universality; the experiment draws without replacement and the features are ReLUs
# of real images. Measured at n = 64 (12-16 trials, ridges 1e-2 and 1): worst gap
# 6.4% of theory; at n = 256 (20 trials, the default preset) 9% at ridges <= 0.02 and
# <= 2.5% at ridge >= 2 (the paper reports 0.2-2.6% at ridge >= 0.1 and 9-10% at
# 1e-3 on CIFAR-10). 8% covers the tested n = 64 grid.
RF_REAL_TEST_REL = 0.08
# The same comparison on the diagonal (a point with itself, exact angle 0):
# neural-tangents rounds Sigma_11 Sigma_22 - Sigma_12^2 to ~eps Sigma^2, an angle
# of ~sqrt(2 eps) ~ 2e-8 and an NTK off by up to ~depth * angle / (2 pi); measured
# 8.7e-9 at depth 3, d = 64. The closed form gets D = 0 there (exact).
KERNEL_NT_DIAG_RTOL = 1e-7
# (nce, correction to the NCE_REACH_ATOL comment above: tests/sims/test_nce.py averages
# the last 800 of 2000 iterates, not the last 1000 of 3000; the 0.05 claim is the same.)

# --- rf_ridge, k -> inf (tests/theory/test_rf_ridge.py, property 7) -------------------
# The RF-to-KRR gap is c(k) n / k with c(k) = c(inf) (1 + O(n/k)): from k = 1e4 n to
# k = 1e12 n it shrinks by 1e-8 (1 + O(1e-4)); a factor 2 covers that with room, plus
# F64_RTOL for rounding of the small gap. An absolute bound (1e-9, used before) fails
# where the sensitivity c is ~1e3: alpha=1.875, beta=4.625, M=205, c=10, n=209,
# ridge=1e-3, noise 0 gives a train-risk gap of 1.0003e-9 at k = 1e12 n (old and new
# solver alike).
K_INF_GAP_FACTOR = 2.0

# Spectral sums with r^2 (r = 1/(lam + gamma)) against the form r * rho, rho = gamma r
# (tests/theory/test_chebyshev.py): each positive term differs by a few ulps; the
# largest relative difference over 5736 random in-range cases (up to 400 modes) was
# 2.6e-15 (12 eps). 1e-14 is 45 eps.
SUM_ROUNDING_RTOL = 1e-14
# (kernels) NNGP/NTK of nearly parallel or opposite inputs vs a 50-digit mpmath run
# of the same recursion, as |K_12 - exact| / sqrt(K_11 K_22): measured <= 7.1e-15
# over 400 random pairs at depths 1-6 (3.2e-8 before the determinant was carried
# through the layers); 1e-13 is rounding with a margin.
KERNEL_ANGLE_ATOL = 1e-13
# Depth-1 deep linear UFM within 1e-8 of the collapse threshold (b/n_k -> 1 for MSE,
# 1/sqrt(lbar lam_h n) - K + 1 -> 1 for CE): the answer's condition number with
# respect to the inputs' rounding is 1/(1 - b/n_k) (MSE) or K/u (CE); the test
# allows this many roundings, each so amplified (measured up to 3.2).
NC_THRESHOLD_ROUNDINGS = 16
# ufm_minimizer / near_collapse_spectrum as c = sqrt(lam_h lam_w) -> 1: 1 - c is formed
# to one rounding and each output takes two to four more (measured <= 2.9e-16 against
# 50 digits); 1 - c from a rounded c was off by up to 1.1e-4.
NC_ONE_MINUS_C_RTOL = 1e-15
# chi^2(N(theta,1)||N(m,s^2)) near s = 1 and s^2 = 1/2, and the tracker moments at
# small gamma, against 50 digits: formed without cancellation, a few roundings each
# (measured <= 4.9e-16); the plain forms were off by up to 0.5 (chi^2 at s = 1 + 1e-9).
NCE_CANCELLATION_RTOL = 2e-15
# gaussian_mean_nll's grad g / g (exactly 0) over its whole domain: the panels are
# refined around the model, whose width in the noise variable is 1/s (measured
# <= 2.3e-14 on a 41 x 11 grid; 1.4e-10 at s = 25 with the fixed 0.1-wide panels).
NCE_G_RATIO_ATOL = 1e-12
# NCE Gaussian-mean quadrature (nce_gaussian_mean, nce_hessian_at_optimum,
# gaussian_mean_nll's log g) against 30-digit mpmath composite Gauss-Legendre
# references at the corners of the accepted range (s = 0.25 and 25, distances 25)
# and interior points: the per-cell panels refined at the logit's poles measured
# <= 1.3e-14 relative (a few hundred roundings of O(1)-relative terms); the fixed
# 0.1-wide panels before were off by up to 3.1e-5 (curv_c at s = 0.25).
NCE_MPMATH_RTOL = 1e-12
# (power-law tail) PowerLawTail against math.fsum of explicit modes plus a 30-digit
# tail far out, at large h = (beta-1)/alpha, small M and large alpha/beta: each
# output is a few dozen float64 roundings of positive terms (measured <= 2e-15 after
# the fixes; before them up to 1e7 relative, or negative).
POWERLAW_TAIL_FSUM_RTOL = 1e-14

# --- kernels (tests/theory/test_kernels_myrtle.py)
# Myrtle NTK of an image with itself against a float128 evaluation: about ten
# layers of float64 sums and arc-cosine steps, each a few roundings; measured
# <= 7.2e-16 relative (80 images, op by op). 1e-14 leaves margin yet catches the
# ~1e-10 errors that jit-fused evaluations have shown on these entries.
KERNEL_MYRTLE_SELF_RTOL = 1e-14
# (power-law tail) PowerLawTail at subnormal gamma against the exact continuum limit:
# h = -1/alpha and e = (beta-1)/alpha are rounded to float64 (relative 1.1e-16), and
# gamma**h amplifies that by |h ln gamma| <= 745 |h|: bound ~8e-14 for |h| <= 1
# (measured 2.8e-14 at alpha = 1.5, gamma = 5e-324; the same at gamma = 1e-300 before
# the fixes). 2e-13 is that bound plus a few roundings.
POWERLAW_TAIL_TINY_GAMMA_RTOL = 2e-13

# SELU allowances (sims/selu/allowances.py) against 30-digit quadrature. The Gaussian
# derivatives sum a smooth part and jump terms of the size v^{-k/2}(1+|m|+√v)^power;
# measured worst error on |m| <= 3, v in [0.05, 20], k in {3, 4, 6} (40-digit
# quadrature): 2.5e-11 of that scale (cancellation at v = 20). The allowances need
# ~1e-3. The power moments (p = 3, 4; q from 1e-12 to 4; 40-digit quadrature):
# measured worst 2.0e-14 relative (the closed form at q = 0.2-0.5).
SELU_ALLOWANCE_DERIV_RTOL = 1e-10
SELU_ALLOWANCE_MOMENT_RTOL = 1e-13
