"""The validation pipeline of ``mdc-validate``: framed lines in, events and rejects out.

:func:`validate_frames` is the whole job of the command as a pure function over
one batch of framed input: decode, check the rules, run the collectors, and
count. It is the railway :func:`validate_line` (``decode_line`` then
``validate_event``) followed by :func:`~mdc.core.collectors.observe`, written
as one loop that builds no ``Result`` per line; a property test holds the two
to the same answers.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Final

from attrs import field, frozen
from returns.result import Result, Success

from .codec import decode_fast, decode_line, encode_event, encode_json
from .collectors import Collectors, Outcome, freeze, observe_in, rejected_in, thaw
from .errors import Violation, Violations, violation
from .events import Depth, MarketEvent, Quote, Trade
from .framing import KEPT_PREFIX_BYTES, Frame, Oversize, Unterminated
from .validate import Policy, check, validate_event


@frozen
class Counts:
    """Running totals for the summary line.

    Attributes:
        read: lines read (every frame, blank ones included).
        passed: lines that passed.
        rejected: lines rejected; ``read == passed + rejected`` always.
        integrity: integrity events the collectors emitted, by kind.
    """

    read: int = 0
    passed: int = 0
    rejected: int = 0
    integrity: Mapping[str, int] = field(factory=dict)


@frozen
class ValidatorState:
    """Everything ``mdc-validate`` carries from one batch to the next.

    Attributes:
        collectors: the sequence and market collectors.
        counts: the totals so far.
    """

    collectors: Collectors = field(factory=Collectors)
    counts: Counts = field(factory=Counts)


@frozen
class Reject:
    """A line that did not pass.

    Attributes:
        line_no: its 1-based line number in the input, or None for an event judged
            after decoding (such as a late trade in ``mdc-bars``).
        raw: its bytes (for an over-long line, the first part).
        reasons: every violation found.
        length: its full length when only a prefix is kept, else None.
    """

    line_no: int | None
    raw: bytes
    reasons: Violations
    length: int | None = None


@frozen
class Batch:
    """The outcome of one batch.

    Attributes:
        lines: what to write out, in order, each without its newline: passed
            events and integrity events, as encoded lines.
        rejects: the lines that did not pass, in order.
    """

    lines: list[bytes]
    rejects: list[Reject]

    def output(self) -> bytes:
        """The lines as NDJSON (each followed by a newline)."""
        return b"".join(line + b"\n" for line in self.lines)


def validate_line(line: bytes, policy: Policy) -> Result[MarketEvent, Violations]:
    """Decode and check one line: the railway form of the stateless part of the pipeline.

    Args:
        line: one line without its newline.
        policy: the tunable limits.

    Returns:
        ``Success(event)`` or ``Failure`` with every violation.
    """
    return decode_line(line).bind(lambda event: validate_event(event, policy))


def validate_frames(state: ValidatorState, frames: Sequence[Frame], policy: Policy) -> tuple[ValidatorState, Batch]:
    """Validate a batch of framed input lines.

    Args:
        state: the state after the previous batch.
        frames: the batch, in input order.
        policy: the tunable limits.

    Returns:
        The new state and what to write: events (passed and integrity) and rejects.
    """
    transient = thaw(state.collectors)
    counts = state.counts
    line_no = counts.read
    passed = 0
    integrity_counts = dict(counts.integrity)
    lines: list[bytes] = []
    rejects: list[Reject] = []
    for frame in frames:
        line_no += 1
        event: MarketEvent | None = None
        checked: MarketEvent | list[Violation] | None
        if isinstance(frame, bytes):
            event = decode_fast(frame)
            if event is None:
                event, checked = _decode_and_check(frame, policy)
            else:
                checked = check(event, policy)
        else:
            checked = _special(frame, policy, line_no, rejects)
            if checked is None:
                continue
        if isinstance(checked, list):
            if event is not None:
                found, rejection = rejected_in(transient.sequences, event, checked)
                if found is not None:
                    lines.append(encode_event(found))
                    integrity_counts[found.kind] = integrity_counts.get(found.kind, 0) + 1
                if rejection is not None:
                    checked.append(rejection)
            rejects.append(Reject(line_no, _raw(frame), tuple(checked)))
            continue
        outcome = observe_in(transient, checked)
        if not isinstance(outcome, Outcome):
            passed += 1
            if outcome is event and isinstance(frame, bytes) and passes_as_is(frame, outcome):
                lines.append(frame)
            else:
                lines.append(encode_event(outcome))
            continue
        for found in outcome.integrity:
            lines.append(encode_event(found))
            integrity_counts[found.kind] = integrity_counts.get(found.kind, 0) + 1
        if outcome.event is None:
            if outcome.rejection is not None:
                rejects.append(Reject(line_no, _raw(frame), (outcome.rejection,)))
            continue
        lines.append(encode_event(outcome.event))
        passed += 1
    new_counts = Counts(line_no, counts.passed + passed, counts.rejected + len(rejects), integrity_counts)
    return ValidatorState(freeze(transient), new_counts), Batch(lines, rejects)


# Keys whose values must be JSON numbers; a quoted value there (accepted on input) must be rewritten.
# Keys every line mdc writes carries although the reader has a default for them.
_ALWAYS_WRITTEN: Final[dict[type, tuple[bytes, ...]]] = {
    Trade: (b'"v":', b'"side":'),
    Quote: (b'"v":',),
    Depth: (b'"v":',),
}
_NUMBER_KEYS: Final[dict[type, tuple[bytes, ...]]] = {
    Trade: (b'"price":"', b'"size":"'),
    Quote: (b'"bid_price":"', b'"bid_size":"', b'"ask_price":"', b'"ask_size":"'),
    Depth: (b'"price":"', b'"size":"'),
}


def passes_as_is(line: bytes, event: MarketEvent) -> bool:
    """Whether an accepted line may be written out byte for byte instead of re-encoded.

    True for a trade, quote or depth line that the fast path decoded (so it
    starts with its ``type``), that validation left unchanged (so its
    timestamps are canonical), that holds no JSON whitespace, writes ``v`` (and
    a trade's ``side``) and gives its prices and sizes as numbers. Such a line differs from mdc's own
    encoding at most in key order after ``type``, number notation and fields
    this version does not know, which it keeps. Re-encoding costs as much as
    all the rules together, and most input was written by mdc in the first place.

    Args:
        line: the input line.
        event: the event decoded from it, after validation.

    Returns:
        Whether to write ``line`` itself.
    """
    keys = _NUMBER_KEYS.get(type(event))
    if keys is None or b" " in line or b"\t" in line or b"\r" in line:
        return False
    for key in _ALWAYS_WRITTEN[type(event)]:
        if key not in line:
            return False
    return all(key not in line for key in keys)


def check_frames(line_no: int, frames: Sequence[Frame], policy: Policy) -> tuple[list[MarketEvent], list[Reject]]:
    """Decode and check a batch without the collectors (for sinks such as ``mdc-store``).

    Args:
        line_no: how many lines came before this batch.
        frames: the batch, in input order.
        policy: the tunable limits.

    Returns:
        The valid events (timestamps canonical) and the rejects, each in input order.
    """
    events: list[MarketEvent] = []
    rejects: list[Reject] = []
    for frame in frames:
        line_no += 1
        checked: MarketEvent | list[Violation] | None
        if isinstance(frame, bytes):
            event = decode_fast(frame)
            checked = _slow(frame, policy) if event is None else check(event, policy)
        else:
            checked = _special(frame, policy, line_no, rejects)
            if checked is None:
                continue
        if isinstance(checked, list):
            rejects.append(Reject(line_no, _raw(frame), tuple(checked)))
        else:
            events.append(checked)
    return events, rejects


def _raw(frame: Frame) -> bytes:
    match frame:
        case bytes():
            return frame
        case Unterminated():
            return frame.line
        case Oversize():
            return frame.prefix


def _decode_and_check(line: bytes, policy: Policy) -> tuple[MarketEvent | None, MarketEvent | list[Violation]]:
    """The slow path: (the decoded event or None, the checked event or every violation)."""
    decoded = decode_line(line)
    if not isinstance(decoded, Success):
        return None, list(decoded.failure())
    event: MarketEvent = decoded.unwrap()
    return event, check(event, policy)


def _slow(line: bytes, policy: Policy) -> MarketEvent | list[Violation]:
    result = validate_line(line, policy)
    if isinstance(result, Success):
        event: MarketEvent = result.unwrap()
        return event
    return list(result.failure())


def _special(
    frame: Oversize | Unterminated, policy: Policy, line_no: int, rejects: list[Reject]
) -> MarketEvent | list[Violation] | None:
    if isinstance(frame, Oversize):
        rejects.append(
            Reject(
                line_no,
                frame.prefix,
                (
                    violation(
                        "line_too_long",
                        "$",
                        frame.length,
                        f"line is {frame.length} bytes long; the limit is set by --max-line-bytes "
                        f"(first {min(frame.length, KEPT_PREFIX_BYTES)} bytes kept)",
                    ),
                ),
                frame.length,
            )
        )
        return None
    checked = _slow(frame.line, policy)
    if type(checked) is list:
        return [
            violation("truncated_line", "$", None, "the input ended in the middle of this line (no newline after it)"),
            *checked,
        ]
    return checked


def encode_reject(reject: Reject) -> bytes:
    """The reject-file record of a rejected line (one JSON object, no newline).

    ``raw`` holds the line as text; when it is not valid UTF-8 it is also given
    exactly as ``raw_base64``; an over-long line keeps its first part and its ``length``.

    Args:
        reject: the rejected line.

    Returns:
        JSON bytes: ``{"line_no", "raw", "reasons": [{"rule", "field", "value", "message"}], ...}``.
    """
    record: dict[str, object] = {"line_no": reject.line_no}
    try:
        record["raw"] = reject.raw.decode("utf-8")
    except UnicodeDecodeError:
        record["raw"] = reject.raw.decode("utf-8", "replace")
        record["raw_base64"] = base64.b64encode(reject.raw).decode("ascii")
    if reject.length is not None:
        record["length"] = reject.length
    record["reasons"] = [
        {"rule": reason.rule, "field": reason.field, "value": reason.value, "message": reason.message}
        for reason in reject.reasons
    ]
    return encode_json(record)


def describe_reject(reject: Reject) -> str:
    """One line for stderr: ``line 42: price must be > 0 (got -1.5) at $.price; ...``."""
    where = "" if reject.line_no is None else f"line {reject.line_no}: "
    return where + "; ".join(reason.describe() for reason in reject.reasons)


__all__ = [
    "Batch",
    "Counts",
    "Reject",
    "ValidatorState",
    "check_frames",
    "describe_reject",
    "encode_reject",
    "validate_frames",
    "validate_line",
]
