"""Benchmark: the main job at 1, 2 and N workers, and the RF kernel's FLOP rate.

Runs ``python -m sims.rf_risk --sweep`` (the ``default`` preset, or ``--preset``) as
whole processes, interleaved A B C A B C ...: the previous engine (a git worktree of
``--baseline-ref``: one process, torch's default intra-op threads), then this
package with one worker of one thread, then ``--workers 2..N``. Every run writes a fresh
file; the files of all worker counts must be identical (checked here). Also times one
chunk of the RF kernel in-process, counts its floating-point operations and reports
the achieved GFLOP/s against this machine's float64 ``torch.matmul`` rate measured in
the same run. Medians over ``--repeats``; nothing asserts on time.

Run: ``python -m bench.sweep [--repeats 3] [--workers 1,2] [--preset default]``.
Writes ``bench/results/sweep.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench import _report
from sims._io import read_netcdf
from sims.rf_risk import PRESETS
from sims.rf_risk import simulate

RESULTS = Path(__file__).resolve().parent / "results" / "sweep.md"
REPO = Path(__file__).resolve().parents[1]


def _run(preset: str, workers: int | None, out: Path, root: Path) -> float:
    cmd = [sys.executable, "-m", "sims.rf_risk", "--sweep", "--preset", preset]
    cmd += ["--out", str(out), "-q", "--no-resume"]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    for name in ("LD_WORKERS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=root, check=True, capture_output=True)
    return time.perf_counter() - start


def matmul_gflops(size: int = 2000, repeats: int = 5) -> float:
    """float64 ``a @ b`` GFLOP/s on one thread, median of ``repeats``."""
    a = torch.randn(size, size, dtype=torch.float64)
    b = torch.randn(size, size, dtype=torch.float64)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def kernel_flops(config, n: int, trials: int) -> float:
    """Floating-point operations of :func:`sims.rf_risk.simulate` for one chunk.

    Counted: the features ``X Wᵀ`` (2 m P M), the labels (2 m M), per k the Gram
    (2 n k² or 2 n² k), its eigendecomposition with vectors (counted as 4 r³: the
    tridiagonal reduction 4/3 r³ plus the back-transformation ~2 r³ plus the
    divide-and-conquer solve, a lower bound), the projections and per-ridge
    solutions (2 r² R + dual 2 R n k), predictions (2 R k m) and the population
    weights (2 R k M). Element-wise work and random draws are not counted.
    """
    M, P, R = config.num_modes, config.pool, len(config.ridge)
    m = n + config.test_size
    total = 2 * m * P * M + 2 * m * M
    for k in config.k:
        r = min(n, k)
        gram = 2 * n * k * k if k <= n else 2 * n * n * k
        solve = 4 * r**3 + 2 * n * k + 2 * r * r + 2 * r * r * R
        dual = 0 if k <= n else 2 * R * n * k
        total += gram + solve + dual + 2 * R * k * m + 2 * R * k * M
    return float(total * trials)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--preset", default="default")
    parser.add_argument(
        "--baseline-ref",
        default="95a9b5b",
        help="git ref of the previous engine (one process, default threads)",
    )
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    cores = len(os.sched_getaffinity(0))

    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(old), args.baseline_ref],
            cwd=REPO,
            check=True,
            capture_output=True,
        )
        # A: the previous engine: one process, torch's default intra-op threads.
        variants = {f"previous engine ({args.baseline_ref}), 1 process": (None, old)}
        for w in counts:
            variants[f"{w} worker(s), 1 thread each"] = (w, REPO)
        times = {name: [] for name in variants}
        files = {}
        for rep in range(args.repeats + 1):  # the first round is the warm-up
            for i, (name, (w, root)) in enumerate(variants.items()):
                out = Path(tmp) / f"v{i}.nc"
                dt = _run(args.preset, w, out, root)
                if rep:
                    times[name].append(dt)
                files[name] = read_netcdf(out)
        ref = files[f"{counts[0]} worker(s), 1 thread each"]
        identical = all(
            bool((files[name][v].values == ref[v].values).all())
            for name in variants
            if "thread each" in name
            for v in ("test_risk", "train_risk", "test_risk_heldout")
        )
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(old)], cwd=REPO, check=True
        )

    torch.set_num_threads(1)
    config = PRESETS[args.preset].replace(device="cpu")
    n, trials = max(config.n), tuple(range(config.trial_batch))
    simulate(config, n, trials)
    kernel_times, matmul_rates = [], []
    for _ in range(args.repeats):
        matmul_rates.append(matmul_gflops())
        start = time.perf_counter()
        simulate(config, n, trials)
        kernel_times.append(time.perf_counter() - start)
    flops = kernel_flops(config, n, len(trials))
    kernel_rate = flops / statistics.median(kernel_times) / 1e9
    matmul_rate = statistics.median(matmul_rates)

    base = statistics.median(times[f"{counts[0]} worker(s), 1 thread each"])
    lines = [
        "# Main job: worker processes, and the RF kernel's FLOP rate",
        "",
        f"`python -m bench.sweep --repeats {args.repeats} --workers {args.workers} "
        f"--preset {args.preset}`; {_report.machine(torch)} {cores} usable cores, "
        f"load average after the kernel timing {os.getloadavg()[0]:.2f}. "
        "Whole-process wall times (import, sweep, theory, write), medians of "
        f"{args.repeats} interleaved repeats after one warm-up round.",
        "",
        "| run | median wall s | min | max | throughput vs 1 worker |",
        "|---|---|---|---|---|",
    ]
    for name, ts in times.items():
        med = statistics.median(ts)
        row = f"| {name} | {med:.1f} | {min(ts):.1f} | {max(ts):.1f} |"
        lines.append(f"{row} {base / med:.2f}x |")
    lines += [
        "",
        f"Files of every worker count bitwise identical: {identical}.",
        "",
        f"RF kernel, one chunk (n = {n}, {len(trials)} trials, {len(config.k)} k, "
        f"{len(config.ridge)} ridges), one thread: {flops / 1e9:.1f} GFLOP counted "
        f"(see `kernel_flops`), median {statistics.median(kernel_times):.2f} s, "
        f"{kernel_rate:.2f} GFLOP/s; float64 2000x2000 matmul on one thread: "
        f"{matmul_rate:.2f} GFLOP/s; ratio {kernel_rate / matmul_rate:.0%}.",
    ]
    _report.save(RESULTS, lines)
    return 0 if identical and math.isfinite(kernel_rate) else 1


if __name__ == "__main__":
    sys.exit(main())
