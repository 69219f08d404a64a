from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mdc.core.dedup import DedupIndex

KEY = ("sim", "sim.trades", "SPY", "trade")


def test_sequenced_events_at_or_below_the_high_water_are_duplicates() -> None:
    """seq 5 stored: 5 again (same content) and 3 are skipped, 6 is new."""
    index = DedupIndex()
    assert index.admit(KEY, 5, 100)
    assert not index.admit(KEY, 5, 100)
    assert not index.admit(KEY, 3, 999)
    assert index.admit(KEY, 6, 101)


def test_equal_sequence_numbers_are_told_apart_by_content() -> None:
    """Several depth changes of one message share its seq; each is stored once."""
    key = ("sim", "sim.depth", "SPY", "depth")
    index = DedupIndex()
    assert [index.admit(key, 7, digest) for digest in (1, 2, 3, 2, 1)] == [True, True, True, False, False]


def test_stream_keys_are_separate() -> None:
    """The same seq on another stream, symbol or type is new."""
    index = DedupIndex()
    assert index.admit(KEY, 1, 1)
    assert index.admit(("sim", "sim.trades", "AAPL", "trade"), 1, 1)
    assert index.admit(("sim", "sim.trades", "SPY", "bar"), 1, 1)


def test_unsequenced_content_is_remembered_within_the_window() -> None:
    """The same line within the window is skipped; beyond it, it is new again."""
    index = DedupIndex(window=3)
    assert [index.admit(None, None, digest) for digest in (1, 2, 1, 3, 4, 5, 1)] == [
        True,
        True,
        False,
        True,
        True,
        True,
        True,
    ]


@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), st.none() | st.integers(0, 20), st.integers(0, 5))), st.data())
def test_saving_and_restoring_gives_the_same_answers(events: list[tuple[str, int | None, int]], data: st.DataObject) -> None:
    """A restored index decides every later event exactly as the original would."""
    cut = data.draw(st.integers(0, len(events)))
    original = DedupIndex(window=4)
    for symbol, seq, digest in events[:cut]:
        original.admit(None if seq is None else ("p", "s", symbol, "t"), seq, digest)
    restored = DedupIndex.from_builtins(original.to_builtins(), window=4)
    for symbol, seq, digest in events[cut:]:
        key = None if seq is None else ("p", "s", symbol, "t")
        assert restored.admit(key, seq, digest) == original.admit(key, seq, digest)
