"""Input checks shared by the kernels of :mod:`theory.kernels`, and the lazy
neural-tangents plumbing (import, blockwise float64 evaluation).

jax and neural-tangents are optional (the ``kernels`` extra): they are imported only
inside the functions that need them. Derivations: ``docs/derivations/kernels.md``.
"""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np
from numpy.typing import ArrayLike

from theory._args import floats
from theory._args import plain

_NT_HINT = (
    "needs jax and neural-tangents (the `kernels` extra): "
    "pip install 'learning-dynamics[kernels]' && "
    "pip install --no-deps neural-tangents==0.6.5"
)


def _check_inputs(x1: ArrayLike, x2: ArrayLike | None, ndim: int, what: str):
    a = floats("x1", x1)
    if a.ndim != ndim or a.shape[0] == 0 or 0 in a.shape:
        raise ValueError(f"x1 must be a non-empty {what}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("x1 must be finite, got a NaN or inf entry")
    if x2 is None:
        return a, None
    b = floats("x2", x2)
    if b.ndim != ndim or b.shape[0] == 0 or 0 in b.shape:
        raise ValueError(f"x2 must be a non-empty {what}, got shape {b.shape}")
    if b.shape[1:] != a.shape[1:]:
        raise ValueError(
            f"x1 and x2 must have the same feature shape, got x1 {a.shape} and "
            f"x2 {b.shape}"
        )
    if not np.all(np.isfinite(b)):
        raise ValueError("x2 must be finite, got a NaN or inf entry")
    return a, b


def _check_scale(rows: np.ndarray, depth: int, w: float, b: float) -> None:
    r"""ValueError unless :math:`|x|^2/d` of every non-zero input (``rows``) and every
    layer variance stay in [2^-450, 2^450].

    The variances of an input with itself, :math:`\Sigma^1 = w|x|^2/d + b` and
    :math:`\Sigma^{l+1} = w\Sigma^l/2 + b`, grow with :math:`|x|^2/d`, so the
    smallest and largest input bound them. Inside that range no product of two of
    them leaves float64; outside it the kernels came out NaN, or silently wrong (7.5 %
    off at :math:`|x| \sim 10^{-100}`). A zero input with ``b = 0`` (variance 0) is
    exact and allowed.
    """
    lo, hi = 2.0**-450, 2.0**450
    rng = "outside [2^-450, 2^450] (about 3e-136 to 3e135)"
    squares = np.einsum("ij,ij->i", rows, rows) / rows.shape[1]
    nonzero = squares[rows.any(axis=1)]
    out = nonzero[(nonzero < lo) | (nonzero > hi)]
    if out.size:
        raise ValueError(f"|x|^2/d of an input is {plain(out[0])!r}, {rng}")
    ends = [nonzero.min(), nonzero.max()] if nonzero.size else []
    if b > 0 and nonzero.size < squares.size:
        ends.append(0.0)  # a zero input has variance b
    v = w * np.array(ends) + b
    for layer in range(1, depth + 2):
        out = v[(v < lo) | (v > hi)]
        if out.size:
            raise ValueError(
                f"the variance of layer {layer} is {plain(out[0])!r}, {rng}: rescale "
                f"the inputs or change weight_var, bias_var or depth"
            )
        v = w * (v / 2) + b


def neural_tangents_available() -> bool:
    """Whether jax and neural-tangents import (the ``kernels`` extra is installed).

    Examples:
      >>> isinstance(neural_tangents_available(), bool)
      True
    """
    try:
        _stax()
    except ImportError:
        return False
    return True


def _stax():
    """neural-tangents' ``stax`` and ``jax``, imported lazily.

    neural-tangents 0.6.5 imports its ``experimental`` subpackage, which needs
    tensorflow; the kernels never use it, so an empty module stands in for it when
    tensorflow is absent (neural-tangents is installed with ``--no-deps``).
    """
    try:
        import jax
    except ImportError as err:
        raise ImportError(f"jax is not installed: {_NT_HINT}") from err
    if "neural_tangents" not in sys.modules:
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            name = "neural_tangents.experimental"
            sys.modules.setdefault(name, types.ModuleType(name))
    try:
        with warnings.catch_warnings():  # its jax.core imports are deprecated in 0.5
            warnings.simplefilter("ignore", DeprecationWarning)
            from neural_tangents import stax
    except ImportError as err:
        raise ImportError(
            f"neural-tangents does not import ({err}): {_NT_HINT}"
        ) from err
    return jax, stax


def _nt_kernel(kernel_fn, a, b, get, batch, jax):
    """Evaluate an analytic ``kernel_fn`` in float64 over blocks of a and b.

    Every block has one shape (the last ones are zero-padded), so a jitted
    ``kernel_fn`` compiles once. The fully connected kernels run op by op: under
    ``jit`` XLA may round the input Gram and its diagonal differently, which moves
    the ReLU angle of nearly parallel pairs (the diagonal included) by about
    sqrt(eps).
    """
    import jax.numpy as jnp

    b = a if b is None else b
    n1, n2 = a.shape[0], b.shape[0]
    batch = min(batch, max(n1, n2))
    out = {g: np.empty((n1, n2)) for g in get}

    def padded(x, start):  # one block shape, so the jitted kernel compiles once
        block = x[start : start + batch]
        pad = np.zeros((batch - block.shape[0], *x.shape[1:]))
        return jnp.asarray(np.concatenate([block, pad]), dtype=jnp.float64)

    with jax.experimental.enable_x64():
        for i in range(0, n1, batch):
            xi, rows = padded(a, i), min(batch, n1 - i)
            for j in range(0, n2, batch):
                cols = min(batch, n2 - j)
                k = kernel_fn(xi, padded(b, j), get=get)
                for g in get:
                    block = np.asarray(getattr(k, g), dtype=np.float64)
                    out[g][i : i + rows, j : j + cols] = block[:rows, :cols]
    return out
