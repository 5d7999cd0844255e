"""Where a cold build's time goes: each stage's start and length, in the build's process and its database child.

    python benchmarks/stages.py [--size 100000] [--cached]

Builds benchmarks/generated/<size>/ once, in this process, with the out/ folder (and, without `--cached`, the
validation cache) removed first, so the build is cold. The build's own functions are wrapped with a timer for the
run (nothing of the build changes); the child process that writes the database inherits the wrapped functions by
fork and reports its stages through a pipe. Printed: one line per stage (process, start in seconds since the build
began, length), then how long the build's process waited for the child. A stage that the build no longer has is
reported as missing rather than silently left out. This is a profile for reading, not a pass/fail test."""

from __future__ import annotations

import argparse
import ast
import functools
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import package_for  # noqa: E402

from broadsheet import build, validate, words  # noqa: E402
from broadsheet.export import sqlite  # noqa: E402
from broadsheet.layout import Layout  # noqa: E402

# (module, function): the stages of a cold build, in the order they begin
STAGES = [
    (validate, "rows"), (build, "generate_repository"), (sqlite, "build_database"), (sqlite, "_insert_rows"),
    (sqlite, "_indexes"), (sqlite, "_search"), (words, "create_index"), (sqlite, "word_rows"),
    (build, "rows_json_lines"), (build, "input_hash"), (build, "Downloads"), (sqlite, "verify_database"),
    (build, "_write_files"), (build, "_land"),
]
WAITS = (build._DatabaseJob, "get")  # the build's process waiting for the child's messages
PER_TABLE = ("_insert_rows", "_indexes", "rows_json_lines")  # called once per table: shown summed


def wrapped(function, name: str, started: float, found: list[tuple[int, str, float, float]],  # type: ignore[no-untyped-def]
            write: int, parent: int):
    """`function` timed: its entries are kept in `found` here, written to the pipe `write` in the child."""
    @functools.wraps(function)
    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        begun = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            entry = (os.getpid(), name, begun - started, time.perf_counter() - begun)
            if entry[0] == parent:
                found.append(entry)
            else:  # the database child: its stages come back through the pipe
                os.write(write, (repr(entry) + "\n").encode())

    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--cached", action="store_true", help="keep the validation cache (time the writing only)")
    args = parser.parse_args()
    target = package_for(args.size)
    shutil.rmtree(target / "out", ignore_errors=True)
    if not args.cached:
        shutil.rmtree(target / ".broadsheet-cache", ignore_errors=True)
    read, write = os.pipe()
    found: list[tuple[int, str, float, float]] = []
    started = time.perf_counter()
    missing = []
    for module, name in [*STAGES, WAITS]:
        function = getattr(module, name, None)
        if function is None:
            missing.append(f"{module.__name__}.{name}")
            continue
        shown = "waiting for the database child" if (module, name) == WAITS else name
        setattr(module, name, wrapped(function, shown, started, found, write, os.getpid()))
    result = build.build(Layout(target))
    total = time.perf_counter() - started
    os.close(write)
    with os.fdopen(read, "rb") as incoming:
        found += [ast.literal_eval(line) for line in incoming.read().decode().splitlines()]
    parent = os.getpid()
    print(f"cold build of {args.size:,} records{' (validation cached)' if args.cached else ''}: {total:.2f} s, "
          f"built: {result.built}")
    waited = sum(entry[3] for entry in found if entry[1].startswith("waiting"))
    lines = [entry for entry in found if entry[1] not in PER_TABLE and not (entry[1].startswith("waiting")
                                                                           and entry[3] < 0.05)]
    for name in PER_TABLE:  # one line for all tables: the first one's start, the lengths summed
        calls = [entry for entry in found if entry[1] == name]
        if calls:
            lines.append((calls[0][0], f"{name} ({len(calls)} tables)", min(entry[2] for entry in calls),
                          sum(entry[3] for entry in calls)))
    print("| process | stage | start s | length s |\n|---|---|---|---|")
    for pid, name, begun, length in sorted(lines, key=lambda entry: entry[2]):
        print(f"| {'build' if pid == parent else 'database'} | {name} | {begun:.2f} | {length:.2f} |")
    print(f"\nthe build's process waited {waited:.2f} s for the database child")
    if missing:
        print("stages the build no longer has (update STAGES): " + ", ".join(missing))


if __name__ == "__main__":
    main()
