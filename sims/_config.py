"""The frozen config base every sweep extends: JSON round trip, hash, overrides."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from typing import Any
from typing import Self

__all__ = ["SweepConfig", "int_logspace"]


def int_logspace(start: float, stop: float, num: int) -> tuple[int, ...]:
    """Distinct integers ``floor(logspace)``, as in the paper's experiment grids.

    Examples:
      >>> int_logspace(10, 10_000, 31)[:8]
      (10, 12, 15, 19, 25, 31, 39, 50)
    """
    import numpy as np

    values = np.floor(np.logspace(np.log10(start), np.log10(stop), num) + 1e-9)
    return tuple(int(v) for v in dict.fromkeys(values.astype(int)))


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """Fields every sweep shares. Subclasses add the swept axes and model parameters.

    Attributes:
      trials: independent repetitions per grid cell (the ``trial`` dim).
      trial_batch: trials per chunk; bounds device memory and the work a kill loses.
      seed: root seed; every (cell, trial) stream is derived from it.
      device: ``auto``, ``cpu``, ``cuda`` or ``cuda:i``.
      dtype: ``float64`` or ``float32`` for the simulation (theory is float64).
    """

    trials: int = 8
    trial_batch: int = 4
    seed: int = 0
    device: str = "auto"
    dtype: str = "float64"

    def __post_init__(self) -> None:
        # Normalize numbers to the declared types (an int given for a float field, a
        # list for a tuple), so equal configs have equal JSON and hashes.
        for field in _fields(type(self)):
            object.__setattr__(
                self,
                field.name,
                _normalize(type(self), field.name, getattr(self, field.name)),
            )
        for name in ("trials", "trial_batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype!r}")
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the bad value; subclasses extend this."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        raw = json.loads(text)
        return cls(**{f.name: _coerce(cls, f.name, raw[f.name]) for f in _fields(cls)})

    def config_hash(self) -> str:
        """12 hex digits identifying the results (device excluded: same numbers)."""
        raw = dataclasses.asdict(self)
        raw.pop("device")
        text = json.dumps(raw, sort_keys=True)
        return hashlib.sha256(f"{type(self).__name__}:{text}".encode()).hexdigest()[:12]

    def replace(self, **changes: Any) -> Self:
        return dataclasses.replace(self, **changes)

    def with_overrides(self, assignments: typing.Iterable[str]) -> Self:
        """Apply ``key=v1,v2`` strings, parsing each value by the field's type."""
        changes: dict[str, Any] = {}
        names = {f.name for f in _fields(type(self))}
        for item in assignments:
            key, sep, text = item.partition("=")
            key = key.strip()
            if not sep or not text:
                raise ValueError(f"--set expects key=value[,value...], got {item!r}")
            if key not in names:
                raise ValueError(
                    f"unknown field {key!r} in --set; fields: "
                    + ", ".join(sorted(names))
                )
            changes[key] = _coerce(type(self), key, [v for v in text.split(",") if v])
        return self.replace(**changes)


def _normalize(cls, name: str, value):
    """Cast ints to float for float fields and sequences to tuples; leave the rest."""
    tp = _field_type(cls, name)
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple and isinstance(value, list | tuple):
        if args and args[0] is float:
            return tuple(_as_float(v) for v in value)
        return tuple(value)
    if tp is float or (float in args and value is not None):
        return _as_float(value)
    return value


def _as_float(value):
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return float(value) if is_int else value


def _fields(cls) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)


def _field_type(cls, name: str):
    return typing.get_type_hints(cls)[name]


def _scalar(tp, value, name: str):
    if isinstance(value, str):
        text = value.strip()
        try:
            if tp is int:
                return int(text)
            if tp is float:
                return float(text)
        except ValueError:
            raise ValueError(
                f"{name}: cannot parse {text!r} as {tp.__name__}"
            ) from None
        if tp is str:
            return text
    if tp is float and isinstance(value, int | float):
        return float(value)
    return value


def _coerce(cls, name: str, value):
    """Turn a JSON value or a list of strings into the type the field declares."""
    tp = _field_type(cls, name)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        items = value if isinstance(value, list | tuple) else [value]
        return tuple(_scalar(args[0], v, name) for v in items)
    if origin in (typing.Union, types.UnionType):  # e.g. int | None
        inner = next(a for a in args if a is not type(None))
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError(f"{name} takes one value, got {value!r}")
            value = value[0]
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        return _scalar(inner, value, name)
    if isinstance(value, list):
        if len(value) != 1:
            raise ValueError(f"{name} takes one value, got {','.join(value)!r}")
        value = value[0]
    return _scalar(tp, value, name)
