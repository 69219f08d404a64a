"""mdc-store: append NDJSON events from stdin to a store on disk."""

from __future__ import annotations

from pathlib import Path

import click
import trio
from attrs import frozen

from mdc.core.pipeline import check_lines
from mdc.core.validate import Policy
from mdc.io.rejects import RejectSink
from mdc.io.stdio import read_frames
from mdc.io.store import JsonlStore, StoreError

from ._shell import EXIT_IOERR, CommandError, debug_option, quiet_option, rejects_option, run, say

PROG = "mdc-store"

# The store keeps what the producer says happened; timing judgements belong to mdc-validate.
_STORE_POLICY = Policy(max_skew_ns=2**62)


@frozen
class Config:
    """What the options ask for."""

    root: Path
    rejects: Path | None
    quiet: bool


async def _main(config: Config) -> None:
    try:
        store = JsonlStore(config.root)
    except StoreError as error:
        raise CommandError(str(error), EXIT_IOERR) from error
    rejects = RejectSink(PROG, config.rejects)
    read = rejected = 0
    try:
        async for frames in read_frames():
            events, bad = check_lines(read, frames, _STORE_POLICY)
            read += len(frames)
            rejected += len(bad)
            await rejects.write(bad)
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(store.write, events)
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(store.close)
        await rejects.close()
        if not config.quiet:
            say(
                PROG,
                f"read {read}, stored {store.events} in {store.files} file{'s' if store.files != 1 else ''} "
                f"under {config.root}, rejected {rejected}",
            )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--root",
    required=True,
    type=click.Path(path_type=Path),
    help="The store's root directory (created when missing).",
)
@rejects_option()
@quiet_option
@debug_option
def main(root: Path, rejects: Path | None, quiet: bool, debug: bool) -> None:
    """Store NDJSON market events from stdin under ROOT.

    Events go to ROOT/SYMBOL/TYPE/YYYY-MM-DD.jsonl by their UTC event date, one
    compact JSON object per line, appended in arrival order. Symbols are mapped
    to file names reversibly (BRK/B is stored as BRK%2FB). Lines that are not
    valid events are rejected, reported and not stored.

    \b
    Example:
      mdc-capture sim SPY AAPL --max-events 100000 | mdc-validate | mdc-store --root data
    """
    run(PROG, _main, Config(root, rejects, quiet), debug=debug)


if __name__ == "__main__":
    main()
