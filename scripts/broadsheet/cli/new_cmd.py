"""`broadsheet new`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from broadsheet.cli.base import EXIT_INVALID, EXIT_USAGE, _fail_config, _layout, cli, root_option
from broadsheet.errors import BroadsheetError


@cli.command()
@root_option
@click.argument("resource")
@click.argument("record_id", metavar="[ID]", required=False)
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the template instead of writing a file.")
def new(root: Path | None, resource: str, record_id: str | None, to_stdout: bool) -> None:
    """Write a record template: every field of RESOURCE's schema, each with its description as a comment.

    \b
    Writes datapackage/<RESOURCE>/<ID>.yaml (never over an existing file); lists inside the record
    (names, citations...) appear as commented examples. Fill in what a source states, delete the rest,
    then run `broadsheet validate`.

    \b
    Examples:
      broadsheet new museums tate-modern
      broadsheet new museums --stdout
    """
    from broadsheet.new import record_file, template
    from broadsheet.package import load_package

    try:
        layout = _layout(root)
        package = load_package(layout)
        text = template(package, resource, record_id)
    except BroadsheetError as error:
        _fail_config(error)
        return
    if to_stdout:
        click.echo(text, nl=False)
        return
    if record_id is None:
        click.echo("error[usage] give the new record's id, or --stdout to print the template", err=True)
        sys.exit(EXIT_USAGE)
    path = record_file(package, resource, record_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as handle:  # "x": never overwrite a record
            handle.write(text)
    except FileExistsError:
        click.echo(f"{layout.relative(path)}: error[exists] the record already exists; ids are never reused",
                   err=True)
        sys.exit(EXIT_INVALID)
    click.echo(f"wrote {layout.relative(path)}")
