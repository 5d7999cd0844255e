"""`broadsheet diff`."""

from __future__ import annotations

from pathlib import Path

import click

from broadsheet.cli.base import _fail_config, _layout, cli, root_option
from broadsheet.errors import BroadsheetError


@cli.command()
@root_option
@click.argument("base", required=False)
@click.argument("head", required=False)
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              help="text for people, markdown for a pull-request comment or job summary, json for programs.")
def diff(root: Path | None, base: str | None, head: str | None, output_format: str) -> None:
    """Records added, removed and changed between two git revisions, each changed field old → new.

    \b
    BASE defaults to the merge base of HEAD and main (HEAD when there is no main);
    HEAD defaults to the working tree, including files not yet committed.
    Values compare as typed text, so re-quoting or reordering a file is no change.

    \b
    Examples:
      broadsheet diff                       what this branch changes
      broadsheet diff HEAD~3 HEAD --format json
      broadsheet diff --format markdown >> "$GITHUB_STEP_SUMMARY"
    """
    from broadsheet.diff import RENDERERS, diff_revisions
    from broadsheet.package import load_package

    try:
        result = diff_revisions(load_package(_layout(root)), base, head)
    except BroadsheetError as error:
        _fail_config(error)
        return
    click.echo(RENDERERS[output_format](result).rstrip("\n"))
