"""mdc-book as a real process in real pipes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mdc_commands.book import _summary as book_summary

from mdc.core.book import BookState, Emission
from mdc.core.book_lines import BookRun, book_frames_generally
from mdc.core.codec import decode_line
from mdc.core.framing import Framer, feed, finish
from mdc.core.pipeline import encode_reject
from mdc.core.validate import Policy

BIN = Path(sys.executable).parent
SIM = "mdc-capture sim SPY AAPL --seed 3 --start 2026-01-05T14:30:00Z --max-events 20000"


def shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_the_acceptance_pipeline_ends_quietly_under_head(tmp_path: Path) -> None:
    """sim | jq depth | mdc-book --levels 10 --on-change | head: mdc-book exits 0, ten lines out, no noise."""
    result = shell(
        "set +o pipefail; mdc-capture sim SPY --seed 2 --max-events 20000 | jq -c 'select(.type==\"depth\")'"
        ' | mdc-book --levels 10 --on-change | head; echo "mdc-book exit ${PIPESTATUS[2]}" >&2',
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "mdc-book exit 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Broken pipe" not in result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 10
    events = [decode_line(line.encode()).unwrap() for line in lines]
    assert {event.TYPE for event in events} == {"quote", "snapshot"}
    assert all(event.stream == "sim.depth" for event in events)


@pytest.mark.parametrize("model", ["level", "position"])
def test_the_rebuilt_book_matches_every_snapshot_the_sim_wrote(model: str, tmp_path: Path) -> None:
    """Depth alone through mdc-book --every 1: each sim snapshot line appears in the output, byte for byte."""
    result = shell(
        f"{SIM} --depth-model {model} > sim.ndjson"
        ' && grep \'"type":"snapshot"\' sim.ndjson > expected.ndjson'
        ' && grep \'"type":"depth"\' sim.ndjson | mdc-book -q --every 1 --levels 10 > rebuilt.ndjson',
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    expected = (tmp_path / "expected.ndjson").read_text().splitlines()
    rebuilt = set((tmp_path / "rebuilt.ndjson").read_text().splitlines())
    assert len(expected) > 100
    assert [line for line in expected if line not in rebuilt] == []


def test_on_change_and_every_are_exclusive(tmp_path: Path) -> None:
    """A usage error, exit 2, naming both options."""
    result = shell("mdc-book --on-change --every 5 < /dev/null", tmp_path)
    assert result.returncode == 2
    assert "--on-change cannot be combined with --every" in result.stderr


def test_mdc_book_runs_git_style(tmp_path: Path) -> None:
    """`mdc book` is mdc-book; other event types are counted and ignored."""
    result = shell(f"{SIM} | mdc book --every 1000 > out.ndjson", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "other events ignored" in result.stderr
    assert "rejected 0" in result.stderr


@pytest.mark.parametrize("model", ["level", "position"])
def test_mdc_book_writes_what_the_general_path_writes(model: str, tmp_path: Path) -> None:
    """A sim stream with every fault: stdout, the reject file and the summary are the general path's, byte for byte."""
    result = shell(
        f"{SIM} --faults all --depth-model {model} > sim.ndjson"
        " && mdc-book --every 7 --levels 3 --rejects rejects.ndjson < sim.ndjson > out.ndjson",
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = (tmp_path / "sim.ndjson").read_bytes()
    framer, frames = feed(Framer(), data)
    frames += finish(framer)
    general, output, rejects = book_frames_generally(
        BookRun(BookState(Emission(levels=3, every=7))), frames, Policy(max_skew_ns=2**62)
    )
    assert rejects, "the faults should make some rejects"
    assert (tmp_path / "out.ndjson").read_bytes() == output
    assert (tmp_path / "rejects.ndjson").read_bytes() == b"".join(encode_reject(reject) + b"\n" for reject in rejects)
    assert result.stderr == f"mdc-book: {book_summary(general)}\n"
