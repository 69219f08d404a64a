"""Idempotent storage: what the store has already kept, so a re-run never stores an event twice.

An event is already stored when

* it has a ``seq`` and the highest ``seq`` stored for its stream key
  ``(provider, stream, symbol, type)`` is above it, or equal to it with the
  same content (``depth`` and ``snapshot`` events share the number of the
  provider message that carried several changes, so equal numbers are told
  apart by content); or
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

>>> index = DedupIndex(window=2)
>>> [index.admit(("p", "s", "SPY", "trade"), 1, 11), index.admit(("p", "s", "SPY", "trade"), 1, 11)]
[True, False]
>>> [index.admit(None, None, 7), index.admit(None, None, 7), index.admit(None, None, 8)]
[True, False, True]
"""

from __future__ import annotations

from collections import deque
from typing import Final

StreamTypeKey = tuple[str, str, str, str]
"""(provider, stream, symbol, type): the scope of a sequence number in the store."""

DEFAULT_WINDOW: Final = 262_144
"""How many unsequenced events' digests are remembered."""

Builtins = dict[str, object]


class DedupIndex:
    """Highest stored ``seq`` per stream key, and a window of unsequenced digests.

    Args:
        window: how many unsequenced digests to remember (0 turns that check off).
    """

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        self.window = window
        self._highest: dict[StreamTypeKey, tuple[int, set[int]]] = {}
        self._recent: deque[int] = deque()
        self._recent_set: set[int] = set()

    def admit(self, key: StreamTypeKey | None, seq: int | None, digest: int) -> bool:
        """Check an event and, when it is new, remember it.

        Args:
            key: its stream key, or None for an unsequenced event.
            seq: its sequence number, or None.
            digest: the xxh3-64 digest of its stored line.

        Returns:
            True when the event is new (store it), False when it is already stored.
        """
        if key is None or seq is None:
            if digest in self._recent_set:
                return False
            self._remember(digest)
            return True
        current = self._highest.get(key)
        if current is None or seq > current[0]:
            self._highest[key] = (seq, {digest})
            return True
        if seq < current[0] or digest in current[1]:
            return False
        current[1].add(digest)
        return True

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
            "streams": [[*key, seq, sorted(digests)] for key, (seq, digests) in self._highest.items()],
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
        for provider, stream, symbol, event_type, seq, digests in streams:
            index._highest[(str(provider), str(stream), str(symbol), str(event_type))] = (int(seq), set(digests))
        for digest in recent:
            index._remember(int(digest))
        return index

    @property
    def streams(self) -> int:
        """How many stream keys have a highest ``seq``."""
        return len(self._highest)
