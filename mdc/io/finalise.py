"""Finalising staged Parquet partitions, in a child process of the store.

A store writes open Parquet partitions as JSONL under ``.mdc/staging/`` and
turns each into its ``.parquet`` file when the partition closes. That work
needs pyarrow (with pandas, which it imports on its first conversion) and a
few tens of megabytes of working memory per file; done in the long-running
store process it would hold both for good. :func:`finalise_in_child` runs
:func:`finalise_files` in a fresh Python instead, which ends when its files are
done, so the store stays small whatever it writes.

Each file is finalised crash-safely: an intent file records the target's
digest before the write, the Parquet file (merged with any already there)
is written atomically, and only then are the staged file and the intent
removed; :func:`resolve_intent` finishes or undoes what a crash interrupted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from .atomic import fsync_directory, write_atomically
from .compression import read_chunks

INTENT: Final = ("finalise.json",)
ROW_GROUP_BYTES: Final = 24 << 20
"""Row groups of finalised partitions close at this much column memory."""


class FinaliseError(Exception):
    """A staged partition could not be finalised (the staged file is kept)."""


def finalise_in_child(root: Path, jobs: list[tuple[str, str, str]], *, float_prices: bool) -> None:
    """Finalise staged files in a child Python process.

    Args:
        root: the store root.
        jobs: (staged path, target path, event type), paths relative to the root.
        float_prices: write float64 instead of decimals.

    Raises:
        FinaliseError: the child failed; its message says why.
    """
    if not jobs:
        return
    request = json.dumps({"root": str(root), "jobs": jobs, "float_prices": float_prices})
    result = subprocess.run(
        [sys.executable, "-m", "mdc.io.finalise"],
        input=request.encode(),
        capture_output=True,
        check=False,
        env=None,
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise FinaliseError(message[-1] if message else f"finalising exited with {result.returncode}")


def finalise_files(root: Path, jobs: list[tuple[str, str, str]], *, float_prices: bool) -> None:
    """Finalise staged files in this process (what the child runs)."""
    from .parquet import parquet_digest, read_lines, write_parquet  # noqa: PLC0415 - pyarrow only here

    intent = root.joinpath(".mdc", *INTENT)
    for staged_path, target_path, event_type in jobs:
        staged, target = root / staged_path, root / target_path
        before = parquet_digest(target) if target.exists() else None
        write_atomically(
            intent,
            json.dumps({"staging": staged_path, "target": target_path, "before": before and list(before)}).encode(),
        )
        old = read_lines(target) if before is not None else iter(())
        target.parent.mkdir(parents=True, exist_ok=True)
        write_parquet(
            _chain(old, _lines_of(staged)),
            event_type,
            target,
            float_prices=float_prices,
            row_group_bytes=ROW_GROUP_BYTES,
        )
        staged.unlink()
        fsync_directory(staged.parent)
        intent.unlink()


def resolve_intent(root: Path) -> None:
    """Finish or undo a finalisation a crash interrupted.

    If the target's digest changed since the intent was written, the new
    Parquet file holds the staged events and the staged file can go;
    otherwise the write never landed and the staged file stays for next time.
    """
    intent = root.joinpath(".mdc", *INTENT)
    if not intent.exists():
        return
    from .parquet import parquet_digest  # noqa: PLC0415 - pyarrow only when there is something to resolve

    plan = json.loads(intent.read_text())
    target = root / plan["target"]
    now = list(parquet_digest(target)) if target.exists() else None
    if now is not None and now != plan["before"]:
        (root / plan["staging"]).unlink(missing_ok=True)
    intent.unlink()


def _lines_of(path: Path) -> Iterator[bytes]:
    pending = b""
    for chunk in read_chunks(path):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield from (line for line in lines if line)
    if pending:
        yield pending


def _chain(first: Iterator[bytes], second: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from second


def _main() -> None:
    request = json.loads(sys.stdin.buffer.read())
    jobs = [(str(staged), str(target), str(kind)) for staged, target, kind in request["jobs"]]
    try:
        finalise_files(Path(request["root"]), jobs, float_prices=bool(request["float_prices"]))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which turns it into a message
        sys.stderr.write(f"{type(error).__name__}: {error}\n")
        sys.exit(1)


if __name__ == "__main__":
    _main()
