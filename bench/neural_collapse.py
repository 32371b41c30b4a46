r"""Benchmark: batched GD on the deep linear UFM against one configuration at a time.

The package's ``ufm`` kernel (:func:`sims.neural_collapse.ufm.simulate_ufm`) runs
full-batch SGD with momentum on many configurations at once: every parameter carries a
leading batch dimension, the gradients are written out by hand (suffix products of
the layer chain, so a step costs O(M d^2 K + K d N) per configuration) and one Python
loop over steps serves the whole batch. Two baselines run the same configurations one
at a time, on the very same initial values (drawn from the package's
coordinate-seeded generators), so the final values must agree to rounding:

* ``research-style``: the way the official code of Dang et al. (arXiv:2301.00437)
  trains the UFM, per configuration: ``torch.nn.Parameter`` features and layers, a
  loss with the weight-decay terms, ``loss.backward()`` and ``torch.optim.SGD``;
* ``kernel, one cell per call``: the package kernel with a batch of one (isolates the
  gain of batching from that of the hand-written gradients).

Nothing here asserts on time. Run: ``python -m bench.neural_collapse [--steps 300]
[--lams 10] [--trials 10] [--depth 3] [--threads 1]``. Writes
``bench/results/neural_collapse.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bench import _report
from sims import neural_collapse as snc
from sims.neural_collapse.ufm import _ufm_init

RESULTS = Path(__file__).resolve().parent / "results" / "neural_collapse.md"
PROFILE = snc.BALANCED


def research_style(config, depth, cell):
    """One configuration, autograd + torch.optim.SGD; returns final diag(WW^T)."""
    device = torch.device("cpu")
    H0, W0 = _ufm_init(config, depth, PROFILE, "mse", [cell], device, torch.float64)
    lam = cell[0]
    sizes = snc.parse_profile(PROFILE)
    K, N = len(sizes), sum(sizes)
    labels = torch.repeat_interleave(torch.arange(K), torch.tensor(sizes))
    Y = torch.nn.functional.one_hot(labels, K).T.double()
    H = torch.nn.Parameter(H0[0].clone())
    layers = [torch.nn.Parameter(w[0].clone()) for w in W0]
    opt = torch.optim.SGD([*layers, H], lr=config.lr, momentum=config.momentum)
    for _ in range(config.steps):
        opt.zero_grad()
        out = H
        for w in layers:
            out = w @ out
        loss = 0.5 * ((out - Y) ** 2).sum() / N
        loss = loss + 0.5 * lam * (sum((w**2).sum() for w in layers) + (H**2).sum())
        loss.backward()
        opt.step()
    with torch.no_grad():
        W = layers[-1]
        for w in reversed(layers[:-1]):
            W = W @ w
        return torch.diagonal(W @ W.T).numpy()


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.neural_collapse", description=__doc__.splitlines()[0]
    )
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lams", type=int, default=10, help="lambda values (log grid)")
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if min(args.steps, args.lams, args.trials, args.depth, args.threads) < 1:
        print("error: every count must be >= 1", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    lams = tuple(float(v) for v in np.geomspace(1e-4, 1e-2, args.lams))
    config = snc.DeepUFMSweep(
        depth=(args.depth,),
        profile=(PROFILE,),
        lam=lams,
        bias=(0,),
        loss=("mse",),
        width=args.width,
        steps=args.steps,
        checkpoints=1,
        device="cpu",
    )
    cells = [(lam, 0, t) for lam in lams for t in range(args.trials)]

    t0 = time.perf_counter()
    batched = snc.simulate_ufm(config, args.depth, PROFILE, "mse", cells)
    t_batch = time.perf_counter() - t0
    final = batched["diag_wwt"][:, -1]

    t0 = time.perf_counter()
    single = np.stack(
        [
            snc.simulate_ufm(config, args.depth, PROFILE, "mse", [c])["diag_wwt"][0, -1]
            for c in cells
        ]
    )
    t_single = time.perf_counter() - t0

    t0 = time.perf_counter()
    research = np.stack([research_style(config, args.depth, c) for c in cells])
    t_research = time.perf_counter() - t0

    def rel(a):
        # per configuration, relative to its largest class length: classes on the
        # zero branch (lambda = 1e-2 at depth 3) have lengths at the rounding floor.
        scale = np.abs(final).max(axis=1, keepdims=True)
        return float(np.max(np.abs(a - final) / scale))

    C = len(cells)
    rows = [
        (
            "package kernel, all configurations in one batch",
            t_batch,
            "1 (reference)",
            "—",
        ),
        (
            "package kernel, one configuration per call",
            t_single,
            f"{t_single / t_batch:.1f}×",
            f"{rel(single):.1e}",
        ),
        (
            "research-style autograd + torch.optim.SGD, one at a time",
            t_research,
            f"{t_research / t_batch:.1f}×",
            f"{rel(research):.1e}",
        ),
    ]
    lines = [
        "| method | total time | per configuration | time ratio to batched "
        "| max diff of final diag(WWᵀ) / max_k ‖w_k‖² |",
        "|---|---|---|---|---|",
    ]
    for name, secs, ratio, diff in rows:
        lines.append(f"| {name} | {_fmt(secs)} | {_fmt(secs / C)} | {ratio} | {diff} |")
    setup = (
        f"Task: deep linear UFM with MSE, depth M = {args.depth}, width d = "
        f"{args.width}, classes {PROFILE} (N = 400), {C} configurations "
        f"({args.lams} log-spaced λ = λ_W = λ_H in [1e-4, 1e-2] × {args.trials} "
        f"seeds), {args.steps} full-batch SGD steps (lr {config.lr}, momentum "
        f"{config.momentum}, init N(0, {config.init_std}²)), float64 on the CPU with "
        f"{args.threads} torch thread(s). All three runs start from the same "
        "initial values (the package's coordinate-seeded generators)."
    )
    _report.save(
        args.out,
        [
            "# Deep linear UFM: batched GD vs one configuration at a time",
            "",
            setup,
            "",
            *lines,
            "",
            f"Command: `{_report.command('neural_collapse', argv)}`. "
            f"{_report.machine(torch)} 1-min load average at the end "
            f"{os.getloadavg()[0]:.2f}.",
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
