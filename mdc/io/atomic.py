"""Replacing files atomically: a reader or a crash sees the old file or the new one, never a part.

The new contents go to a temporary name in the same directory (a rename is
atomic only within one file system), are fsynced, renamed over the target, and
the directory is fsynced so the rename itself survives a crash. Temporary names
start with a dot and end in ``.tmp``, so nothing that looks for store files by
their ending picks one up.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

TEMP_ENDING: Final = ".tmp"


def fsync_directory(path: Path) -> None:
    """Make the entries of a directory (files created, renamed or removed in it) durable.

    Args:
        path: a directory.

    Raises:
        OSError: it cannot be opened or synced.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_write_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    The body must create the temporary file (it does not exist yet). When the
    body returns, the file is fsynced, renamed over ``path`` and the directory
    fsynced; when it raises, ``path`` is left untouched.

    Args:
        path: the file to create or replace.

    Yields:
        A path in the same directory, unique to this call.

    Raises:
        OSError: syncing or renaming failed (``path`` is then as before the call).
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}{TEMP_ENDING}")
    renamed = False
    try:
        yield temp
        _fsync_file(temp)
        temp.replace(path)
        renamed = True
    finally:
        if not renamed:
            temp.unlink(missing_ok=True)
    fsync_directory(path.parent)


def write_atomically(path: Path, data: bytes) -> None:
    """Create or replace a file with ``data``, atomically and durably.

    Args:
        path: the file.
        data: its new contents.

    Raises:
        OSError: the file cannot be written (it is then as it was).
    """
    with atomic_write_path(path) as temp, temp.open("xb") as file:
        file.write(data)
