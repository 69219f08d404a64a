"""Reading stored events back: find the files, read them (plain, gzip, zstd, lz4, Parquet), merge in time order.

A store root (a directory holding ``.mdc/``) says in ``.mdc/store.json`` how its
files are laid out; without that file the default layout
(``{symbol}/{type}/{partition}.jsonl``) is recognised by the shape of the paths.
Each file's path gives its symbol, type and partition time range, so files that
cannot hold a selected event are never opened. Parquet's open partitions, staged
as JSONL under ``.mdc/staging/``, are read with the rest; nothing else under
``.mdc/`` (the write-ahead log, the commit point) is.

Memory stays constant whatever the store holds: each file is read a chunk at a
time and :func:`heapq.merge` keeps one pending line per file. Files are merged
in groups whose partition time ranges overlap (see
:func:`mdc.core.layout.overlapping_groups`), one group after another, so only
the files of one partition's time range are open at once, whatever the layout.
Ties in ``ts`` keep the order the lines were stored in: within a file, file
order; across files, the order in which :func:`find_files` lists them.
"""

from __future__ import annotations

import heapq
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final

from attrs import frozen
from returns.result import Failure

from mdc.core.codec import decode_line, encode_event
from mdc.core.events import EVENT_TYPES
from mdc.core.framing import Frame, Framer, Oversize, Unterminated, feed, finish
from mdc.core.layout import (
    SUFFIXES,
    Layout,
    Partitioning,
    PartitionName,
    overlapping_groups,
    parse_path,
    partition_bounds,
    store_settings,
)
from mdc.core.selection import LineKey, Selection, line_key
from mdc.core.timestamps import NS_PER_SECOND, from_ns, is_canonical, to_ns
from mdc.core.validate import Policy, check

from .compression import DamagedStream, read_chunks

Warn = Callable[[str], None]
Record = tuple[bytes, bytes]
"""(ts, line) of one stored event."""
Found = tuple[Path, PartitionName]
"""A stored file and what its path tells about it."""

STATE_DIRECTORY: Final = ".mdc"
STAGING: Final = (STATE_DIRECTORY, "staging")
PARQUET_BATCH_LINES: Final = 4096
_TYPES: Final = frozenset(EVENT_TYPES)
_LENIENT: Final = Policy(max_skew_ns=2**62)
_UNKNOWN: Final = PartitionName()


class ReplayError(Exception):
    """A path given to replay does not exist or cannot be read."""


@frozen
class _Context:
    """How to read paths below a directory: relative to which base, under which settings (None: guess)."""

    parts: tuple[str, ...]
    settings: tuple[Layout, Partitioning] | None


def find_files(paths: Iterable[Path], selection: Selection) -> list[Found]:
    """Every stored file under ``paths`` that may hold selected events.

    Directories are searched recursively in name order, a directory's files
    before its subdirectories, and a store root's staging files last. A file
    given by name is read whatever its name, and its path is not interpreted.

    Args:
        paths: files and directories.
        selection: prunes files whose path rules them out.

    Returns:
        (path, what its path tells) pairs in that order.

    Raises:
        ReplayError: a path does not exist, a directory cannot be listed, or a
            store's ``.mdc/store.json`` cannot be read.
    """
    found: list[Found] = []
    for path in paths:
        if path.is_file():
            found.append((path, _UNKNOWN))
        elif path.is_dir():
            context, staged = _enclosing_context(path)
            _walk(path, context, selection, found)
            if staged is not None:
                _walk(staged, context, selection, found)
        else:
            raise ReplayError(f"{path}: no such file or directory")
    return found


def _enclosing_context(directory: Path) -> tuple[_Context, Path | None]:
    """How to read a directory given on the command line, and its staged counterpart inside a store.

    A directory inside a store root with ``store.json`` (``data/SPY``) is read by
    the store's layout, and the files staged for it (``data/.mdc/staging/SPY``)
    are read too; the root itself walks its staging directory on its own.
    """
    resolved = directory.resolve()
    for root in (resolved, *resolved.parents):
        if (root / STATE_DIRECTORY / "store.json").is_file():
            parts = resolved.relative_to(root).parts
            staged: Path | None = None
            if parts[:2] == STAGING:
                parts = parts[2:]
            elif parts and parts[0] != STATE_DIRECTORY:
                staged = root.joinpath(*STAGING, *parts)
            return _Context(parts, _read_settings(root)), staged if staged is not None and staged.is_dir() else None
    return _Context((), None), None


def _read_settings(root: Path) -> tuple[Layout, Partitioning] | None:
    """The layout a store root declares in ``.mdc/store.json``; None when it has no such file."""
    path = root / STATE_DIRECTORY / "store.json"
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ReplayError(f"{path}: {error.strerror or error}") from error
    except ValueError as error:
        raise ReplayError(f"{path}: not JSON ({error})") from error
    settings = store_settings(document)
    if isinstance(settings, Failure):
        raise ReplayError(f"{path}: {settings.failure()}")
    return settings.unwrap()


def _walk(directory: Path, context: _Context, selection: Selection, found: list[Found]) -> None:
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as error:
        raise ReplayError(f"{directory}: {error.strerror or error}") from error
    state = next((entry for entry in entries if entry.name == STATE_DIRECTORY and entry.is_dir()), None)
    if state is not None:  # a store root: its own settings, paths relative to it
        context = _Context((), _read_settings(directory))
    subdirectories: list[os.DirEntry[str]] = []
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry is not state:
                subdirectories.append(entry)
        elif entry.name.endswith(SUFFIXES) and entry.is_file():
            partition = _partition(context, (*context.parts, entry.name))
            if selection.may_contain(partition):
                found.append((Path(entry.path), partition))
    for entry in subdirectories:
        _walk(Path(entry.path), _Context((*context.parts, entry.name), context.settings), selection, found)
    staging = directory.joinpath(*STAGING)
    if state is not None and staging.is_dir():
        _walk(staging, _Context((), context.settings), selection, found)


def _partition(context: _Context, parts: tuple[str, ...]) -> PartitionName:
    """What a file's path says, by the store's declared layout or else by the default layout's shape."""
    if context.settings is not None:
        return parse_path(*context.settings, parts) or _UNKNOWN
    if len(parts) >= 3 and parts[-2] in _TYPES:
        for partitioning in Partitioning:  # keys of different partitionings never look alike
            name = parse_path(Layout.BY_SYMBOL, partitioning, parts[-3:])
            if name is not None:
                return name
    stem = parts[-1].partition(".")[0]  # a partition key alone still bounds the file's time range
    for partitioning in (Partitioning.DAILY, Partitioning.HOURLY, Partitioning.MONTHLY):
        bounds = partition_bounds(partitioning, stem)
        if bounds is not None:
            return PartitionName(None, None, stem, *bounds)
    return _UNKNOWN


def _group_streams(paths: Iterable[Path], selection: Selection, warn: Warn) -> Iterator[list[Iterator[Record]]]:
    """The record streams of the selected files, group by group, in time order (see the module docstring)."""
    files = find_files(paths, selection)
    for group in overlapping_groups([(partition.start_ns, partition.end_ns) for _, partition in files]):
        yield [read_records(files[index][0], selection, warn, files[index][1]) for index in group]


def replay(paths: Iterable[Path], selection: Selection, warn: Warn) -> Iterator[bytes]:
    """Yield the selected stored lines (without newline) in ``ts`` order.

    Args:
        paths: files and store roots.
        selection: what to keep.
        warn: where to report damaged or unordered input (it is skipped, not fatal).

    Yields:
        Lines in time order.

    Raises:
        ReplayError: see :func:`find_files`; also a file that cannot be read.
    """
    for streams in _group_streams(paths, selection, warn):
        for _, line in heapq.merge(*streams, key=_ts):
            yield line


def replay_records(paths: Iterable[Path], selection: Selection, warn: Warn) -> Iterator[Record]:
    """Like :func:`replay`, with each line's ``ts`` (for pacing, see :func:`schedule`).

    Args:
        paths: files and store roots.
        selection: what to keep.
        warn: where to report damaged or unordered input.

    Yields:
        (ts, line) records in time order.
    """
    for streams in _group_streams(paths, selection, warn):
        yield from heapq.merge(*streams, key=_ts)


def schedule(records: Iterable[Record], speed: float) -> Iterator[tuple[float, bytes]]:
    """When each line is due, replaying at ``speed`` times real time from the first event.

    Pure: the caller owns the clock and sleeps until each line is due.

    Args:
        records: (ts, line) in time order.
        speed: 1 for real time, 2 for twice as fast; must be > 0.

    Yields:
        (seconds after the first line, line); a line out of time order is due at
        once, and so is one whose ts names no real instant.

    >>> list(schedule([(b"2026-01-05T14:30:00.000000000Z", b"a"), (b"2026-01-05T14:30:02.000000000Z", b"b")], 4))
    [(0.0, b'a'), (0.5, b'b')]
    """
    first: int | None = None
    due = 0.0
    scale = NS_PER_SECOND * speed
    for ts, line in records:
        text = ts.decode()
        if is_canonical(text):  # the cheap line key does not check that ts names a real instant
            nanos = to_ns(text)
            if first is None:
                first = nanos
            due = (nanos - first) / scale
        yield due, line


def _ts(record: Record) -> bytes:
    return record[0]


def read_records(path: Path, selection: Selection, warn: Warn, partition: PartitionName = _UNKNOWN) -> Iterator[Record]:
    """Yield the selected (ts, line) records of one file, in file order.

    Damaged lines (a torn last line, bytes that are not an event) and a
    truncated compressed stream are reported through ``warn`` and skipped.
    Events outside the time range the file's path promises are kept but
    reported, since the merge trusts that range.

    Args:
        path: a ``.jsonl`` file, compressed (``.gz``, ``.zst``, ``.lz4``) or not, or a ``.parquet`` file.
        selection: what to keep.
        warn: the damage report.
        partition: what the file's path tells.

    Yields:
        Records in file order.

    Raises:
        ReplayError: the file cannot be read.
    """
    line_no = 0
    last_ts = b""
    unordered = False
    bounded = partition != _UNKNOWN
    low, high = from_ns(partition.start_ns).encode(), from_ns(partition.end_ns - 1).encode()
    for frames in _frames(path, warn):
        for frame in frames:
            line_no += 1
            if type(frame) is bytes:
                line = frame
                key = line_key(line)
            elif isinstance(frame, Unterminated):
                line, key = frame.line, None
            else:
                assert isinstance(frame, Oversize)  # noqa: S101 - the frame union has three members
                warn(f"{path}:{line_no}: line of {frame.length} bytes is too long; skipped")
                continue
            if key is None:
                decoded = _slow_key(path, line_no, line, isinstance(frame, Unterminated), warn)
                if decoded is None:
                    continue
                line, key = decoded
            ts, event_type, symbol = key
            if ts < last_ts and not unordered:
                unordered = True
                warn(f"{path}:{line_no}: events are not in time order from here; the merged output is not either")
            if bounded and (ts < low or ts > high):
                bounded = False
                warn(
                    f"{path}:{line_no}: event at {ts.decode()} lies outside the file's partition {partition.key};"
                    " the merged output may not be in time order"
                )
            last_ts = ts
            if selection.wants(ts.decode(), event_type.decode(), symbol.decode()):
                yield ts, line


def _slow_key(path: Path, line_no: int, line: bytes, unterminated: bool, warn: Warn) -> tuple[bytes, LineKey] | None:  # noqa: FBT001
    """Decode a line not in mdc's canonical form: (canonical line, key), or None after a warning."""
    result = decode_line(line)
    decoded = result.value_or(None)
    if decoded is None:
        what = "truncated last line" if unterminated else "not an event"
        reasons = "; ".join(reason.describe() for reason in result.failure())
        warn(f"{path}:{line_no}: {what}, skipped ({reasons})")
        return None
    valid = check(decoded, _LENIENT)
    if isinstance(valid, list):
        warn(f"{path}:{line_no}: invalid event, skipped ({'; '.join(reason.describe() for reason in valid)})")
        return None
    return encode_event(valid), (valid.ts.encode(), valid.TYPE.encode(), valid.symbol.encode())


def _frames(path: Path, warn: Warn) -> Iterator[list[Frame]]:
    if path.name.endswith(".parquet"):
        yield from _parquet_frames(path, warn)
        return
    framer = Framer()
    try:
        for chunk in read_chunks(path):
            framer, frames = feed(framer, chunk)
            yield frames
    except DamagedStream as damage:
        warn(f"{path}: {damage}; what came before it was read")
    except OSError as error:
        raise ReplayError(f"{path}: {error.strerror or error}") from error
    yield finish(framer)


def _parquet_frames(path: Path, warn: Warn) -> Iterator[list[Frame]]:
    """The lines of a Parquet file in batches; pyarrow is imported only when a store has Parquet files."""
    from .parquet import ParquetError, read_lines  # noqa: PLC0415 - keeps pyarrow out of JSONL-only replays

    batch: list[Frame] = []
    try:
        for line in read_lines(path):
            batch.append(line)
            if len(batch) >= PARQUET_BATCH_LINES:
                yield batch
                batch = []
    except (ParquetError, DamagedStream) as damage:
        message = str(damage)  # ParquetError names the file itself
        warn(f"{message if message.startswith(f'{path}: ') else f'{path}: {message}'}; what came before it was read")
    except OSError as error:
        raise ReplayError(f"{path}: {error.strerror or error}") from error
    yield batch
