"""Shared helpers of the IFM sims: digits data, batched MLP and CNN training.

Every trial of a chunk is one slice of a batched tensor program: MLP weights are
``(T, out, in)`` tensors, CNN channels of the T nets are stacked and run as grouped
convolutions (BatchNorm statistics are per channel, so the stacked nets stay
independent). Adam is written out (elementwise, hence identical per slice) instead of
``torch.optim.Adam``, whose first use imports ``torch._dynamo`` (about 10 s on a
loaded 2-core machine, measured with cProfile, for a few ms of work).
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import itertools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from sims._backend import cell_generator
from sims._experiment import VarAttrs
from theory.feature_merging import BatchNorm
from theory.feature_merging import ConvLayer
from theory.feature_merging import mlp_forward

__all__ = [
    "ARCHS",
    "COORDS",
    "MLP_DEPTH",
    "REFERENCES",
    "adam",
    "cnn_forward",
    "cnn_layers",
    "digits",
    "forward_batched",
    "mlp_layers",
    "net_forward",
    "train",
]

#: MLP architecture name -> number of hidden layers (all of width ``width``)
MLP_DEPTH = {"mlp1": 1, "mlp2": 2}
#: every architecture -> number of mergeable hidden layers; ``cnn``: two blocks of
#: 3x3 conv (``width`` channels, padding 1), BatchNorm, ReLU, 2x2 max-pool
#: (8x8 -> 4x4 -> 2x2), then a Linear head on the ``4 * width`` features; the conv
#: layers have biases
ARCHS = {**MLP_DEPTH, "cnn": 2}
REFERENCES = "Chen, Zhou, Yan (ICLR 2024), arXiv:2310.06756"
#: The labels of the coordinates both experiments share.
COORDS = {
    "arch": VarAttrs("architecture"),
    "width": VarAttrs("hidden width"),
    "trial": VarAttrs("seed"),
    "beta": VarAttrs("IFM threshold", symbol=r"\beta"),
    "mode": VarAttrs("IFM mode"),
    "layer": VarAttrs("hidden layer"),
}
_BN_EPS = 1e-5
_BN_MOMENTUM = 0.1


@functools.lru_cache(maxsize=1)
def _digits_np():
    # scikit-learn's own copy of the UCI 8x8 digits (what load_digits reads), read
    # without importing scikit-learn (about 7 s of imports on a loaded machine)
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the IFM sims need scikit-learn's digits data")
    path = Path(spec.submodule_search_locations[0]) / "datasets/data/digits.csv.gz"
    with gzip.open(path, "rt") as fh:
        data = np.loadtxt(fh, delimiter=",")
    X = data[:, :-1] / 16.0
    y = data[:, -1].astype(np.int64)
    test = np.arange(len(y)) % 5 == 0  # fixed split: every fifth image is held out
    return X[~test], y[~test], X[test], y[test]


def digits(device, dtype):
    """scikit-learn's 8x8 digits in [0, 1]: (X_train, y_train, X_test, y_test)."""
    Xtr, ytr, Xte, yte = _digits_np()
    f = functools.partial(torch.as_tensor, device=device)
    return f(Xtr, dtype=dtype), f(ytr), f(Xte, dtype=dtype), f(yte)


def adam(params, grads, state, *, lr, betas=(0.9, 0.999), eps=1e-8):
    """One Adam step in place (Kingma & Ba 2015), the update of ``torch.optim.Adam``."""
    state["t"] = t = state.get("t", 0) + 1
    b1, b2 = betas
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        m = state.setdefault(("m", i), torch.zeros_like(p))
        v = state.setdefault(("v", i), torch.zeros_like(p))
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (v / (1 - b2**t)).sqrt_().add_(eps)
        p.data.addcdiv_(m, denom, value=-lr / (1 - b1**t))


# ------------------------------------------------------------------------- MLP
def _mlp_init(config, arch, width, copies, trials, device, dtype):
    """He-initialised weights with every hidden unit repeated ``copies`` times.

    Distinct units ``k = width // copies`` per layer; unit ``i * copies + a`` is copy
    ``a`` of distinct unit ``i``: equal incoming rows and equal outgoing columns
    (scaled by ``1/copies`` so the net computes what the ``k``-unit net would).
    ``copies = 1`` is the ordinary He initialisation.
    """
    depth = MLP_DEPTH[arch]
    k = width // copies
    sizes = [64] + [k] * depth + [10]
    params = []
    per_trial = []
    for t in trials:
        g = cell_generator(config.seed, arch, width, copies, int(t), device=device)
        per_trial.append(
            [
                torch.randn(b, a, generator=g, device=device, dtype=torch.float64)
                * (2.0 / a) ** 0.5
                for a, b in itertools.pairwise(sizes)
            ]
        )
    for layer in range(depth + 1):
        W = torch.stack([w[layer] for w in per_trial])
        if layer > 0:
            W = W.repeat_interleave(copies, 2) / copies
        if layer < depth:
            W = W.repeat_interleave(copies, 1)
        b = torch.zeros(len(trials), W.shape[1], device=device, dtype=torch.float64)
        params += [W.to(dtype).requires_grad_(), b.to(dtype).requires_grad_()]
    return params


def forward_batched(params, X):
    """Logits ``(T, B, 10)`` of a batch of MLPs, params a flat [W, b, W, b, ...]."""
    h = X.unsqueeze(0).expand(params[0].shape[0], -1, -1)
    n = len(params) // 2
    for i in range(n):
        h = torch.baddbmm(params[2 * i + 1].unsqueeze(1), h, params[2 * i].mT)
        if i < n - 1:
            h = torch.relu(h)
    return h


def mlp_layers(params, t: int) -> list:
    """Trial ``t``'s MLP as float64 ``(weight, bias)`` pairs."""
    return [
        (params[2 * i][t].detach().double(), params[2 * i + 1][t].detach().double())
        for i in range(len(params) // 2)
    ]


# ------------------------------------------------------------------------- CNN
def _cnn_init(config, width, trials, device, dtype):
    """Stacked CNN parameters of ``T`` nets: conv weights ``(T*w, c_in, 3, 3)``."""
    ws = {"c1": [], "c2": [], "head": []}
    for t in trials:
        g = cell_generator(config.seed, "cnn", width, 1, int(t), device=device)

        def rnd(*shape, fan, g=g):
            z = torch.randn(*shape, generator=g, device=device, dtype=torch.float64)
            return z * (2.0 / fan) ** 0.5

        ws["c1"].append(rnd(width, 1, 3, 3, fan=9))
        ws["c2"].append(rnd(width, width, 3, 3, fan=9 * width))
        ws["head"].append(rnd(10, 4 * width, fan=2 * 4 * width))
    T = len(trials)

    def leaf(x):
        return x.to(dtype).requires_grad_()

    params = {
        "c1": leaf(torch.cat(ws["c1"])),
        "c2": leaf(torch.cat(ws["c2"])),
        "head": leaf(torch.stack(ws["head"])),
        "head_b": leaf(torch.zeros(T, 10, device=device, dtype=torch.float64)),
    }
    for name in ("c1_b", "c2_b"):  # conv biases (redundant before BatchNorm, kept
        # so that the merged nets' parameter counts compare like with like)
        params[name] = leaf(torch.zeros(T * width, device=device))
    for name in ("bn1", "bn2"):
        params[name + "_w"] = leaf(torch.ones(T * width, device=device))
        params[name + "_b"] = leaf(torch.zeros(T * width, device=device))
    stats = {
        name: [
            torch.zeros(T * width, device=device, dtype=dtype),
            torch.ones(T * width, device=device, dtype=dtype),
        ]
        for name in ("bn1", "bn2")
    }
    return params, stats


def _cnn_batched(params, stats, X, T, *, training):
    """Logits ``(T, B, 10)`` of ``T`` stacked CNNs on images ``X`` (B, 64)."""
    B = X.shape[0]
    h = X.reshape(B, 1, 8, 8).expand(B, T, 8, 8)
    for conv, bn in (("c1", "bn1"), ("c2", "bn2")):
        h = F.conv2d(h, params[conv], params[conv + "_b"], padding=1, groups=T)
        mean, var = stats[bn]
        h = F.batch_norm(
            h,
            mean,
            var,
            params[bn + "_w"],
            params[bn + "_b"],
            training=training,
            momentum=_BN_MOMENTUM,
            eps=_BN_EPS,
        )
        h = F.max_pool2d(torch.relu(h), 2)
    h = h.reshape(B, T, -1)
    return torch.einsum("btf,tof->tbo", h, params["head"]) + params["head_b"][:, None]


def cnn_layers(params, stats, t: int, width: int) -> list:
    """Trial ``t``'s CNN as float64 :class:`ConvLayer` entries (eval BatchNorm)."""
    sl = slice(t * width, (t + 1) * width)
    out = []
    for conv, bn in (("c1", "bn1"), ("c2", "bn2")):
        norm = BatchNorm(
            *(
                x[sl].detach().double()
                for x in (params[bn + "_w"], params[bn + "_b"], *stats[bn])
            ),
            _BN_EPS,
        )
        w, b = (params[k][sl].detach().double() for k in (conv, conv + "_b"))
        out.append(ConvLayer(w, b, norm))
    head = params["head"][t].detach().double()
    out.append(ConvLayer(head, params["head_b"][t].detach().double(), None))
    return out


def cnn_forward(layers, X):
    """Logits of one CNN given as :class:`ConvLayer` entries (eval mode), X (B, 64)."""
    h = X.reshape(X.shape[0], 1, 8, 8)
    for w, bias, bn in layers[:-1]:
        h = F.conv2d(h, w, bias, padding=1)
        if bn is not None:
            h = F.batch_norm(
                h, bn.running_mean, bn.running_var, bn.weight, bn.bias, eps=bn.eps
            )
        h = F.max_pool2d(torch.relu(h), 2)
    h = h.flatten(1)
    w, bias, _ = layers[-1]
    return h @ w.T + bias


def net_forward(arch, layers, X):
    """Logits of one network of architecture ``arch``."""
    if arch == "cnn":
        return cnn_forward(layers, X)
    return mlp_forward(layers, X)


# -------------------------------------------------------------------- training
def _batches(config, arch, width, n, device):
    """Endless minibatch indices, a fresh permutation of ``range(n)`` per epoch."""
    size = min(config.cnn_batch, n)
    gen = cell_generator(config.seed, "batches", arch, width, device=device)
    while True:
        perm = torch.randperm(n, generator=gen, device=device)
        for start in range(0, n - size + 1, size):
            yield perm[start : start + size]


def train(config, arch, width, trials, device, dtype, *, copies=1, checkpoints=None):
    """Train one net per trial, all trials as one batched program.

    Adam (step size ``config.lr``) on the mean cross-entropy over the digits
    training split, for ``config.steps`` steps (or up to ``max(checkpoints)``):
    full-batch for MLPs; minibatches of ``config.cnn_batch`` for the CNN (a
    full-batch float64 step of the width-24 CNN took 3 s on the loaded 2-core
    machine), drawn without replacement per epoch from a generator seeded by
    ``(seed, "batches", arch, width)``, so every trial sees the same batches
    whatever the chunking. Each trial's initial weights come from its own
    generator, seeded by ``(seed, arch, width, copies, trial)``.

    Args:
      checkpoints: steps after which to yield the nets (``0``: the initial nets).

    Yields:
      ``(step, nets)``: ``nets[t]`` is trial ``t``'s network as float64 layers
      (``(weight, bias)`` pairs for MLPs, :class:`ConvLayer` for ``cnn``).
    """
    Xtr, ytr, _, _ = digits(device, dtype)
    T = len(trials)
    if checkpoints is None:
        checkpoints = (config.steps,)
    wanted = sorted(set(checkpoints))
    batch = None
    if arch == "cnn":
        params, stats = _cnn_init(config, width, trials, device, dtype)
        leaves = list(params.values())
        batch = _batches(config, arch, width, len(ytr), device)

        def logits(idx):
            return _cnn_batched(params, stats, Xtr[idx], T, training=True)

        def snapshot():
            return [cnn_layers(params, stats, t, width) for t in range(T)]

    else:
        leaves = _mlp_init(config, arch, width, copies, trials, device, dtype)

        def logits(idx):
            return forward_batched(leaves, Xtr)

        def snapshot():
            return [mlp_layers(leaves, t) for t in range(T)]

    state: dict = {}
    step = 0
    for stop in wanted:
        while step < stop:
            idx = None if batch is None else next(batch)
            y = ytr if idx is None else ytr[idx]
            out = logits(idx)
            loss = F.cross_entropy(out.reshape(-1, 10), y.repeat(T), reduction="sum")
            grads = torch.autograd.grad(loss / len(y), leaves)
            with torch.no_grad():
                adam(leaves, grads, state, lr=config.lr)
            step += 1
        yield step, snapshot()
