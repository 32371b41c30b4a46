r"""Benchmark: batched MECO / NCE steps against a per-seed loop of the same updates.

The ``gaussian`` kernel of :mod:`sims.nce` advances every seed (and cell) of a chunk
as one batched tensor program (:func:`sims.nce._common.meco_step`,
:func:`~sims.nce._common.nce_step`). The baseline runs the very same update
functions one seed at a time (a Python loop over seeds inside each step, tensors of
batch one), the way per-seed research code does. Both consume the same pre-drawn
standard normals, so their final parameters must agree to rounding (reported).
Each measurement is preceded by the same warm-up; batched and looped runs are
interleaved over ``--repeats`` and the medians are reported.

Also times one training step of the 2-D density experiment (MLP energy, all trials
batched) for MECO and NCE, as the difference of two kernel runs of different length
divided by the step difference (so the held-out evaluation cancels).

Nothing asserts on time. Run: ``python -m bench.nce [--seeds 256] [--steps 50]
[--repeats 3] [--threads 1]``. Writes ``bench/results/nce.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from bench import _report
from sims._sweep import Chunk
from sims.nce import density
from sims.nce._common import HALF_LOG_2PI
from sims.nce._common import MecoState
from sims.nce._common import NceState
from sims.nce._common import meco_step
from sims.nce._common import nce_step

RESULTS = Path(__file__).resolve().parent / "results" / "nce.md"
THETA_STAR, NOISE_STD, B, GAMMA, BETA, LR = 2.0, 1.5, 64, 0.1, 0.1, 0.05


def _run(method: str, z: torch.Tensor) -> torch.Tensor:
    """All seeds of ``z (steps, seeds, 2B)`` at once; returns final theta (seeds,)."""
    seeds = z.shape[1]
    th_star = torch.full((seeds,), THETA_STAR, dtype=z.dtype)
    s = torch.full((seeds,), NOISE_STD, dtype=z.dtype)
    m = torch.zeros_like(s)
    gamma = torch.full_like(s, GAMMA)
    zero = torch.zeros_like(s)
    if method == "meco":
        state = MecoState(zero.clone(), None, zero.clone())
    else:
        state = NceState(zero.clone(), zero + HALF_LOG_2PI, zero.clone(), zero.clone())
    for k in range(z.shape[0]):
        zx, zy = z[k, :, :B], z[k, :, B:]
        x = th_star[:, None] + zx
        y = m[:, None] + s[:, None] * zy
        if method == "meco":
            state = meco_step(state, x, y, zy, s, gamma, BETA, LR)
        else:
            state = nce_step(state, x, y, m, s, 1.0, BETA, LR)
    return state.theta


def _loop(method: str, z: torch.Tensor) -> torch.Tensor:
    """The same updates, one seed at a time inside each step."""
    seeds = z.shape[1]
    one = dict(dtype=z.dtype)
    th_star = torch.full((1,), THETA_STAR, **one)
    s = torch.full((1,), NOISE_STD, **one)
    m, gamma, zero = torch.zeros(1, **one), torch.full((1,), GAMMA, **one), None
    zero = torch.zeros(1, **one)
    if method == "meco":
        states = [MecoState(zero.clone(), None, zero.clone()) for _ in range(seeds)]
    else:
        states = [
            NceState(zero.clone(), zero + HALF_LOG_2PI, zero.clone(), zero.clone())
            for _ in range(seeds)
        ]
    for k in range(z.shape[0]):
        for i in range(seeds):
            zx, zy = z[k, i : i + 1, :B], z[k, i : i + 1, B:]
            x = th_star[:, None] + zx
            y = m[:, None] + s[:, None] * zy
            if method == "meco":
                states[i] = meco_step(states[i], x, y, zy, s, gamma, BETA, LR)
            else:
                states[i] = nce_step(states[i], x, y, m, s, 1.0, BETA, LR)
    return torch.cat([st.theta for st in states])


def _timed(fn, *args) -> tuple[float, torch.Tensor]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def _density_step_time(method: str, steps: tuple[int, int]) -> float:
    times = []
    for n in steps:
        cfg = density.DensitySweep(
            method=(method,), dataset=("mog",), steps=n, record=1, grid=64,
            test_size=1000, display=8, trials=4, trial_batch=4, device="cpu",
        )  # fmt: skip
        chunk = Chunk({"method": (method,), "dataset": ("mog",), "trial": (0, 1, 2, 3)})
        density._kernel(cfg, chunk)  # warm-up
        t0 = time.perf_counter()
        density._kernel(cfg, chunk)
        times.append(time.perf_counter() - t0)
    return (times[1] - times[0]) / (steps[1] - steps[0])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.nce", description=__doc__.splitlines()[0]
    )
    p.add_argument("--seeds", type=int, default=256)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(args.steps, args.seeds, 2 * B, generator=gen, dtype=torch.float64)
    warm = z[: min(10, args.steps)]
    load_before = os.getloadavg()
    rows = []
    for method in ("meco", "nce"):
        _run(method, warm)
        _loop(method, warm)
        batched, looped = [], []
        for _ in range(args.repeats):  # interleaved
            tb, theta_b = _timed(_run, method, z)
            tl, theta_l = _timed(_loop, method, z)
            batched.append(tb)
            looped.append(tl)
        diff = float((theta_b - theta_l).abs().max())
        mb, ml = statistics.median(batched), statistics.median(looped)
        rows.append((method, mb, ml, ml / mb, diff))
    dens = {m: _density_step_time(m, (50, 150)) for m in ("meco", "nce")}
    load_after = os.getloadavg()
    lines = [
        "# bench/nce.py: batched MECO/NCE steps vs a per-seed loop",
        "",
        f"Command: `{_report.command('nce', argv)}`. {_report.machine(torch)} "
        f"{args.threads} intra-op thread(s), float64, CPU. Load average "
        f"(1 min) {load_before[0]:.1f} before and {load_after[0]:.1f} after.",
        "",
        f"1-D Gaussian mean, θ* = {THETA_STAR}, q = N(0, {NOISE_STD}²), B = m = {B}, "
        f"{args.seeds} seeds x {args.steps} steps, the same pre-drawn normals for "
        f"both; same 10-step warm-up; {args.repeats} interleaved repeats, medians.",
        "",
        "| method | batched | per-seed loop | speed-up | max abs diff of final θ |",
        "|---|---|---|---|---|",
    ]
    for method, mb, ml, ratio, diff in rows:
        lines.append(
            f"| {method} | {mb:.3f} s | {ml:.2f} s | {ratio:.0f}x | {diff:.1e} |"
        )
    lines += [
        "",
        "2-D density (MLP 2-64-64-1, 4 trials batched, B = 256, CPU), one training "
        "step, from kernel runs of 50 and 150 steps:",
        "",
        f"- MECO: {dens['meco'] * 1e3:.2f} ms/step",
        f"- NCE: {dens['nce'] * 1e3:.2f} ms/step",
        "",
    ]
    _report.save(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
