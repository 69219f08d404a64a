"""UTC timestamps with nanosecond precision, kept as canonical ISO-8601 text.

Events carry their times as *canonical* strings, ``YYYY-MM-DDTHH:MM:SS.fffffffffZ``:
always UTC, always nine fraction digits, always 30 characters. That form is
exact (no float, no microsecond rounding as in ``datetime``), needs no work to
write back out, and sorts as text in the same order as in time, so merging and
range filters compare strings. :func:`to_ns` and :func:`from_ns` convert to
integer nanoseconds since the Unix epoch where arithmetic is needed.

>>> canonical("2026-11-24T09:30:00.5-05:00").unwrap()
'2026-11-24T14:30:00.500000000Z'
>>> to_ns("1970-01-01T00:00:01.000000002Z")
1000000002
>>> from_ns(1000000002)
'1970-01-01T00:00:01.000000002Z'
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final, NewType

from returns.result import Failure, Result, Success

Timestamp = NewType("Timestamp", str)
"""A canonical UTC timestamp string (see the module docstring)."""

NS_PER_SECOND: Final = 1_000_000_000
NS_PER_MINUTE: Final = 60 * NS_PER_SECOND
CANONICAL_LENGTH: Final = 30

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:(Z|z)|([+-])(\d{2}):?(\d{2}))?",
    re.ASCII,
)


@lru_cache(maxsize=8192)
def _minute_seconds(prefix: str) -> int | None:
    """Epoch seconds of a ``YYYY-MM-DDTHH:MM`` prefix; None when it is not a valid minute."""
    try:
        year, month, day = int(prefix[0:4]), int(prefix[5:7]), int(prefix[8:10])
        hour, minute = int(prefix[11:13]), int(prefix[14:16])
    except ValueError:
        return None
    if not (
        prefix.isascii()
        and prefix[4] == "-"
        and prefix[7] == "-"
        and prefix[10] == "T"
        and prefix[13] == ":"
        and 1 <= month <= 12
        and 1 <= day <= calendar.monthrange(year, month)[1]
        and hour < 24
        and minute < 60
        and year >= 1
    ):
        return None
    return calendar.timegm((year, month, day, hour, minute, 0, 0, 0, 0))


@lru_cache(maxsize=8192)
def _minute_prefix(minute_index: int) -> str:
    """``YYYY-MM-DDTHH:MM:`` for the minute ``minute_index`` minutes after the epoch."""
    moment = _EPOCH + timedelta(minutes=minute_index)
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"


def is_canonical(text: str) -> bool:
    """Tell whether ``text`` is already a canonical timestamp.

    Args:
        text: any string.

    Returns:
        True for exactly ``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` naming a real instant.

    >>> is_canonical("2026-11-24T14:30:00.000000000Z"), is_canonical("2026-11-24T14:30:00Z")
    (True, False)
    """
    return (
        len(text) == CANONICAL_LENGTH
        and text[29] == "Z"
        and _valid_second_prefix(text[:20])
        and text[20:29].isdigit()
        and text.isascii()
    )


@lru_cache(maxsize=65536)
def _valid_second_prefix(prefix: str) -> bool:
    """Whether ``YYYY-MM-DDTHH:MM:SS.`` names a real second (cached: consecutive events share it)."""
    return (
        prefix[19] == "."
        and prefix[16] == ":"
        and prefix[17] in "012345"
        and prefix[18] in "0123456789"
        and _minute_seconds(prefix[:16]) is not None
    )


def canonical(text: str) -> Result[Timestamp, str]:
    """Normalise an ISO-8601 / RFC 3339 timestamp with a zone to the canonical form.

    Accepts ``T``, ``t`` or a space between date and time, an optional fraction of
    up to nine digits, and ``Z`` or a numeric offset. A time without a zone is
    refused: guessing the zone of market data silently shifts it by hours.

    Args:
        text: the timestamp as written by a provider or a user.

    Returns:
        ``Success`` with the canonical UTC string, or ``Failure`` with a reason
        that reads after the field's name ("ts has no time zone ...").

    >>> canonical("2026-11-24T14:30:00").failure()
    'has no time zone (add Z or an offset such as +00:00)'
    """
    if is_canonical(text):
        return Success(Timestamp(text))
    match = _ISO.fullmatch(text)
    if match is None:
        return Failure("is not an ISO-8601 timestamp (expected e.g. 2026-11-24T14:30:00.123456789Z)")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu is None and sign is None:
        return Failure("has no time zone (add Z or an offset such as +00:00)")
    if fraction is not None and len(fraction) > 9:
        return Failure("has more than nanosecond precision")
    base = _minute_seconds(f"{year}-{month}-{day}T{hour}:{minute}")
    seconds = int(second or 0)
    if base is None or seconds > 59:
        return Failure("names no real date and time")
    offset = 0
    if sign is not None:
        if int(off_h) > 23 or int(off_m) > 59:
            return Failure("has an invalid UTC offset")
        offset = (int(off_h) * 60 + int(off_m)) * 60 * (1 if sign == "+" else -1)
    nanos = int((fraction or "").ljust(9, "0"))
    total = (base + seconds - offset) * NS_PER_SECOND + nanos
    if total < _MIN_NS or total > _MAX_NS:
        return Failure("is outside the years 0001-9999")
    return Success(from_ns(total))


def to_ns(ts: str) -> int:
    """Nanoseconds since the Unix epoch of a canonical timestamp.

    Args:
        ts: a canonical timestamp (see :func:`is_canonical`).

    Returns:
        The instant as an integer (negative before 1970).

    Raises:
        ValueError: ``ts`` is not canonical (a bug in the caller: events hold canonical text).
    """
    base = _minute_seconds(ts[:16])
    if base is None:
        raise ValueError(f"not a canonical timestamp: {ts!r}")
    return (base + int(ts[17:19])) * NS_PER_SECOND + int(ts[20:29])


def from_ns(nanos: int) -> Timestamp:
    """The canonical timestamp of an instant given in nanoseconds since the epoch.

    Args:
        nanos: nanoseconds since 1970-01-01T00:00:00Z.

    Returns:
        The canonical string.
    """
    second_index, fraction = divmod(nanos, NS_PER_SECOND)
    return Timestamp(f"{_second_prefix(second_index)}{fraction:09d}Z")


@lru_cache(maxsize=4096)
def _second_prefix(second_index: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.`` for the second ``second_index`` seconds after the epoch."""
    minute_index, seconds = divmod(second_index, 60)
    return f"{_minute_prefix(minute_index)}{seconds:02d}."


def date_of(ts: str) -> str:
    """The UTC calendar date ``YYYY-MM-DD`` of a canonical timestamp."""
    return ts[:10]


_EPOCH: Final = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose: only used for calendar arithmetic
_MIN_NS: Final = (calendar.timegm((1, 1, 1, 0, 0, 0, 0, 0, 0))) * NS_PER_SECOND
_MAX_NS: Final = (calendar.timegm((9999, 12, 31, 23, 59, 59, 0, 0, 0)) + 1) * NS_PER_SECOND - 1
