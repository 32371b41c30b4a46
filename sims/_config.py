"""The frozen config base every sweep extends: JSON round trip, hash, overrides."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from typing import Any
from typing import Self

__all__ = [
    "Check",
    "SweepConfig",
    "describe_fields",
    "int_logspace",
    "log_steps",
    "param",
    "show_value",
]


def int_logspace(start: float, stop: float, num: int) -> tuple[int, ...]:
    """Distinct integers ``floor(logspace)``, as in the paper's experiment grids.

    Examples:
      >>> int_logspace(10, 10_000, 31)[:8]
      (10, 12, 15, 19, 25, 31, 39, 50)
    """
    import numpy as np

    values = np.floor(np.logspace(np.log10(start), np.log10(stop), num) + 1e-9)
    return tuple(int(v) for v in dict.fromkeys(values.astype(int)))


def log_steps(steps: int, count: int) -> tuple[int, ...]:
    """Step 0, ``steps`` and :func:`int_logspace` ``(1, steps, count)`` in between:
    the recorded steps of a training run.

    Examples:
      >>> log_steps(100, 4)
      (0, 1, 4, 21, 100)
    """
    return tuple(sorted({0, steps, *int_logspace(1, steps, count)}))


@dataclasses.dataclass(frozen=True)
class Check:
    """A declared constraint on a config field (on every value of a tuple field).

    Tuple fields are sweep axes: besides the bounds they must be non-empty and
    without repeats. Numbers must be finite unless ``finite=False``.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple | None = None
    finite: bool = True
    axis: bool = True

    def describe(self) -> str:
        """The constraint in words, as ``--help`` shows it."""
        parts = []
        if self.choices is not None:
            parts.append("one of " + ", ".join(map(str, self.choices)))
        for op, bound in (
            (">=", self.ge),
            (">", self.gt),
            ("<=", self.le),
            ("<", self.lt),
        ):
            if bound is not None:
                parts.append(f"{op} {_number(bound)}")
        return ", ".join(parts)

    def problem(self, value) -> str | None:
        """Why ``value`` breaks the constraint, or ``None``."""
        if self.choices is not None:
            return None if value in self.choices else f"must be {self.describe()}"
        if not isinstance(value, int | float) or isinstance(value, bool):
            return "must be a number"
        if self.finite and not math.isfinite(value):
            return "must be finite"
        if math.isnan(value):
            return "must not be NaN"
        for ok, op, bound in (
            (lambda v, b: v >= b, ">=", self.ge),
            (lambda v, b: v > b, ">", self.gt),
            (lambda v, b: v <= b, "<=", self.le),
            (lambda v, b: v < b, "<", self.lt),
        ):
            if bound is not None and not ok(value, bound):
                return f"must be {op} {_number(bound)}"
        return None


def _number(x: float) -> str:
    if x == 2**63 - 1:
        return "2^63-1"
    if isinstance(x, int) and abs(x) >= 10**6 and x == 10 ** round(math.log10(x)):
        return f"10^{round(math.log10(x))}"
    return f"{x:g}" if isinstance(x, float) else str(x)


def param(
    default,
    help: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple | None = None,
    finite: bool = True,
    axis: bool = True,
):
    """A config field with its meaning and its declared constraint.

    The base config enforces the constraint once (``ValueError`` naming the field
    and the bad value), and ``--help`` lists the field with its default, constraint
    and meaning. ``int``, ``float`` and ``str`` fields (and tuples of them) only.
    A tuple field is a sweep axis (non-empty, no repeats) unless ``axis=False``
    (e.g. values paired by position with another field).

    Examples:
      >>> @dataclasses.dataclass(frozen=True, kw_only=True)
      ... class Demo(SweepConfig):
      ...     width: tuple[int, ...] = param((8,), "hidden units", ge=1)
      >>> Demo(width=(8, 16)).width
      (8, 16)
      >>> Demo(width=(8, 0))
      Traceback (most recent call last):
        ...
      ValueError: width: 0 must be >= 1
    """
    return dataclasses.field(
        default=default,
        metadata={
            "help": help,
            "check": Check(
                ge=ge, gt=gt, le=le, lt=lt, choices=choices, finite=finite, axis=axis
            ),
        },
    )


def describe_fields(cls) -> list[tuple[str, str, str, str]]:
    """``(name, default, constraint, meaning)`` of every field of a config class."""
    rows = []
    for f in _fields(cls):
        meta = _metadata(cls, f.name)
        check = meta.get("check")
        shown = show_value(f.default)
        kind = _field_type(cls, f.name)
        constraint = check.describe() if check else ""
        if typing.get_origin(kind) is tuple:
            prefix = "axis" if check is None or check.axis else "list"
            constraint = f"{prefix}, " + (constraint or "any")
        rows.append((f.name, shown, constraint, meta.get("help", "")))
    return rows


def show_value(value) -> str:
    """A field value for ``--help``: floats to 4 significant digits when their repr
    is longer than 8 characters, and a tuple of more than 4 as ``first..last (N
    values)``."""

    def one(x) -> str:
        text = str(x)
        return f"{x:.4g}" if isinstance(x, float) and len(text) > 8 else text

    if not isinstance(value, tuple):
        return one(value)
    if len(value) > 4:
        return f"{one(value[0])}..{one(value[-1])} ({len(value)} values)"
    return ",".join(map(one, value))


def _metadata(cls, name: str) -> typing.Mapping:
    """A field's :func:`param` metadata, inherited when a subclass only changes the
    default (``trials: int = 30``)."""
    for klass in cls.__mro__:
        field = getattr(klass, "__dataclass_fields__", {}).get(name)
        if field is not None and field.metadata:
            return field.metadata
    return {}


def _check_fields(config) -> None:
    """Enforce every declared :func:`param` constraint of ``config``."""
    for f in _fields(type(config)):
        check = _metadata(type(config), f.name).get("check")
        if check is None:
            continue
        value = getattr(config, f.name)
        tp = _field_type(type(config), f.name)
        if typing.get_origin(tp) is tuple:
            if len(value) == 0:
                raise ValueError(f"{f.name} must have at least one value")
            if check.axis and len(set(value)) != len(value):
                raise ValueError(f"{f.name} has repeated values: {value}")
            scalar, values = typing.get_args(tp)[0], value
        else:
            scalar, values = tp, (value,)
        for v in values:
            if scalar is int and (not isinstance(v, int) or isinstance(v, bool)):
                raise ValueError(f"{f.name}: {v!r} is not an integer")
            if scalar is str and not isinstance(v, str):
                raise ValueError(f"{f.name}: {v!r} is not a string")
            if scalar is str and check.choices is None:
                continue
            problem = check.problem(v)
            if problem is not None:
                raise ValueError(f"{f.name}: {v!r} {problem}")


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

    trials: int = param(
        8, "independent repetitions per cell (dim trial)", ge=1, le=10**6
    )
    trial_batch: int = param(4, "trials per chunk (bounds memory and lost work)", ge=1)
    seed: int = param(0, "root seed of every random stream", ge=0, le=2**63 - 1)
    device: str = param("auto", "auto, cpu, cuda or cuda:<i>")
    dtype: str = param(
        "float64",
        "simulation dtype (theory is float64)",
        choices=("float64", "float32"),
    )

    def __post_init__(self) -> None:
        # Normalize numbers to the declared types (an int given for a float field, a
        # list for a tuple), so equal configs have equal JSON and hashes.
        for field in _fields(type(self)):
            object.__setattr__(
                self,
                field.name,
                _normalize(type(self), field.name, getattr(self, field.name)),
            )
        _check_fields(self)
        _check_device(self.device)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks of a subclass (``ValueError`` naming the bad value).

        Per-field checks are declared with :func:`param` and run before this.
        """

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        """The config a JSON object of every field describes (as ``to_json``
        writes it); ``ValueError`` naming unknown or missing fields."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"not JSON ({err})") from None
        if not isinstance(raw, dict):
            raise ValueError(f"a config is a JSON object, got {type(raw).__name__}")
        names = [f.name for f in _fields(cls)]
        unknown = sorted(set(raw) - set(names))
        missing = [name for name in names if name not in raw]
        for problem, keys in (("unknown", unknown), ("missing", missing)):
            if keys:
                raise ValueError(
                    f"{problem} fields of {cls.__name__}: {', '.join(keys)}"
                )
        return cls(**{name: _coerce(cls, name, raw[name]) for name in names})

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


def _check_device(spec) -> None:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:<i>`` (availability is checked at run)."""
    ok = isinstance(spec, str) and (
        spec in ("auto", "cpu", "cuda")
        or (spec.startswith("cuda:") and spec[5:].isdigit())
    )
    if not ok:
        raise ValueError(f"device must be auto, cpu, cuda or cuda:<i>, got {spec!r}")


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
        try:
            return tuple(_scalar(args[0], v, name) for v in items)
        except ValueError as err:
            raise ValueError(f"{err}; a list is written {name}=1,2,3") from None
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
