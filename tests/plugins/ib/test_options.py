"""Options -> plan, and IB error codes -> actions."""

from __future__ import annotations

import pytest
from mdc_provider_ib.errors import Action, classify
from mdc_provider_ib.options import plan_from
from returns.result import Failure


def plan(**options: str):  # type: ignore[no-untyped-def]
    return plan_from(options, {}, 30.0, {})


def test_defaults() -> None:
    """Without options: 127.0.0.1:7497, client id 1, live tick-by-tick trades and quotes, 5 depth rows."""
    made = plan().unwrap()
    assert (made.host, made.port, made.client_id, made.market_data, made.kinds, made.default_rows) == (
        "127.0.0.1",
        7497,
        1,
        1,
        ("trades", "quotes"),
        5,
    )
    assert (made.stream, made.url, made.smart_depth, made.skip_not_entitled) == (
        "ib.live",
        "tws://127.0.0.1:7497",
        False,
        False,
    )


def test_url_overrides_host_and_port() -> None:
    """--url tws://HOST:PORT sets both."""
    made = plan(url="tws://gateway.local:4002", host="ignored", port="1").unwrap()
    assert (made.host, made.port) == ("gateway.local", 4002)


@pytest.mark.parametrize(
    ("name", "number", "stream"), [("frozen", 2, "ib.frozen"), ("delayed-frozen", 4, "ib.delayed-frozen")]
)
def test_market_data_types(name: str, number: int, stream: str) -> None:
    """Non-live data types are IB's numbers 2-4, name the stream, and default to top-of-book quotes."""
    made = plan(**{"market-data": name}).unwrap()
    assert (made.market_data, made.stream, made.kinds) == (number, stream, ("top",))


def test_depth_rows_per_symbol_from_the_config() -> None:
    """Config depth_levels set a symbol's rows; --depth-levels the others'."""
    made = plan_from({"data": "depth", "depth-levels": "10", "smart-depth": "yes"}, {"ES": 3}, 30.0, {}).unwrap()
    assert (made.depth_rows, made.default_rows, made.smart_depth) == ({"ES": 3}, 10, True)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"url": "ws://127.0.0.1:7497"}, "--url must be tws://HOST:PORT"),
        ({"market-data": "realtime"}, "-o market-data must be one of live, frozen, delayed, delayed-frozen"),
        ({"data": "trades,ticks"}, "-o data takes a comma-separated list"),
        ({"port": "70000"}, "-o port must be between 1 and 65535"),
        ({"client-id": "x"}, "-o client-id must be a number"),
        ({"not-entitled": "ignore"}, "-o not-entitled must be fail or skip"),
        ({"smart-depth": "maybe"}, "-o smart-depth must be yes or no"),
    ],
)
def test_bad_options_say_why(options: dict[str, str], problem: str) -> None:
    """A bad option value fails with the option's name and what it takes."""
    result = plan(**options)
    assert isinstance(result, Failure)
    assert problem in result.failure()


def test_bad_contract_file_entry() -> None:
    """A bad contract-file entry fails the plan, naming -o contracts and the symbol."""
    result = plan_from({}, {}, 30.0, {"ES": {"type": "future"}})
    assert isinstance(result, Failure)
    assert result.failure().startswith("-o contracts: a future needs an expiry")


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (200, Action.NO_CONTRACT),
        (317, Action.BOOK_RESET),
        (354, Action.NOT_ENTITLED),
        (10089, Action.NOT_ENTITLED),
        (10168, Action.NOT_ENTITLED),
        (10167, Action.NOTICE),
        (10090, Action.NOTICE),
        (1100, Action.CONNECTIVITY_LOST),
        (1101, Action.RESUBSCRIBE),
        (1102, Action.RESTORED),
        (2104, Action.IGNORE),
        (2106, Action.IGNORE),
        (2158, Action.IGNORE),
        (2110, Action.NOTICE),
        (502, Action.RECONNECT),
        (504, Action.RECONNECT),
        (326, Action.RECONNECT),
        (309, Action.LIMIT),
        (10092, Action.UNSUPPORTED),
        (9999, None),
    ],
)
def test_error_codes(code: int, action: Action | None) -> None:
    """Each IB code that matters for market data has its action; the 2100s are notices; others are unknown."""
    assert classify(code) is action
