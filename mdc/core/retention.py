"""Which stored partitions to delete under ``--retention-days`` and ``--max-bytes``: pure selection.

The store hands over what it holds (one entry per file: its partition's time
range and its size) and what must be kept whatever the limits say: files
written since the last commit, and every file of the open partition (the one
holding the newest event). Oldest partitions go first; all files of a partition
go together, so a partition is never left half deleted.

>>> files = [StoredFile("a", 0, 10, 5), StoredFile("b", 10, 20, 5), StoredFile("c", 20, 30, 5)]
>>> [f.path for f in expired(files, now_ns=100, retention_ns=85, max_bytes=None, protected=frozenset())]
['a']
>>> [f.path for f in expired(files, now_ns=0, retention_ns=None, max_bytes=6, protected=frozenset({"c"}))]
['a', 'b']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby

from attrs import frozen


@frozen
class StoredFile:
    """One file of the store.

    Attributes:
        path: its path relative to the root.
        start_ns: the start of its partition's time range.
        end_ns: the end (exclusive) of its partition's time range.
        size: its size in bytes.
    """

    path: str
    start_ns: int
    end_ns: int
    size: int


def expired(
    files: Iterable[StoredFile],
    now_ns: int,
    retention_ns: int | None,
    max_bytes: int | None,
    protected: frozenset[str],
) -> list[StoredFile]:
    """The files to delete, oldest partition first.

    Args:
        files: everything the store holds.
        now_ns: the current time (the clock comes in as data).
        retention_ns: keep partitions that end within this long before now; None = no age limit.
        max_bytes: keep the store at most this big; None = no size limit.
        protected: paths that must not be deleted (uncommitted, or in the open partition);
            a partition with any protected file is kept whole.

    Returns:
        The files to delete.
    """
    partitions: list[Sequence[StoredFile]] = [
        list(group) for _, group in groupby(sorted(files, key=_partition), key=_partition)
    ]
    total = sum(stored.size for partition in partitions for stored in partition)
    doomed: list[StoredFile] = []
    for partition in partitions:
        if any(stored.path in protected for stored in partition):
            continue
        too_old = retention_ns is not None and partition[0].end_ns <= now_ns - retention_ns
        too_big = max_bytes is not None and total > max_bytes
        if not (too_old or too_big):
            break  # newer partitions are younger, and the store already fits
        doomed.extend(partition)
        total -= sum(stored.size for stored in partition)
    return doomed


def _partition(stored: StoredFile) -> tuple[int, int]:
    return stored.start_ns, stored.end_ns
