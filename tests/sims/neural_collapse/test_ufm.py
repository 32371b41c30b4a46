r"""GD on the deep linear UFM (:mod:`sims.neural_collapse.ufm`) against closed forms.

GD is deterministic, so tolerances come from the step count, not from a sample: near
the minimizer, heavy-ball GD (lr, momentum m) contracts every mode of Hessian
eigenvalue mu by the spectral radius of [[1 + m - lr mu, -m], [1, 0]], so after the
linear regime is reached (relative error below 10%, at step T0) the error at step T is
at most C rho^(T - T0) e(T0), with rho the slowest rate over the non-zero Hessian
eigenvalues at the closed form and C the condition number of that mode's eigenvector
basis (the transient bound of the 2x2 iteration).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sims import neural_collapse as snc
from sims._backend import cpu_threads
from tests._tolerances import NC_SIM_BATCH_RTOL as BATCH_RTOL
from tests._tolerances import NC_SIM_GD_30K_RTOL as GD_30K_RTOL
from tests._tolerances import NC_SIM_LINEAR_REGIME as LINEAR_REGIME
from theory import neural_collapse as nc

CPU = torch.device("cpu")
UFM = snc.PRESETS["ufm"]["smoke"].replace(device="cpu")


def test_a_cell_does_not_depend_on_its_batch():
    cells = [(5e-3, 0, 0), (5e-3, 1, 1), (5e-3, 0, 1)]
    config = UFM.replace(steps=300, checkpoints=4)
    with cpu_threads(CPU):
        together = snc.simulate_ufm(config, 2, "20-10-5-5", "mse", cells)
        alone = [snc.simulate_ufm(config, 2, "20-10-5-5", "mse", [c]) for c in cells]
    for i, one in enumerate(alone):
        for key in ("diag_wwt", "nc1", "objective"):
            np.testing.assert_allclose(
                one[key][0], together[key][i], rtol=BATCH_RTOL, atol=1e-300
            )


@pytest.fixture(scope="module")
def ufm_grid(tmp_path_factory):
    ds, _ = snc.UFM.run(UFM, out=tmp_path_factory.mktemp("ufm") / "ufm.nc")
    return ds


def _heavy_ball_bound(sizes, depth, width, lam, loss, bias, lr, momentum):
    """(rho, C): slowest heavy-ball rate at the closed form and its transient bound."""
    sizes = np.asarray(sizes)
    K = sizes.size
    if loss == "mse":
        p = nc.deep_linear_mse_point(
            sizes, depth=depth, lam_w=lam, lam_h=lam, width=width, bias=bool(bias)
        )
    else:
        p = nc.deep_linear_ce_point(
            K, int(sizes[0]), depth=depth, lam_w=lam, lam_h=lam, width=width
        )
    shapes = [w.shape for w in p.weights] + [p.H.shape] + ([(K,)] if bias else [])
    flat = [torch.as_tensor(w).reshape(-1) for w in [*p.weights, p.H]]
    x0 = torch.cat(flat + ([torch.as_tensor(p.b)] if bias else []))
    labels = torch.as_tensor(p.labels)
    Y = torch.nn.functional.one_hot(labels, K).T.double()

    def f(x):
        parts = torch.split(x, [int(np.prod(s)) for s in shapes])
        parts = [q.reshape(s) for q, s in zip(parts, shapes, strict=True)]
        out = parts[depth]
        for w in parts[:depth]:
            out = w @ out
        if bias:
            out = out + parts[depth + 1][:, None]
        if loss == "mse":
            data = 0.5 * ((out - Y) ** 2).sum() / labels.numel()
        else:
            data = torch.nn.functional.cross_entropy(out.T, labels)
        reg = sum((w * w).sum() for w in parts[: depth + 1])
        return data + 0.5 * lam * reg

    with cpu_threads(CPU):
        hess = torch.autograd.functional.hessian(f, x0, vectorize=True)
    ev = torch.linalg.eigvalsh(hess).numpy()
    assert ev.min() > -1e-10 * ev.max()  # the closed form is a local minimum
    rho, cond = 0.0, 1.0
    for mu in ev[ev > 1e-9 * ev.max()]:
        A = np.array([[1 + momentum - lr * mu, -momentum], [1.0, 0.0]])
        vals, vecs = np.linalg.eig(A)
        r = np.abs(vals).max()
        if r > rho:
            rho, cond = r, np.linalg.cond(vecs)
    return rho, cond


def test_ufm_gd_converges_to_the_closed_form_at_the_predicted_rate(ufm_grid):
    ds = ufm_grid
    steps = ds["step"].values
    checked = 0
    for depth in ds["depth"].values:
        for prof in ds["profile"].values:
            sizes = snc.parse_profile(prof)
            for loss in ds["loss"].values:
                for bias in ds["bias"].values:
                    err = ds["rel_err"].sel(
                        depth=depth, profile=prof, loss=loss, bias=bias, lam=UFM.lam[0]
                    )
                    if np.all(np.isnan(err)):
                        continue  # no closed form (imbalanced + bias, imbalanced CE)
                    if loss == "ce" and depth > 1:
                        continue  # derivations §6.5: no ETF claim for M >= 2
                    rho, cond = _heavy_ball_bound(
                        sizes,
                        int(depth),
                        UFM.width,
                        UFM.lam[0],
                        loss,
                        bias,
                        UFM.lr,
                        UFM.momentum,
                    )
                    for t in ds["trial"].values:
                        e = err.sel(trial=t).values
                        i0 = int(np.argmax(e < LINEAR_REGIME))
                        assert e[i0] < LINEAR_REGIME, "never reached the linear regime"
                        bound = cond * rho ** (steps[-1] - steps[i0]) * e[i0]
                        assert e[-1] <= bound, (depth, prof, loss, bias, e[-1], bound)
                        checked += 1
    assert checked >= 10


def test_ufm_grid_structure_matches_the_closed_form(ufm_grid):
    last = ufm_grid.isel(step=-1).sel(loss="mse", bias=0)
    # classifier lengths grow with class size (minority classes get shorter w_k)
    imb = last.sel(profile="20-10-5-5")
    order = np.argsort(snc.parse_profile("20-10-5-5"))[::-1]
    diag = imb["diag_wwt"].isel(**{"class": order}).values
    assert np.all(np.diff(diag, axis=-1) <= 1e-9 * diag.max())  # ties: n = 5, 5
    # collapse and the GOF duality hold at the end
    for var in ("nc1", "nc2_gof", "nc3_gof", "nc4"):
        assert float(last[var].max()) < 1e-6, var
    # the balanced bias-free optimum is an orthogonal frame, with a bias a simplex ETF
    bal = ufm_grid.isel(step=-1).sel(loss="mse", profile="10-10-10-10")
    assert float(bal["nc2_of"].sel(bias=0).max()) < 1e-6
    assert float(bal["nc2_etf"].sel(bias=1).max()) < 1e-6


def test_ufm_grid_layout_and_attrs(ufm_grid):
    ds = ufm_grid
    assert ds.attrs["experiment"] == "ufm"
    assert ds.attrs["module"] == "sims.neural_collapse"
    for dim in ("depth", "profile", "lam", "bias", "loss", "trial", "step", "class"):
        assert dim in ds.dims
    assert list(ds["loss"].values) == ["mse", "ce"]  # string labels survive the merge
    for name in ("diag_wwt", "mean_norm2", "wh", "objective"):
        assert f"{name}_theory" in ds and "theory_fn" in ds[f"{name}_theory"].attrs
    for name, var in ds.data_vars.items():
        for key in ("long_name", "units", "math_symbol", "description"):
            assert key in var.attrs, (name, key)
    for key in ("seed", "git_commit", "config_json", "device", "dtype"):
        assert key in ds.attrs
    assert snc.DeepUFMSweep.from_json(ds.attrs["config_json"]) == UFM


@pytest.mark.slow
@pytest.mark.parametrize(
    ("depth", "profile"),
    [(1, snc.IMBALANCED), (3, snc.IMBALANCED), (6, snc.IMBALANCED), (3, snc.BALANCED)],
)
def test_slow_official_gd_reaches_the_closed_form_in_30k_steps(depth, profile):
    # docs/derivations/neural_collapse.md §6.3: SGD momentum 0.9, lr 0.1, full batch,
    # init N(0, 0.1^2), d = 64, lambda = 5e-4, 30,000 iterations: max relative error
    # of diag(WW^T) < 1e-6.
    config = snc.DeepUFMSweep(steps=30_000, checkpoints=3, device="cpu")
    with cpu_threads(CPU):
        res = snc.simulate_ufm(config, depth, profile, "mse", [(5e-4, 0, 0)])
    a2 = nc.deep_linear_mse_minimizer(
        snc.parse_profile(profile), depth=depth, lam_w=5e-4, lam_h=5e-4
    ).a2
    rel = np.abs(res["diag_wwt"][0, -1] - a2) / a2
    assert rel.max() < GD_30K_RTOL, (depth, profile, rel.max())


def test_a_diverging_run_is_flagged_not_an_error(tmp_path):
    """A step size far beyond heavy-ball stability overflows; the cell is recorded
    in ``diverged`` (it used to raise a LinAlgError from the metrics)."""
    config = UFM.replace(
        depth=(2,),
        profile=("10-10-10-10",),
        loss=("mse",),
        bias=(0,),
        lr=10.0,
        steps=200,
        checkpoints=4,
        trials=1,
        trial_batch=1,
    )
    ds, _ = snc.UFM.run(config, out=tmp_path / "diverged.nc")
    assert bool(ds["diverged"].any())
    assert not bool(np.isfinite(ds["objective"].isel(step=-1)).any())


# --- profile input: sizes checked before any tuple is built, one spelling each --------


@pytest.mark.parametrize(
    "profile",
    [
        "2x1000000000000000000000000000000",  # a tuple of 10^30 entries
        "1000000000000000000000000000000x2",
        "10-1000000000000000000000000000000",
        "50000x3",  # 150,000 samples: over the cap by a little
    ],
)
def test_a_profile_over_the_sample_cap_is_refused_naming_it(profile):
    with pytest.raises(ValueError) as info:
        UFM.replace(profile=(profile,))
    message = str(info.value)
    assert profile in message and f"> {snc.ufm.MAX_SAMPLES}" in message


def test_parse_profile_checks_the_count_before_building_the_tuple():
    # 10^10 classes of 1 would be an 80 GB tuple: refused from the two numbers.
    with pytest.raises(ValueError, match="'1x10000000000' has 10000000000 samples"):
        snc.parse_profile("1x10000000000")
    assert snc.parse_profile("3x4", max_samples=12) == (3, 3, 3, 3)
    with pytest.raises(ValueError, match="13 samples > 12"):
        snc.parse_profile("3-10", max_samples=12)


@pytest.mark.parametrize(
    "profile", ["1_0-10", "10 - 10", "+10-10", "10-١٠", "10x2x2", "10-", "x2", "10X2"]
)
def test_a_profile_is_written_in_ascii_digits(profile):
    # int() would read "1_0", " 10", "+10" and "١٠" as 10: a label that is not the
    # canonical spelling of its sizes would become a coordinate value.
    with pytest.raises(ValueError, match="must look like"):
        snc.parse_profile(profile)


@pytest.mark.parametrize(
    ("profiles", "named"),
    [
        (("10-10", "10x2"), ("'10-10'", "'10x2'")),
        (("20-10-5-5", "010-10", "10-10"), ("'010-10'", "'10-10'")),
    ],
)
def test_two_spellings_of_one_profile_are_refused(profiles, named):
    with pytest.raises(ValueError) as info:
        UFM.replace(profile=profiles)
    assert all(name in str(info.value) for name in named)


def test_different_orders_are_different_profiles():
    assert UFM.replace(profile=("10-20", "20-10")).profile == ("10-20", "20-10")


@pytest.mark.parametrize(
    "profile", ["2x1000000000000000000000000000000", "10-10,10x2", "1_0-10"]
)
def test_cli_bad_profile_exits_2_with_one_line(profile, capsys):
    argv = ["--print-config", "--experiment", "ufm", "--preset", "smoke"]
    with pytest.raises(SystemExit) as exc:
        snc.main([*argv, "--set", f"profile={profile}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "profile" in err[0] and "Traceback" not in err[0], err
