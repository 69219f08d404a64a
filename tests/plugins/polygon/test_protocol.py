"""The Polygon connection state machine: greeting, auth, subscriptions, server errors, no key leaks."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from mdc_provider_polygon.protocol import PolygonProtocol

from mdc.core.events import Trade
from mdc.core.provider import FeedError, FeedFailure, ProviderReject, Reaction

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "pk-test-0c5e9a"


def documented(name: str) -> str:
    frames = msgspec.json.decode((FIXTURES / "documented.json").read_bytes(), type=dict[str, msgspec.Raw])
    return bytes(frames[name]).decode()


def protocol(channels: tuple[str, ...] = ("T", "Q")) -> PolygonProtocol:
    return PolygonProtocol(api_key=KEY, stream="polygon.stocks", channels=channels)


def status(status: str, message: str) -> str:
    return json.dumps([{"ev": "status", "status": status, "message": message}])


def test_nothing_is_sent_before_the_greeting() -> None:
    """Polygon speaks first: opening the connection sends nothing."""
    assert protocol().opened() == Reaction()


def test_the_greeting_is_answered_with_the_key_once() -> None:
    """``connected`` -> ``{"action":"auth","params":KEY}``; a second greeting on the same connection sends nothing."""
    machine = protocol()
    first = machine.received(documented("connected"), 0)
    assert [json.loads(message) for message in first.send] == [{"action": "auth", "params": KEY}]
    assert machine.received(documented("connected"), 0) == Reaction()


def test_auth_success_authenticates() -> None:
    """``auth_success`` says the key was accepted (the runner subscribes then)."""
    assert protocol().received(documented("auth_success"), 0) == Reaction(authenticated=True)


def test_the_older_success_authenticated_form_authenticates_too() -> None:
    """Before ``auth_success`` existed the server answered ``success`` / ``authenticated``."""
    assert protocol().received(status("success", "authenticated"), 0).authenticated


@pytest.mark.parametrize(
    ("message", "symbols"),
    [
        ("subscribed to: T.MSFT", ("MSFT",)),
        ("subscribed to: T.SPY,Q.SPY, AM.AAPL", ("SPY", "AAPL")),
        ("subscribed to: T.BRK.B", ("BRK.B",)),
    ],
)
def test_subscription_confirmations_name_their_symbols(message: str, symbols: tuple[str, ...]) -> None:
    """``subscribed to: CH.SYM,...``: each symbol once, the channel cut at the first dot."""
    assert protocol().received(status("success", message), 0) == Reaction(subscribed=symbols)


def test_other_success_words_are_informational() -> None:
    """An unsubscribe confirmation (or any other ``success``) changes nothing and rejects nothing."""
    assert protocol().received(status("success", "unsubscribed to: T.SPY"), 0) == Reaction()


@pytest.mark.parametrize(
    ("name", "failure", "words"),
    [
        ("auth_failed", FeedFailure.AUTH, "the API key was refused (server said auth_failed: authentication failed)"),
        ("auth_failed_plan", FeedFailure.NOT_ENTITLED, "the account is not entitled to this feed"),
        ("not_authorized", FeedFailure.NOT_ENTITLED, "the account is not entitled to this data"),
        ("max_connections", FeedFailure.CONNECTION_LIMIT, "too many connections for this API key"),
        ("auth_timeout", FeedFailure.PROTOCOL, "the server timed out waiting for the credentials"),
    ],
)
def test_server_errors_become_feed_errors(name: str, failure: FeedFailure, words: str) -> None:
    """Each documented error status maps to the failure that decides the exit code (77, 77, retry, retry)."""
    error = protocol().received(documented(name), 0).error
    assert isinstance(error, FeedError)
    assert error.failure is failure
    assert error.message.startswith(words)
    assert KEY not in error.message


@pytest.mark.parametrize(
    ("message", "failure"),
    [
        ("Maximum number of websocket connections exceeded.", FeedFailure.CONNECTION_LIMIT),
        ("authentication failed", FeedFailure.AUTH),
        ("Your plan doesn't include websocket access.", FeedFailure.NOT_ENTITLED),
    ],
)
def test_error_statuses_are_read_by_their_words(message: str, failure: FeedFailure) -> None:
    """``status: error`` carries its meaning in the message: connections, auth or entitlement."""
    error = protocol().received(status("error", message), 0).error
    assert error is not None
    assert error.failure is failure


def test_exit_codes_of_the_fatal_failures() -> None:
    """Refused key and missing entitlement end the run with 77; a connection limit is retried."""
    assert (FeedFailure.AUTH.exit_code, FeedFailure.NOT_ENTITLED.exit_code) == (77, 77)
    assert not FeedFailure.CONNECTION_LIMIT.fatal


def test_an_unknown_error_is_rejected_and_the_capture_goes_on() -> None:
    """An ``error`` status without known words is a reject (raw frame on stderr), not a failure."""
    frame = status("error", "unknown action")
    assert protocol().received(frame, 0) == Reaction(rejects=(ProviderReject(frame, "server error: unknown action"),))


def test_an_unknown_status_is_rejected_with_the_frame() -> None:
    """A status this provider does not know is shown (reject) and otherwise ignored."""
    frame = status("maintenance", "back soon")
    assert protocol().received(frame, 0) == Reaction(rejects=(ProviderReject(frame, "unknown status 'maintenance'"),))


def test_the_first_error_of_a_frame_wins() -> None:
    """Two errors in one frame: the reaction carries the first."""
    frame = json.dumps(
        [
            {"ev": "status", "status": "max_connections", "message": "Maximum number of websocket connections"},
            {"ev": "status", "status": "auth_failed", "message": "authentication failed"},
        ]
    )
    error = protocol().received(frame, 0).error
    assert error is not None
    assert error.failure is FeedFailure.CONNECTION_LIMIT


def test_data_and_status_in_one_frame_both_count() -> None:
    """Events of a frame that also holds a status are emitted, the status handled."""
    frame = (
        '[{"ev":"status","status":"success","message":"subscribed to: T.SPY"},{"ev":"T","sym":"SPY","p":1,"s":2,"t":3}]'
    )
    reaction = protocol().received(frame, 1_000_000_000)
    assert reaction.subscribed == ("SPY",)
    assert [type(event) for event in reaction.events] == [Trade]
    assert reaction.events[0].ts_recv == "1970-01-01T00:00:01.000000000Z"


def test_subscribe_names_every_channel_of_every_symbol() -> None:
    """One message: ``T.SPY,Q.SPY,T.AAPL,Q.AAPL`` for channels T and Q."""
    (message,) = protocol().subscribe(["SPY", "AAPL"])
    assert json.loads(message) == {"action": "subscribe", "params": "T.SPY,Q.SPY,T.AAPL,Q.AAPL"}


def test_unsubscribe_names_the_same_topics() -> None:
    """Unsubscribing takes the symbols off every channel they were put on."""
    (message,) = protocol(("AM",)).unsubscribe(["BRK.B"])
    assert json.loads(message) == {"action": "unsubscribe", "params": "AM.BRK.B"}


def test_no_symbols_no_message() -> None:
    """Nothing to (un)subscribe sends nothing."""
    assert (protocol().subscribe([]), protocol().unsubscribe([])) == ((), ())


def test_the_key_never_shows_in_the_protocols_repr() -> None:
    """repr (in a traceback, a debugger) names the stream and channels, not the key."""
    assert KEY not in repr(protocol())
    assert repr(protocol()) == "PolygonProtocol(stream='polygon.stocks', channels=('T', 'Q'))"


def test_the_stream_is_what_it_was_given() -> None:
    """Events and the runner's integrity events use the protocol's stream id."""
    assert PolygonProtocol(api_key=KEY, stream="polygon.delayed", channels=("T",)).stream == "polygon.delayed"
