"""mdc-store under kill -9, a full disk, a second writer and damaged logs: nothing acknowledged is lost.

Acknowledgement (see mdc-store(1)): with ``--ack-fd N`` the store writes the
number of input lines it has made safe to descriptor N each time it grows; a
line is safe once its event is in the write-ahead log on stable storage (under
``--sync every`` after its own fsync), or once it was rejected or skipped as a
duplicate.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from mdc.core.codec import encode_event
from mdc.core.events import Trade
from mdc.core.timestamps import from_ns, to_ns

BIN = Path(sys.executable).parent
BASE = to_ns("2026-01-05T14:30:00.000000000Z")


def numbered(count: int, symbol: str = "CRASH") -> bytes:
    """Events 1..count, one per line, each with its number as seq and in its trade id."""
    lines = []
    for number in range(1, count + 1):
        ts = from_ns(BASE + number * 1_000_000)
        lines.append(
            encode_event(
                Trade(
                    symbol=symbol,
                    ts=ts,
                    ts_recv=ts,
                    provider="gen",
                    stream="numbers",
                    seq=number,
                    price=10,  # type: ignore[arg-type]
                    size=number,  # type: ignore[arg-type]
                    side="buy",
                    trade_id=str(number),
                )
            )
        )
    return b"\n".join(lines) + b"\n"


def stored_numbers(root: Path) -> Counter[int]:
    """How many times each seq is in the store, read back through mdc-replay."""
    out = subprocess.run([str(BIN / "mdc-replay"), str(root)], capture_output=True, check=True).stdout
    return Counter(json.loads(line)["seq"] for line in out.splitlines())


class Feeder:
    """Runs mdc-store on a root, feeds it the source, records every acknowledgement."""

    def __init__(self, root: Path, source: bytes, *extra: str, hold_open: bool = False) -> None:
        self.read_end, write_end = os.pipe()
        self.process = subprocess.Popen(
            [str(BIN / "mdc-store"), "--root", str(root), "--ack-fd", str(write_end), "-q", *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write_end,),
        )
        os.close(write_end)
        self.acknowledged = 0
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()
        self._writer = threading.Thread(target=self._feed, args=(source, hold_open), daemon=True)
        self._writer.start()

    def _feed(self, source: bytes, hold_open: bool) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            for start in range(0, len(source), 4096):
                self.process.stdin.write(source[start : start + 4096])
                self.process.stdin.flush()
            if not hold_open:
                self.process.stdin.close()

    def wait_for(self, acknowledged: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.acknowledged < acknowledged:
            assert time.monotonic() < deadline, f"only {self.acknowledged} of {acknowledged} acknowledged"
            time.sleep(0.02)

    def _read_acks(self) -> None:
        with os.fdopen(self.read_end, "rb") as acks:
            for line in acks:
                self.acknowledged = max(self.acknowledged, int(line))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(timeout=30)
        self._writer.join(timeout=30)
        for stream in (self.process.stdin, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def finish(self) -> int:
        self._writer.join(timeout=120)
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        assert self.process.stderr is not None
        err = self.process.stderr.read()
        self.process.stderr.close()
        self.process.wait(timeout=120)
        self._reader.join(timeout=30)
        assert b"Traceback" not in err, err.decode()
        return self.process.returncode


@pytest.mark.slow
def test_kill_9_twenty_times_loses_nothing_acknowledged_and_stores_everything_once(tmp_path: Path) -> None:
    """20+ kill -9 at random moments, each restart re-fed from the start: no acknowledged event is
    ever missing, and once the source has gone through completely every event is stored exactly once."""
    count = 60_000
    source = numbered(count)
    root = tmp_path / "store"
    rng = random.Random(20261125)
    kills = 0
    acknowledged_ever = 0
    while kills < 22:
        feeder = Feeder(root, source, "--sync", "every")
        time.sleep(rng.uniform(0.05, 0.6))
        if feeder.process.poll() is not None:
            break  # it finished the whole source before the kill came
        feeder.kill()
        kills += 1
        stored = stored_numbers(root)
        acknowledged_ever = max(acknowledged_ever, feeder.acknowledged)
        missing = [number for number in range(1, feeder.acknowledged + 1) if stored[number] == 0]
        assert missing == [], f"kill {kills}: acknowledged {feeder.acknowledged} but {len(missing)} missing"
    assert kills >= 20
    assert acknowledged_ever > 0
    feeder = Feeder(root, source, "--sync", "every")
    assert feeder.finish() == 0
    assert feeder.acknowledged == count
    stored = stored_numbers(root)
    assert sorted(stored) == list(range(1, count + 1))
    assert set(stored.values()) == {1}


def test_a_re_run_from_the_source_stores_nothing_twice(tmp_path: Path) -> None:
    """Feeding the same events again skips them all and says so."""
    source = numbered(500)
    root = tmp_path / "store"
    for _ in range(2):
        result = subprocess.run(
            [str(BIN / "mdc-store"), "--root", str(root)], input=source, capture_output=True, check=False
        )
        assert result.returncode == 0
    assert b"stored 0, duplicates skipped 500" in result.stderr
    assert set(stored_numbers(root).values()) == {1}


def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    """Two mdc-store on one root: the second says who holds it and exits 74; the first goes on."""
    root = tmp_path / "store"
    first = subprocess.Popen(
        [str(BIN / "mdc-store"), "--root", str(root)], stdin=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(1.0)
    second = subprocess.run([str(BIN / "mdc-store"), "--root", str(root)], input=b"", capture_output=True, check=False)
    assert second.returncode == 74
    assert f"another mdc-store (pid {first.pid}) is writing this store".encode() in second.stderr
    _, err = first.communicate(numbered(10), timeout=30)
    assert first.stderr is not None
    assert first.returncode == 0, err
    assert sorted(stored_numbers(root)) == list(range(1, 11))


def test_a_torn_wal_tail_is_cut_and_reported(tmp_path: Path) -> None:
    """A record half written when the machine died is reported and dropped, never stored as data."""
    root = tmp_path / "store"
    feeder = Feeder(root, numbered(3000), "--sync", "every", "--commit-seconds", "1000", hold_open=True)
    feeder.wait_for(3000)
    feeder.kill()
    segments = sorted((root / ".mdc" / "wal").glob("*.wal"))
    with segments[-1].open("ab") as segment:
        segment.write(b"\x40\x00\x00\x00\x01garbage-that-is-not-a-record")
    result = subprocess.run([str(BIN / "mdc-store"), "--root", str(root)], input=b"", capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    assert b"cut a torn tail of" in result.stderr
    stored = stored_numbers(root)
    assert all(stored[number] == 1 for number in range(1, feeder.acknowledged + 1))


def test_a_corrupt_wal_segment_stops_the_store_and_changes_nothing(tmp_path: Path) -> None:
    """Damage in the middle of the log is not guessed around: a clear message, exit 74, files untouched."""
    root = tmp_path / "store"
    feeder = Feeder(
        root, numbered(20_000), "--sync", "none", "--commit-seconds", "1000", "--wal-segment-mb", "1", hold_open=True
    )
    feeder.wait_for(20_000)
    feeder.kill()
    segments = sorted((root / ".mdc" / "wal").glob("*.wal"))
    assert len(segments) >= 3
    data = bytearray(segments[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    segments[0].write_bytes(bytes(data))
    before = {path: path.stat().st_size for path in root.rglob("*.jsonl")}
    result = subprocess.run([str(BIN / "mdc-store"), "--root", str(root)], input=b"", capture_output=True, check=False)
    assert result.returncode == 74
    assert b"damaged record" in result.stderr
    assert b"the WAL needs attention" in result.stderr
    assert {path: path.stat().st_size for path in root.rglob("*.jsonl")} == before


def test_settings_of_an_existing_store_are_kept(tmp_path: Path) -> None:
    """Reopening a store with another layout is refused with what it was created with."""
    root = tmp_path / "store"
    subprocess.run([str(BIN / "mdc-store"), "--root", str(root), "--layout", "by-date"], input=b"", check=True)
    result = subprocess.run(
        [str(BIN / "mdc-store"), "--root", str(root), "--layout", "flat"], input=b"", capture_output=True, check=False
    )
    assert result.returncode == 74
    assert b"created with layout by-date (asked for flat)" in result.stderr


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> object:
    """A tmpfs of `size` mounted at `path` (root only; skips otherwise)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here to fill a disk: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_stops_cleanly_and_a_restart_recovers_everything_acknowledged(tmp_path: Path) -> None:
    """ENOSPC: a clear message and exit 74, the WAL stays consistent; once space returns, a re-run from
    the source stores every event exactly once and every acknowledged one was never lost."""
    count = 40_000
    source = numbered(count)
    with small_disk(tmp_path / "disk", "3m") as disk:
        root = disk / "store"
        feeder = Feeder(root, source, "--sync", "batch")
        assert feeder.finish() == 74
        assert feeder.process.returncode == 74
        acknowledged = feeder.acknowledged
        assert 0 < acknowledged < count
        stored = stored_numbers(root)
        assert all(stored[number] == 1 for number in range(1, acknowledged + 1))
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        again = Feeder(root, source, "--sync", "batch")
        assert again.finish() == 0
        stored = stored_numbers(root)
        assert sorted(stored) == list(range(1, count + 1))
        assert set(stored.values()) == {1}


def test_the_disk_full_message_says_what_is_safe(tmp_path: Path) -> None:
    """The message names the device problem, what was acknowledged and how to recover."""
    with small_disk(tmp_path / "disk", "1m") as disk:
        result = subprocess.run(
            [str(BIN / "mdc-store"), "--root", str(disk / "store")],
            input=numbered(20_000),
            capture_output=True,
            check=False,
        )
    assert result.returncode == 74
    message = result.stderr.decode()
    assert "no space left on device" in message
    assert "input lines acknowledged so far are safe" in message
    assert "run mdc-store on" in message
    assert "Traceback" not in message


# Linux keeps a process's peak RSS across exec, so a child forked from this (large) test process
# would report our peak, not its own: a small Python in between forks and execs the store.
_PEAK_RSS = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


@pytest.mark.slow
@pytest.mark.parametrize("options", [["--compress", "zstd"], ["--format", "parquet"]], ids=["zstd", "parquet"])
def test_the_store_stays_under_200_mb(tmp_path: Path, options: list[str]) -> None:
    """Peak resident memory of mdc-store stays under 200 MB for a long stream, JSONL or Parquet."""
    capture = subprocess.Popen(
        [str(BIN / "mdc-capture"), "sim", "SPY", "AAPL", "MSFT", "--seed", "5", "--max-events", "300000"],
        stdout=subprocess.PIPE,
    )
    store = [str(BIN / "mdc-store"), "-q", "--root", str(tmp_path / "store"), *options]
    measured = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *store], stdin=capture.stdout, capture_output=True, check=True, text=True
    )
    assert capture.stdout is not None
    capture.stdout.close()
    capture.wait(timeout=60)
    code, peak_kb = (int(word) for word in measured.stdout.split())
    assert code == 0
    assert peak_kb < 200 * 1024, f"peak RSS {peak_kb // 1024} MB"
