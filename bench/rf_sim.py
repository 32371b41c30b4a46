"""Benchmark: the batched RF simulation kernel against a per-trial numpy loop.

The package's :func:`sims.rf_risk.simulate` fits every ridge of a (trial, n, k) from
one eigendecomposition and batches trials on the device. The baseline is written the
way research code usually does it: the pool features once per trial, then a Python
loop over ``k`` and ridges with one ``numpy.linalg.solve`` per ridge, on the very
same random draws (data, pool and feature subsets come from the package's seeded
generators), so the two must agree to rounding. Nothing here asserts on time.

Run: ``python -m bench.rf_sim [--trials 10] [--modes 1000] [--n 256]``. Writes
``bench/results/rf_sim.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

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


def naive(config: RFRiskSweep, n: int) -> np.ndarray:
    """Population test risk, shape (k, ridge, trial), one solve per ridge."""
    out = np.empty((len(config.k), len(config.ridge), config.trials))
    for t in range(config.trials):
        X, y, G, subsets, lam, v2 = _draws(config, n, t)
        pool_features = X[:n] @ (G * np.sqrt(lam)).T  # once per trial, as the paper
        for ik, k in enumerate(config.k):
            Gs = G[subsets[k]]  # (k, M)
            phi = pool_features[:, subsets[k]] / math.sqrt(k)
            for ir, ridge in enumerate(config.ridge):
                theta = np.linalg.solve(phi.T @ phi + ridge * np.eye(k), phi.T @ y[:n])
                w_eff = np.sqrt(lam) * (theta @ Gs) / math.sqrt(k)
                out[ik, ir, t] = np.sum((w_eff - np.sqrt(v2)) ** 2) + config.noise_var
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--modes", type=int, default=1000)
    p.add_argument("--n", type=int, default=256)
    args = p.parse_args(argv)
    config = RFRiskSweep(
        n=(args.n,),
        k=(16, 64, 128, 200, 256, 320, 512, 1000),
        ridge=(1e-3, 1e-2, 1e-1, 1.0, 10.0),
        num_modes=args.modes,
        pool=args.modes,
        trials=args.trials,
        trial_batch=args.trials,
        test_size=1,
        device="cpu",
    )
    trials = tuple(range(config.trials))
    simulate(config, args.n, trials[:1])  # warm-up
    t0 = time.perf_counter()
    package = simulate(config, args.n, trials)["test_risk"]
    t_pkg = time.perf_counter() - t0
    t0 = time.perf_counter()
    baseline = naive(config, args.n)
    t_naive = time.perf_counter() - t0
    rel = np.abs(package - baseline) / np.abs(baseline)
    cells = package.size
    lines = [
        "# RF simulation kernel: batched vs per-trial numpy loop",
        "",
        f"Config: n = {args.n}, M = pool = {args.modes}, k = {config.k}, "
        f"{len(config.ridge)} ridges, {config.trials} trials "
        f"({cells} (k, ridge, trial) fits), float64, CPU, torch "
        f"{torch.get_num_threads()} threads.",
        "",
        "| method | wall time | fits per second | speed-up |",
        "|---|---|---|---|",
        f"| `sims.rf_risk.simulate` (one eigh per (trial, k), trials batched) | "
        f"{t_pkg:.2f} s | {cells / t_pkg:.0f} | {t_naive / t_pkg:.1f}x |",
        f"| per-trial numpy loop, one solve per ridge | {t_naive:.2f} s | "
        f"{cells / t_naive:.0f} | 1 |",
        "",
        f"Largest relative difference of the population test risk: {rel.max():.1e}.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, numpy {np.__version__}, torch "
        f"{torch.__version__}. Command: `python -m bench.rf_sim "
        f"{shlex.join(argv if argv is not None else sys.argv[1:])}`.",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
