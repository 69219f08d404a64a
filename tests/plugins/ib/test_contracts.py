"""The contract resolver: the compact symbol grammar, contract-file tables, and the ib_async contracts they make."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_async import Contract
from mdc_provider_ib.contracts import ContractSpec, contract_file, parse_symbol, parse_table, resolve, to_contract
from returns.result import Failure, Success

from mdc.core.symbols import symbol_problem


@pytest.mark.parametrize(
    ("symbol", "spec"),
    [
        ("SPY", ContractSpec("stock", "SPY", "SMART", "USD")),
        ("BRK.B", ContractSpec("stock", "BRK B", "SMART", "USD")),
        ("EUR/USD", ContractSpec("forex", "EUR", "IDEALPRO", "USD")),
        ("STK:SPY:SMART:USD:ARCA", ContractSpec("stock", "SPY", "SMART", "USD", "ARCA")),
        ("ETF:QQQ", ContractSpec("etf", "QQQ", "SMART", "USD")),
        ("IND:SPX:CBOE", ContractSpec("index", "SPX", "CBOE", "USD")),
        ("FUT:ES:202612:CME", ContractSpec("future", "ES", "CME", "USD", expiry="202612")),
        ("CASH:GBP/JPY", ContractSpec("forex", "GBP", "IDEALPRO", "JPY")),
        (
            "OPT:SPY:20261218:452.5:C",
            ContractSpec("option", "SPY", "SMART", "USD", expiry="20261218", strike=Decimal("452.5"), right="C"),
        ),
        ("fut:ES:20261218:CME:USD", ContractSpec("future", "ES", "CME", "USD", expiry="20261218")),
    ],
)
def test_compact_grammar(symbol: str, spec: ContractSpec) -> None:
    """Each form of the compact grammar names the contract the man page says."""
    assert parse_symbol(symbol) == Success(spec)


@pytest.mark.parametrize(
    ("symbol", "problem"),
    [
        ("XYZ:SPY", "unknown contract type 'XYZ'"),
        ("FUT:ES:CME", "wrong number of fields for FUT"),
        ("FUT:ES:2026:CME", "expiry must be YYYYMM or YYYYMMDD (got '2026')"),
        ("OPT:SPY:20261218:0:C", "strike must be > 0 (got '0')"),
        ("OPT:SPY:20261218:450:X", "right must be C or P (got 'X')"),
        ("EUR/US", "'EUR/US' is not a currency pair like EUR/USD"),
        ("IND:SPX", "wrong number of fields for IND"),
        ("STK::SMART", "empty field"),
    ],
)
def test_bad_symbols_say_why(symbol: str, problem: str) -> None:
    """A symbol that names no contract fails with a reason naming the part that is wrong."""
    result = parse_symbol(symbol)
    assert isinstance(result, Failure)
    assert problem in result.failure()


def test_future_table() -> None:
    """A future's table: symbol, expiry and exchange; currency defaults to USD."""
    table = {"type": "future", "symbol": "ES", "expiry": "202612", "exchange": "CME", "multiplier": 50}
    assert parse_table("ES", table) == Success(
        ContractSpec("future", "ES", "CME", "USD", expiry="202612", multiplier="50")
    )


def test_option_table_and_contract() -> None:
    """An option's table becomes an OPT contract with the strike as a number and the right as IB writes it."""
    table = {"type": "option", "symbol": "SPY", "expiry": "20261218", "strike": "450", "right": "put"}
    contract = to_contract(parse_table("SPY-P450", table).unwrap())
    assert contract == Contract(
        secType="OPT",
        symbol="SPY",
        lastTradeDateOrContractMonth="20261218",
        strike=450.0,
        right="P",
        exchange="SMART",
        currency="USD",
    )


def test_index_and_stock_tables() -> None:
    """Index and stock tables keep exchange, currency and primary exchange; the key is the default symbol."""
    assert parse_table("SPX", {"type": "index", "exchange": "CBOE"}) == Success(
        ContractSpec("index", "SPX", "CBOE", "USD")
    )
    assert parse_table("VOD", {"exchange": "SMART", "currency": "GBP", "primary_exchange": "LSE"}) == Success(
        ContractSpec("stock", "VOD", "SMART", "GBP", "LSE")
    )


def test_forex_table() -> None:
    """A forex table names its pair, or its base symbol and quote currency."""
    assert parse_table("EURUSD", {"type": "forex", "pair": "EUR/USD"}) == Success(
        ContractSpec("forex", "EUR", "IDEALPRO", "USD")
    )
    assert parse_table("X", {"type": "forex", "symbol": "USD", "currency": "JPY"}) == Success(
        ContractSpec("forex", "USD", "IDEALPRO", "JPY")
    )


def test_con_id_alone_identifies_a_future() -> None:
    """A table with a con_id needs no expiry: IB's contract id is enough."""
    spec = parse_table("ESZ6", {"type": "future", "con_id": 649180695, "exchange": "CME"}).unwrap()
    assert (spec.con_id, to_contract(spec).conId) == (649180695, 649180695)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"type": "bond"}, "type must be one of"),
        ({"type": "future", "symbol": "ES", "exchange": "CME"}, "a future needs an expiry"),
        ({"type": "option", "expiry": "202612", "exchange": "SMART"}, "needs a strike and a right"),
        ({"exchnage": "CME"}, "unknown key 'exchnage'"),
        ({"strike": ["450"]}, "strike must be a string or a number"),
        ({"type": "index"}, "a index needs an exchange"),
    ],
)
def test_bad_tables_say_why(table: dict[str, object], problem: str) -> None:
    """A table that describes no contract fails with the problem."""
    result = parse_table("X", table)
    assert isinstance(result, Failure)
    assert problem in result.failure()


def test_contract_file_mixes_strings_and_tables() -> None:
    """A contract file maps symbols to grammar strings or tables; resolve prefers the file over the grammar."""
    specs = contract_file({"ES": "FUT:ES:202612:CME", "SPX": {"type": "index", "exchange": "CBOE"}}).unwrap()
    assert resolve("ES", specs) == Success(ContractSpec("future", "ES", "CME", "USD", expiry="202612"))
    assert resolve("SPY", specs) == Success(ContractSpec("stock", "SPY", "SMART", "USD"))


def test_contract_file_names_the_bad_entry() -> None:
    """A bad entry's problem starts with its symbol."""
    assert contract_file({"ES": "FUT:ES:26:CME"}) == Failure("ES: expiry must be YYYYMM or YYYYMMDD (got '26')")


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./-=^_:", min_size=1, max_size=32))
def test_any_mdc_symbol_resolves_or_fails_without_raising(symbol: str) -> None:
    """Every string of mdc's symbol grammar gives a spec or a reason, never an exception."""
    result = parse_symbol(symbol)
    assert isinstance(result, Success | Failure)
    if isinstance(result, Success) and symbol_problem(symbol) is None:
        assert isinstance(to_contract(result.unwrap()), Contract)
