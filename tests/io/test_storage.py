"""The store in-process: layouts, compression, exactly-once recovery, idempotency, retention, tiers."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdc.core.codec import decode_line, encode_event
from mdc.core.events import Depth, MarketEvent, Trade
from mdc.core.layout import Layout, Partitioning
from mdc.core.selection import Selection
from mdc.core.simulator import SimConfig, generate, start
from mdc.core.timestamps import NS_PER_SECOND, from_ns, to_ns
from mdc.io.compression import Codec, Compression, recompress
from mdc.io.finalise import INTENT
from mdc.io.parquet import unstorable, write_parquet
from mdc.io.replay import replay
from mdc.io.sinks import Format, SinkConfig, _plainly_storable
from mdc.io.storage import Store, StoreConfig, StoreError
from mdc.io.tiering import TierPlan, finish_interrupted, run_tiering
from mdc.testing.strategies import events

START = to_ns("2026-01-05T22:30:00.000000000Z")


def sim_events(count: int, seed: int = 1, mean_interval_ms: int = 50) -> list[MarketEvent]:
    """Realistic events from 22:30 UTC on (with a long interval, across midnight)."""
    config = SimConfig(symbols=("SPY", "BRK/B", "ES=F"), mean_interval_ns=mean_interval_ms * 1_000_000)
    rng = random.Random(seed)
    state = start(config, START, rng)
    _, items = generate(state, rng, count)
    return [item for item in items if not isinstance(item, bytes)]


def batched(items: list[MarketEvent], size: int) -> list[list[MarketEvent]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def store_events(
    root: Path, events: list[MarketEvent], sink: SinkConfig | None = None, now_ns: int | None = None, **options: object
) -> Store:
    clock = (lambda: now_ns) if now_ns is not None else (lambda: max(to_ns(event.ts) for event in events))
    store = Store.open(root, StoreConfig(sink=sink or SinkConfig(), **options), clock=clock)  # type: ignore[arg-type]
    for batch in batched(events, 700):
        store.write([(event, encode_event(event)) for event in batch], len(batch))
    return store


def replayed(root: Path, selection: Selection | None = None) -> list[bytes]:
    warnings: list[str] = []
    lines = list(replay([root], selection or Selection(), warnings.append))
    assert warnings == []
    return lines


def in_time_order(events: list[MarketEvent]) -> list[bytes]:
    return [encode_event(event) for event in sorted(events, key=lambda event: event.ts)]


@pytest.mark.parametrize("layout", list(Layout))
@pytest.mark.parametrize("partitioning", list(Partitioning))
@pytest.mark.parametrize("codec", [Codec.NONE, Codec.ZSTD, Codec.LZ4, Codec.GZIP])
def test_every_layout_partition_and_codec_gives_back_every_event(
    tmp_path: Path, layout: Layout, partitioning: Partitioning, codec: Codec
) -> None:
    """Stored events come back from mdc-replay's reader complete, in time order, whatever the settings."""
    events = sim_events(3000)
    store_events(
        tmp_path, events, SinkConfig(layout=layout, partitioning=partitioning, compression=Compression(codec))
    ).close()
    assert sorted(replayed(tmp_path)) == sorted(in_time_order(events))
    stamps = [json.loads(line)["ts"] for line in replayed(tmp_path)]
    assert stamps == sorted(stamps)
    assert not list(tmp_path.rglob("..*"))
    assert (tmp_path / ".mdc" / "store.json").exists()


def test_a_crash_after_the_sinks_wrote_but_before_the_commit_stores_everything_once(tmp_path: Path) -> None:
    """Recovery cuts each file back to its length at the interval's start and replays the log: exactly once."""
    events = sim_events(4000)
    store = store_events(tmp_path, events[:2000], commit_seconds=1e9, commit_records=10**9)
    store.commit()
    for batch in batched(events[2000:], 500):
        store.write([(event, encode_event(event)) for event in batch], len(batch))
    store.sink.flush(sync=True)
    store.abandon()  # the process dies here: sinks hold uncommitted data, the commit point is old
    reopened = Store.open(tmp_path, StoreConfig())
    assert reopened.stats.recovered == 2000
    reopened.close()
    assert sorted(replayed(tmp_path)) == sorted(in_time_order(events))


def test_garbage_after_the_recorded_length_is_cut_at_recovery(tmp_path: Path) -> None:
    """Bytes a dying process appended past the noted length never become data."""
    events = sim_events(1000)
    store = store_events(tmp_path, events, commit_seconds=1e9, commit_records=10**9)
    store.abandon()
    victim = next(tmp_path.rglob("*.jsonl"))
    with victim.open("ab") as file:
        file.write(b'{"type":"trade","half a line')
    Store.open(tmp_path, StoreConfig()).close()
    assert sorted(replayed(tmp_path)) == sorted(in_time_order(events))


def test_depth_changes_sharing_a_sequence_number_are_all_kept_once(tmp_path: Path) -> None:
    """Equal seq values are told apart by content: each change is stored once, a repeat skipped."""
    ts = from_ns(START)
    changes = [
        Depth(
            symbol="SPY",
            ts=ts,
            ts_recv=ts,
            provider="p",
            stream="d",
            seq=7,
            side="bid",
            op="set",
            price=Decimal(100 + level),
            size=Decimal(1),
        )
        for level in range(5)
    ]
    store = store_events(tmp_path, changes + changes[:2])
    assert (store.stats.stored, store.stats.duplicates) == (5, 2)
    store.close()
    again = store_events(tmp_path, changes)
    assert (again.stats.stored, again.stats.duplicates) == (0, 5)
    again.close()


def test_unsequenced_events_are_deduplicated_by_content(tmp_path: Path) -> None:
    """Without seq, the same line again is skipped, a different one kept."""
    ts = from_ns(START)
    trade = Trade(symbol="SPY", ts=ts, ts_recv=ts, provider="p", stream="t", price=Decimal(1), size=Decimal(1))
    other = Trade(symbol="SPY", ts=ts, ts_recv=ts, provider="p", stream="t", price=Decimal(2), size=Decimal(1))
    store = store_events(tmp_path, [trade, trade, other])
    assert (store.stats.stored, store.stats.duplicates) == (2, 1)
    store.close()


def test_retention_by_age_deletes_whole_old_partitions_only(tmp_path: Path) -> None:
    """Partitions that ended longer ago than the limit go whole; younger ones and the open one stay."""
    events = sim_events(3000, mean_interval_ms=5000)  # about four hours, in hourly partitions
    sink = SinkConfig(partitioning=Partitioning.HOURLY, retention_ns=3600 * NS_PER_SECOND)
    now = max(to_ns(event.ts) for event in events) + 600 * NS_PER_SECOND
    store_events(tmp_path, events, sink, now_ns=now).close()
    hour = 3600 * NS_PER_SECOND
    kept_hours = {to_ns(json.loads(line)["ts"]) // hour for line in replayed(tmp_path)}
    all_hours = {to_ns(event.ts) // hour for event in events}
    assert kept_hours == {h for h in all_hours if (h + 1) * hour > now - hour}
    assert kept_hours < all_hours


def test_max_bytes_deletes_the_oldest_partitions_first(tmp_path: Path) -> None:
    """Over the size limit, oldest partitions go until it fits; the newest stays."""
    events = sim_events(3000, mean_interval_ms=5000)
    sink = SinkConfig(partitioning=Partitioning.HOURLY, max_bytes=100_000)
    store = store_events(tmp_path, events, sink)
    store.commit()
    store.close()
    files = [path for path in tmp_path.rglob("*.jsonl") if ".mdc" not in path.parts]
    assert sum(path.stat().st_size for path in files) <= 100_000 or len({path.parent for path in files}) == 1
    newest = max(event.ts for event in events)
    assert any(json.loads(line)["ts"] == newest for line in replayed(tmp_path))


def test_a_second_writer_in_process_is_refused(tmp_path: Path) -> None:
    """The lock holds within one machine, whoever asks."""
    store = Store.open(tmp_path, StoreConfig())
    with pytest.raises(StoreError, match="another mdc-store"):
        Store.open(tmp_path, StoreConfig())
    store.close()


def test_tiering_recompresses_old_partitions_and_checks_them(tmp_path: Path) -> None:
    """Old partitions move to warm and cold compression; every event is still there once."""
    events = sim_events(3000, mean_interval_ms=5000)
    store_events(tmp_path, events, SinkConfig(partitioning=Partitioning.HOURLY)).close()
    newest = max(to_ns(event.ts) for event in events)
    plan = TierPlan(
        warm_after_ns=0,
        cold_after_ns=2 * 3600 * NS_PER_SECOND,
        warm=Compression(Codec.LZ4, 1),
        cold=Compression(Codec.ZSTD, 19),
    )
    moves = run_tiering(tmp_path, plan, now_ns=newest + 3 * 3600 * NS_PER_SECOND)
    assert moves
    assert not [path for path in tmp_path.rglob("*.jsonl") if ".mdc" not in path.parts]
    assert sorted(replayed(tmp_path)) == sorted(in_time_order(events))
    assert run_tiering(tmp_path, plan, now_ns=newest + 3 * 3600 * NS_PER_SECOND) == []


def test_a_tier_move_interrupted_after_verification_is_finished(tmp_path: Path) -> None:
    """The intent file lets the next run finish the swap: no duplicate, nothing lost."""
    events = sim_events(500)
    store_events(tmp_path, events).close()
    source = next(path for path in tmp_path.rglob("*.jsonl") if ".mdc" not in path.parts)
    destination = source.with_name(source.name + ".zst")
    temporary = tmp_path / ".mdc" / "tiering" / destination.relative_to(tmp_path)
    temporary.parent.mkdir(parents=True)
    recompress(source, temporary, Compression(Codec.ZSTD, 3))
    (tmp_path / ".mdc" / "tier-intent.json").write_text(
        json.dumps(
            {
                "sources": [str(source.relative_to(tmp_path))],
                "destination": str(destination.relative_to(tmp_path)),
                "temporary": str(temporary.relative_to(tmp_path)),
            }
        )
    )
    finish_interrupted(tmp_path)
    assert not source.exists()
    assert destination.exists()
    assert sorted(replayed(tmp_path)) == sorted(in_time_order(events))


def test_a_partition_kept_in_two_codecs_is_tiered_into_one_file(tmp_path: Path) -> None:
    """Runs with different compression leave a partition in two files; tiering merges them, losing nothing."""
    events = sim_events(1000)
    store_events(tmp_path, events[:500], SinkConfig(compression=Compression(Codec.NONE))).close()
    store_events(tmp_path, events[500:], SinkConfig(compression=Compression(Codec.LZ4))).close()
    newest = max(to_ns(event.ts) for event in events)
    plan = TierPlan(warm_after_ns=0, cold_after_ns=None, warm=Compression(Codec.ZSTD, 6), cold=Compression(Codec.ZSTD))
    assert run_tiering(tmp_path, plan, now_ns=newest + 3 * 86400 * NS_PER_SECOND)
    data = [path for path in tmp_path.rglob("*.jsonl*") if ".mdc" not in path.parts]
    assert all(path.name.endswith(".jsonl.zst") for path in data)
    assert sorted(replayed(tmp_path)) == sorted(in_time_order(events))
    assert not list((tmp_path / ".mdc" / "tiering").rglob("*.*"))


def test_tiering_to_parquet_keeps_every_event(tmp_path: Path) -> None:
    """Cold partitions become Parquet files with the same events, checked one by one."""
    events = sim_events(800)
    store_events(tmp_path, events).close()
    newest = max(to_ns(event.ts) for event in events)
    plan = TierPlan(None, 0, Compression(Codec.ZSTD, 6), Compression(Codec.ZSTD, 19), cold_parquet=True)
    assert run_tiering(tmp_path, plan, now_ns=newest + 3 * 86400 * NS_PER_SECOND)
    assert not [path for path in tmp_path.rglob("*.jsonl") if ".mdc" not in path.parts]
    back = sorted((decode_line(line).unwrap() for line in replayed(tmp_path)), key=lambda e: (e.ts, encode_event(e)))
    assert back == sorted(events, key=lambda e: (e.ts, encode_event(e)))


def test_decoded_lines_are_what_was_stored(tmp_path: Path) -> None:
    """What the store keeps decodes to the very events it was given."""
    events = sim_events(300)
    store_events(tmp_path, events).close()
    assert sorted((decode_line(line).unwrap() for line in replayed(tmp_path)), key=encode_event) == sorted(
        events, key=encode_event
    )


@given(events(), st.sampled_from(["0.0000000001", "1.123456789", "12345678901234567890123456789", "1e-12", "0.10"]))
def test_the_quick_parquet_check_never_passes_what_parquet_cannot_hold(event: MarketEvent, text: str) -> None:
    """_plainly_storable is only a shortcut: whatever it passes, the full check passes too."""
    field = next((name for name in ("price", "size", "bid_price", "open", "volume") if hasattr(event, name)), None)
    if field is not None:
        event = attrs.evolve(event, **{field: Decimal(text)})  # type: ignore[misc]
    if _plainly_storable(event):
        assert unstorable(event) is None


def test_a_parquet_store_rejects_what_it_cannot_hold_exactly(tmp_path: Path) -> None:
    """A price with ten fraction digits is rejected on the way in, with rule not_storable; the rest is kept."""
    ts = from_ns(START)
    good = Trade(
        symbol="SPY", ts=ts, ts_recv=ts, provider="p", stream="t", seq=1, price=Decimal("1.5"), size=Decimal(1)
    )
    bad = attrs.evolve(good, seq=2, price=Decimal("0.0000000001"))
    store = Store.open(tmp_path, StoreConfig(sink=SinkConfig(format=Format.PARQUET)))
    refusal = store.refusal
    assert refusal is not None
    assert refusal(good) is None
    refused = refusal(bad)
    assert refused is not None
    assert refused.rule == "not_storable"
    assert "10 fraction digits" in refused.message
    store.close()


def test_a_finalisation_interrupted_after_the_parquet_file_landed_drops_the_staged_copy(tmp_path: Path) -> None:
    """The intent file tells a landed Parquet file from one that never was: no duplicate, nothing lost."""
    events = [event for event in sim_events(400) if isinstance(event, Trade)]
    sink = SinkConfig(format=Format.PARQUET)
    store = store_events(tmp_path, events, sink)
    store.commit()
    store.abandon()  # staged, not finalised
    staged = next((tmp_path / ".mdc" / "staging").rglob("*.jsonl"))
    relative = staged.relative_to(tmp_path / ".mdc" / "staging")
    target = tmp_path / relative.parent / relative.name.replace(".jsonl", ".parquet")
    (tmp_path / ".mdc").joinpath(*INTENT).write_text(
        json.dumps(
            {"staging": str(staged.relative_to(tmp_path)), "target": str(target.relative_to(tmp_path)), "before": None}
        )
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(staged.read_bytes().splitlines(), "trade", target)  # the crash came right after this
    Store.open(tmp_path, StoreConfig(sink=sink)).close()
    assert not staged.exists()
    back = sorted((decode_line(line).unwrap() for line in replayed(tmp_path)), key=lambda e: (e.ts, encode_event(e)))
    assert back == sorted(events, key=lambda e: (e.ts, encode_event(e)))
