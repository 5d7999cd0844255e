"""The `broadsheet` command. The cli package is the only place that prints, picks exit codes or imports click.

Each command lives in its own module here and registers itself on `cli` (broadsheet.cli.base).

Exit codes: 0 ok, 1 invalid data or a failed build, 2 bad usage or broken configuration.
Heavy libraries (frictionless, datasette) are imported inside commands so `--help` stays instant.
"""

from __future__ import annotations

from broadsheet.cli import (  # noqa: F401 - register
    build_cmd,
    describe_cmd,
    diff_cmd,
    fmt_cmd,
    init_cmd,
    new_cmd,
    serve_cmd,
    validate_cmd,
)
from broadsheet.cli.base import cli


def main() -> None:
    cli(prog_name="broadsheet")
