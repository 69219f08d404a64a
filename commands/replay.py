"""mdc-replay: stream stored events back out in time order."""

from __future__ import annotations

import math
from pathlib import Path

import click
import trio
from attrs import frozen
from returns.result import Failure

from mdc.core.events import EVENT_TYPES
from mdc.core.selection import Selection
from mdc.core.timestamps import canonical
from mdc.io.replay import ReplayError, replay, replay_records, schedule
from mdc.io.stdio import Output

from ._shell import EXIT_IOERR, CommandError, debug_option, run, say

PROG = "mdc-replay"
OUTPUT_BATCH_LINES = 4096
EARLY_SECONDS = 0.001
"""A paced line may go out this much before it is due, so that bursts are written together."""


@frozen
class Config:
    """What the options ask for."""

    paths: tuple[Path, ...]
    selection: Selection
    speed: float = 0.0


async def _main(config: Config) -> None:
    output = Output()
    lines: list[bytes] = []
    try:
        if config.speed > 0:
            await _paced(config, output, lines)
        else:
            for line in replay(config.paths, config.selection, _warn):
                lines.append(line)
                if len(lines) >= OUTPUT_BATCH_LINES:
                    await _write(output, lines)
                    await trio.lowlevel.checkpoint()
        await _write(output, lines)
    except ReplayError as error:
        raise CommandError(str(error), EXIT_IOERR) from error
    finally:
        await output.flush()


async def _paced(config: Config, output: Output, lines: list[bytes]) -> None:
    """Write each line when it is due by its ts at ``config.speed`` times real time, by trio's clock."""
    start: float | None = None
    for due, line in schedule(replay_records(config.paths, config.selection, _warn), config.speed):
        if start is None:
            start = trio.current_time()  # the clock starts with the first event, not before the files are found
        if start + due - trio.current_time() > EARLY_SECONDS or len(lines) >= OUTPUT_BATCH_LINES:
            await _write(output, lines)
            await output.flush()
            await trio.sleep_until(start + due)
        lines.append(line)


async def _write(output: Output, lines: list[bytes]) -> None:
    """Queue ``lines`` for output, each with its newline, and empty the list."""
    if lines:
        lines.append(b"")
        await output.write(b"\n".join(lines))
        lines.clear()


def _warn(message: str) -> None:
    say(PROG, message)


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
@click.option(
    "--speed",
    type=float,
    default=0.0,
    metavar="X",
    help="Pace the output by ts: 1 = real time, 2 = twice as fast (default 0: as fast as possible).",
)
@debug_option
def main(
    paths: tuple[Path, ...],
    symbols: tuple[str, ...],
    types: tuple[str, ...],
    start: str | None,
    end: str | None,
    speed: float,
    debug: bool,
) -> None:
    """Write the events stored under PATHs to stdout in timestamp order.

    A PATH is a store root (searched recursively; its .mdc/store.json says how
    it is laid out) or a file: .jsonl, .jsonl.gz, .jsonl.zst, .jsonl.lz4 or
    .parquet. Files are merged by ts with constant memory; ties keep their
    stored order. A damaged line (such as a torn last line after a crash) is
    reported on stderr and skipped.

    \b
    Examples:
      mdc-replay data/ --symbol SPY --type trade | jq .price
      mdc-replay data/ --from 2026-11-24T14:30:00Z --to 2026-11-24T15:00:00Z | mdc-bars --interval 1m
      mdc-replay data/ --symbol SPY --speed 10   # ten times real time
    """
    type_list = _split(types)
    unknown = sorted(set(type_list or ()) - set(EVENT_TYPES))
    if unknown:
        raise click.BadParameter(
            f"unknown type {', '.join(unknown)} (known: {', '.join(EVENT_TYPES)})", param_hint="--type"
        )
    if not (math.isfinite(speed) and speed >= 0):
        raise click.BadParameter(f"{speed} is not a number >= 0", param_hint="--speed")
    selection = Selection(
        symbols=_split(symbols),
        types=None if type_list is None else frozenset(type_list),
        start=_time_bound(start, "--from"),
        end=_time_bound(end, "--to"),
    )
    run(PROG, _main, Config(paths, selection, speed), debug=debug)


if __name__ == "__main__":
    main()
