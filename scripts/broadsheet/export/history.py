"""The `record_history` table: the record history (see broadsheet.history) written into the built database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from broadsheet.errors import ConfigError

HISTORY_TABLE = "record_history"


def write_history_table(database: Path, rows: list[dict[str, Any]]) -> None:
    """Add the `record_history` table (fields_changed as JSON text) to a freshly built SQLite database."""
    conn = sqlite3.connect(database)
    try:
        taken = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (HISTORY_TABLE,)).fetchone()
        if taken:
            raise ConfigError(f"a table named {HISTORY_TABLE!r} already exists; the record history needs that name")
        with conn:
            conn.execute(f'CREATE TABLE {HISTORY_TABLE} (resource TEXT NOT NULL, record_id TEXT NOT NULL, '
                         'date TEXT NOT NULL, "commit" TEXT NOT NULL, subject TEXT NOT NULL, change TEXT NOT NULL, '
                         'fields_changed TEXT NOT NULL)')
            conn.execute(f"CREATE INDEX {HISTORY_TABLE}_record ON {HISTORY_TABLE} (resource, record_id)")
            conn.executemany(f"INSERT INTO {HISTORY_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)", [
                (r["resource"], r["record_id"], r["date"], r["commit"], r["subject"], r["change"],
                 json.dumps(r["fields_changed"], ensure_ascii=False)) for r in rows])
    finally:
        conn.close()
