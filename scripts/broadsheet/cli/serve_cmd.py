"""`broadsheet serve`."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from broadsheet.cli.base import EXIT_INVALID, _fail_config, _fail_write, _layout, cli, root_option
from broadsheet.errors import BroadsheetError


@cli.command()
@root_option
@click.option("--port", type=int, default=8001, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. 0.0.0.0 makes the site reachable from other machines.")
@click.option("--no-build", is_flag=True, help="Serve out/ as it is, even when the data changed since the build.")
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Datasette processes behind the one address (uvicorn workers). Default: the number of cores.")
def serve(root: Path | None, port: int, host: str, no_build: bool, processes: int | None) -> None:
    """Build the package if out/ is missing or stale, then serve the site with Datasette.

    \b
    The database is served immutable, arbitrary SQL is off (canned queries work), and every page has
    security headers. Stop it with Ctrl-C.

    \b
    Examples:
      broadsheet serve                   http://127.0.0.1:8001
      broadsheet serve --port 9000 --no-build
      broadsheet serve --processes 1      one Datasette process
    """
    from broadsheet import serve as site
    from broadsheet.build import WriteFailed

    try:
        layout = _layout(root)
        package, invalid = site.build_if_needed(layout, rebuild=not no_build)
        if invalid is not None:
            from broadsheet.report import RENDERERS

            click.echo(RENDERERS["text"](invalid), err=True)
            click.echo("error: the data is invalid, so nothing was built or served; fix the problems above",
                       err=True)
            sys.exit(EXIT_INVALID)
        prepared = site.prepare(layout, package)
        processes = processes or site.cores()
        args = site.command(prepared, host=host, port=port, processes=processes)
    except WriteFailed as error:  # the build it needed met a full disk or a missing permission
        _fail_write(error)
        return
    except BroadsheetError as error:
        _fail_config(error)
        return
    shown = prepared.database.relative_to(layout.root).as_posix()
    workers = f" with {processes} processes" if processes > 1 else ""
    click.echo(f"Serving {shown} at http://{host}:{port}/{workers}", err=True)
    sys.stderr.flush()
    # Datasette (or uvicorn and its workers) replaces this process, so Ctrl-C and exit codes are its own
    os.execve(args[0], args, {**os.environ, **site.environment(prepared)})
