"""Parquet files: exact round trips, refusals, atomicity, other readers, bounded memory."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal, localcontext
from pathlib import Path

import attrs
import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdc.core.codec import decode_line, encode_event
from mdc.core.events import EVENT_TYPES, Depth, Integrity, MarketEvent
from mdc.core.timestamps import to_ns
from mdc.io.compression import content_digest
from mdc.io.parquet import (
    DECIMAL_TYPE,
    DIGEST_KEY,
    EVENT_TYPE_KEY,
    FLOAT_TYPE,
    RECORDS_KEY,
    SCHEMA_VERSION_KEY,
    TIMESTAMP_TYPE,
    ParquetError,
    WriteResult,
    _Parser,
    arrow_schema,
    parquet_digest,
    read_lines,
    source_digest,
    unstorable,
    write_parquet,
)
from mdc.testing.strategies import decimal_texts, events

# The examples of mdc-format(5), with awkward decimals and strings added.
TRADES = [
    b'{"type":"trade","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.123456789Z",'
    b'"ts_recv":"2026-11-24T14:30:00.123501200Z","provider":"sim","stream":"trades","seq":1042,'
    b'"price":451.10,"size":100,"side":"buy","exchange":"P","conditions":["@","I"],"trade_id":"52983525028621"}',
    b'{"type":"trade","v":1,"symbol":"BRK/B","ts":"2026-11-24T14:30:00.000000001Z",'
    b'"ts_recv":"2026-11-24T14:30:00.000000002Z","provider":"sim","stream":"trades","seq":1043,'
    b'"price":0.000000001,"size":0.01500000,"side":"unknown"}',
    b'{"type":"trade","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:01.000000000Z",'
    b'"ts_recv":"2026-11-24T14:30:01.000000000Z","provider":"sim","stream":"trades","seq":1044,'
    b'"price":99999999999999999999999999999.999999999,"size":12345678901234567890,"side":"sell",'
    b'"trade_id":"tab\\there \\"quoted\\" caf\xc3\xa9"}',
]
QUOTE = (
    b'{"type":"quote","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.123460000Z",'
    b'"ts_recv":"2026-11-24T14:30:00.123502000Z","provider":"sim","stream":"quotes","seq":2207,'
    b'"bid_price":null,"bid_size":0,"ask_price":451.11,"ask_size":200,"ask_exchange":"P"}'
)
SNAPSHOT = (
    b'{"type":"snapshot","v":1,"symbol":"BTC-USD","ts":"2026-11-24T14:30:00.000000000Z",'
    b'"ts_recv":"2026-11-24T14:30:00.000390000Z","provider":"sim","stream":"book","seq":88000,'
    b'"bids":[[96250.00,0.42000000],[96249.50,1.10000000]],"asks":[]}'
)
INTEGRITY = [
    b'{"type":"integrity","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.300000000Z",'
    b'"ts_recv":"2026-11-24T14:30:00.300450000Z","provider":"sim","stream":"trades","kind":"sequence_gap",'
    b'"expected":1043,"received":"1043","description":"an int and a string of digits"}',
    b'{"type":"integrity","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.300000000Z",'
    b'"ts_recv":"2026-11-24T14:30:00.300450000Z","provider":"sim","stream":"trades","kind":"stale","description":""}',
]


def short(value: Decimal) -> Decimal:
    """A decimal as read_lines gives it back: positional, trailing fraction zeros dropped."""
    text = format(value, "f")
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)


def as_read_back(event: MarketEvent) -> MarketEvent:
    """The event with every decimal in the form read_lines normalises it to."""
    changes: dict[str, object] = {}
    for field in attrs.fields(type(event)):
        value = getattr(event, field.name)
        if isinstance(value, Decimal):
            changes[field.name] = short(value)
        elif field.name in ("bids", "asks"):
            changes[field.name] = tuple((short(price), short(size)) for price, size in value)
    return attrs.evolve(event, **changes)  # type: ignore[arg-type] # the changes keep each field's type


_FILE_NUMBERS = itertools.count()


def unique_path(directory: Path) -> Path:
    return directory / f"f{next(_FILE_NUMBERS)}.parquet"


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# --------------------------------------------------------------------------- round trips


@given(st.lists(events().filter(lambda event: unstorable(event) is None), min_size=1, max_size=30))
def test_every_event_type_round_trips_exactly(
    tmp_path_factory: pytest.TempPathFactory, batch: list[MarketEvent]
) -> None:
    """write -> read_lines gives each event's line as the codec writes it, decimals shortest; values equal."""
    directory = tmp_path_factory.mktemp("round-trip", numbered=True)
    for event_type, group in itertools.groupby(sorted(batch, key=lambda event: event.TYPE), key=lambda e: e.TYPE):
        originals = list(group)
        path = unique_path(directory)
        lines = [encode_event(event) for event in originals]
        assert write_parquet(lines, event_type, path) == source_digest(lines)
        back = list(read_lines(path))
        assert back == [encode_event(as_read_back(event)) for event in originals]
        assert [decode_line(line).unwrap() for line in back] == originals  # Decimal equality: 451.1 == 451.10


@given(st.lists(events(), min_size=1, max_size=30))
def test_float_prices_read_back_as_the_nearest_doubles(
    tmp_path_factory: pytest.TempPathFactory, batch: list[MarketEvent]
) -> None:
    """With float prices every decimal comes back as the shortest text of its float64, never with an exponent."""
    directory = tmp_path_factory.mktemp("floats", numbered=True)
    for event_type, group in itertools.groupby(sorted(batch, key=lambda event: event.TYPE), key=lambda e: e.TYPE):
        originals = list(group)
        path = unique_path(directory)
        write_parquet([encode_event(event) for event in originals], event_type, path, float_prices=True)
        back = [decode_line(line).unwrap() for line in read_lines(path)]
        for original, read in zip(originals, back, strict=True):
            for field in attrs.fields(type(original)):
                before, after = getattr(original, field.name), getattr(read, field.name)
                if isinstance(before, Decimal):
                    assert float(after) == float(before)
                elif field.name in ("bids", "asks"):
                    assert [(float(p), float(s)) for p, s in after] == [(float(p), float(s)) for p, s in before]
                else:
                    assert after == before
        assert all(encode_event(decode_line(line).unwrap()) == line for line in read_lines(path))  # canonical


@given(st.lists(events().filter(lambda event: unstorable(event) is None), min_size=1, max_size=30))
def test_the_json_reader_and_the_codec_build_the_same_columns(batch: list[MarketEvent]) -> None:
    """The fast path (Arrow's JSON reader) and the slow path (the codec) agree on every type they both take."""
    for event_type, group in itertools.groupby(sorted(batch, key=lambda event: event.TYPE), key=lambda e: e.TYPE):
        lines = [encode_event(event) for event in group]
        for float_prices in (False, True):
            parser = _Parser(event_type, float_prices=float_prices)
            fast = parser._read_fast(b"\n".join(lines) + b"\n", len(lines))
            slow = parser._read_slowly(lines, 1)
            if event_type == "integrity":  # its int | str fields always take the slow path
                assert fast is None
            else:
                assert fast is not None
                assert fast.equals(slow)


def test_known_rows_read_back_as_documented(tmp_path: Path) -> None:
    """451.10 comes back 451.1, 0.01500000 as 0.015, a tiny price positional, strings escaped as the codec does."""
    path = tmp_path / "t.parquet"
    write_parquet(TRADES, "trade", path)
    back = list(read_lines(path))
    assert back[0] == TRADES[0].replace(b"451.10", b"451.1")
    assert back[1] == TRADES[1].replace(b"0.01500000", b"0.015")
    assert back[2] == TRADES[2]


def test_an_int_and_a_string_of_digits_stay_apart(tmp_path: Path) -> None:
    """Integrity expected/received are stored as JSON text: 1043 and "1043" come back as written."""
    path = tmp_path / "i.parquet"
    write_parquet(INTEGRITY, "integrity", path)
    assert pq.read_table(path).column("expected").to_pylist() == ["1043", None]
    assert pq.read_table(path).column("received").to_pylist() == ['"1043"', None]
    assert list(read_lines(path)) == INTEGRITY
    event = decode_line(next(read_lines(path))).unwrap()
    assert isinstance(event, Integrity)
    assert (event.expected, event.received) == (1043, "1043")


def test_nullable_required_fields_and_empty_levels_come_back(tmp_path: Path) -> None:
    """A quote's null bid is written back as null; an empty snapshot side as []."""
    quote, snapshot = tmp_path / "q.parquet", tmp_path / "s.parquet"
    write_parquet([QUOTE], "quote", quote)
    write_parquet([SNAPSHOT], "snapshot", snapshot)
    assert list(read_lines(quote)) == [QUOTE]
    assert list(read_lines(snapshot)) == [
        SNAPSHOT.replace(b"96250.00", b"96250")
        .replace(b"96249.50", b"96249.5")
        .replace(b"0.42000000", b"0.42")
        .replace(b"1.10000000", b"1.1")
    ]


def test_lines_may_keep_their_line_ends(tmp_path: Path) -> None:
    """LF and CRLF endings are dropped: same rows, same digest."""
    bare, ended = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert write_parquet(TRADES, "trade", bare) == write_parquet(
        [TRADES[0] + b"\n", TRADES[1] + b"\r\n", TRADES[2]], "trade", ended
    )
    assert list(read_lines(bare)) == list(read_lines(ended))


def test_row_groups_are_bounded_and_read_back_in_order(tmp_path: Path) -> None:
    """2500 rows in row groups of at most 1000: three groups, every row back in file order."""
    path = tmp_path / "d.parquet"
    lines = [depth_line(index) for index in range(2500)]
    write_parquet(lines, "depth", path, row_group_rows=1000)
    metadata = pq.read_metadata(path)
    assert [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)] == [1000, 1000, 500]
    assert list(read_lines(path)) == [decoded_again(line) for line in lines]


def test_no_lines_make_an_empty_file(tmp_path: Path) -> None:
    """An empty staging file gives a valid Parquet file with no rows."""
    path = tmp_path / "e.parquet"
    result = write_parquet([], "bar", path)
    assert result.records == 0
    assert pq.read_table(path).num_rows == 0
    assert list(read_lines(path)) == []


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        (b"1.0000000001", "line 2: cannot be stored in Parquet exactly: price 1.0000000001 has 10 fraction digits"),
        (b"0.0000000001", "price 0.0000000001 has 10 fraction digits; Parquet decimal128(38, 9) keeps 9"),
        (b"123456789012345678901234567890", "price 123456789012345678901234567890 has more than 29 integer digits"),
        (b"1" * 41, "has more than 29 integer digits"),
        # Arrow's JSON reader would wrap these around (to 59717633079061536536625392568.2..., to 0)
        (b"400000000000000000000000000000", "price 400000000000000000000000000000 has more than 29 integer digits"),
        (b"4E+29", "price 400000000000000000000000000000 has more than 29 integer digits"),
        (b"1E+119", "has more than 29 integer digits"),
        (b'"NaN"', "price NaN is not a finite number"),
    ],
)
def test_unrepresentable_decimals_are_refused_not_rounded(tmp_path: Path, price: bytes, reason: str) -> None:
    """A value decimal128(38, 9) cannot hold exactly stops the write with the line number and why."""
    path = tmp_path / "t.parquet"
    lines = [TRADES[0], TRADES[0].replace(b"451.10", price)]
    with pytest.raises(ParquetError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        write_parquet(lines, "trade", path)
    assert leftovers(tmp_path) == []


@given(decimal_texts(max_integer_digits=31, max_fraction_digits=12))
def test_exactly_the_representable_decimals_are_stored(tmp_path_factory: pytest.TempPathFactory, price: str) -> None:
    """A price is stored and read back with its exact value, or refused, never rounded."""
    path = unique_path(tmp_path_factory.mktemp("decimals", numbered=True))
    value = Decimal(price)
    with localcontext(prec=60):  # the default 28 digits would round the oracle itself
        fits = value == round(value, 9) and value < 10**29
    line = TRADES[0].replace(b"451.10", price.encode())
    if fits:
        write_parquet([line], "trade", path)
        assert decode_line(next(read_lines(path))).unwrap().price == value  # type: ignore[union-attr]
    else:
        with pytest.raises(ParquetError, match="line 1: cannot be stored in Parquet exactly: price "):
            write_parquet([line], "trade", path)


def test_trailing_zeros_beyond_the_scale_are_not_a_reason_to_refuse(tmp_path: Path) -> None:
    """1.10000000000 has eleven fraction digits but the value of 1.1: stored exactly."""
    path = tmp_path / "t.parquet"
    write_parquet([TRADES[0].replace(b"451.10", b"1.10000000000")], "trade", path)
    assert pq.read_table(path).column("price").to_pylist() == [Decimal("1.1")]


def test_exponents_and_long_strings_of_digits_elsewhere_do_not_stop_the_write(tmp_path: Path) -> None:
    """An exponent is read exactly (by the codec); digits and e's inside strings are only strings."""
    path = tmp_path / "t.parquet"
    lines = [
        TRADES[0].replace(b"451.10", b"4.5110E+2"),
        TRADES[0].replace(b'"SPY"', b'"6EZ4"').replace(b'"52983525028621"', b'"550e8400' + b"1" * 40 + b'"'),
    ]
    write_parquet(lines, "trade", path)
    assert pq.read_table(path).column("price").to_pylist() == [Decimal("451.1"), Decimal("451.1")]
    assert pq.read_table(path).column("trade_id").to_pylist() == ["52983525028621", "550e8400" + "1" * 40]


def test_float_prices_take_what_decimals_refuse(tmp_path: Path) -> None:
    """With float prices, more than nine fraction digits are stored as the nearest double."""
    path = tmp_path / "t.parquet"
    write_parquet([TRADES[0].replace(b"451.10", b"1.0000000001")], "trade", path, float_prices=True)
    assert pq.read_table(path).column("price").to_pylist() == [1.0000000001]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            (b"2026-11-24T14:30:00.123456789Z", b"2300-01-01T00:00:00.000000000Z"),
            "ts 2300-01-01T00:00:00.000000000Z lies outside",
        ),
        ((b'"seq":1042', b'"seq":9223372036854775808'), "seq 9223372036854775808 does not fit in a 64-bit integer"),
        ((b'"type":"trade"', b'"type":"bar"'), "line 1: "),
        ((b'"price":451.10', b'"price":"x"'), r"line 1: price must be a number \(got 'x'\) at \$.price"),
        ((b'"ts":"2026-11-24T14:30:00.123456789Z"', b'"ts":"2026-11-24 14:30:00Z"'), "is not a canonical timestamp"),
    ],
)
def test_bad_lines_are_refused_with_their_line_number(tmp_path: Path, change: tuple[bytes, bytes], reason: str) -> None:
    """Out-of-range timestamps and integers, other types and broken lines name the line."""
    path = tmp_path / "t.parquet"
    with pytest.raises(ParquetError, match=reason):
        write_parquet([TRADES[0].replace(*change)], "trade", path)
    assert leftovers(tmp_path) == []


def test_a_line_of_another_type_is_refused(tmp_path: Path) -> None:
    """A quote among trades is not silently read as a trade."""
    with pytest.raises(ParquetError, match="line 2: a quote event among trade events"):
        write_parquet([TRADES[0], QUOTE], "trade", tmp_path / "t.parquet")


def test_unknown_event_type_is_refused(tmp_path: Path) -> None:
    """The message lists the known types."""
    with pytest.raises(ParquetError, match="unknown event type 'tick' \\(known types: trade, quote"):
        write_parquet(TRADES, "tick", tmp_path / "t.parquet")


# --------------------------------------------------------------------------- atomicity and metadata


def test_a_failure_while_writing_leaves_no_file_and_no_temporary(tmp_path: Path) -> None:
    """A bad line after row groups were written: no destination, no temporary file, the old file intact."""
    path = tmp_path / "d.parquet"
    path.write_bytes(b"old")
    lines = [depth_line(index) for index in range(3000)] + [depth_line(0).replace(b'"seq":0', b'"seq":-')]
    with pytest.raises(ParquetError, match="line 3001: "):
        write_parquet(lines, "depth", path, row_group_rows=1000)
    assert leftovers(tmp_path) == ["d.parquet"]
    assert path.read_bytes() == b"old"


def test_an_input_error_leaves_nothing_either(tmp_path: Path) -> None:
    """An exception from the line source propagates and removes the temporary file."""

    def lines() -> Iterator[bytes]:
        yield from (depth_line(index) for index in range(100))
        raise OSError("staging file vanished")

    with pytest.raises(OSError, match="staging file vanished"):
        write_parquet(lines(), "depth", tmp_path / "d.parquet")
    assert leftovers(tmp_path) == []


def test_metadata_records_type_version_count_and_source_digest(tmp_path: Path) -> None:
    """The footer says what the file holds, and its digest matches the staging file's content digest."""
    staging, path = tmp_path / "t.jsonl", tmp_path / "t.parquet"
    staging.write_bytes(b"".join(line + b"\n" for line in TRADES))
    result = write_parquet(staging.read_bytes().splitlines(keepends=True), "trade", path)
    keys = pq.read_metadata(path).metadata
    assert keys[EVENT_TYPE_KEY.encode()] == b"trade"
    assert keys[SCHEMA_VERSION_KEY.encode()] == b"1"
    assert keys[RECORDS_KEY.encode()] == b"3"
    assert keys[DIGEST_KEY.encode()] == f"{result.digest:016x}".encode()
    assert parquet_digest(path) == result == WriteResult(3, source_digest(TRADES).digest)
    staged = content_digest(staging)
    assert (staged.records, staged.checksum) == tuple(result)


def test_files_not_written_by_mdc_are_refused(tmp_path: Path) -> None:
    """read_lines and parquet_digest say so instead of guessing."""
    foreign, text = tmp_path / "f.parquet", tmp_path / "x.parquet"
    pq.write_table(pa.table({"price": [1.5]}), foreign)
    text.write_bytes(b"not parquet")
    with pytest.raises(ParquetError, match=r"no mdc\.event_type and mdc\.schema_version metadata"):
        list(read_lines(foreign))
    with pytest.raises(ParquetError, match=r"no valid mdc\.records"):
        parquet_digest(foreign)
    with pytest.raises(ParquetError, match="not a Parquet file or a damaged one"):
        list(read_lines(text))
    with pytest.raises(FileNotFoundError):
        list(read_lines(tmp_path / "missing.parquet"))


def test_damaged_data_is_reported_as_such(tmp_path: Path) -> None:
    """Corrupt pages raise ParquetError naming the file, not a bare OSError."""
    path = tmp_path / "d.parquet"
    write_parquet([depth_line(index) for index in range(5000)], "depth", path)
    data = bytearray(path.read_bytes())
    pages_end = len(data) - 8 - int.from_bytes(data[-8:-4], "little")  # the footer and its length follow the pages
    for offset in range(pages_end // 4, pages_end):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(ParquetError, match=f"{path}: damaged Parquet data"):
        list(read_lines(path))


# --------------------------------------------------------------------------- schema and other readers


def test_schema_types_follow_the_fields() -> None:
    """Decimals, nanosecond UTC timestamps, dictionaries for categories, lists, levels; no type or v column."""
    trade = arrow_schema("trade")
    assert trade.names == [
        "symbol", "ts", "ts_recv", "provider", "stream", "seq",
        "price", "size", "side", "exchange", "conditions", "trade_id",
    ]  # fmt: skip
    assert trade.field("ts").type == TIMESTAMP_TYPE
    assert trade.field("price").type == DECIMAL_TYPE
    assert not trade.field("price").nullable
    assert trade.field("seq").type == pa.int64()
    assert trade.field("seq").nullable
    assert trade.field("symbol").type == pa.dictionary(pa.int32(), pa.string())
    assert trade.field("trade_id").type == pa.string()
    assert trade.field("conditions").type.value_type == pa.string()
    assert trade.field("price").metadata == {b"description": b"execution price"}
    assert arrow_schema("quote").field("bid_price").nullable
    assert arrow_schema("snapshot", float_prices=True).field("bids").type.value_type == pa.struct(
        [pa.field("price", FLOAT_TYPE, nullable=False), pa.field("size", FLOAT_TYPE, nullable=False)]
    )
    assert arrow_schema("integrity").field("expected").type == pa.string()
    assert all({"type", "v"}.isdisjoint(arrow_schema(tag).names) for tag in EVENT_TYPES)


def test_pandas_reads_rows_ns_utc_timestamps_and_exact_decimals(tmp_path: Path) -> None:
    """pd.read_parquet: the row count, datetime64[ns, UTC], Decimal values equal to the text."""
    path = tmp_path / "t.parquet"
    write_parquet(TRADES, "trade", path)
    frame = pd.read_parquet(path)
    assert len(frame) == 3
    assert str(frame["ts"].dtype) == "datetime64[ns, UTC]"
    assert frame["ts"].iloc[1].value == to_ns("2026-11-24T14:30:00.000000001Z")
    assert list(frame["price"]) == [
        Decimal("451.10"),
        Decimal("0.000000001"),
        Decimal("99999999999999999999999999999.999999999"),
    ]
    assert list(frame["symbol"]) == ["SPY", "BRK/B", "SPY"]


def test_polars_reads_rows_ns_utc_timestamps_and_exact_decimals(tmp_path: Path) -> None:
    """pl.read_parquet: Datetime(ns, UTC), Decimal(38, 9) with exact values."""
    path = tmp_path / "t.parquet"
    write_parquet(TRADES, "trade", path)
    frame = pl.read_parquet(path)
    assert frame.height == 3
    assert frame.schema["ts"] == pl.Datetime("ns", "UTC")
    assert frame.schema["price"] == pl.Decimal(38, 9)
    assert frame["price"].to_list() == [
        Decimal("451.1"),
        Decimal("1E-9"),
        Decimal("99999999999999999999999999999.999999999"),
    ]
    assert frame["size"].to_list()[2] == Decimal(12345678901234567890)


def test_duckdb_reads_rows_utc_timestamps_and_exact_decimals(tmp_path: Path) -> None:
    """DuckDB: count(*), min(ts) as a UTC timestamp (nanoseconds from DuckDB 2, microseconds before), DECIMAL(38,9)."""
    path = tmp_path / "t.parquet"
    write_parquet(TRADES, "trade", path)
    # fetched as Arrow: DuckDB turns a TIMESTAMPTZ into a Python datetime only with pytz (and to the microsecond)
    relation = duckdb.sql(f"select count(*) as n, min(ts) as first, typeof(min(ts)) as kind from '{path}'")  # noqa: S608 - our own temporary file
    assert relation is not None
    result = relation.to_arrow_table()
    assert result.column("n").to_pylist() == [3]
    nanoseconds = int(duckdb.__version__.split(".")[0]) >= 2
    assert result.column("kind").to_pylist() == ["TIMESTAMPTZ_NS" if nanoseconds else "TIMESTAMP WITH TIME ZONE"]
    first = result.schema.field("first").type  # zoned in the session's time zone (Etc/UTC here)
    assert first.tz is not None
    exact = to_ns("2026-11-24T14:30:00.000000001Z")
    expected = exact if nanoseconds else exact // 1000
    assert result.column("first").cast(pa.int64()).to_pylist() == [expected]
    prices = duckdb.sql(f"select typeof(price), price from '{path}' order by seq")  # noqa: S608 - as above
    assert prices is not None
    assert prices.fetchall() == [
        ("DECIMAL(38,9)", Decimal("451.1")),
        ("DECIMAL(38,9)", Decimal("0.000000001")),
        ("DECIMAL(38,9)", Decimal("99999999999999999999999999999.999999999")),
    ]


def test_float_prices_give_float64_columns(tmp_path: Path) -> None:
    """--float-prices: every decimal field is a float64 column in Arrow, pandas and polars."""
    path = tmp_path / "t.parquet"
    write_parquet(TRADES, "trade", path, float_prices=True)
    schema = pq.read_schema(path)
    assert schema.field("price").type == schema.field("size").type == pa.float64()
    assert str(pd.read_parquet(path)["price"].dtype) == "float64"
    assert pl.read_parquet(path).schema["price"] == pl.Float64
    assert pl.read_parquet(path)["price"].to_list()[0] == 451.1


# --------------------------------------------------------------------------- memory


_RSS_SCRIPT = """
import sys
from pathlib import Path
from mdc.io.parquet import write_parquet

def lines(count):
    for index in range(count):
        yield (
            b'{"type":"depth","v":1,"symbol":"SPY","ts":"2026-11-24T14:%02d:%02d.%09dZ",'
            b'"ts_recv":"2026-11-24T14:%02d:%02d.%09dZ","provider":"sim","stream":"sim.depth","seq":%d,'
            b'"side":"bid","op":"set","price":%d.%02d,"size":%d}'
            % (index // 60_000 % 60, index // 1000 % 60, index % 1000 * 1000, index // 60_000 % 60,
               index // 1000 % 60, index % 1000 * 1000 + 500, index, 400 + index % 50, index % 100, index % 977 * 100)
        )

def peak_mb():
    # VmHWM, not getrusage: Linux carries ru_maxrss across exec, so it would report the test runner's peak
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) // 1024

write_parquet(lines(1000), "depth", Path(sys.argv[1]))  # loads the kernels, the reader and pandas
baseline = peak_mb()
result = write_parquet(lines(1_000_000), "depth", Path(sys.argv[1]))
print(result.records, baseline, peak_mb())
"""


def test_a_million_rows_are_written_in_bounded_memory(tmp_path: Path) -> None:
    """1M depth lines streamed from a generator: the peak RSS grows by well under 200 MB.

    The interpreter holds about 150 MB before (pyarrow alone is ~85 MB, the pandas it
    imports ~35 MB); one row group is bounded by ROW_GROUP_BYTES (64 MiB), and the
    whole run measured ~290 MB at its peak while this was written.
    """
    path = tmp_path / "d.parquet"
    done = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(path)], capture_output=True, text=True, check=True, timeout=240
    )
    records, baseline_mb, peak_mb = map(int, done.stdout.split())
    assert records == 1_000_000
    assert peak_mb - baseline_mb < 200, f"peak RSS {peak_mb} MB after {baseline_mb} MB at the start"
    assert peak_mb < 400, f"peak RSS {peak_mb} MB"
    assert parquet_digest(path).records == 1_000_000


# --------------------------------------------------------------------------- helpers


def depth_line(index: int) -> bytes:
    ts = f"2026-11-24T14:30:{index // 1000 % 60:02d}.{index % 1000:09d}Z"
    return (
        json.dumps(
            {"type": "depth", "v": 1, "symbol": "SPY", "ts": ts, "ts_recv": ts, "provider": "sim", "stream": "d"},
            separators=(",", ":"),
        ).encode()[:-1]
        + f',"seq":{index},"side":"ask","op":"set","price":{100 + index % 7}.25,"size":{index % 5}}}'.encode()
    )


def decoded_again(line: bytes) -> bytes:
    event = decode_line(line).unwrap()
    assert isinstance(event, Depth)
    return encode_event(as_read_back(event))
