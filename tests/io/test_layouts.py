"""Replaying stores of every layout, partitioning and file ending: order, filters, pruning, staging, Parquet."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import types
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import lz4.frame
import pytest
import zstandard

from mdc.core.codec import encode_event
from mdc.core.events import Quote, Trade
from mdc.core.layout import Layout, Partitioning, event_path, partition_bounds, partition_key
from mdc.core.selection import Selection
from mdc.core.timestamps import from_ns, to_ns
from mdc.io import replay as replay_module
from mdc.io.replay import ReplayError, find_files, replay

START = to_ns("2026-01-31T21:00:00.000000000Z")
STEP_NS = 97 * 60 * 10**9  # 1 h 37 min: the events cross hours, days and a month's end
SYMBOLS = ("SPY", "BRK/B", "ES=F", "^GSPC", "EUR/USD", "SPY_W")
ENDINGS = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.lz4")


def event_line(symbol: str, index: int) -> tuple[str, str, bytes]:
    """(type, ts, line) of the index-th test event: trades and quotes in turn, every ts distinct."""
    ts = from_ns(START + index * STEP_NS)
    common = {"symbol": symbol, "ts": ts, "ts_recv": ts, "provider": "p", "stream": "s", "seq": index}
    if index % 2:
        return "quote", ts, encode_event(Quote(**common, bid_price=1, bid_size=1, ask_price=2, ask_size=1))  # type: ignore[arg-type]
    return "trade", ts, encode_event(Trade(**common, price=1, size=1, side="buy"))  # type: ignore[arg-type]


def all_events(count: int = 40) -> list[tuple[str, str, str, bytes]]:
    """(symbol, type, ts, line), in ts order."""
    return [(SYMBOLS[i % len(SYMBOLS)], *event_line(SYMBOLS[i % len(SYMBOLS)], i)) for i in range(count)]


def compress(data: bytes, name: str) -> bytes:
    if name.endswith(".gz"):
        return gzip.compress(data)
    if name.endswith(".zst"):
        return zstandard.ZstdCompressor().compress(data)
    if name.endswith(".lz4"):
        return bytes(lz4.frame.compress(data))
    return data


def write_file(path: Path, lines: list[bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(compress(b"".join(line + b"\n" for line in lines), path.name))
    return path


def write_store(
    root: Path,
    layout: Layout,
    partitioning: Partitioning,
    ending: str,
    events: list[tuple[str, str, str, bytes]],
    *,
    settings: bool = True,
) -> dict[tuple[str, ...], list[bytes]]:
    """Write events where the layout puts them (and store.json); the files written, by relative path."""
    files: defaultdict[tuple[str, ...], list[bytes]] = defaultdict(list)
    for symbol, event_type, ts, line in events:
        files[event_path(layout, partitioning, event_type, symbol, ts, ending)].append(line)
    for parts, lines in files.items():
        write_file(root.joinpath(*parts), lines)
    if settings:
        write_settings(root, layout, partitioning)
    return dict(files)


def write_settings(root: Path, layout: Layout, partitioning: Partitioning, file_format: str = "jsonl") -> None:
    state = root / ".mdc"
    state.mkdir(parents=True, exist_ok=True)
    document = {"format_version": 1, "layout": layout.value, "partition": partitioning.value, "format": file_format}
    (state / "store.json").write_text(json.dumps(document))


def collect(paths: list[Path], selection: Selection | None = None) -> tuple[list[bytes], list[str]]:
    warnings: list[str] = []
    return list(replay(paths, selection or Selection(), warnings.append)), warnings


every_layout = pytest.mark.parametrize("layout", list(Layout), ids=lambda layout: layout.value)
every_partitioning = pytest.mark.parametrize("partitioning", list(Partitioning), ids=lambda p: p.value)


@every_layout
@every_partitioning
@pytest.mark.parametrize("ending", ENDINGS)
def test_every_layout_replays_every_event_in_time_order(
    tmp_path: Path, layout: Layout, partitioning: Partitioning, ending: str
) -> None:
    """Whatever the layout, partitioning and compression, replay returns each stored event once, by ts."""
    events = all_events()
    write_store(tmp_path, layout, partitioning, ending, events)
    assert collect([tmp_path]) == ([line for *_, line in events], [])


@every_layout
@every_partitioning
def test_every_layout_filters_by_symbol_type_and_time(
    tmp_path: Path, layout: Layout, partitioning: Partitioning
) -> None:
    """Symbol globs, types and [from, to) select the same events in every layout."""
    events = all_events()
    write_store(tmp_path, layout, partitioning, ".jsonl.zst", events)
    start, end = from_ns(START + 5 * STEP_NS), from_ns(START + 30 * STEP_NS)
    selection = Selection(symbols=("BRK/*", "SPY*"), types=frozenset({"trade"}), start=start, end=end)
    expected = [
        line
        for symbol, event_type, ts, line in events
        if symbol in {"BRK/B", "SPY", "SPY_W"} and event_type == "trade" and start <= ts < end
    ]
    assert expected
    assert collect([tmp_path], selection) == (expected, [])


@every_layout
@every_partitioning
def test_files_ruled_out_by_their_path_are_never_opened(
    tmp_path: Path, layout: Layout, partitioning: Partitioning
) -> None:
    """A file of another symbol, type or time range holds garbage; selecting around it reads none of it."""
    events = all_events()
    write_store(tmp_path, layout, partitioning, ".jsonl", events)
    inside = from_ns(START + 10 * STEP_NS)
    outside = from_ns(START - 400 * 24 * 3600 * 10**9)  # more than a year before: another partition whatever the length
    poisoned = [("ZZZ", "trade", inside), ("SPY", "quote", inside)]
    if partitioning is not Partitioning.NONE:
        poisoned.append(("SPY", "trade", outside))
    for symbol, event_type, ts in poisoned:
        write_file(tmp_path.joinpath(*event_path(layout, partitioning, event_type, symbol, ts, ".jsonl.gz")), [b"x"])
    selection = Selection(symbols=("SPY",), types=frozenset({"trade"}), start=from_ns(START))
    lines, warnings = collect([tmp_path], selection)
    assert warnings == []
    assert lines == [line for symbol, event_type, _, line in events if (symbol, event_type) == ("SPY", "trade")]
    opened = {path.name for path, _ in find_files([tmp_path], selection)}
    assert not any(path.endswith(".gz") for path in opened)


@every_layout
@pytest.mark.parametrize("partitioning", [Partitioning.HOURLY, Partitioning.DAILY], ids=lambda p: p.value)
def test_only_files_whose_time_ranges_overlap_are_open_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: Layout, partitioning: Partitioning
) -> None:
    """Memory stays bounded: the merge never holds open files of partitions that do not overlap."""
    events = all_events()
    write_store(tmp_path, layout, partitioning, ".jsonl", events)
    open_now: set[Path] = set()
    most = 0
    real = replay_module.read_chunks

    def counting(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
        nonlocal most
        open_now.add(path)
        most = max(most, len(open_now))
        try:
            yield from real(path, size)
        finally:
            open_now.discard(path)

    monkeypatch.setattr(replay_module, "read_chunks", counting)
    assert collect([tmp_path])[0] == [line for *_, line in events]
    per_partition = defaultdict(set)
    for symbol, event_type, ts, _ in events:
        per_partition[partition_key(partitioning, ts)].add((symbol, event_type))
    assert most == max(len(files) for files in per_partition.values())


@pytest.mark.parametrize("partitioning", list(Partitioning), ids=lambda p: p.value)
def test_the_default_layout_is_recognised_without_store_json(tmp_path: Path, partitioning: Partitioning) -> None:
    """An old store (no .mdc/store.json) in the by-symbol layout is read and pruned by its paths."""
    events = all_events()
    write_store(tmp_path, Layout.BY_SYMBOL, partitioning, ".jsonl", events, settings=False)
    write_file(tmp_path / "ZZZ" / "trade" / f"{partition_key(partitioning, events[0][2])}.jsonl", [b"x"])
    selection = Selection(symbols=("SPY",))
    assert collect([tmp_path], selection) == ([line for symbol, *_, line in events if symbol == "SPY"], [])


def test_staged_files_are_read_and_the_rest_of_dot_mdc_is_not(tmp_path: Path) -> None:
    """Open partitions under .mdc/staging/ replay with the store; the WAL and other state files do not."""
    events = all_events()
    half = len(events) // 2
    write_store(tmp_path, Layout.BY_DATE, Partitioning.HOURLY, ".jsonl", events[:half])
    write_store(
        tmp_path / ".mdc" / "staging", Layout.BY_DATE, Partitioning.HOURLY, ".jsonl", events[half:], settings=False
    )
    write_file(tmp_path / ".mdc" / "wal" / "garbage.jsonl", [b"not to be read"])
    write_file(tmp_path / ".mdc" / "other.jsonl", [b"not to be read"])
    assert collect([tmp_path]) == ([line for *_, line in events], [])


def test_a_directory_inside_a_store_uses_the_store_layout_and_its_staged_files(tmp_path: Path) -> None:
    """`mdc-replay data/BRK%2FB` reads by the store's layout (pruning) and includes what is staged for it."""
    events = [event for event in all_events() if event[0] == "BRK/B"]
    write_store(tmp_path, Layout.BY_SYMBOL, Partitioning.HOURLY, ".jsonl", events[:3])
    write_store(
        tmp_path / ".mdc" / "staging", Layout.BY_SYMBOL, Partitioning.HOURLY, ".jsonl", events[3:], settings=False
    )
    write_file(tmp_path / "BRK%2FB" / "trade" / "2020-01-01T00.jsonl", [b"outside the range: never opened"])
    selection = Selection(start=from_ns(START))
    found = find_files([tmp_path / "BRK%2FB"], selection)
    assert {partition.symbol for _, partition in found} == {"BRK/B"}
    assert collect([tmp_path / "BRK%2FB"], selection) == ([line for *_, line in events], [])


def test_a_parquet_file_is_read_through_mdc_io_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """.parquet files come from mdc.io.parquet.read_lines, merged with the staged JSONL of the open partition."""
    events = all_events(12)
    final = write_store(tmp_path, Layout.BY_TYPE, Partitioning.DAILY, ".parquet", events[:8], settings=False)
    write_store(tmp_path / ".mdc" / "staging", Layout.BY_TYPE, Partitioning.DAILY, ".jsonl", events[8:], settings=False)
    write_settings(tmp_path, Layout.BY_TYPE, Partitioning.DAILY, "parquet")
    read: list[Path] = []

    def read_lines(path: Path) -> Iterator[bytes]:
        read.append(path)
        yield from path.read_bytes().splitlines()

    fake = types.SimpleNamespace(read_lines=read_lines, ParquetError=type("ParquetError", (Exception,), {}))
    monkeypatch.setitem(sys.modules, "mdc.io.parquet", fake)
    assert collect([tmp_path]) == ([line for *_, line in events], [])
    assert sorted(read) == sorted(tmp_path.joinpath(*parts) for parts in final)


def test_real_parquet_files_replay_with_staged_jsonl(tmp_path: Path) -> None:
    """Finalised partitions written by mdc.io.parquet merge with the open one staged as JSONL."""
    from mdc.io.parquet import write_parquet  # noqa: PLC0415 - pyarrow only for this test

    events = all_events(24)
    final, staged = events[:16], events[16:]
    by_file: defaultdict[tuple[str, ...], list[tuple[str, bytes]]] = defaultdict(list)
    for symbol, event_type, ts, line in final:
        by_file[event_path(Layout.BY_SYMBOL, Partitioning.DAILY, event_type, symbol, ts, ".parquet")].append(
            (event_type, line)
        )
    for parts, rows in by_file.items():
        tmp_path.joinpath(*parts).parent.mkdir(parents=True, exist_ok=True)
        write_parquet([line for _, line in rows], rows[0][0], tmp_path.joinpath(*parts))
    write_store(tmp_path / ".mdc" / "staging", Layout.BY_SYMBOL, Partitioning.DAILY, ".jsonl", staged, settings=False)
    write_settings(tmp_path, Layout.BY_SYMBOL, Partitioning.DAILY, "parquet")
    assert collect([tmp_path]) == ([line for *_, line in events], [])
    selection = Selection(symbols=("ES=F",), start=from_ns(START + 8 * STEP_NS))
    expected = [line for symbol, _, ts, line in events if symbol == "ES=F" and ts >= selection.start]
    assert collect([tmp_path], selection) == (expected, [])


def test_a_file_that_is_not_parquet_is_reported_and_skipped(tmp_path: Path) -> None:
    """A damaged .parquet file costs its own events only, with a warning naming it."""
    events = all_events(6)
    write_store(tmp_path, Layout.BY_SYMBOL, Partitioning.DAILY, ".jsonl", events, settings=False)
    broken = write_file(tmp_path / "ZZZ" / "trade" / "2026-01-31.parquet", [b"not parquet at all"])
    lines, warnings = collect([tmp_path])
    assert lines == [line for *_, line in events]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{broken}: not a Parquet file")


def test_replaying_jsonl_does_not_import_pyarrow(tmp_path: Path) -> None:
    """Parquet support costs nothing to a JSONL store: pyarrow is imported only for .parquet files."""
    write_store(tmp_path, Layout.FLAT, Partitioning.MONTHLY, ".jsonl.zst", all_events())
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mdc.core.selection import Selection\n"
        "from mdc.io.replay import replay\n"
        f"assert len(list(replay([Path({str(tmp_path)!r})], Selection(), print))) == 40\n"
        "print('pyarrow' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "False\n"


def test_an_event_outside_its_file_partition_is_reported(tmp_path: Path) -> None:
    """A misfiled event would break the merge's order; replay keeps it and says where it is."""
    line = event_line("SPY", 0)[2]
    path = write_file(tmp_path / "SPY" / "trade" / "2026-02-01.jsonl", [line])
    lines, warnings = collect([tmp_path])
    assert lines == [line]
    assert warnings == [
        f"{path}:1: event at {from_ns(START)} lies outside the file's partition 2026-02-01;"
        " the merged output may not be in time order"
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{", "not JSON"),
        ('{"format_version": 9}', "format_version 9 is not supported"),
        ('{"format_version": 1, "layout": "sideways"}', "layout 'sideways' is not one of"),
    ],
)
def test_a_store_json_that_cannot_be_understood_stops_replay(tmp_path: Path, document: str, message: str) -> None:
    """Guessing the layout of a store that says something else would misread it; replay refuses, naming the file."""
    (tmp_path / ".mdc").mkdir()
    (tmp_path / ".mdc" / "store.json").write_text(document)
    with pytest.raises(ReplayError, match=message):
        collect([tmp_path])


def test_partition_bounds_used_here_match_the_written_keys() -> None:
    """The test data really spans several hours, days and two months."""
    keys = {
        partitioning: {partition_key(partitioning, ts) for _, _, ts, _ in all_events()} for partitioning in Partitioning
    }
    assert len(keys[Partitioning.MONTHLY]) == 2
    assert len(keys[Partitioning.DAILY]) >= 3
    assert all(partition_bounds(p, key) is not None for p, found in keys.items() for key in found)
