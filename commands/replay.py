"""mdc-replay: stream stored events back out in time order."""

from __future__ import annotations

from pathlib import Path

import click
import trio
from attrs import frozen
from returns.result import Failure

from mdc.core.events import EVENT_TYPES
from mdc.core.selection import Selection
from mdc.core.timestamps import canonical
from mdc.io.replay import ReplayError, replay
from mdc.io.stdio import Output

from ._shell import EXIT_IOERR, CommandError, debug_option, run, say

PROG = "mdc-replay"
OUTPUT_BATCH_LINES = 4096


@frozen
class Config:
    """What the options ask for."""

    paths: tuple[Path, ...]
    selection: Selection


async def _main(config: Config) -> None:
    output = Output()
    lines: list[bytes] = []
    try:
        for line in replay(config.paths, config.selection, lambda message: say(PROG, message)):
            lines.append(line)
            if len(lines) >= OUTPUT_BATCH_LINES:
                lines.append(b"")
                await output.write(b"\n".join(lines))
                lines.clear()
                await trio.lowlevel.checkpoint()
        if lines:
            lines.append(b"")
            await output.write(b"\n".join(lines))
    except ReplayError as error:
        raise CommandError(str(error), EXIT_IOERR) from error
    finally:
        await output.flush()


def _time_bound(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    text = f"{value}T00:00:00Z" if len(value) == 10 else value  # a bare date means its UTC midnight
    result = canonical(text)
    if isinstance(result, Failure):
        raise click.BadParameter(f"{value!r} {result.failure()}", param_hint=option)
    return result.unwrap()


def _split(values: tuple[str, ...]) -> tuple[str, ...] | None:
    items = tuple(item for value in values for item in value.split(",") if item)
    return items or None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="PATH...")
@click.option("--symbol", "symbols", multiple=True, metavar="GLOB", help="Only these symbols (globs; repeatable).")
@click.option("--type", "types", multiple=True, metavar="TYPE", help="Only these event types (repeatable).")
@click.option("--from", "start", metavar="TS", help="Only events at or after TS (ISO-8601, or a date).")
@click.option("--to", "end", metavar="TS", help="Only events before TS (ISO-8601, or a date).")
@debug_option
def main(
    paths: tuple[Path, ...],
    symbols: tuple[str, ...],
    types: tuple[str, ...],
    start: str | None,
    end: str | None,
    debug: bool,
) -> None:
    """Write the events stored under PATHs to stdout in timestamp order.

    A PATH is a store root (searched recursively) or a file: .jsonl, .jsonl.gz
    or .jsonl.zst. Files are merged by ts with constant memory; ties keep their
    stored order. A damaged line (such as a torn last line after a crash) is
    reported on stderr and skipped.

    \b
    Examples:
      mdc-replay data/ --symbol SPY --type trade | jq .price
      mdc-replay data/ --from 2026-11-24T14:30:00Z --to 2026-11-24T15:00:00Z | mdc-bars --interval 1m
    """
    type_list = _split(types)
    unknown = sorted(set(type_list or ()) - set(EVENT_TYPES))
    if unknown:
        raise click.BadParameter(
            f"unknown type {', '.join(unknown)} (known: {', '.join(EVENT_TYPES)})", param_hint="--type"
        )
    selection = Selection(
        symbols=_split(symbols),
        types=None if type_list is None else frozenset(type_list),
        start=_time_bound(start, "--from"),
        end=_time_bound(end, "--to"),
    )
    run(PROG, _main, Config(paths, selection), debug=debug)


if __name__ == "__main__":
    main()
