from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Success

from mdc.core.timestamps import canonical, from_ns, is_canonical, to_ns
from mdc.testing.strategies import MAX_NS, MIN_NS

nanos = st.integers(-62_135_596_800 * 10**9, 253_402_300_799 * 10**9 + 999_999_999)


@given(nanos)
def test_from_ns_and_to_ns_are_inverse(value: int) -> None:
    """Every instant in years 0001-9999 survives text and back exactly."""
    text = from_ns(value)
    assert is_canonical(text)
    assert to_ns(text) == value


@given(st.integers(MIN_NS, MAX_NS), st.integers(MIN_NS, MAX_NS))
def test_text_order_is_time_order(first: int, second: int) -> None:
    """Canonical strings sort as their instants do, so merges can compare text."""
    assert (from_ns(first) < from_ns(second)) == (first < second)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-24T14:30:00.123456789Z", "2026-11-24T14:30:00.123456789Z"),
        ("2026-11-24T14:30:00Z", "2026-11-24T14:30:00.000000000Z"),
        ("2026-11-24T14:30:00.5+00:00", "2026-11-24T14:30:00.500000000Z"),
        ("2026-11-24 09:30:00.000000001-05:00", "2026-11-24T14:30:00.000000001Z"),
        ("2026-11-24t14:30:00z", "2026-11-24T14:30:00.000000000Z"),
        ("2026-11-24T14:30Z", "2026-11-24T14:30:00.000000000Z"),
        ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000000000Z"),
    ],
)
def test_canonical_normalises_valid_timestamps(text: str, expected: str) -> None:
    """Offsets, short fractions and lower-case separators normalise to UTC with nine digits."""
    assert canonical(text) == Success(expected)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-11-24T14:30:00", "no time zone"),
        ("2026-11-24T14:30:00.123456789", "no time zone"),
        ("2026-02-30T00:00:00Z", "no real date"),
        ("2026-11-24T24:00:00Z", "no real date"),
        ("2026-11-24T14:30:60Z", "no real date"),
        ("2026-11-24T14:30:00.1234567891Z", "more than nanosecond"),
        ("2026-11-24T14:30:00+25:00", "invalid UTC offset"),
        ("1732458600", "not an ISO-8601"),
        ("", "not an ISO-8601"),
        ("2026-11-24T14:30:00.12345678\uff19Z", "not an ISO-8601"),  # a full-width digit
    ],
)
def test_canonical_refuses_what_is_not_an_instant(text: str, reason: str) -> None:
    """Refusals say why; a time without a zone is never guessed."""
    failure = canonical(text).failure()
    assert reason in failure


@given(st.text(max_size=40))
def test_canonical_is_total(text: str) -> None:
    """Arbitrary text never raises, and any success is canonical."""
    result = canonical(text)
    if isinstance(result, Success):
        assert is_canonical(result.unwrap())
