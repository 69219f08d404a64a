"""Compressed store files: framed appending, torn and corrupt frames, profiles, recompression, atomic replace."""

from __future__ import annotations

import errno
import gzip
import io
import itertools
import os
from collections.abc import Callable
from pathlib import Path

import lz4.frame
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdc.io import compression
from mdc.io.atomic import atomic_write_path, write_atomically
from mdc.io.compression import (
    LEVELS,
    PROFILE_DESCRIPTIONS,
    PROFILES,
    BadCompression,
    Codec,
    Compression,
    ContentDigest,
    DamagedStream,
    FramedAppender,
    codec_of,
    content_digest,
    parse_compression,
    read_chunks,
    recompress,
)

EVERY_LEVEL = [Compression(codec, level) for codec in Codec for level in LEVELS[codec]]
COMPRESSED = [Compression(codec) for codec in Codec if codec is not Codec.NONE]
ALL = [Compression(codec) for codec in Codec]


def lines(count: int, start: int = 0) -> bytes:
    return b"".join(
        b'{"type":"trade","v":1,"symbol":"SPY","ts":"2026-01-05T14:30:00.%09dZ","provider":"sim",'
        b'"stream":"sim.trades","seq":%d,"price":%d.25,"size":100,"side":"buy"}\n' % (i, i, 400 + i % 7)
        for i in range(start, start + count)
    )


def read(path: Path) -> tuple[bytes, DamagedStream | None]:
    """Everything read_chunks yields, and the damage it reported after it."""
    out: list[bytes] = []
    try:
        for chunk in read_chunks(path, size=7):  # a tiny read size crosses frame boundaries mid-read
            out.append(chunk)
    except DamagedStream as damage:
        return b"".join(out), damage
    return b"".join(out), None


def file_for(directory: Path, target: Compression, stem: str = "2026-01-05") -> Path:
    return directory / f"{stem}{target.ending}"


def write_frames(path: Path, target: Compression, frames: list[bytes]) -> list[int]:
    """Write each item as one flush; return the file size after each flush."""
    sizes = []
    with FramedAppender(path, target) as appender:
        for frame in frames:
            appender.write(frame)
            appender.flush()
            sizes.append(appender.size())
    return sizes


# ---------------------------------------------------------------- codecs and profiles


def test_codecs_name_their_file_endings() -> None:
    """Each codec writes the ending replay and read_chunks recognise it by."""
    assert {codec.value: codec.ending for codec in Codec} == {
        "none": ".jsonl",
        "gzip": ".jsonl.gz",
        "zstd": ".jsonl.zst",
        "lz4": ".jsonl.lz4",
    }
    assert [codec_of(Path(f"a/2026-01-05{codec.ending}")) for codec in Codec] == list(Codec)


def test_default_levels() -> None:
    """A codec without a level gets gzip 6, zstd 3, lz4 1; none has level 0."""
    assert [Compression(codec).level for codec in Codec] == [0, 6, 3, 1]


def test_profiles_are_exactly_the_documented_five() -> None:
    """The profile table is a contract with the docs and the store's metadata."""
    assert dict(PROFILES) == {
        "realtime": Compression(Codec.LZ4, 1),
        "warm": Compression(Codec.ZSTD, 6),
        "cold": Compression(Codec.ZSTD, 19),
        "high-volume": Compression(Codec.ZSTD, 3),
        "portable": Compression(Codec.GZIP, 6),
    }
    assert list(PROFILE_DESCRIPTIONS) == list(PROFILES)
    assert all(text.startswith(str(PROFILES[name]) + ": ") for name, text in PROFILE_DESCRIPTIONS.items())


@pytest.mark.parametrize(
    ("codec", "level", "profile", "expected"),
    [
        (None, None, None, Compression(Codec.NONE)),
        ("none", None, None, Compression(Codec.NONE)),
        ("zstd", None, None, Compression(Codec.ZSTD, 3)),
        ("gzip", 9, None, Compression(Codec.GZIP, 9)),
        ("lz4", 12, None, Compression(Codec.LZ4, 12)),
        (None, None, "cold", Compression(Codec.ZSTD, 19)),
        ("zstd", None, "cold", Compression(Codec.ZSTD, 19)),
        ("zstd", 19, "cold", Compression(Codec.ZSTD, 19)),
        (None, 1, "realtime", Compression(Codec.LZ4, 1)),
    ],
)
def test_parse_compression_accepts(
    codec: str | None, level: int | None, profile: str | None, expected: Compression
) -> None:
    """Codec, level and profile combine when they agree."""
    assert parse_compression(codec, level, profile) == expected


@pytest.mark.parametrize(
    ("codec", "level", "profile", "message"),
    [
        ("bz2", None, None, "unknown compression 'bz2'; choose from none, gzip, zstd, lz4"),
        (None, None, "hot", "unknown profile 'hot'; choose from realtime (lz4-1: "),
        ("gzip", None, "cold", "--profile cold means zstd-19 and cannot be combined with --compress gzip;"),
        ("zstd", 3, "cold", "--profile cold means zstd-19 and cannot be combined with --compress zstd --level 3;"),
        (None, 0, "realtime", "--profile realtime means lz4-1 and cannot be combined with --level 0;"),
        (None, 5, None, "--level 5 needs --compress gzip, zstd or lz4 (or a --profile)"),
        ("none", 1, None, "--compress none takes no --level (got 1)"),
        ("zstd", 23, None, "zstd level must be 1..22 (got 23)"),
        ("gzip", 0, None, "gzip level must be 1..9 (got 0)"),
        ("lz4", 17, None, "lz4 level must be 0..16 (got 17)"),
    ],
)
def test_parse_compression_refuses_with_the_choices(
    codec: str | None, level: int | None, profile: str | None, message: str
) -> None:
    """Unknown names, levels out of range and contradicting options say what would be accepted."""
    with pytest.raises(BadCompression) as raised:
        parse_compression(codec, level, profile)
    assert str(raised.value).startswith(message)


def test_unknown_profile_lists_every_profile() -> None:
    """The message names all five profiles so the user can pick one."""
    with pytest.raises(BadCompression) as raised:
        parse_compression(None, None, "fast")
    assert all(f"{name} ({text})" in str(raised.value) for name, text in PROFILE_DESCRIPTIONS.items())


def test_compression_refuses_a_level_out_of_range() -> None:
    """Building a Compression by hand is checked too."""
    with pytest.raises(ValueError, match=r"gzip level must be 1\.\.9"):
        Compression(Codec.GZIP, 10)


# ---------------------------------------------------------------- appending and reading


@pytest.mark.parametrize("target", EVERY_LEVEL, ids=str)
def test_every_codec_and_level_round_trips(tmp_path: Path, target: Compression) -> None:
    """Whatever the codec and level, what was written reads back byte for byte."""
    path = file_for(tmp_path, target)
    write_frames(path, target, [lines(300), lines(5, 300)])
    assert read(path) == (lines(305), None)


@pytest.mark.parametrize("target", ALL, ids=str)
def test_many_flushes_read_as_one_stream(tmp_path: Path, target: Compression) -> None:
    """A file of a hundred frames reads as the concatenation of what was flushed."""
    path = file_for(tmp_path, target)
    sizes = write_frames(path, target, [lines(7, 7 * i) for i in range(100)])
    assert read(path) == (lines(700), None)
    assert sizes == sorted(set(sizes))  # every flush added bytes


@pytest.mark.parametrize(
    ("target", "standard"),
    [
        pytest.param(Compression(Codec.GZIP), gzip.decompress, id="gzip"),
        pytest.param(
            Compression(Codec.ZSTD),
            lambda data: zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read(),
            id="zstd",
        ),
    ],
)
def test_standard_readers_read_the_frames_too(
    tmp_path: Path, target: Compression, standard: Callable[[bytes], bytes]
) -> None:
    """Other tools (zcat, zstdcat) see a framed file as one stream."""
    path = file_for(tmp_path, target)
    write_frames(path, target, [lines(10, 10 * i) for i in range(5)])
    assert standard(path.read_bytes()) == lines(50)


@pytest.mark.parametrize("target", COMPRESSED, ids=str)
def test_a_cut_at_any_byte_keeps_every_complete_frame(tmp_path: Path, target: Compression) -> None:
    """Cut anywhere: the complete frames read back; a cut inside a frame is reported, a cut at size() is not."""
    source = file_for(tmp_path, target)
    frames = [lines(3, 3 * i) for i in range(4)]
    sizes = write_frames(source, target, frames)
    data = source.read_bytes()
    assert sizes[-1] == len(data)
    boundaries = dict(zip([0, *sizes], itertools.accumulate(frames, initial=b""), strict=True))
    cut = file_for(tmp_path, target, "cut")
    complete = b""
    for offset in range(len(data) + 1):
        cut.write_bytes(data[:offset])
        out, damage = read(cut)
        if offset in boundaries:
            complete = boundaries[offset]
            assert (offset, out, damage) == (offset, complete, None)
        else:
            assert damage is not None, offset
            assert "ends in the middle of a frame" in str(damage), offset
            # What decompressed of the torn frame may follow, but nothing else and nothing invented.
            assert out.startswith(complete), offset
            assert lines(12).startswith(out), offset


@pytest.mark.parametrize("target", ALL, ids=str)
def test_flush_without_writes_adds_nothing(tmp_path: Path, target: Compression) -> None:
    """An empty flush writes no empty frame, and empty writes are ignored."""
    path = file_for(tmp_path, target)
    with FramedAppender(path, target) as appender:
        appender.write(lines(1))
        appender.flush()
        size = appender.size()
        appender.write(b"")
        appender.flush()
        appender.flush()
        assert appender.size() == size
        assert appender.buffered == 0


@pytest.mark.parametrize("target", ALL, ids=str)
def test_nothing_reaches_the_file_before_flush(tmp_path: Path, target: Compression) -> None:
    """size() stays at the last frame boundary while data is pending."""
    path = file_for(tmp_path, target)
    with FramedAppender(path, target) as appender:
        appender.write(lines(10))
        assert (appender.size(), appender.buffered) == (0, len(lines(10)))
    assert read(path) == (lines(10), None)  # close flushed it


@pytest.mark.parametrize("target", ALL, ids=str)
def test_appending_to_an_existing_file_keeps_one_stream(tmp_path: Path, target: Compression) -> None:
    """A second appender adds frames after the first one's; nothing already there is rewritten."""
    path = file_for(tmp_path, target)
    write_frames(path, target, [lines(5)])
    before = path.read_bytes()
    with FramedAppender(path, target) as appender:
        assert appender.size() == len(before)
        appender.write(lines(5, 5))
    assert path.read_bytes().startswith(before)
    assert read(path) == (lines(10), None)


@pytest.mark.parametrize(
    ("target", "compress"),
    [
        pytest.param(Compression(Codec.GZIP), gzip.compress, id="gzip"),
        pytest.param(Compression(Codec.ZSTD), zstandard.ZstdCompressor().compress, id="zstd"),
        pytest.param(Compression(Codec.LZ4), lz4.frame.compress, id="lz4"),
    ],
)
def test_appending_to_a_file_another_tool_wrote(
    tmp_path: Path, target: Compression, compress: Callable[[bytes], bytes]
) -> None:
    """A file compressed elsewhere in one frame can be appended to."""
    path = file_for(tmp_path, target)
    path.write_bytes(compress(lines(20)))
    write_frames(path, target, [lines(20, 20)])
    assert read(path) == (lines(40), None)


@pytest.mark.parametrize("target", COMPRESSED, ids=str)
def test_a_corrupt_frame_is_reported_after_the_good_ones(tmp_path: Path, target: Compression) -> None:
    """A flipped byte inside the second frame fails its check; the first frame still comes out."""
    path = file_for(tmp_path, target)
    sizes = write_frames(path, target, [lines(20), lines(20, 20)])
    data = bytearray(path.read_bytes())
    data[(sizes[0] + sizes[1]) // 2] ^= 0x55
    path.write_bytes(bytes(data))
    out, damage = read(path)
    assert out.startswith(lines(20))
    assert out != lines(40)
    assert damage is not None


@pytest.mark.parametrize("target", COMPRESSED, ids=str)
def test_bytes_that_are_no_frame_at_all_are_corrupt(tmp_path: Path, target: Compression) -> None:
    """Garbage is named as corrupt and nothing is invented from it."""
    path = file_for(tmp_path, target)
    path.write_bytes(b"definitely not compressed")
    out, damage = read(path)
    assert out == b""
    assert "corrupt compressed data" in str(damage)


def test_a_failed_write_is_undone_and_can_be_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that fills mid-frame leaves the file at its last boundary; the next flush writes the frame whole."""
    target = Compression(Codec.ZSTD)
    path = file_for(tmp_path, target)
    appender = FramedAppender(path, target)
    appender.write(lines(10))
    appender.flush()
    boundary = appender.size()
    real_write = os.write

    def write_half_then_fail(fd: int, data: memoryview) -> int:
        real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    appender.write(lines(10, 10))
    monkeypatch.setattr(compression.os, "write", write_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        appender.flush()
    monkeypatch.undo()
    assert appender.size() == boundary
    assert appender.buffered == len(lines(10, 10))
    appender.close()
    assert read(path) == (lines(20), None)


def test_leaving_by_an_exception_drops_the_pending_frame(tmp_path: Path) -> None:
    """A with block that fails does not write its half-built frame."""
    target = Compression(Codec.LZ4)
    path = file_for(tmp_path, target)

    def fail_midway() -> None:
        with FramedAppender(path, target) as appender:
            appender.write(lines(3))
            appender.flush()
            appender.write(lines(3, 3))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_midway()
    assert read(path) == (lines(3), None)


def test_a_closed_appender_refuses_work(tmp_path: Path) -> None:
    """Using an appender after close is a bug, reported as such; closing twice is fine."""
    appender = FramedAppender(tmp_path / "a.jsonl", Compression(Codec.NONE))
    appender.close()
    appender.close()
    with pytest.raises(ValueError, match="closed"):
        appender.write(b"x\n")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.sampled_from(ALL),
    flushes=st.lists(st.lists(st.binary(max_size=300), max_size=4), max_size=6),
)
def test_any_bytes_in_any_flush_pattern_read_back(
    tmp_path: Path, target: Compression, flushes: list[list[bytes]]
) -> None:
    """Arbitrary data, written in arbitrary pieces and flushes, reads back as written."""
    path = tmp_path / f"h{os.urandom(8).hex()}{target.ending}"
    with FramedAppender(path, target) as appender:
        for pieces in flushes:
            for piece in pieces:
                appender.write(piece)
            appender.flush()
    assert read(path) == (b"".join(itertools.chain.from_iterable(flushes)), None)


# ---------------------------------------------------------------- recompression


def test_recompression_keeps_records_and_checksum_across_codecs(tmp_path: Path) -> None:
    """gzip -> zstd-19 -> lz4 -> plain: every step holds the same lines, and says so."""
    gz = file_for(tmp_path, Compression(Codec.GZIP), "a")
    write_frames(gz, Compression(Codec.GZIP), [lines(500, 500 * i) for i in range(4)])
    expected = content_digest(gz)
    assert expected.records == 2000
    chain = [Compression(Codec.ZSTD, 19), Compression(Codec.LZ4), Compression(Codec.NONE)]
    src = gz
    for target in chain:
        dst = file_for(tmp_path, target, "a")
        assert recompress(src, dst, target) == expected
        assert content_digest(dst) == expected
        src = dst
    assert src.read_bytes() == lines(2000)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.jsonl", "a.jsonl.gz", "a.jsonl.lz4", "a.jsonl.zst"]


def test_recompression_writes_a_frame_per_frame_bytes_of_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large inputs become many bounded frames, so the output can be appended to and cut like the store's."""
    monkeypatch.setattr(compression, "FRAME_BYTES", 10_000)
    src = tmp_path / "a.jsonl"
    src.write_bytes(lines(1000))
    dst = tmp_path / "a.jsonl.zst"
    recompress(src, dst, Compression(Codec.ZSTD))
    frames = []
    data = dst.read_bytes()
    while data:
        decompressor = zstandard.ZstdDecompressor().decompressobj()
        frames.append(decompressor.decompress(data))
        assert decompressor.eof
        data = decompressor.unused_data
    assert b"".join(frames) == lines(1000)
    assert [len(frame) for frame in frames[:-1]] == [10_000] * (len(frames) - 1)


def test_recompressing_in_place_replaces_the_file(tmp_path: Path) -> None:
    """src and dst may be one file: it is read whole before the new one takes its name."""
    path = tmp_path / "a.jsonl.zst"
    write_frames(path, Compression(Codec.ZSTD, 1), [lines(100)])
    assert recompress(path, path, Compression(Codec.ZSTD, 19)) == ContentDigest(100, content_digest(path).checksum)
    assert read(path) == (lines(100), None)


def test_recompressing_a_damaged_file_writes_nothing(tmp_path: Path) -> None:
    """A torn source stops the recompression and leaves no file, temporary or final, behind."""
    src = tmp_path / "a.jsonl.gz"
    src.write_bytes(gzip.compress(lines(100))[:-10])
    with pytest.raises(DamagedStream):
        recompress(src, tmp_path / "a.jsonl.zst", Compression(Codec.ZSTD))
    assert [path.name for path in tmp_path.iterdir()] == ["a.jsonl.gz"]


def test_recompression_refuses_a_name_of_another_codec(tmp_path: Path) -> None:
    """Writing zstd under a .gz name would make a file no reader can read."""
    src = tmp_path / "a.jsonl"
    src.write_bytes(lines(1))
    with pytest.raises(ValueError, match=r"needs a name ending in \.jsonl\.zst"):
        recompress(src, tmp_path / "a.jsonl.gz", Compression(Codec.ZSTD))


def test_content_digest_counts_an_unterminated_last_line(tmp_path: Path) -> None:
    """A last line without its newline is still a record."""
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"one\ntwo")
    assert content_digest(path).records == 2
    path.write_bytes(b"")
    assert content_digest(path).records == 0


# ---------------------------------------------------------------- atomic replacement


def test_write_atomically_creates_and_replaces(tmp_path: Path) -> None:
    """The file ends up with exactly the new bytes and no temporary file is left."""
    path = tmp_path / "commit.json"
    write_atomically(path, b"old")
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert [entry.name for entry in tmp_path.iterdir()] == ["commit.json"]


def crash_while_writing(path: Path, data: bytes) -> None:
    with atomic_write_path(path) as temp:
        temp.write_bytes(data)
        raise RuntimeError("crash")


def test_a_failure_inside_the_block_leaves_the_old_file(tmp_path: Path) -> None:
    """Half-written new contents never take the file's name."""
    path = tmp_path / "commit.json"
    write_atomically(path, b"old")
    with pytest.raises(RuntimeError, match="crash"):
        crash_while_writing(path, b"half of the n")
    assert path.read_bytes() == b"old"
    assert [entry.name for entry in tmp_path.iterdir()] == ["commit.json"]


def test_a_failure_before_any_file_existed_leaves_none(tmp_path: Path) -> None:
    """A new file appears whole or not at all."""
    path = tmp_path / "new.json"
    with pytest.raises(RuntimeError, match="crash"):
        crash_while_writing(path, b"partial")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rename_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the rename itself fails the old file stays and the temporary one goes."""
    path = tmp_path / "commit.json"
    write_atomically(path, b"old")

    def refuse(self: Path, target: Path) -> Path:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(OSError, match="cross-device"):
        write_atomically(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old"
    assert [entry.name for entry in tmp_path.iterdir()] == ["commit.json"]


def test_temporary_names_are_hidden_from_store_readers(tmp_path: Path) -> None:
    """While being written, the temporary file matches no store file ending."""
    with atomic_write_path(tmp_path / "2026-01-05.jsonl.zst") as temp:
        assert temp.parent == tmp_path
        assert temp.name.startswith(".")
        assert not temp.name.endswith((".jsonl", ".gz", ".zst", ".lz4"))
        temp.write_bytes(b"")
