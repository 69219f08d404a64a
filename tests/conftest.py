"""Shared test setup: hypothesis profiles (MDC_HYPOTHESIS_PROFILE=dev|ci|fast) and helpers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("fast", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("MDC_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture
def bin_dir() -> Path:
    """The directory holding the installed mdc-* programs."""
    return BIN


@pytest.fixture(scope="session")
def example_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment in which the plugin template (examples/plugin-template) is installed.

    It is installed the way a user installs a third-party plugin (pip builds and
    installs the package, entry points and all), into a directory of its own on
    PYTHONPATH rather than into the shared virtualenv.
    """
    source = tmp_path_factory.mktemp("template-source")
    shutil.copytree(
        REPO / "examples" / "plugin-template",
        source,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    site = tmp_path_factory.mktemp("template-site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "--target", str(site), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return {**os.environ, "PYTHONPATH": str(site)}
