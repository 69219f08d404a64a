"""The built-in ``sim`` provider: the pure market simulator, paced in real time or run flat out.

The model lives in :mod:`mdc.core.simulator`; this adapter parses the options,
seeds the random source, paces the output with trio's clock and hands batches
to ``mdc-capture``. It is registered in the ``mdc.providers`` entry-point group
like any third-party provider.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Final

import trio
from returns.result import Failure

from mdc.core.provider import Capability, CaptureContext, CaptureRequest, Emit, OptionSpec, ProviderError, ProviderInfo
from mdc.core.simulator import SimConfig, generate, parse_faults, start
from mdc.core.timestamps import NS_PER_SECOND, canonical, to_ns

EXIT_USAGE: Final = 2
FLAT_OUT_BATCH: Final = 4096
FLAT_OUT_INTERVAL_NS: Final = 10_000_000
"""Simulated time between events under ``--rate max`` (100 events/s of market time)."""
PACING_TICK_S: Final = 0.01


class SimProvider:
    """A deterministic simulated market: trades, quotes, L2 depth and snapshots, with fault injection."""

    info: Final = ProviderInfo(
        name="sim",
        summary="built-in deterministic market simulator with fault injection",
        capabilities=frozenset(
            {
                Capability.REALTIME_TRADES,
                Capability.REALTIME_QUOTES,
                Capability.REALTIME_DEPTH,
                Capability.FAULT_INJECTION,
            }
        ),
        options=(
            OptionSpec("seed", "random seed; the same seed, symbols and --start give identical output (default 0)"),
            OptionSpec("rate", "events per second paced in real time, or 'max' (the default: as fast as possible)"),
            OptionSpec("faults", "comma-separated faults to inject (see mdc-capture(1))"),
            OptionSpec("fault-rate", "probability per event of each enabled fault (default 0.01)"),
            OptionSpec("start", "simulated start time, ISO-8601 (default: now)"),
            OptionSpec("depth-model", "'level' (price-level set/delete) or 'position' (insert/update/delete)"),
            OptionSpec("depth-levels", "book levels per side (default 10)"),
            OptionSpec(
                "snapshot-every",
                "a snapshot every N depth changes per symbol (default 100; 0 = only the one each symbol starts with)",
            ),
        ),
        symbol_types=("any",),
    )

    async def capture(self, request: CaptureRequest, emit: Emit, context: CaptureContext | None = None) -> None:
        """Generate events until ``max_events`` or cancellation.

        Raises:
            ProviderError: an option has a bad value (exit 2).
        """
        options = request.options
        rate = _rate(options.get("rate", "max"))
        start_ns = _start(options.get("start"), request.start_ns)
        config = SimConfig(
            symbols=request.symbols,
            mean_interval_ns=FLAT_OUT_INTERVAL_NS if rate is None else max(1, round(NS_PER_SECOND / rate)),
            depth_levels=_integer(options, "depth-levels", 10, 1, 100),
            depth_model="position"
            if _choice(options, "depth-model", "level", ("level", "position")) == "position"
            else "level",
            faults=_faults(options.get("faults", "")),
            fault_rate=_probability(options.get("fault-rate", "0.01")),
            snapshot_every=_integer(options, "snapshot-every", 100, 0, 10**9),
        )
        rng = random.Random(_integer(options, "seed", 0, -(2**63), 2**63))
        state = start(config, start_ns, rng)
        remaining = request.max_events if request.max_events is not None else math.inf
        began = trio.current_time()
        sent = 0
        while remaining > 0:
            if rate is None:
                count = int(min(FLAT_OUT_BATCH, remaining))
            else:
                due = int((trio.current_time() - began) * rate) + 1 - sent
                if due <= 0:
                    await trio.sleep_until(began + (sent + 1) / rate)
                    continue
                count = int(min(due, remaining, max(1, rate * PACING_TICK_S * 4)))
            state, items = generate(state, rng, count)
            await emit(items)
            sent += count
            remaining -= count
            await trio.lowlevel.checkpoint()


provider: Final = SimProvider()


def _fail(message: str) -> ProviderError:
    return ProviderError(f"sim: {message}", EXIT_USAGE)


def _rate(text: str) -> float | None:
    if text == "max":
        return None
    try:
        rate = float(text)
    except ValueError:
        raise _fail(f"--rate must be a number of events per second or 'max' (got {text!r})") from None
    if not (rate > 0 and math.isfinite(rate)):
        raise _fail(f"--rate must be > 0 (got {text!r})")
    return rate


def _start(text: str | None, now_ns: int) -> int:
    if text is None:
        return now_ns
    result = canonical(text)
    if isinstance(result, Failure):
        raise _fail(f"--start {result.failure()} (got {text!r})")
    return to_ns(result.unwrap())


def _faults(text: str) -> frozenset[str]:
    result = parse_faults(text)
    if isinstance(result, Failure):
        raise _fail(result.failure())
    return result.unwrap()


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise _fail(f"--fault-rate must be a probability between 0 and 1 (got {text!r})")
    return value


def _integer(options: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = options.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise _fail(f"--{name} must be an integer (got {text!r})") from None
    if not low <= value <= high:
        raise _fail(f"--{name} must be between {low} and {high} (got {value})")
    return value


def _choice(options: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = options.get(name, default)
    if value not in choices:
        raise _fail(f"--{name} must be one of {', '.join(choices)} (got {value!r})")
    return value
