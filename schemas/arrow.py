"""Arrow schemas derived from the pydantic records, and the row codec between the two.

A column is declared once, on the pydantic model; this module walks the model's annotations to build the
Arrow type. Free-form fields (`dict[str, Any]`, `Any`) have no fixed Arrow type, so they are stored as JSON
text and decoded again on the way back; everything else maps to a native Arrow type, nested models to
structs, so DuckDB can query into them (`routing.decision`, `error_edit.error_type`).
"""

from __future__ import annotations

import json
import types
import typing
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable, Literal, Union

import pyarrow as pa
from pydantic import BaseModel

from prefmill.schemas.errors import SchemaError

_SCALARS: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    datetime: pa.timestamp("us", tz="UTC"),
}


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """Return (inner annotation, nullable) for `X | None` and `Optional[X]`."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise SchemaError(f"union {annotation!r} has no Arrow type; use one type or a JSON field")
        return args[0], True
    return annotation, False


def _is_json(annotation: Any) -> bool:
    return annotation is Any or typing.get_origin(annotation) is dict or annotation is dict


def arrow_type(annotation: Any) -> pa.DataType:
    """The Arrow type of one annotation.

    >>> arrow_type(list[str])
    ListType(list<item: string not null>)
    """
    inner, _ = _unwrap_optional(annotation)
    if inner in _SCALARS:
        return _SCALARS[inner]
    if typing.get_origin(inner) is Literal:
        values = typing.get_args(inner)
        if all(isinstance(v, str) for v in values):
            return pa.string()
        raise SchemaError(f"Literal {inner!r} mixes types; only string literals map to Arrow")
    if _is_json(inner):
        return pa.string()
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        return pa.list_(pa.field("item", arrow_type(item), nullable=_unwrap_optional(item)[1]))
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return pa.struct(_fields(inner))
    raise SchemaError(f"no Arrow type for annotation {annotation!r}")


def _fields(model: type[BaseModel]) -> list[pa.Field]:
    hints = typing.get_type_hints(model)
    out = []
    for name in model.model_fields:
        annotation = hints[name]
        _, nullable = _unwrap_optional(annotation)
        out.append(pa.field(name, arrow_type(annotation), nullable=nullable))
    return out


@lru_cache(maxsize=None)
def arrow_schema(model: type[BaseModel]) -> pa.Schema:
    """The Arrow schema of a record model, with the model name in the schema metadata."""
    return pa.schema(_fields(model), metadata={b"prefmill.record": model.__name__.encode()})


def _identity(value: Any) -> Any:
    return value


@lru_cache(maxsize=None)
def _converter(annotation: Any, encode: bool) -> Callable[[Any], Any]:
    """A function converting values of one annotation between pydantic dumps and Arrow rows.

    Built once per (annotation, direction): resolving type hints per row cost more than the rest of the
    write (600 us a pair), so the walk over the annotations happens here, not on every value.
    """
    inner, _ = _unwrap_optional(annotation)
    if _is_json(inner):
        if encode:
            return lambda value: None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False,
                                                                       default=str)
        return lambda value: json.loads(value) if isinstance(value, str) else value
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        convert_item = _converter(item, encode)
        if convert_item is _identity:
            return _identity
        return lambda value: None if value is None else [convert_item(v) for v in value]
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        hints = typing.get_type_hints(inner)
        fields = tuple((name, _converter(hints[name], encode)) for name in inner.model_fields)
        return lambda value: None if value is None else {name: convert(value.get(name)) for name, convert in fields}
    return _identity


def _convert(value: Any, annotation: Any, encode: bool) -> Any:
    return _converter(annotation, encode)(value)


def to_row(record: BaseModel) -> dict[str, Any]:
    """A record as a dict that `pa.Table.from_pylist(rows, schema=arrow_schema(...))` accepts."""
    return _convert(record.model_dump(mode="python"), type(record), encode=True)


def from_row(model: type[BaseModel], row: dict[str, Any]) -> BaseModel:
    """The inverse of `to_row`: a row read back from Arrow or Parquet as a validated record."""
    return model.model_validate(_convert(row, model, encode=False))


def to_table(records: list[BaseModel], model: type[BaseModel]) -> pa.Table:
    return pa.Table.from_pylist([to_row(r) for r in records], schema=arrow_schema(model))
