"""`broadsheet init`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from broadsheet.cli.base import EXIT_INVALID, _fail_config, _fail_write, cli
from broadsheet.errors import BroadsheetError


@cli.command()
@click.argument("folder", metavar="[DIR]", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--title", default=None, help="The dataset's title. Default: made from DIR's name.")
@click.option("--requirement", default=None,
              help="How the new repository installs Broadsheet (a line of requirements.txt). Default: this "
                   "version, broadsheet==VERSION; give a `broadsheet @ git+https://...` URL where it is not on PyPI.")
def init(folder: Path, title: str | None, requirement: str | None) -> None:
    """Create a new dataset repository in DIR (default: the current folder) that validates, builds and serves.

    \b
    Writes datapackage.json, one example schema and record, site/metadata.yml, the GitHub workflow, a README
    with the two commands (make serve, make test), a Makefile and requirements.txt, then builds it once so the
    committed outputs are current. Never writes over a file (exit 1, nothing written).

    \b
    Examples:
      broadsheet init my-dataset && cd my-dataset && broadsheet serve
      broadsheet describe ~/old-records --root my-dataset    # then: schemas for records you already keep
    """
    from broadsheet import build as building
    from broadsheet.init import REQUIREMENT, create
    from broadsheet.layout import Layout
    from broadsheet.report import RENDERERS, text_line

    created = create(folder, title, requirement or REQUIREMENT)
    for problem in created.problems:
        click.echo(text_line(problem), err=True)
    if created.problems:
        sys.exit(EXIT_INVALID)
    try:
        result = building.build(Layout(folder.resolve()))
    except building.WriteFailed as error:
        _fail_write(error)
        return
    except BroadsheetError as error:
        _fail_config(error)
        return
    if not result.built:
        click.echo(RENDERERS["text"](result.report))
        sys.exit(EXIT_INVALID)
    click.echo(f"created {len(created.written)} files in {folder}; built it once")
    click.echo(f"next: cd {folder} && broadsheet serve   (or `make serve`; `make test` runs the checks CI runs)")
