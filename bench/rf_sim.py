"""Benchmark: the batched RF simulation kernel against the strongest simple loop.

The package's :func:`sims.rf_risk.simulate` fits every ridge of a (trial, n, k) from
one eigendecomposition and batches trials. The baseline is the strongest simple
research-style loop doing the same work: per trial, the pool features once; per k,
the primal k x k system when k <= n and the n x n dual when k > n (as the package and
the paper's authors do), one ``numpy.linalg.solve`` per ridge; and the same three
outputs (population test risk, held-out MSE, train MSE), on the very same random
draws, so the two must agree to rounding. Both run on one thread (torch and numpy's
BLAS), get one warm-up call, and are timed in interleaved repeats; medians are
reported. Nothing here asserts on time.

Run: ``python -m bench.rf_sim [--trials 10] [--modes 1000] [--n 256] [--repeats 5]``.
Writes ``bench/results/rf_sim.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from bench import _report
from sims._backend import cell_generator
from sims.rf_risk import RFRiskSweep
from sims.rf_risk import simulate

RESULTS = Path(__file__).resolve().parent / "results" / "rf_sim.md"


def _draws(config: RFRiskSweep, n: int, t: int):
    """The data, pool and subsets the package draws for (n, trial t), as numpy."""
    dev = torch.device("cpu")
    lam, v2 = config.spectrum()
    m = n + config.test_size
    gen = cell_generator(config.seed, "data", n, t, device=dev)
    X = torch.randn(m, config.num_modes, generator=gen, dtype=torch.float64)
    noise = torch.randn(m, generator=gen, dtype=torch.float64)
    G = torch.randn(config.pool, config.num_modes, generator=gen, dtype=torch.float64)
    subsets = {
        k: torch.randperm(
            config.pool,
            generator=cell_generator(config.seed, "subset", n, t, k, device=dev),
        )[:k].numpy()
        for k in config.k
    }
    X = X.numpy()
    y = X @ np.sqrt(v2) + math.sqrt(config.noise_var) * noise.numpy()
    return X, y, G.numpy(), subsets, lam, v2


def naive(config: RFRiskSweep, n: int) -> dict[str, np.ndarray]:
    """Test risk, held-out and train MSE, shape (k, ridge, trial) each: per-trial
    numpy, the primal system when k <= n and the dual when k > n, one solve per
    ridge."""
    shape = (len(config.k), len(config.ridge), config.trials)
    out = {
        key: np.empty(shape) for key in ("test_risk", "test_risk_heldout", "train_risk")
    }
    for t in range(config.trials):
        X, y, G, subsets, lam, v2 = _draws(config, n, t)
        W = G * np.sqrt(lam)
        features = X @ W.T  # (n + test, pool), once per trial
        for ik, k in enumerate(config.k):
            phi = features[:, subsets[k]] / math.sqrt(k)
            train, test = phi[:n], phi[n:]
            for ir, ridge in enumerate(config.ridge):
                if k <= n:
                    A = train.T @ train + ridge * np.eye(k)
                    theta = np.linalg.solve(A, train.T @ y[:n])
                else:
                    K = train @ train.T + ridge * np.eye(n)
                    theta = train.T @ np.linalg.solve(K, y[:n])
                w_eff = (theta @ W[subsets[k]]) / math.sqrt(k)
                out["test_risk"][ik, ir, t] = (
                    np.sum((w_eff - np.sqrt(v2)) ** 2) + config.noise_var
                )
                out["train_risk"][ik, ir, t] = np.mean((train @ theta - y[:n]) ** 2)
                out["test_risk_heldout"][ik, ir, t] = np.mean(
                    (test @ theta - y[n:]) ** 2
                )
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--modes", type=int, default=1000)
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    config = RFRiskSweep(
        n=(args.n,),
        k=(16, 64, 128, 200, 256, 320, 512, 1000),
        ridge=(1e-3, 1e-2, 1e-1, 1.0, 10.0),
        num_modes=args.modes,
        pool=args.modes,
        trials=args.trials,
        trial_batch=args.trials,
        test_size=1000,
        device="cpu",
    )
    trials = tuple(range(config.trials))
    torch.set_num_threads(1)
    with threadpool_limits(1):
        simulate(config, args.n, trials[:1])  # warm-up, both
        config_one = config.replace(trials=1, trial_batch=1)
        naive(config_one, args.n)
        t_pkg, t_naive = [], []
        for _ in range(args.repeats):  # interleaved
            t0 = time.perf_counter()
            package = simulate(config, args.n, trials)
            t_pkg.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            baseline = naive(config, args.n)
            t_naive.append(time.perf_counter() - t0)
    t_pkg, t_naive = statistics.median(t_pkg), statistics.median(t_naive)
    rel = max(
        float(np.max(np.abs(package[key] - baseline[key]) / np.abs(baseline[key])))
        for key in baseline
    )
    cells = package["test_risk"].size
    load = os.getloadavg()[0]
    lines = [
        "# RF simulation kernel: batched vs the strongest simple loop",
        "",
        f"Config: n = {args.n}, M = pool = {args.modes}, test_size = "
        f"{config.test_size}, k = {config.k}, {len(config.ridge)} ridges, "
        f"{config.trials} trials ({cells} (k, ridge, trial) fits, three outputs "
        "each), float64, CPU, one thread (torch and BLAS), one warm-up call each, "
        f"medians of {args.repeats} interleaved repeats; 1-minute load average at "
        f"the end {load:.1f} on {os.cpu_count()} CPUs.",
        "",
        "| method | wall time | fits per second | speed-up |",
        "|---|---|---|---|",
        f"| `sims.rf_risk.simulate` (one eigh per (trial, k), trials batched) | "
        f"{t_pkg:.2f} s | {cells / t_pkg:.0f} | {t_naive / t_pkg:.1f}x |",
        f"| per-trial numpy loop, primal/dual by k vs n, one solve per ridge | "
        f"{t_naive:.2f} s | "
        f"{cells / t_naive:.0f} | 1 |",
        "",
        f"Largest relative difference over the three outputs: {rel:.1e}.",
        "",
        f"{_report.machine(np, torch)} Command: `{_report.command('rf_sim', argv)}`.",
    ]
    _report.save(RESULTS, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
