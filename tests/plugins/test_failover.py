"""``mdc-capture alpaca,polygon``: failover between two real plugins, each against its local server.

Each provider gets its own URL with ``-o NAME.url=...`` (or its table in the
config file); Alpaca starts down, Polygon carries the capture, and Alpaca
takes over again once its server answers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POLYGON_SCRIPT = REPO / "tests" / "plugins" / "polygon" / "fixtures" / "session.json"
FAST = ["--backoff-cap", "0.2", "--idle-timeout", "2", "--breaker-failures", "2", "--breaker-cooldown", "0.5"]
CREDENTIALS = {
    "APCA_API_KEY_ID": "mdc-test-key",
    "APCA_API_SECRET_KEY": "mdc-test-secret",
    "POLYGON_API_KEY": "mdc-test-polygon-key",
}

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(module: str, tmp_path: Path, *options: str) -> Iterator[str]:
    """Run ``python -m tests.servers.MODULE`` until the block ends; yields the URL it prints."""
    out = tmp_path / f"{module}-{time.monotonic_ns()}.out"
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", f"tests.servers.{module}", *options],
            cwd=REPO,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
        )
    try:
        _wait_for(lambda: out.read_text().strip(), what=f"the {module} server's URL")
        yield out.read_text().splitlines()[0].strip()
    finally:
        process.kill()
        process.wait()


def _wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _events(path: Path) -> list[dict[str, object]]:
    lines = path.read_bytes().split(b"\n")
    return [json.loads(line) for line in lines[:-1]]  # the last may be half written


@pytest.mark.parametrize("given", ["options", "config"])
def test_alpaca_down_polygon_takes_over_and_alpaca_takes_back(tmp_path: Path, given: str) -> None:
    """While Alpaca is down Polygon's events flow; once Alpaca answers, its events return, every event
    keeping the provider and stream it came from; each provider's URL from -o NAME.url or its config table."""
    alpaca_port = _free_port()
    stdout, stderr = tmp_path / "out.ndjson", tmp_path / "err.txt"
    with _server("polygon", tmp_path, "--port", "0", "--script", str(POLYGON_SCRIPT)) as polygon_url:
        alpaca_url = f"ws://127.0.0.1:{alpaca_port}/v2/iex"
        if given == "options":
            where = [
                "alpaca,polygon",
                "SPY",
                "AAPL",
                "-o",
                f"alpaca.url={alpaca_url}",
                "-o",
                f"polygon.url={polygon_url}",
            ]
        else:
            config = tmp_path / "mdc.toml"
            config.write_text(
                '[capture]\nproviders = ["alpaca", "polygon"]\nsymbols = ["SPY", "AAPL"]\n'
                f'[providers.alpaca]\nurl = "{alpaca_url}"\nfeed = "iex"\n'
                f'[providers.polygon]\nurl = "{polygon_url}"\n'
            )
            where = ["--config", str(config)]
        argv = [str(BIN / "mdc-capture"), *where, *FAST]
        with stdout.open("wb") as out, stderr.open("wb") as err:
            capture = subprocess.Popen(argv, stdout=out, stderr=err, env=os.environ | CREDENTIALS)
        try:
            _wait_for(lambda: any(e["provider"] == "polygon" for e in _events(stdout)), what="polygon's events")
            assert "failing over to polygon" in stderr.read_text()
            with _server("alpaca", tmp_path, "--port", str(alpaca_port), "--messages", "-1", "--interval", "0.01"):
                _wait_for(lambda: _events(stdout)[-1]["provider"] == "alpaca", what="alpaca to take over again")
                capture.send_signal(signal.SIGINT)
                assert capture.wait(timeout=20) == 130
        finally:
            if capture.poll() is None:
                capture.kill()
                capture.wait()
    events = _events(stdout)
    providers = [event["provider"] for event in events]
    first_alpaca = providers.index("alpaca")
    assert first_alpaca > 0
    assert set(providers[:first_alpaca]) == {"polygon"}
    assert {event["stream"] for event in events if event["provider"] == "polygon"} <= {
        "polygon.stocks",
        "polygon.stocks.status",
    }
    assert {event["stream"] for event in events if event["provider"] == "alpaca"} == {"alpaca.iex"}
    assert "recovered; failing back" in stderr.read_text()


def test_an_option_for_a_provider_not_in_the_list_is_a_usage_error() -> None:
    """-o NAME.KEY=VALUE names one of the providers given; anything else exits 2 and says which exist."""
    result = subprocess.run(
        [str(BIN / "mdc-capture"), "alpaca,polygon", "SPY", "-o", "ib.port=4002"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | CREDENTIALS,
    )
    assert result.returncode == 2
    assert "'ib' is not one of the providers (alpaca, polygon)" in result.stderr


def test_an_option_a_provider_does_not_take_is_refused_even_among_several() -> None:
    """Shared options a provider lacks are left out for it, but one addressed to it must be its own."""
    result = subprocess.run(
        [str(BIN / "mdc-capture"), "alpaca,polygon", "SPY", "-o", "polygon.market-data=delayed"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | CREDENTIALS,
    )
    assert result.returncode == 2
    assert "provider 'polygon' does not take -o market-data" in result.stderr
