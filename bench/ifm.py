r"""Benchmark: incremental IFM against the authors' full-recomputation loop.

:func:`theory.feature_merging.ifm` (``mode="official"``) keeps each hidden layer's
distance matrix and updates it after every merge: one new row for the merged unit and
an exact low-cost correction of the two neighbouring layers' matrices. The baseline,
:func:`official_naive`, is a straightforward re-implementation of the authors'
procedure (Chen, Zhou & Yan, arXiv:2310.06756, their ``self_merge_weight``): every pass
and every layer recomputes the Gram matrix of the concatenated [incoming | outgoing]
weight vectors, forms ``D = diag + diag^T - 2G``, takes the closest pair, and moves the
merged unit to the end. It lives in the test tree (``tests/theory/_ifm_reference.py``,
the reference the tests hold the official mode to); run this from the repository
root.

Both run on the same random networks (seeded), after the same warm-up, interleaved
(package, baseline, package, baseline, ...), and must return identical partitions.
Nothing asserts on time. Run ``python -m bench.ifm [--repeats 3] [--threads 1]``;
writes ``bench/results/ifm.md``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from bench import _report
from tests.theory._ifm_reference import official_naive

RESULTS = Path(__file__).resolve().parent / "results" / "ifm.md"


def vgg_block(gen, channels=512, depth=4, classes=10):
    """Conv 3x3 layers ``channels -> channels`` (He init) and a Linear head."""
    layers = []
    for _ in range(depth):
        w = torch.randn(channels, channels, 3, 3, generator=gen, dtype=torch.float64)
        layers.append((w * (2.0 / (9 * channels)) ** 0.5, torch.zeros(channels)))
    head = torch.randn(classes, channels, generator=gen, dtype=torch.float64)
    layers.append((head / channels**0.5, torch.zeros(classes)))
    return layers


def mlp(gen, sizes):
    layers = []
    for a, b in itertools.pairwise(sizes):
        w = torch.randn(b, a, generator=gen, dtype=torch.float64) / a**0.5
        layers.append((w, 0.1 * torch.randn(b, generator=gen, dtype=torch.float64)))
    return layers


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_case(name, layers, beta, max_ratio, repeats):
    from theory.feature_merging import ifm

    def ours():
        return ifm(layers, beta=beta, mode="official", max_ratio=max_ratio)

    def base():
        return official_naive(layers, beta, max_ratio)

    small = [
        (w[:8, : min(8, w.shape[1])].clone(), bb[:8].clone()) for w, bb in layers[:1]
    ]
    warm = [*small, (torch.randn(3, 8, dtype=torch.float64), torch.zeros(3))]
    ifm(warm, beta=0.5, mode="official")  # warm-up: same for both
    official_naive(warm, 0.5)
    t_ours, t_base = [], []
    for _ in range(repeats):
        dt, r = _time(ours)
        t_ours.append(dt)
        dt, ref = _time(base)
        t_base.append(dt)
    same = r.groups == ref[3]
    return {
        "case": name,
        "widths": list(r.widths),
        "passes": r.passes,
        "ours": statistics.median(t_ours),
        "base": statistics.median(t_base),
        "same": same,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.ifm", description=__doc__.split("\n")[0]
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    # random layers have d_min/d_max ~ 0.88 (VGG block) and ~ 0.53 (MLP): betas just
    # above start the merging; the caps keep the baseline's pass count affordable
    p.add_argument("--beta-vgg", type=float, default=0.9)
    p.add_argument("--cap-vgg", type=float, default=0.05)
    p.add_argument("--beta-mlp", type=float, default=0.55)
    p.add_argument("--cap-mlp", type=float, default=0.005)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    cases = [
        (
            "4 conv 512->512 3x3 + Linear(512, 10)",
            vgg_block(gen),
            args.beta_vgg,
            args.cap_vgg,
        ),
        ("MLP 512-4096-10", mlp(gen, [512, 4096, 10]), args.beta_mlp, args.cap_mlp),
    ]
    rows = [run_case(*case, args.repeats) for case in cases]
    load = os.getloadavg()
    lines = [
        "# IFM benchmark: incremental vs full recomputation (official mode)",
        "",
        f"Command: `{_report.command('ifm', argv)}`",
        f"{_report.machine(torch)} {args.threads} intra-op thread(s); 1/5/15-min load "
        f"average at the end {'/'.join(f'{x:.2f}' for x in load)}.",
        f"Medians of {args.repeats} interleaved repeats after one shared warm-up; "
        "float64.",
        "",
        "| case | beta | max_ratio | widths after | passes | ours (s) | baseline (s) "
        "| speed-up | identical partitions |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (_, _, beta, cap), r in zip(cases, rows, strict=True):
        lines.append(
            f"| {r['case']} | {beta} | {cap} | {r['widths']} | {r['passes']} | "
            f"{r['ours']:.3f} | {r['base']:.2f} | {r['base'] / r['ours']:.1f}x | "
            f"{r['same']} |"
        )
    _report.save(RESULTS, lines)
    return 0 if all(r["same"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
