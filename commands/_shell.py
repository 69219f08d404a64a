"""The one place where errors become words and exit codes.

Every command's click function builds a frozen config and calls :func:`run`
with its async main. ``run`` owns the process-level behaviour all mdc commands
share: a closed downstream pipe (``| head``) ends the command quietly with exit
0; Ctrl-C (SIGINT) and SIGTERM cancel the main task, which flushes what it has
already produced before the command exits 130 (143 for SIGTERM); expected
failures print ``mdc-validate: what went wrong`` and exit with their code;
anything else is a bug, reported in one line unless ``--debug`` or
``MDC_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final, NoReturn, TypeVar

import click
import trio

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_DATAERR: Final = 65
"""Invalid input data under ``--strict``."""
EXIT_UNAVAILABLE: Final = 69
"""A provider is missing or unavailable."""
EXIT_NOPERM: Final = 77
"""A provider refused the credentials, or the account may not have what was asked."""
EXIT_IOERR: Final = 74
"""An input or output error: unreadable file, unwritable directory, disk full."""
EXIT_INTERRUPTED: Final = 130
EXIT_TERMINATED: Final = 143

ConfigT = TypeVar("ConfigT")
FC = TypeVar("FC", bound=Callable[..., object])


class CommandError(Exception):
    """An expected failure with its message and exit code.

    Args:
        message: what went wrong, where, and what we got.
        exit_code: one of the ``EXIT_*`` codes.
    """

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Interrupted(Exception):
    """A signal asked the command to stop; the main task has flushed its output."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def say(prog: str, message: str) -> None:
    """Write ``prog: message`` to stderr (logs, summaries, warnings)."""
    try:
        sys.stderr.write(f"{prog}: {message}\n")
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # stderr closed: nothing left to tell
        pass


def debug_enabled() -> bool:
    """Whether tracebacks were asked for (``MDC_DEBUG=1``)."""
    return os.environ.get("MDC_DEBUG", "") not in ("", "0")


def run(prog: str, main: Callable[[ConfigT], Awaitable[None]], config: ConfigT, *, debug: bool = False) -> NoReturn:
    """Run ``main(config)`` under trio and exit with the right code.

    Args:
        prog: the command name for messages.
        main: the command's async main.
        config: its frozen configuration.
        debug: print tracebacks for unexpected errors.
    """
    debug = debug or debug_enabled()
    try:
        trio.run(_guarded, main, config)
    except (Exception, KeyboardInterrupt, BaseExceptionGroup) as raised:  # noqa: BLE001 - the one place errors become words
        sys.exit(_exit_code(prog, unwrap_group(raised), debug=debug))
    sys.exit(EXIT_OK)


def _exit_code(prog: str, error: BaseException, *, debug: bool) -> int:
    """Report ``error`` on stderr as users should see it and choose the exit code."""
    match error:
        case BrokenPipeError():
            _silence_stdout()
            return EXIT_OK
        case Interrupted():
            return EXIT_TERMINATED if error.signum == signal.SIGTERM else EXIT_INTERRUPTED
        case KeyboardInterrupt():
            return EXIT_INTERRUPTED
        case CommandError():
            say(prog, str(error))
            return error.exit_code
        case OSError() if error.errno == errno.EPIPE:
            _silence_stdout()
            return EXIT_OK
        case OSError():
            say(prog, describe_os_error(error))
            if debug:
                traceback.print_exception(error)
            return EXIT_IOERR
        case _:
            say(prog, f"internal error: {type(error).__name__}: {error}")
            if debug:
                traceback.print_exception(error)
            else:
                say(prog, "run with MDC_DEBUG=1 for the traceback, and please report it")
            return EXIT_FAILURE


async def _guarded(main: Callable[[ConfigT], Awaitable[None]], config: ConfigT) -> None:
    """Run main; SIGINT/SIGTERM cancel it (so its shielded flushes run) and then raise Interrupted."""
    received: list[int] = []
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                async for signum in signals:
                    received.append(signum)
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(watch)
            try:
                await main(config)
            finally:
                nursery.cancel_scope.cancel()
    if received:
        raise Interrupted(received[0])


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot complain about the pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def describe_os_error(error: OSError) -> str:
    """``path: reason`` for an OSError, in words users know."""
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        reason = "no space left on device"
    if error.filename is not None:
        return f"{error.filename}: {reason}"
    return reason


def unwrap_group(error: BaseException) -> BaseException:
    """The single exception inside (nested) exception groups, or the error itself."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


# click options shared by the commands


def rejects_option(what: str = "each rejected line, with every reason,") -> Callable[[FC], FC]:
    """``--rejects FILE``: where rejected lines go (appended as JSON records; else described on stderr)."""
    return click.option(
        "--rejects",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Append {what} to FILE as JSON (else they go to stderr).",
    )


quiet_option = click.option("-q", "--quiet", is_flag=True, help="No summary line on stderr.")

debug_option = click.option(
    "--debug", is_flag=True, default=False, help="Print tracebacks for unexpected errors (or set MDC_DEBUG=1)."
)
