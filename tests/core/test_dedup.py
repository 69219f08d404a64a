from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mdc.core.dedup import DedupIndex
from mdc.core.timestamps import from_ns

KEY = ("sim", "sim.trades", "SPY", "trade")


def at(second: int) -> str:
    return from_ns(1_767_623_400 * 10**9 + second * 10**9)


def test_sequenced_events_at_or_below_the_high_water_are_duplicates() -> None:
    """seq 5 stored: 5 again (same content) and 3 (earlier in time) are skipped, 6 is new."""
    index = DedupIndex()
    assert index.admit(KEY, 5, 100, at(5))
    assert not index.admit(KEY, 5, 100, at(5))
    assert not index.admit(KEY, 3, 999, at(3))
    assert index.admit(KEY, 6, 101, at(6))


def test_a_sequence_that_restarts_later_in_time_is_new_data() -> None:
    """A new session counting from 1 again, later than everything stored, is kept, then deduplicated itself."""
    index = DedupIndex()
    assert all(index.admit(KEY, seq, seq, at(seq)) for seq in range(1, 6))
    assert index.admit(KEY, 1, 1001, at(100))
    assert index.admit(KEY, 2, 1002, at(101))
    assert not index.admit(KEY, 2, 1002, at(101))
    assert not index.admit(KEY, 4, 4, at(4))  # the old session re-fed: still a duplicate


def test_equal_sequence_numbers_are_told_apart_by_content() -> None:
    """Several depth changes of one message share its seq; each is stored once."""
    key = ("sim", "sim.depth", "SPY", "depth")
    index = DedupIndex()
    assert [index.admit(key, 7, digest, at(7)) for digest in (1, 2, 3, 2, 1)] == [True, True, True, False, False]


def test_stream_keys_are_separate() -> None:
    """The same seq on another stream, symbol or type is new."""
    index = DedupIndex()
    assert index.admit(KEY, 1, 1, at(1))
    assert index.admit(("sim", "sim.trades", "AAPL", "trade"), 1, 1, at(1))
    assert index.admit(("sim", "sim.trades", "SPY", "bar"), 1, 1, at(1))


def test_unsequenced_content_is_remembered_within_the_window() -> None:
    """The same line within the window is skipped; beyond it, it is new again."""
    index = DedupIndex(window=3)
    answers = [index.admit(None, None, digest, at(0)) for digest in (1, 2, 1, 3, 4, 5, 1)]
    assert answers == [True, True, False, True, True, True, True]


events = st.lists(
    st.tuples(st.sampled_from(["A", "B"]), st.none() | st.integers(0, 20), st.integers(0, 5), st.integers(0, 30))
)


@given(events, st.data())
def test_saving_and_restoring_gives_the_same_answers(
    stream: list[tuple[str, int | None, int, int]], data: st.DataObject
) -> None:
    """A restored index decides every later event exactly as the original would."""
    cut = data.draw(st.integers(0, len(stream)))
    original = DedupIndex(window=4)
    for symbol, seq, digest, second in stream[:cut]:
        original.admit(None if seq is None else ("p", "s", symbol, "t"), seq, digest, at(second))
    restored = DedupIndex.from_builtins(original.to_builtins(), window=4)
    for symbol, seq, digest, second in stream[cut:]:
        key = None if seq is None else ("p", "s", symbol, "t")
        assert restored.admit(key, seq, digest, at(second)) == original.admit(key, seq, digest, at(second))
