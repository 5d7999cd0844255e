"""What each full-text index of a built database costs to make: its FTS5 'rebuild', timed on a copy.

    python benchmarks/fts_cost.py [--size 100000] [--rounds 2]

Reads benchmarks/generated/<size>/out/<name>.db (build it first, e.g. with benchmarks/stages.py), copies it to a
temporary folder, and for every FTS5 table found in its schema rebuilds the index from its content table, which is
the work the build's database child does for it. Printed: one line per index and round (wall and CPU seconds). The
indexes are found in the database, not named here, so the figure follows whatever the build makes. A profile for
reading, not a pass/fail test."""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def fts_tables(conn: sqlite3.Connection) -> list[str]:
    """The FTS5 virtual tables of a database, by the statement that made them."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")
    return [name for name, sql in rows if "USING FTS5" in sql.upper()]


def time_rebuild(path: Path, table: str) -> tuple[float, float]:
    """Wall and CPU seconds of rebuilding one FTS5 index on the database at `path`."""
    conn = sqlite3.connect(path)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        conn.execute(f'INSERT INTO "{table}" ("{table}") VALUES (\'rebuild\')')
        conn.commit()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    databases = sorted((HERE / "generated" / str(args.size) / "out").glob("*.db"))
    if not databases:
        raise SystemExit(f"no database under benchmarks/generated/{args.size}/out: build it first")
    with tempfile.TemporaryDirectory() as work:
        copy = Path(work) / "copy.db"
        shutil.copyfile(databases[0].resolve(), copy)
        conn = sqlite3.connect(copy)
        tables = fts_tables(conn)
        conn.close()
        for round_number in range(1, args.rounds + 1):
            for table in tables:
                wall, cpu = time_rebuild(copy, table)
                print(f"round {round_number}  {table:24}  wall {wall:5.2f} s  cpu {cpu:5.2f} s")


if __name__ == "__main__":
    main()
