"""The batched torch NC metrics equal the numpy ones of :mod:`theory.neural_collapse`.

Exact checks (same formulas, different order of floating-point operations).
"""

from __future__ import annotations

import numpy as np
import torch

from sims import neural_collapse as snc
from tests._tolerances import NC_SIM_IMPL_RTOL as IMPL_RTOL
from tests.theory._nc_helpers import nearly_collinear_features
from theory import neural_collapse as nc


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


def test_a_diverged_batch_element_gives_nan_not_an_error():
    """Overflowed features (a diverged run) used to make ``eigh`` raise; now that
    element's NC1 is NaN and the other elements' numbers are unchanged."""
    rng = np.random.default_rng(1)
    y = torch.as_tensor(np.repeat(np.arange(3), 4))
    H = torch.as_tensor(rng.standard_normal((2, 5, 12)))
    W = torch.as_tensor(rng.standard_normal((2, 3, 5)))
    alone = snc.batched_metrics(W[:1], H[:1], y)
    H[1, 0, 0] = float("inf")
    W[1, 0, 0] = float("nan")
    out = snc.batched_metrics(W, H, y)
    assert bool(torch.isnan(out["nc1"][1]))
    for key, value in alone.items():
        torch.testing.assert_close(out[key][:1], value, rtol=0, atol=0, equal_nan=True)


def test_batched_nc1_with_nearly_collinear_means():
    """Class means 1e-5 off a line: the torch NC1 agrees with the numpy one (itself
    within 10 eps kappa of a 50-digit reference) to 20 eps kappa, kappa = S_max/S_min
    of the centred means. Inverting Sigma_B instead, as the kernel once did, costs
    eps kappa^2 (2.4e-6 relative here; 1.3e-12 now)."""
    H, y = nearly_collinear_features(1e-5)
    S = np.linalg.svd(nc.class_means(H, y).centered, compute_uv=False)
    W = torch.as_tensor(np.random.default_rng(0).standard_normal((1, 3, 4)))
    out = snc.batched_metrics(W, torch.as_tensor(H[None]), torch.as_tensor(y))
    ref = nc.nc1(H, y)
    assert (
        abs(float(out["nc1"][0]) - ref) <= 20 * np.finfo(float).eps * S[0] / S[1] * ref
    )


def test_coinciding_class_means_give_nan_nc1():
    """NC1 is undefined when every class has the same mean (Sigma_B = 0)."""
    y = torch.as_tensor(np.repeat(np.arange(2), 3))
    H = torch.as_tensor(np.tile([[1.0, -1.0, 0.0], [0.5, 0.0, -0.5]], 2))[None]
    W = torch.ones(1, 2, 2, dtype=torch.float64)
    assert bool(torch.isnan(snc.batched_metrics(W, H, y)["nc1"][0]))
