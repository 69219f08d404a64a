"""mdc-bars: aggregate trades from stdin into OHLCV bars on event time."""

from __future__ import annotations

from pathlib import Path

import click
from attrs import frozen
from returns.result import Failure

from mdc.core.bars import BarState, Interval, aggregate, flush, parse_interval
from mdc.core.codec import encode_event, encode_lines
from mdc.core.errors import violation
from mdc.core.events import Trade
from mdc.core.pipeline import Reject, check_frames
from mdc.core.timestamps import NS_PER_SECOND
from mdc.core.validate import Policy
from mdc.io.rejects import RejectSink
from mdc.io.stdio import Output, read_frames

from ._shell import debug_option, quiet_option, rejects_option, run, say

PROG = "mdc-bars"
_POLICY = Policy(max_skew_ns=2**62)


@frozen
class Config:
    """What the options ask for."""

    interval: Interval
    lateness_ns: int
    rejects: Path | None
    quiet: bool


async def _main(config: Config) -> None:
    state = BarState(config.interval, config.lateness_ns)
    output = Output()
    rejects = RejectSink(PROG, config.rejects)
    read = trades = others = bars_out = late_count = 0
    try:
        async for frames in read_frames():
            events, bad = check_frames(read, frames, _POLICY)
            read += len(frames)
            batch = [event for event in events if type(event) is Trade]
            trades += len(batch)
            others += len(events) - len(batch)
            state, bars, late = aggregate(state, batch)
            if late:
                late_count += len(late)
                bad += [_late(trade, config.interval) for trade in late]
            await rejects.write(bad)
            bars_out += len(bars)
            await output.write(encode_lines(bars))
            await output.flush()
        final = flush(state)
        bars_out += len(final)
        await output.write(encode_lines(final))
    finally:
        await output.flush()
        await rejects.close()
        if not config.quiet:
            say(
                PROG,
                f"read {read}, trades {trades}, bars {bars_out}, late trades {late_count}, "
                f"other events ignored {others}",
            )


def _late(trade: Trade, interval: Interval) -> Reject:
    """A late trade is reported like a rejected line (it cannot change a bar already written)."""
    return Reject(
        None,
        encode_event(trade),
        (
            violation(
                "late_trade",
                "$.ts",
                trade.ts,
                f"late {trade.symbol} trade (ts {trade.ts}): its {interval.text} bar was already written",
            ),
        ),
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--interval", required=True, metavar="N{s|m|h|d}", help="Bar length: 1s, 1m, 5m, 1h, 1d ...")
@click.option(
    "--lateness",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help=(
        "Let the watermark trail the newest trade by this much, so bars of symbols from a slower feed "
        "are not closed early (a symbol's own later trade always closes its earlier bars)."
    ),
)
@rejects_option("rejected lines and late trades")
@quiet_option
@debug_option
def main(interval: str, lateness: float, rejects: Path | None, quiet: bool, debug: bool) -> None:
    """Aggregate the trades on stdin into OHLCV bars (with VWAP and trade count) on stdout.

    Bars are keyed by (provider, stream, symbol), aligned to the interval in UTC
    and stamped with their start time. They close on event time, never on the
    wall clock: when a later trade arrives, or at the end of input. Events that
    are not trades are ignored.

    \b
    Example:
      mdc-replay data --type trade | mdc-bars --interval 1m | jq -c '[.ts, .symbol, .close]'
    """
    parsed = parse_interval(interval)
    if isinstance(parsed, Failure):
        raise click.BadParameter(parsed.failure(), param_hint="--interval")
    run(PROG, _main, Config(parsed.unwrap(), int(lateness * NS_PER_SECOND), rejects, quiet), debug=debug)


if __name__ == "__main__":
    main()
