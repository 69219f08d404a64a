"""``mdc-capture ib`` options -> a :class:`~mdc_provider_ib.session.Plan` (pure; the contract file comes in parsed).

>>> plan = plan_from({"url": "tws://127.0.0.1:4002", "data": "trades,depth"}, {}, 30.0, {}).unwrap()
>>> (plan.host, plan.port, plan.kinds, plan.stream)
('127.0.0.1', 4002, ('trades', 'depth'), 'ib.live')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from returns.result import Failure, Result

from mdc.core.provider import OptionSpec

from .contracts import contract_file
from .session import KINDS, Plan

MARKET_DATA: Final = {"live": 1, "frozen": 2, "delayed": 3, "delayed-frozen": 4}
DEFAULT_PORT: Final = 7497
DEFAULT_ROWS: Final = 5
MAX_ROWS: Final = 50
_URL: Final = re.compile(r"tws://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(\d{1,5})/?", re.ASCII)

OPTIONS: Final = (
    OptionSpec("url", "tws://HOST:PORT of TWS or IB Gateway (instead of -o host=, -o port=)"),
    OptionSpec("host", "TWS / IB Gateway host (default 127.0.0.1)"),
    OptionSpec("port", f"its API port (default {DEFAULT_PORT}: TWS paper; 7496 TWS live, 4002/4001 Gateway)"),
    OptionSpec("client-id", "API client id, unique per connection to TWS (default 1)"),
    OptionSpec("market-data", "live (default), frozen, delayed or delayed-frozen (IB's market data types 1-4)"),
    OptionSpec(
        "data",
        "what to subscribe per symbol: trades,quotes,depth,bars,top "
        "(default trades,quotes with live data, top otherwise)",
    ),
    OptionSpec(
        "depth-levels", f"book rows per side for depth (default {DEFAULT_ROWS}; config depth_levels per symbol)"
    ),
    OptionSpec("smart-depth", "yes: IB's SMART depth, aggregated across exchanges (default no)"),
    OptionSpec("contracts", "a TOML file of contracts by symbol (see mdc-provider-ib(7))"),
    OptionSpec("not-entitled", "fail (default: exit 77) or skip (carry on without that symbol's stream)"),
    OptionSpec("connect-timeout", "seconds to connect and to qualify a contract (default 10)"),
)


def plan_from(
    options: Mapping[str, str],
    depth_levels: Mapping[str, int],
    idle_timeout_s: float,
    contracts: Mapping[str, object],
) -> Result[Plan, str]:
    """Check the options and make the plan every connection follows.

    Args:
        options: ``-o`` options and config values by name (strings).
        depth_levels: book rows per symbol from the config file.
        idle_timeout_s: ``--idle-timeout``: the heartbeat's deadline.
        contracts: the parsed contract file (empty without ``contracts``).

    Returns:
        The plan, or what is wrong (a usage error).
    """
    host, port = options.get("host", "127.0.0.1"), options.get("port", str(DEFAULT_PORT))
    url = options.get("url")
    if url is not None:
        match = _URL.fullmatch(url)
        if match is None:
            return Failure(f"--url must be tws://HOST:PORT (got {url!r})")
        host, port = match[1].strip("[]"), match[2]
    market_data = options.get("market-data", "live")
    if market_data not in MARKET_DATA:
        return Failure(f"-o market-data must be one of {', '.join(MARKET_DATA)} (got {market_data!r})")
    default_kinds = "trades,quotes" if market_data == "live" else "top"
    kinds = tuple(dict.fromkeys(kind.strip() for kind in options.get("data", default_kinds).split(",") if kind.strip()))
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        return Failure(f"-o data takes a comma-separated list of {', '.join(KINDS)} (got {options.get('data')!r})")
    smart = options.get("smart-depth", "no").lower()
    if smart not in ("yes", "no", "true", "false", "1", "0"):
        return Failure(f"-o smart-depth must be yes or no (got {options.get('smart-depth')!r})")
    entitlement = options.get("not-entitled", "fail")
    if entitlement not in ("fail", "skip"):
        return Failure(f"-o not-entitled must be fail or skip (got {entitlement!r})")
    numbers: dict[str, float] = {}
    for name, text, low, high in (
        ("port", port, 1, 65535),
        ("client-id", options.get("client-id", "1"), 0, 2**31 - 1),
        ("depth-levels", options.get("depth-levels", str(DEFAULT_ROWS)), 1, MAX_ROWS),
        ("connect-timeout", options.get("connect-timeout", "10"), 0.05, 3600),
    ):
        try:
            value = float(text) if name == "connect-timeout" else int(text)
        except ValueError:
            return Failure(f"{_given(name)} must be a number (got {text!r})")
        if not low <= value <= high:
            return Failure(f"{_given(name)} must be between {low} and {high} (got {text})")
        numbers[name] = value
    rows = {symbol: levels for symbol, levels in depth_levels.items() if levels > 0}
    return (
        contract_file(contracts)
        .alt(lambda problem: f"-o contracts: {problem}")
        .map(
            lambda specs: Plan(
                host=host,
                port=int(numbers["port"]),
                client_id=int(numbers["client-id"]),
                market_data=MARKET_DATA[market_data],
                stream=f"ib.{market_data}",
                kinds=kinds,
                depth_rows={symbol: min(levels, MAX_ROWS) for symbol, levels in rows.items()},
                default_rows=int(numbers["depth-levels"]),
                smart_depth=smart in ("yes", "true", "1"),
                skip_not_entitled=entitlement == "skip",
                connect_timeout_s=numbers["connect-timeout"],
                idle_timeout_s=idle_timeout_s,
                specs=specs,
            )
        )
    )


def _given(name: str) -> str:
    """How the user gave the option: mdc-capture has a flag for --depth-levels; the others come as -o NAME=."""
    return f"--{name}" if name == "depth-levels" else f"-o {name}"
