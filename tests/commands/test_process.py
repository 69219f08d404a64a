"""The commands as real processes in real pipes: SIGPIPE, Ctrl-C, SIGTERM, end-to-end pipelines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from mdc.core.codec import decode_line
from mdc.core.schema import json_schema

BIN = Path(sys.executable).parent
SEEDED = ["--seed", "7", "--start", "2026-01-05T14:30:00Z", "--rate", "max"]


def command(name: str, *args: str) -> list[str]:
    return [str(BIN / name), *args]


def shell(script: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        **kwargs,
    )


@pytest.mark.parametrize(
    "pipeline",
    [
        "mdc-capture sim SPY --rate max | head -n 3",
        "mdc-capture sim SPY --rate max --max-events 200000 | mdc-validate | head -n 3",
        "mdc-capture sim SPY --rate max --max-events 200000 | mdc-bars --interval 1s | head -n 1",
        "mdc-capture sim SPY --rate max --max-events 100000 > ev.jsonl && mdc-store --root s < ev.jsonl"
        " && mdc-replay s | head -n 2",
        "mdc capture sim SPY --rate max | mdc validate | head -n 1",
    ],
)
def test_a_closed_downstream_pipe_ends_every_command_quietly(pipeline: str, tmp_path: Path) -> None:
    """`| head` makes each command exit 0 without a Broken pipe message or traceback."""
    result = shell(pipeline, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Broken pipe" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "Exception" not in result.stderr
    assert result.stdout.count("\n") in (1, 2, 3)


def _interrupt(process: subprocess.Popen[bytes], signum: int) -> tuple[bytes, bytes]:
    time.sleep(1.5)
    process.send_signal(signum)
    return process.communicate(timeout=30)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_capture_stops_on_a_signal_with_complete_lines(signum: int, code: int) -> None:
    """Ctrl-C (130) or SIGTERM (143): every line written is whole and decodes."""
    process = subprocess.Popen(
        command("mdc-capture", "sim", "SPY", "--rate", "2000"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = _interrupt(process, signum)
    assert process.returncode == code, err
    assert out.endswith(b"\n")
    lines = out.splitlines()
    assert len(lines) > 100
    assert all(decode_line(line).value_or(None) is not None for line in lines)
    assert b"Traceback" not in err


def test_validate_flushes_what_it_read_before_exiting_on_ctrl_c(tmp_path: Path) -> None:
    """Lines already read from a still-open stdin are written out before exit 130, with the summary."""
    sample = subprocess.run(
        command("mdc-capture", "sim", "SPY", *SEEDED, "--max-events", "500"), capture_output=True, check=True
    ).stdout
    process = subprocess.Popen(
        command("mdc-validate"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None
    process.stdin.write(sample)
    process.stdin.flush()  # stdin stays open: validate is waiting for more when the signal comes
    out, err = _interrupt(process, signal.SIGINT)
    assert process.returncode == 130
    assert out == sample  # every line passed, byte for byte
    assert b"read 500, passed 500" in err


def test_store_keeps_everything_it_read_when_interrupted(tmp_path: Path) -> None:
    """Ctrl-C while stdin is still open: every line already read is in the store, exit 130."""
    sample = subprocess.run(
        command("mdc-capture", "sim", "SPY", *SEEDED, "--max-events", "700"), capture_output=True, check=True
    ).stdout
    root = tmp_path / "store"
    process = subprocess.Popen(
        command("mdc-store", "--root", str(root)), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None
    process.stdin.write(sample)
    process.stdin.flush()
    _, err = _interrupt(process, signal.SIGINT)
    assert process.returncode == 130
    assert b"stored 700" in err
    replayed = subprocess.run(command("mdc-replay", str(root)), capture_output=True, check=True).stdout
    assert sorted(replayed.splitlines()) == sorted(sample.splitlines())


def test_capture_validate_store_replay_keeps_every_event_in_time_order(tmp_path: Path) -> None:
    """The acceptance pipeline: what validate passes is what store keeps and replay returns, ts-ordered."""
    root = tmp_path / "store"
    result = shell(
        f"mdc-capture sim SPY AAPL 'BRK/B' {' '.join(SEEDED)} --max-events 30000 "
        f"| mdc-validate --rejects {tmp_path}/rej.jsonl | tee {tmp_path}/validated.jsonl | mdc-store --root {root}"
    )
    assert result.returncode == 0, result.stderr
    validated = (tmp_path / "validated.jsonl").read_bytes().splitlines()
    replayed = shell(f"mdc-replay {root}").stdout.encode().splitlines()
    assert len(replayed) == len(validated) == 30000
    assert sorted(replayed) == sorted(validated)
    stamps = [json.loads(line)["ts"] for line in replayed]
    assert stamps == sorted(stamps)
    assert (root / "BRK%2FB" / "trade").is_dir()
    assert not (tmp_path / "rej.jsonl").exists()


def test_faults_come_out_as_integrity_events_and_rejects(tmp_path: Path) -> None:
    """The fault acceptance line: gaps, out-of-order, crossed and garbage are all accounted for."""
    result = shell(
        f"mdc-capture sim SPY {' '.join(SEEDED)} --max-events 5000 --faults gap,out_of_order,crossed,garbage "
        f"| mdc-validate --rejects {tmp_path}/rej.jsonl > {tmp_path}/out.jsonl"
    )
    assert result.returncode == 0, result.stderr
    kinds = {
        json.loads(line)["kind"] for line in (tmp_path / "out.jsonl").read_text().splitlines() if '"integrity"' in line
    }
    assert {"sequence_gap", "out_of_order", "crossed_market"} <= kinds
    rules = {
        reason["rule"]
        for line in (tmp_path / "rej.jsonl").read_text().splitlines()
        for reason in json.loads(line)["reasons"]
    }
    assert "out_of_order" in rules
    assert rules & {"not_json", "invalid_utf8"}  # garbage is either not JSON or not UTF-8
    summary = result.stderr.strip().splitlines()[-1]
    read, passed, rejected = (int(part.split()[-1]) for part in summary.split(": ", 1)[1].split(", ")[:3])
    assert read == 5000
    assert read == passed + rejected


def test_everything_the_commands_emit_validates_against_the_schema(tmp_path: Path) -> None:
    """mdc-schema's union schema accepts capture, validate (integrity) and bars output."""
    schema = json_schema().unwrap()
    validator = jsonschema.Draft202012Validator(schema)
    result = shell(
        f"mdc-capture sim SPY AAPL {' '.join(SEEDED)} --max-events 20000 --faults gap,crossed,locked,duplicate "
        f"| mdc-validate -q --rejects {tmp_path}/r.jsonl | tee {tmp_path}/v.jsonl | mdc-bars -q --interval 1m"
    )
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "v.jsonl").read_text().splitlines() + result.stdout.splitlines()
    types = set()
    for line in lines:
        event = json.loads(line, parse_float=Decimal)
        types.add(event["type"])
        validator.validate(event)
    assert types == {"trade", "quote", "depth", "snapshot", "integrity", "bar"}


def test_mdc_runs_builtin_and_external_subcommands(tmp_path: Path) -> None:
    """`mdc validate` is mdc-validate; `mdc NAME` runs mdc-NAME from PATH, git-style."""
    external = tmp_path / "mdc-hello"
    external.write_text('#!/bin/sh\necho hello "$@"\n')
    external.chmod(0o755)
    result = shell(f"PATH={tmp_path}:$PATH mdc hello world")
    assert result.stdout == "hello world\n"
    assert shell("mdc validate --help").stdout.startswith("Usage: mdc validate")
    assert shell("mdc nosuch").returncode == 2


def test_store_refuses_a_root_it_cannot_create(tmp_path: Path) -> None:
    """A root that cannot be made (under a file) is an I/O error (74) with a message naming it."""
    (tmp_path / "afile").write_text("x")
    root = tmp_path / "afile" / "store"
    result = shell(f"mdc-capture sim SPY --rate max --max-events 10 | mdc-store --root {root}")
    assert result.returncode == 74
    assert f"{root}: cannot create the store root" in result.stderr
