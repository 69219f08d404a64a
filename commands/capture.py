"""mdc-capture: stream market events from a provider to stdout as NDJSON.

The provider is a plugin found through the ``mdc.providers`` entry points; the
built-in ``sim`` is one like any other. Options a provider declares are passed
to it by name; an option it does not declare is a usage error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import click
import trio
from attrs import frozen

from mdc.core.codec import encode_event
from mdc.core.events import MarketEvent
from mdc.core.provider import CaptureRequest, ProviderError, RawLine
from mdc.core.symbols import symbol_problem
from mdc.core.timestamps import NS_PER_SECOND
from mdc.io.plugins import list_providers, load_provider
from mdc.io.stdio import Output

from ._shell import EXIT_UNAVAILABLE, EXIT_USAGE, CommandError, debug_option, run, say

PROG = "mdc-capture"

# Options that go to the provider by name, when given (None = not given).
PROVIDER_OPTIONS = ("seed", "rate", "faults", "fault-rate", "start", "depth-model", "depth-levels", "snapshot-every")


@frozen
class Config:
    """What the options ask for."""

    providers: tuple[str, ...]
    request: CaptureRequest


async def _main(config: Config) -> None:
    duration_ns = config.request.duration_ns
    with trio.move_on_after(math.inf if duration_ns is None else duration_ns / NS_PER_SECOND):
        await _capture(config)


async def _capture(config: Config) -> None:
    output = Output()
    counter = _Counter(config.request.max_events)

    async def emit(items: Sequence[MarketEvent | RawLine]) -> None:
        items = counter.take(items)
        if items:
            await output.write(b"".join(_line(item) for item in items))
            await output.flush()

    try:
        for index, name in enumerate(config.providers):
            try:
                provider = load_provider(name)
                unknown = sorted(set(config.request.options) - {option.name for option in provider.info.options})
                if unknown:
                    flags = ", ".join(f"--{option}" for option in unknown)
                    raise CommandError(f"provider {name!r} does not take {flags}", EXIT_USAGE)
                await provider.capture(config.request, emit)
            except ProviderError as error:
                last = index == len(config.providers) - 1
                if last or counter.sent or error.exit_code != EXIT_UNAVAILABLE:
                    raise CommandError(str(error), error.exit_code) from error
                say(PROG, f"{error}; trying {config.providers[index + 1]}")
            else:
                return
    finally:
        await output.flush()


def _line(item: MarketEvent | RawLine) -> bytes:
    return (item if isinstance(item, bytes) else encode_event(item)) + b"\n"


class _Counter:
    """Enforces --max-events on whatever the provider emits."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.sent = 0

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
        click.echo(f"{'':<12} credentials: {'required' if info.needs_credentials else 'not needed'}")
        if info.rate_limit:
            click.echo(f"{'':<12} rate limit: {info.rate_limit}")
        for option in info.options:
            click.echo(f"{'':<12} --{option.name}: {option.help}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("provider", required=False, metavar="PROVIDER[,PROVIDER...]")
@click.argument("symbols", nargs=-1, metavar="SYMBOL...")
@click.option("--list-providers", is_flag=True, help="List the installed providers and what they can do, then exit.")
@click.option("--max-events", type=click.IntRange(min=0), help="Stop after N events.")
@click.option("--duration", type=click.FloatRange(min=0), metavar="SECONDS", help="Stop after this much wall time.")
@click.option("--seed", help="[sim] Random seed (same seed, symbols and --start: same output).")
@click.option("--rate", metavar="EV_PER_S|max", help="[sim] Events per second in real time, or 'max' (default).")
@click.option("--faults", metavar="LIST", help="[sim] Inject faults: gap,out_of_order,crossed,garbage,...")
@click.option("--fault-rate", metavar="P", help="[sim] Probability per event of each enabled fault.")
@click.option("--start", metavar="TS", help="[sim] Simulated start time (default: now).")
@click.option("--depth-model", type=click.Choice(["level", "position"]), help="[sim] Depth update model.")
@click.option("--depth-levels", metavar="N", help="[sim] Book levels per side.")
@click.option("--snapshot-every", metavar="N", help="[sim] A book snapshot every N depth changes.")
@click.option(
    "-o", "--option", "extra", multiple=True, metavar="KEY=VALUE", help="A provider-specific option (repeatable)."
)
@debug_option
def main(
    provider: str | None,
    symbols: tuple[str, ...],
    list_providers: bool,
    max_events: int | None,
    duration: float | None,
    extra: tuple[str, ...],
    debug: bool,
    **provider_options: str | None,
) -> None:
    """Capture market events from PROVIDER for SYMBOLs and write them to stdout as NDJSON.

    With several providers (alpaca,polygon) the next is tried when one is unavailable.
    Run with --list-providers to see what is installed.

    \b
    Examples:
      mdc-capture sim SPY AAPL --seed 7 --max-events 100000 | mdc-validate | mdc-store --root data
      mdc-capture sim SPY --rate 50 --duration 10 --faults gap,crossed | jq -c 'select(.type=="integrity")'
    """
    if list_providers:
        _print_providers()
        return
    if provider is None or not symbols:
        raise click.UsageError("give a provider and at least one symbol (or --list-providers)")
    for symbol in symbols:
        problem = symbol_problem(symbol)
        if problem is not None:
            raise click.BadParameter(f"{symbol!r}: {problem}", param_hint="SYMBOL")
    options = {name.replace("_", "-"): value for name, value in provider_options.items() if value is not None}
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--option")
        options[key] = value
    request = CaptureRequest(
        symbols=tuple(dict.fromkeys(symbols)),
        options=options,
        max_events=max_events,
        duration_ns=None if duration is None else int(duration * NS_PER_SECOND),
        start_ns=time.time_ns(),
    )
    run(PROG, _main, Config(tuple(name for name in provider.split(",") if name), request), debug=debug)


if __name__ == "__main__":
    main()
