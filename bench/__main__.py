"""Run the benchmarks: ``python -m bench [--events N] [--memory-events N] [--skip-memory] ...``.

Every figure is reported with a baseline measured in the same run, because the
machines are noisy: for the commands the baseline is ``bench.floor`` (decode +
re-encode each line with msgspec, nothing else) over the same file. Peak
resident memory comes from wait4() of each process of a real pipeline over a
long stream. Then come the providers' parsers and live capture
(:mod:`bench.alpaca`, :mod:`bench.polygon`) and the L2 books
(:mod:`bench.book`), each against the baseline its docstring describes, shown
as the first row of its group (``--skip-alpaca``, ``--skip-polygon``,
``--skip-book`` leave a group out). Results go to stdout as a table and to
bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import alpaca, book, polygon
from bench._process import best, timed

BIN = Path(sys.executable).parent
SEED = ["--seed", "11", "--start", "2026-11-24T14:30:00Z", "--rate", "max"]
SYMBOLS = ["SPY", "AAPL", "MSFT", "BRK/B", "ES=F"]


def pipeline_rss(commands: list[list[str]]) -> list[int]:
    """Peak RSS (KiB) of each process of a shell-less pipeline, in order."""
    processes: list[subprocess.Popen[bytes]] = []
    previous = None
    for index, argv in enumerate(commands):
        last = index == len(commands) - 1
        process = subprocess.Popen(
            argv,
            stdin=previous.stdout if previous else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if last else subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        if previous is not None and previous.stdout is not None:
            previous.stdout.close()
        processes.append(process)
        previous = process
    peaks = []
    for process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"bench: {process.args} failed")
        peaks.append(usage.ru_maxrss)
    return peaks


def _parquet_write(data: Path) -> list[tuple[str, str, str]]:
    """write_parquet of one type's lines against pyarrow writing the same table from columns, in one process."""
    code = f"""
import time, pyarrow.parquet as pq, tempfile, pathlib
from mdc.io.parquet import write_parquet
lines = [line for line in open({str(data)!r}, "rb").read().split(b"\\n") if line.startswith(b'{{"type":"depth"')]
out = pathlib.Path(tempfile.mkdtemp()) / "d.parquet"
start = time.perf_counter(); write_parquet(lines, "depth", out); ours = time.perf_counter() - start
table = pq.read_table(out)
start = time.perf_counter()
pq.write_table(table, out.with_suffix(".bare"), compression="zstd")
bare = time.perf_counter() - start
print(len(lines), ours, bare)
"""
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    rows, ours, bare = int(output[0]), float(output[1]), float(output[2])
    return [
        ("write_parquet, depth rows (from NDJSON lines)", f"{rows / ours:,.0f} rows/s", ""),
        ("  pyarrow write_table of the same columns", f"{rows / bare:,.0f} rows/s", f"ours = {bare / ours:.2f} of it"),
    ]


def _as_json(rows: list[tuple[str, str, str]]) -> dict[str, dict[str, object]]:
    """Rows of a group as ``{what: {"value": N, "unit": U, "ratio": R}}`` (ratio None when there is none)."""
    out: dict[str, dict[str, object]] = {}
    for name, figure, ratio in rows:
        value, _, unit = figure.partition(" ")
        out[name.strip()] = {
            "value": float(value.replace(",", "")),
            "unit": unit,
            "ratio": float(ratio) if ratio else None,
        }
    return out


def main() -> None:  # noqa: PLR0915 - one straight list of measurements reads best in one place
    """Run everything and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the throughput file")
    parser.add_argument("--memory-events", type=int, default=10_000_000, help="events in the memory stream")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--alpaca-messages", type=int, default=200_000, help="Alpaca messages parsed")
    parser.add_argument("--alpaca-events", type=int, default=200_000, help="Alpaca events captured end to end")
    parser.add_argument("--skip-alpaca", action="store_true")
    parser.add_argument("--polygon-messages", type=int, default=200_000, help="Polygon messages parsed")
    parser.add_argument("--skip-polygon", action="store_true")
    parser.add_argument("--book-events", type=int, default=400_000, help="simulator events per depth stream")
    parser.add_argument("--skip-book", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {"events": args.events}
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="mdc-bench-") as scratch:
        work = Path(scratch)
        data = work / "events.jsonl"
        capture = [str(BIN / "mdc-capture"), "sim", *SYMBOLS, *SEED, "--max-events", str(args.events)]
        capture_s = min(timed(capture, stdout=data)[0] for _ in range(2))
        floor_s = best([sys.executable, "-m", "bench.floor"], data)
        typed_s = best([sys.executable, "-m", "bench.floor", "--typed"], data)
        floor_rate = args.events / floor_s
        rows.append(("floor: msgspec decode+encode per line (untyped)", f"{floor_rate:,.0f} ev/s", "1.00"))
        rows.append(
            (
                "mdc codec: decode to attrs events + encode",
                f"{args.events / typed_s:,.0f} ev/s",
                f"{floor_s / typed_s:.2f}",
            )
        )
        results["typed_floor_events_per_s"] = args.events / typed_s
        rows.append(
            ("mdc-capture sim --rate max", f"{args.events / capture_s:,.0f} ev/s", f"{floor_s / capture_s:.2f}")
        )
        for name, argv in [
            ("mdc-validate", [str(BIN / "mdc-validate"), "-q"]),
            ("mdc-bars --interval 1m", [str(BIN / "mdc-bars"), "-q", "--interval", "1m"]),
        ]:
            seconds = best(argv, data)
            rows.append(
                (
                    name,
                    f"{args.events / seconds:,.0f} ev/s",
                    f"{floor_s / seconds:.2f} ({typed_s / seconds:.2f} of mdc codec)",
                )
            )
            results[name] = {
                "events_per_s": args.events / seconds,
                "ratio_to_floor": floor_s / seconds,
                "ratio_to_mdc_codec": typed_s / seconds,
            }
        for label, options in [
            ("mdc-store --sync batch (JSONL)", ["--sync", "batch"]),
            ("mdc-store --sync batch --compress zstd", ["--sync", "batch", "--compress", "zstd"]),
        ]:
            root = work / ("store-" + options[-1])
            seconds, _ = timed([str(BIN / "mdc-store"), "-q", "--root", str(root), *options], stdin=data)
            rows.append((label, f"{args.events / seconds:,.0f} ev/s", f"{floor_s / seconds:.2f}"))
            results[label] = {"events_per_s": args.events / seconds, "ratio_to_floor": floor_s / seconds}
        zstd_root = work / "store-zstd"
        replay_s = min(timed([str(BIN / "mdc-replay"), str(zstd_root)])[0] for _ in range(2))
        rows.append(
            ("mdc-replay of the zstd store", f"{args.events / replay_s:,.0f} ev/s", f"{floor_s / replay_s:.2f}")
        )
        files = " ".join(f"'{path}'" for path in sorted(zstd_root.rglob("*.zst")))
        jq_s = min(timed(["bash", "-c", f"zstdcat {files} | jq -c . > /dev/null"])[0] for _ in range(1))
        rows.append(("zstdcat FILES | jq -c . (same data)", f"{args.events / jq_s:,.0f} ev/s", f"{floor_s / jq_s:.2f}"))
        rows.append(("  mdc-replay / (zstdcat | jq)", f"{jq_s / replay_s:.2f}x faster", ""))
        parquet_root = work / "store-parquet"
        parquet_s, _ = timed(
            [str(BIN / "mdc-store"), "-q", "--root", str(parquet_root), "--format", "parquet"], stdin=data
        )
        rows.append(
            (
                "mdc-store --format parquet (whole run)",
                f"{args.events / parquet_s:,.0f} ev/s",
                f"{floor_s / parquet_s:.2f}",
            )
        )
        rows.extend(_parquet_write(data))
        results.update(
            floor_events_per_s=floor_rate,
            capture_events_per_s=args.events / capture_s,
            replay_events_per_s=args.events / replay_s,
            zstdcat_jq_events_per_s=args.events / jq_s,
            parquet_store_events_per_s=args.events / parquet_s,
        )
        if not args.skip_memory:
            n = str(args.memory_events)
            mem_root = work / "memory-store"
            peaks = pipeline_rss(
                [
                    [str(BIN / "mdc-capture"), "sim", *SYMBOLS, *SEED, "--max-events", n],
                    [str(BIN / "mdc-validate"), "-q"],
                    [str(BIN / "mdc-store"), "-q", "--root", str(mem_root), "--compress", "zstd", "--sync", "batch"],
                ]
            )
            peaks += pipeline_rss(
                [[str(BIN / "mdc-replay"), str(mem_root)], [str(BIN / "mdc-bars"), "-q", "--interval", "1m"]]
            )
            names = ["mdc-capture", "mdc-validate", "mdc-store", "mdc-replay", "mdc-bars"]
            results["peak_rss_mib"] = {name: peak / 1024 for name, peak in zip(names, peaks, strict=True)}
            for name, peak in zip(names, peaks, strict=True):
                rows.append((f"peak RSS over {args.memory_events:,} events: {name}", f"{peak / 1024:.0f} MiB", ""))
    for group, skip, measure in (
        ("alpaca", args.skip_alpaca, lambda: alpaca.run(args.alpaca_messages, args.alpaca_events)),
        ("polygon", args.skip_polygon, lambda: polygon.run(args.polygon_messages)),
        ("book", args.skip_book, lambda: book.run(args.book_events)),
    ):
        if not skip:
            measured = measure()
            rows.extend(measured)
            results[group] = _as_json(measured)
    width = max(len(row[0]) for row in rows)
    print(f"{'benchmark':<{width}}  {'throughput':>16}  ratio to baseline")
    for name, figure, ratio in rows:
        print(f"{name:<{width}}  {figure:>16}  {ratio}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
