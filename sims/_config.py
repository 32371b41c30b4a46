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
    "abbreviate",
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
    without repeats. Numbers must be finite unless ``finite=False``; ints must fit
    int64 (they become int64 coordinates and attrs) whatever the declared bounds.
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
        """Why ``value`` breaks the constraint, or ``None``.

        Ints are compared as ints (exact, any size: never converted to float).
        """
        if self.choices is not None:
            return None if value in self.choices else f"must be {self.describe()}"
        if not isinstance(value, int | float) or isinstance(value, bool):
            return "must be a number"
        if isinstance(value, float):
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
        if isinstance(value, int) and value > _INT64_MAX:
            return "must be <= 2^63-1 (int64)"
        if isinstance(value, int) and value < -_INT64_MAX - 1:
            return "must be >= -2^63 (int64)"
        return None


_INT64_MAX = 2**63 - 1

#: Longest value an error message repeats in full; longer ones are abbreviated.
_SHOWN = 40


def abbreviate(value) -> str:
    """``repr(value)`` for an error message, abbreviated when it is long: a huge int
    by its first and last digits and its number of digits (it is never converted to
    text whole, which Python refuses beyond 4300 digits), a long string by its start
    and length, a tuple item by item (at most 8 items).

    Examples:
      >>> abbreviate(8), abbreviate("mse"), abbreviate((8, 16))
      ('8', "'mse'", '(8, 16)')
      >>> abbreviate(10**400)
      '1000000000...0000000000 (401 digits)'
    """
    if isinstance(value, bool) or not isinstance(value, int | str | tuple):
        text = repr(value)
        return text if len(text) <= 2 * _SHOWN else f"{text[:_SHOWN]}..."
    if isinstance(value, int):
        return _digits(value)
    if isinstance(value, str):
        if len(value) <= _SHOWN:
            return repr(value)
        return f"{value[:_SHOWN]!r}... ({len(value)} characters)"
    items = [abbreviate(v) for v in value[:8]]
    if len(value) > 8:
        items.append(f"... ({len(value)} values)")
    return "(" + ", ".join(items) + ("," if len(value) == 1 else "") + ")"


def _digits(value: int) -> str:
    """An int's decimal digits, abbreviated beyond :data:`_SHOWN` digits."""
    sign = "-" if value < 0 else ""
    bits = abs(value).bit_length()
    if bits > 14_000:  # ~4200 digits: str() would refuse it
        return f"{sign}<an integer of about {int(bits * math.log10(2)) + 1} digits>"
    text = str(abs(value))
    if len(text) <= _SHOWN:
        return sign + text
    return f"{sign}{text[:10]}...{text[-10:]} ({len(text)} digits)"


def _number(x: float) -> str:
    if x == _INT64_MAX:
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
    """Enforce every declared :func:`param` constraint of ``config``: the types
    first, then the axis rules (non-empty, no repeats), then the bounds."""
    for f in _fields(type(config)):
        check = _metadata(type(config), f.name).get("check")
        if check is None:
            continue
        value = getattr(config, f.name)
        tp = _field_type(type(config), f.name)
        is_tuple = typing.get_origin(tp) is tuple
        if is_tuple:
            if not isinstance(value, tuple):
                raise ValueError(
                    f"{f.name} takes a list of values, got {abbreviate(value)}"
                )
            scalar, values = typing.get_args(tp)[0], value
        else:
            scalar, values = tp, (value,)
        for v in values:
            if scalar is int and (not isinstance(v, int) or isinstance(v, bool)):
                raise ValueError(f"{f.name}: {abbreviate(v)} is not an integer")
            if scalar is float and (
                not isinstance(v, int | float) or isinstance(v, bool)
            ):
                raise ValueError(f"{f.name}: {abbreviate(v)} is not a number")
            if scalar is str and not isinstance(v, str):
                raise ValueError(f"{f.name}: {abbreviate(v)} is not a string")
        if is_tuple:
            if len(values) == 0:
                raise ValueError(f"{f.name} must have at least one value")
            if check.axis and len(set(values)) != len(values):
                seen: set = set()
                again = next(v for v in values if v in seen or seen.add(v))
                raise ValueError(
                    f"{f.name} has repeated values: {abbreviate(value)}"
                    + (f" ({abbreviate(again)} repeated)" if len(values) > 8 else "")
                )
        for v in values:
            if scalar is str and check.choices is None:
                continue
            problem = check.problem(v)
            if problem is not None:
                raise ValueError(f"{f.name}: {abbreviate(v)} {problem}")


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
        writes it); ``ValueError`` naming unknown or missing fields, and the field
        and value of a value of the wrong type (a list for a single value, a nested
        list) or beyond the float64 range (``1e400``)."""
        try:
            raw = json.loads(text, parse_float=_json_float, parse_int=_json_int)
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
        """Apply ``key=v1,v2`` strings, parsing each value by the field's type.

        A field given twice, or an empty item of a list (``k=8,,16``), is refused
        (``ValueError`` naming it), never silently resolved.
        """
        changes: dict[str, Any] = {}
        given: dict[str, str] = {}
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
            if key in given:
                raise ValueError(
                    f"--set gives {key} twice ({abbreviate(given[key])} and "
                    f"{abbreviate(item)}); give it once, a list as {key}=1,2,3"
                )
            given[key] = item
            items = text.split(",")
            if any(not v.strip() for v in items):
                raise ValueError(
                    f"{key}: empty item in {abbreviate(text)}; a list is written "
                    f"{key}=1,2,3"
                )
            changes[key] = _parse_items(type(self), key, items)
        return self.replace(**changes)


def _check_device(spec) -> None:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:<i>`` with ``i`` in ASCII digits
    (availability is checked at run)."""
    ok = isinstance(spec, str) and (
        spec in ("auto", "cpu", "cuda")
        or (spec.startswith("cuda:") and spec[5:].isascii() and spec[5:].isdigit())
    )
    if not ok:
        raise ValueError(
            f"device must be auto, cpu, cuda or cuda:<i>, got {abbreviate(spec)}"
        )


def _normalize(cls, name: str, value):
    """Cast ints to float for float fields and sequences to tuples; leave the rest."""
    tp = _field_type(cls, name)
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple and isinstance(value, list | tuple):
        if args and args[0] is float:
            return tuple(_as_float(v, name) for v in value)
        return tuple(value)
    if tp is float or (float in args and value is not None):
        return _as_float(value, name)
    return value


def _as_float(value, name: str):
    """An int as a float (``ValueError`` naming it beyond the float64 range)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    try:
        return float(value)
    except OverflowError:
        raise ValueError(
            f"{name}: {abbreviate(value)} is beyond the float64 range"
        ) from None


def _fields(cls) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)


def _field_type(cls, name: str):
    return typing.get_type_hints(cls)[name]


class _NumberText(str):
    """A JSON number Python cannot hold as written: a float beyond the float64 range
    (``1e400``, ``1e-400``) or an int of more than 4300 digits. Kept as its text, so
    the error names the field and what was written."""


def _json_float(text: str):
    value = float(text)
    return _NumberText(text) if _out_of_range(value, text) else value


def _json_int(text: str):
    try:
        return int(text)
    except ValueError:  # more than 4300 digits
        return _NumberText(text)


def _out_of_range(value: float, text: str) -> str | None:
    """Why parsing ``text`` gave ``value`` by overflow (inf not spelled as inf) or
    underflow (0 from non-zero digits), or ``None``."""
    mantissa = text.strip().lower().lstrip("+-").partition("e")[0]
    if math.isinf(value) and mantissa not in ("inf", "infinity"):
        return "is beyond the float64 range (|x| <= 1.8e308)"
    if value == 0 and any(c in "123456789" for c in mantissa):
        return "is below the float64 range (it would round to 0)"
    return None


def _shown_text(text: str) -> str:
    """Typed text for an error message: a long run of digits as :func:`_digits`
    shows an int, anything else as :func:`abbreviate` shows a string."""
    digits = text.lstrip("+-")
    if len(digits) > _SHOWN and digits.isascii() and digits.isdigit():
        sign = text[: len(text) - len(digits)]
        return f"{sign}{digits[:10]}...{digits[-10:]} ({len(digits)} digits)"
    return abbreviate(text)


def _parse(tp, text: str, name: str, hint: str = ""):
    """One typed value: ``text`` parsed as ``tp`` (``int``, ``float`` or ``str``);
    ``hint`` follows the message when the text is not a number at all."""
    text = text.strip()
    if tp is str:
        return text
    try:
        value = int(text) if tp is int else float(text)
    except ValueError:
        digits = text.lstrip("+-")
        if tp is int and digits.isascii() and digits.isdigit():  # > 4300 digits
            raise ValueError(f"{name}: {_shown_text(text)} is too large") from None
        raise ValueError(
            f"{name}: cannot parse {_shown_text(text)} as {tp.__name__}{hint}"
        ) from None
    why = _out_of_range(value, text) if tp is float else None
    if why:
        raise ValueError(f"{name}: {_shown_text(text)} {why}")
    return value


def _parse_items(cls, name: str, items: list[str]):
    """The value of ``--set name=...``: its comma-separated ``items`` as the type
    the field declares."""
    tp = _field_type(cls, name)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        hint = f"; a list is written {name}=1,2,3"
        return tuple(_parse(args[0], v, name, hint) for v in items)
    if len(items) != 1:
        raise ValueError(f"{name} takes one value, got {abbreviate(','.join(items))}")
    (text,) = items
    if origin in (typing.Union, types.UnionType):  # e.g. int | None
        if text.strip().lower() == "none":
            return None
        tp = next(a for a in args if a is not type(None))
    return _parse(tp, text, name)


def _shown_json(value) -> str:
    """A JSON value as written (its lists and strings abbreviated)."""
    if isinstance(value, _NumberText):
        return _shown_text(value)
    if isinstance(value, list):
        items = [_shown_json(v) for v in value[:8]]
        return "[" + ", ".join(items + (["..."] if len(value) > 8 else [])) + "]"
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return abbreviate(value)


def _json_scalar(tp, value, name: str):
    """One value of a JSON config as ``tp``; text is parsed as ``--set`` parses it."""
    kind = {int: "an integer", float: "a number", str: "a string"}.get(tp, "a value")
    if isinstance(value, _NumberText):
        if tp is int and value.lstrip("+-").isdigit():
            raise ValueError(f"{name}: {_shown_text(value)} is too large")
        if tp is float:
            why = _out_of_range(float(value), value)
            raise ValueError(f"{name}: {_shown_text(value)} {why}")
    if isinstance(value, _NumberText | list | dict):
        raise ValueError(f"{name}: {_shown_json(value)} is not {kind}")
    if isinstance(value, str):
        return _parse(tp, value, name)
    if tp is float:
        return _as_float(value, name)
    return value


def _coerce(cls, name: str, value):
    """Turn a JSON value into the type the field declares (``ValueError`` naming
    the field and the value for a value of the wrong kind)."""
    tp = _field_type(cls, name)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        items = value if isinstance(value, list) else [value]
        return tuple(_json_scalar(args[0], v, name) for v in items)
    if isinstance(value, list):
        raise ValueError(f"{name} takes one value, got {_shown_json(value)}")
    if origin in (typing.Union, types.UnionType):  # e.g. int | None
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        tp = next(a for a in args if a is not type(None))
    return _json_scalar(tp, value, name)
