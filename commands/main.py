"""mdc: every mdc command as a subcommand, git-style (``mdc validate`` is ``mdc-validate``).

A subcommand that is not built in runs the program ``mdc-NAME`` from PATH, so
a plugin distribution can add a command by installing an executable.
"""

from __future__ import annotations

import os
import shutil
import sys

import click

from . import bars, book, capture, replay, schema, store, validate

BUILT_IN = {
    "capture": capture.main,
    "validate": validate.main,
    "store": store.main,
    "replay": replay.main,
    "bars": bars.main,
    "book": book.main,
    "schema": schema.main,
}


class _Mdc(click.Group):
    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        external = shutil.which(f"mdc-{cmd_name}")
        if external is None:
            return None

        @click.command(name=cmd_name, context_settings={"ignore_unknown_options": True, "help_option_names": []})
        @click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
        def run_external(arguments: tuple[str, ...]) -> None:
            os.execv(external, [external, *arguments])  # noqa: S606 - runs the mdc-NAME the user asked for

        return run_external

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(BUILT_IN)


@click.group(cls=_Mdc, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mdc", prog_name="mdc")
def main() -> None:
    """mdc: capture, validate, store, replay and aggregate market data as NDJSON.

    Each subcommand is also a program of its own (mdc validate = mdc-validate);
    an unknown subcommand NAME runs mdc-NAME from PATH. See mdc(1) and
    mdc-format(5).

    \b
    Example:
      mdc capture sim SPY --max-events 1000 | mdc validate | mdc store --root data
    """


for _name, _command in BUILT_IN.items():
    main.add_command(_command, _name)

if __name__ == "__main__":
    sys.exit(main())
