"""The sans-I/O connection state machine: handshake, subscriptions, server errors, and the secret kept in."""

from __future__ import annotations

import json

import pytest
from mdc_provider_alpaca.protocol import FAILURES, AlpacaProtocol, feed_error
from mdc_provider_alpaca.wire import ServerError

from mdc.core.events import Trade
from mdc.core.provider import FeedError, FeedFailure, Reaction

SECRET = "sec-7d2b-DO-NOT-PRINT"  # noqa: S105 - a made-up secret


def protocol(channels: tuple[str, ...] = ("trades", "quotes")) -> AlpacaProtocol:
    """A fresh connection's protocol on the IEX feed."""
    return AlpacaProtocol(feed="iex", channels=channels, key_id="KEY", secret_key=SECRET)


def test_nothing_is_sent_before_the_server_greets() -> None:
    """The server speaks first: opening the connection sends nothing."""
    assert protocol().opened() == Reaction()


def test_the_greeting_is_answered_with_the_credentials() -> None:
    """``connected`` -> one auth message with the key id and secret key, nothing else."""
    reaction = protocol().received('[{"T":"success","msg":"connected"}]', 0)
    assert [json.loads(message) for message in reaction.send] == [{"action": "auth", "key": "KEY", "secret": SECRET}]
    assert not reaction.authenticated


def test_a_repeated_greeting_does_not_send_the_credentials_again() -> None:
    """A second ``connected`` on the same connection is ignored."""
    connection = protocol()
    connection.received('[{"T":"success","msg":"connected"}]', 0)
    assert connection.received('[{"T":"success","msg":"connected"}]', 0) == Reaction()


def test_authenticated_says_so() -> None:
    """``authenticated`` is the reaction the runner waits for before it subscribes."""
    assert protocol().received('[{"T":"success","msg":"authenticated"}]', 0) == Reaction(authenticated=True)


def test_subscribe_names_every_symbol_on_every_channel() -> None:
    """One subscribe message: each configured channel lists the symbols."""
    (message,) = protocol(("trades", "quotes", "lulds")).subscribe(["AAPL", "SPY"])
    assert json.loads(message) == {
        "action": "subscribe",
        "trades": ["AAPL", "SPY"],
        "quotes": ["AAPL", "SPY"],
        "lulds": ["AAPL", "SPY"],
    }


def test_unsubscribe_mirrors_subscribe() -> None:
    """One unsubscribe message with the same channels."""
    (message,) = protocol().unsubscribe(["SPY"])
    assert json.loads(message) == {"action": "unsubscribe", "trades": ["SPY"], "quotes": ["SPY"]}


def test_the_subscription_confirms_the_symbols() -> None:
    """The server's subscription list becomes the confirmed symbols, sorted and once each."""
    frame = '[{"T":"subscription","trades":["SPY","AAPL"],"quotes":["SPY"],"bars":[],"corrections":["SPY","AAPL"]}]'
    assert protocol().received(frame, 0).subscribed == ("AAPL", "SPY")


def test_data_frames_give_events_stamped_with_the_feed() -> None:
    """A trade frame gives a trade on stream alpaca.iex, received at the given time."""
    reaction = protocol().received('[{"T":"t","S":"SPY","p":451.1,"s":5,"t":"2024-01-18T15:30:45Z"}]', 5)
    (event,) = reaction.events
    assert isinstance(event, Trade)
    assert (event.stream, event.ts_recv) == ("alpaca.iex", "1970-01-01T00:00:00.000000005Z")


def test_rejects_and_controls_of_one_frame_both_come_out() -> None:
    """A frame with a control and garbage: the control acts and the garbage is rejected."""
    reaction = protocol().received('[{"T":"success","msg":"authenticated"},{"T":"zz"}]', 0)
    assert reaction.authenticated
    assert [reject.raw for reject in reaction.rejects] == ['{"T":"zz"}']


@pytest.mark.parametrize(
    ("code", "failure", "exit_code"),
    [
        (400, FeedFailure.PROTOCOL, 69),
        (401, FeedFailure.PROTOCOL, 69),
        (402, FeedFailure.AUTH, 77),
        (403, FeedFailure.PROTOCOL, 69),
        (404, FeedFailure.PROTOCOL, 69),
        (405, FeedFailure.SYMBOL_LIMIT, 2),
        (406, FeedFailure.CONNECTION_LIMIT, 69),
        (407, FeedFailure.PROTOCOL, 69),
        (408, FeedFailure.NOT_ENTITLED, 77),
        (409, FeedFailure.NOT_ENTITLED, 77),
        (410, FeedFailure.BAD_REQUEST, 2),
        (411, FeedFailure.NOT_ENTITLED, 77),
        (500, FeedFailure.PROTOCOL, 69),
        (599, FeedFailure.PROTOCOL, 69),
    ],
)
def test_each_server_error_code_means_what_the_docs_say(code: int, failure: FeedFailure, exit_code: int) -> None:
    """Refused credentials and entitlements are fatal (77), too many symbols is a usage error (2), the rest retried."""
    reaction = protocol().received(json.dumps([{"T": "error", "code": code, "msg": "words"}]), 0)
    assert reaction.error is not None
    assert (reaction.error.failure, reaction.error.failure.exit_code, reaction.error.code) == (failure, exit_code, code)
    assert reaction.error.message.startswith("words: ")


def test_every_documented_code_has_its_own_hint() -> None:
    """The table covers the codes of the docs (400-411 but 408 is the old docs', 500)."""
    assert set(FAILURES) == {400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 500}


def test_an_error_without_words_still_says_something() -> None:
    """No msg: the error still has a message."""
    assert feed_error(ServerError(code=402)) == FeedError(
        FeedFailure.AUTH,
        "server error: the key id and secret key were refused (APCA_API_KEY_ID, APCA_API_SECRET_KEY)",
        402,
    )


def test_the_secret_is_not_in_the_protocols_repr_nor_its_errors() -> None:
    """repr() and error messages never show the secret key."""
    connection = protocol()
    reaction = connection.received('[{"T":"error","code":402,"msg":"auth failed"}]', 0)
    assert SECRET not in repr(connection)
    assert reaction.error is not None
    assert SECRET not in reaction.error.message
