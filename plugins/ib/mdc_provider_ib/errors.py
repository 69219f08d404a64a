"""IB's error codes -> what the provider does about them (pure).

TWS reports everything through one callback, ``error(reqId, code, message)``:
real errors, warnings and notices alike. :func:`classify` sorts the codes that
matter for market data. A code it does not know is written to stderr as a
reject line with IB's message and otherwise ignored: should it have ended a
subscription, the stale-symbol watch resubscribes the silent symbol in its
trading session.

>>> classify(200), classify(2104), classify(1101)
(<Action.NO_CONTRACT: 'no-contract'>, <Action.IGNORE: 'ignore'>, <Action.RESUBSCRIBE: 'resubscribe'>)
"""

from __future__ import annotations

import enum
from typing import Final


class Action(enum.Enum):
    """What an IB error code makes the provider do."""

    IGNORE = "ignore"
    """A notice (a data farm connected, a cancel of something already gone): nothing."""
    NOTICE = "notice"
    """Worth a status line (a farm disconnected, delayed data shown instead): carry on."""
    CONNECTIVITY_LOST = "connectivity-lost"
    """1100: TWS lost IB's servers; the API socket lives. Wait for 1101/1102 (status line)."""
    RESUBSCRIBE = "resubscribe"
    """1101: connectivity restored, data lost: resubscribe everything (integrity sequence_gap)."""
    RESTORED = "restored"
    """1102: connectivity restored, data kept: nothing to do but say so."""
    RECONNECT = "reconnect"
    """The API connection is unusable (not connected, client id in use): drop it, back off, retry."""
    BOOK_RESET = "book-reset"
    """317: IB reset the depth book: empty it (integrity book_reset + an empty snapshot)."""
    NO_CONTRACT = "no-contract"
    """200: no security definition: the symbol names no contract IB knows (exit 2)."""
    NOT_ENTITLED = "not-entitled"
    """No market data permission for the request (exit 77, or skip the symbol's stream)."""
    LIMIT = "limit"
    """Too many tickers / depth / tick-by-tick requests for the account (exit 2)."""
    UNSUPPORTED = "unsupported"
    """The data asked for does not exist for this contract (no depth, no tick-by-tick): exit 2."""


_ACTIONS: Final[dict[int, Action]] = {
    # connectivity between TWS and IB
    1100: Action.CONNECTIVITY_LOST,
    1101: Action.RESUBSCRIBE,
    1102: Action.RESTORED,
    1300: Action.RECONNECT,  # TWS socket port reset: the session has to be opened again
    # the API connection itself
    326: Action.RECONNECT,  # client id already in use
    502: Action.RECONNECT,  # could not connect to TWS
    504: Action.RECONNECT,  # not connected
    507: Action.RECONNECT,  # bad message length
    # per request
    200: Action.NO_CONTRACT,
    317: Action.BOOK_RESET,
    354: Action.NOT_ENTITLED,  # requested market data is not subscribed
    10089: Action.NOT_ENTITLED,  # requested market data requires additional subscription for API
    10168: Action.NOT_ENTITLED,  # not subscribed, and delayed market data is not enabled
    10186: Action.NOT_ENTITLED,  # not subscribed, delayed data not available for this request
    101: Action.LIMIT,  # max number of tickers reached
    309: Action.LIMIT,  # max number of market depth requests reached
    10190: Action.LIMIT,  # max number of tick-by-tick requests reached
    420: Action.NOT_ENTITLED,  # invalid real-time query: no permissions for the pacing/exchange
    10092: Action.UNSUPPORTED,  # deep market data not supported for this combination of security/exchange
    10285: Action.UNSUPPORTED,  # fractional size rules need a newer API version
    # notices
    300: Action.IGNORE,  # cannot find the id of a cancel (already gone)
    310: Action.IGNORE,  # cannot find the subscribed market depth (already cancelled)
    2104: Action.IGNORE,  # market data farm connection is OK
    2106: Action.IGNORE,  # HMDS data farm connection is OK
    2107: Action.IGNORE,  # HMDS data farm connection is inactive but available on demand
    2108: Action.IGNORE,  # market data farm connection is inactive but available on demand
    2119: Action.IGNORE,  # market data farm is connecting
    2158: Action.IGNORE,  # sec-def data farm connection is OK
    10225: Action.IGNORE,  # bust event on real-time bars: ib_async resubscribes them itself
    2103: Action.NOTICE,  # market data farm connection is broken
    2105: Action.NOTICE,  # HMDS data farm connection is broken
    2157: Action.NOTICE,  # sec-def data farm connection is broken
    10090: Action.NOTICE,  # part of the requested market data is not subscribed
    10167: Action.NOTICE,  # not subscribed: displaying delayed market data
    10197: Action.NOTICE,  # no market data during a competing live session
}

FATAL_EXIT: Final = {Action.NO_CONTRACT: 2, Action.LIMIT: 2, Action.UNSUPPORTED: 2, Action.NOT_ENTITLED: 77}
"""The exit code of each action that ends the run."""


def classify(code: int) -> Action | None:
    """What to do about an IB error code; None for a code mdc does not know.

    Args:
        code: IB's error code.

    Returns:
        The action, or None.
    """
    action = _ACTIONS.get(code)
    if action is None and 2100 <= code < 2200:
        return Action.NOTICE  # IB's warning range
    return action
