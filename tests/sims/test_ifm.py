"""Smoke-size sweeps of ``sims.ifm`` (IFM and feature complexity, arXiv:2310.06756).

Both experiments run once per module at their ``smoke`` presets (about 12 s each on
a loaded 2-core machine, most of it the engine's per-chunk netCDF writes).
"""

from __future__ import annotations

import pytest

from sims.ifm import EXPERIMENTS
from sims.ifm.__main__ import main
from sims.ifm.complexity import EXPERIMENT as COMPLEXITY
from sims.ifm.complexity import IFMComplexitySweep
from sims.ifm.merge import EXPERIMENT as MERGE
from tests._tolerances import IFM_BOUND_RTOL
from tests._tolerances import IFM_SIM_FN_ATOL


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    out = tmp_path_factory.mktemp("ifm")
    ds, _ = MERGE.run(MERGE.presets["smoke"], out=out / "m.nc", workers=1)
    return ds


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ifm")
    ds, _ = COMPLEXITY.run(COMPLEXITY.presets["smoke"], out=out / "c.nc", workers=1)
    return ds


def test_declarations():
    assert [(e.name, e.key) for e in EXPERIMENTS] == [
        ("ifm", "merge"),
        ("ifm", "complexity"),
    ]
    assert "cnn" in MERGE.presets["smoke"].arch


def test_exact_mode_preserves_function_at_beta_zero(merged):
    """Exact mode at beta = 0 only merges exact classes: logits unchanged, for the
    MLPs and for the CNN (BatchNorm folded)."""
    dev = merged["max_deviation"].sel(mode="exact", beta=0.0)
    assert float(dev.max()) <= IFM_SIM_FN_ATOL


def test_official_batchnorm_merge_at_large_beta_changes_the_cnn(merged):
    dev = merged["max_deviation"].sel(arch="cnn", mode="official", beta=0.6)
    assert bool((dev > IFM_SIM_FN_ATOL).all())


def test_bound_holds_on_every_merge(merged):
    mlp = merged.sel(arch=[a for a in merged["arch"].values if a != "cnn"])
    assert float(mlp["bound_violations"].sum()) == 0
    dev, bound = mlp["max_deviation"], mlp["error_bound"]
    assert bool((dev <= bound * (1 + IFM_BOUND_RTOL) + IFM_SIM_FN_ATOL).all())
    assert bool(merged["error_bound"].sel(arch="cnn").isnull().all())


def test_merging_never_adds_units_or_parameters(merged):
    ratio = merged["param_ratio"]
    assert bool(((ratio > 0) & (ratio <= 1)).all())
    w = merged["width_after"]
    assert bool(((w <= merged["width"]) | w.isnull()).all())
    assert bool((merged["param_ratio"].sel(beta=0.6) < 1).all())


def test_wider_nets_carry_more_redundant_features(merged):
    """Fraction of first-layer units removed at the largest beta grows with width."""
    beta = max(merged["beta"].values)
    w = merged["width_after"].sel(beta=beta, layer=0)
    removed = (1 - w / merged["width"]).mean(("arch", "trial", "mode"))
    assert float(removed.isel(width=-1)) > float(removed.isel(width=0))


def test_p16_replicated_init_keeps_complexity_at_every_step(trained):
    """Units started as identical copies stay identical under training: the exact
    complexity is width / copies at every checkpoint, the authors' beta = 0 width
    is width / copies * popcount(copies) (docs/derivations/ifm.md §7)."""
    assert bool((trained["distinct"] == trained["distinct_theory"]).all())
    official = trained["distinct_official"]
    assert bool((official == trained["distinct_official_theory"]).all())
    assert int(trained["copies"].max()) > 1 and trained.sizes["step"] >= 2


def test_estimated_complexity_bounded_by_exact(trained):
    """The IFM estimator at beta > 0 never exceeds the exact count in exact mode."""
    est = trained["complexity"].sel(mode="exact")
    assert bool((est <= trained["distinct"]).all())
    assert bool((trained["complexity"] >= 1).all())


def test_training_improves_accuracy(trained):
    acc = trained["acc"].sel(copies=1)
    assert bool((acc.isel(step=-1) > acc.isel(step=0)).all())


def test_config_cross_field_checks():
    with pytest.raises(ValueError, match="copies=3"):
        IFMComplexitySweep(width=(8,), copies=(3,))
    with pytest.raises(ValueError, match="checkpoints"):
        IFMComplexitySweep(checkpoints=(10, 0))


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["--sweep", "--experiment", "merge", "--set", "beta=-1"], "beta"),
        (["--sweep", "--experiment", "merge", "--set", "arch=resnet"], "arch"),
        (["--sweep", "--experiment", "complexity", "--set", "copies=3"], "copies"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(capsys, argv, word):
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2
    assert len(err.splitlines()) == 1 and word in err
