r"""The wire format as JSON Schema (Draft 2020-12), derived from the event classes.

The schemas are built from the attrs fields of the classes in
:mod:`mdc.core.events`, so a new event type or field shows up here without
editing this module: ``Decimal`` becomes a JSON number, ``int`` an integer,
``str`` a string, a :data:`~mdc.core.timestamps.Timestamp` a string in the
canonical form, a union the union of its members and ``tuple[X, ...]`` an
array. What the Python types cannot say (the ``type`` tag, the version, the
symbol grammar, the enumerations) comes from a small table of domain facts,
and every property's description from :data:`DESCRIPTIONS`.

The schema describes lines as mdc writes them: numbers as JSON numbers,
timestamps canonical, ``v`` present. Numeric rules such as "prices are > 0" are
validation rules (:mod:`mdc.core.validate`), not structure, and are left out.
Unknown properties are allowed: readers ignore fields added within a major version.

>>> json_schema("trade").unwrap()["required"]
['type', 'v', 'symbol', 'ts', 'ts_recv', 'provider', 'stream', 'price', 'size']
>>> json_schema("tick").failure().message.split(" (")[0]
"unknown event type 'tick'"
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar, Final, TypeAlias

import attrs
from attrs import frozen
from returns.result import Failure, Result, Success

from .events import BOOK_SIDES, CANCEL_ACTIONS, DEPTH_OPS, EVENT_TYPES, SCHEMA_VERSION, SIDES, MarketEvent
from .symbols import MAX_SYMBOL_LENGTH
from .timestamps import Timestamp

JsonValue: TypeAlias = str | int | bool | list["JsonValue"] | dict[str, "JsonValue"] | None
"""Any JSON value a schema is made of (schemas hold no floats)."""
JsonSchema: TypeAlias = dict[str, JsonValue]
"""A JSON Schema document or subschema."""

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
"""The ``$schema`` of every schema made here."""
SCHEMA_BASE: Final = f"https://mdc.invalid/schema/v{SCHEMA_VERSION}"
"""Base of the ``$id`` URIs; ``.invalid`` (RFC 2606) so that nothing is ever fetched from it."""
UNION_ID: Final = f"{SCHEMA_BASE}/event.json"
"""The ``$id`` of the schema of any event."""

# Python's re.search, which Python validators use for "pattern", lets "$" match
# before a final newline, and ECMA-262 has no "\z": "not followed by any
# character" is the end of the string in both dialects.
_END: Final = r"(?![\s\S])"

TIMESTAMP_PATTERN: Final = (
    r"^(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{9}Z" + _END
)
"""Canonical timestamps ``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` (see :mod:`mdc.core.timestamps`)."""
SYMBOL_PATTERN: Final = r"^(?!.*\.\.)(?![./]*$)[A-Za-z0-9./=^_:-]+" + _END
"""The grammar of :mod:`mdc.core.symbols`: no ``..``, not only dots and slashes (length apart)."""
INTERVAL_PATTERN: Final = r"^[1-9][0-9]{0,5}(?:s|m|h|d|w|mo)" + _END
"""Bar intervals: a positive count and a unit (as the ``bar_interval`` rule)."""
KIND_PATTERN: Final = r"^[a-z][a-z0-9_]*" + _END
"""Integrity kinds: snake_case words (as the ``integrity_kind`` rule)."""

DESCRIPTIONS: Final[Mapping[str, str]] = {
    # the envelope
    "type": "event type tag, always the first key",
    "v": "major version of the event schema",
    "symbol": "instrument symbol as the provider writes it",
    "ts": "event time from the exchange or provider, canonical UTC",
    "ts_recv": "time the event was received, canonical UTC",
    "provider": "name of the data provider",
    "stream": "provider stream or channel; the scope of seq",
    "seq": "sequence number within (provider, stream, symbol), when the feed has one",
    # trade
    "trade.price": "execution price",
    "trade.size": "executed quantity",
    "trade.side": "aggressor side",
    "trade.exchange": "venue code as the provider writes it",
    "conditions": "sale-condition codes as the provider writes them",
    "trade_id": "trade identifier of the venue or provider",
    # quote
    "bid_price": "best bid price, null when there is no bid",
    "bid_size": "quantity at the best bid, 0 when there is no bid",
    "ask_price": "best ask price, null when there is no ask",
    "ask_size": "quantity at the best ask, 0 when there is no ask",
    "bid_exchange": "venue of the best bid, when the feed names it",
    "ask_exchange": "venue of the best ask, when the feed names it",
    # depth
    "depth.side": "book side of the level",
    "op": "operation: insert, update, delete (position model) or set, delete (price-level model)",
    "position": "0-based level index (position model only)",
    "depth.price": "level price (absent only for a positional delete)",
    "depth.size": "level quantity after the change",
    "depth.exchange": "market maker or venue of the level, when the feed names it",
    # snapshot
    "bids": "bid levels as [price, size] pairs, highest price first",
    "asks": "ask levels as [price, size] pairs, lowest price first",
    # bar
    "interval": "bar length: a count and a unit s, m, h, d, w or mo",
    "open": "first trade price",
    "high": "highest trade price",
    "low": "lowest trade price",
    "close": "last trade price",
    "volume": "total traded size",
    "vwap": "volume-weighted average price, when known",
    "trade_count": "number of trades, when known",
    # integrity
    "kind": "what was found, a snake_case word such as sequence_gap",
    "expected": "what should have been seen (a sequence number or a value)",
    "received": "what was seen instead",
    "description": "one sentence for people",
    # trade_correction
    "original_id": "identifier of the trade being corrected",
    "original_price": "its price as first reported",
    "original_size": "its size as first reported",
    "original_conditions": "its conditions as first reported",
    "corrected_id": "identifier of the trade as corrected",
    "corrected_price": "the correct price",
    "corrected_size": "the correct size",
    "corrected_conditions": "the correct conditions",
    "trade_correction.exchange": "venue of the trade",
    # trade_cancel
    "action": "cancel (the trade was cancelled) or error (it never happened)",
    "trade_cancel.price": "price of the withdrawn trade",
    "trade_cancel.size": "size of the withdrawn trade",
    "trade_cancel.exchange": "venue of the withdrawn trade",
    # status
    "status": "trading status code as the provider writes it (H halted, T trading ...)",
    "message": "the status in words",
    "reason": "reason code, when given",
    "reason_message": "the reason in words",
    # luld
    "limit_up": "upper price band",
    "limit_down": "lower price band, not above limit_up",
    "indicator": "band indicator as the tape writes it",
}
"""Description of every property, keyed ``type.field`` where one type differs, else ``field``."""

_CONSTRAINTS: Final[Mapping[str, JsonSchema]] = {
    "v": {"const": SCHEMA_VERSION},
    "symbol": {"pattern": SYMBOL_PATTERN, "maxLength": MAX_SYMBOL_LENGTH},
    "trade.side": {"enum": list(SIDES)},
    "depth.side": {"enum": list(BOOK_SIDES)},
    "depth.op": {"enum": list(DEPTH_OPS)},
    "bar.interval": {"pattern": INTERVAL_PATTERN},
    "integrity.kind": {"pattern": KIND_PATTERN, "maxLength": 64},
    "trade_cancel.action": {"enum": list(CANCEL_ACTIONS)},
    "status.status": {"minLength": 1},
}
"""Domain facts the Python types cannot express, keyed like :data:`DESCRIPTIONS`."""

# The encoder always writes v, and readers need it to migrate an old line, so it
# is required although the classes give it a default.
_REQUIRED_WITH_DEFAULT: Final = frozenset({"v"})

_SIMPLE_TYPES: Final[Mapping[object, str]] = {
    Decimal: "number",
    int: "integer",
    str: "string",
    bool: "boolean",
    type(None): "null",
}


@frozen
class UnknownEventType:
    """The error of :func:`json_schema` for a type tag that names no event type.

    Attributes:
        name: the tag asked for.
        known: every known tag, in documentation order.
    """

    code: ClassVar[str] = "unknown_type"

    name: str
    known: tuple[str, ...]

    @property
    def message(self) -> str:
        """The sentence for people, listing the known types."""
        return f"unknown event type {self.name!r} (known types: {', '.join(self.known)})"


def json_schema(event_type: str | None = None) -> Result[JsonSchema, UnknownEventType]:
    """The JSON Schema of one event type, or of any event.

    Args:
        event_type: a wire tag (``trade``, ``quote`` ...), or None for the union of all types.

    Returns:
        ``Success`` with a standalone Draft 2020-12 schema (a fresh dict the caller
        may change), or ``Failure(UnknownEventType)`` when ``event_type`` names no type.

    >>> union = json_schema().unwrap()
    >>> union["$id"], union["oneOf"][0]
    ('https://mdc.invalid/schema/v1/event.json', {'$ref': '#/$defs/trade'})
    """
    if event_type is None:
        return Success(_union_schema())
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        return Failure(UnknownEventType(event_type, tuple(EVENT_TYPES)))
    return Success({"$schema": DRAFT, "$id": f"{SCHEMA_BASE}/{event_type}.json", **_event_schema(cls)})


def _union_schema() -> JsonSchema:
    return {
        "$schema": DRAFT,
        "$id": UNION_ID,
        "title": "mdc market event",
        "description": "one line of mdc NDJSON: an event of any type, told apart by its type tag",
        "$defs": {tag: _event_schema(cls) for tag, cls in EVENT_TYPES.items()},
        "oneOf": [{"$ref": f"#/$defs/{tag}"} for tag in EVENT_TYPES],
    }


def _event_schema(cls: type[MarketEvent]) -> JsonSchema:
    """The schema of one event class, without ``$schema`` and ``$id``."""
    tag = cls.TYPE
    properties: JsonSchema = {"type": _property(tag, "type", {"const": tag})}
    required: list[JsonValue] = ["type"]
    for field in attrs.fields(attrs.resolve_types(cls)):
        properties[field.name] = _property(tag, field.name, type_schema(field.type))
        if field.default is attrs.NOTHING or field.name in _REQUIRED_WITH_DEFAULT:
            required.append(field.name)
    summary = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
    return {
        "title": f"mdc {tag} event",
        "description": summary,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": True,
    }


def _property(tag: str, name: str, structure: JsonSchema) -> JsonSchema:
    """One property: its description, its structure and the domain facts about it."""
    description = DESCRIPTIONS.get(f"{tag}.{name}", DESCRIPTIONS.get(name))
    constraints = _CONSTRAINTS.get(f"{tag}.{name}", _CONSTRAINTS.get(name, {}))
    head: JsonSchema = {} if description is None else {"description": description}
    return {**head, **structure, **constraints}


def type_schema(hint: object) -> JsonSchema:
    """The JSON Schema of a field's Python type.

    Args:
        hint: a resolved type annotation of an event field.

    Returns:
        The schema of its JSON form.

    Raises:
        TypeError: the type has no JSON form here yet (a bug: teach this function the new type).

    >>> type_schema(Decimal | None)
    {'type': ['number', 'null']}
    >>> type_schema(tuple[str, ...])
    {'type': 'array', 'items': {'type': 'string'}}
    """
    if hint is Timestamp:
        return {"type": "string", "pattern": TIMESTAMP_PATTERN}
    simple = _SIMPLE_TYPES.get(hint)
    if simple is not None:
        return {"type": simple}
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType or origin is typing.Union:
        members = [type_schema(argument) for argument in arguments]
        if all(member.keys() == {"type"} for member in members):
            return {"type": [member["type"] for member in members]}
        return {"anyOf": [*members]}
    if origin is tuple and len(arguments) == 2 and arguments[1] is Ellipsis:
        return {"type": "array", "items": type_schema(arguments[0])}
    if origin is tuple:
        return {
            "type": "array",
            "prefixItems": [type_schema(argument) for argument in arguments],
            "items": False,
            "minItems": len(arguments),
        }
    raise TypeError(f"no JSON Schema for the field type {hint!r}; teach mdc.core.schema.type_schema")


__all__ = [
    "DESCRIPTIONS",
    "DRAFT",
    "INTERVAL_PATTERN",
    "KIND_PATTERN",
    "SCHEMA_BASE",
    "SYMBOL_PATTERN",
    "TIMESTAMP_PATTERN",
    "UNION_ID",
    "JsonSchema",
    "JsonValue",
    "UnknownEventType",
    "json_schema",
    "type_schema",
]
