"""Where events live in a store: pure path arithmetic, no file system.

The first layout is ``by-symbol`` with daily partitions on the event's UTC date::

    {root}/{symbol}/{type}/{YYYY-MM-DD}.jsonl

Symbols become path components through :func:`mdc.core.symbols.file_name`, which is
reversible, so ``BRK/B`` is stored under ``BRK%2FB`` and read back as ``BRK/B``.

>>> relative_path("trade", "BRK/B", "2026-11-24T14:30:00.000000000Z")
('BRK%2FB', 'trade', '2026-11-24.jsonl')
"""

from __future__ import annotations

import re
from typing import Final

from attrs import frozen

from .symbols import file_name, symbol_of_file_name
from .timestamps import date_of

SUFFIXES: Final = (".jsonl", ".jsonl.gz", ".jsonl.zst")
"""File name endings a store (or replay) reads."""
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def relative_path(event_type: str, symbol: str, ts: str) -> tuple[str, str, str]:
    """The path of the partition file an event belongs to, relative to the root.

    Args:
        event_type: the wire tag (``trade`` ...).
        symbol: a valid symbol.
        ts: the event's canonical timestamp.

    Returns:
        The path components.
    """
    return (file_name(symbol), event_type, f"{date_of(ts)}.jsonl")


@frozen
class PartitionName:
    """What a partition file's path tells about its contents (None = not known from the path).

    Attributes:
        symbol: the symbol, when the path follows the by-symbol layout.
        event_type: the event type, likewise.
        date: the UTC date ``YYYY-MM-DD`` every event in the file falls on.
    """

    symbol: str | None
    event_type: str | None
    date: str | None


def parse_partition(parts: tuple[str, ...], event_types: frozenset[str]) -> PartitionName:
    """Read symbol, type and date from a file's path components (relative to the root).

    Args:
        parts: the path components, the file name last.
        event_types: the known wire tags.

    Returns:
        What the path says; fields the path does not determine are None.

    >>> parse_partition(("BRK%2FB", "trade", "2026-11-24.jsonl.zst"), frozenset({"trade"}))
    PartitionName(symbol='BRK/B', event_type='trade', date='2026-11-24')
    """
    name = parts[-1]
    stem = next((name[: -len(suffix)] for suffix in SUFFIXES if name.endswith(suffix)), name)
    date = stem if _DATE.fullmatch(stem) else None
    if date is not None and len(parts) >= 3 and parts[-2] in event_types:
        return PartitionName(symbol_of_file_name(parts[-3]), parts[-2], date)
    return PartitionName(None, None, date)
