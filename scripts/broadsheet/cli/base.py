"""The `broadsheet` command group and the helpers every command uses (commands import this, never the package
`broadsheet.cli`, which imports the commands: no cycle)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from broadsheet import __version__
from broadsheet.errors import BroadsheetError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def root_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--root", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Repository root (the folder with datapackage.json). Default: found from the current folder.",
    )(command)


def _layout(root: Path | None):  # type: ignore[no-untyped-def]
    from broadsheet.layout import Layout

    return Layout.find(root)


def _fail_write(error: Any) -> None:
    """A fault of the machine while writing an output (broadsheet.build.WriteFailed): one line, exit 1."""
    click.echo(f"{error.path}: error[{error.code}] {error.reason}; {error.outcome}", err=True)
    sys.exit(EXIT_INVALID)


def _fail_config(error: BroadsheetError) -> None:
    prefix = f"{error.where()}: " if error.where() else ""
    click.echo(f"{prefix}error[config] {error.message}", err=True)
    sys.exit(EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="broadsheet")
def cli() -> None:
    """Broadsheet: curated YAML records → validated Frictionless Data Package → SQLite → Datasette site.

    \b
    Typical use, from anywhere inside the repository:
      broadsheet validate          check every record, report every problem at file:line
      broadsheet serve             build if needed, then serve the site at http://127.0.0.1:8001
      broadsheet build             write the package CSVs, datapackage.json and out/ (SQLite, downloads)
      broadsheet diff              records added, removed and changed since main, field by field
      broadsheet new <resource> <id>   write a record template with every field described
      broadsheet fmt [--check]     rewrite records in canonical form, keeping comments
      broadsheet describe PATH     propose Table Schemas for existing YAML records
      broadsheet init [DIR]        create a new dataset repository that validates, builds and serves
    """
