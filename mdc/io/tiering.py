"""Tiers and compaction: move old partitions to cheaper storage without ever losing a record.

A JSONL partition that ended more than ``warm_after`` ago is rewritten with
the warm compression, one that ended more than ``cold_after`` ago with the cold
compression (or converted to Parquet). All files of a partition (a store whose
compression changed over time holds several) become one file, merged in time
order. Every move writes the new file under ``.mdc/tiering/`` (where replay
never looks), checks it against the old files — the same number of records and
the same multiset of lines, or for Parquet the same events one by one — and
only then renames it into place and removes the old files. An intent file
written before the swap lets a crash at any point be finished on the next run.
"""

from __future__ import annotations

import heapq
import json
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Final

import xxhash
from attrs import frozen

from mdc.core.codec import decode_line
from mdc.core.layout import PartitionName, event_path, parse_path
from mdc.core.selection import Selection

from .atomic import fsync_directory, write_atomically
from .compression import Compression, FramedAppender
from .replay import read_records
from .sinks import STAGING, SinkError
from .storage import STATE_DIR, Store, open_existing

RANKS: Final = {"hot": 0, "warm": 1, "cold": 2}
FRAME_LINES: Final = 16_384
_ALL: Final = Selection()


@frozen
class TierPlan:
    """What ``mdc-store tier`` is asked to do.

    Attributes:
        warm_after_ns: age (since the partition's end) from which it goes warm; None = never.
        cold_after_ns: age from which it goes cold; None = never.
        warm: the warm compression.
        cold: the cold compression (JSONL).
        cold_parquet: convert cold partitions to Parquet instead.
        dry_run: only say what would move.
    """

    warm_after_ns: int | None
    cold_after_ns: int | None
    warm: Compression
    cold: Compression
    cold_parquet: bool = False
    dry_run: bool = False


def run_tiering(root: Path, plan: TierPlan, now_ns: int | None = None) -> list[str]:
    """Move every partition that is due; returns one line per move.

    Raises:
        StoreError: the store cannot be opened (another writer holds it ...).
        SinkError: a new file did not match the old ones (nothing was removed).
    """
    store = open_existing(root)
    try:
        return _tier(store, plan, time.time_ns() if now_ns is None else now_ns)
    finally:
        store.close()


def compact_store(root: Path) -> list[str]:
    """Finalise every staged Parquet partition now; returns the files written."""
    store = open_existing(root)
    try:
        return store.sink.finalise(everything=True)
    finally:
        store.close()


def _tier(store: Store, plan: TierPlan, now_ns: int) -> list[str]:
    root = store.root
    state_path = root / STATE_DIR / "tiers.json"
    tiers: dict[str, str] = json.loads(state_path.read_text()) if state_path.exists() else {}
    config = store.sink.config
    groups: defaultdict[tuple[str, str, str], list[tuple[Path, PartitionName]]] = defaultdict(list)
    for path in sorted(_jsonl_files(root)):
        name = parse_path(config.layout, config.partitioning, path.relative_to(root).parts)
        if name is not None and name.symbol and name.event_type and name.key:
            groups[(name.symbol, name.event_type, name.key)].append((path, name))
    moves: list[str] = []
    for (symbol, event_type, _), files in sorted(groups.items()):
        name = files[0][1]
        age = now_ns - name.end_ns
        target = None
        if plan.cold_after_ns is not None and age >= plan.cold_after_ns:
            target = "cold"
        elif plan.warm_after_ns is not None and age >= plan.warm_after_ns:
            target = "warm"
        current = max(RANKS[tiers.get(str(path.relative_to(root)), "hot")] for path, _ in files)
        if target is None or (len(files) == 1 and RANKS[target] <= current):
            continue
        parquet = target == "cold" and plan.cold_parquet
        compression = plan.cold if target == "cold" else plan.warm
        ending = ".parquet" if parquet else compression.ending
        ts = _any_ts_in(name)
        destination = root.joinpath(*event_path(config.layout, config.partitioning, event_type, symbol, ts, ending))
        sources = [path for path, _ in files]
        moves.append(
            ", ".join(str(path.relative_to(root)) for path in sources)
            + f" -> {destination.relative_to(root)} ({target}, {'parquet' if parquet else compression})"
        )
        if plan.dry_run:
            continue
        _move(root, sources, destination, compression=compression, parquet=parquet, event_type=event_type)
        for path in sources:
            tiers.pop(str(path.relative_to(root)), None)
        tiers[str(destination.relative_to(root))] = target
        write_atomically(state_path, json.dumps(tiers, indent=1, sort_keys=True).encode())
    return moves


def _any_ts_in(name: PartitionName) -> str:
    from mdc.core.timestamps import from_ns  # noqa: PLC0415 - a one-off conversion

    return from_ns(name.start_ns)


def _jsonl_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, names in os.walk(root):
        if Path(directory) == root:
            subdirectories[:] = [name for name in subdirectories if name != STATE_DIR]
        for name in names:
            if name.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.lz4")):
                yield Path(directory, name)


def _merged(sources: list[Path], problems: list[str]) -> Iterator[bytes]:
    """The lines of a partition's files merged by ts (ties in file order)."""
    streams = [read_records(path, _ALL, problems.append) for path in sources]
    for _, line in heapq.merge(*streams, key=lambda record: record[0]):
        yield line


def multiset_digest(lines: Iterator[bytes]) -> tuple[int, int]:
    """(count, sum of xxh3-64 of each line mod 2**64): equal for the same lines in any order."""
    count = total = 0
    for line in lines:
        count += 1
        total = (total + xxhash.xxh3_64_intdigest(line)) & 0xFFFF_FFFF_FFFF_FFFF
    return count, total


def _move(
    root: Path, sources: list[Path], destination: Path, *, compression: Compression, parquet: bool, event_type: str
) -> None:
    temporary = root / STATE_DIR / "tiering" / destination.relative_to(root)
    temporary.parent.mkdir(parents=True, exist_ok=True)
    temporary.unlink(missing_ok=True)
    problems: list[str] = []
    if parquet:
        from .parquet import read_lines, write_parquet  # noqa: PLC0415 - pyarrow only when needed

        write_parquet(_merged(sources, problems), event_type, temporary)
        _check_same_events(_merged(sources, []), read_lines(temporary), temporary, sources)
    else:
        expected = multiset_digest(_merged(sources, problems))
        with FramedAppender(temporary, compression) as appender:
            pending = 0
            for line in _merged(sources, []):
                appender.write(line + b"\n")
                pending += 1
                if pending >= FRAME_LINES:
                    appender.flush()
                    pending = 0
            appender.flush()
            appender.sync()
        written = multiset_digest(line for _, line in read_records(temporary, _ALL, problems.append))
        if written != expected:
            temporary.unlink(missing_ok=True)
            raise SinkError(
                f"{temporary}: the new file does not hold the same lines as {_names(sources)}; they were kept"
            )
    if problems:
        temporary.unlink(missing_ok=True)
        raise SinkError(f"{_names(sources)}: damaged ({problems[0]}); not tiered, nothing changed")
    intent = root / STATE_DIR / "tier-intent.json"
    plan: dict[str, object] = {
        "sources": [str(path.relative_to(root)) for path in sources],
        "destination": str(destination.relative_to(root)),
        "temporary": str(temporary.relative_to(root)),
    }
    write_atomically(intent, json.dumps(plan).encode())
    _finish(root, plan)
    intent.unlink()


def _finish(root: Path, plan: dict[str, object]) -> None:
    listed = plan["sources"]
    sources = [root / str(path) for path in listed] if isinstance(listed, list) else []
    destination = root / str(plan["destination"])
    temporary = root / str(plan["temporary"])
    if temporary.exists():
        os.replace(temporary, destination)  # verified before the intent was written
        fsync_directory(destination.parent)
    if destination.exists():
        for source in sources:
            if source != destination:
                source.unlink(missing_ok=True)
                fsync_directory(source.parent)


def finish_interrupted(root: Path) -> None:
    """Complete a move a crash interrupted after its new file was verified (see the module docstring)."""
    intent = root / STATE_DIR / "tier-intent.json"
    if not intent.exists():
        return
    _finish(root, json.loads(intent.read_text()))
    intent.unlink()


def _names(paths: list[Path]) -> str:
    return ", ".join(str(path) for path in paths)


def _check_same_events(expected: Iterator[bytes], written: Iterator[bytes], where: Path, sources: list[Path]) -> None:
    for number, (old, new) in enumerate(zip_longest(expected, written), start=1):
        if old is None or new is None or decode_line(old).value_or(None) != decode_line(new).value_or(None):
            where.unlink(missing_ok=True)
            raise SinkError(f"{where}: event {number} differs from {_names(sources)}; they were kept")


__all__ = ["STAGING", "TierPlan", "compact_store", "finish_interrupted", "multiset_digest", "run_tiering"]
