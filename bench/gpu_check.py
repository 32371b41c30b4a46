"""Device check: every experiment at a preset on a device, gaps and throughput.

For each experiment of every registered sim module (``sims._registry``), runs the
chosen preset on ``--device`` (and, with ``--compare-cpu``, the same config on the CPU
with one worker) in float64 and float32, and prints per run: wall seconds, cells per
second (grid cells, ``trial`` included), the closing-table gaps (median and worst
relative gap and worst |z| against the ``_theory`` siblings) and the CPU/device time
ratio. Then the RF kernel's achieved GFLOP/s on the device against the device's
float64 matmul rate measured in the same run. Nothing asserts on time.

Run on a GPU machine: ``python -m bench.gpu_check --device cuda --preset paper``
(``--only rf_risk,selu`` to restrict, ``--dtypes float64``). Writes
``bench/results/gpu_check.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench import _report
from bench.sweep import kernel_flops
from sims._backend import resolve_device
from sims._registry import all_experiments
from sims._report import theory_gaps
from sims.rf_risk import PRESETS as RF_PRESETS
from sims.rf_risk import simulate

RESULTS = Path(__file__).resolve().parent / "results" / "gpu_check.md"


def _timed_run(experiment, config, root: Path) -> tuple[float, object]:
    out = root / f"{experiment.name}_{experiment.key}_{config.config_hash()}.nc"
    start = time.perf_counter()
    ds, _ = experiment.run(config, out=out, resume=False, overwrite=True, workers=1)
    if config.device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - start, ds


def _gaps(ds) -> str:
    rows = theory_gaps(ds)
    if not rows:
        return "no theory siblings"
    worst = max(r.worst_rel_gap for r in rows)
    median = statistics.median(r.median_rel_gap for r in rows)
    z = max((r.worst_abs_z for r in rows if r.worst_abs_z == r.worst_abs_z), default=0)
    return f"median {median:.2%}, worst {worst:.2%}, worst |z| {z:.2f}"


def matmul_rate(device: torch.device, size: int = 4096, repeats: int = 5) -> float:
    """float64 GFLOP/s of ``a @ b`` on ``device``, median of ``repeats``."""
    a = torch.randn(size, size, dtype=torch.float64, device=device)
    b = torch.randn(size, size, dtype=torch.float64, device=device)
    a @ b
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(times) / 1e9


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gpu_check")
    p.add_argument("--device", default="cuda")
    p.add_argument("--preset", default="paper")
    p.add_argument("--dtypes", default="float64,float32")
    p.add_argument("--only", default="", help="comma-separated module stems")
    p.add_argument("--compare-cpu", action="store_true")
    args = p.parse_args(argv)
    device = resolve_device(args.device)
    only = {s for s in args.only.split(",") if s}
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    lines = [
        f"# Device check: preset {args.preset} on {device}",
        "",
        f"`python -m bench.gpu_check {' '.join(argv or sys.argv[1:])}`; torch "
        f"{torch.__version__}; {name}",
        "",
        "| experiment | dtype | cells | device s | cells/s | CPU s | CPU/device "
        "| gaps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for module, experiments in all_experiments().items():
            if only and module.removeprefix("sims.") not in only:
                continue
            for e in experiments:
                base = e.presets.get(args.preset) or e.presets["default"]
                for dtype in args.dtypes.split(","):
                    config = base.replace(device=args.device, dtype=dtype)
                    seconds, ds = _timed_run(e, config, Path(tmp))
                    cells = int(np.prod([ds.sizes[d] for d in ds.dims]))
                    cpu = ratio = "-"
                    if args.compare_cpu and device.type != "cpu":
                        cpu_s, _ = _timed_run(
                            e, config.replace(device="cpu"), Path(tmp)
                        )
                        cpu, ratio = f"{cpu_s:.1f}", f"{cpu_s / seconds:.1f}x"
                    lines.append(
                        f"| {module} {e.key} | {dtype} | {cells} | {seconds:.1f} | "
                        f"{cells / seconds:.0f} | {cpu} | {ratio} | {_gaps(ds)} |"
                    )
                    print(lines[-1], flush=True)
    rf = RF_PRESETS.get(args.preset, RF_PRESETS["default"]).replace(device=args.device)
    n, trials = max(rf.n), tuple(range(rf.trial_batch))
    simulate(rf, n, trials)
    start = time.perf_counter()
    simulate(rf, n, trials)
    if device.type == "cuda":
        torch.cuda.synchronize()
    rate = kernel_flops(rf, n, len(trials)) / (time.perf_counter() - start) / 1e9
    peak = matmul_rate(device)
    lines += [
        "",
        f"RF kernel (preset {args.preset}, one chunk, float64): {rate:.1f} GFLOP/s; "
        f"float64 matmul on {device}: {peak:.1f} GFLOP/s ({rate / peak:.0%}).",
    ]
    _report.save(RESULTS, lines, echo=False)
    print("\n".join(lines[-2:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
