"""Errors as values: what was wrong with an input, never an exception.

A :class:`Violation` names the broken ``rule`` (a stable code that scripts may
match on), the ``field`` as a JSON path (``$.price``), the offending ``value``
and a ``message`` for people. Validators return ``Failure(tuple[Violation, ...])``
so that one bad event reports every rule it breaks.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from attrs import frozen

JsonScalar = str | int | float | bool | Decimal | None
"""A value that can be written into a JSON reject record."""

MAX_VALUE_CHARS: Final = 200
"""Longer string values are cut to this many characters in a violation."""


@frozen
class Violation:
    """One broken rule.

    Attributes:
        rule: stable code, e.g. ``price_positive`` (see :data:`RULES`).
        field: JSON path of the offending value (``$`` for the whole line).
        value: the offending value (strings cut to :data:`MAX_VALUE_CHARS`).
        message: what is wrong, in words.
    """

    rule: str
    field: str
    value: JsonScalar
    message: str

    def describe(self) -> str:
        """``message at field`` as the commands print it.

        >>> Violation("price_positive", "$.price", Decimal("-1"), "price must be > 0 (got -1)").describe()
        'price must be > 0 (got -1) at $.price'
        """
        return self.message if self.field == "$" else f"{self.message} at {self.field}"


Violations = tuple[Violation, ...]
"""The failure value of every validator: at least one violation."""


def violation(rule: str, path: str, value: object, message: str) -> Violation:
    """Build a :class:`Violation`, turning ``value`` into something JSON can hold.

    Args:
        rule: the rule code.
        path: JSON path of the field.
        value: the offending value, of any type.
        message: the sentence for people.

    Returns:
        The violation; non-scalar values become their ``repr`` and long strings are cut.
    """
    if value is None or isinstance(value, bool | int | float | Decimal):
        scalar: JsonScalar = value
    else:
        text = value if isinstance(value, str) else repr(value)
        scalar = text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "..."
    return Violation(rule, path, scalar, message)


RULES: Final[dict[str, str]] = {
    # framing and decoding
    "blank_line": "the line is empty",
    "line_too_long": "the line is longer than the configured maximum",
    "invalid_utf8": "the line is not valid UTF-8",
    "not_json": "the line is not valid JSON",
    "truncated_line": "the last line ends without a newline and is incomplete",
    "not_object": "the JSON value is not an object",
    "unknown_type": "the type tag is missing or names no event type",
    "unsupported_version": "the schema version is newer than this mdc understands",
    "missing_field": "a required field is absent",
    "wrong_type": "a field has the wrong JSON type",
    # common rules
    "symbol_grammar": "symbols use letters, digits and .-/=^_: only, at most 32 characters",
    "ts_format": "timestamps are ISO-8601 with a time zone",
    "ts_skew": "the event time is later than the receive time by more than the allowed skew",
    "not_empty": "identifiers such as provider and stream are non-empty",
    "sequence_positive": "sequence numbers are >= 0",
    # trade
    "finite_number": "prices and sizes are finite numbers (no NaN or Infinity)",
    "price_positive": "prices are > 0",
    "size_positive": "trade sizes are > 0",
    "size_nonnegative": "sizes are >= 0",
    "known_side": "a trade's side is buy, sell or unknown",
    # quote
    "empty_side": "a quote side without a price has size 0",
    "crossed_market": "the bid is above the ask (rejected under --reject-crossed)",
    # depth and snapshot
    "depth_consistent": "a depth change's side, op, position, price and size fit one model",
    "book_order": "snapshot levels are ordered best first without repeats",
    # bar
    "bar_ohlc": "a bar has low <= open, close <= high",
    "volume_nonnegative": "volume and trade count are >= 0",
    "bar_interval": "intervals are a positive count and a unit s, m, h, d, w or mo",
    # integrity
    "integrity_kind": "integrity kinds are snake_case words",
    # corrections, cancels, statuses, price bands
    "known_action": "a trade cancel's action is cancel or error",
    "band_order": "a LULD lower band is not above its upper band",
    # collectors and aggregations
    "out_of_order": "the sequence number went backwards",
    "late_trade": "a trade arrived after the bar it belongs to was written (mdc-bars)",
    # storage
    "not_storable": "the store's format cannot hold a value exactly (Parquet decimals keep 9 fraction digits)",
    "duplicate": "the sequence number repeats the previous one",
}
"""Every rule code with a one-line description (documented in mdc-format(5))."""
