"""The `broadsheet` command. The only module that prints, picks exit codes or imports click.

Exit codes: 0 ok, 1 invalid data or a failed build, 2 bad usage or broken configuration.
Heavy libraries (frictionless, datasette) are imported inside commands so `--help` stays instant.
"""

from __future__ import annotations

import os
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
    """


@cli.command()
@root_option
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github"]), default=None,
              help="Output format. Default: github when GITHUB_ACTIONS=true, else text.")
def validate(root: Path | None, output_format: str | None) -> None:
    """Check every record against its Table Schema and Broadsheet's rules, reporting every problem in one run.

    \b
    Each problem is printed as   path:line:col: error[code] message (found: ...; expected: ...) — hint
    Exit status: 0 valid, 1 invalid data, 2 broken schema or datapackage.json.

    \b
    Examples:
      broadsheet validate
      broadsheet validate --format json > report.json
    """
    from broadsheet.report import RENDERERS
    from broadsheet.validate import validate as run_validation

    if output_format is None:
        output_format = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    try:
        result = run_validation(_layout(root))
    except BroadsheetError as error:
        _fail_config(error)
        return
    click.echo(RENDERERS[output_format](result.report))
    sys.exit(EXIT_OK if result.report.valid else EXIT_INVALID)


def main() -> None:
    cli(prog_name="broadsheet")
