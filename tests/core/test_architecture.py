"""The layering contract: the core is pure, the I/O library does not know the commands."""

from __future__ import annotations

import subprocess
import sys
import types

import mdc.core

FORBIDDEN_IN_CORE = ["trio", "click", "socket", "http", "asyncio", "mdc.io", "mdc_commands", "httpx"]


def test_importing_the_core_loads_no_io_modules() -> None:
    """`import mdc.core` (and every core module) pulls in no async, network or shell module."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import pkgutil, importlib, mdc.core\n"
        "for info in pkgutil.iter_modules(mdc.core.__path__, 'mdc.core.'):\n"
        "    importlib.import_module(info.name)\n"
        "print('\\n'.join(sorted(set(sys.modules) - before)))\n"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    )
    offenders = sorted(
        name for name in loaded for banned in FORBIDDEN_IN_CORE if name == banned or name.startswith(banned + ".")
    )
    assert offenders == []


def test_the_import_contracts_hold() -> None:
    """import-linter's contracts in pyproject.toml (core forbids os/sys/time/random/trio/click/io)."""
    result = subprocess.run(
        [sys.executable, "-m", "importlinter.cli", "--no-cache"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_api_is_pinned() -> None:
    """mdc.core exports exactly what __all__ says (submodules aside), and every name resolves."""
    public = {
        name
        for name, value in vars(mdc.core).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(public) == sorted(mdc.core.__all__)
