"""The JSONL store: appends events to ``{root}/{symbol}/{type}/{date}.jsonl``.

A first cut (issue 3 adds the write-ahead log, layouts, compression and Parquet):
each batch is grouped by partition file and appended with one write per file,
files stay open in a bounded LRU, every batch is flushed to the OS, and
:meth:`JsonlStore.close` fsyncs what it wrote.
"""

from __future__ import annotations

import os
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import BinaryIO, Final

from mdc.core.events import MarketEvent
from mdc.core.layout import relative_path

MAX_OPEN_FILES: Final = 128
MAX_CACHED_PATHS: Final = 65536


class StoreError(Exception):
    """The store cannot be opened or written (the message says where and why)."""


class JsonlStore:
    """Appends events to daily JSONL partitions under ``root``.

    Args:
        root: the store's root directory (created when missing).
        max_open: how many partition files stay open at once.

    Raises:
        StoreError: the root exists but is not a directory, or cannot be created or written.
    """

    def __init__(self, root: Path, max_open: int = MAX_OPEN_FILES) -> None:
        self.root = root
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root}: the store root exists and is not a directory")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{root}: cannot create the store root: {error.strerror}") from error
        if not os.access(root, os.W_OK | os.X_OK):
            raise StoreError(f"{root}: the store root is not writable")
        self._open: OrderedDict[Path, BinaryIO] = OrderedDict()
        self._written: set[Path] = set()
        self._max_open = max_open
        self._paths: dict[tuple[str, str, str], Path] = {}
        self.events = 0

    def write(self, events: list[tuple[MarketEvent, bytes]]) -> None:
        """Append a batch of events, flushing every file it touched.

        Args:
            events: valid events (canonical timestamps, valid symbols), each with
                its line as it should be stored (see ``mdc.core.pipeline.check_lines``).
        """
        groups: defaultdict[Path, list[bytes]] = defaultdict(list)
        paths = self._paths
        for event, line in events:
            key = (event.TYPE, event.symbol, event.ts[:10])
            path = paths.get(key)
            if path is None:
                if len(paths) > MAX_CACHED_PATHS:
                    paths.clear()
                path = paths[key] = self.root.joinpath(*relative_path(event.TYPE, event.symbol, event.ts))
            groups[path].append(line)
        for path, lines in groups.items():
            handle = self._handle(path)
            lines.append(b"")
            handle.write(b"\n".join(lines))
            handle.flush()
        self.events += len(events)

    @property
    def files(self) -> int:
        """How many partition files this store has written to."""
        return len(self._written)

    def _handle(self, path: Path) -> BinaryIO:
        handle = self._open.get(path)
        if handle is not None:
            self._open.move_to_end(path)
            return handle
        if len(self._open) >= self._max_open:
            _, oldest = self._open.popitem(last=False)
            _close(oldest)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("ab")
        self._open[path] = handle
        self._written.add(path)
        return handle

    def close(self) -> None:
        """Flush, fsync and close every open file."""
        while self._open:
            _, handle = self._open.popitem(last=False)
            _close(handle)


def _close(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
