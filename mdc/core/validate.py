"""Railway validation: the domain rules of every event type.

Each ``validate_*`` function returns ``Success(event)`` or ``Failure(violations)``
and reports *every* rule the event breaks, not just the first. Timestamps that
are valid but not canonical (an offset instead of ``Z``, fewer fraction digits)
are normalised, so the event in the ``Success`` may differ from the input in
its ``ts`` and ``ts_recv`` only.

Rules are plain checks that append to one list; a ``Result`` is built once per
event, at the boundary (building one costs about as much as all the checks).

>>> from decimal import Decimal
>>> from .events import Trade
>>> bad = Trade(symbol="../etc", ts="2026-11-24T14:30:00Z", ts_recv="2026-11-24T14:30:00Z",
...             provider="sim", stream="t", price=Decimal("-1"), size=Decimal("0"), side="up")
>>> [v.rule for v in validate_event(bad, Policy()).failure()]
['symbol_grammar', 'price_positive', 'size_positive', 'known_side']
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Final, assert_never, cast

import attrs
from attrs import frozen
from returns.result import Failure, Result, Success

from .errors import Violation, Violations, violation
from .events import (
    BOOK_SIDES,
    CANCEL_ACTIONS,
    DEPTH_OPS,
    SIDES,
    Bar,
    Depth,
    Integrity,
    Luld,
    MarketEvent,
    Quote,
    Snapshot,
    Status,
    Trade,
    TradeCancel,
    TradeCorrection,
)
from .symbols import symbol_problem
from .timestamps import NS_PER_SECOND, Timestamp, canonical, is_canonical, to_ns


class CrossedQuotes(enum.Enum):
    """What to do with a quote whose bid is above its ask."""

    FLAG = "flag"
    """Keep it; the collectors emit ``integrity crossed_market`` (consolidated feeds do cross briefly)."""
    REJECT = "reject"
    """Reject it as a ``crossed_market`` violation."""


class Scope(enum.Enum):
    """Which rules to check."""

    EVERY_RULE = "every-rule"
    """Everything (mdc-validate)."""
    ENVELOPE = "envelope"
    """Only what keeping an event needs: canonical timestamps, a symbol that can name a file, non-empty
    provider and stream, seq >= 0 (mdc-store: judging prices is mdc-validate's job)."""


DEFAULT_MAX_SKEW_NS: Final = 5 * NS_PER_SECOND


@frozen
class Policy:
    """The tunable part of validation.

    Attributes:
        max_skew_ns: how far ``ts`` may lie after ``ts_recv`` (clocks differ), in nanoseconds.
        crossed: what to do with crossed quotes.
        scope: which rules to check.
    """

    max_skew_ns: int = DEFAULT_MAX_SKEW_NS
    crossed: CrossedQuotes = CrossedQuotes.FLAG
    scope: Scope = Scope.EVERY_RULE


_ZERO: Final = Decimal(0)
_INTERVAL: Final = re.compile(r"[1-9][0-9]{0,5}(s|m|h|d|w|mo)", re.ASCII)
_KIND: Final = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)


def validate_event(event: MarketEvent, policy: Policy) -> Result[MarketEvent, Violations]:
    """Check an event of any type against its rules.

    Args:
        event: a decoded event.
        policy: the tunable limits.

    Returns:
        ``Success`` with the event (timestamps made canonical) or ``Failure`` with all violations.
    """
    checked = check(event, policy)
    if isinstance(checked, list):
        return Failure(tuple(checked))
    return Success(checked)


def check(event: MarketEvent, policy: Policy) -> MarketEvent | list[Violation]:
    """The allocation-light core of :func:`validate_event`, for batch loops.

    A quick conservative test passes the common, clearly valid event without
    building anything; everything else goes through :func:`check_in_detail`,
    which is the authority on every rule.

    Args:
        event: a decoded event.
        policy: the tunable limits.

    Returns:
        The (possibly timestamp-normalised) event, or a non-empty list of violations.
    """
    ts, ts_recv = event.ts, event.ts_recv
    try:
        if (
            is_canonical(ts)
            and is_canonical(ts_recv)
            and (ts <= ts_recv or to_ns(ts) - to_ns(ts_recv) <= policy.max_skew_ns)
            and event.provider
            and event.stream
            and (event.seq is None or event.seq >= 0)
            and symbol_problem(event.symbol) is None
            and (policy.scope is Scope.ENVELOPE or _QUICK[type(event)](event, policy))
        ):
            return event
    except ArithmeticError:  # a NaN compared; the detailed check names it
        pass
    return check_in_detail(event, policy)


def check_in_detail(event: MarketEvent, policy: Policy) -> MarketEvent | list[Violation]:
    """Every rule, accumulating every violation (see :func:`check`).

    Args:
        event: a decoded event.
        policy: the tunable limits.

    Returns:
        The (possibly timestamp-normalised) event, or a non-empty list of violations.
    """
    errors: list[Violation] = []
    ts = _timestamp(event.ts, "$.ts", errors)
    ts_recv = _timestamp(event.ts_recv, "$.ts_recv", errors)
    if ts is not None and ts_recv is not None and ts > ts_recv:
        skew = to_ns(ts) - to_ns(ts_recv)
        if skew > policy.max_skew_ns:
            errors.append(
                violation(
                    "ts_skew",
                    "$.ts",
                    event.ts,
                    f"ts is {skew / NS_PER_SECOND:g} s after ts_recv "
                    f"(allowed {policy.max_skew_ns / NS_PER_SECOND:g} s)",
                )
            )
    problem = symbol_problem(event.symbol)
    if problem is not None:
        errors.append(violation("symbol_grammar", "$.symbol", event.symbol, problem))
    if not event.provider:
        errors.append(violation("not_empty", "$.provider", "", "provider must not be empty"))
    if not event.stream:
        errors.append(violation("not_empty", "$.stream", "", "stream must not be empty"))
    if event.seq is not None and event.seq < 0:
        errors.append(violation("sequence_positive", "$.seq", event.seq, f"seq must be >= 0 (got {event.seq})"))
    if policy.scope is Scope.EVERY_RULE:
        _check_type(event, policy, errors)
    if errors or ts is None or ts_recv is None:
        return errors
    if ts is not event.ts or ts_recv is not event.ts_recv:
        return attrs.evolve(event, ts=ts, ts_recv=ts_recv)
    return event


def _check_type(event: MarketEvent, policy: Policy, errors: list[Violation]) -> None:
    match event:
        case Trade():
            _check_trade(event, errors)
        case Quote():
            _check_quote(event, policy, errors)
        case Depth():
            _check_depth(event, errors)
        case Snapshot():
            _check_snapshot(event, errors)
        case Bar():
            _check_bar(event, errors)
        case Integrity():
            _check_integrity(event, errors)
        case TradeCorrection():
            _check_correction(event, errors)
        case TradeCancel():
            _check_cancel(event, errors)
        case Status():
            _check_status(event, errors)
        case Luld():
            _check_luld(event, errors)
        case _:
            assert_never(event)


# --------------------------------------------------------------------------- envelope


def _timestamp(text: str, path: str, errors: list[Violation]) -> Timestamp | None:
    if is_canonical(text):
        return Timestamp(text)
    result = canonical(text)
    if isinstance(result, Success):
        normalised: Timestamp = result.unwrap()
        return normalised
    errors.append(violation("ts_format", path, text, f"{path[2:]} {result.failure()}"))
    return None


# --------------------------------------------------------------------------- numbers


def _positive(value: Decimal, path: str, rule: str, errors: list[Violation]) -> None:
    """Value must be finite and > 0."""
    if not value.is_finite():
        errors.append(violation("finite_number", path, str(value), f"{path[2:]} must be a finite number (got {value})"))
    elif value <= _ZERO:
        errors.append(violation(rule, path, value, f"{path[2:]} must be > 0 (got {value})"))


def _non_negative(value: Decimal, path: str, rule: str, errors: list[Violation]) -> None:
    """Value must be finite and >= 0."""
    if not value.is_finite():
        errors.append(violation("finite_number", path, str(value), f"{path[2:]} must be a finite number (got {value})"))
    elif value < _ZERO:
        errors.append(violation(rule, path, value, f"{path[2:]} must be >= 0 (got {value})"))


# --------------------------------------------------------------------------- types


def _check_trade(trade: Trade, errors: list[Violation]) -> None:
    _positive(trade.price, "$.price", "price_positive", errors)
    _positive(trade.size, "$.size", "size_positive", errors)
    if trade.side not in SIDES:
        errors.append(
            violation("known_side", "$.side", trade.side, f"side must be buy, sell or unknown (got {trade.side!r})")
        )


def _check_quote(quote: Quote, policy: Policy, errors: list[Violation]) -> None:
    for price, size, name in ((quote.bid_price, quote.bid_size, "bid"), (quote.ask_price, quote.ask_size, "ask")):
        _non_negative(size, f"$.{name}_size", "size_nonnegative", errors)
        if price is None:
            if size.is_finite() and size != _ZERO:
                errors.append(
                    violation("empty_side", f"$.{name}_size", size, f"{name}_size must be 0 when {name}_price is null")
                )
        else:
            _positive(price, f"$.{name}_price", "price_positive", errors)
    bid, ask = quote.bid_price, quote.ask_price
    if (
        policy.crossed is CrossedQuotes.REJECT
        and bid is not None
        and ask is not None
        and bid.is_finite()
        and ask.is_finite()
        and bid > ask
    ):
        errors.append(violation("crossed_market", "$.bid_price", bid, f"bid {bid} is above ask {ask} (crossed market)"))


def _check_depth(depth: Depth, errors: list[Violation]) -> None:
    if depth.side not in BOOK_SIDES:
        errors.append(violation("known_side", "$.side", depth.side, f"side must be bid or ask (got {depth.side!r})"))
    op, position, price, size = depth.op, depth.position, depth.price, depth.size
    if op not in DEPTH_OPS:
        errors.append(
            violation("depth_consistent", "$.op", op, f"op must be insert, update, delete or set (got {op!r})")
        )
        return
    if position is not None and position < 0:
        errors.append(violation("depth_consistent", "$.position", position, f"position must be >= 0 (got {position})"))
    if op in ("insert", "update") and position is None:
        errors.append(
            violation(
                "depth_consistent",
                "$.position",
                None,
                f"{op} needs a position (position model); use set for the price-level model",
            )
        )
    if op == "set" and position is not None:
        errors.append(
            violation(
                "depth_consistent", "$.position", position, "set addresses a level by price and takes no position"
            )
        )
    needs_price = op != "delete" or position is None
    if price is None:
        if needs_price:
            errors.append(violation("depth_consistent", "$.price", None, f"{op} needs a price"))
    else:
        _positive(price, "$.price", "price_positive", errors)
    if size is None:
        if op in ("insert", "update", "set"):
            errors.append(violation("depth_consistent", "$.size", None, f"{op} needs a size"))
    elif op == "insert":
        _positive(size, "$.size", "size_positive", errors)
    else:
        _non_negative(size, "$.size", "size_nonnegative", errors)
        if op == "delete" and position is None and size.is_finite() and size != _ZERO:
            errors.append(violation("depth_consistent", "$.size", size, "a price-level delete has size 0 or none"))


def _check_snapshot(snapshot: Snapshot, errors: list[Violation]) -> None:
    for name, levels, better in (("bids", snapshot.bids, _higher), ("asks", snapshot.asks, _lower)):
        previous: Decimal | None = None
        for index, (price, size) in enumerate(levels):
            _positive(price, f"$.{name}[{index}][0]", "price_positive", errors)
            _positive(size, f"$.{name}[{index}][1]", "size_positive", errors)
            if previous is not None and price.is_finite() and previous.is_finite() and not better(previous, price):
                errors.append(
                    violation(
                        "book_order",
                        f"$.{name}[{index}][0]",
                        price,
                        f"{name} must be best first without repeats ({price} after {previous})",
                    )
                )
            previous = price


def _higher(first: Decimal, second: Decimal) -> bool:
    return first > second


def _lower(first: Decimal, second: Decimal) -> bool:
    return first < second


def _check_bar(bar: Bar, errors: list[Violation]) -> None:
    if _INTERVAL.fullmatch(bar.interval) is None:
        errors.append(
            violation(
                "bar_interval",
                "$.interval",
                bar.interval,
                f"interval must be a count and a unit s, m, h, d, w or mo, like 1m or 1d (got {bar.interval!r})",
            )
        )
    prices = (("open", bar.open), ("high", bar.high), ("low", bar.low), ("close", bar.close))
    for name, price in prices:
        _positive(price, f"$.{name}", "price_positive", errors)
    if all(price.is_finite() for _, price in prices):
        for name, price in (("open", bar.open), ("close", bar.close)):
            if not bar.low <= price <= bar.high:
                errors.append(
                    violation(
                        "bar_ohlc",
                        f"$.{name}",
                        price,
                        f"{name} {price} must lie between low {bar.low} and high {bar.high}",
                    )
                )
        if bar.low > bar.high:
            errors.append(violation("bar_ohlc", "$.low", bar.low, f"low {bar.low} is above high {bar.high}"))
    _non_negative(bar.volume, "$.volume", "volume_nonnegative", errors)
    if bar.vwap is not None:
        _positive(bar.vwap, "$.vwap", "price_positive", errors)
    if bar.trade_count is not None and bar.trade_count < 0:
        errors.append(
            violation(
                "volume_nonnegative",
                "$.trade_count",
                bar.trade_count,
                f"trade_count must be >= 0 (got {bar.trade_count})",
            )
        )


def _check_integrity(integrity: Integrity, errors: list[Violation]) -> None:
    if _KIND.fullmatch(integrity.kind) is None:
        errors.append(
            violation(
                "integrity_kind", "$.kind", integrity.kind, f"kind must be a snake_case word (got {integrity.kind!r})"
            )
        )


def _check_correction(correction: TradeCorrection, errors: list[Violation]) -> None:
    for stage in ("original", "corrected"):
        _positive(getattr(correction, f"{stage}_price"), f"$.{stage}_price", "price_positive", errors)
        _positive(getattr(correction, f"{stage}_size"), f"$.{stage}_size", "size_positive", errors)


def _check_cancel(cancel: TradeCancel, errors: list[Violation]) -> None:
    if cancel.action not in CANCEL_ACTIONS:
        errors.append(
            violation(
                "known_action", "$.action", cancel.action, f"action must be cancel or error (got {cancel.action!r})"
            )
        )
    if cancel.price is not None:
        _positive(cancel.price, "$.price", "price_positive", errors)
    if cancel.size is not None:
        _positive(cancel.size, "$.size", "size_positive", errors)


def _check_status(status: Status, errors: list[Violation]) -> None:
    if not status.status:
        errors.append(violation("not_empty", "$.status", "", "status must not be empty"))


def _check_luld(luld: Luld, errors: list[Violation]) -> None:
    _positive(luld.limit_up, "$.limit_up", "price_positive", errors)
    _positive(luld.limit_down, "$.limit_down", "price_positive", errors)
    if luld.limit_up.is_finite() and luld.limit_down.is_finite() and luld.limit_down > luld.limit_up:
        errors.append(
            violation(
                "band_order",
                "$.limit_down",
                luld.limit_down,
                f"limit_down {luld.limit_down} is above limit_up {luld.limit_up}",
            )
        )


# --------------------------------------------------------------------------- quick checks
# Conservative: True only when the event certainly passes its type's rules. A NaN
# raises InvalidOperation in an ordered comparison, which check() catches.

_HUGE: Final = Decimal("1e30")
_SIDE_SET: Final = frozenset(SIDES)
_BOOK_SIDE_SET: Final = frozenset(BOOK_SIDES)


def _quick_trade(trade: Trade, _: Policy) -> bool:
    return _ZERO < trade.price < _HUGE and _ZERO < trade.size < _HUGE and trade.side in _SIDE_SET


def _quick_quote(quote: Quote, policy: Policy) -> bool:
    bid, ask = quote.bid_price, quote.ask_price
    return (
        bid is not None
        and ask is not None
        and _ZERO < bid < _HUGE
        and _ZERO < ask < _HUGE
        and _ZERO <= quote.bid_size < _HUGE
        and _ZERO <= quote.ask_size < _HUGE
        and (policy.crossed is CrossedQuotes.FLAG or bid <= ask)
    )


def _quick_depth(depth: Depth, _: Policy) -> bool:
    price, size, op = depth.price, depth.size, depth.op
    if depth.side not in _BOOK_SIDE_SET or price is None or not _ZERO < price < _HUGE:
        return False
    if depth.position is None:
        if op == "set":
            return size is not None and _ZERO <= size < _HUGE
        return op == "delete" and (size is None or size == _ZERO)
    return (
        depth.position >= 0
        and size is not None
        and ((op == "insert" and _ZERO < size < _HUGE) or (op == "update" and _ZERO <= size < _HUGE))
    )


def _quick_other(_: MarketEvent, __: Policy) -> bool:
    return False


_Quick = Callable[[MarketEvent, Policy], bool]
_QUICK: Final[dict[type, _Quick]] = {
    Trade: cast("_Quick", _quick_trade),
    Quote: cast("_Quick", _quick_quote),
    Depth: cast("_Quick", _quick_depth),
    Snapshot: _quick_other,
    Bar: _quick_other,
    Integrity: _quick_other,
    TradeCorrection: _quick_other,
    TradeCancel: _quick_other,
    Status: _quick_other,
    Luld: _quick_other,
}
