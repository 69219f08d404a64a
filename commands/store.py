"""mdc-store: keep NDJSON events from stdin in a crash-safe store; ``tier`` and ``compact`` maintain one."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import click
import trio
from attrs import frozen

from mdc.core.events import MarketEvent
from mdc.core.framing import Frame
from mdc.core.layout import Layout, Partitioning
from mdc.core.pipeline import check_lines
from mdc.core.timestamps import NS_PER_SECOND
from mdc.core.validate import Policy, Scope
from mdc.io.compression import PROFILES, BadCompression, parse_compression
from mdc.io.rejects import RejectSink
from mdc.io.sinks import Format, SinkConfig, SinkError
from mdc.io.stdio import read_frames, write_all_blocking
from mdc.io.storage import Store, StoreConfig, StoreError
from mdc.io.tiering import TierPlan, run_tiering
from mdc.io.wal import Checksum, SyncMode

from ._shell import EXIT_IOERR, CommandError, debug_option, quiet_option, rejects_option, run, say

PROG = "mdc-store"
# Arrow's default allocator keeps what one Parquet write freed for the next; over a long run of
# finalisations that holds the high-water mark of all of them. The system allocator gives memory
# back, keeping the store well under 200 MB (set before pyarrow is first imported; a user's own
# setting wins).
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
# The store keeps what the producer says happened: it checks what a stored event needs (canonical
# timestamps, a symbol that can name a file); prices, sizes and timing are mdc-validate's to judge.
_STORE_POLICY = Policy(max_skew_ns=2**62, scope=Scope.ENVELOPE)
_SIZE = re.compile(r"(\d+)\s*([kKmMgGtT]?)(i?[bB])?")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")


@frozen
class Config:
    """What the options ask for."""

    root: Path
    store: StoreConfig
    rejects: Path | None
    quiet: bool
    ack_fd: int | None


async def _main(config: Config) -> None:
    try:
        store = await trio.to_thread.run_sync(Store.open, config.root, config.store)
    except (StoreError, SinkError) as error:
        raise CommandError(str(error), EXIT_IOERR) from error
    if store.stats.recovered or store.stats.torn_bytes:
        say(
            PROG,
            f"recovered {store.stats.recovered} events from the write-ahead log"
            + (f", cut a torn tail of {store.stats.torn_bytes} bytes" if store.stats.torn_bytes else ""),
        )
    rejects = RejectSink(PROG, config.rejects)
    acks = _Acks(config.ack_fd)
    counts = _Counts()
    failure: OSError | None = None
    try:
        frames_in, frames_out = trio.open_memory_channel[list[Frame]](2)
        batches_in, batches_out = trio.open_memory_channel[_Batch | None](1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_read_input, frames_in)
            nursery.start_soon(_check, frames_out, batches_in, store, rejects, counts)
            try:
                await _write(batches_out, store, acks)
            except OSError as error:  # disk full, I/O error: stop writing, keep what is safe
                failure = error
                nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            if failure is None:
                try:
                    await trio.to_thread.run_sync(store.close)  # releases the lock whatever happens
                    acks.tell(store.acknowledged)
                except OSError as error:  # the last flush found the disk full: the same message as mid-stream
                    failure = error
            else:
                store.abandon()
            await rejects.close()
        if not config.quiet:
            say(
                PROG,
                f"read {counts.read}, stored {store.stats.stored}, duplicates skipped {store.stats.duplicates},"
                f" rejected {counts.rejected} under {config.root}",
            )
    if failure is not None:
        raise CommandError(_failure(config.root, failure, store.acknowledged), EXIT_IOERR) from failure


class _Counts:
    def __init__(self) -> None:
        self.read = 0
        self.rejected = 0


_Batch = tuple[list[tuple[MarketEvent, bytes]], int]
"""Valid events with their lines, and how many input lines they account for."""


async def _check(
    receive: trio.MemoryReceiveChannel[list[Frame]],
    send: trio.MemorySendChannel[_Batch | None],
    store: Store,
    rejects: RejectSink,
    counts: _Counts,
) -> None:
    """Check batches of input (in this thread) while the previous batch is being written (in a worker).

    When no input arrives for a sync interval, a None tells the writer to let the store sync and commit on time.
    """
    tick = max(store.config.sync_ms / 1000, 0.005)
    refusal = store.refusal
    async with send:
        while True:
            frames = None
            with trio.move_on_after(tick):
                try:
                    frames = await receive.receive()
                except trio.EndOfChannel:
                    return
            if frames is None:
                await send.send(None)
                continue
            accepted, bad = check_lines(counts.read, frames, _STORE_POLICY, refusal)
            counts.read += len(frames)
            counts.rejected += len(bad)
            await rejects.write(bad)
            await send.send((accepted, len(frames)))


async def _write(receive: trio.MemoryReceiveChannel[_Batch | None], store: Store, acks: _Acks) -> None:
    """Hand each checked batch to the store in a worker thread, one at a time, and acknowledge."""
    async with receive:
        async for batch in receive:
            with trio.CancelScope(shield=True):  # a batch handed to the store is written whole
                if batch is None:
                    await trio.to_thread.run_sync(store.tick)
                else:
                    await trio.to_thread.run_sync(store.write, *batch)
            acks.tell(store.acknowledged)


async def _read_input(send: trio.MemorySendChannel[list[Frame]]) -> None:
    async with send:
        async for frames in read_frames():
            await send.send(frames)


def _failure(root: Path, error: OSError, acknowledged: int) -> str:
    what = "no space left on device" if error.errno == errno.ENOSPC else (error.strerror or str(error))
    where = error.filename or root
    return (
        f"{where}: {what}; the {acknowledged} input lines acknowledged so far are safe, and the rest of what was"
        f" written is in the write-ahead log: run mdc-store on {root} again (once the problem is fixed) to recover it"
    )


class _Acks:
    """Writes the count of acknowledged input lines to --ack-fd, one decimal number per line."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd
        self._told = -1

    def tell(self, count: int) -> None:
        if self._fd is None or count == self._told:
            return
        try:
            write_all_blocking(self._fd, f"{count}\n".encode())
        except OSError:
            self._fd = None  # nobody listens any more; storing goes on
        self._told = count


# ---------------------------------------------------------------------- option parsing


def parse_size(text: str) -> int:
    """``500M``, ``10G``, ``1048576`` -> bytes (powers of 1024)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise click.BadParameter(f"{text!r} is not a size such as 500M or 10G")
    number, unit, _ = match.groups()
    return int(number) << (10 * " KMGT".index(unit.upper() or " "))


def parse_duration(text: str) -> int:
    """``7d``, ``12h``, ``30m``, ``90s`` -> nanoseconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise click.BadParameter(f"{text!r} is not a duration such as 90s, 30m, 12h or 7d")
    number, unit = match.groups()
    return int(float(number) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit] * NS_PER_SECOND)


def _choice(enum_type: type[Layout | Partitioning | Format | SyncMode]) -> click.Choice[str]:
    return click.Choice([member.value for member in enum_type])


@click.group(
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    subcommand_metavar="[tier|compact]",
)
@click.option("--root", type=click.Path(path_type=Path), help="The store's root directory (created when missing).")
@click.option("--layout", type=_choice(Layout), default="by-symbol", show_default=True, help="Directory layout.")
@click.option(
    "--partition", type=_choice(Partitioning), default="daily", show_default=True, help="Files per UTC period."
)
@click.option("--format", "format_", type=_choice(Format), default="jsonl", show_default=True, help="File format.")
@click.option(
    "--compress",
    type=click.Choice(["none", "gzip", "zstd", "lz4"]),
    help="Compress JSONL files (default: what the store already uses; none for a new store).",
)
@click.option("--level", type=int, help="Compression level (the codec's default when left out).")
@click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    help="A named codec and level: " + ", ".join(f"{name}" for name in PROFILES) + ".",
)
@click.option("--float-prices", is_flag=True, help="Parquet: prices and sizes as float64 instead of exact decimals.")
@click.option(
    "--sync", type=_choice(SyncMode), default="batch", show_default=True, help="When the write-ahead log is fsynced."
)
@click.option(
    "--sync-records",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="batch: fsync after N records.",
)
@click.option(
    "--sync-ms", type=click.FloatRange(min=0), default=50.0, show_default=True, help="batch: fsync after T ms."
)
@click.option(
    "--wal-checksum",
    type=click.Choice(["xxh3", "sha256"]),
    default="xxh3",
    show_default=True,
    help="WAL record checksum.",
)
@click.option("--wal-segment-mb", type=click.IntRange(min=1), default=64, show_default=True, help="WAL segment size.")
@click.option(
    "--dedup-window",
    type=click.IntRange(min=0),
    default=262_144,
    show_default=True,
    help="Unsequenced events remembered to skip repeats.",
)
@click.option(
    "--commit-seconds",
    type=click.FloatRange(min=0.001),
    default=1.0,
    show_default=True,
    help="Commit at least this often.",
)
@click.option(
    "--retention-days", type=click.FloatRange(min=0), help="Delete partitions that ended more than N days ago."
)
@click.option("--max-bytes", metavar="SIZE", help="Delete the oldest partitions while the store is bigger (e.g. 50G).")
@click.option(
    "--close-after",
    metavar="DURATION",
    default="10m",
    show_default=True,
    help="Parquet: finalise a partition this long after its end.",
)
@rejects_option()
@click.option(
    "--ack-fd", type=click.IntRange(min=0), help="Write the count of acknowledged input lines to this descriptor."
)
@quiet_option
@debug_option
@click.pass_context
def main(
    context: click.Context,
    root: Path | None,
    layout: str,
    partition: str,
    format_: str,
    compress: str | None,
    level: int | None,
    profile: str | None,
    float_prices: bool,
    sync: str,
    sync_records: int,
    sync_ms: float,
    wal_checksum: str,
    wal_segment_mb: int,
    dedup_window: int,
    commit_seconds: float,
    retention_days: float | None,
    max_bytes: str | None,
    close_after: str,
    rejects: Path | None,
    ack_fd: int | None,
    quiet: bool,
    debug: bool,
) -> None:
    """Store NDJSON market events from stdin under ROOT, crash-safe.

    Every event goes to a write-ahead log first, then to partition files laid
    out by --layout and --partition, compressed or as Parquet. Nothing
    acknowledged is lost, whatever kills the process: a restart recovers from
    the log. Storing is idempotent: an event already stored (same stream and a
    sequence number at or below the highest stored, or the same content for
    unsequenced events) is skipped and counted, so a crashed pipeline can be
    re-run from its source. Invalid lines are rejected and reported.

    Subcommands: `mdc-store tier --root DIR ...` moves old partitions to
    cheaper compression or Parquet; `mdc-store compact --root DIR` finalises
    open Parquet partitions.

    \b
    Example:
      mdc-capture sim SPY AAPL --max-events 100000 | mdc-validate | mdc-store --root data --compress zstd
    """
    if context.invoked_subcommand is not None:
        return
    if root is None:
        raise click.UsageError("give --root DIR")
    try:
        given = (compress, level, profile) != (None, None, None)
        compression = parse_compression(compress, level, profile) if given else None
    except BadCompression as error:
        raise click.BadParameter(str(error), param_hint="--compress/--profile") from None
    sink = SinkConfig(
        layout=Layout(layout),
        partitioning=Partitioning(partition),
        format=Format(format_),
        compression=compression,
        float_prices=float_prices,
        close_after_ns=parse_duration(close_after),
        retention_ns=None if retention_days is None else int(retention_days * 86400 * NS_PER_SECOND),
        max_bytes=None if max_bytes is None else parse_size(max_bytes),
    )
    store = StoreConfig(
        sink=sink,
        sync=SyncMode(sync),
        sync_records=sync_records,
        sync_ms=sync_ms,
        checksum=Checksum.XXH3 if wal_checksum == "xxh3" else Checksum.SHA256,
        segment_bytes=wal_segment_mb << 20,
        dedup_window=dedup_window,
        commit_seconds=commit_seconds,
    )
    if ack_fd is not None:
        try:
            os.fstat(ack_fd)
        except OSError:
            raise click.BadParameter(f"descriptor {ack_fd} is not open", param_hint="--ack-fd") from None
    run(PROG, _main, Config(root, store, rejects, quiet, ack_fd), debug=debug)


@main.command("tier", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="The store.")
@click.option("--warm-after", metavar="DURATION", help="Partitions that ended this long ago go warm (e.g. 7d).")
@click.option("--cold-after", metavar="DURATION", help="Partitions that ended this long ago go cold (e.g. 30d).")
@click.option(
    "--warm-profile", type=click.Choice(sorted(PROFILES)), default="warm", show_default=True, help="Warm compression."
)
@click.option(
    "--cold-profile", type=click.Choice(sorted(PROFILES)), default="cold", show_default=True, help="Cold compression."
)
@click.option(
    "--cold-format",
    type=click.Choice(["jsonl", "parquet"]),
    default="jsonl",
    show_default=True,
    help="Cold file format.",
)
@click.option("--dry-run", is_flag=True, help="Say what would move, and move nothing.")
@quiet_option
@debug_option
def tier(
    root: Path,
    warm_after: str | None,
    cold_after: str | None,
    warm_profile: str,
    cold_profile: str,
    cold_format: str,
    dry_run: bool,
    quiet: bool,
    debug: bool,
) -> None:
    """Move old partitions hot -> warm -> cold, verifying every new file before the old one goes.

    A partition that ended more than --warm-after ago is recompressed with
    --warm-profile; one that ended more than --cold-after ago with
    --cold-profile, or converted to Parquet with --cold-format parquet. The new
    file's record count and content checksum are checked against the old
    one's before the old one is removed, so a crash mid-way loses nothing.
    Takes the store's lock: it refuses while an mdc-store writes the store.
    """
    if warm_after is None and cold_after is None:
        raise click.UsageError("give --warm-after and/or --cold-after")
    plan = TierPlan(
        warm_after_ns=None if warm_after is None else parse_duration(warm_after),
        cold_after_ns=None if cold_after is None else parse_duration(cold_after),
        warm=PROFILES[warm_profile],
        cold=PROFILES[cold_profile],
        cold_parquet=cold_format == "parquet",
        dry_run=dry_run,
    )
    run(f"{PROG} tier", _tier_main, (root, plan, quiet), debug=debug)


async def _tier_main(arguments: tuple[Path, TierPlan, bool]) -> None:
    root, plan, quiet = arguments
    try:
        moves = await trio.to_thread.run_sync(run_tiering, root, plan)
    except (StoreError, SinkError) as error:
        raise CommandError(str(error), EXIT_IOERR) from error
    if not quiet:
        for move in moves:
            say(f"{PROG} tier", move)
        say(f"{PROG} tier", f"{len(moves)} partition files {'would move' if plan.dry_run else 'moved'}")


@main.command("compact", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="The store.")
@quiet_option
@debug_option
def compact(root: Path, quiet: bool, debug: bool) -> None:
    """Finalise every staged Parquet partition into its .parquet file now (open ones included).

    Takes the store's lock: it refuses while an mdc-store writes the store.
    """
    run(f"{PROG} compact", _compact_main, (root, quiet), debug=debug)


async def _compact_main(arguments: tuple[Path, bool]) -> None:
    root, quiet = arguments
    from mdc.io.tiering import compact_store  # noqa: PLC0415 - next to its only use

    try:
        written = await trio.to_thread.run_sync(compact_store, root)
    except (StoreError, SinkError) as error:
        raise CommandError(str(error), EXIT_IOERR) from error
    if not quiet:
        say(f"{PROG} compact", f"{len(written)} Parquet files written")


if __name__ == "__main__":
    main()
