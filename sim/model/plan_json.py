"""A plan as plain JSON data, and back, guided by the records' declared field types.

The run directory keeps the plan it simulated as ``plan.json`` (never a pickle):
decoding builds only the project's own frozen records, field by field, from the
types their dataclasses declare, so a crafted file can at worst be refused.

>>> from sim.model.distribution import Distribution
>>> from sim.model.enums import DistFamily
>>> d = Distribution(DistFamily.LOGNORMAL, (1.1, 1.5))
>>> from_data(Distribution, to_data(d)) == d
True
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import date
from functools import cache
from typing import Any

from sim.model.entities import Plan
from sim.model.planmeta import PlanMeta

FORMAT = 1  # bump when a record's fields change meaning


class SnapshotFormatError(ValueError):
    """Data that does not decode into the declared record types; says where."""


_PLAIN = (str, bool, int, float, type(None))


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def to_data(value: Any) -> Any:
    """Plain JSON-able data (dicts, lists, str, numbers, None) for a record tree."""
    if type(value) in _PLAIN:  # the common case first (exact types: a StrEnum is not a plain str here)
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_data(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [to_data(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"not a plan value: {type(value).__name__}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    if cls is Plan:
        hints["meta"] = PlanMeta | None  # declared `object` to keep entities free of planmeta
    return hints


def from_data(tp: Any, data: Any, where: str = "plan") -> Any:
    """Decode ``data`` as type ``tp`` (a record class, enum, date, tuple, optional or scalar)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return from_data(inner, data, where)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(data, list):
            raise SnapshotFormatError(f"{where}: expected a list, got {type(data).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_data(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise SnapshotFormatError(f"{where}: expected {len(args)} values, got {len(data)}")
        return tuple(from_data(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data)))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise SnapshotFormatError(f"{where}: expected an object, got {type(data).__name__}")
        hints, names = _hints(tp), {f.name for f in dataclasses.fields(tp)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SnapshotFormatError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")
        kwargs = {n: from_data(hints[n], v, f"{where}.{n}") for n, v in data.items()}
        try:
            return tp(**kwargs)
        except TypeError as exc:
            raise SnapshotFormatError(f"{where}: {exc}") from None
    return _scalar(tp, data, where)


def _scalar(tp: Any, data: Any, where: str) -> Any:
    try:
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return tp(data)
        if tp is date and isinstance(data, str):
            return date.fromisoformat(data)
    except ValueError as exc:
        raise SnapshotFormatError(f"{where}: {exc}") from None
    if tp is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        return float(data)
    if tp in (str, bool) and type(data) is tp:
        return data
    if tp is int and type(data) is int:
        return data
    raise SnapshotFormatError(f"{where}: expected {getattr(tp, '__name__', tp)}, got {data!r:.60}")


def plan_to_data(plan: Plan) -> dict:
    return {"format": FORMAT, "plan": to_data(plan)}


def plan_from_data(data: Any) -> Plan:
    """The plan of :func:`plan_to_data`; :class:`SnapshotFormatError` for anything else."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or "plan" not in data:
        raise SnapshotFormatError(f"not a plan snapshot of format {FORMAT}")
    return from_data(Plan, data["plan"])
