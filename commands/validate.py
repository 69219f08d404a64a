"""mdc-validate: check a stream of events, pass the good ones and flag what is wrong with the data.

Reads NDJSON events on stdin; writes the valid ones (timestamps made canonical,
unknown trade sides inferred) and the collectors' integrity events to stdout;
sends every rejected line with all its reasons to ``--rejects`` (or to stderr);
ends with a one-line summary on stderr.
"""

from __future__ import annotations

from pathlib import Path

import click
from attrs import evolve, frozen

from mdc.core.framing import DEFAULT_MAX_LINE_BYTES
from mdc.core.pipeline import Counts, ValidatorState, validate_frames
from mdc.core.timestamps import NS_PER_SECOND
from mdc.core.validate import CrossedQuotes, Policy
from mdc.io.rejects import RejectSink
from mdc.io.stdio import Output, read_frames

from ._shell import EXIT_DATAERR, CommandError, debug_option, quiet_option, rejects_option, run, say

PROG = "mdc-validate"


@frozen
class Config:
    """What the options ask for."""

    rejects: Path | None
    strict: bool
    policy: Policy
    max_line_bytes: int
    quiet: bool


async def _main(config: Config) -> None:
    state = ValidatorState()
    output = Output()
    rejects = RejectSink(PROG, config.rejects)
    try:
        async for frames in read_frames(max_line_bytes=config.max_line_bytes):
            before = state
            state, batch = validate_frames(state, frames, config.policy)
            if config.strict and batch.rejects:
                first = batch.rejects[0]
                assert first.line_no is not None  # noqa: S101 - validate_frames numbers every reject
                state, batch = validate_frames(before, frames[: first.line_no - before.counts.read - 1], config.policy)
                counts = state.counts
                state = evolve(state, counts=evolve(counts, read=counts.read + 1, rejected=counts.rejected + 1))
                await output.write(batch.output())
                await rejects.write([first])
                raise CommandError("stopped at the first rejected line (--strict)", EXIT_DATAERR)
            await rejects.write(batch.rejects)
            await output.write(batch.output())
            await output.flush()
    finally:
        await output.flush()
        await rejects.close()
        if not config.quiet:
            say(PROG, summary(state.counts))


def summary(counts: Counts) -> str:
    """``read N, passed N, rejected N, integrity N (kind N, ...)``."""
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.integrity.items()))
    total = sum(counts.integrity.values())
    return f"read {counts.read}, passed {counts.passed}, rejected {counts.rejected}, integrity {total}" + (
        f" ({kinds})" if kinds else ""
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@rejects_option()
@click.option("--strict", is_flag=True, help="Stop at the first rejected line and exit 65.")
@click.option(
    "--max-skew",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="How far an event's ts may lie after its ts_recv.",
)
@click.option("--reject-crossed", is_flag=True, help="Reject crossed quotes (bid > ask) instead of flagging them.")
@click.option(
    "--max-line-bytes",
    type=click.IntRange(min=64),
    default=DEFAULT_MAX_LINE_BYTES,
    show_default=True,
    help="Longer lines are rejected without being held in memory.",
)
@quiet_option
@debug_option
def main(
    rejects: Path | None,
    strict: bool,
    max_skew: float,
    reject_crossed: bool,
    max_line_bytes: int,
    quiet: bool,
    debug: bool,
) -> None:
    """Validate NDJSON market events from stdin; write the valid ones and integrity events to stdout.

    Every line is checked against the rules of its event type (see mdc-format(5));
    a bad line reports every rule it breaks. Sequence numbers are tracked per
    (provider, stream, symbol): a gap emits an integrity sequence_gap event, a
    number going backwards emits integrity out_of_order and rejects the event.
    Crossed and locked markets are flagged. A trade whose side is unknown gets
    the side inferred from the last quote, or by the tick rule.

    \b
    Example:
      mdc-capture sim SPY --max-events 10000 | mdc-validate --rejects rej.jsonl | mdc-store --root data
    """
    policy = Policy(
        max_skew_ns=int(max_skew * NS_PER_SECOND),
        crossed=CrossedQuotes.REJECT if reject_crossed else CrossedQuotes.FLAG,
    )
    run(PROG, _main, Config(rejects, strict, policy, max_line_bytes, quiet), debug=debug)


if __name__ == "__main__":
    main()
