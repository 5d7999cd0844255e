"""`broadsheet describe`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from broadsheet.cli.base import EXIT_INVALID, cli


@cli.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write one schema file per resource into this folder (never over an existing file). "
                   "Default: print them.")
@click.option("--name", default=None, help="The resource's name. Default: made from PATH's name.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The folder datapackage.json is (or will be) in; the layout's folder is relative to it. "
                   "Default: the nearest folder above PATH with a datapackage.json, else the current folder.")
def describe(path: Path, out: Path | None, name: str | None, root: Path | None) -> None:
    """Propose Table Schemas for existing YAML records (a folder of record files, or one file).

    \b
    Types from every value, `required` where a field is always there, enums for small closed sets, a child
    resource per list of mappings, objects for nested mappings, and a layout block for the files found
    (folder, suffixes, where ids come from, many records per file). Edit the proposal, then validate.
    Warnings (files left out, no id field) go to stderr. Exit status: 0 proposed, 1 nothing to propose or a
    schema already there (nothing is written), 2 bad usage.

    \b
    Examples:
      broadsheet describe data/people                   # print the proposal
      broadsheet describe data/people --out schemas     # write schemas/people.yaml (and its children)
    """
    from broadsheet.describe import describe as propose
    from broadsheet.describe import render, write
    from broadsheet.errors import ERROR
    from broadsheet.report import text_line

    proposal = propose(path, name=name, root=root)
    for problem in proposal.problems:
        click.echo(text_line(problem), err=True)
    if any(p.severity == ERROR for p in proposal.problems):
        sys.exit(EXIT_INVALID)
    if out is None:
        click.echo(render(proposal), nl=False)
        return
    written, refused = write(proposal, out)
    for problem in refused:
        click.echo(text_line(problem), err=True)
    if refused:
        sys.exit(EXIT_INVALID)
    for written_path in written:
        click.echo(f"wrote {written_path}")
