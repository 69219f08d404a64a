"""Where events live in a store: pure path arithmetic, no file system.

A store lays its files out in one of four ways (:class:`Layout`) and splits
time into partitions on the event's UTC ``ts`` (:class:`Partitioning`)::

    by-symbol  {root}/{symbol}/{type}/{partition}.jsonl   (the default)
    by-date    {root}/{partition}/{symbol}/{type}.jsonl
    by-type    {root}/{type}/{symbol}/{partition}.jsonl
    flat       {root}/{symbol}_{type}_{partition}.jsonl

Partition keys are ``2026-11-24`` (daily), ``2026-11-24T14`` (hourly),
``2026-11`` (monthly) or ``all`` (none). Symbols become path components through
:func:`mdc.core.symbols.file_name`, which is reversible, so ``BRK/B`` is stored
under ``BRK%2FB`` and read back as ``BRK/B``; the flat layout also escapes
``_`` (as ``%5F``) because it separates the parts of the name.
:func:`parse_path` inverts :func:`event_path`, and every key names a time
range (:func:`partition_bounds`) that replay uses to prune and to merge.

>>> ts = "2026-11-24T14:30:00.000000000Z"
>>> event_path(Layout.FLAT, Partitioning.HOURLY, "trade", "SPY_W", ts, ".jsonl.zst")
('SPY%5FW_trade_2026-11-24T14.jsonl.zst',)
>>> parse_path(Layout.FLAT, Partitioning.HOURLY, ("SPY%5FW_trade_2026-11-24T14.jsonl.zst",)).symbol
'SPY_W'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum
from typing import Final

from attrs import frozen
from returns.result import Failure, Result, Success

from .symbols import file_name, symbol_of_file_name, symbol_problem
from .timestamps import NS_PER_SECOND, from_ns, is_canonical, to_ns

SUFFIXES: Final = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.lz4", ".parquet")
"""File name endings a store writes and replay reads."""

TIME_START_NS: Final = to_ns("0001-01-01T00:00:00.000000000Z")
"""The first instant a canonical timestamp can name."""
TIME_END_NS: Final = to_ns("9999-12-31T23:59:59.999999999Z") + 1
"""Just after the last instant a canonical timestamp can name."""

_NS_PER_HOUR: Final = 3600 * NS_PER_SECOND
_NS_PER_DAY: Final = 24 * _NS_PER_HOUR
_EVENT_TYPE: Final = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
_UNSAFE: Final = re.compile(r"[/\\\x00]")
_FLAT_SEPARATOR: Final = "_"
_FLAT_ESCAPE: Final = "%5F"


class Layout(Enum):
    """How a store arranges symbol, type and partition into paths."""

    BY_SYMBOL = "by-symbol"
    BY_DATE = "by-date"
    BY_TYPE = "by-type"
    FLAT = "flat"


class Partitioning(Enum):
    """How a store splits time (UTC) into files."""

    DAILY = "daily"
    HOURLY = "hourly"
    MONTHLY = "monthly"
    NONE = "none"


@frozen
class PartitionName:
    """What a stored file's path tells about its contents (None = not known from the path).

    The default value knows nothing: any symbol, any type, the whole time line.

    Attributes:
        symbol: the symbol every event in the file has.
        event_type: the wire tag every event in the file has.
        key: the partition key (``2026-11-24``, ``2026-11-24T14``, ``2026-11``, ``all``).
        start_ns: every event in the file is at or after this instant (ns since the epoch).
        end_ns: every event in the file is before this instant.
    """

    symbol: str | None = None
    event_type: str | None = None
    key: str | None = None
    start_ns: int = TIME_START_NS
    end_ns: int = TIME_END_NS


def partition_key(partitioning: Partitioning, ts: str) -> str:
    """The key of the partition a canonical timestamp falls in.

    Args:
        partitioning: how time is split.
        ts: a canonical timestamp.

    Returns:
        The key.

    >>> [partition_key(p, "2026-11-24T14:30:00.000000000Z") for p in Partitioning]
    ['2026-11-24', '2026-11-24T14', '2026-11', 'all']
    """
    match partitioning:
        case Partitioning.DAILY:
            return ts[:10]
        case Partitioning.HOURLY:
            return ts[:13]
        case Partitioning.MONTHLY:
            return ts[:7]
        case Partitioning.NONE:
            return "all"


def partition_bounds(partitioning: Partitioning, key: str) -> tuple[int, int] | None:
    """The time range a partition key covers, as nanoseconds since the epoch.

    Args:
        partitioning: how time is split.
        key: a key as :func:`partition_key` makes them.

    Returns:
        ``(start_ns, end_ns)``, end exclusive (``none``: the whole time line), or
        None when ``key`` is not a key of ``partitioning``.

    >>> partition_bounds(Partitioning.HOURLY, "1970-01-01T01")
    (3600000000000, 7200000000000)
    >>> partition_bounds(Partitioning.DAILY, "2026-02-30") is None
    True
    """
    match partitioning:
        case Partitioning.NONE:
            return (TIME_START_NS, TIME_END_NS) if key == "all" else None
        case Partitioning.DAILY:
            start = _start_ns(f"{key}T00:00:00.000000000Z")
            end = None if start is None else start + _NS_PER_DAY
        case Partitioning.HOURLY:
            start = _start_ns(f"{key}:00:00.000000000Z")
            end = None if start is None else start + _NS_PER_HOUR
        case Partitioning.MONTHLY:
            start = _start_ns(f"{key}-01T00:00:00.000000000Z")
            end = None if start is None else _next_month_ns(key)
    if start is None or end is None or partition_key(partitioning, from_ns(start)) != key:
        return None  # the round trip refuses spellings int() forgives, such as "+202-11"
    return start, end


def _start_ns(ts: str) -> int | None:
    return to_ns(ts) if is_canonical(ts) else None


def _next_month_ns(key: str) -> int | None:
    year, month = int(key[:4]), int(key[5:7])
    if (year, month) == (9999, 12):
        return TIME_END_NS
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return _start_ns(f"{year:04d}-{month:02d}-01T00:00:00.000000000Z")


def key_overlaps(partitioning: Partitioning, key: str, start_ns: int | None, end_ns: int | None) -> bool:
    """Whether a partition can hold events in ``[start_ns, end_ns)`` (for pruning).

    Args:
        partitioning: how time is split.
        key: the partition key; one that is not valid may hold anything.
        start_ns: inclusive lower bound, None for none.
        end_ns: exclusive upper bound, None for none.

    Returns:
        False only when the key's range and the given one do not intersect.

    >>> key_overlaps(Partitioning.DAILY, "2026-11-24", to_ns("2026-11-25T00:00:00.000000000Z"), None)
    False
    """
    bounds = partition_bounds(partitioning, key)
    return bounds is None or overlaps(bounds, start_ns, end_ns)


def overlaps(bounds: tuple[int, int], start_ns: int | None, end_ns: int | None) -> bool:
    """Whether the range ``bounds`` (end exclusive) intersects ``[start_ns, end_ns)``; None is unbounded."""
    return (start_ns is None or bounds[1] > start_ns) and (end_ns is None or bounds[0] < end_ns)


def overlapping_groups(spans: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Split time ranges into groups to merge one after another: the transitive overlaps, in time order.

    Every range of a group starts before the end of some earlier range of the
    same group, and every range of a later group starts at or after the end of
    every range of the earlier groups, so files grouped by their partitions'
    ranges can be merged group by group with only one group open at a time.

    Args:
        spans: ``(start_ns, end_ns)`` ranges, end exclusive.

    Returns:
        The indices into ``spans``, grouped; groups in time order, indices
        within a group in ascending order (the caller's tie order).

    >>> overlapping_groups([(10, 20), (0, 10), (0, 10), (15, 30), (30, 40)])
    [[1, 2], [0, 3], [4]]
    """
    groups: list[list[int]] = []
    group_end = 0
    for index in sorted(range(len(spans)), key=lambda index: (spans[index][0], index)):
        start, end = spans[index]
        if groups and start < group_end:
            groups[-1].append(index)
            group_end = max(group_end, end)
        else:
            groups.append([index])
            group_end = end
    return [sorted(group) for group in groups]


def event_path(  # noqa: PLR0917 - the six coordinates of a stored file, in the order the store knows them
    layout: Layout, partitioning: Partitioning, event_type: str, symbol: str, ts: str, suffix: str
) -> tuple[str, ...]:
    """The path of the file an event belongs to, relative to the store's root.

    Args:
        layout: how the store arranges its files.
        partitioning: how it splits time.
        event_type: the wire tag (``trade`` ...).
        symbol: the event's symbol; valid events always have a storable one.
        ts: the event's canonical timestamp.
        suffix: the file ending, one of :data:`SUFFIXES`.

    Returns:
        The path components: none of them is empty, hidden, ``.`` or ``..``, or
        holds a slash, a backslash or NUL, so the path never leaves the root.

    Raises:
        ValueError: the symbol, type or suffix cannot safely name a file (a bug in
            the caller: :func:`path_problem` says so without raising).

    >>> event_path(Layout.BY_DATE, Partitioning.DAILY, "trade", "BRK/B", "2026-11-24T14:30:00.000000000Z", ".jsonl")
    ('2026-11-24', 'BRK%2FB', 'trade.jsonl')
    """
    problem = path_problem(event_type, symbol, suffix)
    if problem is not None:
        raise ValueError(problem)
    key = partition_key(partitioning, ts)
    name = file_name(symbol)
    match layout:
        case Layout.BY_SYMBOL:
            return (name, event_type, key + suffix)
        case Layout.BY_DATE:
            return (key, name, event_type + suffix)
        case Layout.BY_TYPE:
            return (event_type, name, key + suffix)
        case Layout.FLAT:
            flat = name.replace(_FLAT_SEPARATOR, _FLAT_ESCAPE)
            return (f"{flat}{_FLAT_SEPARATOR}{event_type}{_FLAT_SEPARATOR}{key}{suffix}",)


def path_problem(event_type: str, symbol: str, suffix: str) -> str | None:
    """Say why an event cannot be given a path in a store, or None when it can.

    Args:
        event_type: the wire tag.
        symbol: the symbol.
        suffix: the file ending.

    Returns:
        None, or a reason that names the culprit.

    >>> print(path_problem("trade", "../etc", ".jsonl"))
    symbol '../etc' cannot name a file: symbol must not contain ".."
    """
    problem = symbol_problem(symbol)
    if problem is not None:
        return f"symbol {symbol!r} cannot name a file: {problem}"
    if _EVENT_TYPE.fullmatch(event_type) is None:
        return f"event type {event_type!r} cannot name a file"
    if suffix not in SUFFIXES:
        return f"file ending {suffix!r} is not one of {', '.join(SUFFIXES)}"
    return None


def is_safe_component(part: str) -> bool:
    """Whether ``part`` names an entry inside its directory: not empty, hidden, ``.``, ``..``, no separator or NUL.

    >>> [is_safe_component(part) for part in ("SPY", "..", ".mdc", "a/b", "")]
    [True, False, False, False, False]
    """
    return bool(part) and not part.startswith(".") and _UNSAFE.search(part) is None


def parse_path(layout: Layout, partitioning: Partitioning, parts: Sequence[str]) -> PartitionName | None:
    """Read symbol, type and partition from a stored file's path (inverts :func:`event_path`).

    Args:
        layout: the store's layout.
        partitioning: the store's partitioning.
        parts: the path components relative to the root, the file name last.

    Returns:
        What the path says, or None when it is not a path ``event_path`` makes.

    >>> name = parse_path(Layout.BY_SYMBOL, Partitioning.DAILY, ("BRK%2FB", "trade", "2026-11-24.jsonl.zst"))
    >>> name.symbol, name.event_type, name.key, from_ns(name.start_ns), from_ns(name.end_ns)
    ('BRK/B', 'trade', '2026-11-24', '2026-11-24T00:00:00.000000000Z', '2026-11-25T00:00:00.000000000Z')
    """
    fields = _fields(layout, parts)
    if fields is None:
        return None
    symbol_name, event_type, key = fields
    symbol = _symbol_of(symbol_name)
    bounds = partition_bounds(partitioning, key)
    if symbol is None or bounds is None or _EVENT_TYPE.fullmatch(event_type) is None:
        return None
    return PartitionName(symbol, event_type, key, *bounds)


def _fields(layout: Layout, parts: Sequence[str]) -> tuple[str, str, str] | None:
    """(symbol's file name, type, key) as the layout places them, or None when the shape is wrong."""
    if layout is Layout.FLAT:
        stem = _stem(parts[0]) if len(parts) == 1 else None
        if stem is None:
            return None
        flat, _, rest = stem.partition(_FLAT_SEPARATOR)  # the symbol part has its "_" escaped
        event_type, _, key = rest.rpartition(_FLAT_SEPARATOR)  # keys never hold "_"; types may
        return flat.replace(_FLAT_ESCAPE, _FLAT_SEPARATOR), event_type, key
    stem = _stem(parts[2]) if len(parts) == 3 else None
    if stem is None:
        return None
    match layout:
        case Layout.BY_SYMBOL:
            return parts[0], parts[1], stem
        case Layout.BY_DATE:
            return parts[1], stem, parts[0]
        case Layout.BY_TYPE:
            return parts[1], parts[0], stem


def _stem(name: str) -> str | None:
    """The file name without its store ending, or None when it has none."""
    return next((name[: -len(suffix)] for suffix in SUFFIXES if name.endswith(suffix)), None)


def _symbol_of(name: str) -> str | None:
    """The symbol a path component names, or None unless ``file_name`` makes exactly this component."""
    symbol = symbol_of_file_name(name)
    return symbol if symbol_problem(symbol) is None and file_name(symbol) == name else None


def store_settings(document: object) -> Result[tuple[Layout, Partitioning], str]:
    """The layout and partitioning a store's ``.mdc/store.json`` declares.

    Args:
        document: the decoded JSON, such as
            ``{"format_version": 1, "layout": "by-date", "partition": "hourly", ...}``.

    Returns:
        ``Success((layout, partitioning))``, or ``Failure`` saying what is wrong.
        Keys this version does not use (``format``, ``compression``) are ignored.

    >>> store_settings({"format_version": 1, "layout": "flat", "partition": "none"})
    <Success: (<Layout.FLAT: 'flat'>, <Partitioning.NONE: 'none'>)>
    >>> store_settings({"format_version": 2, "layout": "flat", "partition": "none"})
    <Failure: format_version 2 is not supported (this mdc reads 1)>
    """
    if not isinstance(document, dict):
        return Failure("is not a JSON object")
    version = document.get("format_version")
    if version != 1 or isinstance(version, bool):
        return Failure(f"format_version {version!r} is not supported (this mdc reads 1)")
    layout = document.get("layout", Layout.BY_SYMBOL.value)
    partition = document.get("partition", Partitioning.DAILY.value)
    layouts = {item.value: item for item in Layout}
    partitionings = {item.value: item for item in Partitioning}
    if not isinstance(layout, str) or layout not in layouts:
        return Failure(f"layout {layout!r} is not one of {', '.join(layouts)}")
    if not isinstance(partition, str) or partition not in partitionings:
        return Failure(f"partition {partition!r} is not one of {', '.join(partitionings)}")
    return Success((layouts[layout], partitionings[partition]))
