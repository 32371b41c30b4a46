"""Claims of :mod:`sims.selu`: self-normalizing networks (Klambauer, Unterthiner, Mayr
& Hochreiter 2017, arXiv:1706.02515), and the paper's numbers."""

from __future__ import annotations

import itertools

import numpy as np

from sims.report._claims import Claim
from sims.report._claims import PaperNumber
from sims.report._claims import not_checked
from sims.report._run import Runner
from sims.report._tolerances import SELU_SIM_ALLOWANCE_FACTOR
from sims.report._tolerances import SELU_SIM_DEEP_CONVERGENCE_ATOL
from sims.report._tolerances import Z_SEM
from sims.selu import DEEP
from sims.selu import LAYER
from sims.selu.allowances import RELU_SD_MAX
from sims.selu.allowances import edgeworth_bias
from sims.selu.allowances import relu_ratio_sd_bound
from theory.selu_moments import ALPHA_01
from theory.selu_moments import LAMBDA_01
from theory.selu_moments import moment_map

MODULE = "sims.selu"
#: The size at which SELU_SIM_DEEP_CONVERGENCE_ATOL is stated.
WIDTH_REF, DEPTH_REF = 512, 64
#: Trials needed before a 4-SEM bound on a skewed ratio is trusted.
MIN_TRIALS = 16


def _one_layer(run: Runner) -> Claim:
    """One SELU layer vs the moment map g: every cell and both moments within
    Z_SEM·SEM + SELU_SIM_ALLOWANCE_FACTOR·|leading Edgeworth term| (the CLT error of a
    finite fan-in, ``docs/derivations/selu_moments.md`` §8; 0 for Gaussian inputs)."""
    config = run.config(LAYER)
    ds = run.grid(LAYER)
    worst, worst_z, cells = -np.inf, 0.0, 0
    for mu, nu, omega, tau in itertools.product(
        config.mu, config.nu, config.omega, config.tau
    ):
        cell = ds.sel(mu=mu, nu=nu, omega=omega, tau=tau)
        bias = edgeworth_bias(mu, nu, omega, tau, config.fan_in, config.inputs)
        for name, b in zip(("mu_tilde", "nu_tilde"), bias, strict=True):
            x = cell[name]
            sem = float(x.std("trial", ddof=1)) / np.sqrt(int(x.count("trial")))
            gap = abs(float(x.mean("trial") - cell[f"{name}_theory"]))
            worst = max(worst, gap - Z_SEM * sem - SELU_SIM_ALLOWANCE_FACTOR * abs(b))
            worst_z = max(worst_z, gap / sem)
        cells += 1
    return Claim(
        f"One SELU layer: Monte Carlo output mean and variance match the moment map "
        f"g ({config.inputs} inputs, fan-in {config.fan_in}, {cells} "
        f"(μ, ν, ω, τ) cells, {config.trials} trials)",
        worst,
        0.0,
        f"gap = worst |mean − theory| − {Z_SEM:g}·SEM − "
        f"{SELU_SIM_ALLOWANCE_FACTOR:g}·|leading Edgeworth term| (the CLT error of "
        "a finite fan-in; docs/derivations/selu_moments.md §8)",
        f"{2 * cells} (cell, moment) pairs, worst |z| {worst_z:.2f}",
    )


def _convergence(run: Runner) -> Claim:
    config = run.config(DEEP)
    text = "SELU deep nets (and SELU + alpha-dropout) reach the fixed point (0, 1)"
    why = (
        f"layer-{DEPTH_REF} mean and variance (trial means) within ±0.05 of (0, 1) at "
        f"width ≥ {WIDTH_REF}, from the starts (0, 1), (0.5, 3), (−0.3, 0.2); one "
        "weight draw per layer moves a run's variance by ~0.02"
    )
    if max(config.width) < WIDTH_REF or config.depth < DEPTH_REF:
        return not_checked(
            text,
            SELU_SIM_DEEP_CONVERGENCE_ATOL,
            why,
            f"needs width ≥ {WIDTH_REF}, depth ≥ {DEPTH_REF} (this preset: width "
            f"{max(config.width)}, depth {config.depth})",
        )
    ds = run.grid(DEEP)
    acts = [a for a in ("selu", "selu_dropout") if a in config.activation]
    last = ds.sel(activation=acts, width=[w for w in config.width if w >= WIDTH_REF])
    last = last.isel(layer=-1).mean("trial")
    gap = max(float(abs(last["mean"]).max()), float(abs(last["var"] - 1).max()))
    return Claim(
        f"{text} (depth {config.depth}, widths ≥ {WIDTH_REF}, {config.trials} trials)",
        gap,
        SELU_SIM_DEEP_CONVERGENCE_ATOL,
        why,
        f"{int(last['mean'].size)} (activation, start, width) cells",
    )


def _relu_halving(run: Runner) -> Claim:
    """ReLU nets: E x_l² = (ν₀ + μ₀²) 2^-l exactly in expectation at any width.

    The per-trial ratio is a product of scaled chi-squares, skewed at depth; a
    4-SEM bound needs the SEM estimated from >= MIN_TRIALS trials (false-alarm
    rate <= 0.12% per comparison for Student t with 15 dof), and is applied only at
    layers where the ratio's relative SD is at most RELU_SD_MAX
    (:func:`sims.selu.allowances.relu_ratio_sd_bound`); deeper, the mean of a few
    trials cannot test an expectation dominated by rare trials. As in the tests.
    """
    config = run.config(DEEP)
    text = (
        "ReLU nets (LeCun-normal) halve the second moment per layer: "
        f"E x_l² = (ν₀ + μ₀²)·2^−l (depth {config.depth}, widths "
        f"{', '.join(map(str, config.width))}, {config.trials} trials; layers where "
        f"the ratio's relative SD is ≤ {RELU_SD_MAX:g})"
    )
    why = (
        f"gap = worst |mean ratio − 1| − {Z_SEM:g}·SEM; allowance 0: exact in "
        "expectation at any width (Gaussian weights, positively homogeneous ReLU); "
        "relative SD bound √((1 + 5/n)^l − 1) (sims/selu/allowances.py)"
    )
    if "relu" not in config.activation or config.trials < MIN_TRIALS:
        return not_checked(
            text,
            0.0,
            why,
            f"needs ≥ {MIN_TRIALS} trials for the SEM of a skewed ratio "
            f"(this preset: {config.trials})",
        )
    ds = run.grid(DEEP)
    relu = ds.sel(activation="relu").isel(layer=slice(1, None))
    k = config.batch * relu["width"]
    second = relu["var"] * (k - 1) / k + relu["mean"] ** 2
    ratio = second / (
        (relu["start_var"] + relu["start_mean"] ** 2) * 0.5 ** relu["layer"]
    )
    testable = relu_ratio_sd_bound(relu["width"], relu["layer"]) <= RELU_SD_MAX
    ratio = ratio.where(testable)
    mean = ratio.mean("trial")
    sem = ratio.std("trial", ddof=1) / np.sqrt(ratio.count("trial"))
    z = abs(mean - 1) / sem
    return Claim(
        text,
        float((abs(mean - 1) - Z_SEM * sem).max()),
        0.0,
        why,
        f"{int(mean.count())} (start, width, layer) cells, worst |z| "
        f"{float(z.max()):.2f}",
    )


def claims(run: Runner) -> list[Claim]:
    if run.config(DEEP) is None:
        return []
    return [_one_layer(run), _convergence(run), _relu_halving(run)]


def paper_numbers() -> list[PaperNumber]:
    """The constants the paper prints (α01 ≈ 1.6733, λ01 ≈ 1.0507; 32 digits in the
    authors' code, see docs/derivations/selu_moments.md §2) and the fixed point
    (0, 1) they give."""
    fixed = moment_map(0.0, 1.0, omega=0.0, tau=1.0)
    source = (
        "arXiv:1706.02515 (α01, λ01 of the fixed point (0, 1)); "
        "docs/derivations/selu_moments.md §2"
    )
    return [
        PaperNumber("α01", "1.6733", source, ALPHA_01, round(ALPHA_01, 4) == 1.6733),
        PaperNumber("λ01", "1.0507", source, LAMBDA_01, round(LAMBDA_01, 4) == 1.0507),
        PaperNumber(
            "μ̃ at (μ, ν, ω, τ) = (0, 1, 0, 1)",
            "0 (fixed point)",
            source,
            float(fixed.mu_tilde),
            abs(float(fixed.mu_tilde)) < 1e-15,
        ),
        PaperNumber(
            "ν̃ at (μ, ν, ω, τ) = (0, 1, 0, 1)",
            "1 (fixed point)",
            source,
            float(fixed.nu_tilde),
            abs(float(fixed.nu_tilde) - 1) < 1e-14,
        ),
    ]
