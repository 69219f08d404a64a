"""``mdc.toml``: providers, symbols, per-symbol settings, backpressure; and credentials.

A config file looks like::

    [capture]
    providers = ["alpaca", "polygon"]      # the first is primary, the rest fail-overs
    symbols = ["SPY", "AAPL"]
    backpressure = "block"                 # or "drop-oldest"
    queue = 50000
    status_file = "capture-status.json"

    [providers.alpaca]
    feed = "iex"
    url = "wss://..."                      # any option the provider takes
    credentials_expire = 2027-01-31        # warn 14 days ahead

    [symbols.SPY]
    depth_levels = 10
    session = "09:30-16:00 America/New_York"   # or "always" (crypto); default: US equity hours

Credentials resolve, per name, from the environment (the provider's own
variables, e.g. ``APCA_API_KEY_ID``), then the system keyring (service
``mdc``, user ``PROVIDER:NAME``), then the config file (with a warning when
the file can be read by others). Their values never reach a log line, an
error message or the status file: :func:`redactor` scrubs them from text.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import field, frozen

from mdc.core.provider import ProviderInfo
from mdc.core.symbols import symbol_problem

EXPIRY_WARNING_DAYS: Final = 14
_HOURS: Final = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})\s+(\S+)")


class ConfigError(Exception):
    """The config file is missing, unreadable or wrong (the message says where)."""


@frozen
class TradingHours:
    """When a symbol's market is open: weekdays between two local times, or always.

    Attributes:
        always: open all the time (crypto, FX).
        open_minute: minutes after local midnight it opens.
        close_minute: minutes after local midnight it closes.
        zone: the IANA time zone of those times.
    """

    always: bool = False
    open_minute: int = 9 * 60 + 30
    close_minute: int = 16 * 60
    zone: str = "America/New_York"

    def is_open(self, now_ns: int) -> bool:
        """Whether the market is open at ``now_ns`` (weekends closed; holidays are not known yet)."""
        if self.always:
            return True
        local = dt.datetime.fromtimestamp(now_ns / 1e9, tz=ZoneInfo(self.zone))
        minute = local.hour * 60 + local.minute
        return local.weekday() < 5 and self.open_minute <= minute < self.close_minute


def parse_hours(text: str) -> TradingHours:
    """``always`` or ``HH:MM-HH:MM Zone`` (e.g. ``09:30-16:00 America/New_York``).

    Raises:
        ConfigError: neither form, or an unknown zone.
    """
    if text.strip() == "always":
        return TradingHours(always=True)
    match = _HOURS.fullmatch(text.strip())
    if match is None:
        raise ConfigError(f"session {text!r} is not 'always' nor like '09:30-16:00 America/New_York'")
    open_h, open_m, close_h, close_m, zone = match.groups()
    open_minute, close_minute = int(open_h) * 60 + int(open_m), int(close_h) * 60 + int(close_m)
    if max(int(open_m), int(close_m)) > 59 or max(open_minute, close_minute) > 24 * 60:
        raise ConfigError(f"session {text!r}: times must lie between 00:00 and 24:00")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # a directory of the zone database ("America") is an OSError
        raise ConfigError(f"session {text!r}: unknown time zone {zone!r}") from None
    return TradingHours(always=False, open_minute=open_minute, close_minute=close_minute, zone=zone)


@frozen
class CaptureFile:
    """What a config file says (everything optional: the command line fills or overrides it).

    Attributes:
        path: the file.
        providers: provider names in failover order.
        symbols: the symbols to capture.
        backpressure: ``block`` or ``drop-oldest``.
        queue: the queue's capacity in events.
        status_file: where the status JSON goes.
        provider_options: per provider, its options (strings, as on the command line).
        provider_secrets: per provider, credential values found in the file.
        expiry: per provider, when its credentials expire.
        sessions: per symbol, its trading hours.
        depth_levels: per symbol, book levels to subscribe to.
    """

    path: Path | None = None
    providers: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    backpressure: str | None = None
    queue: int | None = None
    status_file: Path | None = None
    provider_options: Mapping[str, Mapping[str, str]] = field(factory=dict)
    provider_secrets: Mapping[str, Mapping[str, str]] = field(factory=dict)
    expiry: Mapping[str, dt.date] = field(factory=dict)
    sessions: Mapping[str, TradingHours] = field(factory=dict)
    depth_levels: Mapping[str, int] = field(factory=dict)


SECRET_NAMES: Final = frozenset({"key_id", "secret_key", "api_key", "password", "token", "secret"})


def load(path: Path) -> CaptureFile:
    """Read and check a config file.

    Raises:
        ConfigError: it cannot be read, is not TOML, or holds a wrong value (the message names it).
    """
    try:
        document = tomllib.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    capture = _table(document.get("capture", {}), f"{path}: [capture]")
    symbols = tuple(str(symbol) for symbol in _list(capture.get("symbols", []), f"{path}: capture.symbols"))
    for symbol in symbols:
        problem = symbol_problem(symbol)
        if problem is not None:
            raise ConfigError(f"{path}: capture.symbols: {symbol!r}: {problem}")
    backpressure = capture.get("backpressure")
    if backpressure is not None and backpressure not in ("block", "drop-oldest"):
        raise ConfigError(f"{path}: capture.backpressure must be 'block' or 'drop-oldest' (got {backpressure!r})")
    queue = capture.get("queue")
    # TOML's true is a Python bool, which is an int: refuse it rather than read it as 1
    if queue is not None and (isinstance(queue, bool) or not isinstance(queue, int) or queue < 1):
        raise ConfigError(f"{path}: capture.queue must be a positive integer (got {queue!r})")
    options: dict[str, dict[str, str]] = {}
    secrets: dict[str, dict[str, str]] = {}
    expiry: dict[str, dt.date] = {}
    for name, table in _table(document.get("providers", {}), f"{path}: [providers]").items():
        settings = _table(table, f"{path}: [providers.{name}]")
        for key, value in settings.items():
            if key == "credentials_expire":
                expiry[name] = _date(value, f"{path}: providers.{name}.credentials_expire")
            elif key in SECRET_NAMES:
                secrets.setdefault(name, {})[key] = str(value)
            else:
                options.setdefault(name, {})[key.replace("_", "-")] = str(value)
    sessions: dict[str, TradingHours] = {}
    levels: dict[str, int] = {}
    for symbol, table in _table(document.get("symbols", {}), f"{path}: [symbols]").items():
        settings = _table(table, f"{path}: [symbols.{symbol}]")
        if "session" in settings:
            try:
                sessions[symbol] = parse_hours(str(settings["session"]))
            except ConfigError as error:
                raise ConfigError(f"{path}: symbols.{symbol}: {error}") from None
        if "depth_levels" in settings:
            value = settings["depth_levels"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{path}: symbols.{symbol}.depth_levels must be a positive integer (got {value!r})")
            levels[symbol] = value
    status_file = capture.get("status_file")
    return CaptureFile(
        path=path,
        providers=tuple(str(name) for name in _list(capture.get("providers", []), f"{path}: capture.providers")),
        symbols=symbols,
        backpressure=backpressure,
        queue=queue,
        status_file=None if status_file is None else Path(str(status_file)),
        provider_options=options,
        provider_secrets=secrets,
        expiry=expiry,
        sessions=sessions,
        depth_levels=levels,
    )


def _table(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _list(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list")
    return value


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.datetime):  # TOML date-times are dates too; expiry arithmetic needs a plain date
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where} must be a date such as 2027-01-31 (got {value!r})") from None


def readable_by_others(path: Path) -> bool:
    """Whether a file's mode lets its group or others read it."""
    try:
        return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


def resolve_credentials(
    info: ProviderInfo, config: CaptureFile, environ: Mapping[str, str], warn: Callable[[str], None]
) -> dict[str, str]:
    """A provider's credentials: environment, then keyring, then config file.

    Args:
        info: what the provider needs (its ``credentials`` specs).
        config: the config file's contents.
        environ: the environment.
        warn: where warnings go (a secret in a world-readable file, an expiry date close or past).

    Returns:
        Name -> value for every credential found (missing ones are left out; the provider says what it lacks).
    """
    found: dict[str, str] = {}
    from_file = config.provider_secrets.get(info.name, {})
    for spec in info.credentials:
        value = environ.get(spec.env) if spec.env else None
        if value is None:
            value = _keyring(info.name, spec.name)
        if value is None and spec.name in from_file:
            value = from_file[spec.name]
            if config.path is not None and readable_by_others(config.path):
                warn(
                    f"{config.path} holds {info.name}'s {spec.name} and can be read by other users; "
                    f"chmod 600 it, or use {spec.env or 'the keyring'}"
                )
        if value is not None:
            found[spec.name] = value
    return found


def expiry_warnings(config: CaptureFile, today: dt.date) -> list[str]:
    """Warnings for credentials that expire within :data:`EXPIRY_WARNING_DAYS` days or have expired."""
    warnings = []
    for provider, date in sorted(config.expiry.items()):
        days = (date - today).days
        if days < 0:
            warnings.append(f"{provider}'s credentials expired on {date} (the config file says so)")
        elif days <= EXPIRY_WARNING_DAYS:
            warnings.append(f"{provider}'s credentials expire on {date}, in {days} day{'s' if days != 1 else ''}")
    return warnings


def _keyring(provider: str, name: str) -> str | None:
    try:
        import keyring  # noqa: PLC0415 - optional, and slow to import
        from keyring.errors import KeyringError  # noqa: PLC0415
    except ImportError:
        return None
    try:
        value: str | None = keyring.get_password("mdc", f"{provider}:{name}")
    except (KeyringError, RuntimeError, OSError):
        return None
    return value


def redactor(secrets: Mapping[str, Mapping[str, str]]) -> Callable[[str], str]:
    """A function that replaces every known secret value in a text with ``***``."""
    values = sorted({value for table in secrets.values() for value in table.values() if len(value) >= 4}, key=len)
    if not values:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(value) for value in reversed(values)))
    return lambda text: pattern.sub("***", text)


def environment() -> Mapping[str, str]:
    """The process environment (a function, so the core never reads it)."""
    return os.environ
