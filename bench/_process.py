"""Timing whole processes: wall time and peak memory of one run, and the best of several minus start-up."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def timed(argv: list[str], stdin: Path | None = None, stdout: Path | None = None) -> tuple[float, int]:
    """Seconds of wall time and peak RSS (KiB) of one process."""
    with (
        stdin.open("rb") if stdin else open(os.devnull, "rb") as source,
        stdout.open("wb") if stdout else open(os.devnull, "wb") as sink,
    ):
        began = time.perf_counter()
        process = subprocess.Popen(argv, stdin=source, stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed with {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_maxrss


def best(argv: list[str], stdin: Path | None = None, repeat: int = 3) -> float:
    """The best of `repeat` runs, minus the process start-up time measured on empty input."""
    startup = min(timed(argv)[0] for _ in range(2)) if stdin is not None else 0.0
    return min(timed(argv, stdin)[0] for _ in range(repeat)) - startup
