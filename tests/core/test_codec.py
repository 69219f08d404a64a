from __future__ import annotations

import string
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from mdc.core.codec import decode_line, decode_object, encode_event, encode_lines, migrate
from mdc.core.events import EVENT_TYPES, SCHEMA_VERSION, Quote, Trade
from mdc.testing.strategies import decimal_texts, events

TRADE = (
    b'{"type":"trade","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.123456789Z",'
    b'"ts_recv":"2026-11-24T14:30:00.123556789Z","provider":"sim","stream":"sim.trades","seq":7,'
    b'"price":451.10,"size":100,"side":"buy","exchange":"V","conditions":["@","I"],"trade_id":"t7"}'
)


@given(events())
def test_every_event_round_trips(event: object) -> None:
    """decode(encode(e)) == e, and encoding it again gives the same bytes."""
    line = encode_event(event)  # type: ignore[arg-type]
    assert decode_line(line) == Success(event)
    assert encode_event(decode_line(line).unwrap()) == line


@given(decimal_texts(max_integer_digits=12, max_fraction_digits=12))
def test_a_price_is_written_back_exactly_as_it_came_in(price: str) -> None:
    """The text of a number survives decode and encode, trailing zeros and tiny values included."""
    line = TRADE.replace(b"451.10", price.encode())
    decoded = decode_line(line)
    assert isinstance(decoded, Success)
    assert encode_event(decoded.unwrap()) == line


@pytest.mark.parametrize("price", ["0.00000001", "0.00000100", "1.50", "100", "12345678901234567890.123456789"])
def test_awkward_decimals_keep_positional_text(price: str) -> None:
    """Values Decimal would print with an exponent still come out in positional notation."""
    line = TRADE.replace(b"451.10", price.encode())
    assert encode_event(decode_line(line).unwrap()) == line


def test_type_is_first_and_optional_empty_fields_are_left_out() -> None:
    """The tag leads; None and empty optional fields are omitted, nullable required ones are not."""
    trade = decode_line(TRADE).unwrap()
    bare = Trade(
        symbol="SPY",
        ts=trade.ts,
        ts_recv=trade.ts_recv,
        provider="p",
        stream="s",
        price=Decimal("1.5"),
        size=Decimal(1),
    )
    assert encode_event(bare).startswith(b'{"type":"trade","v":1,')
    assert b"seq" not in encode_event(bare)
    assert b"conditions" not in encode_event(bare)
    quote = Quote(
        symbol="SPY",
        ts=trade.ts,
        ts_recv=trade.ts_recv,
        provider="p",
        stream="s",
        bid_price=None,
        bid_size=Decimal(0),
        ask_price=Decimal("1"),
        ask_size=Decimal(5),
    )
    assert b'"bid_price":null' in encode_event(quote)


def test_key_order_and_whitespace_do_not_matter_on_input() -> None:
    """A pretty-printed object with the tag last decodes like the canonical line."""
    obj = msgspec.json.decode(TRADE)
    tag = obj.pop("type")
    pretty = msgspec.json.format(msgspec.json.encode({**obj, "type": tag}), indent=2).replace(b"\n", b" ")
    assert decode_line(pretty) == decode_line(TRADE)


def test_numbers_written_as_strings_are_accepted_and_written_as_numbers() -> None:
    """Some sources quote exact decimals; mdc takes them and writes JSON numbers."""
    line = TRADE.replace(b"451.10", b'"451.10"')
    assert encode_event(decode_line(line).unwrap()) == TRADE


def rules(line: bytes) -> list[str]:
    return [violation.rule for violation in decode_line(line).failure()]


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        (b"", "blank_line"),
        (b"   \r", "blank_line"),
        (b"not json", "not_json"),
        (b'{"type":"trade"', "not_json"),
        (b"[1,2,3]", "not_object"),
        (b'"trade"', "not_object"),
        (b'{"type":"trade","price":NaN}', "not_json"),
        (b'{"type":"trade","price":Infinity}', "not_json"),
        (b'{"type":"tarde","v":1}', "unknown_type"),
        (b'{"v":1}', "unknown_type"),
        (b'{"type":5}', "unknown_type"),
        (b'{"type":"trade","v":2}', "unsupported_version"),
        (b'{"type":"trade","v":0}', "unsupported_version"),
        (b'{"type":"trade","v":"1"}', "wrong_type"),
        (b'{"type":"trade","symbol":"\xff"}', "invalid_utf8"),
        (b"\xfe\xff{}", "invalid_utf8"),
    ],
)
def test_bad_lines_are_failures_with_a_rule(line: bytes, rule: str) -> None:
    """Each kind of bad input names its rule; nothing raises."""
    assert rules(line) == [rule]


def test_newer_major_version_is_refused_with_a_clear_message() -> None:
    """A v1 reader says which version it got and that mdc needs upgrading."""
    message = decode_line(TRADE.replace(b'"v":1', b'"v":2')).failure()[0].message
    assert "schema version 2 is newer" in message
    assert "upgrade" in message


def test_every_structural_problem_is_reported_at_once() -> None:
    """A line with several missing and mistyped fields lists all of them with their paths."""
    line = b'{"type":"trade","v":1,"symbol":5,"ts":"x","provider":"p","stream":"s","price":true,"seq":1.5}'
    failure = decode_line(line).failure()
    found = {(violation.rule, violation.field) for violation in failure}
    assert found == {
        ("wrong_type", "$.symbol"),
        ("missing_field", "$.ts_recv"),
        ("wrong_type", "$.seq"),
        ("wrong_type", "$.price"),
        ("missing_field", "$.size"),
    }


def test_nested_paths_point_into_snapshot_levels() -> None:
    """A bad level in a snapshot is reported at its index."""
    line = (
        b'{"type":"snapshot","v":1,"symbol":"S","ts":"a","ts_recv":"b","provider":"p","stream":"s",'
        b'"bids":[[1,2],[3,"x"]],"asks":[]}'
    )
    assert [violation.field for violation in decode_line(line).failure()] == ["$.bids[1][1]"]


def test_migrations_run_one_version_at_a_time() -> None:
    """An old object passes through each step from its version up to the current one."""
    steps = {
        -1: lambda obj: {**obj, "v": 0, "seen": [*obj["seen"], -1]},
        0: lambda obj: {**obj, "v": 1, "seen": [*obj["seen"], 0]},
    }
    assert migrate({"v": -1, "seen": []}, steps) == Success({"v": SCHEMA_VERSION, "seen": [-1, 0]})
    assert isinstance(migrate({"v": -2, "seen": []}, steps), Failure)


def test_decode_object_refuses_floats() -> None:
    """Binary floats are not exact, so a parsed object must carry Decimals or ints."""
    obj = msgspec.json.decode(TRADE)
    assert "$.price" in {violation.field for violation in decode_object(obj).failure()}


@given(st.binary(max_size=300))
def test_decoding_random_bytes_never_raises(data: bytes) -> None:
    """Arbitrary bytes give a Result, never an exception."""
    assert isinstance(decode_line(data), Success | Failure)


@given(
    st.dictionaries(
        st.sampled_from([*EVENT_TYPES, "v", "symbol", "price", "ts", "bids"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(string.printable, max_size=5),
            lambda children: (
                st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
            ),
            max_leaves=6,
        ),
    )
)
def test_decoding_random_json_objects_never_raises(obj: dict[str, object]) -> None:
    """Arbitrary JSON objects, near-valid or not, give a Result."""
    obj["type"] = obj.get("v") if isinstance(obj.get("v"), str) else "trade"
    assert isinstance(decode_line(msgspec.json.encode(obj)), Success | Failure)


def test_encode_lines_joins_with_newlines() -> None:
    """NDJSON: each event followed by a newline, nothing for no events."""
    trade = decode_line(TRADE).unwrap()
    assert encode_lines([trade, trade]) == TRADE + b"\n" + TRADE + b"\n"
    assert encode_lines([]) == b""
