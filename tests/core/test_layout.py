"""Store layouts: paths invert, never leave the root, and partition keys name the right time ranges."""

from __future__ import annotations

import itertools
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdc.core.events import EVENT_TYPES
from mdc.core.layout import (
    SUFFIXES,
    TIME_END_NS,
    TIME_START_NS,
    Layout,
    Partitioning,
    PartitionName,
    event_path,
    is_safe_component,
    key_overlaps,
    overlapping_groups,
    parse_path,
    partition_bounds,
    partition_key,
    path_problem,
    store_settings,
)
from mdc.core.timestamps import from_ns, to_ns
from mdc.testing.strategies import symbols, timestamps

layouts = st.sampled_from(Layout)
partitionings = st.sampled_from(Partitioning)
suffixes = st.sampled_from(SUFFIXES)
event_types = st.sampled_from(sorted(EVENT_TYPES)) | st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
any_timestamps = timestamps() | timestamps(TIME_START_NS, TIME_END_NS - 1)
Case = tuple[Layout, Partitioning, str, str, str, str]
cases = st.tuples(layouts, partitionings, event_types, symbols(), any_timestamps, suffixes)


@given(cases)
def test_parse_path_inverts_event_path(case: Case) -> None:
    """Whatever the layout, partitioning, symbol, type, time and ending, the path tells them all back."""
    layout, partitioning, event_type, symbol, ts, suffix = case
    parts = event_path(layout, partitioning, event_type, symbol, ts, suffix)
    name = parse_path(layout, partitioning, parts)
    assert name is not None
    assert (name.symbol, name.event_type, name.key) == (symbol, event_type, partition_key(partitioning, ts))


@given(cases)
def test_no_path_component_can_leave_the_root(case: Case) -> None:
    """No component is empty, ., .., hidden, or holds /, a backslash or NUL."""
    layout, partitioning, event_type, symbol, ts, suffix = case
    parts = event_path(layout, partitioning, event_type, symbol, ts, suffix)
    assert len(parts) == (1 if layout is Layout.FLAT else 3)
    for part in parts:
        assert part not in {"", ".", ".."}
        assert not part.startswith(".")
        assert not {"/", "\\", "\x00"} & set(part)
        assert is_safe_component(part)


@given(partitionings, any_timestamps)
def test_a_partition_key_covers_its_timestamp_and_nothing_of_the_next(partitioning: Partitioning, ts: str) -> None:
    """start <= ts < end; the range's first and last instants have the key, the instants around it do not."""
    key = partition_key(partitioning, ts)
    bounds = partition_bounds(partitioning, key)
    assert bounds is not None
    start, end = bounds
    assert start <= to_ns(ts) < end
    assert partition_key(partitioning, from_ns(start)) == key
    assert partition_key(partitioning, from_ns(end - 1)) == key
    if partitioning is Partitioning.NONE:
        assert bounds == (TIME_START_NS, TIME_END_NS)
    else:
        assert start == TIME_START_NS or partition_key(partitioning, from_ns(start - 1)) != key
        assert end == TIME_END_NS or partition_key(partitioning, from_ns(end)) != key


@pytest.mark.parametrize(
    ("partitioning", "key", "start", "end"),
    [
        (Partitioning.DAILY, "2026-11-24", "2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z"),
        (Partitioning.HOURLY, "2026-11-24T23", "2026-11-24T23:00:00Z", "2026-11-25T00:00:00Z"),
        (Partitioning.MONTHLY, "2026-12", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        (Partitioning.MONTHLY, "2028-02", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"),
    ],
)
def test_partition_bounds_of_known_keys(partitioning: Partitioning, key: str, start: str, end: str) -> None:
    """Day, hour and month boundaries fall where the calendar puts them (UTC)."""
    as_ns = [to_ns(text.replace(":00Z", ":00.000000000Z")) for text in (start, end)]
    assert partition_bounds(partitioning, key) == tuple(as_ns)


@pytest.mark.parametrize(
    ("partitioning", "key"),
    [
        (Partitioning.DAILY, "2026-02-30"),
        (Partitioning.DAILY, "2026-11-24T14"),
        (Partitioning.DAILY, "+202-11-24"),
        (Partitioning.HOURLY, "2026-11-24T24"),
        (Partitioning.HOURLY, "2026-11-24"),
        (Partitioning.MONTHLY, "2026-13"),
        (Partitioning.MONTHLY, "2026-1"),
        (Partitioning.NONE, "2026"),
        (Partitioning.DAILY, "all"),
    ],
)
def test_keys_of_another_shape_have_no_bounds(partitioning: Partitioning, key: str) -> None:
    """A key that partition_key would not make is refused, not read loosely."""
    assert partition_bounds(partitioning, key) is None


@given(cases, st.data())
def test_parse_path_accepts_only_what_event_path_makes(case: Case, data: st.DataObject) -> None:
    """A path one edit away from a real one parses only if it is exactly the path of what it parses to."""
    layout, partitioning, event_type, symbol, ts, suffix = case
    parts = list(event_path(layout, partitioning, event_type, symbol, ts, suffix))
    index = data.draw(st.integers(0, len(parts) - 1))
    position = data.draw(st.integers(0, len(parts[index])))
    character = data.draw(st.sampled_from("_%5FE2.-/:Tx0A"))
    if data.draw(st.booleans()):
        parts[index] = parts[index][:position] + character + parts[index][position:]
    else:
        parts[index] = parts[index][:position] + parts[index][position + 1 :]
    name = parse_path(layout, partitioning, parts)
    if name is not None:
        assert name.symbol is not None
        assert name.event_type is not None
        ending = next(ending for ending in SUFFIXES if parts[-1].endswith(ending))
        again = event_path(layout, partitioning, name.event_type, name.symbol, from_ns(name.start_ns), ending)
        assert again == tuple(parts)


@given(layouts, partitionings, st.lists(st.text(string.printable, max_size=12), min_size=1, max_size=4))
def test_parse_path_is_total(layout: Layout, partitioning: Partitioning, parts: list[str]) -> None:
    """Arbitrary components give a name or None, never an exception."""
    result = parse_path(layout, partitioning, parts)
    assert result is None or isinstance(result, PartitionName)


def test_flat_names_escape_underscores_so_they_split_back() -> None:
    """In the flat layout a symbol's _ becomes %5F; the type may hold _; both come back."""
    parts = event_path(Layout.FLAT, Partitioning.DAILY, "order_book", "A_B", "2026-11-24T14:30:00.000000000Z", ".jsonl")
    assert parts == ("A%5FB_order_book_2026-11-24.jsonl",)
    name = parse_path(Layout.FLAT, Partitioning.DAILY, parts)
    assert name is not None
    assert (name.symbol, name.event_type, name.key) == ("A_B", "order_book", "2026-11-24")


@pytest.mark.parametrize(
    ("symbol", "real"),
    [("BRK/B", "BRK%2FB"), ("ES=F", "ES=F"), ("^GSPC", "^GSPC"), ("EUR/USD", "EUR%2FUSD"), (".X", "%2EX")],
)
def test_awkward_real_symbols_get_safe_reversible_names(symbol: str, real: str) -> None:
    """The symbols of the issue map to single safe components."""
    ts = "2026-11-24T14:30:00.000000000Z"
    assert event_path(Layout.BY_TYPE, Partitioning.HOURLY, "quote", symbol, ts, ".jsonl.lz4") == (
        "quote",
        real,
        "2026-11-24T14.jsonl.lz4",
    )


@pytest.mark.parametrize("symbol", ["../etc", "..", "/", "a\x00b", "a\\b", "", "x" * 33, "./"])
def test_unsafe_symbols_are_refused_with_a_reason(symbol: str) -> None:
    """A symbol that could leave the root raises ValueError naming it; path_problem says the same as a value."""
    problem = path_problem("trade", symbol, ".jsonl")
    assert problem is not None
    assert problem.startswith(f"symbol {symbol!r} cannot name a file: ")
    with pytest.raises(ValueError, match="cannot name a file"):
        event_path(Layout.BY_SYMBOL, Partitioning.DAILY, "trade", symbol, "2026-11-24T14:30:00.000000000Z", ".jsonl")


@pytest.mark.parametrize(("event_type", "suffix"), [("../x", ".jsonl"), ("Trade", ".jsonl"), ("trade", ".csv")])
def test_unsafe_types_and_endings_are_refused(event_type: str, suffix: str) -> None:
    """Types and endings outside their grammars do not make paths either."""
    assert path_problem(event_type, "SPY", suffix) is not None


@given(partitionings, any_timestamps, st.none() | any_timestamps, st.none() | any_timestamps)
def test_key_overlaps_agrees_with_the_bounds(
    partitioning: Partitioning, ts: str, start: str | None, end: str | None
) -> None:
    """A key overlaps [start, end) exactly when its range intersects it."""
    key = partition_key(partitioning, ts)
    low, high = partition_bounds(partitioning, key) or (0, 0)
    start_ns = None if start is None else to_ns(start)
    end_ns = None if end is None else to_ns(end)
    expected = (start_ns is None or high > start_ns) and (end_ns is None or low < end_ns)
    assert key_overlaps(partitioning, key, start_ns, end_ns) == expected


spans = st.tuples(st.integers(0, 100), st.integers(1, 50)).map(lambda pair: (pair[0], pair[0] + pair[1]))


@given(st.lists(spans, max_size=20))
def test_overlapping_groups_partition_the_spans_in_time_order(items: list[tuple[int, int]]) -> None:
    """Each index once; indices ascend within a group; a later group starts at or after every earlier end."""
    groups = overlapping_groups(items)
    assert sorted(index for group in groups for index in group) == list(range(len(items)))
    assert all(group == sorted(group) for group in groups)
    for earlier, later in itertools.pairwise(groups):
        assert max(items[i][1] for i in earlier) <= min(items[i][0] for i in later)


@given(st.lists(spans, max_size=20))
def test_overlapping_groups_are_as_small_as_merging_allows(items: list[tuple[int, int]]) -> None:
    """Within a group, sorted by start, each span starts before the end of the ones before it."""
    for group in overlapping_groups(items):
        ordered = sorted(group, key=lambda i: items[i][0])
        reach = items[ordered[0]][1]
        for index in ordered[1:]:
            assert items[index][0] < reach
            reach = max(reach, items[index][1])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


@given(json_values | st.fixed_dictionaries({"format_version": st.just(1)}, optional={"layout": json_values}))
def test_store_settings_is_total(document: object) -> None:
    """Any JSON gives settings or a reason, never an exception."""
    store_settings(document)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "is not a JSON object"),
        ({"format_version": True, "layout": "flat"}, "format_version True is not supported"),
        ({"format_version": 1, "layout": "nested"}, "layout 'nested' is not one of"),
        ({"format_version": 1, "partition": "weekly"}, "partition 'weekly' is not one of"),
    ],
)
def test_bad_store_settings_say_what_is_wrong(document: object, reason: str) -> None:
    """The failure names the key and value at fault."""
    assert reason in store_settings(document).failure()


def test_store_settings_default_to_the_default_layout() -> None:
    """A store.json without layout or partition means by-symbol, daily."""
    assert store_settings({"format_version": 1}).unwrap() == (Layout.BY_SYMBOL, Partitioning.DAILY)
