"""One declaration per experiment: what the CLI, the engine and the figures read.

An experiment is its science (a config class, a batched kernel, a theory/finish step)
plus a declaration of how the engine runs it: the axes it chunks over, the labels of
its variables and coordinates, the grid's title and recorded config values, and the
closing-table subsets. :meth:`Experiment.run` is the one entry point; no module writes
its own sweep wrapper, reindexing or labelling loop.

Examples:
  >>> from sims.rf_risk import EXPERIMENT
  >>> smoke = EXPERIMENT.presets["smoke"]
  >>> EXPERIMENT.name, EXPERIMENT.key, len(EXPERIMENT.chunks(smoke))
  ('rf_risk', 'rf', 2)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from sims._config import SweepConfig
from sims._sweep import Chunk
from sims._sweep import plan_chunks
from sims._sweep import run_sweep

__all__ = ["Axes", "Experiment", "Theory", "VarAttrs", "flag_nonfinite"]


@dataclasses.dataclass(frozen=True)
class Theory:
    """How the engine labels the ``<name><suffix>`` siblings of a variable ``<name>``.

    Attributes:
      suffix: the sibling's name suffix.
      label: appended to the long name: ``"<long_name>, <label>"``.
      fn: the ``theory_fn`` attr, the function that computed the sibling (none when
        empty).
    """

    suffix: str = "_theory"
    label: str = "theory"
    fn: str = ""


@dataclasses.dataclass(frozen=True)
class VarAttrs:
    """The attrs of one result variable (and of its theory siblings) or coordinate.

    ``symbol=None`` writes no ``math_symbol``; any string (even empty) is written. A
    coordinate's empty ``description`` is not written.
    """

    long_name: str
    units: str = "1"
    description: str = ""
    symbol: str | None = None

    def as_dict(
        self, *, theory: bool | Theory = False, coord: bool = False
    ) -> dict[str, str]:
        """The attrs; ``theory`` labels a sibling (``True``: the default
        :class:`Theory`), ``coord`` a coordinate."""
        if theory is True:
            theory = Theory()
        attrs = {
            "long_name": f"{self.long_name}, {theory.label}"
            if theory
            else self.long_name,
            "units": self.units,
        }
        if self.description or not coord:
            attrs["description"] = self.description
        if self.symbol is not None:
            attrs["math_symbol"] = self.symbol
        if theory and theory.fn:
            attrs["theory_fn"] = theory.fn
        return attrs


class Axes:
    """``axes`` read from the config: each named field's values, then the trials.

    Examples:
      >>> from sims.rf_risk import PRESETS
      >>> Axes("n")(PRESETS["smoke"])
      {'n': (48,), 'trial': (0, 1, 2, 3)}
    """

    def __init__(self, *fields: str, trial: str = "trial") -> None:
        self.fields = fields
        self.trial = trial

    def __call__(self, config: SweepConfig) -> dict[str, tuple]:
        axes = {name: tuple(getattr(config, name)) for name in self.fields}
        return {**axes, self.trial: tuple(range(config.trials))}

    def __repr__(self) -> str:
        fields = "".join(f"{name!r}, " for name in self.fields)
        return f"Axes({fields}trial={self.trial!r})"


@dataclasses.dataclass(frozen=True, eq=False)
class Experiment:
    """Everything specific to one experiment, declared once.

    Attributes:
      name: the results folder ``results/<name>/`` and the figure module's stem.
      key: the ``--experiment`` choice (defaults to ``name``).
      config: the frozen :class:`~sims._config.SweepConfig` subclass.
      presets: preset name -> config; ``smoke`` and ``default`` are required.
      axes: ``axes(config) -> {dim: values}``, the dims the engine chunks over (often
        :class:`Axes`; default ``Axes()``, the trials alone); the ``batch_dim`` is
        split into runs of ``config.trial_batch``, every other dim into single
        values. The merged chunks reach ``finish`` in the order of these values.
        Every variable's dims come in one order: these axes, then the other swept
        config fields, then the trial dim, then the kernel's own dims.
      kernel: ``kernel(config, chunk) -> xr.Dataset`` carrying the chunk's coords;
        module-level (it is pickled to worker processes), seeded only from the
        chunk's coordinate values.
      finish: optional ``finish(config, merged) -> xr.Dataset``; pure: theory
        siblings, derived variables.
      attrs: variable name -> :class:`VarAttrs`, applied after ``finish`` to each
        variable and its theory siblings (variables ``finish`` already labelled
        keep their attrs).
      coords: coordinate name -> :class:`VarAttrs`, applied likewise.
      theory: how theory siblings are named and labelled (default: ``_theory``,
        ``"<long_name>, theory"``, no ``theory_fn``).
      title, references: the grid's ``title`` and ``references`` attrs.
      grid_attrs: further constant attrs of the grid.
      config_attrs: config fields recorded as attrs of the grid (a tuple field as
        an array).
      subsets: optional ``subsets(ds) -> {label: mask}`` for the closing table.
      summary: one line for ``--help``.
      batch_dim: the dim chunked in runs of ``trial_batch`` (``None``: none).
      not_applicable: variables whose NaN means "not defined for this cell" (their
        description says so; the engine adds it where it does not); any other
        non-finite value is flagged (see :func:`flag_nonfinite`).
      memory: optional ``memory(config) -> bytes``, the peak memory of one chunk;
        a sweep whose parallel chunks cannot fit is refused before any work.
      threads: intra-op CPU threads per kernel call (results are computed with
        exactly this many, whatever the machine, so they do not depend on it).
    """

    name: str
    config: type[SweepConfig]
    presets: Mapping[str, SweepConfig]
    kernel: Callable[[SweepConfig, Chunk], xr.Dataset]
    axes: Callable[[SweepConfig], Mapping[str, Sequence]] = dataclasses.field(
        default_factory=Axes
    )
    finish: Callable[[SweepConfig, xr.Dataset], xr.Dataset] | None = None
    key: str = ""
    attrs: Mapping[str, VarAttrs] = dataclasses.field(default_factory=dict)
    coords: Mapping[str, VarAttrs] = dataclasses.field(default_factory=dict)
    theory: tuple[Theory, ...] = (Theory(),)
    title: str = ""
    references: str = ""
    grid_attrs: Mapping[str, object] = dataclasses.field(default_factory=dict)
    config_attrs: tuple[str, ...] = ()
    subsets: Callable[[xr.Dataset], dict[str, xr.DataArray]] | None = None
    summary: str = ""
    batch_dim: str | None = "trial"
    not_applicable: tuple[str, ...] = ()
    memory: Callable[[SweepConfig], float] | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.name)
        missing = {"smoke", "default"} - set(self.presets)
        if missing:
            raise ValueError(f"experiment {self.key!r} lacks presets {sorted(missing)}")
        for preset, config in self.presets.items():
            if type(config) is not self.config:
                raise ValueError(
                    f"preset {preset!r} of {self.key!r} is a {type(config).__name__}, "
                    f"not a {self.config.__name__}"
                )

    def chunks(self, config: SweepConfig) -> list[Chunk]:
        """The units of work of ``config``."""
        batch = {self.batch_dim: config.trial_batch} if self.batch_dim else {}
        return plan_chunks(self.axes(config), batch)

    def run(
        self,
        config: SweepConfig,
        *,
        out: Path | str | None = None,
        resume: bool = True,
        overwrite: bool = False,
        wait: bool = False,
        workers: int | None = None,
        scheduler: str | None = None,
        command: str = "",
    ) -> tuple[xr.Dataset, Path]:
        """Run (or resume) the sweep of ``config``; see :func:`sims._sweep.run_sweep`.

        Returns:
          ``(dataset, path)`` of the written grid.
        """
        if type(config) is not self.config:
            raise ValueError(
                f"experiment {self.key!r} takes a {self.config.__name__}, "
                f"got a {type(config).__name__}"
            )
        return run_sweep(
            config,
            name=self.name,
            chunks=self.chunks(config),
            kernel=self.kernel,
            finish=self._finish,
            out=out,
            resume=resume,
            overwrite=overwrite,
            wait=wait,
            workers=workers,
            threads=self.threads,
            chunk_bytes=self.memory(config) if self.memory else None,
            scheduler=scheduler,
            command=command,
        )

    def _finish(self, config: SweepConfig, ds: xr.Dataset) -> xr.Dataset:
        axes = self.axes(config)
        ds = ds.reindex({dim: list(v) for dim, v in axes.items()})
        if self.finish is not None:
            ds = self.finish(config, ds)
        ds = ds.transpose(*self._dim_order(config, axes, ds), ...)
        for name in ds.variables:
            attrs = self._labels(str(name))
            if attrs and not ds[name].attrs:
                ds[name].attrs = attrs
        for name in set(self.not_applicable) & set(ds.data_vars):  # no silent NaN
            text = ds[name].attrs.get("description", "")
            if "NaN" not in text:
                note = "NaN where not defined for the cell"
                ds[name].attrs["description"] = f"{text}; {note}" if text else note
        ds.attrs.update(self._grid_attrs(config))
        suffixes = {"_theory", *(t.suffix for t in self.theory)}
        return flag_nonfinite(ds, self.not_applicable, tuple(sorted(suffixes)))

    def _dim_order(self, config: SweepConfig, axes, ds: xr.Dataset) -> list[str]:
        fields = {f.name for f in dataclasses.fields(config)}
        trial = self.batch_dim or getattr(self.axes, "trial", None)
        swept = [d for d in axes if d != trial]
        swept += [d for d in ds.dims if d in fields and d not in (*swept, trial)]
        return [d for d in (*swept, trial) if d in ds.dims]

    def _labels(self, name: str) -> dict[str, str]:
        """The declared attrs of variable or coordinate ``name`` (empty: none)."""
        for theory in self.theory:
            base = name.removesuffix(theory.suffix)
            if base != name and base in self.attrs:
                return self.attrs[base].as_dict(theory=theory)
        if name in self.attrs:
            return self.attrs[name].as_dict()
        if name in self.coords:
            return self.coords[name].as_dict(coord=True)
        return {}

    def _grid_attrs(self, config: SweepConfig) -> dict[str, object]:
        attrs = {"title": self.title, "references": self.references}
        attrs = {key: text for key, text in attrs.items() if text}
        attrs["experiment"] = self.key
        attrs["module"] = f"sims.{self.name}"
        attrs.update(self.grid_attrs)
        for field in self.config_attrs:
            value = getattr(config, field)
            attrs[field] = np.asarray(value) if isinstance(value, tuple) else value
        return attrs


def flag_nonfinite(
    ds: xr.Dataset,
    not_applicable: Sequence[str] = (),
    theory_suffixes: Sequence[str] = ("_theory",),
) -> xr.Dataset:
    """No silent NaN: flag non-finite measurements, refuse non-finite theory.

    A non-finite measured value (a diverged run) sets the boolean ``diverged``
    variable at its cell (OR-ed with any ``diverged`` the kernel recorded), and the
    closing table warns. A non-finite theory sibling (a name ending in one of
    ``theory_suffixes``) is a bug of the theory or a config outside its domain:
    ``ValueError`` naming the variable and the first such cell (the finished chunks
    stay on disk).
    """
    flags = []
    for name, var in ds.data_vars.items():
        if name in not_applicable or name == "diverged" or var.dtype.kind != "f":
            continue
        bad = ~np.isfinite(var)
        if not bool(bad.any()):
            continue
        if str(name).endswith(tuple(theory_suffixes)):
            at = np.argwhere(bad.values)[0]
            first = {
                d: (var[d].values[i].item() if d in var.coords else int(i))
                for d, i in zip(var.dims, at, strict=True)
            }
            raise ValueError(
                f"theory variable {name} is not finite at {first}: the config is "
                "outside the theory's domain"
            )
        flags.append(bad)
    if flags:
        diverged = flags[0]
        for flag in flags[1:]:
            diverged = diverged | flag
        if "diverged" in ds:
            diverged = diverged | ds["diverged"].astype(bool)
        ds["diverged"] = diverged
        ds["diverged"].attrs = {
            "long_name": "diverged",
            "units": "1",
            "description": "a measured value of this cell is not finite (diverged)",
        }
    return ds
