"""mdc-capture: stream market events from a provider to stdout as NDJSON.

The provider is a plugin found through the ``mdc.providers`` entry points; the
built-in ``sim`` is one like any other. Options a provider declares are passed
to it by name; an option it does not declare is a usage error. The shell
around it (queue, status, failover, config reloads) is in :mod:`mdc.io.capture`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import click
import trio
from attrs import evolve, field, frozen

from mdc.core.book import Emission
from mdc.core.events import MarketEvent
from mdc.core.live import Backoff, Breaker
from mdc.core.provider import CaptureRequest, Provider, ProviderError, RawLine, Resilience
from mdc.core.symbols import symbol_problem
from mdc.core.timestamps import NS_PER_SECOND
from mdc.io.capture import DEFAULT_QUEUE, BookTap, EventQueue, Session, encode_items, run_providers
from mdc.io.config import CaptureFile, ConfigError, expiry_warnings, load, redactor, resolve_credentials
from mdc.io.plugins import list_providers, load_provider
from mdc.io.stdio import Output

from ._shell import EXIT_USAGE, CommandError, debug_option, run, say

PROG = "mdc-capture"
STATUS_EVERY_S = 1.0
RELOAD_POLL_S = 2.0
# Options that go to the provider by name, when given (None = not given).
PROVIDER_OPTIONS = (
    "seed",
    "rate",
    "faults",
    "fault-rate",
    "start",
    "depth-model",
    "depth-levels",
    "snapshot-every",
    "url",
    "feed",
)


@frozen
class Config:
    """What the options and the config file ask for."""

    providers: tuple[str, ...]
    request: CaptureRequest
    file: CaptureFile
    drop_oldest: bool
    queue: int
    status_file: Path | None
    retries: int | None
    book: Emission | None = None
    scoped: Mapping[str, Mapping[str, str]] = field(factory=dict)
    """Per provider: its options from the config file and ``-o NAME.KEY=VALUE`` (``request.options`` are shared)."""


async def _main(config: Config) -> None:
    duration_ns = config.request.duration_ns
    with trio.move_on_after(math.inf if duration_ns is None else duration_ns / NS_PER_SECOND):
        await _capture(config)


async def _capture(config: Config) -> None:
    providers, options = _load_all(config)
    credentials = {
        name: resolve_credentials(provider.info, config.file, os.environ, lambda line: say(PROG, line))
        for name, provider in providers
    }
    scrub = redactor(credentials)

    def tell(line: str) -> None:
        say(PROG, scrub(line))

    for warning in expiry_warnings(config.file, dt.datetime.now(dt.UTC).date()):
        tell(warning)
    session = Session(config.request.symbols, credentials, config.file.sessions, tell, config.status_file)
    queue = EventQueue(config.queue, drop_oldest=config.drop_oldest)
    output = Output()
    counter = _Counter(config.request.max_events)
    done = trio.Event()
    tap = BookTap(config.book) if config.book is not None else None

    async def emit(items: Sequence[MarketEvent | RawLine]) -> None:
        items = counter.take(tap(items) if tap is not None else items)
        if items:
            await queue.put(items)
        if counter.full:
            done.set()

    async def write() -> None:
        while batch := await queue.take():
            await output.write(encode_items(batch))
            await output.flush()
            counter.written += sum(1 for item in batch if not isinstance(item, bytes))

    async def produce() -> None:
        try:
            await run_providers(providers, config.request, emit, session, retries=config.retries, options=options)
        except ProviderError as error:
            raise CommandError(scrub(str(error)), error.exit_code) from error

    try:
        async with trio.open_nursery() as outer:
            outer.start_soon(write)
            async with trio.open_nursery() as inner:
                inner.start_soon(_report_status, session, queue, counter)
                inner.start_soon(_reload, config, session, tell)
                inner.start_soon(_until, done, inner.cancel_scope)
                await produce()
                inner.cancel_scope.cancel()
            queue.close()
    finally:
        with trio.CancelScope(shield=True):
            await output.flush()
            session.write_status(counter.written, queue.dropped_total, 0.0)


def _load_all(config: Config) -> tuple[list[tuple[str, Provider]], dict[str, dict[str, str]]]:
    """Every provider that loads, and its options; with several, one that does not is skipped with a message."""
    loaded: list[tuple[str, Provider]] = []
    options: dict[str, dict[str, str]] = {}
    problems: list[CommandError] = []
    for name in config.providers:
        try:
            provider = _load(name)
            options[name] = _options(name, provider, config)
            loaded.append((name, provider))
        except CommandError as error:
            if error.exit_code == EXIT_USAGE or len(config.providers) == 1:
                raise
            say(PROG, f"{error}; trying the next provider")
            problems.append(error)
    if not loaded:
        raise problems[-1]
    return loaded, options


def _load(name: str) -> Provider:
    try:
        return load_provider(name)
    except ProviderError as error:
        raise CommandError(str(error), error.exit_code) from error


def _options(name: str, provider: Provider, config: Config) -> dict[str, str]:
    """The provider's options: the shared ones it takes (all must be, with one provider), then its own."""
    declared = {option.name for option in provider.info.options}
    shared = config.request.options
    own = config.scoped.get(name, {})
    unknown = sorted(set(own) - declared)
    if len(config.providers) == 1:
        unknown = sorted(set(unknown) | (set(shared) - declared))
    if unknown:
        flags = ", ".join(f"--{option}" if option in PROVIDER_OPTIONS else f"-o {option}" for option in unknown)
        raise CommandError(f"provider {name!r} does not take {flags}", EXIT_USAGE)
    return {key: value for key, value in shared.items() if key in declared} | dict(own)


async def _until(done: trio.Event, scope: trio.CancelScope) -> None:
    await done.wait()
    scope.cancel()


async def _report_status(session: Session, queue: EventQueue, counter: _Counter) -> None:
    """The status file every second (atomically), with the event rate."""
    previous, previous_at = 0, time.monotonic()
    while True:
        await trio.sleep(STATUS_EVERY_S)
        now = time.monotonic()
        rate = (counter.written - previous) / max(now - previous_at, 1e-9)
        previous, previous_at = counter.written, now
        await trio.to_thread.run_sync(session.write_status, counter.written, queue.dropped_total, rate)


async def _reload(config: Config, session: Session, tell: object) -> None:
    """Re-read the config file on SIGHUP or when it changes, and change the subscriptions to match."""
    path = config.file.path
    if path is None:
        return
    with trio.open_signal_receiver(signal.SIGHUP) as signals:
        stamp = _stamp(path)
        while True:
            with trio.move_on_after(RELOAD_POLL_S):
                await signals.__anext__()
                stamp = None  # SIGHUP: reload whatever the file's time says
            current = _stamp(path)
            if current == stamp:
                continue
            stamp = current
            try:
                fresh = load(path)
            except ConfigError as error:
                tell(f"{error}; keeping the current subscriptions")  # type: ignore[operator]
                continue
            added, removed = session.change_symbols(fresh.symbols or config.request.symbols)
            if added or removed:
                tell(f"config reloaded: subscribing {added or 'nothing new'}, unsubscribing {removed or 'nothing'}")  # type: ignore[operator]


def _stamp(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


class _Counter:
    """Enforces --max-events on whatever the providers emit; counts what was written."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.sent = 0
        self.written = 0

    @property
    def full(self) -> bool:
        return self.limit is not None and self.sent >= self.limit

    def take(self, items: Sequence[MarketEvent | RawLine]) -> Sequence[MarketEvent | RawLine]:
        if self.limit is not None:
            items = items[: max(0, self.limit - self.sent)]
        self.sent += len(items)
        return items


def _print_providers() -> None:
    for listing in list_providers():
        click.echo(f"{listing.name:<12} {listing.distribution}")
        if listing.info is None:
            click.echo(f"{'':<12} BROKEN: {listing.problem}")
            continue
        info = listing.info
        click.echo(f"{'':<12} {info.summary}")
        capabilities = ", ".join(sorted(capability.value for capability in info.capabilities))
        click.echo(f"{'':<12} capabilities: {capabilities}")
        if info.credentials:
            needed = ", ".join(spec.env or spec.name for spec in info.credentials)
            click.echo(f"{'':<12} credentials: {needed} (environment, keyring or config file)")
        else:
            click.echo(f"{'':<12} credentials: not needed")
        if info.symbol_types:
            click.echo(f"{'':<12} symbols: {', '.join(info.symbol_types)}")
        if info.rate_limit:
            click.echo(f"{'':<12} rate limit: {info.rate_limit}")
        for option in info.options:
            flag = f"--{option.name}" if option.name in PROVIDER_OPTIONS else f"-o {option.name}="
            click.echo(f"{'':<12} {flag}: {option.help}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("provider", required=False, metavar="PROVIDER[,PROVIDER...]")
@click.argument("symbols", nargs=-1, metavar="SYMBOL...")
@click.option("--list-providers", is_flag=True, help="List the installed providers and what they can do, then exit.")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="An mdc.toml config file."
)
@click.option("--max-events", type=click.IntRange(min=0), help="Stop after N events.")
@click.option("--duration", type=click.FloatRange(min=0), metavar="SECONDS", help="Stop after this much wall time.")
@click.option("--seed", help="[sim] Random seed (same seed, symbols and --start: same output).")
@click.option("--rate", metavar="EV_PER_S|max", help="[sim] Events per second in real time, or 'max' (default).")
@click.option("--faults", metavar="LIST", help="[sim] Inject faults: gap,out_of_order,crossed,garbage,...")
@click.option("--fault-rate", metavar="P", help="[sim] Probability per event of each enabled fault.")
@click.option("--start", metavar="TS", help="[sim] Simulated start time (default: now).")
@click.option("--depth-model", type=click.Choice(["level", "position"]), help="[sim] Depth update model.")
@click.option("--depth-levels", metavar="N", help="Book levels per side (sim; depth-capable providers).")
@click.option(
    "--book",
    is_flag=True,
    help="Keep an L2 book per symbol from the depth (as mdc-book does) and add its quotes, snapshots and integrity.",
)
@click.option(
    "--book-levels",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    metavar="N",
    help="With --book: levels per side in its snapshots (0: all).",
)
@click.option(
    "--snapshot-every",
    metavar="N|Ss",
    help="With --book: a snapshot every N updates or S seconds (5s) per symbol; else [sim] every N depth changes.",
)
@click.option("--url", metavar="URL", help="Connect to this server instead of the provider's own (tests, proxies).")
@click.option("--feed", metavar="NAME", help="The provider's feed (alpaca: iex, sip, delayed_sip, test).")
@click.option(
    "--backpressure",
    type=click.Choice(["block", "drop-oldest"]),
    help="When stdout cannot keep up: wait (default; nothing is lost) or drop the oldest queued events (counted).",
)
@click.option(
    "--queue", "queue_size", type=click.IntRange(min=1), help=f"Queue capacity in events (default {DEFAULT_QUEUE})."
)
@click.option("--status-file", type=click.Path(dir_okay=False, path_type=Path), help="Keep the status here as JSON.")
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0.05),
    default=30.0,
    show_default=True,
    help="Seconds before a silent connection is dropped.",
)
@click.option(
    "--stale-after",
    type=click.FloatRange(min=0.05),
    default=120.0,
    show_default=True,
    help="Seconds of silence in session before a symbol is resubscribed.",
)
@click.option(
    "--backoff-cap",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Longest wait between reconnects, in seconds.",
)
@click.option(
    "--breaker-failures",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Failures in a row that mark a provider down.",
)
@click.option(
    "--breaker-cooldown",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds a down provider is left alone before a retry.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    help="With one provider: how many cooldowns to wait out before giving up (default: for ever).",
)
@click.option(
    "-o",
    "--option",
    "extra",
    multiple=True,
    metavar="[PROVIDER.]KEY=VALUE",
    help="A provider's option (repeatable); PROVIDER.KEY=VALUE gives it to one provider of several.",
)
@debug_option
def main(
    provider: str | None,
    symbols: tuple[str, ...],
    list_providers: bool,
    config_path: Path | None,
    max_events: int | None,
    duration: float | None,
    backpressure: str | None,
    queue_size: int | None,
    status_file: Path | None,
    idle_timeout: float,
    stale_after: float,
    backoff_cap: float,
    breaker_failures: int,
    breaker_cooldown: float,
    retries: int | None,
    extra: tuple[str, ...],
    book: bool,
    book_levels: int,
    debug: bool,
    **provider_options: str | None,
) -> None:
    """Capture market events from PROVIDER for SYMBOLs and write them to stdout as NDJSON.

    With several providers (alpaca,polygon) the first is used and the next
    takes over while one is down; the first is probed and used again once it
    recovers. Live providers reconnect with backoff, resubscribe, drop silent
    connections and resubscribe silent symbols. Run with --list-providers to
    see what is installed.

    \b
    Examples:
      mdc-capture sim SPY AAPL --seed 7 --max-events 100000 | mdc-validate | mdc-store --root data
      mdc-capture alpaca SPY AAPL --feed iex | mdc-validate | mdc-store --root data
      mdc-capture --config mdc.toml --status-file status.json | mdc-store --root data
    """
    if list_providers:
        _print_providers()
        return
    try:
        file = load(config_path) if config_path is not None else CaptureFile()
    except ConfigError as error:
        raise click.BadParameter(str(error), param_hint="--config") from None
    names = tuple(name for name in provider.split(",") if name) if provider else file.providers
    wanted = tuple(dict.fromkeys(symbols or file.symbols))
    if not names or not wanted:
        raise click.UsageError("give a provider and at least one symbol (or --config with both, or --list-providers)")
    for symbol in wanted:
        problem = symbol_problem(symbol)
        if problem is not None:
            raise click.BadParameter(f"{symbol!r}: {problem}", param_hint="SYMBOL")
    emission = None
    if book:
        emission = _emission(provider_options.pop("snapshot_every", None) or "100", book_levels)
    options = {name.replace("_", "-"): value for name, value in provider_options.items() if value is not None}
    scoped: dict[str, dict[str, str]] = {name: dict(file.provider_options.get(name, {})) for name in names}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--option")
        owner, dot, own_key = key.partition(".")
        if not dot:
            options[key] = value
        elif owner in scoped and own_key:
            scoped[owner][own_key] = value
        else:
            raise click.BadParameter(
                f"{item!r}: {owner!r} is not one of the providers ({', '.join(names)})", param_hint="--option"
            )
    if len(names) == 1:  # the command line wins over the file
        options = scoped.pop(names[0]) | options
    resilience = Resilience(
        backoff=Backoff(cap_s=backoff_cap),
        breaker=Breaker(threshold=breaker_failures, cooldown_ns=int(breaker_cooldown * NS_PER_SECOND)),
        idle_timeout_s=idle_timeout,
        stale_after_s=stale_after,
    )
    request = CaptureRequest(
        symbols=wanted,
        options=options,
        max_events=max_events,
        duration_ns=None if duration is None else int(duration * NS_PER_SECOND),
        start_ns=time.time_ns(),
        resilience=resilience,
        depth_levels=file.depth_levels,
    )
    config = Config(
        providers=names,
        request=request,
        file=file,
        drop_oldest=(backpressure or file.backpressure or "block") == "drop-oldest",
        queue=queue_size or file.queue or DEFAULT_QUEUE,
        status_file=status_file or file.status_file,
        retries=retries,
        book=emission,
        scoped=scoped,
    )
    run(PROG, _main, evolve(config), debug=debug)


def _emission(every: str, levels: int) -> Emission:
    """The book's snapshot policy from ``--snapshot-every N`` (updates) or ``Ss`` (seconds of event time)."""
    text = every.strip().lower()
    seconds = _float(text[:-1]) if text.endswith("s") else None
    count = int(text) if text.isdigit() else None
    if seconds is not None and math.isfinite(seconds) and seconds > 0:
        return Emission(levels=levels, every_ns=max(round(seconds * NS_PER_SECOND), 1))
    if count is not None and count >= 1:
        return Emission(levels=levels, every=count)
    raise click.BadParameter(
        f"{every!r} is neither a count of updates (100) nor seconds (5s)", param_hint="--snapshot-every"
    )


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


if __name__ == "__main__":
    main()
