"""mdc-book's batch function: the fast path gives what the general path gives, byte for byte."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdc.core.book import BookState, Emission
from mdc.core.book_lines import BookRun, book_frames, book_frames_generally
from mdc.core.codec import encode_event
from mdc.core.framing import Framer, feed, finish
from mdc.core.pipeline import Reject
from mdc.core.validate import Policy
from mdc.testing.strategies import depths, events, snapshots

BIN = Path(sys.executable).parent
POLICY = Policy(max_skew_ns=2**62)  # as mdc-book sets it
EMISSIONS = st.builds(
    Emission,
    levels=st.sampled_from([0, 1, 3, 10]),
    every=st.sampled_from([0, 0, 1, 7, 100]),
    every_ns=st.sampled_from([0, 0, 1_000_000, 10**9]),
)


def run_both(
    data: bytes, emission: Emission, chunk: int, policy: Policy = POLICY
) -> tuple[tuple[BookRun, bytes, list[Reject]], tuple[BookRun, bytes, list[Reject]]]:
    """Frame ``data`` in chunks as mdc-book reads it; each function's state, output and rejects over all of it."""
    framer = Framer(max_line_bytes=4096)
    batches = []
    for start in range(0, len(data), chunk):
        framer, frames = feed(framer, data[start : start + chunk])
        batches.append(frames)
    batches.append(finish(framer))
    results = []
    for function in (book_frames, book_frames_generally):
        run = BookRun(BookState(emission))
        output: list[bytes] = []
        rejects: list[Reject] = []
        for frames in batches:
            run, lines, bad = function(run, frames, policy)
            output.append(lines)
            rejects += bad
        results.append((run, b"".join(output), rejects))
    return results[0], results[1]


def assert_same(data: bytes, emission: Emission, chunk: int = 1 << 20, policy: Policy = POLICY) -> None:
    fast, general = run_both(data, emission, chunk, policy)
    assert fast[1] == general[1]  # stdout
    assert fast[2] == general[2]  # rejects, so stderr and the reject file
    assert fast[0] == general[0]  # books and the summary's counts


@pytest.fixture(scope="module", params=["level", "position"])
def sim_stream(request: pytest.FixtureRequest) -> bytes:
    """A simulator stream with every fault, depth and snapshots among other events."""
    argv = [str(BIN / "mdc-capture"), "sim", "SPY", "AAPL", "--seed", "5", "--start", "2026-11-24T14:30:00Z"]
    argv += ["--rate", "max", "--max-events", "4000", "--faults", "all", "--depth-model", request.param]
    return subprocess.run(argv, capture_output=True, check=True).stdout


@given(emission=EMISSIONS, chunk=st.integers(200, 300_000))
def test_the_fast_path_matches_on_simulated_streams_with_faults(
    sim_stream: bytes, emission: Emission, chunk: int
) -> None:
    """Whole sim streams (faults, other events, snapshots): same output, rejects, books and counts."""
    assert_same(sim_stream, emission, chunk)


@given(emission=EMISSIONS)
def test_the_fast_path_matches_on_the_depth_of_simulated_streams(sim_stream: bytes, emission: Emission) -> None:
    """The depth and snapshot lines alone (what the benchmark feeds): the same answers."""
    kept = [line for line in sim_stream.split(b"\n") if line.startswith((b'{"type":"depth"', b'{"type":"snapshot"'))]
    assert_same(b"\n".join(kept) + b"\n", emission)


# Ways to spoil a depth or snapshot line as mdc writes it: each must leave the answers alike.
MUTATIONS: Sequence[tuple[bytes, bytes]] = (
    (b'"ts":"', b'"ts":"x'),
    (b'Z","ts_recv"', b'+00:00","ts_recv"'),
    (b'000Z"', b'0Z"'),
    (b'"ts":"2', b'"ts":"\xd9\xa3'),
    (b'"ts_recv":"2', b'"ts_recv":"1'),
    (b'"v":1,', b'"v":2,'),
    (b'"v":1,', b'"v":1,"v":0,'),
    (b'"v":1,', b'"v":1,"extra":"x",'),
    (b'"v":1,', b'"v":1, '),
    (b'"side":"bid"', b'"side":"BID"'),
    (b'"side":"ask"', b'"side":"sell"'),
    (b'"op":"set"', b'"op":"insert"'),
    (b'"op":"set"', b'"op":"delete"'),
    (b'"op":"delete"', b'"op":"set"'),
    (b'"op":"insert"', b'"op":"update"'),
    (b'"op":"update"', b'"op":"delete"'),
    (b'"position":', b'"position":-'),
    (b'"position":', b'"position":1'),
    (b'"price":', b'"price":-'),
    (b'"price":', b'"price":0'),
    (b'"price":', b'"price":"'),
    (b'"price":', b'"price":1e40,"price":'),
    (b'"size":', b'"size":-'),
    (b'"size":', b'"size":0E-9,"size":'),
    (b'"size":', b'"size":"NaN","size":'),
    (b',"size":', b',"size":0.0000001,"x":'),
    (b'"price":', b'"price":1E+2,"p":'),
    (b'"seq":', b'"seq":-'),
    (b'"seq":', b'"seq":99999999999999999999999'),
    (b'"symbol":"', b'"symbol":"../'),
    (b'"symbol":"', b'"symbol":"\\u0041'),
    (b'"provider":"', b'"provider":"'),
    (b'"provider":"', b'"provider":"a\\"b'),
    (b'"provider":"', b'"provider":"\\u00e9'),
    (b'"stream":"', b'"stream":"<&>/'),
    (b'"stream":"', b'"stream":"",'),
    (b'"bids":[[', b'"bids":[[0,1],['),
    (b'"asks":[[', b'"asks":[[1e9,1],['),
    (b'"asks":[', b'"asks":[["NaN",1],'),
    (b"}", b""),
    (b"}", b',"exchange":"X"}'),
    (b"}", b',"exchange":null}'),
)


@st.composite
def spoiled_lines(draw: st.DrawFn) -> bytes:
    """A valid event's line, often a depth or snapshot, sometimes spoiled in one of the ways above."""
    event = draw(st.one_of(depths(), depths(), snapshots(), events()))
    line = encode_event(event)
    applicable = [mutation for mutation in MUTATIONS if mutation[0] in line]
    if applicable and draw(st.booleans()):
        old, new = draw(st.sampled_from(applicable))
        line = line.replace(old, new, draw(st.sampled_from([1, -1])))
    return line


@given(
    lines=st.lists(spoiled_lines(), max_size=40),
    emission=EMISSIONS,
    chunk=st.integers(50, 10_000),
    tail=st.sampled_from([b"\n", b"", b"\n\n", b"\n \n"]),
)
def test_the_fast_path_matches_on_generated_and_malformed_lines(
    lines: list[bytes], emission: Emission, chunk: int, tail: bytes
) -> None:
    """Generated events, spoiled lines, blank, truncated and over-long ones: the same answers."""
    assert_same(b"\n".join(lines) + tail, emission, chunk)


@given(
    lines=st.lists(spoiled_lines(), min_size=1, max_size=20),
    skew=st.sampled_from([0, 1, 10**9]),
)
def test_the_fast_path_matches_under_a_tight_skew(lines: list[bytes], skew: int) -> None:
    """ts after ts_recv beyond the allowed skew is rejected alike."""
    assert_same(b"\n".join(lines) + b"\n", Emission(), policy=Policy(max_skew_ns=skew))


def test_a_burst_of_one_book_takes_the_fast_path() -> None:
    """A book rebuilt from canonical depth lines gives the general path's quotes, snapshots and integrity."""
    head = b'{"type":"depth","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.000000000Z",'
    head += b'"ts_recv":"2026-11-24T14:30:00.000000001Z","provider":"sim","stream":"d",'
    changes = [
        b'"seq":1,"side":"bid","op":"set","price":9.99,"size":100}',
        b'"seq":2,"side":"ask","op":"set","price":10.01,"size":300}',
        b'"seq":3,"side":"bid","op":"set","price":10.02,"size":5}',  # crossed
        b'"seq":4,"side":"bid","op":"set","price":10.01,"size":5}',  # locked
        b'"seq":5,"side":"bid","op":"delete","price":10.01}',
        b'"seq":6,"side":"bid","op":"delete","price":10.02}',  # back to normal
        b'"side":"ask","op":"set","price":0.0000001,"size":1E+3}',  # written positionally
        b'"seq":7,"side":"ask","op":"update","position":3,"price":10,"size":1}',  # invalid: freezes
        b'"seq":8,"side":"ask","op":"set","price":10.5,"size":1}',  # ignored
    ]
    assert_same(b"".join(head + change + b"\n" for change in changes), Emission(levels=2))


HEAD = (
    b'{"type":"depth","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.000000000Z",'
    b'"ts_recv":"2026-11-24T14:30:00.000000001Z","provider":"sim","stream":"d",'
)
BASES = (
    HEAD + b'"seq":3,"side":"bid","op":"set","price":9.98,"size":100}',
    HEAD + b'"seq":3,"side":"ask","op":"delete","price":10.01}',
    HEAD + b'"seq":3,"side":"bid","op":"insert","position":0,"price":9.98,"size":100}',
    HEAD + b'"seq":3,"side":"ask","op":"update","position":0,"price":10.02,"size":7}',
    HEAD + b'"seq":3,"side":"bid","op":"delete","position":0}',
    b'{"type":"snapshot","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.000000000Z",'
    b'"ts_recv":"2026-11-24T14:30:00.000000001Z","provider":"sim","stream":"d","seq":3,'
    b'"bids":[[9.99,100],[9.98,5]],"asks":[[10.01,300]]}',
)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation[1].decode("utf-8", "replace"))
@pytest.mark.parametrize("model", ["set", "insert"])
def test_every_spoiled_line_is_judged_alike(mutation: tuple[bytes, bytes], model: str) -> None:
    """Each spoiling of each kind of line, in a book of either model: the same answers."""
    old, new = mutation
    start = [
        HEAD
        + b'"seq":1,"side":"bid","op":"%s",%s"price":9.99,"size":100}'
        % (model.encode(), b'"position":0,' * (model == "insert")),
        HEAD
        + b'"seq":2,"side":"ask","op":"%s",%s"price":10.01,"size":300}'
        % (model.encode(), b'"position":0,' * (model == "insert")),
    ]
    after = HEAD + b'"seq":4,"side":"bid","op":"set","price":9.97,"size":1}'
    for base in BASES:
        for count in (1, -1):
            spoiled = base.replace(old, new, count)
            assert_same(b"\n".join([*start, spoiled, after]) + b"\n", Emission(levels=2, every=3))
