"""Tiers and compaction: move old partitions to cheaper storage without ever losing a record.

A JSONL partition that ended more than ``warm_after`` ago is recompressed
with the warm profile, one that ended more than ``cold_after`` ago with the
cold profile (or converted to Parquet). Every move writes the new file under
a name replay ignores, checks its record count and content checksum (for
Parquet: every event's values) against the old file, and only then puts it
in place and removes the old one. An intent file written before the swap lets
a crash at any point be finished or undone on the next run, so replay never
sees a partition twice or not at all for longer than the crash lasts.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Final

from attrs import frozen

from mdc.core.codec import decode_line
from mdc.core.layout import parse_path

from .atomic import fsync_directory, write_atomically
from .compression import Compression, codec_of, content_digest, read_chunks, recompress
from .sinks import STAGING, Format, SinkError
from .storage import STATE_DIR, Store, open_existing

RANKS: Final = {"hot": 0, "warm": 1, "cold": 2}
TIERING: Final = ".tiering"


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
        SinkError: a new file did not match the old one (nothing was removed).
    """
    store = open_existing(root)
    try:
        finish_interrupted(root)
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
    moves: list[str] = []
    for path in sorted(_jsonl_files(root)):
        relative = str(path.relative_to(root))
        name = parse_path(config.layout, config.partitioning, path.relative_to(root).parts)
        if name is None:
            continue
        age = now_ns - name.end_ns
        target = None
        if plan.cold_after_ns is not None and age >= plan.cold_after_ns:
            target = "cold"
        elif plan.warm_after_ns is not None and age >= plan.warm_after_ns:
            target = "warm"
        if target is None or RANKS[target] <= RANKS[tiers.get(relative, "hot")]:
            continue
        parquet = target == "cold" and plan.cold_parquet and config.format is Format.JSONL
        compression = plan.cold if target == "cold" else plan.warm
        destination = _destination(path, None if parquet else compression)
        moves.append(
            f"{relative} -> {destination.relative_to(root)} ({target}, {'parquet' if parquet else compression})"
        )
        if plan.dry_run:
            continue
        _move(root, path, destination, compression=compression, parquet=parquet, event_type=name.event_type or "")
        tiers.pop(relative, None)
        tiers[str(destination.relative_to(root))] = target
        write_atomically(state_path, json.dumps(tiers, indent=1, sort_keys=True).encode())
    return moves


def _jsonl_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, names in os.walk(root):
        if Path(directory) == root:
            subdirectories[:] = [name for name in subdirectories if name != STATE_DIR]
        for name in names:
            if TIERING not in name and name.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.lz4")):
                yield Path(directory, name)


def _destination(path: Path, compression: Compression | None) -> Path:
    stem = path.name[: path.name.index(".jsonl")]
    return path.with_name(stem + (".parquet" if compression is None else compression.ending))


def _temporary(destination: Path) -> Path:
    stem, dot, ending = destination.name.partition(".jsonl" if ".jsonl" in destination.name else ".parquet")
    return destination.with_name(stem + TIERING + dot + ending)


def _move(
    root: Path, source: Path, destination: Path, *, compression: Compression, parquet: bool, event_type: str
) -> None:
    temporary = _temporary(destination)
    expected = content_digest(source)
    if parquet:
        from .parquet import read_lines, write_parquet  # noqa: PLC0415 - pyarrow only when needed

        write_parquet(_lines(source), event_type, temporary)
        _check_same_events(source, read_lines(temporary), temporary)
    else:
        written = recompress(source, temporary, compression)
        if written != expected or content_digest(temporary) != expected:
            temporary.unlink(missing_ok=True)
            raise SinkError(f"{temporary}: the recompressed file does not match {source}; {source} was kept")
    intent = root / STATE_DIR / "tier-intent.json"
    write_atomically(
        intent,
        json.dumps(
            {
                "source": str(source.relative_to(root)),
                "destination": str(destination.relative_to(root)),
                "temporary": str(temporary.relative_to(root)),
            }
        ).encode(),
    )
    os.replace(temporary, destination)
    fsync_directory(destination.parent)
    if source != destination:
        source.unlink()
        fsync_directory(source.parent)
    intent.unlink()


def finish_interrupted(root: Path) -> None:
    """Complete a move a crash interrupted after its new file was verified (see the module docstring)."""
    intent = root / STATE_DIR / "tier-intent.json"
    if not intent.exists():
        return
    plan = json.loads(intent.read_text())
    source, destination, temporary = (root / plan[key] for key in ("source", "destination", "temporary"))
    if temporary.exists():
        os.replace(temporary, destination)  # it was verified before the intent was written
        fsync_directory(destination.parent)
    if source != destination and destination.exists():
        source.unlink(missing_ok=True)
        fsync_directory(source.parent)
    intent.unlink()


def _lines(path: Path) -> Iterator[bytes]:
    pending = b""
    for chunk in read_chunks(path):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield from (line for line in lines if line)
    if pending:
        yield pending


def _check_same_events(source: Path, written: Iterator[bytes], where: Path) -> None:
    for number, (old, new) in enumerate(zip_longest(_lines(source), written), start=1):
        if old is None or new is None or decode_line(old).value_or(None) != decode_line(new).value_or(None):
            where.unlink(missing_ok=True)
            raise SinkError(f"{where}: event {number} differs from {source}; {source} was kept")


__all__ = ["STAGING", "TierPlan", "codec_of", "compact_store", "finish_interrupted", "run_tiering"]
