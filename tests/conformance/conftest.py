"""Where the conformance suite finds the third-party recordings, and what happens when it cannot.

The recordings' licences keep them out of this repository, so the suite reads
them at run time from the directory named by ``MDC_CONFORMANCE_DIR`` (CI sets it
to the shared fixtures directory). The two ways of not having them differ on
purpose:

* the variable is unset: the developer did not ask for the suite, so every
  test is *skipped*, with the reason saying how to run it;
* the variable is set but a file a test needs is missing or unreadable: the
  setup is broken, so the test *fails*. A conformance run that quietly skips
  is worse than none.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

ENVIRONMENT_VARIABLE = "MDC_CONFORMANCE_DIR"
SKIP_REASON = f"set {ENVIRONMENT_VARIABLE} to the shared fixtures directory to run the conformance suite"


@pytest.fixture(scope="session")
def recordings() -> Path:
    """The recordings directory; skips the test when ``MDC_CONFORMANCE_DIR`` is unset.

    A set but wrong directory is not checked here: the test fails when it asks
    for a file (see ``required``), so it reports as a failure, not a fixture error.
    """
    directory = os.environ.get(ENVIRONMENT_VARIABLE)
    if not directory:
        pytest.skip(SKIP_REASON)
    return Path(directory)


def _readable(path: Path, relative: str) -> Path:
    if not path.is_file():
        pytest.fail(f"{ENVIRONMENT_VARIABLE}: required recording {relative} is missing (looked for {path})")
    try:
        with path.open("rb") as stream:
            stream.read(1)
    except OSError as error:
        pytest.fail(f"{ENVIRONMENT_VARIABLE}: required recording {relative} is unreadable: {error}")
    return path


@pytest.fixture
def required(recordings: Path) -> Callable[[str], Path]:
    """``required("trades/x.csv")`` is that recording's path; the test fails when it is missing or unreadable."""

    def find(relative: str) -> Path:
        return _readable(recordings / relative, relative)

    return find


@pytest.fixture
def required_glob(recordings: Path) -> Callable[[str, int], list[Path]]:
    """``required_glob("alpaca/rest/stock_data__*.json", 21)``: exactly that many readable files, sorted, or fail."""

    def find(pattern: str, count: int) -> list[Path]:
        paths = sorted(recordings.glob(pattern))
        if len(paths) != count:
            pytest.fail(
                f"{ENVIRONMENT_VARIABLE}: expected {count} recordings matching {pattern} in {recordings}, "
                f"found {len(paths)}"
            )
        return [_readable(path, str(path.relative_to(recordings))) for path in paths]

    return find
