"""`broadsheet fmt`."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from broadsheet.cli.base import EXIT_INVALID, EXIT_OK, _fail_config, _fail_write, _layout, cli, root_option
from broadsheet.errors import BroadsheetError


@cli.command()
@root_option
@click.option("--check", is_flag=True, help="Change nothing: print a diff of what fmt would change, exit 1 if any.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def fmt(root: Path | None, check: bool, paths: tuple[Path, ...]) -> None:
    """Rewrite record files in one canonical form, keeping every comment.

    \b
    Keys in schema order (lists after the fields, citations last), child entries' keys in their
    schema's order, quotes only where YAML needs them. Values never change: the rows are compared
    before and after. A file that does not parse is reported and left alone.
    PATHS are record files or folders; default: every record.

    \b
    Exit status: 0 nothing to change (or all rewritten), 1 a file needs formatting (--check) or
    could not be formatted, 2 broken configuration.

    \b
    Examples:
      broadsheet fmt
      broadsheet fmt --check            in CI
      broadsheet fmt datapackage/museums/louvre.yaml
    """
    from broadsheet.atomic import write_atomically
    from broadsheet.build import WriteFailed, write_fault
    from broadsheet.fmt import format_record
    from broadsheet.package import SUFFIXES, load_package
    from broadsheet.read.discover import discover
    from broadsheet.read.records import not_a_file, read_record
    from broadsheet.report import text_line

    try:
        layout = _layout(root)
        package = load_package(layout)
    except BroadsheetError as error:
        _fail_config(error)
        return
    if paths:
        files = sorted({f for p in paths for f in (sorted(x for s in SUFFIXES for x in p.rglob(f"*{s}"))
                                                   if p.is_dir() else [p])})
    else:
        found, _stray = discover(package)
        files = [Path(folder) / name for folder, _shown, names in found.values() for name in names]
    failed = changed = 0
    for file in files:
        shown = layout.relative(file)
        try:
            raw = read_record(file)  # a link is neither followed nor replaced by its target's text
        except OSError as error:
            click.echo(text_line(not_a_file(shown, error)), err=True)
            failed += 1
            continue
        result = format_record(package, shown, raw)
        for problem in result.problems:
            click.echo(text_line(problem), err=True)
        if result.text is None:
            failed += 1
            continue
        if not result.changed:
            continue
        changed += 1
        if check:
            click.echo("".join(difflib.unified_diff(result.original.splitlines(keepends=True),
                                                    result.text.splitlines(keepends=True), shown, shown)), nl=False)
        else:
            try:
                write_atomically(file, result.text.encode("utf-8"), durable=False)
            except OSError as error:  # a full disk, a file size limit, no permission: one line, exit 1
                fault = write_fault(error)
                if fault is None:
                    raise
                code, reason, _file = fault
                _fail_write(WriteFailed(code, shown, reason, "fmt stopped at this file: it and the files after it "
                                        f"are as they were; {changed - 1} reformatted before it"))
    verb = "would reformat" if check else "reformatted"
    click.echo(f"{verb} {changed} of {len(files)} files" + (f"; {failed} could not be formatted" if failed else ""),
               err=True)
    sys.exit(EXIT_INVALID if failed or (check and changed) else EXIT_OK)
