r"""The neural-collapse simulations (``sims.neural_collapse``) against the theory.

(a) exact checks: the batched torch metrics equal the numpy ones of
    :mod:`theory.neural_collapse`; a cell's trajectory does not depend on the batch or
    the chunking; the torch RK4 flow equals ``theory.central_path_flow``;
(b) simulation vs theory. GD is deterministic, so tolerances come from the step
    count, not from a sample: near the minimizer, heavy-ball GD (lr, momentum m)
    contracts every mode of Hessian eigenvalue mu by the spectral radius of
    [[1 + m - lr mu, -m], [1, 0]], so after the linear regime is reached (relative
    error below 10%, at step T0) the error at step T is at most
    C rho^(T - T0) e(T0), with rho the slowest rate over the non-zero Hessian
    eigenvalues at the closed form and C the condition number of that mode's
    eigenvector basis (the transient bound of the 2x2 iteration). The finite
    differences of the perturbation experiment have a stated O(eps^2) budget;
    Theorem 4.2's first-order predictions are checked for their 1/beta rate.
(c) the CLI (smoke preset, one-line exit 2 on bad input) and the slow 30k-step runs
    of spec §3.5.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from sims import neural_collapse as snc
from sims._backend import cpu_threads
from tests._tolerances import NC_SIM_BATCH_RTOL as BATCH_RTOL
from tests._tolerances import NC_SIM_GD_30K_RTOL as GD_30K_RTOL
from tests._tolerances import NC_SIM_IMPL_RTOL as IMPL_RTOL
from tests._tolerances import NC_SIM_LINEAR_REGIME as LINEAR_REGIME
from theory import neural_collapse as nc

CPU = torch.device("cpu")
UFM = snc.PRESETS["ufm"]["smoke"].replace(device="cpu")
PERT = snc.PRESETS["perturbation"]["smoke"].replace(device="cpu")
FLOW = snc.PRESETS["central_path"]["smoke"].replace(device="cpu")
DIGITS = snc.PRESETS["digits"]["smoke"].replace(device="cpu")

# Finite differences with eps = 1e-4 (central): truncation eps^2 = 1e-8 times a third
# derivative constant (budget 100), rounding 1e-16/eps = 1e-12.
FD_RTOL = 100 * PERT.eps**2


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny matrices: one torch and one BLAS thread (see sims.neural_collapse)."""
    with cpu_threads(torch.device("cpu")):
        yield


# ======================================================================================
# (a) exact checks
# ======================================================================================


def test_batched_metrics_equal_the_theory_metrics():
    rng = np.random.default_rng(0)
    K, d, sizes = 4, 7, [5, 3, 4, 2]
    y = np.repeat(np.arange(K), sizes)
    B = 3
    H = rng.standard_normal((B, d, y.size)) + 2 * rng.standard_normal((B, d, 1))
    H += np.repeat(rng.standard_normal((B, d, K)), sizes, axis=2)
    W = rng.standard_normal((B, K, d))
    b = rng.standard_normal((B, K))
    a2 = rng.uniform(0.5, 2.0, (B, K))
    scale = rng.uniform(1.0, 3.0, (B, K))
    t = {k: torch.as_tensor(v) for k, v in dict(H=H, W=W, b=b, a2=a2, s=scale).items()}
    out = snc.batched_metrics(
        t["W"], t["H"], torch.as_tensor(y), b=t["b"], gof=t["a2"], gof_scale=t["s"]
    )
    for i in range(B):
        cm = nc.class_means(H[i], y)
        expected = {
            "nc1": nc.nc1(H[i], y),
            "nc1_tilde": nc.nc1_tilde(H[i], y),
            "nc2_etf": nc.nc2(W[i].T),
            "nc2_of": nc.nc2(W[i].T, frame="of"),
            "nc2_gof": nc.nc2(W[i].T, frame="gof", weights=a2[i]),
            "nc3": nc.nc3(W[i], cm.centered),
            "nc3_gof": nc.nc3(W[i], cm.means, scale=scale[i]),
            "nc4": nc.nc4(H[i], y, W[i], b[i]),
        }
        for key, value in expected.items():
            np.testing.assert_allclose(
                float(out[key][i]), value, rtol=IMPL_RTOL, err_msg=key
            )
        np.testing.assert_allclose(
            out["diag_wwt"][i].numpy(), np.diag(W[i] @ W[i].T), rtol=IMPL_RTOL
        )
        np.testing.assert_allclose(
            out["mean_norm2"][i].numpy(), np.sum(cm.means**2, axis=0), rtol=IMPL_RTOL
        )


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


def test_torch_flow_equals_the_theory_flow():
    config = FLOW.replace(lam_h=(0.1,), trials=1, trial_batch=1, beta=(1e3,))
    with cpu_threads(CPU):
        res = snc.simulate_central_path(config, [0])
    H0 = snc._h0(config, 0, CPU, torch.float64).numpy()
    path = nc.central_path_flow(
        H0,
        K=config.classes,
        lam_w=config.lam_w[0],
        lam_h=0.1,
        t=config.times(),
        dt=config.dt,
    )
    np.testing.assert_allclose(
        res["nc1_tilde"][0, 0, 0], path.nc1_tilde, rtol=IMPL_RTOL
    )
    np.testing.assert_allclose(
        res["tr_sigma_b"][0, 0, 0], path.tr_sigma_b, rtol=IMPL_RTOL
    )


# ======================================================================================
# (b) simulation vs theory
# ======================================================================================


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
                        continue  # spec §3.4: the ETF is not asserted for M >= 2
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


@pytest.fixture(scope="module")
def pert_grid(tmp_path_factory):
    ds, _ = snc.PERTURBATION.run(PERT, out=tmp_path_factory.mktemp("p") / "p.nc")
    return ds


def test_perturbation_finite_differences_equal_theorem_41(pert_grid):
    ds = pert_grid
    assert float(ds["response_gap"].max()) <= FD_RTOL
    assert float(ds["grad_residual"].max()) <= 1e-12
    gap = abs(ds["sv_intra"].isel(trial=0) - ds["sv_intra_schur"])  # every class
    assert float(gap.max()) <= FD_RTOL


def test_perturbation_theorem_42_rate(pert_grid):
    ds = pert_grid.isel(trial=0)
    assert float(abs(ds["sigma_max_intra"] - 1).max()) <= FD_RTOL
    assert float(ds["sigma2_inter"].max()) <= FD_RTOL  # rank one
    b_lo, b_hi = (float(b) for b in ds["beta"].values[[0, -1]])
    ratio = b_hi / b_lo
    for var in ("sigma_min_intra", "sigma_max_inter"):
        scaled = ds["beta"] * abs(ds[var] - ds[f"{var}_theory"])  # -> 0 like 1/beta
        shrink = scaled.sel(beta=b_lo) / scaled.sel(beta=b_hi)
        assert np.all((0.7 * ratio <= shrink) & (shrink <= 1.3 * ratio)), var


@pytest.fixture(scope="module")
def flow_grid(tmp_path_factory):
    ds, _ = snc.CENTRAL_PATH.run(FLOW, out=tmp_path_factory.mktemp("f") / "f.nc")
    return ds


def test_central_path_theorem_31_monotonicities(flow_grid):
    ds = flow_grid
    assert float(ds["nc1_tilde"].diff("time").max()) < 0
    rise_w = ds["scaled_tr_sigma_w"].diff("time") / ds["scaled_tr_sigma_w"]
    assert float(rise_w.max()) <= 1e-12
    assert float(ds["scaled_tr_sigma_b"].diff("time").min()) > 0


def test_central_path_corollary_32(flow_grid):
    ds = flow_grid
    assert float(ds["prox_residual"].max()) <= 1e-10
    big = ds.sel(beta=[b for b in ds["beta"].values if b >= 1e3])
    assert bool((big["nc1_tilde_prox"] < big["nc1_tilde_h0"]).all())
    # first order in 1/beta: the remainder falls like 1/beta^2 from beta=10 to 1e3
    gap = abs(ds["nc1_tilde_prox"] - ds["nc1_tilde_prox_first_order"])
    shrink = gap.sel(beta=10.0) / gap.sel(beta=1e3)
    assert bool((shrink >= 0.5 * 1e4).all()) and bool((shrink <= 2 * 1e4).all())


def test_digits_layers_reduce_nc1(tmp_path):
    ds, _ = snc.DIGITS.run(DIGITS, out=tmp_path / "d.nc")
    nc1 = ds["nc1"].sel(loss="mse").values
    assert np.all(np.isfinite(nc1)) and np.all(nc1[..., -1] < nc1[..., 0])
    assert np.all(ds["train_error"].isel(layer=slice(1, None)) < 0.2)


# ======================================================================================
# (c) CLI and the slow spec §3.5 runs
# ======================================================================================


def test_cli_smoke_writes_a_grid_and_resumes(tmp_path, capsys):
    out = tmp_path / "flow.nc"
    argv = [
        "--sweep",
        "--experiment",
        "central_path",
        "--smoke",
        "--device",
        "cpu",
        "--out",
        str(out),
        "-q",
    ]
    assert snc.main(argv) == 0
    first = xr.open_dataset(out).load()
    assert snc.main(argv) == 0  # complete: nothing reruns, same file
    xr.testing.assert_identical(first, xr.open_dataset(out).load())
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["--experiment", "ufm", "--set", "lam=-1"],
        ["--experiment", "ufm", "--set", "width=2"],
        ["--experiment", "ufm", "--set", "profile=5"],
        ["--experiment", "ufm", "--set", "profile=5-0-3"],
        ["--experiment", "perturbation", "--set", "lam_h=3", "lam_w=1"],
        ["--experiment", "perturbation", "--set", "width=2"],
        ["--experiment", "central_path", "--set", "lam_w=0"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args, capsys):
    with pytest.raises(SystemExit) as exc:
        snc.main(["--smoke", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err


@pytest.mark.slow
def test_slow_official_gd_reaches_the_closed_form_in_30k_steps():
    # Spec §3.5: SGD momentum 0.9, lr 0.1, full batch, init N(0, 0.1^2), d = 64,
    # lambda = 5e-4, 30,000 iterations: max relative error of diag(WW^T) < 1e-6.
    config = snc.DeepUFMSweep(steps=30_000, checkpoints=3, device="cpu")
    cases = [
        (1, snc.IMBALANCED),
        (3, snc.IMBALANCED),
        (6, snc.IMBALANCED),
        (3, snc.BALANCED),
    ]
    with cpu_threads(CPU):
        for depth, profile in cases:
            res = snc.simulate_ufm(config, depth, profile, "mse", [(5e-4, 0, 0)])
            a2 = nc.deep_linear_mse_minimizer(
                snc.parse_profile(profile), depth=depth, lam_w=5e-4, lam_h=5e-4
            ).a2
            rel = np.abs(res["diag_wwt"][0, -1] - a2) / a2
            assert rel.max() < GD_30K_RTOL, (depth, profile, rel.max())
