"""Claims of :mod:`sims.rf_risk`: Gaussian RF ridge regression vs the eigenframework
(Simon, Karkada, Ghosh & Belkin 2024, arXiv:2311.14646, Fig. 1)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

from sims import rf_risk
from sims._experiment import Experiment
from sims.report._claims import Claim
from sims.report._claims import excess_gap
from sims.report._run import Runner
from sims.report._tolerances import RF_SIM_TEST_REL
from sims.report._tolerances import RF_SIM_TRAIN_REL
from sims.report._tolerances import Z_SEM

MODULE = "sims.rf_risk"
#: The size at which RF_SIM_TEST_REL / RF_SIM_TRAIN_REL bound the finite-size bias.
N_REF = 100


def away_from_peak_claims(
    run: Runner,
    experiment: Experiment,
    *,
    n_ref: int,
    size: Callable[[object], str],
    checks: Sequence[tuple[str, str, float, str]],
) -> list[Claim]:
    """One claim per ``(variable, text, allowance, why)`` of ``checks``: the mean of
    ``variable`` over trials matches its ``_theory`` sibling on the cells away from
    the interpolation peak (:func:`sims.rf_risk.away_from_peak`) within ``Z_SEM``
    SEMs plus ``allowance`` relative. The allowance bounds a finite-size bias
    measured at n = ``n_ref`` (``why`` says how), scaled as O(1/n) below it and kept
    (not reduced) above it.
    ``text`` is formatted with ``size`` (``size(config)``) and ``label`` (the cells).
    """
    ds = run.grid(experiment)
    if ds is None:
        return []
    config = run.config(experiment)
    n = min(config.n)
    scale = max(1.0, n_ref / n)
    (label, mask), *_ = rf_risk.away_from_peak(ds).items()
    out = []
    for name, text, rel, why in checks:
        gap, detail = excess_gap(ds, name, mask)
        out.append(
            Claim(
                text.format(size=size(config), label=label),
                gap,
                rel * scale,
                f"gap = worst (|mean − theory| − {Z_SEM:g}·SEM)/theory; allowed: "
                f"{why}; O(1/n), so scaled by n_ref/n below n_ref = {n_ref} and kept "
                f"above it: × {scale:.3g} at n = {n}",
                detail,
            )
        )
    return out


def claims(run: Runner) -> list[Claim]:
    def size(config) -> str:
        n = ", ".join(map(str, config.n))
        return f"n = {n}, M = {config.num_modes}, {config.trials} trials"

    text = "RF {what} vs k ({{size}}) matches the theory away from the interpolation "
    text += "peak ({{label}})"
    why = "the finite-size bias of the deterministic equivalent, {source} at n = "
    why += f"{N_REF} (a 40-trial Monte Carlo at that size)"
    checks = [
        (name, text.format(what=what), rel, why.format(source=source))
        for name, what, rel, source in (
            ("test_risk", "test risk", RF_SIM_TEST_REL, "2% (test risk)"),
            ("train_risk", "train risk", RF_SIM_TRAIN_REL, "5% (train risk)"),
        )
    ]
    return away_from_peak_claims(
        run, rf_risk.EXPERIMENT, n_ref=N_REF, size=size, checks=checks
    )
