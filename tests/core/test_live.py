"""Live-feed policy: backoff delays, the circuit breaker, stale subscriptions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mdc.core.live import Backoff, Breaker, BreakerState, allows, delay, failed, stale, succeeded

policies = st.builds(
    Backoff,
    base_s=st.floats(min_value=0.001, max_value=10.0),
    cap_s=st.floats(min_value=0.001, max_value=1000.0),
)
attempts = st.integers(min_value=0, max_value=10_000)
draws = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
breakers = st.builds(
    Breaker,
    threshold=st.integers(min_value=1, max_value=10),
    cooldown_ns=st.integers(min_value=1, max_value=10**12),
)
times = st.integers(min_value=0, max_value=10**18)


def ceiling(policy: Backoff, attempt: int) -> float:
    return min(policy.cap_s, policy.base_s * 2.0 ** min(attempt, 62))


def open_breaker(breaker: Breaker, now_ns: int) -> Breaker:
    for _ in range(breaker.threshold):
        breaker = failed(breaker, now_ns)
    return breaker


# ---------------------------------------------------------------- backoff


@given(policies, attempts, draws)
def test_delay_is_full_jitter_below_the_ceiling(policy: Backoff, attempt: int, draw: float) -> None:
    """A delay lies in [0, min(cap, base * 2^attempt)) for a draw in [0, 1)."""
    assert 0.0 <= delay(policy, attempt, draw) < ceiling(policy, attempt)


@given(policies, attempts, draws)
def test_delay_is_the_draw_times_the_ceiling(policy: Backoff, attempt: int, draw: float) -> None:
    """The jitter is the draw scaling the ceiling (full jitter, not equal or decorrelated)."""
    assert delay(policy, attempt, draw) == draw * ceiling(policy, attempt)


@given(policies, st.integers(min_value=0, max_value=10**9), st.floats(min_value=0.0, max_value=1.0))
def test_delay_never_exceeds_the_cap(policy: Backoff, attempt: int, draw: float) -> None:
    """However many attempts failed, no delay is longer than the cap."""
    assert delay(policy, attempt, draw) <= policy.cap_s


@given(policies, attempts)
def test_ceilings_never_shrink(policy: Backoff, attempt: int) -> None:
    """The ceiling of the next attempt is at least that of this one."""
    assert delay(policy, attempt + 1, 1.0) >= delay(policy, attempt, 1.0)


def test_ceilings_double_from_base_up_to_cap() -> None:
    """Ceilings start at base and double until they reach the cap."""
    policy = Backoff(base_s=0.25, cap_s=5.0)
    assert [delay(policy, attempt, 1.0) for attempt in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_zero_draw_retries_at_once() -> None:
    """A draw of 0 gives no delay, whatever the attempt."""
    assert delay(Backoff(), 40, 0.0) == 0.0


# ---------------------------------------------------------------- circuit breaker


def test_a_new_breaker_is_closed_and_allows() -> None:
    """A fresh breaker is closed and lets the provider be tried, unchanged."""
    breaker = Breaker()
    assert (breaker.state, allows(breaker, 0)) == (BreakerState.CLOSED, breaker)


@given(breakers, times)
def test_fewer_failures_than_the_threshold_keep_it_closed(breaker: Breaker, now_ns: int) -> None:
    """threshold - 1 consecutive failures leave the breaker closed and allowing."""
    for _ in range(breaker.threshold - 1):
        breaker = failed(breaker, now_ns)
    assert breaker.state is BreakerState.CLOSED
    assert allows(breaker, now_ns) == breaker


@given(breakers, times)
def test_threshold_consecutive_failures_open_it(breaker: Breaker, now_ns: int) -> None:
    """The threshold-th consecutive failure opens the breaker and records when."""
    opened = open_breaker(breaker, now_ns)
    assert (opened.state, opened.failures, opened.opened_ns) == (BreakerState.OPEN, breaker.threshold, now_ns)


@given(breakers, st.lists(st.booleans(), max_size=40))
def test_a_success_resets_the_failure_count(breaker: Breaker, outcomes: list[bool]) -> None:
    """It opens only after threshold failures with no success between them."""
    run = 0
    for now_ns, success in enumerate(outcomes):
        if breaker.state is BreakerState.OPEN:
            break
        breaker = succeeded(breaker) if success else failed(breaker, now_ns)
        run = 0 if success else run + 1
    assert (breaker.state is BreakerState.OPEN) == (run >= breaker.threshold)


@given(breakers, times, st.data())
def test_an_open_breaker_refuses_until_the_cooldown_passed(breaker: Breaker, now_ns: int, data: st.DataObject) -> None:
    """Within the cooldown after opening, allows() says no."""
    opened = open_breaker(breaker, now_ns)
    later = data.draw(st.integers(min_value=now_ns, max_value=now_ns + breaker.cooldown_ns - 1))
    assert allows(opened, later) is None


@given(breakers, times, st.integers(min_value=0, max_value=10**12))
def test_after_the_cooldown_it_goes_half_open(breaker: Breaker, now_ns: int, extra_ns: int) -> None:
    """Once the cooldown passed, allows() hands back the breaker half-open for one trial."""
    opened = open_breaker(breaker, now_ns)
    trial = allows(opened, now_ns + breaker.cooldown_ns + extra_ns)
    assert trial is not None
    assert trial.state is BreakerState.HALF_OPEN
    assert (trial.failures, trial.opened_ns) == (opened.failures, opened.opened_ns)


@given(breakers, times)
def test_a_successful_trial_closes_it(breaker: Breaker, now_ns: int) -> None:
    """A success in half-open closes the breaker with no failures counted."""
    trial = allows(open_breaker(breaker, now_ns), now_ns + breaker.cooldown_ns)
    assert trial is not None
    closed = succeeded(trial)
    assert (closed.state, closed.failures) == (BreakerState.CLOSED, 0)
    assert allows(closed, now_ns + breaker.cooldown_ns) == closed


@given(breakers, times)
def test_a_failed_trial_reopens_it_for_a_new_cooldown(breaker: Breaker, now_ns: int) -> None:
    """One failure in half-open reopens the breaker, and the cooldown counts from that failure."""
    retry_ns = now_ns + breaker.cooldown_ns
    trial = allows(open_breaker(breaker, now_ns), retry_ns)
    assert trial is not None
    reopened = failed(trial, retry_ns)
    assert (reopened.state, reopened.opened_ns) == (BreakerState.OPEN, retry_ns)
    assert allows(reopened, retry_ns + breaker.cooldown_ns - 1) is None
    assert allows(reopened, retry_ns + breaker.cooldown_ns) is not None


def test_a_failed_trial_reopens_even_below_the_threshold() -> None:
    """In half-open a single failure is enough, whatever the count before."""
    trial = Breaker(threshold=5, state=BreakerState.HALF_OPEN, failures=0)
    assert failed(trial, 7).state is BreakerState.OPEN


def test_breakers_are_values() -> None:
    """Recording an outcome returns a new breaker and leaves the old one as it was."""
    breaker = Breaker(threshold=1)
    failed(breaker, 1)
    assert breaker == Breaker(threshold=1)


# ---------------------------------------------------------------- stale subscriptions

symbols = st.sampled_from(["SPY", "AAPL", "MSFT", "BRK/B", "EUR/USD"])


def test_a_symbol_never_seen_counts_from_since() -> None:
    """A subscribed symbol with no event is stale once `since` is longer ago than the threshold."""
    assert stale({}, ["SPY"], since_ns=1_000, now_ns=1_100, threshold_ns=100) == []
    assert stale({}, ["SPY"], since_ns=1_000, now_ns=1_101, threshold_ns=100) == ["SPY"]


def test_a_symbol_seen_counts_from_its_last_event() -> None:
    """A symbol that ticked is stale only when its last event is older than the threshold."""
    last_seen = {"SPY": 5_000, "AAPL": 4_000}
    assert stale(last_seen, ["SPY", "AAPL"], since_ns=1_000, now_ns=5_500, threshold_ns=1_000) == ["AAPL"]


def test_silence_of_exactly_the_threshold_is_not_stale() -> None:
    """Stale means silent for longer than the threshold, not as long."""
    assert stale({"SPY": 0}, ["SPY"], since_ns=0, now_ns=100, threshold_ns=100) == []


def test_an_event_before_the_subscription_counts_from_since() -> None:
    """An event from before a resubscription does not make the symbol stale sooner."""
    assert stale({"SPY": 10}, ["SPY"], since_ns=1_000, now_ns=1_050, threshold_ns=100) == []


def test_only_subscribed_symbols_are_reported() -> None:
    """A symbol silent for ages but no longer subscribed is not stale."""
    assert stale({"SPY": 0, "AAPL": 0}, ["AAPL"], since_ns=0, now_ns=10**12, threshold_ns=1) == ["AAPL"]


@given(
    st.dictionaries(symbols, times, max_size=5),
    st.sets(symbols),
    times,
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=0, max_value=10**12),
)
def test_stale_is_the_sorted_set_of_symbols_silent_too_long(
    last_seen_ns: dict[str, int], subscribed: set[str], since_ns: int, elapsed_ns: int, threshold_ns: int
) -> None:
    """The result is sorted and holds exactly the subscribed symbols silent for more than the threshold."""
    now_ns = since_ns + elapsed_ns
    expected = {
        symbol for symbol in subscribed if now_ns - max(last_seen_ns.get(symbol, since_ns), since_ns) > threshold_ns
    }
    result = stale(last_seen_ns, subscribed, since_ns, now_ns, threshold_ns)
    assert result == sorted(expected)
