"""Snapshot + delta synchronisation: joining a book snapshot to the sequenced deltas of a live feed.

Many feeds publish a book as a snapshot fetched on request (a REST call)
that carries the sequence number of the last update in it, and a stream of
sequenced deltas. Joining them naively loses data: deltas published while the
snapshot is in flight are either applied twice or skipped. This is the safe
way (the one Binance documents for its depth streams, and Coinbase for its
full channel), as a pure state machine per book; the I/O shell does the fetching:

1. **buffering**: keep the deltas that arrive, in order, while a snapshot is
   being fetched (at most :attr:`SyncState.limit`; past that the oldest go and
   one more snapshot is asked for, since the one in flight may now be too old);
2. on a snapshot with sequence ``S``: drop the buffered deltas that end at or
   before ``S``; the first one left must *span* ``S + 1`` (start at or before
   it) and each next one start right after the one before. Then emit the
   snapshot and the buffered changes, and go **live**. When the first one left
   starts after ``S + 1`` the snapshot is too old: ask for another and keep
   buffering. A hole between buffered deltas is a lost message: report it,
   drop what came before it, and ask again;
3. **live**: a delta that ends at or before the last one applied is a repeat
   and is dropped (never applied twice); one that spans the next number is
   applied; one that starts later is a gap: ``integrity sequence_gap``, then
   back to buffering with it and a request for a new snapshot.

A delta is one message of the feed: the ids ``first .. last`` it covers and
the depth changes it carries. For feeds with one number per message,
``first == last == seq``; for feeds with a range per message (Binance ``U``
and ``u``), the range. The changes must be the price-level model, whose
changes are absolute (a level's new size), so the part of the first delta
that the snapshot already holds does no harm when applied again.

Requests are :class:`FetchSnapshot` outputs; answer each with the snapshot
(:func:`step` with the :class:`~mdc.core.events.Snapshot`, its ``seq`` = ``S``)
or with :class:`FetchFailed`. A snapshot that arrives while live is ignored:
the book is already in step. The emitted snapshot and depth events go to
:mod:`mdc.core.book`, whose book the snapshot replaces.

>>> from decimal import Decimal as D
>>> from .events import Depth, Snapshot
>>> ts = "2026-11-24T14:30:00.000000000Z"
>>> envelope = dict(symbol="BTCUSDT", ts=ts, ts_recv=ts, provider="x", stream="x.depth")
>>> def change(seq): return Depth(**envelope, seq=seq, side="bid", op="set", price=D(seq), size=D(1))
>>> state, asked = start(("x", "x.depth", "BTCUSDT"))
>>> state, _ = run(state, [delta_of([change(5)]), delta_of([change(6)])])  # buffered while fetching
>>> state, out = step(state, Snapshot(**envelope, seq=5, bids=(), asks=()))  # 5 is in the snapshot
>>> [(event.TYPE, event.seq) for event in out], state.phase
([('snapshot', 5), ('depth', 6)], <Phase.LIVE: 'live'>)
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Final

from attrs import define, field, frozen, validators

from .events import Depth, Integrity, MarketEvent, Snapshot
from .timestamps import Timestamp

BookKey = tuple[str, str, str]
"""(provider, stream, symbol)."""

DEFAULT_LIMIT: Final = 10_000


class Phase(enum.Enum):
    """Where a book's synchronisation stands."""

    BUFFERING = "buffering"
    """Waiting for a snapshot that fits; deltas are kept."""
    LIVE = "live"
    """In step: deltas are applied as they come."""


@frozen
class Delta:
    """One message of sequenced depth changes.

    Attributes:
        first: the first update id it covers (``last`` for one-number feeds).
        last: the last update id it covers.
        ts: its event time (stamps an integrity event it causes).
        ts_recv: its receive time.
        changes: the depth changes, in order.
    """

    first: int
    last: int
    ts: Timestamp
    ts_recv: Timestamp
    changes: tuple[Depth, ...] = ()


@frozen
class FetchSnapshot:
    """A request to the shell: fetch a snapshot of this book.

    Attributes:
        key: the book.
        reason: why, in a few words (``start``, ``sequence gap`` ...).
    """

    key: BookKey
    reason: str


@frozen
class FetchFailed:
    """The shell's answer when a fetch it was asked for failed (it may be asked again)."""


SyncInput = Delta | Snapshot | FetchFailed
"""What the machine takes: deltas, snapshots and failed fetches."""
SyncOutput = Snapshot | Depth | Integrity | FetchSnapshot
"""What it emits: the snapshot and changes to apply, findings and requests."""


@frozen
class SyncState:
    """One book's synchronisation.

    Attributes:
        key: the book, ``(provider, stream, symbol)``.
        limit: the most deltas kept while buffering (>= 1).
        phase: buffering or live.
        buffer: the deltas kept while buffering, oldest first.
        last: the last update id applied (live), or None.
        pending: snapshot fetches asked for and not answered yet.
        overflowed: whether deltas were dropped from the buffer since the last snapshot arrived.
    """

    key: BookKey
    limit: int = field(default=DEFAULT_LIMIT, validator=validators.ge(1))
    phase: Phase = Phase.BUFFERING
    buffer: tuple[Delta, ...] = ()
    last: int | None = None
    pending: int = 0
    overflowed: bool = False


@define
class Transient:
    """A mutable copy of a :class:`SyncState` for one batch. Not to be kept."""

    key: BookKey
    limit: int
    phase: Phase
    buffer: deque[Delta]
    last: int | None
    pending: int
    overflowed: bool


def start(key: BookKey, limit: int = DEFAULT_LIMIT) -> tuple[SyncState, list[SyncOutput]]:
    """Begin (or after a resubscription, begin again): buffer, and ask for the first snapshot.

    Args:
        key: the book.
        limit: the most deltas to keep while buffering.

    Returns:
        The state and ``[FetchSnapshot(key, "start")]``.
    """
    return SyncState(key, limit, pending=1), [FetchSnapshot(key, "start")]


def delta_of(changes: Sequence[Depth], first: int | None = None) -> Delta:
    """The delta of one message, from its depth changes (all with the message's ``seq``, its last id).

    Args:
        changes: the message's changes, at least one, the last with a ``seq``.
        first: the first id of the message, for feeds with a range per message.

    Returns:
        The delta, stamped with the times of its last change.

    Raises:
        ValueError: no changes, or no sequence number (a bug in the caller).
    """
    if not changes or changes[-1].seq is None:
        raise ValueError("a delta needs at least one change with a seq")
    last = changes[-1]
    seq: int = last.seq  # type: ignore[assignment] # checked just above
    return Delta(seq if first is None else first, seq, last.ts, last.ts_recv, tuple(changes))


def thaw(state: SyncState) -> Transient:
    """Copy the state for in-place updates during one batch."""
    return Transient(
        state.key, state.limit, state.phase, deque(state.buffer), state.last, state.pending, state.overflowed
    )


def freeze(transient: Transient) -> SyncState:
    """Turn the batch's copy back into a value."""
    return SyncState(
        transient.key,
        transient.limit,
        transient.phase,
        tuple(transient.buffer),
        transient.last,
        transient.pending,
        transient.overflowed,
    )


def step(state: SyncState, item: SyncInput) -> tuple[SyncState, list[SyncOutput]]:
    """Take one delta, snapshot or failed fetch.

    Args:
        state: the synchronisation before it.
        item: what arrived.

    Returns:
        The new state and what to do, in order: the snapshot and changes to
        apply, integrity events, snapshot requests. ``state`` is unchanged.

    Raises:
        ValueError: a snapshot without a ``seq`` (it cannot be joined to anything).
    """
    transient = thaw(state)
    out: list[SyncOutput] = []
    step_in(transient, item, out)
    return freeze(transient), out


def run(state: SyncState, items: Iterable[SyncInput]) -> tuple[SyncState, list[SyncOutput]]:
    """:func:`step` over a batch, copying the buffer once.

    Args:
        state: the synchronisation before the batch.
        items: what arrived, in order.

    Returns:
        The new state and everything to do, in order.
    """
    transient = thaw(state)
    out: list[SyncOutput] = []
    for item in items:
        step_in(transient, item, out)
    return freeze(transient), out


def step_in(transient: Transient, item: SyncInput, out: list[SyncOutput]) -> None:
    """:func:`step` on a batch's transient state (updated in place); appends to ``out``."""
    if isinstance(item, Delta):
        _delta_in(transient, item, out)
    elif isinstance(item, Snapshot):
        _snapshot_in(transient, item, out)
    else:
        transient.pending = max(transient.pending - 1, 0)
        if transient.phase is Phase.BUFFERING and transient.pending == 0:
            _ask(transient, "the last fetch failed", out)


def _delta_in(transient: Transient, delta: Delta, out: list[SyncOutput]) -> None:
    last = transient.last
    if transient.phase is Phase.LIVE and last is not None:
        if delta.last <= last:
            return  # a repeat: applied already
        if delta.first <= last + 1:
            out.extend(delta.changes)
            transient.last = delta.last
            return
        out.append(_gap(transient.key, delta, last + 1))
        transient.phase = Phase.BUFFERING
        transient.buffer = deque((delta,))
        transient.last = None
        if transient.pending == 0:
            _ask(transient, "sequence gap", out)
        return
    buffer = transient.buffer
    if buffer and delta.last <= buffer[-1].last:
        return  # a repeat of one kept already (feeds deliver in order)
    buffer.append(delta)
    if len(buffer) > transient.limit:
        buffer.popleft()
        if not transient.overflowed:
            # the snapshot in flight may now be older than the oldest delta kept
            transient.overflowed = True
            _ask(transient, "buffer overflow", out)


def _snapshot_in(transient: Transient, snapshot: Snapshot, out: list[SyncOutput]) -> None:
    seq = snapshot.seq
    if seq is None:
        raise ValueError("a snapshot to synchronise with needs the seq of the last update in it")
    transient.pending = max(transient.pending - 1, 0)
    if transient.phase is Phase.LIVE:
        return
    transient.overflowed = False
    buffer = transient.buffer
    while buffer and buffer[0].last <= seq:
        buffer.popleft()
    if buffer and buffer[0].first > seq + 1:
        if transient.pending == 0:
            _ask(transient, "snapshot older than the buffered deltas", out)
        return
    last = seq
    for index, delta in enumerate(buffer):
        if delta.first > last + 1:
            # a message lost while buffering: what came before the hole can never be applied
            out.append(_gap(transient.key, delta, last + 1))
            for _ in range(index):
                buffer.popleft()
            if transient.pending == 0:
                _ask(transient, "sequence gap", out)
            return
        last = delta.last
    out.append(snapshot)
    for delta in buffer:
        out.extend(delta.changes)
    buffer.clear()
    transient.phase = Phase.LIVE
    transient.last = last


def _ask(transient: Transient, reason: str, out: list[SyncOutput]) -> None:
    transient.pending += 1
    out.append(FetchSnapshot(transient.key, reason))


def _gap(key: BookKey, delta: Delta, expected: int) -> Integrity:
    provider, stream, symbol = key
    missed = delta.first - expected
    where = f"({expected})" if missed == 1 else f"({expected}..{delta.first - 1})"
    return Integrity(
        symbol=symbol,
        ts=delta.ts,
        ts_recv=delta.ts_recv,
        provider=provider,
        stream=stream,
        seq=delta.last,
        kind="sequence_gap",
        expected=expected,
        received=delta.first,
        description=f"{missed} message{'s' if missed > 1 else ''} missing on {stream} {where}; resynchronising",
    )


def applied(outputs: Iterable[SyncOutput]) -> list[MarketEvent]:
    """The events among ``outputs`` (all but the requests), in order: the book takes the snapshots and changes."""
    return [output for output in outputs if not isinstance(output, FetchSnapshot)]


__all__ = [
    "DEFAULT_LIMIT",
    "Delta",
    "FetchFailed",
    "FetchSnapshot",
    "Phase",
    "SyncInput",
    "SyncOutput",
    "SyncState",
    "Transient",
    "applied",
    "delta_of",
    "freeze",
    "run",
    "start",
    "step",
    "step_in",
    "thaw",
]
