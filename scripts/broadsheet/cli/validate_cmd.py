"""`broadsheet validate`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from broadsheet.cli.base import EXIT_INVALID, EXIT_OK, _fail_config, _layout, cli, root_option
from broadsheet.errors import BroadsheetError


@cli.command()
@root_option
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github"]), default=None,
              help="Output format. Default: github when GITHUB_ACTIONS=true, else text.")
@click.option("--no-cache", is_flag=True,
              help="Parse every file afresh instead of reusing .broadsheet-cache/ for unchanged files.")
@click.option("--full", is_flag=True,
              help="Run frictionless over every row, not only the rows Broadsheet's fast checks cannot vouch for "
                   "(slow; the reference the fast path is tested against).")
def validate(root: Path | None, output_format: str | None, no_cache: bool = False, full: bool = False) -> None:
    """Check every record against its Table Schema and Broadsheet's rules, reporting every problem in one run.

    \b
    Each problem is printed as   path:line:col: error[code] message (found: ...; expected: ...) — hint
    Exit status: 0 valid, 1 invalid data, 2 broken schema or datapackage.json.

    \b
    Examples:
      broadsheet validate
      broadsheet validate --format json > report.json
      broadsheet validate --no-cache --full     # what CI may run: no cache, frictionless on every row
    """
    from broadsheet import validate as validation
    from broadsheet.check.deletions import mass_deletions
    from broadsheet.report import RENDERERS

    if output_format is None:
        output_format = "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"
    try:
        layout = _layout(root)
        report = validation.report(layout, validation.Speed(vouch=not full, cache=not no_cache))
        report.extend(mass_deletions(layout, {  # a top-level resource's rows are its records
            name.removeprefix("rows."): count for name, count in report.stats.items() if name.startswith("rows.")}))
    except BroadsheetError as error:
        _fail_config(error)
        return
    click.echo(RENDERERS[output_format](report))
    code = EXIT_OK if report.valid else EXIT_INVALID
    if os.environ.get("BROADSHEET_FAST_EXIT", "1") == "1" and _is_the_program():
        # Freeing every row one by one at interpreter exit costs ~0.1 s per 10k records; the OS does it at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _is_the_program() -> bool:
    """True when this process is the `broadsheet` command itself, not a test or a program calling the CLI."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return (spec is not None and spec.name == "broadsheet.__main__") or Path(sys.argv[0]).name == "broadsheet"
