r"""Feature complexity of ReLU MLPs during training, and replicated initialisation.

Chen, Zhou & Yan (ICLR 2024, arXiv:2310.06756) define the feature complexity of a
layer as the number of functionally distinct features it carries and estimate it with
IFM at a threshold :math:`\beta`. Here MLPs (``mlp1``, ``mlp2``) are trained on
scikit-learn's 8x8 digits (full-batch Adam, all trials of a chunk as one batched
program) and, at each checkpoint (dim ``step``), every hidden layer's complexity is
measured in two ways:

- ``distinct``: the exact count, the classes of
  :func:`theory.feature_merging.functional_classes` (units equal up to a positive
  scale), i.e. exact-mode IFM at :math:`\beta = 0`; ``distinct_official``: the
  width the authors' procedure leaves at :math:`\beta = 0`;
- ``complexity``: the IFM estimator, the width left by
  :func:`theory.feature_merging.ifm` at each :math:`\beta` (dims ``beta``, ``mode``).

Replicated initialisation (dim ``copies``): each hidden unit starts as ``copies``
identical copies (equal incoming rows, equal outgoing columns) of ``width / copies``
He-initialised units; ``copies = 1`` is the ordinary initialisation. The loss is
symmetric under swapping two copies, so (S)GD keeps them identical at every step
(``docs/derivations/ifm.md`` §7): the exact complexity stays ``width / copies``
(``distinct_theory``), and the authors' procedure, which merges a group of ``g``
identical units into popcount(g) units at :math:`\beta = 0`, leaves
``width / copies * popcount(copies)`` (``distinct_official_theory``). Run
``python -m sims.ifm --sweep --experiment complexity``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import xarray as xr

from sims._backend import resolve_device
from sims._backend import resolve_dtype
from sims._config import SweepConfig
from sims._config import param
from sims._dataset import chunk_dataset
from sims._dataset import config_coords
from sims._experiment import Axes
from sims._experiment import Experiment
from sims._experiment import VarAttrs
from sims._sweep import Chunk
from sims.ifm._common import COORDS
from sims.ifm._common import MLP_DEPTH
from sims.ifm._common import REFERENCES
from sims.ifm._common import digits
from sims.ifm._common import net_forward
from sims.ifm._common import train
from theory.feature_merging import feature_complexity
from theory.feature_merging import functional_classes

__all__ = ["EXPERIMENT", "PRESETS", "IFMComplexitySweep"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class IFMComplexitySweep(SweepConfig):
    """Feature complexity of MLPs at training checkpoints.

    Attributes: documented in the ``param`` help strings (``--help`` lists them).
    """

    arch: tuple[str, ...] = param(
        ("mlp1", "mlp2"),
        "architecture (dim arch): 1 or 2 hidden layers",
        choices=tuple(MLP_DEPTH),
    )
    width: tuple[int, ...] = param(
        (32, 64, 128), "hidden width (dim width)", ge=1, le=4096
    )
    copies: tuple[int, ...] = param(
        (1, 4),
        "initial copies of each hidden unit (dim copies); 1 = ordinary init",
        ge=1,
        le=4096,
    )
    beta: tuple[float, ...] = param(
        (0.05, 0.2, 0.4), "IFM threshold β of the estimator (dim beta)", ge=0.0, le=1e6
    )
    mode: tuple[str, ...] = param(
        ("official", "exact"), "IFM mode (dim mode)", choices=("official", "exact")
    )
    checkpoints: tuple[int, ...] = param(
        (0, 25, 50, 100, 200, 400),
        "training steps at which complexity is measured (dim step), increasing",
        ge=0,
        le=10**6,
    )
    lr: float = param(0.01, "Adam step size", gt=0.0, le=10.0)
    trials: int = param(4, "seeds per cell (dim trial)", ge=1, le=10**4)
    trial_batch: int = param(4, "seeds trained together", ge=1, le=10**4)

    def validate(self) -> None:
        bad = [(w, c) for w in self.width for c in self.copies if w % c]
        if bad:
            w, c = bad[0]
            raise ValueError(f"width={w} is not a multiple of copies={c}")
        if list(self.checkpoints) != sorted(self.checkpoints):
            raise ValueError(f"checkpoints must increase, got {self.checkpoints}")


PRESETS = {
    "smoke": IFMComplexitySweep(
        arch=("mlp2",),
        width=(8, 16),
        copies=(1, 4),
        beta=(0.4,),
        checkpoints=(0, 10, 30),
        lr=0.03,
        trials=2,
        trial_batch=2,
    ),
    "default": IFMComplexitySweep(),
    "paper": IFMComplexitySweep(
        width=(32, 64, 128, 256, 512),
        copies=(1, 2, 4, 8),
        beta=(0.01, 0.05, 0.1, 0.2, 0.3, 0.4),
        checkpoints=(0, 10, 25, 50, 100, 200, 400, 700, 1000),
        trials=8,
    ),
}


def _kernel(config: IFMComplexitySweep, chunk: Chunk) -> xr.Dataset:
    (arch,) = chunk.coords["arch"]
    (width,) = chunk.coords["width"]
    (copies,) = chunk.coords["copies"]
    trials = list(chunk.coords["trial"])
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype)
    _, _, Xte, yte = digits(device, torch.float64)
    L = max(MLP_DEPTH[a] for a in config.arch)
    T, S = len(trials), len(config.checkpoints)
    B, M = len(config.beta), len(config.mode)
    cx = np.full((T, S, B, M, L), np.nan)
    distinct, distinct_off = np.full((T, S, L), np.nan), np.full((T, S, L), np.nan)
    acc = np.full((T, S), np.nan)
    run = train(
        config,
        arch,
        width,
        trials,
        device,
        dtype,
        copies=copies,
        checkpoints=config.checkpoints,
    )
    for s, (_, nets) in enumerate(run):
        for t, layers in enumerate(nets):
            pred = net_forward(arch, layers, Xte).argmax(1)
            acc[t, s] = float((pred == yte).double().mean())
            n = len(layers) - 1
            distinct[t, s, :n] = [len(c) for c in functional_classes(layers)]
            distinct_off[t, s, :n] = feature_complexity(
                layers, beta=0.0, mode="official"
            )
            for i, beta in enumerate(config.beta):
                for j, mode in enumerate(config.mode):
                    cx[t, s, i, j, :n] = feature_complexity(
                        layers, beta=beta, mode=mode
                    )
    d2 = ("trial", "step")
    return chunk_dataset(
        chunk,
        {
            "complexity": ((*d2, "beta", "mode", "layer"), cx),
            "distinct": ((*d2, "layer"), distinct),
            "distinct_official": ((*d2, "layer"), distinct_off),
            "acc": (d2, acc),
        },
        {
            "step": list(config.checkpoints),
            **config_coords(config, "beta", "mode"),
            "layer": list(range(L)),
        },
    )


def _popcount(n: int) -> int:
    return bin(n).count("1")


def theory_grid(config: IFMComplexitySweep) -> xr.Dataset:
    """``distinct_theory`` = width / copies and ``distinct_official_theory`` =
    width / copies * popcount(copies), on the (width, copies) grid."""
    w = np.asarray(config.width, dtype=np.float64)[:, None]
    c = np.asarray(config.copies)
    k = w / c[None, :]
    pop = np.asarray([_popcount(int(x)) for x in c], dtype=np.float64)[None, :]
    dims = ("width", "copies")
    return xr.Dataset(
        {"distinct_theory": (dims, k), "distinct_official_theory": (dims, k * pop)},
        coords=config_coords(config, *dims),
    )


def _finish(config: IFMComplexitySweep, ds: xr.Dataset) -> xr.Dataset:
    return ds.merge(theory_grid(config))


_LAYER_NAN = "NaN: the architecture has no such layer"
_ATTRS = {
    "complexity": VarAttrs(
        "feature complexity",
        "1",
        f"units left by IFM at threshold beta in the given mode; {_LAYER_NAN}",
    ),
    "distinct": VarAttrs(
        "distinct features",
        "1",
        "exact classes up to positive scaling (exact-mode IFM at beta = 0); "
        + _LAYER_NAN,
    ),
    "distinct_official": VarAttrs(
        "official-mode width at β = 0",
        "1",
        "units left by the authors' procedure at beta = 0; " + _LAYER_NAN,
    ),
    "acc": VarAttrs("test accuracy", "1", "accuracy on the held-out digits"),
}

EXPERIMENT = Experiment(
    name="ifm",
    key="complexity",
    config=IFMComplexitySweep,
    presets=PRESETS,
    axes=Axes("arch", "width", "copies"),
    kernel=_kernel,
    finish=_finish,
    attrs=_ATTRS,
    coords={
        **COORDS,
        "copies": VarAttrs("initial copies per unit"),
        "step": VarAttrs("training step", symbol="t"),
    },
    title="Feature complexity of MLPs during training on digits",
    references=REFERENCES,
    config_attrs=("lr",),
    not_applicable=("complexity", "distinct", "distinct_official"),
    summary="feature complexity during training; replicated initialisation (P16)",
)
