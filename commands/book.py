"""mdc-book: rebuild L2 order books from depth events and write their snapshots and quotes."""

from __future__ import annotations

import gc
from pathlib import Path

import click
from attrs import frozen

from mdc.core.book import DEFAULT_LEVELS, BookState, Emission
from mdc.core.book_lines import BookRun, book_frames
from mdc.core.timestamps import NS_PER_SECOND
from mdc.core.validate import Policy
from mdc.io.rejects import RejectSink
from mdc.io.stdio import Output, read_frames

from ._shell import debug_option, quiet_option, rejects_option, run, say

PROG = "mdc-book"
_POLICY = Policy(max_skew_ns=2**62)  # stored data: how late it was received is not this command's business


@frozen
class Config:
    """What the options ask for."""

    emission: Emission
    rejects: Path | None
    quiet: bool


async def _main(config: Config) -> None:
    # Each batch makes tens of thousands of short-lived objects and no cycles: collecting every 700
    # allocations promotes a batch's events to older generations only to scan them again; and what
    # the imports made lives as long as the process. About 15% of the run time on depth streams.
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)
    run_state = BookRun(BookState(config.emission))
    output = Output()
    rejects = RejectSink(PROG, config.rejects)
    try:
        async for frames in read_frames():
            run_state, lines, bad = book_frames(run_state, frames, _POLICY)
            await rejects.write(bad)
            await output.write(lines)
            await output.flush()
    finally:
        await output.flush()
        await rejects.close()
        if not config.quiet:
            say(PROG, _summary(run_state))


def _summary(run_state: BookRun) -> str:
    """``read N, depth N, snapshots N, other events ignored N, rejected N; wrote ...``."""
    written = run_state.written
    found = ", ".join(f"{kind} {count}" for kind, count in sorted(run_state.kinds.items()))
    ignored = run_state.books.ignored
    return (
        f"read {run_state.read}, depth {run_state.depth}, snapshots {run_state.snapshots}, "
        f"other events ignored {run_state.others}, rejected {run_state.rejected}; "
        f"wrote snapshots {written.get('snapshot', 0)}, quotes {written.get('quote', 0)}, "
        f"integrity {written.get('integrity', 0)}"
        + (f" ({found})" if found else "")
        + (f"; depth ignored by frozen books {ignored}" if ignored else "")
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--levels",
    type=click.IntRange(min=0),
    default=DEFAULT_LEVELS,
    show_default=True,
    metavar="N",
    help="Levels per side in each snapshot written (0: the whole book).",
)
@click.option("--every", type=click.IntRange(min=1), metavar="N", help="A snapshot after every N events of a book.")
@click.option(
    "--every-seconds",
    type=click.FloatRange(min=0, min_open=True),
    metavar="S",
    help="A snapshot at a book's first event in each S-second interval of event time (with --every: either).",
)
@click.option(
    "--on-change",
    is_flag=True,
    help="A snapshot whenever anything within the top --levels changes (the default).",
)
@rejects_option()
@quiet_option
@debug_option
def main(
    levels: int,
    every: int | None,
    every_seconds: float | None,
    on_change: bool,
    rejects: Path | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Rebuild L2 order books from the depth and snapshot events on stdin; write snapshots and quotes.

    One book per (provider, stream, symbol), in either depth model (position:
    insert/update/delete; price level: set/delete, size 0 removes). An input
    snapshot replaces its book. A quote is written whenever the best bid or ask
    changes; snapshots of the top --levels as the options say. Every event
    written carries the ts, ts_recv and seq of the last input event applied. A
    change at a position that does not exist freezes the book (integrity
    depth_invalid, book_frozen) until a snapshot resets it (book_reset). Other
    event types are counted and ignored.

    \b
    Example:
      mdc-capture sim SPY --max-events 20000 | jq -c 'select(.type=="depth")' | mdc-book --levels 5 --on-change
    """
    if on_change and (every is not None or every_seconds is not None):
        raise click.UsageError("--on-change cannot be combined with --every or --every-seconds")
    emission = Emission(
        levels=levels,
        every=every or 0,
        every_ns=0 if every_seconds is None else max(round(every_seconds * NS_PER_SECOND), 1),
    )
    run(PROG, _main, Config(emission, rejects, quiet), debug=debug)


if __name__ == "__main__":
    main()
