"""What the Alpaca tests share: the credentials, the session fixture, the local server and capture runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SESSION = FIXTURES / "session.json"
KEY = "mdc-test-key"
SECRET = "sec-4f1c2a9e-DO-NOT-PRINT"  # noqa: S105 - a made-up secret the tests look for in every output
FAST = ["--backoff-cap", "0.2", "--idle-timeout", "1", "--breaker-cooldown", "0.2"]
SESSION_SYMBOLS = ["AAPL", "AMD", "SPY", "EEM", "GOOGL", "IONM"]
SESSION_EVENTS = 18
"""The events session.json holds (each of its messages is for one of SESSION_SYMBOLS)."""


class Server:
    """The local server: its URL (the IEX feed's), its JSON-lines log, the process."""

    def __init__(self, url: str, log_path: Path, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.base = url.removesuffix("/v2/iex")
        self.log_path = log_path
        self.process = process

    def log(self, event: str | None = None) -> list[dict[str, Any]]:
        """What the server logged (of one kind)."""
        if not self.log_path.exists():
            return []
        entries = [json.loads(line) for line in self.log_path.read_text().splitlines()]
        return [entry for entry in entries if event is None or entry["event"] == event]


def environment(secret: str = SECRET, **extra: str) -> dict[str, str]:
    """The caller's environment with the virtualenv first on PATH and Alpaca credentials set."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "APCA_API_KEY_ID": KEY,
        "APCA_API_SECRET_KEY": secret,
        **extra,
    }


def events(stdout: str) -> list[dict[str, Any]]:
    """The NDJSON events of an output."""
    return [json.loads(line) for line in stdout.splitlines()]
