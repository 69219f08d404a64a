"""Sinks: where the store puts events after the WAL, file by file, frame by frame.

A sink routes each event to a partition file by the store's layout and
partitioning, appends to it in whole compressed frames (one per batch), and
tells the store which files a batch is about to touch for the first time in
the current commit interval, with their lengths, so the WAL can note them
before a single byte is appended (see :mod:`mdc.io.storage`).

The JSONL sink writes ``.jsonl`` files, compressed or not. The Parquet sink
stages open partitions as JSONL under ``.mdc/staging/`` and finalises each
into one ``.parquet`` file (atomically, merging with a file already there)
once the newest event is past the partition's end by ``close_after``, or on
``mdc-store compact``.
"""

from __future__ import annotations

import enum
import os
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Final

import attrs
from attrs import frozen

from mdc.core.errors import Violation, violation
from mdc.core.events import EVENT_TYPES, Integrity, MarketEvent, Snapshot
from mdc.core.layout import Layout, Partitioning, event_path, parse_path, partition_bounds, partition_key
from mdc.core.retention import StoredFile, expired
from mdc.core.timestamps import NS_PER_SECOND, to_ns

from .atomic import fsync_directory
from .compression import Codec, Compression, FramedAppender, content_digest
from .finalise import FinaliseError, finalise_in_child, resolve_intent

MAX_OPEN_FILES: Final = 256
STAGING: Final = (".mdc", "staging")
DAY_NS: Final = 86_400 * NS_PER_SECOND


class Format(enum.Enum):
    """How events are kept on disk (``--format``)."""

    JSONL = "jsonl"
    PARQUET = "parquet"


class SinkError(Exception):
    """A sink file is not what the commit point says it should be."""


@frozen
class SinkConfig:
    """Layout, partitioning, format and compression of a store, and its limits.

    Attributes:
        layout: the directory layout.
        partitioning: the partition length.
        format: JSONL or Parquet.
        compression: the codec for JSONL files (Parquet files always use zstd); None: what the store
            already uses, or none for a new store (resolved when the store opens).
        float_prices: Parquet prices and sizes as float64 instead of decimals.
        close_after_ns: Parquet partitions are finalised when the newest event is this far past their end.
        retention_ns: delete partitions that ended more than this long ago (None: keep all).
        max_bytes: delete the oldest partitions while the store is bigger (None: no limit).
    """

    layout: Layout = Layout.BY_SYMBOL
    partitioning: Partitioning = Partitioning.DAILY
    format: Format = Format.JSONL
    compression: Compression | None = None
    float_prices: bool = False
    close_after_ns: int = 600 * NS_PER_SECOND
    retention_ns: int | None = None
    max_bytes: int | None = None

    def fixed_settings(self) -> dict[str, object]:
        """The settings a store keeps for life (a mismatch on reopening is refused)."""
        return {
            "layout": self.layout.value,
            "partition": self.partitioning.value,
            "format": self.format.value,
            "float_prices": self.float_prices,
        }

    def settings(self) -> dict[str, object]:
        """Everything written to ``store.json``."""
        compression = self.compression or _PLAIN
        return {**self.fixed_settings(), "compression": compression.codec.value, "level": compression.level}


class Sink:
    """Appends events to partition files; see the module docstring.

    Args:
        root: the store root.
        config: the store's settings.
        clock: the wall clock in ns (retention ages partitions by it); tests pass their own.
    """

    def __init__(self, root: Path, config: SinkConfig, clock: Callable[[], int] = time.time_ns) -> None:
        self.root = root
        self.config = config
        self.clock = clock
        self._routes: dict[tuple[str, str, str], str] = {}
        self._key_length = (
            len(partition_key(config.partitioning, "2026-01-01T00:00:00.000000000Z"))
            if (config.partitioning is not Partitioning.NONE)
            else 0
        )
        self._open: OrderedDict[str, FramedAppender] = OrderedDict()
        self._interval: set[str] = set()
        self._new_directories: set[Path] = set()
        self.newest_ns: int | None = None
        self.files_written: set[str] = set()
        self._sizes: dict[str, StoredFile] | None = None

    @property
    def refusal(self) -> Callable[[MarketEvent], Violation | None] | None:
        """A check for events this sink cannot keep exactly (Parquet), or None."""
        if self.config.format is not Format.PARQUET:
            return None
        float_prices = self.config.float_prices

        def refuse(event: MarketEvent) -> Violation | None:
            if _plainly_storable(event):
                return None
            from .parquet import unstorable  # noqa: PLC0415 - pyarrow only for the rare event the quick test doubts

            reason = unstorable(event, float_prices=float_prices)
            return None if reason is None else violation("not_storable", "$", None, reason)

        return refuse

    # ------------------------------------------------------------------ routing

    def _ending(self) -> str:
        return ".jsonl" if self.config.format is Format.PARQUET else self._compression.ending

    @property
    def _compression(self) -> Compression:
        return self.config.compression or _PLAIN

    def route(self, event: MarketEvent) -> str:
        """The path (relative to the root) of the file an event is appended to."""
        # partition keys are prefixes of the canonical timestamp; slicing spares a call per event
        cache_key = (event.TYPE, event.symbol, event.ts[: self._key_length])
        path = self._routes.get(cache_key)
        if path is None:
            parts = event_path(
                self.config.layout, self.config.partitioning, event.TYPE, event.symbol, event.ts, self._ending()
            )
            if self.config.format is Format.PARQUET:
                parts = (*STAGING, *parts)
            path = "/".join(parts)
            if len(self._routes) > 65536:
                self._routes.clear()
            self._routes[cache_key] = path
        return path

    def opening(self, batch: list[tuple[MarketEvent, bytes]]) -> list[tuple[str, int]]:
        """The files this batch touches for the first time in the interval, with their current lengths.

        Marks them touched: the caller writes these to the WAL before calling :meth:`append`.
        """
        found: list[tuple[str, int]] = []
        for event, _ in batch:
            path = self.route(event)
            if path in self._interval:
                continue
            self._interval.add(path)
            appender = self._open.get(path)
            if appender is not None:
                length = appender.size()
            else:
                try:
                    length = (self.root / path).stat().st_size
                except FileNotFoundError:
                    length = 0
            found.append((path, length))
        return found

    # ------------------------------------------------------------------ writing

    def append(self, batch: list[tuple[MarketEvent, bytes]]) -> None:
        """Append a batch, one frame per file, in the order given."""
        groups: defaultdict[str, list[bytes]] = defaultdict(list)
        newest = ""
        route = self.route
        for event, line in batch:
            groups[route(event)].append(line)
            if event.ts > newest:  # noqa: PLR1730 - canonical timestamps sort as text; a call per event costs more
                newest = event.ts
        if newest and (self.newest_ns is None or to_ns(newest) > self.newest_ns):
            self.newest_ns = to_ns(newest)
        for path, lines in groups.items():
            appender = self._appender(path)
            lines.append(b"")
            appender.write(b"\n".join(lines))
            appender.flush()

    def _appender(self, path: str) -> FramedAppender:
        appender = self._open.get(path)
        if appender is not None:
            self._open.move_to_end(path)
            return appender
        if len(self._open) >= MAX_OPEN_FILES:
            oldest_path, oldest = self._open.popitem(last=False)
            if oldest_path in self._interval:
                oldest.sync()
            oldest.close()
        target = self.root / path
        if not target.parent.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            self._new_directories.add(target.parent)
        appender = FramedAppender(target, self._compression if self.config.format is Format.JSONL else _PLAIN)
        self._open[path] = appender
        self.files_written.add(path)
        return appender

    def truncate(self, path: str, length: int) -> None:
        """Cut a file back to the length the WAL noted before the crashed interval touched it.

        Raises:
            SinkError: the file is shorter than noted, or missing though it had data.
        """
        appender = self._open.pop(path, None)
        if appender is not None:
            appender.close()
        target = self.root / path
        try:
            size = target.stat().st_size
        except FileNotFoundError:
            if length == 0:
                return
            raise SinkError(f"{target}: missing, but the WAL says it held {length} bytes") from None
        if size < length:
            raise SinkError(
                f"{target}: {size} bytes, but the WAL says it held {length}; it was changed behind the store"
            )
        if size > length:
            os.truncate(target, length)

    def flush(self, *, sync: bool) -> None:
        """End every pending frame; with ``sync``, fsync the files touched in this interval and new directories."""
        for path in list(self._interval):
            appender = self._open.get(path)
            if appender is not None:
                appender.flush()
                if sync:
                    appender.sync()
        if sync:
            for directory in sorted(self._new_directories, key=lambda item: len(item.parts), reverse=True):
                fsync_directory(directory)
                fsync_directory(directory.parent)
            self._new_directories.clear()

    def end_interval(self) -> None:
        """A commit happened: the next touch of any file starts a new interval for it."""
        self._interval.clear()

    def after_commit(self, now_ns: int | None = None) -> list[str]:
        """Work that needs committed data: Parquet finalisation and retention.

        Args:
            now_ns: the wall clock (for retention), read when not given.

        Returns:
            What was deleted by retention (paths relative to the root).
        """
        if self.config.format is Format.PARQUET:
            self.finalise(everything=False)
        if self.config.retention_ns is None and self.config.max_bytes is None:
            return []
        return self._apply_retention(self.clock() if now_ns is None else now_ns)

    def finish(self) -> None:
        """The input has ended and everything is committed: finalise every staged Parquet partition.

        A partition that receives more events later (another run) is finalised
        again, merging them into its Parquet file.
        """
        if self.config.format is Format.PARQUET:
            self.finalise(everything=True)

    # ------------------------------------------------------------------ Parquet

    def finalise(self, *, everything: bool) -> list[str]:
        """Turn staged partitions into Parquet files: those closed by time, or all with ``everything``.

        Returns:
            The Parquet files written (relative paths).
        """
        staging_root = self.root.joinpath(*STAGING)
        if not staging_root.is_dir():
            return []
        jobs: list[tuple[str, str, str]] = []
        for staged in sorted(staging_root.rglob("*.jsonl")):
            relative = staged.relative_to(staging_root)
            name = parse_path(self.config.layout, self.config.partitioning, relative.parts)
            if name is None or name.event_type is None:
                continue
            closed = self.newest_ns is not None and name.end_ns + self.config.close_after_ns <= self.newest_ns
            if not (everything or closed):
                continue
            path = "/".join((*STAGING, *relative.parts))
            if path in self._interval:
                continue  # holds uncommitted events
            appender = self._open.pop(path, None)
            if appender is not None:
                appender.close()
            target = "/".join((*relative.parts[:-1], relative.name.removesuffix(".jsonl") + ".parquet"))
            jobs.append((path, target, name.event_type))
        try:
            finalise_in_child(self.root, jobs, float_prices=self.config.float_prices)
        except FinaliseError as error:
            raise SinkError(f"{self.root}: finalising Parquet partitions failed: {error}") from error
        for path, _, _ in jobs:
            _remove_empty_directories((self.root / path).parent, staging_root)
        return [target for _, target, _ in jobs]

    def recover(self) -> None:
        """Finish or undo a Parquet finalisation that a crash interrupted."""
        resolve_intent(self.root)

    # ------------------------------------------------------------------ retention

    def _inventory(self) -> dict[str, StoredFile]:
        files: dict[str, StoredFile] = {}
        for path in _data_files(self.root):
            relative = path.relative_to(self.root)
            parts = relative.parts[2:] if relative.parts[:2] == STAGING else relative.parts
            name = parse_path(self.config.layout, self.config.partitioning, parts)
            if name is not None:
                files[str(relative)] = StoredFile(str(relative), name.start_ns, name.end_ns, path.stat().st_size)
        return files

    def _apply_retention(self, now_ns: int) -> list[str]:
        files = self._inventory()
        protected = set(self._interval)
        if files:
            # the open partition: the one holding the newest event seen, or else the newest the store holds
            newest = self.newest_ns if self.newest_ns is not None else max(stored.start_ns for stored in files.values())
            protected |= {path for path, stored in files.items() if stored.start_ns <= newest < stored.end_ns}
        doomed = expired(files.values(), now_ns, self.config.retention_ns, self.config.max_bytes, frozenset(protected))
        for stored in doomed:
            appender = self._open.pop(stored.path, None)
            if appender is not None:
                appender.close()
            (self.root / stored.path).unlink(missing_ok=True)
        return [stored.path for stored in doomed]

    def close(self) -> None:
        """Close every open file (after the store's final commit)."""
        while self._open:
            _, appender = self._open.popitem(last=False)
            appender.close()


_PLAIN: Final = Compression(Codec.NONE)


_TS_FIRST: Final = "1677-09-21T00:12:43.145224193Z"  # what int64 nanoseconds can hold
_TS_LAST: Final = "2262-04-11T23:47:16.854775807Z"
_SEQ_LIMIT: Final = 1 << 63


def _decimal_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls) if "Decimal" in str(f.type) and "tuple" not in str(f.type))


_DECIMALS: Final = {cls: _decimal_fields(cls) for cls in EVENT_TYPES.values()}


def _plainly_storable(event: MarketEvent) -> bool:
    """A quick test that an event fits Parquet as it is (9 fraction digits, int64 times and numbers).

    False sends the event to the full check, which says what does not fit.
    """
    if not (_TS_FIRST <= event.ts <= _TS_LAST and _TS_FIRST <= event.ts_recv <= _TS_LAST):
        return False
    if event.seq is not None and event.seq >= _SEQ_LIMIT:
        return False
    for name in _DECIMALS[type(event)]:
        value = getattr(event, name)
        if value is not None and not _plain_decimal(value):
            return False
    if isinstance(event, Snapshot):
        return all(
            _plain_decimal(price) and _plain_decimal(size) for side in (event.bids, event.asks) for price, size in side
        )
    return not isinstance(event, Integrity)


def _plain_decimal(value: Decimal) -> bool:
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -9 and value.adjusted() < 28


def make_sink(root: Path, config: SinkConfig, clock: Callable[[], int] = time.time_ns) -> Sink:
    """The sink for a store's settings."""
    return Sink(root, config, clock)


def _data_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, names in os.walk(root):
        if Path(directory) == root:
            subdirectories[:] = [name for name in subdirectories if name != ".mdc"]
            staging = root.joinpath(*STAGING)
            if staging.is_dir():
                yield from staging.rglob("*.jsonl")
        for name in names:
            if name.endswith((".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.lz4", ".parquet")):
                yield Path(directory, name)


def _remove_empty_directories(directory: Path, stop: Path) -> None:
    """Remove ``directory`` and its parents while they are empty, up to (not including) ``stop``."""
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


__all__ = ["Format", "Sink", "SinkConfig", "SinkError", "content_digest", "make_sink", "partition_bounds"]
