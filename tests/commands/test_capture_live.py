"""mdc-capture with a live WebSocket provider: reconnects, failover, backpressure, stale symbols, reloads, secrets.

The provider is the plugin template (examples/plugin-template), installed as a
third-party package would be, against its reference server over real sockets;
a fault proxy (tests/servers/proxy.py) freezes or cuts connections. The
provider-specific behaviour of Alpaca, Polygon and IB is tested with their plugins.
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
from typing import Any

import pytest

from tests.servers.proxy import FaultProxy

BIN = Path(sys.executable).parent
TOKEN = "tok-5b0e1c9d-DO-NOT-PRINT"  # noqa: S105 - a made-up secret the tests look for in every output
FAST = ["--backoff-cap", "0.2", "--idle-timeout", "1", "--breaker-cooldown", "0.5"]

pytestmark = pytest.mark.slow


class Server:
    """The template's reference server, in a subprocess."""

    def __init__(self, url: str, log: Path, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
        self.log_path = log
        self.process = process

    def log(self) -> list[dict[str, Any]]:
        """Every client request so far."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    def requests(self, what: str) -> list[dict[str, Any]]:
        """The logged requests of one kind."""
        return [entry for entry in self.log() if entry["what"] == what]


@contextmanager
def server(env: dict[str, str], tmp_path: Path, *options: str, port: int = 0) -> Iterator[Server]:
    """Run the reference server with ``options`` (token TOKEN) until the block ends."""
    log = tmp_path / f"server-{time.monotonic_ns()}.log"
    argv = [
        sys.executable,
        "-m",
        "mdc_provider_example.server",
        "--token",
        TOKEN,
        "--port",
        str(port),
        "--log",
        str(log),
    ]
    with subprocess.Popen([*argv, *options], stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            yield Server(process.stdout.readline().strip(), log, process)
        finally:
            process.kill()


class Capture:
    """mdc-capture running in the background, its stdout and stderr going to files."""

    def __init__(self, argv: list[str], env: dict[str, str], tmp_path: Path) -> None:
        self.out = tmp_path / f"out-{time.monotonic_ns()}.ndjson"
        self.err = self.out.with_suffix(".err")
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.process = subprocess.Popen([BIN / "mdc-capture", *argv], stdout=out, stderr=err, env=env)

    def events(self) -> list[dict[str, Any]]:
        """The complete lines written so far."""
        text = self.out.read_text()
        return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]

    def stderr(self) -> str:
        """What was written to stderr so far."""
        return self.err.read_text()

    def wait(self, timeout: float = 60) -> int:
        """Wait for the exit status."""
        return self.process.wait(timeout)

    def stop(self) -> int:
        """Interrupt it and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(30)


@pytest.fixture
def capture(example_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Capture]]:
    """Start mdc-capture runs (killed at the end of the test if still running)."""
    started: list[Capture] = []

    def start(*argv: str, env: dict[str, str] | None = None) -> Capture:
        run = Capture(list(argv), env or {**example_env, "EXAMPLE_TOKEN": TOKEN}, tmp_path)
        started.append(run)
        return run

    yield start
    for run in started:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


def wait_for(condition: Callable[[], object], timeout: float = 20.0, what: str = "the condition") -> None:
    """Poll until ``condition()`` is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    """A port nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run(argv: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run mdc-capture to the end."""
    return subprocess.run(
        [BIN / "mdc-capture", *argv], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


# --------------------------------------------------------------------------- registry


def test_the_installed_template_is_listed_with_its_distribution(example_env: dict[str, str]) -> None:
    """A third-party plugin shows up in --list-providers once installed, with its capabilities and credentials."""
    result = run(["--list-providers"], example_env)
    assert result.returncode == 0
    block = result.stdout.split("example", 1)[1].split("\nsim ", 1)[0]
    assert "mdc-provider-example 0.1.0" in block
    assert "capabilities: realtime-quotes, realtime-trades" in block
    assert "credentials: EXAMPLE_TOKEN" in block


def test_the_listing_shows_how_to_give_each_option(example_env: dict[str, str]) -> None:
    """Options mdc-capture has a flag for are listed as --NAME, the others as -o NAME= (as they are given)."""
    listing = run(["--list-providers"], example_env).stdout
    ib = listing.split("\nib ", 1)[1].split("\npolygon ", 1)[0]
    assert "-o port=: its API port" in ib
    assert "--port" not in ib
    assert "--url: tws://HOST:PORT" in ib
    result = run(["ib", "SPY", "-o", "port=notaport", "--max-events", "1"], example_env)
    assert result.returncode == 2
    assert "port" in result.stderr


def test_the_templates_own_tests_pass(example_env: dict[str, str]) -> None:
    """The template ships tests a plugin author runs; they pass against the installed template."""
    tests = Path(__file__).resolve().parents[2] / "examples" / "plugin-template" / "tests"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(tests)],
        capture_output=True,
        text=True,
        env=example_env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------- credentials


def test_refused_credentials_exit_77_before_any_event(example_env: dict[str, str], tmp_path: Path) -> None:
    """The handshake validates the token: a wrong one ends the run with 77, no event, and no retry."""
    with server(example_env, tmp_path) as feed:
        result = run(["example", "SPY", "--url", feed.url], {**example_env, "EXAMPLE_TOKEN": "wrong-" + TOKEN})
        assert result.returncode == 77
        assert result.stdout == ""
        assert "example: authentication failed (code auth_failed)" in result.stderr
        assert TOKEN not in result.stderr
        assert [entry["ok"] for entry in feed.requests("auth")] == [False]
        assert feed.requests("subscribe") == []


def test_missing_credentials_exit_77_naming_the_variable(example_env: dict[str, str]) -> None:
    """Without EXAMPLE_TOKEN anywhere, the message says where a token is looked for."""
    env = {key: value for key, value in example_env.items() if key != "EXAMPLE_TOKEN"}
    result = run(["example", "SPY", "--url", "ws://127.0.0.1:9/feed"], env)
    assert result.returncode == 77
    assert "EXAMPLE_TOKEN" in result.stderr


def test_a_known_secret_never_appears_in_any_output(
    example_env: dict[str, str], tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    """The token is in no line of stdout, stderr or the status file: not on success, reconnects, rejects or errors."""
    config = tmp_path / "mdc.toml"
    config.write_text(f'[providers.example]\ntoken = "{TOKEN}"\ncredentials_expire = 2020-01-01\n')
    config.chmod(0o644)
    status = tmp_path / "status.json"
    env = {key: value for key, value in example_env.items() if key != "EXAMPLE_TOKEN"}
    with server(example_env, tmp_path, "--close-after", "40", "--garbage-every", "7") as feed:
        run_ = capture(
            "example", "SPY", "--url", feed.url, "--config", str(config), "--status-file", str(status), *FAST, env=env
        )
        wait_for(lambda: len(feed.requests("auth")) >= 2 and len(run_.events()) > 60, what="a reconnect")
        wait_for(status.exists, what="the status file")
        assert run_.stop() == 130
    gone = ["--retries", "0", "--breaker-failures", "1", "--backoff-cap", "0.1"]  # the server is gone now
    refused = run(["example", "SPY", "--url", feed.url, "--config", str(config), *gone], env)
    outputs = {"stdout": run_.out.read_text(), "stderr": run_.stderr(), "status": status.read_text()}
    outputs["refused"] = refused.stdout + refused.stderr
    assert "can be read by other users" in outputs["stderr"]
    assert "credentials expired on 2020-01-01" in outputs["stderr"]
    assert {name: TOKEN in text for name, text in outputs.items()} == dict.fromkeys(outputs, False)


# --------------------------------------------------------------------------- resilience


def test_a_closed_connection_is_reconnected_and_every_symbol_resubscribed(
    example_env: dict[str, str], tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    """After the server closes twice, each new connection authenticates and subscribes SPY and AAPL again."""
    with server(example_env, tmp_path, "--close-after", "30", "--close-times", "2") as feed:
        run_ = capture("example", "SPY", "AAPL", "--url", feed.url, "--max-events", "200", *FAST)
        assert run_.wait() == 0
        subscriptions = feed.requests("subscribe")
    assert len(run_.events()) == 200
    assert [entry["connection"] for entry in feed.requests("auth")] == [1, 2, 3]
    assert [sorted(entry["symbols"]) for entry in subscriptions] == [["AAPL", "SPY"]] * 3
    assert run_.stderr().count("example: disconnected (closed by the server (code 1011, server going away))") == 2


def test_a_silent_connection_is_dropped_after_the_idle_timeout(
    example_env: dict[str, str], tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    """A connection that stops answering pings is given up after --idle-timeout and a new one is made."""
    with server(example_env, tmp_path, "--rate", "20") as feed, FaultProxy(feed.port) as proxy:
        run_ = capture("example", "SPY", "--url", f"ws://127.0.0.1:{proxy.port}/feed", *FAST, "--idle-timeout", "0.6")
        wait_for(lambda: len(run_.events()) >= 5, what="events")
        proxy.freeze()
        began = time.monotonic()
        wait_for(lambda: "silent connection" in run_.stderr(), what="the silent connection to be noticed")
        noticed = time.monotonic() - began
        proxy.thaw()
        wait_for(lambda: len(feed.requests("auth")) == 2, what="a second connection")
        count = len(run_.events())
        wait_for(lambda: len(run_.events()) > count + 5, what="events after the reconnect")
        assert run_.stop() == 130
    assert 0.4 < noticed < 5
    assert proxy.connections == 2


def test_an_abruptly_cut_connection_is_reconnected(
    example_env: dict[str, str], tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    """A TCP connection cut without a WebSocket close is noticed and replaced."""
    with server(example_env, tmp_path, "--rate", "50") as feed, FaultProxy(feed.port) as proxy:
        run_ = capture("example", "SPY", "--url", f"ws://127.0.0.1:{proxy.port}/feed", *FAST)
        wait_for(lambda: len(run_.events()) >= 5, what="events")
        proxy.cut()
        wait_for(lambda: len(feed.requests("subscribe")) == 2, what="a resubscription")
        assert run_.stop() == 130
    assert "example: disconnected" in run_.stderr()


def test_fails_over_to_the_next_provider_and_back_when_the_first_recovers(
    example_env: dict[str, str], tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    """example,sim: while example is down sim's events flow; once example answers again its events return."""
    port = free_port()
    status = tmp_path / "status.json"
    argv = ["example,sim", "SPY", "--url", f"ws://127.0.0.1:{port}/feed", "--rate", "200", "--status-file", str(status)]
    run_ = capture(*argv, *FAST, "--breaker-failures", "2")
    wait_for(lambda: any(event["provider"] == "sim" for event in run_.events()), what="sim to take over")
    assert "failing over to sim" in run_.stderr()
    with server(example_env, tmp_path, "--rate", "50", port=port):
        wait_for(lambda: run_.events()[-1]["provider"] == "example", what="example to take over again")
        wait_for(
            lambda: status.exists() and json.loads(status.read_text())["active"] == "example",
            what="the status to say so",
        )
        assert run_.stop() == 130
    providers = [event["provider"] for event in run_.events()]
    first_example = providers.index("example")
    assert set(providers[:first_example]) == {"sim"}
    assert {event["stream"] for event in run_.events() if event["provider"] == "example"} == {"example.live"}
    assert "recovered; failing back" in run_.stderr()


def test_a_single_provider_gives_up_with_69_after_its_retries(example_env: dict[str, str]) -> None:
    """With nothing listening and --retries 1, the breaker opens twice and the run ends with 69."""
    argv = ["example", "SPY", "--url", f"ws://127.0.0.1:{free_port()}/feed", *FAST, "--breaker-failures", "2"]
    result = run([*argv, "--retries", "1", "--breaker-cooldown", "0.1"], {**example_env, "EXAMPLE_TOKEN": TOKEN})
    assert result.returncode == 69
    assert "example: down after 2 failed attempts" in result.stderr


def test_too_many_connections_is_retried(example_env: dict[str, str], tmp_path: Path) -> None:
    """A connection-limit error is not fatal: the next attempt gets in."""
    with server(example_env, tmp_path, "--busy", "2") as feed:
        result = run(
            ["example", "SPY", "--url", feed.url, "--max-events", "10", *FAST], example_env | {"EXAMPLE_TOKEN": TOKEN}
        )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 10
    assert result.stderr.count("server error: too many connections (code busy)") == 2


def test_a_symbol_limit_exits_2(example_env: dict[str, str], tmp_path: Path) -> None:
    """More symbols than the plan allows is a usage error that retrying cannot fix."""
    with server(example_env, tmp_path, "--symbol-limit", "1") as feed:
        result = run(["example", "SPY", "AAPL", "--url", feed.url, *FAST], example_env | {"EXAMPLE_TOKEN": TOKEN})
    assert result.returncode == 2
    assert "symbol limit exceeded" in result.stderr


def test_garbage_messages_are_rejected_on_stderr_and_capture_goes_on(
    example_env: dict[str, str], tmp_path: Path
) -> None:
    """Each unparseable message is one stderr line with the raw message; the events around it are kept."""
    with server(example_env, tmp_path, "--garbage-every", "10", "--rate", "0") as feed:
        result = run(
            ["example", "SPY", "--url", feed.url, "--max-events", "50"], example_env | {"EXAMPLE_TOKEN": TOKEN}
        )
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 50
    rejects = [line for line in result.stderr.splitlines() if "rejected message" in line]
    assert len(rejects) >= 4
    assert all(line.endswith("<html>502 Bad Gateway</html>") for line in rejects)


# --------------------------------------------------------------------------- stale symbols and reloads


def test_a_silent_symbol_in_session_is_resubscribed_and_reported(
    example_env: dict[str, str], tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    """AAPL never ticks while SPY does: AAPL alone is resubscribed and gets an integrity stale event."""
    config = tmp_path / "mdc.toml"
    config.write_text('[symbols.SPY]\nsession = "always"\n[symbols.AAPL]\nsession = "always"\n')
    with server(example_env, tmp_path, "--mute", "AAPL", "--rate", "50") as feed:
        run_ = capture("example", "SPY", "AAPL", "--url", feed.url, "--config", str(config), "--stale-after", "0.5")
        wait_for(lambda: any(event["type"] == "integrity" for event in run_.events()), what="a stale event")
        wait_for(lambda: len(feed.requests("subscribe")) >= 2, what="the resubscription")
        assert run_.stop() == 130
        log = feed.log()
    stale = [event for event in run_.events() if event["type"] == "integrity"]
    assert {(event["symbol"], event["kind"], event["provider"]) for event in stale} == {("AAPL", "stale", "example")}
    requests = [(entry["what"], entry.get("symbols")) for entry in log if entry["what"] != "auth"]
    assert requests[:3] == [("subscribe", ["AAPL", "SPY"]), ("unsubscribe", ["AAPL"]), ("subscribe", ["AAPL"])]
    assert {entry["connection"] for entry in log} == {1}


def test_a_silent_symbol_outside_its_session_is_left_alone(
    example_env: dict[str, str], tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    """A market that is closed is not stale: no resubscription, no integrity event."""
    config = tmp_path / "mdc.toml"
    config.write_text('[symbols.AAPL]\nsession = "00:00-00:00 UTC"\n[symbols.SPY]\nsession = "always"\n')
    with server(example_env, tmp_path, "--mute", "AAPL", "--rate", "50") as feed:
        run_ = capture("example", "SPY", "AAPL", "--url", feed.url, "--config", str(config), "--stale-after", "0.3")
        wait_for(lambda: len(run_.events()) > 100, what="events")
        time.sleep(1.0)
        assert run_.stop() == 130
        assert len(feed.requests("subscribe")) == 1
    assert [event for event in run_.events() if event["type"] == "integrity"] == []


def test_sighup_and_config_edits_change_subscriptions_without_reconnecting(
    example_env: dict[str, str], tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    """Adding AAPL then removing SPY in mdc.toml subscribes and unsubscribes on the same connection."""
    config = tmp_path / "mdc.toml"
    config.write_text('[capture]\nproviders = ["example"]\nsymbols = ["SPY"]\n')
    with server(example_env, tmp_path, "--rate", "50") as feed:
        run_ = capture("--config", str(config), "--url", feed.url)
        wait_for(lambda: len(run_.events()) >= 5, what="SPY events")
        config.write_text('[capture]\nproviders = ["example"]\nsymbols = ["SPY", "AAPL"]\n')
        run_.process.send_signal(signal.SIGHUP)
        wait_for(lambda: any(event["symbol"] == "AAPL" for event in run_.events()), what="AAPL events")
        config.write_text('[capture]\nproviders = ["example"]\nsymbols = ["AAPL"]\n')
        os.utime(config, (time.time() + 5, time.time() + 5))  # a different mtime even on coarse clocks
        wait_for(lambda: len(feed.requests("unsubscribe")) == 1, timeout=10, what="the file change to be seen")
        count = len(run_.events())
        wait_for(lambda: len(run_.events()) > count + 20, what="more events")
        assert run_.stop() == 130
        log = feed.log()
    requests = [(entry["what"], entry.get("symbols")) for entry in log if "subscribe" in entry["what"]]
    assert requests == [("subscribe", ["SPY"]), ("subscribe", ["AAPL"]), ("unsubscribe", ["SPY"])]
    assert {entry["connection"] for entry in log} == {1}
    assert {event["symbol"] for event in run_.events()[count + 5 :]} == {"AAPL"}
    assert "config reloaded: subscribing ['AAPL']" in run_.stderr()


# --------------------------------------------------------------------------- backpressure and status


def test_block_loses_nothing_behind_a_slow_reader(example_env: dict[str, str], tmp_path: Path) -> None:
    """--backpressure block with a tiny queue: every sequence number arrives, in order, none dropped."""
    with server(example_env, tmp_path, "--rate", "0") as feed:
        argv = [BIN / "mdc-capture", "example", "SPY", "--url", feed.url, "--queue", "10", "--max-events", "3000"]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, env=example_env | {"EXAMPLE_TOKEN": TOKEN}) as process:
            assert process.stdout is not None
            lines = []
            while line := process.stdout.readline():
                lines.append(json.loads(line))
                if len(lines) % 500 == 0:
                    time.sleep(0.2)  # a slow consumer
            assert process.wait(30) == 0
    seqs = [event["seq"] for event in lines if event["type"] == "trade"]
    assert len(lines) == 3000
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert [event for event in lines if event["type"] == "integrity"] == []


def test_drop_oldest_counts_drops_as_integrity_events(example_env: dict[str, str], tmp_path: Path) -> None:
    """--backpressure drop-oldest behind a stalled reader: drops are reported per symbol and in the status file."""
    status = tmp_path / "status.json"
    with server(example_env, tmp_path, "--rate", "0") as feed:
        argv = [BIN / "mdc-capture", "example", "SPY", "--url", feed.url, "--queue", "100"]
        argv += ["--backpressure", "drop-oldest", "--status-file", str(status), "--max-events", "20000"]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, env=example_env | {"EXAMPLE_TOKEN": TOKEN}) as process:
            assert process.stdout is not None
            first = process.stdout.readline()
            time.sleep(1.5)  # the reader stalls; the pipe and the queue fill
            lines = [json.loads(first), *(json.loads(line) for line in process.stdout)]
            assert process.wait(30) == 0
    dropped = [event for event in lines if event["type"] == "integrity"]
    assert dropped
    assert {(event["kind"], event["symbol"], event["provider"], event["stream"]) for event in dropped} == {
        ("dropped", "SPY", "example", "example.live")
    }
    assert json.loads(status.read_text())["dropped"] == sum(event["received"] for event in dropped)


def test_the_status_file_says_what_is_going_on(
    example_env: dict[str, str], tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    """The status file is whole JSON whenever read, and tells state, symbols, events and rate."""
    status = tmp_path / "status.json"
    with server(example_env, tmp_path, "--rate", "100") as feed:
        run_ = capture("example", "SPY", "AAPL", "--url", feed.url, "--status-file", str(status))
        wait_for(lambda: status.exists() and json.loads(status.read_text())["events"] > 50, what="a status")
        readings = [json.loads(status.read_text()) for _ in range(200)]  # never half a file
        assert run_.stop() == 130
    last = readings[-1]
    assert last["active"] == "example"
    assert last["symbols"] == ["AAPL", "SPY"]
    assert last["providers"]["example"]["state"] in {"authenticated", "subscribed"}
    assert last["events_per_s"] > 0
    assert last["dropped"] == 0
