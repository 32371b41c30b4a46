r"""Benchmark: closed-form ReLU NNGP/NTK against neural-tangents on the same inputs.

Times :func:`theory.kernels.relu_nngp_ntk` (numpy arc-cosine recursions, blocked)
against :func:`theory.kernels.relu_nngp_ntk_nt` (neural-tangents' analytic
``kernel_fn`` in jax x64, op by op, on ``batch x batch`` blocks) and, as the naive
baseline research code often uses, a per-pair Python loop over the closed form, on
the same random inputs in one run. Repeats are interleaved (A, B, C, A, B, C, ...)
so that machine load hits all alike; medians are reported with the load average
and thread settings. The largest differences from the closed form are reported
off the diagonal and on it (a point with itself: exact angle 0, which
neural-tangents rounds to ~sqrt(eps)). Nothing here asserts on time.

Run: ``python -m bench.kernels [--n 1000] [--d 64] [--depth 3] [--repeats 5]``.
Writes ``bench/results/kernels.md``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench import _report
from theory.kernels import neural_tangents_available
from theory.kernels import relu_nngp_ntk
from theory.kernels import relu_nngp_ntk_nt

RESULTS = Path(__file__).resolve().parent / "results" / "kernels.md"


def per_pair_loop(x: np.ndarray, depth: int, w: float, b: float):
    """The naive baseline: one Python iteration per pair, scalar math."""
    n, d = x.shape
    nngp, ntk = np.empty((n, n)), np.empty((n, n))
    sq = [float(v @ v) / d for v in x]
    for i in range(n):
        for j in range(i, n):
            c = float(x[i] @ x[j]) / d
            s11, s22, s12 = w * sq[i] + b, w * sq[j] + b, w * c + b
            t = s12
            for _ in range(depth):
                root = math.sqrt(max(s11 * s22 - s12 * s12, 0.0))
                theta = math.atan2(root, s12)
                dot = 0.5 - theta / (2 * math.pi)
                s12_new = w * (root / (2 * math.pi) + dot * s12) + b
                t = s12_new + w * dot * t
                s11, s22, s12 = w * s11 / 2 + b, w * s22 / 2 + b, s12_new
            nngp[i, j] = nngp[j, i] = s12
            ntk[i, j] = ntk[j, i] = t
    return nngp, ntk


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.kernels")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--loop-n", type=int, default=150, help="points for the loop baseline"
    )
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    argv_ = sys.argv[1:] if argv is None else list(argv)
    x = np.random.default_rng(args.seed).normal(size=(args.n, args.d))
    kw = {"depth": args.depth, "weight_var": 2.0, "bias_var": 0.1}
    has_nt = neural_tangents_available()
    methods = {"closed form (numpy, blocked)": lambda: relu_nngp_ntk(x, **kw)}
    if has_nt:
        methods["neural-tangents 0.6.5 (jax x64, 256-blocks)"] = lambda: (
            relu_nngp_ntk_nt(x, batch_size=256, **kw)
        )
    xl = x[: args.loop_n]
    methods[f"per-pair Python loop (n = {args.loop_n})"] = lambda: per_pair_loop(
        xl, args.depth, 2.0, 0.1
    )
    results = {name: fn() for name, fn in methods.items()}  # warm-up, and the values
    times = {name: [] for name in methods}
    for _ in range(args.repeats):
        for name, fn in methods.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    ref = results["closed form (numpy, blocked)"]
    lines = [
        "# Infinite-width ReLU kernels: closed form vs neural-tangents",
        "",
        f"Task: NNGP and NTK of a depth-{args.depth} ReLU network "
        f"(σ_w² = 2, σ_b² = 0.1) on {args.n} random N(0, I_{args.d}) inputs, "
        f"the full {args.n}×{args.n} "
        f"matrices; {args.repeats} interleaved repeats after one warm-up, medians. "
        "The loop baseline runs on the first "
        f"{args.loop_n} points; its full-size time is extrapolated by pairs.",
        "",
        "| method | median | per pair | vs closed form "
        "| max rel. diff nngp, ntk (off-diagonal) | ntk diagonal |",
        "|---|---|---|---|---|---|",
    ]
    base = float(np.median(times["closed form (numpy, blocked)"])) / args.n**2
    for name, ts in times.items():
        med = float(np.median(ts))
        pairs = (args.loop_n if "loop" in name else args.n) ** 2
        out = results[name]
        m = out[0].shape[0]
        off = ~np.eye(m, dtype=bool)
        diff = [
            np.abs(a - r[:m, :m]) / np.max(np.abs(r[:m, :m]))
            for a, r in zip(out, ref, strict=True)
        ]
        lines.append(
            f"| {name} | {med:.3g} s | {med / pairs * 1e6:.3g} µs | "
            f"{med / pairs / base:.3g}× | {diff[0][off].max():.1e}, "
            f"{diff[1][off].max():.1e} | {np.diag(diff[1]).max():.1e} |"
        )
    if not has_nt:
        lines += ["", "neural-tangents is not installed: its row is missing."]
    lines += [
        "",
        f"{_report.machine(np)} 1-min load average {os.getloadavg()[0]:.2f} at the "
        "end. "
        f"Command: `{_report.command('kernels', argv_)}`.",
    ]
    _report.save(RESULTS, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
