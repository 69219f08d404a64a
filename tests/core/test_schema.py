"""The JSON Schema export: valid schemas that accept what the codec writes and refuse what it cannot have written."""

from __future__ import annotations

import json
import string
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from returns.result import Failure

from mdc.core.codec import encode_event
from mdc.core.events import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    Bar,
    Depth,
    Integrity,
    Luld,
    MarketEvent,
    Quote,
    Snapshot,
    Status,
    Trade,
    TradeCancel,
    TradeCorrection,
)
from mdc.core.schema import UNION_ID, JsonValue, UnknownEventType, json_schema, type_schema
from mdc.core.symbols import symbol_problem
from mdc.core.timestamps import Timestamp
from mdc.core.validate import Policy, validate_event
from mdc.testing.strategies import events, timestamps

TAGS = list(EVENT_TYPES)
UNION = json_schema().unwrap()
SCHEMAS = {tag: json_schema(tag).unwrap() for tag in TAGS}
UNION_VALIDATOR = Draft202012Validator(UNION)
VALIDATORS = {tag: Draft202012Validator(schema) for tag, schema in SCHEMAS.items()}

TS = Timestamp("2026-11-24T14:30:00.123456789Z")
TS_RECV = Timestamp("2026-11-24T14:30:00.125000000Z")
ENVELOPE: dict[str, Any] = {"symbol": "SPY", "ts": TS, "ts_recv": TS_RECV, "provider": "sim", "stream": "sim.SPY"}
BAR = Bar(
    **ENVELOPE,
    interval="1m",
    open=Decimal("451.00"),
    high=Decimal("451.20"),
    low=Decimal("450.95"),
    close=Decimal("451.10"),
    volume=Decimal("12500"),
    trade_count=84,
)
INTEGRITY = Integrity(**ENVELOPE, kind="sequence_gap", expected=8, received=11, description="3 messages missing")
SAMPLES: dict[str, MarketEvent] = {
    "trade": Trade(
        **ENVELOPE, seq=7, price=Decimal("451.10"), size=Decimal("100"), side="buy", exchange="P", conditions=("@",)
    ),
    "quote": Quote(
        **ENVELOPE, bid_price=Decimal("451.09"), bid_size=Decimal("300"), ask_price=None, ask_size=Decimal("0")
    ),
    "depth": Depth(**ENVELOPE, side="bid", op="insert", position=0, price=Decimal("451.09"), size=Decimal("300")),
    "snapshot": Snapshot(**ENVELOPE, bids=((Decimal("451.09"), Decimal("300")),), asks=()),
    "bar": BAR,
    "integrity": INTEGRITY,
    "trade_correction": TradeCorrection(
        **ENVELOPE,
        original_id="1",
        original_price=Decimal("451.10"),
        original_size=Decimal("100"),
        corrected_id="2",
        corrected_price=Decimal("451.01"),
        corrected_size=Decimal("100"),
    ),
    "trade_cancel": TradeCancel(**ENVELOPE, action="error", trade_id="2", price=Decimal("451.01"), size=Decimal("100")),
    "status": Status(**ENVELOPE, status="H", message="Trading Halt", reason="T1", reason_message="Halt News Pending"),
    "luld": Luld(**ENVELOPE, limit_up=Decimal("473.66"), limit_down=Decimal("428.54"), indicator="B"),
}


def properties_of(tag: str) -> dict[str, JsonValue]:
    properties = SCHEMAS[tag]["properties"]
    assert isinstance(properties, dict)
    return properties


def required_of(tag: str) -> list[JsonValue]:
    required = SCHEMAS[tag]["required"]
    assert isinstance(required, list)
    return required


def wire(event: MarketEvent) -> dict[str, Any]:
    """The JSON object of an event as the codec writes it, numbers exact."""
    obj: dict[str, Any] = json.loads(encode_event(event), parse_float=Decimal)
    return obj


def sample(tag: str, **changes: object) -> dict[str, Any]:
    return {**wire(SAMPLES[tag]), **changes}


def refused_by_both(tag: str, obj: dict[str, Any]) -> bool:
    return not VALIDATORS[tag].is_valid(obj) and not UNION_VALIDATOR.is_valid(obj)


# --------------------------------------------------------------------------- the schemas themselves


def test_union_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The union schema passes the metaschema."""
    Draft202012Validator.check_schema(UNION)


@pytest.mark.parametrize("tag", TAGS)
def test_each_type_schema_is_a_valid_draft_2020_12_schema(tag: str) -> None:
    """Every per-type schema passes the metaschema and is standalone."""
    Draft202012Validator.check_schema(SCHEMAS[tag])
    assert SCHEMAS[tag]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMAS[tag]["$id"] == f"https://mdc.invalid/schema/v{SCHEMA_VERSION}/{tag}.json"


def test_union_is_one_of_a_definition_per_type() -> None:
    """The union names every type once, each through a $ref to its definition."""
    assert UNION["$id"] == UNION_ID
    assert UNION["oneOf"] == [{"$ref": f"#/$defs/{tag}"} for tag in TAGS]
    definitions = UNION["$defs"]
    assert isinstance(definitions, dict)
    assert list(definitions) == TAGS


@pytest.mark.parametrize("tag", TAGS)
def test_union_definition_is_the_type_schema(tag: str) -> None:
    """A definition in the union is the per-type schema without $schema and $id."""
    standalone = {key: value for key, value in SCHEMAS[tag].items() if key not in ("$schema", "$id")}
    definitions = UNION["$defs"]
    assert isinstance(definitions, dict)
    assert definitions[tag] == standalone


@pytest.mark.parametrize(("tag", "cls"), EVENT_TYPES.items())
def test_properties_follow_the_attrs_fields(tag: str, cls: type[MarketEvent]) -> None:
    """The properties are the type tag (const, first) and then every field, in declaration order."""
    properties = properties_of(tag)
    assert list(properties) == ["type", *(field.name for field in attrs.fields(cls))]
    assert properties["type"] == {"description": "event type tag, always the first key", "const": tag}


@pytest.mark.parametrize(("tag", "cls"), EVENT_TYPES.items())
def test_required_is_type_v_and_fields_without_default(tag: str, cls: type[MarketEvent]) -> None:
    """Optional fields (omitted by the encoder) are not required; type and v are."""
    without_default = [field.name for field in attrs.fields(cls) if field.default is attrs.NOTHING]
    assert SCHEMAS[tag]["required"] == ["type", "v", *without_default]


@pytest.mark.parametrize("tag", TAGS)
def test_every_property_has_a_description(tag: str) -> None:
    """Each property carries a short description."""
    for name, schema in properties_of(tag).items():
        assert isinstance(schema, dict)
        description = schema.get("description")
        assert isinstance(description, str), f"{tag}.{name} has no description"
        assert 0 < len(description) <= 100


def test_type_schema_maps_the_field_types() -> None:
    """Python field types map to their JSON forms."""
    assert type_schema(Decimal) == {"type": "number"}
    assert type_schema(int | str | None) == {"type": ["integer", "string", "null"]}
    assert type_schema(tuple[tuple[Decimal, Decimal], ...]) == {
        "type": "array",
        "items": {"type": "array", "prefixItems": [{"type": "number"}] * 2, "items": False, "minItems": 2},
    }
    assert type_schema(Timestamp)["type"] == "string"


def test_type_schema_refuses_a_type_it_does_not_know() -> None:
    """A field type with no JSON form is a bug that says what to do."""
    with pytest.raises(TypeError, match="teach"):
        type_schema(float)


# --------------------------------------------------------------------------- unknown types


def test_unknown_type_is_an_error_value_listing_the_types() -> None:
    """Asking for an unknown type gives a Failure whose message lists every known type."""
    result = json_schema("tick")
    assert result == Failure(UnknownEventType("tick", tuple(TAGS)))
    assert result.failure().message == (
        "unknown event type 'tick' (known types: trade, quote, depth, snapshot, bar, integrity,"
        " trade_correction, trade_cancel, status, luld)"
    )
    assert result.failure().code == "unknown_type"


# --------------------------------------------------------------------------- what the codec writes


def test_jsonschema_counts_decimals_as_numbers() -> None:
    """Exact decimals from the JSON parser are numbers to the validator (so the properties below mean something)."""
    validator = Draft202012Validator({"type": "number"})
    assert validator.is_type(Decimal("451.10"), "number")
    assert validator.is_valid(Decimal("0.00000001"))


@pytest.mark.parametrize("tag", TAGS)
def test_sample_events_validate(tag: str) -> None:
    """A realistic event of each type validates against its schema and the union."""
    VALIDATORS[tag].validate(wire(SAMPLES[tag]))
    UNION_VALIDATOR.validate(wire(SAMPLES[tag]))


@given(events())
def test_every_encoded_event_validates(event: MarketEvent) -> None:
    """What the codec writes validates against the union and against its type's schema."""
    obj = wire(event)
    UNION_VALIDATOR.validate(obj)
    VALIDATORS[event.TYPE].validate(obj)


@given(events())
def test_an_event_matches_no_other_type(event: MarketEvent) -> None:
    """The type const tells the definitions apart."""
    obj = wire(event)
    for tag, validator in VALIDATORS.items():
        if tag != event.TYPE:
            assert not validator.is_valid(obj)


@pytest.mark.parametrize("tag", TAGS)
def test_added_fields_are_tolerated(tag: str) -> None:
    """Fields added within a major version do not make a line invalid."""
    obj = sample(tag, venue_flags=["odd_lot"], latency_ns=1200)
    assert VALIDATORS[tag].is_valid(obj)
    assert UNION_VALIDATOR.is_valid(obj)


# --------------------------------------------------------------------------- what they refuse


@pytest.mark.parametrize(
    ("tag", "field"),
    [(tag, field) for tag in TAGS for field in required_of(tag)],
)
def test_missing_required_field_is_refused(tag: str, field: str) -> None:
    """Leaving out a required field makes the line invalid."""
    obj = sample(tag)
    del obj[field]
    assert refused_by_both(tag, obj)


@pytest.mark.parametrize(
    ("tag", "field"),
    [(tag, field) for tag in TAGS for field in properties_of(tag)],
)
def test_wrong_json_type_is_refused(tag: str, field: str) -> None:
    """No property holds an object."""
    assert refused_by_both(tag, sample(tag, **{field: {"value": 1}}))


@pytest.mark.parametrize(
    ("tag", "field", "value"),
    [
        ("trade", "price", "451.10"),
        ("trade", "size", None),
        ("trade", "seq", 7.5),
        ("trade", "conditions", "@"),
        ("quote", "bid_size", True),
        ("depth", "position", "0"),
        ("snapshot", "bids", [["451.09", "300"]]),
        ("snapshot", "bids", [[451.09]]),
        ("snapshot", "bids", [[451.09, 300, 1]]),
        ("bar", "trade_count", Decimal("84.5")),
        ("integrity", "expected", [8]),
        ("integrity", "v", "1"),
    ],
)
def test_wrong_scalar_type_is_refused(tag: str, field: str, value: object) -> None:
    """Strings for numbers, fractions for integers, short or long pairs are not the written format."""
    assert refused_by_both(tag, sample(tag, **{field: value}))


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("field", ["ts", "ts_recv"])
@pytest.mark.parametrize(
    "value",
    [
        "2026-11-24T14:30:00.123456789",  # no zone
        "2026-11-24T14:30:00.123456Z",  # microseconds
        "2026-11-24T14:30:00Z",  # no fraction
        "2026-11-24T09:30:00.123456789-05:00",  # an offset
        "2026-11-24 14:30:00.123456789Z",  # a space
        "2026-13-24T14:30:00.123456789Z",  # month 13
        "2026-11-24T14:30:00.123456789Z\n",  # a trailing newline
    ],
)
def test_non_canonical_timestamp_is_refused(tag: str, field: str, value: str) -> None:
    """Only the canonical form YYYY-MM-DDTHH:MM:SS.fffffffffZ is written."""
    assert refused_by_both(tag, sample(tag, **{field: value}))


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("symbol", ["../etc", "A" * 40, "", "./", "SPY AAPL", "SPY\n", "SP%Y", "ÄPFEL"])
def test_bad_symbol_is_refused(tag: str, symbol: str) -> None:
    """Symbols follow the grammar of mdc.core.symbols."""
    assert refused_by_both(tag, sample(tag, symbol=symbol))


@pytest.mark.parametrize(
    ("tag", "field", "value"),
    [
        ("trade", "side", "up"),
        ("trade", "side", "bid"),
        ("depth", "side", "buy"),
        ("depth", "op", "replace"),
        ("bar", "interval", "1x"),
        ("bar", "interval", "0m"),
        ("integrity", "kind", "Sequence-Gap"),
        ("integrity", "kind", "gap\n"),
    ],
)
def test_unknown_enumerated_value_is_refused(tag: str, field: str, value: str) -> None:
    """Sides, ops, intervals and kinds come from their fixed sets or grammars."""
    assert refused_by_both(tag, sample(tag, **{field: value}))


@pytest.mark.parametrize("tag", TAGS)
def test_other_versions_are_refused(tag: str) -> None:
    """The schema is that of the current major version."""
    assert refused_by_both(tag, sample(tag, v=SCHEMA_VERSION + 1))
    assert refused_by_both(tag, sample(tag, v=0))


def test_union_refuses_an_unknown_type() -> None:
    """A line whose tag names no type matches no definition."""
    assert not UNION_VALIDATOR.is_valid(sample("trade", type="tick"))


def test_numeric_rules_are_left_to_validation() -> None:
    """A structurally sound trade with a negative price is valid JSON Schema-wise (the rules refuse it)."""
    obj = sample("trade", price=Decimal("-1.5"), size=0)
    assert VALIDATORS["trade"].is_valid(obj)


# --------------------------------------------------------------------------- agreement with the rules

SYMBOL_VALIDATOR = Draft202012Validator(properties_of("trade")["symbol"])


@given(st.text(string.ascii_letters[:6] + string.digits[:3] + "./=^_:-%\n Ä", max_size=40) | st.from_regex(r"\A\.+\Z"))
def test_symbol_pattern_is_the_symbol_grammar(symbol: str) -> None:
    """The schema accepts exactly the symbols mdc.core.symbols accepts."""
    assert SYMBOL_VALIDATOR.is_valid(symbol) == (symbol_problem(symbol) is None)


@given(timestamps())
def test_canonical_timestamps_match_the_pattern(ts: Timestamp) -> None:
    """Every canonical timestamp fits the schema's pattern."""
    assert VALIDATORS["trade"].is_valid(sample("trade", ts=ts))


def test_timestamp_pattern_covers_the_whole_range() -> None:
    """The first and last instants mdc can represent fit the pattern."""
    for ts in ("0001-01-01T00:00:00.000000000Z", "9999-12-31T23:59:59.999999999Z"):
        assert VALIDATORS["trade"].is_valid(sample("trade", ts=ts))


def _rules_of(event: MarketEvent) -> set[str]:
    result = validate_event(event, Policy())
    return {violation.rule for violation in result.failure()} if isinstance(result, Failure) else set()


@given(st.text("0123456789smhdwo x\n", max_size=9))
def test_interval_pattern_is_the_interval_rule(interval: str) -> None:
    """The schema and the bar_interval rule agree on intervals."""
    bar = attrs.evolve(BAR, interval=interval)
    assert VALIDATORS["bar"].is_valid(wire(bar)) == ("bar_interval" not in _rules_of(bar))


@given(st.text("abz09_A-\n", max_size=70))
def test_kind_pattern_is_the_integrity_kind_rule(kind: str) -> None:
    """The schema and the integrity_kind rule agree on kinds."""
    integrity = attrs.evolve(INTEGRITY, kind=kind)
    assert VALIDATORS["integrity"].is_valid(wire(integrity)) == ("integrity_kind" not in _rules_of(integrity))
