"""The subscription state machine of mdc.core.live: the one place live providers keep subscriptions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mdc.core.live import SubscriptionChange, Subscriptions, on_connected, on_disconnected, resubscribe, want

symbol_sets = st.frozensets(st.sampled_from(["SPY", "AAPL", "MSFT", "BRK/B", "EUR/USD"]))


def test_nothing_is_sent_before_a_connection_and_everything_once_connected() -> None:
    """Wanting symbols while disconnected sends nothing; connecting subscribes them all, sorted."""
    state, change = want(Subscriptions(), ["SPY", "AAPL"])
    assert change == SubscriptionChange()
    assert not change
    state, change = on_connected(state)
    assert change == SubscriptionChange(subscribe=("AAPL", "SPY"))
    assert state.active == frozenset({"SPY", "AAPL"})


def test_a_reconnect_resubscribes_everything_wanted() -> None:
    """After a disconnect nothing is active; the next connection subscribes the whole wanted set again."""
    state, _ = on_connected(Subscriptions(wanted=frozenset({"SPY"})))
    state, _ = want(state, ["SPY", "AAPL"])
    state = on_disconnected(state)
    assert (state.active, state.connected) == (frozenset(), False)
    assert on_connected(state)[1] == SubscriptionChange(subscribe=("AAPL", "SPY"))


@given(symbol_sets, symbol_sets)
def test_a_change_of_wanted_symbols_sends_exactly_the_difference(before: frozenset[str], after: frozenset[str]) -> None:
    """Connected, want(after) unsubscribes before - after and subscribes after - before; active becomes after."""
    state, _ = on_connected(Subscriptions(wanted=before))
    state, change = want(state, after)
    assert set(change.unsubscribe) == before - after
    assert set(change.subscribe) == after - before
    assert state.active == after


@given(symbol_sets, symbol_sets)
def test_resubscribing_touches_only_active_symbols(active: frozenset[str], silent: frozenset[str]) -> None:
    """A stale repair unsubscribes and subscribes again the silent symbols that are subscribed, nothing else."""
    state, _ = on_connected(Subscriptions(wanted=active))
    change = resubscribe(state, silent)
    assert change.unsubscribe == change.subscribe == tuple(sorted(active & silent))
