"""The local Polygon server (tests/servers/polygon.py) and mdc-capture, as real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from attrs import frozen

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
SCRIPT = REPO / "tests" / "plugins" / "polygon" / "fixtures" / "session.json"
KEY = "pk-e2e-3b1f6c0d9a"


@frozen
class Server:
    """A running local Polygon server.

    Attributes:
        url: where it listens.
        log: its stderr, a file (read it after the capture).
    """

    url: str
    log: Path

    def said(self) -> str:
        """What the server logged so far."""
        return self.log.read_text()


def environment(**extra: str) -> dict[str, str]:
    """The test's environment without any real Polygon key or keyring, plus ``extra``."""
    clean = {name: value for name, value in os.environ.items() if name not in {"POLYGON_API_KEY", "MASSIVE_API_KEY"}}
    return {**clean, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", **extra}


@contextmanager
def running_server(tmp_path: Path, *args: str) -> Iterator[Server]:
    """Start ``python -m tests.servers.polygon --port 0 ARGS...``; its first stdout line is the URL."""
    log = tmp_path / f"server-{len(list(tmp_path.glob('server-*')))}.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.polygon", "--port", "0", "--script", str(SCRIPT), *args],
            cwd=REPO,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("ws://127.0.0.1:"), log.read_text()
        yield Server(url, log)
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


ServerFactory = Callable[..., AbstractContextManager[Server]]


@pytest.fixture
def polygon_server(tmp_path: Path) -> ServerFactory:
    """``with polygon_server("--scenario", "silent") as server:`` runs the local server for the block."""

    def start(*args: str) -> AbstractContextManager[Server]:
        return running_server(tmp_path, *args)

    return start


def run_capture(
    url: str, *args: str, key: str | None = KEY, timeout: float = 30, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the real ``mdc-capture polygon SPY AAPL --url URL ARGS...`` (quick backoff) to completion."""
    extra = dict(env) if key is None else {"POLYGON_API_KEY": key, **env}
    return subprocess.run(
        [str(BIN / "mdc-capture"), "polygon", "SPY", "AAPL", "--url", url, "--backoff-cap", "0.1", *args],
        env=environment(**extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_validate(lines: str) -> subprocess.CompletedProcess[str]:
    """Run ``mdc-validate`` over captured lines."""
    return subprocess.run(
        [str(BIN / "mdc-validate")], input=lines, capture_output=True, text=True, timeout=30, check=False
    )


@pytest.fixture
def capture() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``capture(url, *args, key=KEY, timeout=30, **env)`` runs mdc-capture polygon SPY AAPL against ``url``."""
    return run_capture


@pytest.fixture
def validate() -> Callable[[str], subprocess.CompletedProcess[str]]:
    """``validate(lines)`` runs mdc-validate over them."""
    return run_validate


@pytest.fixture
def api_key() -> str:
    """The key mdc-capture is given (POLYGON_API_KEY) unless a test says otherwise."""
    return KEY


@pytest.fixture
def clean_environment() -> Callable[..., dict[str, str]]:
    """``clean_environment(**extra)``: the environment mdc-capture runs in (no real key, no keyring)."""
    return environment
