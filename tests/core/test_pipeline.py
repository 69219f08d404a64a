from __future__ import annotations

import base64
import json

import msgspec
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Success

from mdc.core.codec import decode_line, encode_event
from mdc.core.collectors import Collectors, freeze, observe, rejected_in, thaw
from mdc.core.framing import Framer, feed, finish
from mdc.core.pipeline import ValidatorState, check_frames, encode_reject, validate_frames, validate_line
from mdc.core.validate import Policy
from mdc.testing.strategies import events

GOOD = (
    b'{"type":"trade","v":1,"symbol":"SPY","ts":"2026-11-24T14:30:00.000000001Z",'
    b'"ts_recv":"2026-11-24T14:30:00.000000002Z","provider":"sim","stream":"t","seq":1,"price":10.5,"size":1,"side":"buy"}'
)


def run_text(text: bytes, max_line_bytes: int = 1 << 20) -> tuple[ValidatorState, list[object], list[object]]:
    framer = Framer(max_line_bytes=max_line_bytes)
    framer, frames = feed(framer, text)
    frames = frames + finish(framer)
    state, batch = validate_frames(ValidatorState(), frames, Policy())
    return state, [decode_line(line).unwrap() for line in batch.lines], batch.rejects


BAD_INPUTS = {
    "blank line": (b"", "blank_line"),
    "not JSON": (b"hello", "not_json"),
    "not an object": (b"[1]", "not_object"),
    "unknown type": (GOOD.replace(b'"trade"', b'"trad"', 1), "unknown_type"),
    "missing field": (GOOD.replace(b'"size":1,', b""), "missing_field"),
    "mistyped field": (GOOD.replace(b'"size":1', b'"size":[1]'), "wrong_type"),
    "NaN literal": (GOOD.replace(b"10.5", b"NaN"), "not_json"),
    "NaN string": (GOOD.replace(b"10.5", b'"NaN"'), "finite_number"),
    "Infinity": (GOOD.replace(b"10.5", b"Infinity"), "not_json"),
    "invalid UTF-8": (GOOD.replace(b"sim", b"s\xffm"), "invalid_utf8"),
    "path symbol": (GOOD.replace(b'"SPY"', b'"../../etc"'), "symbol_grammar"),
    "no zone": (GOOD.replace(b"00.000000001Z", b"00.000000001"), "ts_format"),
}


def test_every_kind_of_bad_input_is_rejected_with_its_reason_and_the_run_goes_on() -> None:
    """Each bad line lands in the rejects with its rule; the good lines around it pass."""
    lines = []
    for index, (line, _) in enumerate(BAD_INPUTS.values()):
        lines += [GOOD.replace(b'"seq":1', b'"seq":%d' % (2 * index + 1)), line]
    lines.append(GOOD.replace(b'"seq":1', b'"seq":999'))
    state, _, rejects = run_text(b"\n".join(lines) + b"\n")
    assert [reject.reasons[0].rule for reject in rejects] == [rule for _, rule in BAD_INPUTS.values()]  # type: ignore[attr-defined]
    assert state.counts.passed == len(BAD_INPUTS) + 1
    assert state.counts.read == state.counts.passed + state.counts.rejected


def test_a_ten_megabyte_line_is_rejected_and_the_next_line_passes() -> None:
    """The over-long line is reported with its length; memory is bounded by the framer."""
    huge = b'{"type":"trade","junk":"' + b"x" * (10 << 20) + b'"}'
    _, passed, rejects = run_text(huge + b"\n" + GOOD + b"\n")
    (reject,) = rejects
    assert reject.reasons[0].rule == "line_too_long"  # type: ignore[attr-defined]
    assert reject.length == len(huge)  # type: ignore[attr-defined]
    assert len(passed) == 1


def test_a_truncated_last_line_is_rejected_as_truncated() -> None:
    """The input ending mid-line reports truncated_line first."""
    _, passed, rejects = run_text(GOOD + b"\n" + GOOD[:50])
    assert len(passed) == 1
    assert [reason.rule for reason in rejects[0].reasons][:2] == ["truncated_line", "not_json"]  # type: ignore[attr-defined]


def test_a_complete_last_line_without_newline_passes() -> None:
    """A file missing only its final newline loses nothing."""
    _, passed, rejects = run_text(GOOD)
    assert (len(passed), rejects) == (1, [])


def test_reject_records_keep_the_original_line_and_every_reason() -> None:
    """The record is JSON with line_no, the raw text and all reasons; non-UTF-8 is kept exactly in base64."""
    _, _, rejects = run_text(GOOD.replace(b'"SPY"', b'"../x"').replace(b"10.5", b"-1") + b"\n\xff\n")
    first = json.loads(encode_reject(rejects[0]))  # type: ignore[arg-type]
    assert first["line_no"] == 1
    assert first["raw"].encode() == GOOD.replace(b'"SPY"', b'"../x"').replace(b"10.5", b"-1")
    assert [reason["rule"] for reason in first["reasons"]] == ["symbol_grammar", "price_positive"]
    assert set(first["reasons"][0]) == {"rule", "field", "value", "message"}
    second = json.loads(encode_reject(rejects[1]))  # type: ignore[arg-type]
    assert base64.b64decode(second["raw_base64"]) == b"\xff"


lines = st.one_of(
    st.binary(max_size=60),
    events().map(encode_event),
    st.builds(
        lambda event, key, value: msgspec.json.encode({**msgspec.json.decode(encode_event(event)), key: value}),
        events(),
        st.sampled_from(["price", "size", "ts", "symbol", "seq", "side", "v", "bids", "op", "type"]),
        st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=2),
    ),
    events().map(encode_event).map(lambda line: line[: len(line) // 2]),
)


@given(st.lists(lines, max_size=25), st.integers(1, 7))
def test_random_input_never_crashes_and_the_accounting_adds_up(batch: list[bytes], splits: int) -> None:
    """Random bytes and near-valid events: no exception, and read = passed + rejected over any batching."""
    text = b"".join(line.replace(b"\n", b" ") + b"\n" for line in batch)
    framer = Framer()
    state = ValidatorState()
    size = max(1, len(text) // splits)
    out = 0
    for start in range(0, len(text), size):
        framer, frames = feed(framer, text[start : start + size])
        state, result = validate_frames(state, frames, Policy())
        out += len(result.lines)
    state, result = validate_frames(state, finish(framer), Policy())
    counts = state.counts
    assert counts.read == len(batch)
    assert counts.read == counts.passed + counts.rejected
    assert out + len(result.lines) == counts.passed + sum(counts.integrity.values())


@given(st.lists(lines, max_size=20))
def test_the_batch_loop_agrees_with_the_railway(batch: list[bytes]) -> None:
    """validate_frames equals validate_line (decode then validate) followed by the collectors, line by line."""
    frames = [line.replace(b"\n", b" ") for line in batch]
    _, result = validate_frames(ValidatorState(), frames, Policy())
    collectors = Collectors()
    expected_events = []
    expected_rejects = []
    for number, line in enumerate(frames, start=1):
        checked = validate_line(line, Policy())
        if not isinstance(checked, Success):
            reasons = checked.failure()
            decoded = decode_line(line)
            if isinstance(decoded, Success):
                # a decodable but invalid event still counts in its stream's sequence
                transient = thaw(collectors)
                found, rejection = rejected_in(transient.sequences, decoded.unwrap(), reasons)
                collectors = freeze(transient)
                expected_events += [found] if found is not None else []
                reasons += (rejection,) if rejection is not None else ()
            expected_rejects.append((number, reasons))
            continue
        collectors, outcome = observe(collectors, checked.unwrap())
        expected_events += list(outcome.integrity)
        if outcome.event is None:
            expected_rejects.append((number, (outcome.rejection,)))
        else:
            expected_events.append(outcome.event)
    assert [decode_line(line).unwrap() for line in result.lines] == expected_events
    assert [(reject.line_no, reject.reasons) for reject in result.rejects] == expected_rejects


def test_check_frames_skips_the_collectors() -> None:
    """Sinks check lines but do not reject sequence regressions (validate already judged them)."""
    second = GOOD.replace(b'"seq":1', b'"seq":0')
    events_, rejects = check_frames(0, [GOOD, second, b"x"], Policy())
    assert len(events_) == 2
    assert [reject.line_no for reject in rejects] == [3]


def test_unchanged_canonical_lines_pass_byte_for_byte_and_others_are_rewritten() -> None:
    """A line needing no change is written as it came; quoted numbers, spaces or offsets get the canonical form."""
    quoted = GOOD.replace(b"10.5", b'"10.5"')
    spaced = GOOD.replace(b'"size":1', b'"size": 1').replace(b'"seq":1', b'"seq":2')
    offset = GOOD.replace(b"00.000000001Z", b"00.000000001+00:00").replace(b'"seq":1', b'"seq":3')
    no_version = GOOD.replace(b'"v":1,', b"").replace(b'"seq":1', b'"seq":4')
    _, batch = validate_frames(ValidatorState(), [GOOD, quoted.replace(b'"seq":1', b'"seq":2')], Policy())
    assert batch.lines[0] is GOOD
    assert b'"price":10.5,' in batch.lines[1]
    _, batch = validate_frames(ValidatorState(), [spaced, offset, no_version], Policy())
    assert [line == encode_event(decode_line(line).unwrap()) for line in batch.lines] == [True, True, True]
    assert b'"size":1' in batch.lines[0]
    assert b"+00:00" not in batch.lines[1]


def test_unknown_fields_survive_when_the_line_passes_as_is() -> None:
    """A field added in a later minor version is kept when nothing else changes, unless it holds a string."""
    newer = GOOD[:-1] + b',"venue_seq":12345}'
    _, batch = validate_frames(ValidatorState(), [newer], Policy())
    assert batch.lines == [newer]
    with_string = GOOD[:-1] + b',"venue":"XNAS"}'
    _, batch = validate_frames(ValidatorState(), [with_string], Policy())
    assert batch.lines == [GOOD]  # re-encoded: this version cannot tell the string from a quoted number


def test_a_quoted_number_behind_whitespace_is_still_caught() -> None:
    """`"price": "10.5"` must not slip through the string count; any whitespace means re-encoding."""
    spaced = GOOD.replace(b'"price":10.5', b'"price": "10.5"')
    _, batch = validate_frames(ValidatorState(), [spaced], Policy())
    assert batch.lines == [GOOD]


def test_a_rejected_event_still_advances_its_sequence() -> None:
    """seq 1, a bad seq 2, then seq 3: no false gap, because message 2 did arrive."""
    bad = GOOD.replace(b'"seq":1', b'"seq":2').replace(b"10.5", b"-1")
    third = GOOD.replace(b'"seq":1', b'"seq":3')
    state, batch = validate_frames(ValidatorState(), [GOOD, bad, third], Policy())
    assert state.counts.integrity == {}
    assert len(batch.lines) == 2


def test_a_rejected_line_in_another_key_order_also_advances_its_sequence() -> None:
    """The slow decoding path counts the sequence too."""
    bad = GOOD.replace(b'{"type":"trade","v":1,', b'{"v":1,"type":"trade",').replace(b'"seq":1', b'"seq":2')
    bad = bad.replace(b"10.5", b"-1")
    third = GOOD.replace(b'"seq":1', b'"seq":3')
    state, _ = validate_frames(ValidatorState(), [GOOD, bad, third], Policy())
    assert state.counts.integrity == {}


def test_an_event_with_a_bad_time_or_identity_stamps_no_integrity_event() -> None:
    """A gap revealed by a line with an invalid ts or symbol is not reported with that ts or symbol."""
    no_zone = GOOD.replace(b'"seq":1', b'"seq":5').replace(b"00.000000001Z", b"00.000000001")
    bad_symbol = GOOD.replace(b'"seq":1', b'"seq":9').replace(b'"SPY"', b'"../x"')
    after = GOOD.replace(b'"seq":1', b'"seq":6')
    state, batch = validate_frames(ValidatorState(), [GOOD, no_zone, after, bad_symbol], Policy())
    assert state.counts.integrity == {}  # 5 advanced the sequence silently; ../x is no stream of ours
    assert len(batch.lines) == 2


def test_a_rejected_line_with_an_offset_time_stamps_its_gap_canonically() -> None:
    """Integrity events always carry canonical timestamps."""
    offset = GOOD.replace(b'"seq":1', b'"seq":5').replace(b"00.000000001Z", b"00.000000001+00:00")
    offset = offset.replace(b"10.5", b"-1")
    _, batch = validate_frames(ValidatorState(), [GOOD, offset], Policy())
    (gap,) = [decode_line(line).unwrap() for line in batch.lines[1:]]
    assert gap.kind == "sequence_gap"  # type: ignore[union-attr]
    assert gap.ts == "2026-11-24T14:30:00.000000001Z"


def test_a_trade_line_without_side_is_rewritten_with_it() -> None:
    """mdc always writes a trade's side, so a line that leaves it out is not passed through."""
    _, batch = validate_frames(ValidatorState(), [GOOD.replace(b',"side":"buy"', b"")], Policy())
    assert b'"side":"unknown"' in batch.lines[0]
