"""`broadsheet build` and `broadsheet build --check`."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import click

from broadsheet.cli.base import EXIT_INVALID, EXIT_OK, _fail_config, _fail_write, _layout, cli, root_option
from broadsheet.errors import BroadsheetError

PROGRESS_AFTER = 2.0  # seconds: quicker builds show nothing (BROADSHEET_PROGRESS_AFTER overrides it)


class StageLine:
    """A one-line stage indicator on stderr, shown only on a terminal, outside CI, once a build takes a while."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty() and os.environ.get("CI", "").lower() not in ("true", "1")
        self.stage = "starting"
        self.started = time.monotonic()
        self.after = float(os.environ.get("BROADSHEET_PROGRESS_AFTER", PROGRESS_AFTER))
        self.shown = False
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._tick, daemon=True)

    def __call__(self, stage: str) -> None:
        self.stage = stage

    def _tick(self) -> None:
        while not self.done.wait(0.25):
            elapsed = time.monotonic() - self.started
            if elapsed >= self.after:
                click.echo(f"\rbuilding: {self.stage:<12} {elapsed:5.1f} s", nl=False, err=True)
                self.shown = True

    def __enter__(self) -> StageLine:
        if self.enabled:
            self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        if self.enabled:
            self.thread.join(timeout=1)
            if self.shown:
                click.echo("\r" + " " * 40 + "\r", nl=False, err=True)


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size} B"


@cli.command()
@root_option
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if the committed CSVs, datapackage.json or README dictionary are stale.")
def build(root: Path | None, check: bool) -> None:
    """Validate, then write the package (datapackage/*.csv, datapackage.json, README data dictionary) and out/:
    the SQLite database, JSON and CSV downloads and the zip bundle — atomically, only from valid data.

    \b
    Exit status: 0 built (or up to date with --check), 1 invalid data, stale outputs or a failed build,
    2 broken schema or datapackage.json.

    \b
    Examples:
      broadsheet build
      broadsheet build --check      # in CI: are the committed outputs regenerated?
    """
    from broadsheet import build as building
    from broadsheet.report import RENDERERS

    # Invalid data is reported exactly as `broadsheet validate` reports it (annotations inside GitHub Actions).
    render_text = RENDERERS["github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"]

    try:
        layout = _layout(root)
        if check:
            checked = building.check(layout)
            if not checked.report.valid:
                click.echo(render_text(checked.report))
                sys.exit(EXIT_INVALID)
            if checked.stale:
                click.echo(f"{len(checked.stale)} generated file{'s' * (len(checked.stale) != 1)} out of date "
                           "(run `broadsheet build` and commit the result):")
                click.echo("\n".join(f"  {path}" for path in checked.stale))
                sys.exit(EXIT_INVALID)
            click.echo("up to date: committed CSVs, datapackage.json and README data dictionary")
            sys.exit(EXIT_OK)
        with StageLine() as progress:
            result = building.build(layout, progress)
    except building.WriteFailed as error:  # a full disk, no permission: one line, exit 1
        _fail_write(error)
    except building.BuildError as error:
        click.echo(f"error[build-verify] the new build failed verification; out/ is unchanged: {error}", err=True)
        sys.exit(EXIT_INVALID)
    except BroadsheetError as error:
        _fail_config(error)
        return
    if not result.built:
        click.echo(render_text(result.report))
        sys.exit(EXIT_INVALID)
    rows = sum(result.tables.values())
    click.echo(f"built: {len(result.tables)} tables, {rows} rows → out/{result.database.name}"
               if result.database else "built")
    if result.kept:
        click.echo("  nothing changed since the last build: out/ and the committed files kept as they were")
    if result.spliced:
        click.echo(f"  {result.spliced} record file{'s' if result.spliced > 1 else ''} changed: the last build "
                   "updated where their rows are")
    for path in result.written:
        click.echo(f"  updated {path}")
    total = sum(result.out_bytes.values())
    click.echo(f"  out/: {len(result.out_bytes)} files, {_human(total)}")
    sys.exit(EXIT_OK)
