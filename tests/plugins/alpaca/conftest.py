"""Fixtures: the local Alpaca server in a subprocess, and mdc-capture run against it as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.plugins.alpaca._support import BIN, FAST, REPO, SECRET, Server, environment

SERVER = [sys.executable, "-m", "tests.servers.alpaca", "--port", "0"]


@pytest.fixture
def alpaca_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``alpaca_server(*arguments)`` starts ``python -m tests.servers.alpaca --port 0 ...``; stopped afterwards."""
    processes: list[subprocess.Popen[str]] = []

    def start(*arguments: str) -> Server:
        log = tmp_path / f"server-{len(processes)}.jsonl"
        with (tmp_path / f"server-{len(processes)}.err").open("w") as errors:
            process = subprocess.Popen(
                [*SERVER, "--secret", SECRET, "--log", str(log), *arguments],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
        processes.append(process)
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("ws://127.0.0.1:"), url
        return Server(url, log, process)

    yield start
    for process in processes:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def capture(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``capture(*arguments, secret=...)`` runs the real ``mdc-capture alpaca ...`` with a status file.

    The result carries the status file's JSON as ``status``; the secret key is
    checked to be absent from stdout, stderr and the status file of every run.
    """

    def run(*arguments: str, secret: str = SECRET, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        status = tmp_path / "status.json"
        result = subprocess.run(
            [str(BIN / "mdc-capture"), "alpaca", *arguments, "--status-file", str(status), *FAST],
            env=environment(secret),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result.status = json.loads(status.read_text()) if status.exists() else {}  # type: ignore[attr-defined]
        for output in (result.stdout, result.stderr, status.read_text() if status.exists() else ""):
            assert SECRET not in output
        return result

    return run
