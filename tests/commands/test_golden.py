"""Golden tests: each folder under golden/ is one run of a real command.

A case holds ``cmd`` (the command line, split like a shell would), optionally
``stdin.ndjson`` and a ``files/`` tree copied into the working directory, and
the expected ``stdout.ndjson``, ``stderr.txt`` and ``exit_code``. Run
``make golden`` (MDC_GOLDEN_UPDATE=1) to rewrite the expectations; review the
diff like code.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.name for path in GOLDEN.iterdir() if (path / "cmd").exists())
UPDATE = os.environ.get("MDC_GOLDEN_UPDATE") == "1"


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, tmp_path: Path) -> None:
    """The command's stdout, stderr and exit code are exactly the recorded ones."""
    case = GOLDEN / name
    if (case / "files").is_dir():
        shutil.copytree(case / "files", tmp_path, dirs_exist_ok=True)
    argv = shlex.split((case / "cmd").read_text())
    argv[0] = str(Path(sys.executable).parent / argv[0])
    stdin = (case / "stdin.ndjson").read_bytes() if (case / "stdin.ndjson").exists() else b""
    result = subprocess.run(argv, input=stdin, capture_output=True, cwd=tmp_path, timeout=60, check=False)
    stderr = result.stderr.decode().replace(str(tmp_path), "$TMP")
    if UPDATE:
        (case / "stdout.ndjson").write_bytes(result.stdout)
        (case / "stderr.txt").write_text(stderr)
        (case / "exit_code").write_text(f"{result.returncode}\n")
    assert result.stdout.decode() == (case / "stdout.ndjson").read_text()
    assert stderr == (case / "stderr.txt").read_text()
    assert result.returncode == int((case / "exit_code").read_text())
