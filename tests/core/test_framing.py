from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mdc.core.framing import Framer, Oversize, Unterminated, feed, finish


def frame_all(chunks: list[bytes], limit: int = 1 << 20) -> list[object]:
    state = Framer(max_line_bytes=limit)
    frames: list[object] = []
    for chunk in chunks:
        state, found = feed(state, chunk)
        frames.extend(found)
    return frames + list(finish(state))


@given(
    st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")), max_size=20), st.data()
)
def test_chunking_does_not_change_the_lines(lines: list[bytes], data: st.DataObject) -> None:
    """However the input is cut into chunks, the same lines come out."""
    text = b"".join(line + b"\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    chunks = [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert frame_all(chunks) == lines


def test_crlf_is_tolerated() -> None:
    """Windows line endings lose their CR."""
    assert frame_all([b"a\r\nb\r\n"]) == [b"a", b"b"]


def test_a_last_line_without_newline_is_unterminated() -> None:
    """The tail at end of input is marked so the caller can tell truncation."""
    assert frame_all([b"a\nb"]) == [b"a", Unterminated(b"b")]


def test_an_over_long_line_is_skipped_with_bounded_memory() -> None:
    """A 10 MB line arriving in pieces yields one Oversize with its length and a bounded prefix."""
    chunk = b"x" * 65536
    state = Framer(max_line_bytes=1000)
    frames: list[object] = []
    for _ in range(160):
        state, found = feed(state, chunk)
        frames.extend(found)
        assert len(state.pending) <= 65536
    state, found = feed(state, b"tail\nnext\n")
    frames.extend(found)
    (oversize, following) = frames
    assert isinstance(oversize, Oversize)
    assert oversize.length == 160 * 65536 + 4
    assert following == b"next"


def test_an_over_long_line_inside_one_chunk() -> None:
    """Long lines found within a chunk are also cut to a prefix."""
    frames = frame_all([b"short\n" + b"y" * 5000 + b"\nok\n"], limit=100)
    assert frames[0] == b"short"
    assert isinstance(frames[1], Oversize)
    assert frames[1].length == 5000
    assert frames[2] == b"ok"


def test_crlf_split_across_chunks() -> None:
    """A CR at the end of one chunk and its LF at the start of the next still frame one line."""
    assert frame_all([b"a\r", b"\nb\r\n"]) == [b"a", b"b"]
