r"""NDJSON framing: bytes in, complete lines out, with bounded memory.

A pure state machine in the manner of h11's receive buffer: feed it chunks as
they arrive and it returns the complete lines; :func:`finish` at end of input
returns what is left. A line longer than the limit is not buffered whole: its
first bytes are kept for the reject record and the rest is skipped up to the
next newline, so a 10 GB file without newlines costs no more memory than a
normal one.

>>> state, lines = feed(Framer(), b'{"a":1}\n{"b"')
>>> lines
[b'{"a":1}']
>>> finish(feed(state, b':2}')[0])
[Unterminated(line=b'{"b":2}')]
"""

from __future__ import annotations

from typing import Final

from attrs import frozen

DEFAULT_MAX_LINE_BYTES: Final = 1 << 20
"""Lines longer than this (1 MiB) are rejected as ``line_too_long``."""
KEPT_PREFIX_BYTES: Final = 64 << 10
"""How much of an over-long line is kept for the reject record."""


@frozen
class Oversize:
    """A line longer than the limit.

    Attributes:
        prefix: its first :data:`KEPT_PREFIX_BYTES` bytes.
        length: its full length in bytes (without the newline).
    """

    prefix: bytes
    length: int


@frozen
class Unterminated:
    """The last piece of input, which had no newline after it.

    Attributes:
        line: its bytes.
    """

    line: bytes


Frame = bytes | Oversize | Unterminated
"""One item of framed input: a complete line (without newline or CR) or a special case."""


@frozen
class Framer:
    """Framing state between chunks.

    Attributes:
        pending: the start of an unfinished line.
        max_line_bytes: the line-length limit.
        skipping: the length so far of an over-long line being skipped, or -1.
    """

    pending: bytes = b""
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    skipping: int = -1


def feed(state: Framer, data: bytes) -> tuple[Framer, list[Frame]]:
    """Add a chunk of input.

    Args:
        state: the framer before the chunk.
        data: the chunk.

    Returns:
        The framer after it and the lines it completed, in order.
    """
    limit = state.max_line_bytes
    frames: list[Frame] = []
    if state.skipping >= 0:
        newline = data.find(b"\n")
        if newline < 0:
            return Framer(state.pending, limit, state.skipping + len(data)), frames
        frames.append(Oversize(state.pending, state.skipping + newline))
        data = data[newline + 1 :]
        state = Framer(b"", limit)
    text = state.pending + data if state.pending else data
    lines = text.split(b"\n")
    rest = lines.pop()
    # No complete line is longer than the text less its newlines and the rest: mostly, no need to look at each
    if b"\r" not in text and (len(text) - len(lines) - len(rest) <= limit or max(map(len, lines)) <= limit):
        frames += lines  # the common case, without a Python-level loop
        lines = []
    for line in lines:
        if len(line) > limit:
            frames.append(Oversize(line[:KEPT_PREFIX_BYTES], len(line)))
        else:
            frames.append(line[:-1] if line.endswith(b"\r") else line)
    if len(rest) > limit:
        return Framer(rest[:KEPT_PREFIX_BYTES], limit, len(rest)), frames
    return Framer(rest, limit), frames


def finish(state: Framer) -> list[Frame]:
    """End of input: whatever is pending becomes the last frame.

    Args:
        state: the framer after the last chunk.

    Returns:
        An empty list when the input ended with a newline, else one frame.
    """
    if state.skipping >= 0:
        return [Oversize(state.pending, state.skipping)]
    if not state.pending:
        return []
    line = state.pending[:-1] if state.pending.endswith(b"\r") else state.pending
    return [Unterminated(line)]
