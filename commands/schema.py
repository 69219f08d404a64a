"""mdc-schema: print the JSON Schema (Draft 2020-12) of mdc's event format."""

from __future__ import annotations

import json

import click
from returns.result import Failure

from mdc.core.schema import json_schema

from ._shell import EXIT_USAGE


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--type", "event_type", metavar="TYPE", help="Only this event type (trade, quote, depth, ...).")
@click.option("--compact", is_flag=True, help="One line instead of indented JSON.")
def main(event_type: str | None, compact: bool) -> None:
    """Print the JSON Schema that every event mdc writes conforms to.

    Without --type the schema is the union of all event types, discriminated by
    the "type" field. Use it to check files with any JSON Schema validator.

    \b
    Examples:
      mdc-schema > mdc-event.schema.json
      mdc-schema --type trade | jq '.properties | keys'
    """
    result = json_schema(event_type)
    if isinstance(result, Failure):
        click.echo(f"mdc-schema: {result.failure().message}", err=True)
        raise SystemExit(EXIT_USAGE)
    schema = result.unwrap()
    try:
        click.echo(json.dumps(schema, separators=(",", ":")) if compact else json.dumps(schema, indent=2))
    except BrokenPipeError:
        raise SystemExit(0) from None


if __name__ == "__main__":
    main()
