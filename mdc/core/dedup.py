"""Idempotent storage: what the store has already kept, so a re-run never stores an event twice.

An event is already stored when

* it has a ``seq`` at or below the highest ``seq`` stored for its stream key
  ``(provider, stream, symbol, type)`` and an event time no later than that
  highest event's — equal numbers also need the same content, since ``depth``
  and ``snapshot`` events share the number of the provider message that
  carried several changes. A number at or below the highest but *later in
  time* is a sequence that restarted (a new session, a new run of the
  simulator): new data, and the start of a new *session*. An event from
  before the current session started (an earlier session fed again, or very
  late data) is treated as stored, so nothing is ever stored twice; or
* it has no ``seq`` and the same content (the same line, receive time
  included) was stored among the last ``window`` unsequenced events.

Content is the xxh3-64 digest of the stored line. Re-feeding a pipeline from
its source after a crash therefore stores each event exactly once; a live
re-capture of the same market gets new receive times and is new content.

The index is a plain mutable data structure (no I/O, no clock): a window of a
quarter of a million digests copied per batch, as the other collectors do with
their maps, would cost more than the checks themselves. It is serialised into
the store's commit point with :meth:`DedupIndex.to_builtins` and rebuilt with
:meth:`DedupIndex.from_builtins`.

>>> index, key, monday = DedupIndex(window=2), ("p", "s", "SPY", "trade"), "2026-01-05T14:30:00.000000000Z"
>>> [index.admit(key, 1, 11, monday), index.admit(key, 1, 11, monday)]
[True, False]
>>> index.admit(key, 1, 12, "2026-01-06T14:30:00.000000000Z")  # the sequence restarted the next day
True
>>> [index.admit(None, None, 7, ""), index.admit(None, None, 7, ""), index.admit(None, None, 8, "")]
[True, False, True]
"""

from __future__ import annotations

from collections import deque
from typing import Final

StreamTypeKey = tuple[str, str, str, str]
"""(provider, stream, symbol, type): the scope of a sequence number in the store."""

DEFAULT_WINDOW: Final = 262_144
"""How many unsequenced events' digests are remembered."""


class _Session:
    """The current run of increasing sequence numbers of one stream."""

    __slots__ = ("digests", "first_seq", "first_ts", "seq", "ts")

    def __init__(self, seq: int, ts: str, digest: int) -> None:
        self.first_seq = seq
        self.first_ts = ts
        self.seq = seq
        self.ts = ts
        self.digests = {digest}


Builtins = dict[str, object]


class DedupIndex:
    """Highest stored ``seq`` per stream key, and a window of unsequenced digests.

    Args:
        window: how many unsequenced digests to remember (0 turns that check off).
    """

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        self.window = window
        self._current: dict[StreamTypeKey, _Session] = {}
        self._recent: deque[int] = deque()
        self._recent_set: set[int] = set()

    def admit(self, key: StreamTypeKey | None, seq: int | None, digest: int, ts: str) -> bool:
        """Check an event and, when it is new, remember it.

        Args:
            key: its stream key, or None for an unsequenced event.
            seq: its sequence number, or None.
            digest: the xxh3-64 digest of its stored line.
            ts: its canonical event time (they sort as text).

        Returns:
            True when the event is new (store it), False when it is already stored.
        """
        if key is None or seq is None:
            if digest in self._recent_set:
                return False
            self._remember(digest)
            return True
        current = self._current.get(key)
        if current is None:
            self._current[key] = _Session(seq, ts, digest)
            return True
        if ts < current.first_ts:  # from before the current session
            return False  # stored in an earlier session, or too old to tell: either way not stored twice
        if seq == current.seq and ts == current.ts:  # one provider message may carry several changes
            if digest in current.digests:
                return False
            current.digests.add(digest)
            return True
        if seq > current.seq:
            current.seq, current.ts, current.digests = seq, ts, {digest}
            return True
        if ts > current.ts:  # the numbering restarted: a new session
            self._current[key] = _Session(seq, ts, digest)
            return True
        return False

    def _remember(self, digest: int) -> None:
        if self.window <= 0:
            return
        self._recent.append(digest)
        self._recent_set.add(digest)
        if len(self._recent) > self.window:
            self._recent_set.discard(self._recent.popleft())

    def to_builtins(self) -> Builtins:
        """The index as JSON/msgpack-ready values (for the commit point)."""
        return {
            "window": self.window,
            "streams": [
                [*key, session.first_seq, session.first_ts, session.seq, session.ts, sorted(session.digests)]
                for key, session in self._current.items()
            ],
            "recent": list(self._recent),
        }

    @classmethod
    def from_builtins(cls, data: Builtins, window: int) -> DedupIndex:
        """Rebuild an index saved by :meth:`to_builtins`.

        Args:
            data: the saved values.
            window: the window to use from now on (may differ from the saved one).

        Returns:
            The index.

        Raises:
            TypeError: ``data`` is not what :meth:`to_builtins` makes.
        """
        index = cls(window)
        streams = data.get("streams", [])
        recent = data.get("recent", [])
        if not isinstance(streams, list) or not isinstance(recent, list):
            raise TypeError("not a saved dedup index")
        for provider, stream, symbol, event_type, first_seq, first_ts, seq, ts, digests in streams:
            session = _Session(int(first_seq), str(first_ts), 0)
            session.seq, session.ts, session.digests = int(seq), str(ts), set(digests)
            index._current[(str(provider), str(stream), str(symbol), str(event_type))] = session

        for digest in recent:
            index._remember(int(digest))
        return index

    @property
    def streams(self) -> int:
        """How many stream keys have a highest ``seq``."""
        return len(self._current)
