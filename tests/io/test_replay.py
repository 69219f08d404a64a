"""Reading stores back: compressed files, damaged files, merge order, selection and pruning."""

from __future__ import annotations

import gzip
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner
from mdc_commands.replay import main as replay_command

from mdc.core.codec import encode_event
from mdc.core.events import Trade
from mdc.core.selection import Selection, line_key
from mdc.core.timestamps import from_ns, to_ns
from mdc.io.replay import find_files, replay, replay_records, schedule

MDC_REPLAY = Path(sys.executable).parent / "mdc-replay"

START = to_ns("2026-01-05T14:30:00.000000000Z")


def trade_line(symbol: str, offset_ns: int, seq: int) -> bytes:
    ts = from_ns(START + offset_ns)
    return encode_event(
        Trade(symbol=symbol, ts=ts, ts_recv=ts, provider="p", stream="t", seq=seq, price=1, size=1, side="buy")  # type: ignore[arg-type]
    )


def write_partition(root: Path, symbol: str, name: str, lines: list[bytes]) -> Path:
    path = root / symbol / "trade" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(line + b"\n" for line in lines)
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    elif name.endswith(".zst"):
        path.write_bytes(zstandard.ZstdCompressor().compress(data))
    else:
        path.write_bytes(data)
    return path


def collect(paths: list[Path], selection: Selection | None = None) -> tuple[list[bytes], list[str]]:
    warnings: list[str] = []
    return list(replay(paths, selection or Selection(), warnings.append)), warnings


def test_plain_gzip_and_zstd_files_merge_in_time_order(tmp_path: Path) -> None:
    """Three files in three formats interleave by ts into one ordered stream."""
    a = [trade_line("A", 3 * i, i) for i in range(50)]
    b = [trade_line("B", 3 * i + 1, i) for i in range(50)]
    c = [trade_line("C", 3 * i + 2, i) for i in range(50)]
    write_partition(tmp_path, "A", "2026-01-05.jsonl", a)
    write_partition(tmp_path, "B", "2026-01-05.jsonl.gz", b)
    write_partition(tmp_path, "C", "2026-01-05.jsonl.zst", c)
    lines, warnings = collect([tmp_path])
    assert warnings == []
    assert lines == [line for triple in zip(a, b, c, strict=True) for line in triple]


def test_ties_keep_file_order_then_stored_order(tmp_path: Path) -> None:
    """Equal timestamps come out in path order across files and line order within one."""
    first = [trade_line("A", 0, 1), trade_line("A", 0, 2)]
    second = [trade_line("B", 0, 1)]
    write_partition(tmp_path, "A", "2026-01-05.jsonl", first)
    write_partition(tmp_path, "B", "2026-01-05.jsonl", second)
    assert collect([tmp_path])[0] == [*first, *second]


def test_a_zstd_file_cut_mid_frame_keeps_its_complete_frames(tmp_path: Path) -> None:
    """A crash that tears the last zstd frame loses only that frame, and says so."""
    compressor = zstandard.ZstdCompressor()
    frames = [
        compressor.compress(b"".join(trade_line("A", i * 10 + j, i * 10 + j) + b"\n" for j in range(10)))
        for i in range(3)
    ]
    path = tmp_path / "A" / "trade" / "2026-01-05.jsonl.zst"
    path.parent.mkdir(parents=True)
    path.write_bytes(frames[0] + frames[1] + frames[2][: len(frames[2]) // 2])
    lines, warnings = collect([tmp_path])
    assert len(lines) >= 20
    assert lines[:20] == [trade_line("A", k, k) for k in range(20)]
    assert any("ends in the middle of a frame" in warning for warning in warnings)


def test_a_truncated_gzip_file_is_reported_not_fatal(tmp_path: Path) -> None:
    """A gzip stream without its end yields what decompressed and a warning."""
    data = gzip.compress(b"".join(trade_line("A", i, i) + b"\n" for i in range(2000)))
    path = tmp_path / "A" / "trade" / "2026-01-05.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(data[:-20])
    lines, warnings = collect([tmp_path])
    assert lines == [trade_line("A", i, i) for i in range(len(lines))]
    assert 1900 < len(lines) < 2000  # all but the last few lines decompressed
    assert any("ends in the middle of a frame" in warning for warning in warnings)


def test_gzip_files_of_several_members_read_whole(tmp_path: Path) -> None:
    """A file appended to in gzip members (one per flush) reads as one stream."""
    path = tmp_path / "A" / "trade" / "2026-01-05.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(gzip.compress(trade_line("A", i, i) + b"\n") for i in range(5)))
    assert collect([tmp_path]) == ([trade_line("A", i, i) for i in range(5)], [])


def test_corrupt_compressed_data_is_reported(tmp_path: Path) -> None:
    """Bytes that are no zstd at all are named as corrupt; nothing is invented."""
    path = tmp_path / "A" / "trade" / "2026-01-05.jsonl.zst"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"definitely not zstd")
    lines, warnings = collect([tmp_path])
    assert lines == []
    assert any("corrupt compressed data" in warning for warning in warnings)


def test_a_torn_last_line_and_a_garbage_line_are_skipped_with_their_place(tmp_path: Path) -> None:
    """Damage is reported as path:line and the good lines around it still come out."""
    path = write_partition(
        tmp_path, "A", "2026-01-05.jsonl", [trade_line("A", 0, 1), b"garbage", trade_line("A", 2, 2)]
    )
    with path.open("ab") as handle:
        handle.write(trade_line("A", 3, 3)[:40])
    lines, warnings = collect([tmp_path])
    assert lines == [trade_line("A", 0, 1), trade_line("A", 2, 2)]
    assert [warning.split(": ")[0] for warning in warnings] == [f"{path}:2", f"{path}:4"]


def test_selection_filters_and_prunes_by_path(tmp_path: Path) -> None:
    """Symbol globs, types and time bounds select events; whole files outside them are not even opened."""
    write_partition(tmp_path, "SPY", "2026-01-05.jsonl", [trade_line("SPY", 0, 1), trade_line("SPY", 10, 2)])
    write_partition(tmp_path, "AAPL", "2026-01-05.jsonl", [trade_line("AAPL", 5, 1)])
    write_partition(tmp_path, "SPY", "2026-01-04.jsonl", [b"this file must not be read"])
    selection = Selection(symbols=("SP*",), start=from_ns(START), end=from_ns(START + 10))
    assert [path.parent.parent.name for path, _ in find_files([tmp_path], selection)] == ["SPY"]
    lines, warnings = collect([tmp_path], selection)
    assert lines == [trade_line("SPY", 0, 1)]
    assert warnings == []


def test_symbols_with_slashes_come_back_from_their_file_names(tmp_path: Path) -> None:
    """BRK/B is stored as BRK%2FB and selected by its real name."""
    write_partition(tmp_path, "BRK%2FB", "2026-01-05.jsonl", [trade_line("BRK/B", 0, 1)])
    assert collect([tmp_path], Selection(symbols=("BRK/B",)))[0] == [trade_line("BRK/B", 0, 1)]


def test_unordered_files_are_reported(tmp_path: Path) -> None:
    """A file whose events go back in time is merged as it is and named on stderr."""
    write_partition(tmp_path, "A", "2026-01-05.jsonl", [trade_line("A", 5, 1), trade_line("A", 1, 2)])
    _, warnings = collect([tmp_path])
    assert len(warnings) == 1
    assert "not in time order" in warnings[0]


def test_line_key_reads_canonical_lines_and_refuses_others() -> None:
    """The cheap key extraction only trusts lines shaped as mdc writes them."""
    line = trade_line("SPY", 0, 1)
    assert line_key(line) == (b"2026-01-05T14:30:00.000000000Z", b"trade", b"SPY")
    assert line_key(b'{"v":1,"type":"trade"}') is None
    assert line_key(line[:-1]) is None
    assert line_key(line.replace(b'00Z"', b'00+00:00"')) is None
    assert line_key(line.replace(b"SPY", b"SP\xffY")) is None


def test_bytes_that_are_not_utf8_in_a_key_are_a_damaged_line_not_a_crash(tmp_path: Path) -> None:
    """A canonical-looking line with invalid UTF-8 in its symbol or ts is reported and skipped."""
    good = trade_line("SPY", 0, 1)
    path = write_partition(
        tmp_path, "SPY", "2026-01-05.jsonl", [good.replace(b"SPY", b"SP\xffY"), good.replace(b"0Z", b"\xffZ"), good]
    )
    lines, warnings = collect([tmp_path])
    assert lines == [good]
    assert [warning.split(": ")[0] for warning in warnings] == [f"{path}:1", f"{path}:2"]


def test_records_carry_their_ts_and_schedule_spaces_them_by_speed(tmp_path: Path) -> None:
    """replay_records yields (ts, line); schedule puts line k at (ts_k - ts_0) / speed seconds."""
    lines = [trade_line("A", i * 250_000_000, i) for i in range(5)]
    write_partition(tmp_path, "A", "2026-01-05.jsonl", lines)
    records = list(replay_records([tmp_path], Selection(), print))
    assert records == [(from_ns(START + i * 250_000_000).encode(), line) for i, line in enumerate(lines)]
    assert list(schedule(records, 2)) == [(i * 0.125, line) for i, line in enumerate(lines)]


@pytest.mark.parametrize("speed", ["-1", "nan", "inf", "fast"])
def test_a_speed_that_is_not_a_finite_number_at_least_0_is_a_usage_error(tmp_path: Path, speed: str) -> None:
    """--speed takes 0 (as fast as possible) or a positive factor; anything else exits 2."""
    result = CliRunner().invoke(replay_command, [str(tmp_path), "--speed", speed])
    assert result.exit_code == 2
    assert "--speed" in result.output


def test_speed_0_is_as_fast_as_possible(tmp_path: Path) -> None:
    """--speed 0 (the default) ignores the gaps between events."""
    write_partition(tmp_path, "A", "2026-01-05.jsonl", [trade_line("A", 0, 1), trade_line("A", 3600 * 10**9, 2)])
    result = subprocess.run([MDC_REPLAY, tmp_path, "--speed", "0"], capture_output=True, timeout=30, check=True)
    assert result.stdout.count(b"\n") == 2


def test_speed_paces_the_output_by_event_time(tmp_path: Path) -> None:
    """2 s of event time at --speed 4 takes 0.5 s (+- 0.25 s) from the first line to the last, evenly spread."""
    write_partition(tmp_path, "A", "2026-01-05.jsonl", [trade_line("A", i * 100_000_000, i) for i in range(21)])
    with subprocess.Popen([MDC_REPLAY, tmp_path, "--speed", "4"], stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        arrivals = [time.monotonic() for _ in process.stdout]
        assert process.wait(timeout=30) == 0
    assert len(arrivals) == 21
    assert math.isclose(arrivals[-1] - arrivals[0], 0.5, abs_tol=0.25)
    assert math.isclose(arrivals[10] - arrivals[0], 0.25, abs_tol=0.2)


def test_ctrl_c_ends_a_paced_replay_at_once(tmp_path: Path) -> None:
    """An hour of events in real time stops within a second of SIGINT, with status 130 and whole lines."""
    write_partition(tmp_path, "A", "2026-01-05.jsonl", [trade_line("A", i * 60 * 10**9, i) for i in range(60)])
    with subprocess.Popen([MDC_REPLAY, tmp_path, "--speed", "1"], stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == trade_line("A", 0, 0) + b"\n"
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        assert process.wait(timeout=10) == 130
        assert time.monotonic() - sent < 1.5
        assert process.stdout.read() == b""
