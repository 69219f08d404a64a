"""Which stored events a reader wants, and how to tell cheaply from a canonical line.

:func:`line_key` reads ``type``, ``symbol`` and ``ts`` straight out of a line
written by mdc's own encoder (``type`` first, then ``v``, ``symbol`` and ``ts``)
without decoding it; anything that does not look exactly like that returns None
and the caller decodes the line properly.

>>> line = b'{"type":"trade","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.000000001Z","x":1}'
>>> line_key(line)
(b'2026-11-24T14:30:00.000000001Z', b'trade', b'SPY')
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Final

from attrs import frozen

from .layout import PartitionName, overlaps
from .timestamps import to_ns

_TAG: Final = b'{"type":"'
_SYMBOL: Final = b'"symbol":"'
_TS: Final = b'"ts":"'

LineKey = tuple[bytes, bytes, bytes]
"""(ts, type, symbol) of a line, as bytes."""


def line_key(line: bytes) -> LineKey | None:
    """The (ts, type, symbol) of a canonical line, or None when it is not canonical.

    Args:
        line: one line without its newline.

    Returns:
        The key, or None (decode the line to find out more).
    """
    if not line.startswith(_TAG) or not line.endswith(b"}"):
        return None
    end = line.find(b'"', 9)
    start = line.find(_SYMBOL, end)
    if start < 0:
        return None
    symbol_end = line.find(b'"', start + 10)
    ts_start = line.find(_TS, symbol_end)
    if ts_start < 0 or line[ts_start + 35 : ts_start + 37] != b'Z"' or not line[: ts_start + 37].isascii():
        return None  # the key must decode as text; other bytes are for the decoder to judge
    return line[ts_start + 6 : ts_start + 36], line[9:end], line[start + 10 : symbol_end]


@frozen
class Selection:
    """A filter over stored events. None means "any".

    Attributes:
        symbols: shell-style globs (``SP*``, ``BRK/?``), matched case-sensitively.
        types: wire tags.
        start: canonical timestamp, inclusive.
        end: canonical timestamp, exclusive.
    """

    symbols: tuple[str, ...] | None = None
    types: frozenset[str] | None = None
    start: str | None = None
    end: str | None = None

    def wants(self, ts: str, event_type: str, symbol: str) -> bool:
        """Whether an event with these properties is selected."""
        return (
            (self.types is None or event_type in self.types)
            and (self.start is None or ts >= self.start)
            and (self.end is None or ts < self.end)
            and (self.symbols is None or any(fnmatchcase(symbol, pattern) for pattern in self.symbols))
        )

    def may_contain(self, partition: PartitionName) -> bool:
        """Whether a stored file can hold a selected event, judging by what its path tells.

        Args:
            partition: the file's symbol, type and time range (see :func:`mdc.core.layout.parse_path`).

        Returns:
            False only when the path rules every selected event out.

        >>> start = to_ns("2026-11-24T14:00:00.000000000Z")
        >>> hour = PartitionName("SPY", "trade", "2026-11-24T14", start, start + 3600 * 10**9)
        >>> Selection(start="2026-11-24T15:00:00.000000000Z").may_contain(hour)
        False
        """
        if partition.event_type is not None and self.types is not None and partition.event_type not in self.types:
            return False
        if (
            partition.symbol is not None
            and self.symbols is not None
            and not any(fnmatchcase(partition.symbol, pattern) for pattern in self.symbols)
        ):
            return False
        return overlaps(
            (partition.start_ns, partition.end_ns),
            None if self.start is None else to_ns(self.start),
            None if self.end is None else to_ns(self.end),
        )
