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
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import msgspec
from attrs import field, frozen
from returns.result import Result, Success

from .codec import DECODERS, decode_fast, decode_line, encode_event, encode_json
from .collectors import Collectors, Outcome, Transient, freeze, observe_in, rejected_in, thaw
from .errors import Violation, Violations, violation
from .events import SCHEMA_VERSION, Depth, MarketEvent, Quote, Trade
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
    decoders = DECODERS
    for frame in frames:
        line_no += 1
        event: MarketEvent | None = None
        checked: MarketEvent | list[Violation] | None
        if isinstance(frame, bytes):
            # decode_fast, inline: the tag picks the decoder, anything unusual takes the slow path
            decoder = decoders.get(frame[9 : frame.find(b'"', 9)]) if frame.startswith(b'{"type":"') else None
            if decoder is not None:
                try:
                    event = decoder.decode(frame)
                except (msgspec.DecodeError, UnicodeDecodeError):
                    event = None
                else:
                    if event.v != SCHEMA_VERSION:
                        event = None
            if event is None:
                event, checked = _decode_and_check(frame, policy)
            else:
                checked = check(event, policy)
        else:
            checked = _special(frame, policy, line_no, rejects)
            if checked is None:
                continue
        if isinstance(checked, list):
            rejects.append(_rejected(transient, event, checked, line_no, frame, lines, integrity_counts))
            continue
        outcome = observe_in(transient, checked)
        if not isinstance(outcome, Outcome):
            passed += 1
            if outcome is event and isinstance(frame, bytes) and passes_as_is(frame, outcome):
                lines.append(frame)
            else:
                lines.append(encode_event(outcome))
            continue
        passed += _findings(outcome, line_no, frame, lines, rejects, integrity_counts)
    new_counts = Counts(line_no, counts.passed + passed, counts.rejected + len(rejects), integrity_counts)
    return ValidatorState(freeze(transient), new_counts), Batch(lines, rejects)


# The canonical start of a line of each type that may pass through as it is.
_WHITESPACE: Final = b" \t\r"
_PREFIX: Final[dict[type, bytes]] = {cls: b'{"type":"%s","v":1,' % cls.TYPE.encode() for cls in (Trade, Quote, Depth)}


def passes_as_is(line: bytes, event: MarketEvent) -> bool:
    """Whether an accepted line may be written out byte for byte instead of re-encoded.

    True for a trade, quote or depth line that starts as mdc writes it
    (``{"type":...,"v":1,``), holds no JSON whitespace, was left unchanged by
    validation (so its timestamps are canonical and its side was known) and
    has exactly one string value per string field of the event. The last test
    is a count of ``":"`` (a key followed by a string), which in compact JSON
    cannot occur inside a string; it catches a price or size given as a string
    (accepted on input, written as a number) and a missing ``side`` (mdc always
    writes it). Such a line differs from mdc's own encoding at most in key order
    and number notation; a field this version does not know and which holds
    a string sends the line to re-encoding, and one with another value is kept.
    Checking costs a fraction of re-encoding, and most input was written by mdc.

    Args:
        line: the input line.
        event: the event decoded from it, after validation.

    Returns:
        Whether to write ``line`` itself.
    """
    cls = type(event)
    prefix = _PREFIX.get(cls)
    if prefix is None or not line.startswith(prefix) or len(line.translate(None, _WHITESPACE)) != len(line):
        return False
    # type, symbol, ts, ts_recv, provider and stream are strings in every event
    if isinstance(event, Trade):  # + side, exchange?, trade_id?
        strings = 7 + (event.exchange is not None) + (event.trade_id is not None)
    elif isinstance(event, Quote):  # + bid_exchange?, ask_exchange?
        strings = 6 + (event.bid_exchange is not None) + (event.ask_exchange is not None)
    elif isinstance(event, Depth):  # + side, op, exchange?
        strings = 8 + (event.exchange is not None)
    else:
        return False
    return line.count(b'":"') == strings


def check_frames(line_no: int, frames: Sequence[Frame], policy: Policy) -> tuple[list[MarketEvent], list[Reject]]:
    """Decode and check a batch without the collectors (for aggregations such as ``mdc-bars``).

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
        _, checked = _check_frame(frame, policy, line_no, rejects)
        if isinstance(checked, list):
            rejects.append(Reject(line_no, _raw(frame), tuple(checked)))
        elif checked is not None:
            events.append(checked)
    return events, rejects


def check_lines(
    line_no: int,
    frames: Sequence[Frame],
    policy: Policy,
    refuse: Callable[[MarketEvent], Violation | None] | None = None,
) -> tuple[list[tuple[MarketEvent, bytes]], list[Reject]]:
    """Like :func:`check_frames`, with each valid event's line as it should be written (for sinks).

    The line is the input itself when :func:`passes_as_is` allows, else the canonical encoding.

    Args:
        line_no: how many lines came before this batch.
        frames: the batch, in input order.
        policy: the tunable limits.
        refuse: a further check of valid events by the sink (a Parquet store refuses
            decimals it cannot hold exactly); its violation rejects the line.

    Returns:
        (event, line without newline) pairs and the rejects, each in input order.
    """
    accepted: list[tuple[MarketEvent, bytes]] = []
    rejects: list[Reject] = []
    for frame in frames:
        line_no += 1
        event, checked = _check_frame(frame, policy, line_no, rejects)
        if refuse is not None and checked is not None and not isinstance(checked, list):
            refused = refuse(checked)
            if refused is not None:
                checked = [refused]
        if isinstance(checked, list):
            rejects.append(Reject(line_no, _raw(frame), tuple(checked)))
        elif checked is None:
            continue
        elif checked is event and isinstance(frame, bytes) and passes_as_is(frame, checked):
            accepted.append((checked, frame))
        else:
            accepted.append((checked, encode_event(checked)))
    return accepted, rejects


def _check_frame(
    frame: Frame, policy: Policy, line_no: int, rejects: list[Reject]
) -> tuple[MarketEvent | None, MarketEvent | list[Violation] | None]:
    """(the decoded event, the checked event or its violations); None when already rejected."""
    if isinstance(frame, bytes):
        event = decode_fast(frame)
        if event is None:
            return _decode_and_check(frame, policy)
        return event, check(event, policy)
    return None, _special(frame, policy, line_no, rejects)


def _raw(frame: Frame) -> bytes:
    match frame:
        case bytes():
            return frame
        case Unterminated():
            return frame.line
        case Oversize():
            return frame.prefix


def _rejected(  # noqa: PLR0917 - a private step of the loop above, sharing its locals
    transient: Transient,
    event: MarketEvent | None,
    violations: list[Violation],
    line_no: int,
    frame: Frame,
    lines: list[bytes],
    integrity_counts: dict[str, int],
) -> Reject:
    """A line that broke rules: count its sequence number when it has one, and build its reject."""
    if event is not None:
        found, rejection = rejected_in(transient.sequences, event, violations)
        if found is not None:
            lines.append(encode_event(found))
            integrity_counts[found.kind] = integrity_counts.get(found.kind, 0) + 1
        if rejection is not None:
            violations.append(rejection)
    return Reject(line_no, _raw(frame), tuple(violations))


def _findings(  # noqa: PLR0917 - a private step of the loop above, sharing its locals
    outcome: Outcome,
    line_no: int,
    frame: Frame,
    lines: list[bytes],
    rejects: list[Reject],
    integrity_counts: dict[str, int],
) -> int:
    """Write what the collectors found and the event (or its rejection); 1 if the event passed."""
    for found in outcome.integrity:
        lines.append(encode_event(found))
        integrity_counts[found.kind] = integrity_counts.get(found.kind, 0) + 1
    if outcome.event is None:
        if outcome.rejection is not None:
            rejects.append(Reject(line_no, _raw(frame), (outcome.rejection,)))
        return 0
    lines.append(encode_event(outcome.event))
    return 1


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
    "check_lines",
    "describe_reject",
    "encode_reject",
    "validate_frames",
    "validate_line",
]
