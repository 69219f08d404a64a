"""The write-ahead log: framing, checksums, rotation, torn tails, corruption."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdc.io.wal import (
    HEADER_BYTES,
    KIND_EVENT,
    KIND_OPEN,
    Checksum,
    Position,
    SyncMode,
    WalCorrupt,
    WalWriter,
    read,
    segment_numbers,
    segment_path,
    tail,
)

START = Position(0, 0)


def payloads(directory: Path, start: Position = START) -> list[bytes]:
    return [record.payload for record in read(directory, start)]


@pytest.mark.parametrize("checksum", list(Checksum))
@pytest.mark.parametrize("sync", list(SyncMode))
def test_records_come_back_in_order(tmp_path: Path, checksum: Checksum, sync: SyncMode) -> None:
    """Whatever the checksum and sync mode, records read back exactly, with their kinds."""
    writer = WalWriter(tmp_path, START, checksum=checksum, sync=sync)
    writer.append([(KIND_OPEN, b'{"path":"x"}'), (KIND_EVENT, b"one")])
    writer.append([(KIND_EVENT, b"two")])
    writer.close()
    records = list(read(tmp_path, START))
    assert [(record.kind, record.payload) for record in records] == [
        (KIND_OPEN, b'{"path":"x"}'),
        (KIND_EVENT, b"one"),
        (KIND_EVENT, b"two"),
    ]
    assert records[-1].end == writer.position


def test_segments_rotate_by_size_and_read_as_one_log(tmp_path: Path) -> None:
    """A small segment size makes many files; reading crosses them seamlessly."""
    writer = WalWriter(tmp_path, START, segment_bytes=200)
    for number in range(50):
        writer.append([(KIND_EVENT, b"event %d" % number)])
    writer.close()
    assert len(segment_numbers(tmp_path)) > 5
    assert payloads(tmp_path) == [b"event %d" % number for number in range(50)]


def test_reading_from_a_position_skips_what_came_before(tmp_path: Path) -> None:
    """A committed position is where recovery starts."""
    writer = WalWriter(tmp_path, START)
    middle = writer.append([(KIND_EVENT, b"a"), (KIND_EVENT, b"b")])
    writer.append([(KIND_EVENT, b"c")])
    writer.close()
    assert payloads(tmp_path, middle) == [b"c"]


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=8), st.data())
def test_a_torn_tail_is_cut_and_never_read_as_data(records: list[bytes], data: st.DataObject) -> None:
    """Cutting the last segment anywhere yields a prefix of the records, and the writer drops the torn bytes."""
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        writer = WalWriter(directory, START, sync=SyncMode.NONE)
        writer.append([(KIND_EVENT, record) for record in records])
        writer.close()
        path = segment_path(directory, 0)
        size = path.stat().st_size
        cut = data.draw(st.integers(HEADER_BYTES, size))
        os.truncate(path, cut)
        read_back = payloads(directory)
        assert read_back == records[: len(read_back)]
        end, torn = tail(directory, START)
        assert end.offset + torn == cut
        again = WalWriter(directory, end, sync=SyncMode.NONE)
        again.append([(KIND_EVENT, b"after")])
        again.close()
        assert payloads(directory) == [*read_back, b"after"]


def test_a_flipped_bit_stops_the_read_at_that_record(tmp_path: Path) -> None:
    """A checksum mismatch in the last segment ends the good log there."""
    writer = WalWriter(tmp_path, START)
    writer.append([(KIND_EVENT, b"first"), (KIND_EVENT, b"second"), (KIND_EVENT, b"third")])
    writer.close()
    path = segment_path(tmp_path, 0)
    data = bytearray(path.read_bytes())
    data[data.index(b"second")] ^= 0x01
    path.write_bytes(bytes(data))
    assert payloads(tmp_path) == [b"first"]


def test_damage_in_an_earlier_segment_is_corruption(tmp_path: Path) -> None:
    """Only the last segment may have a torn tail; damage before it must stop the store."""
    writer = WalWriter(tmp_path, START, segment_bytes=100)
    for number in range(20):
        writer.append([(KIND_EVENT, b"event number %d" % number)])
    writer.close()
    first = segment_path(tmp_path, segment_numbers(tmp_path)[0])
    data = bytearray(first.read_bytes())
    data[-3] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(WalCorrupt, match="not the last"):
        payloads(tmp_path)


def test_a_file_that_is_not_a_wal_is_refused(tmp_path: Path) -> None:
    """A segment with the wrong magic is not read as records."""
    segment_path(tmp_path, 0).write_bytes(b"NOTAWAL!" + bytes(40))
    segment_path(tmp_path, 1).write_bytes(b"")
    with pytest.raises(WalCorrupt, match="bad magic"):
        payloads(tmp_path)


def test_a_segment_created_just_before_a_crash_is_repaired(tmp_path: Path) -> None:
    """A new segment whose header was torn is rewritten, not refused."""
    WalWriter(tmp_path, START).close()
    segment_path(tmp_path, 1).write_bytes(b"MDC")
    end, _ = tail(tmp_path, START)
    writer = WalWriter(tmp_path, end)
    writer.append([(KIND_EVENT, b"x")])
    writer.close()
    assert payloads(tmp_path) == [b"x"]


def test_batch_mode_syncs_by_count_and_by_time(tmp_path: Path) -> None:
    """Under batch, `synced` moves after N records, or once T ms have passed."""
    writer = WalWriter(tmp_path, START, sync=SyncMode.BATCH, batch_records=3, batch_ms=60_000)
    writer.append([(KIND_EVENT, b"a"), (KIND_EVENT, b"b")])
    assert writer.synced < writer.position
    writer.append([(KIND_EVENT, b"c")])
    assert writer.synced == writer.position
    timed = WalWriter(tmp_path / "t", START, sync=SyncMode.BATCH, batch_records=1000, batch_ms=0)
    timed.append([(KIND_EVENT, b"a")])
    assert timed.synced == timed.position
    lazy = WalWriter(tmp_path / "l", START, sync=SyncMode.BATCH, batch_records=1000, batch_ms=60_000)
    lazy.append([(KIND_EVENT, b"a")])
    assert not lazy.sync_if_due()
    lazy.batch_ms = 0
    assert lazy.sync_if_due()
    assert lazy.synced == lazy.position


def test_committed_segments_are_deleted(tmp_path: Path) -> None:
    """Segments wholly before a committed position go; the current one stays."""
    writer = WalWriter(tmp_path, START, segment_bytes=100)
    for number in range(20):
        writer.append([(KIND_EVENT, b"event number %d" % number)])
    position = writer.position
    assert writer.delete_before(position) > 0
    assert segment_numbers(tmp_path) == [position.segment]
