"""Pure policy for live feeds: reconnect backoff, circuit breakers, stale subscriptions.

Time and randomness come in as arguments: the shell passes the clock and a
uniform draw, so every decision here is a plain function of its inputs.

>>> policy = Backoff(base_s=0.5, cap_s=30.0)
>>> [delay(policy, attempt, 1.0) for attempt in range(8)]  # the ceiling; full jitter multiplies it by a draw in [0, 1)
[0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from attrs import evolve, frozen


@frozen
class Backoff:
    """Exponential backoff with full jitter (the AWS architecture blog's "full jitter").

    Attributes:
        base_s: the ceiling of the first delay.
        cap_s: the largest ceiling.
    """

    base_s: float = 0.5
    cap_s: float = 30.0


def delay(policy: Backoff, attempt: int, draw: float) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (0 for the first retry).

    Args:
        policy: the backoff policy.
        attempt: how many attempts failed in a row, minus one.
        draw: a uniform random number in [0, 1) (randomness comes in as data).

    Returns:
        ``draw`` times the exponential ceiling, which never exceeds ``cap_s``.
    """
    ceiling = min(policy.cap_s, policy.base_s * (1 << min(attempt, 62)))
    return draw * ceiling


class BreakerState(enum.Enum):
    """A circuit breaker's state."""

    CLOSED = "closed"
    """The provider works: use it."""
    OPEN = "open"
    """It failed too often: do not use it until the cooldown passed."""
    HALF_OPEN = "half-open"
    """The cooldown passed: one trial decides whether it closes or opens again."""


@frozen
class Breaker:
    """A circuit breaker over one provider.

    Attributes:
        threshold: consecutive failures that open it.
        cooldown_ns: how long it stays open before a trial.
        state: where it is.
        failures: consecutive failures so far.
        opened_ns: when it last opened.
    """

    threshold: int = 3
    cooldown_ns: int = 30 * 1_000_000_000
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_ns: int = 0


def failed(breaker: Breaker, now_ns: int) -> Breaker:
    """Record a failure (a connection lost or refused, a silent feed).

    >>> b = Breaker(threshold=2)
    >>> failed(failed(b, 5), 6).state
    <BreakerState.OPEN: 'open'>
    """
    failures = breaker.failures + 1
    if breaker.state is BreakerState.HALF_OPEN or failures >= breaker.threshold:
        return evolve(breaker, state=BreakerState.OPEN, failures=failures, opened_ns=now_ns)
    return evolve(breaker, failures=failures)


def succeeded(breaker: Breaker) -> Breaker:
    """Record a success (authenticated and receiving): the breaker closes."""
    return evolve(breaker, state=BreakerState.CLOSED, failures=0)


def allows(breaker: Breaker, now_ns: int) -> Breaker | None:
    """Whether the provider may be tried now: the breaker to use for the try, or None.

    An open breaker past its cooldown goes half-open and allows one trial.
    """
    if breaker.state is BreakerState.OPEN:
        if now_ns - breaker.opened_ns < breaker.cooldown_ns:
            return None
        return evolve(breaker, state=BreakerState.HALF_OPEN)
    return breaker


def stale(
    last_seen_ns: Mapping[str, int],
    subscribed: Iterable[str],
    since_ns: int,
    now_ns: int,
    threshold_ns: int,
) -> list[str]:
    """Subscribed symbols that have been silent for longer than ``threshold_ns``.

    Call it only while the connection is alive and the market is in session:
    silence then means a subscription that died quietly (after a reconnect, most
    often), which resubscribing repairs.

    Args:
        last_seen_ns: when each symbol last delivered an event.
        subscribed: the symbols subscribed.
        since_ns: when the subscription (or connection) began: a symbol never
            seen counts from then.
        now_ns: the current time.
        threshold_ns: the silence that counts as stale.

    Returns:
        The stale symbols, sorted.

    >>> stale({"SPY": 100}, ["SPY", "AAPL"], since_ns=50, now_ns=200, threshold_ns=120)
    ['AAPL']
    """
    return sorted(
        symbol for symbol in subscribed if now_ns - max(last_seen_ns.get(symbol, since_ns), since_ns) > threshold_ns
    )


@frozen
class Subscriptions:
    """Which symbols are wanted and which the current connection has subscribed: the one place that knows.

    Every live provider keeps its subscriptions here, so that subscribe,
    unsubscribe, resubscribe-after-reconnect and stale-symbol repair follow
    the same rules everywhere. Transitions return the new state and the
    :class:`SubscriptionChange` to send.

    Attributes:
        wanted: the symbols the user asked for (command line, config reloads).
        active: the symbols subscribed on the current connection.
        connected: whether a connection is up and authenticated.
    """

    wanted: frozenset[str] = frozenset()
    active: frozenset[str] = frozenset()
    connected: bool = False


@frozen
class SubscriptionChange:
    """What to send: symbols to unsubscribe, then symbols to subscribe (each sorted)."""

    unsubscribe: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.unsubscribe or self.subscribe)


def on_connected(subscriptions: Subscriptions) -> tuple[Subscriptions, SubscriptionChange]:
    """A connection is up and authenticated: subscribe everything wanted (again, after a reconnect).

    >>> state, change = on_connected(Subscriptions(wanted=frozenset({"SPY", "AAPL"})))
    >>> change.subscribe, sorted(state.active)
    (('AAPL', 'SPY'), ['AAPL', 'SPY'])
    """
    state = evolve(subscriptions, active=subscriptions.wanted, connected=True)
    return state, SubscriptionChange(subscribe=tuple(sorted(subscriptions.wanted)))


def on_disconnected(subscriptions: Subscriptions) -> Subscriptions:
    """The connection is gone, and with it every subscription (the wanted set stays)."""
    return evolve(subscriptions, active=frozenset(), connected=False)


def want(subscriptions: Subscriptions, symbols: Iterable[str]) -> tuple[Subscriptions, SubscriptionChange]:
    """The wanted set changed (a config reload): the difference to send, if connected.

    >>> state, _ = on_connected(Subscriptions(wanted=frozenset({"SPY"})))
    >>> want(state, ["AAPL"])[1]
    SubscriptionChange(unsubscribe=('SPY',), subscribe=('AAPL',))
    """
    wanted = frozenset(symbols)
    if not subscriptions.connected:
        return evolve(subscriptions, wanted=wanted), SubscriptionChange()
    change = SubscriptionChange(
        unsubscribe=tuple(sorted(subscriptions.active - wanted)),
        subscribe=tuple(sorted(wanted - subscriptions.active)),
    )
    return evolve(subscriptions, wanted=wanted, active=wanted), change


def resubscribe(subscriptions: Subscriptions, symbols: Iterable[str]) -> SubscriptionChange:
    """Unsubscribe and subscribe again the given active symbols (a stale subscription's repair).

    >>> state, _ = on_connected(Subscriptions(wanted=frozenset({"SPY"})))
    >>> resubscribe(state, ["SPY", "MSFT"])
    SubscriptionChange(unsubscribe=('SPY',), subscribe=('SPY',))
    """
    again = tuple(sorted(subscriptions.active.intersection(symbols)))
    return SubscriptionChange(unsubscribe=again, subscribe=again)
