"""Reading stored events back: find the files, read them (plain, gzip, zstd), merge in time order.

Memory stays constant whatever the store holds: each file is read a chunk at a
time and :func:`heapq.merge` keeps one pending line per file. Files of a store
partitioned by date are merged one date at a time (a date's files cannot hold
another date's events), so only that day's files are open at once. Ties in
``ts`` keep the order the lines were stored in: within a file, file order;
across files, the files' path order.
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Final

from mdc.core.codec import decode_line, encode_event
from mdc.core.events import EVENT_TYPES
from mdc.core.framing import Frame, Framer, Oversize, Unterminated, feed, finish
from mdc.core.layout import SUFFIXES, PartitionName, parse_partition
from mdc.core.selection import LineKey, Selection, line_key
from mdc.core.validate import Policy, check

from .compression import DamagedStream, read_chunks

Warn = Callable[[str], None]
Record = tuple[bytes, bytes]
"""(ts, line) of one stored event."""

_TYPES: Final = frozenset(EVENT_TYPES)
_LENIENT: Final = Policy(max_skew_ns=2**62)


class ReplayError(Exception):
    """A path given to replay does not exist or cannot be read."""


def find_files(paths: Iterable[Path], selection: Selection) -> list[tuple[Path, PartitionName]]:
    """Every stored file under ``paths`` that may hold selected events, in path order.

    Args:
        paths: files and directories (searched recursively).
        selection: prunes files whose path rules them out.

    Returns:
        (path, what its path tells) pairs.

    Raises:
        ReplayError: a path does not exist.
    """
    found: list[tuple[Path, PartitionName]] = []
    for path in paths:
        if path.is_file():
            found.append((path, PartitionName(None, None, None)))
            continue
        if not path.is_dir():
            raise ReplayError(f"{path}: no such file or directory")
        for directory, subdirectories, names in os.walk(path):
            subdirectories.sort()
            for name in sorted(names):
                if name.endswith(SUFFIXES):
                    file = Path(directory, name)
                    partition = parse_partition(file.relative_to(path).parts, _TYPES)
                    if selection.may_contain(partition):
                        found.append((file, partition))
    return found


def replay(paths: Iterable[Path], selection: Selection, warn: Warn) -> Iterator[bytes]:
    """Yield the selected stored lines (without newline) in ``ts`` order.

    Args:
        paths: files and store roots.
        selection: what to keep.
        warn: where to report damaged or unordered input (it is skipped, not fatal).

    Yields:
        Lines in time order.
    """
    files = find_files(paths, selection)
    dated = all(partition.date is not None for _, partition in files)
    if dated:
        groups = [list(group) for _, group in itertools.groupby(sorted(files, key=_date_then_order(files)), key=_date)]
    else:
        groups = [files]
    for group in groups:
        streams = [read_records(path, selection, warn) for path, _ in group]
        for _, line in heapq.merge(*streams, key=_ts):
            yield line


def _date(item: tuple[Path, PartitionName]) -> str:
    return item[1].date or ""


def _date_then_order(
    files: list[tuple[Path, PartitionName]],
) -> Callable[[tuple[Path, PartitionName]], tuple[str, int]]:
    order = {path: index for index, (path, _) in enumerate(files)}
    return lambda item: (item[1].date or "", order[item[0]])


def _ts(record: Record) -> bytes:
    return record[0]


def read_records(path: Path, selection: Selection, warn: Warn) -> Iterator[Record]:
    """Yield the selected (ts, line) records of one file, in file order.

    Damaged lines (a torn last line, bytes that are not an event) and a
    truncated compressed stream are reported through ``warn`` and skipped.

    Args:
        path: a ``.jsonl``, ``.jsonl.gz`` or ``.jsonl.zst`` file.
        selection: what to keep.
        warn: the damage report.

    Yields:
        Records in file order.
    """
    line_no = 0
    last_ts = b""
    unordered = False
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
