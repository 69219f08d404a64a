"""The contract resolver: mdc symbols and contract-file entries -> ib_async contracts (pure).

IB identifies an instrument by a *contract* (security type, symbol, exchange,
currency, expiry ...), not by a ticker. mdc events carry the user's symbol, so
each symbol resolves to one contract, in one of two ways:

* the symbol itself, in a compact grammar that fits mdc's symbol grammar
  (letters, digits and ``.-/=^_:``, at most 32 characters)::

      SPY  BRK.B                      stock on SMART in USD (a "." is IB's space: BRK.B -> "BRK B")
      EUR/USD                         forex pair on IDEALPRO
      STK:SYMBOL[:EXCHANGE[:CURRENCY[:PRIMARY]]]       STK:SPY:SMART:USD:ARCA
      ETF:...                         the same as STK
      IND:SYMBOL:EXCHANGE[:CURRENCY]                   IND:SPX:CBOE
      FUT:SYMBOL:EXPIRY:EXCHANGE[:CURRENCY]            FUT:ES:202612:CME
      CASH:BASE/QUOTE[:EXCHANGE]                       CASH:EUR/USD
      OPT:SYMBOL:EXPIRY:STRIKE:RIGHT[:EXCHANGE[:CURRENCY]]  OPT:SPY:20261218:450:C

* an entry of the contract file (``-o contracts=FILE``, TOML) keyed by the
  symbol: a string in the grammar above, or a table
  ``{type, symbol, exchange, currency, primary_exchange, expiry, strike,
  right, multiplier, local_symbol, trading_class, con_id, pair}`` with
  ``type`` one of stock, etf, index, future, forex, option.

>>> spec = parse_symbol("FUT:ES:202612:CME").unwrap()
>>> (spec.kind, spec.symbol, spec.expiry, spec.exchange, spec.currency)
('future', 'ES', '202612', 'CME', 'USD')
>>> to_contract(parse_symbol("EUR/USD").unwrap()).pair()
'EUR.USD'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

from attrs import frozen
from ib_async import Contract
from returns.result import Failure, Result, Success

KINDS: Final = ("stock", "etf", "index", "future", "forex", "option")
SEC_TYPES: Final = {"stock": "STK", "etf": "STK", "index": "IND", "future": "FUT", "forex": "CASH", "option": "OPT"}
_PREFIXES: Final = {"STK": "stock", "ETF": "etf", "IND": "index", "FUT": "future", "CASH": "forex", "OPT": "option"}
_PLAIN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*", re.ASCII)
_PAIR: Final = re.compile(r"([A-Za-z]{3})/?([A-Za-z]{3})", re.ASCII)
_EXPIRY: Final = re.compile(r"\d{6}(\d{2})?", re.ASCII)
_CODE: Final = re.compile(r"[A-Za-z0-9.\- ]+", re.ASCII)
_TABLE_KEYS: Final = frozenset(
    {
        "type",
        "symbol",
        "exchange",
        "currency",
        "primary_exchange",
        "expiry",
        "strike",
        "right",
        "multiplier",
        "local_symbol",
        "trading_class",
        "con_id",
        "pair",
    }
)


@frozen
class ContractSpec:
    """What one mdc symbol asks IB for.

    Attributes:
        kind: stock, etf, index, future, forex or option.
        symbol: IB's symbol (the underlying's for derivatives; the base currency for forex).
        exchange: the destination (SMART, CME, IDEALPRO ...).
        currency: the quote currency.
        primary_exchange: a stock's listing exchange, to tell SMART apart from ambiguity.
        expiry: YYYYMM or YYYYMMDD for futures and options.
        strike: an option's strike.
        right: ``C`` or ``P``.
        multiplier: the contract multiplier, as IB writes it.
        local_symbol: the exchange's own symbol (``ESZ6``), when given.
        trading_class: IB's trading class, when given.
        con_id: IB's contract id, when given (it identifies the contract alone).
    """

    kind: str
    symbol: str
    exchange: str
    currency: str
    primary_exchange: str = ""
    expiry: str = ""
    strike: Decimal | None = None
    right: str = ""
    multiplier: str = ""
    local_symbol: str = ""
    trading_class: str = ""
    con_id: int = 0

    def describe(self) -> str:
        """A short human description for messages (``future ES 202612 on CME``)."""
        parts = [self.kind, self.symbol]
        if self.expiry:
            parts.append(self.expiry)
        if self.strike is not None:
            parts.append(f"{self.strike}{self.right}")
        if self.con_id:
            parts.append(f"conId {self.con_id}")
        return " ".join(parts) + f" on {self.exchange} in {self.currency}"


def parse_symbol(text: str) -> Result[ContractSpec, str]:
    """The contract a symbol names in the compact grammar (see the module docstring).

    Args:
        text: an mdc symbol.

    Returns:
        The contract spec, or why the symbol names none.
    """
    head, colon, rest = text.partition(":")
    if not colon:
        if "/" in text:
            return _forex(text, "IDEALPRO")
        if _PLAIN.fullmatch(text) is None:
            return Failure(f"{text!r} is not a stock symbol, a forex pair (EUR/USD) or TYPE:FIELDS")
        return Success(ContractSpec("stock", text.replace(".", " "), "SMART", "USD"))
    kind = _PREFIXES.get(head.upper())
    if kind is None:
        return Failure(f"{text!r}: unknown contract type {head!r} (use one of {', '.join(_PREFIXES)})")
    fields = rest.split(":")
    if any(not field for field in fields):
        return Failure(f"{text!r}: empty field")
    match kind, fields:
        case (("stock" | "etf"), [symbol, *more]) if len(more) <= 3:
            exchange, currency, primary = (*more, "", "", "")[:3]
            return _checked(
                ContractSpec(kind, symbol.replace(".", " "), exchange or "SMART", currency or "USD", primary)
            )
        case "index", [symbol, exchange, *more] if len(more) <= 1:
            return _checked(ContractSpec(kind, symbol, exchange, more[0] if more else "USD"))
        case "future", [symbol, expiry, exchange, *more] if len(more) <= 1:
            return _checked(ContractSpec(kind, symbol, exchange, more[0] if more else "USD", expiry=expiry))
        case "forex", [pair, *more] if len(more) <= 1:
            return _forex(pair, more[0] if more else "IDEALPRO")
        case "option", [symbol, expiry, strike, right, *more] if len(more) <= 2:
            exchange, currency = (*more, "", "")[:2]
            return _strike(strike).bind(
                lambda value: _right(right).bind(
                    lambda side: _checked(
                        ContractSpec(
                            kind,
                            symbol,
                            exchange or "SMART",
                            currency or "USD",
                            expiry=expiry,
                            strike=value,
                            right=side,
                        )
                    )
                )
            )
    return Failure(f"{text!r}: wrong number of fields for {head.upper()} (see mdc-provider-ib(7))")


def parse_table(symbol: str, table: Mapping[str, object]) -> Result[ContractSpec, str]:
    """The contract a contract-file table describes.

    Args:
        symbol: the mdc symbol the table is keyed by (for messages; also the default IB symbol).
        table: the table's keys and values as TOML gives them.

    Returns:
        The contract spec, or what is wrong with the table.
    """
    unknown = sorted(set(table) - _TABLE_KEYS)
    if unknown:
        return Failure(f"{symbol}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TABLE_KEYS))})")
    text: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return Failure(f"{symbol}: {key} must be a string or a number (got {value!r})")
        text[key] = str(value)
    kind = text.get("type", "stock").lower()
    if kind not in KINDS:
        return Failure(f"{symbol}: type must be one of {', '.join(KINDS)} (got {text.get('type')!r})")
    if kind == "forex":
        pair = text.get("pair") or (
            text.get("symbol", "") + "/" + text.get("currency", "") if "currency" in text else ""
        )
        return _forex(pair or symbol, text.get("exchange", "IDEALPRO"))
    con_id = text.get("con_id", "0")
    if not con_id.isdigit():
        return Failure(f"{symbol}: con_id must be a whole number (got {con_id!r})")
    strike: Result[Decimal | None, str] = Success(None)
    if "strike" in text:
        strike = _strike(text["strike"]).map(lambda value: value)
    right = _right(text["right"]) if "right" in text else Success("")
    default_exchange = "SMART" if kind in ("stock", "etf", "option") else ""
    return strike.bind(
        lambda value: right.bind(
            lambda side: _checked(
                ContractSpec(
                    kind,
                    text.get("symbol", symbol),
                    text.get("exchange", default_exchange),
                    text.get("currency", "USD"),
                    primary_exchange=text.get("primary_exchange", ""),
                    expiry=text.get("expiry", ""),
                    strike=value,
                    right=side,
                    multiplier=text.get("multiplier", ""),
                    local_symbol=text.get("local_symbol", ""),
                    trading_class=text.get("trading_class", ""),
                    con_id=int(con_id),
                )
            )
        )
    )


def contract_file(entries: Mapping[str, object]) -> Result[dict[str, ContractSpec], str]:
    """Every entry of a parsed contract file: symbol -> string in the grammar, or a table.

    Args:
        entries: the TOML document.

    Returns:
        The specs by symbol, or the first problem.
    """
    specs: dict[str, ContractSpec] = {}
    for symbol, entry in entries.items():
        match entry:
            case str():
                result = _prefixed(symbol, parse_symbol(entry))
            case Mapping():
                result = parse_table(symbol, entry)
            case _:
                return Failure(f"{symbol}: an entry is a string (FUT:ES:202612:CME) or a table (got {entry!r})")
        match result:
            case Success(spec):
                specs[symbol] = spec
            case Failure(problem):
                return Failure(problem)
    return Success(specs)


def resolve(symbol: str, specs: Mapping[str, ContractSpec]) -> Result[ContractSpec, str]:
    """A symbol's contract: its contract-file entry if it has one, else the symbol read in the grammar."""
    spec = specs.get(symbol)
    return Success(spec) if spec is not None else parse_symbol(symbol)


def to_contract(spec: ContractSpec) -> Contract:
    """The ib_async contract for a spec (not qualified: TWS resolves it when data is requested).

    Args:
        spec: a contract spec.

    Returns:
        A new :class:`ib_async.Contract`.
    """
    return Contract(
        secType=SEC_TYPES[spec.kind],
        conId=spec.con_id,
        symbol=spec.symbol,
        lastTradeDateOrContractMonth=spec.expiry,
        strike=float(spec.strike) if spec.strike is not None else 0.0,
        right=spec.right,
        multiplier=spec.multiplier,
        exchange=spec.exchange,
        primaryExchange=spec.primary_exchange,
        currency=spec.currency,
        localSymbol=spec.local_symbol,
        tradingClass=spec.trading_class,
    )


def _prefixed(symbol: str, result: Result[ContractSpec, str]) -> Result[ContractSpec, str]:
    return result.alt(lambda problem: f"{symbol}: {problem}")


def _forex(pair: str, exchange: str) -> Result[ContractSpec, str]:
    match = _PAIR.fullmatch(pair)
    if match is None:
        return Failure(f"{pair!r} is not a currency pair like EUR/USD")
    return _checked(ContractSpec("forex", match[1].upper(), exchange, match[2].upper()))


def _strike(text: str) -> Result[Decimal, str]:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return Failure(f"strike must be a number (got {text!r})")
    if not value.is_finite() or value <= 0:
        return Failure(f"strike must be > 0 (got {text!r})")
    return Success(value)


def _right(text: str) -> Result[str, str]:
    side = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}.get(text.upper())
    return Success(side) if side else Failure(f"right must be C or P (got {text!r})")


def _checked(spec: ContractSpec) -> Result[ContractSpec, str]:
    if not spec.symbol and not spec.con_id:
        return Failure("a contract needs a symbol or a con_id")
    if spec.kind in ("future", "option") and not spec.con_id and not spec.local_symbol:
        if not spec.expiry:
            return Failure(f"a {spec.kind} needs an expiry (YYYYMM or YYYYMMDD)")
        if _EXPIRY.fullmatch(spec.expiry) is None:
            return Failure(f"expiry must be YYYYMM or YYYYMMDD (got {spec.expiry!r})")
    if spec.kind == "option" and not spec.con_id and not spec.local_symbol and (spec.strike is None or not spec.right):
        return Failure("an option needs a strike and a right (C or P)")
    if not spec.exchange:
        return Failure(f"a {spec.kind} needs an exchange")
    for name, value in (("symbol", spec.symbol), ("exchange", spec.exchange), ("currency", spec.currency)):
        if value and _CODE.fullmatch(value) is None:
            return Failure(f"{name} {value!r} has characters IB does not use")
    return Success(spec)
