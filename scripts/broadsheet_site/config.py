"""The plugin's settings (the `plugins.broadsheet` block that `broadsheet.export.sitemeta` generates) and the
small helpers every page uses. Generic: nothing here names a table of any dataset."""

from __future__ import annotations

import json
import logging
import time
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any

from datasette.utils import tilde_encode

PLUGIN = "broadsheet"
log = logging.getLogger("broadsheet.site")
_structures: dict[tuple[str, float], dict[str, Any]] = {}
_checked: dict[tuple[str, str], tuple[float, tuple[str, float]]] = {}  # (database, file) → (when, its key)
_settings: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Datasette → its plugin settings
_merged: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Datasette → settings with the structure
RECHECK_SECONDS = 1.0
LINKS: dict[str, Path] = {}  # database name → the path the site was started on, when it answers a pinned build


def config(datasette) -> dict[str, Any]:
    """The plugin's settings, with the resource structure. The structure is large, and Datasette deep-copies its
    whole metadata on every permission check, so `broadsheet serve` keeps it in a file beside the database
    (named by `resources_file`) that is read once. Pages ask for the settings many times per request (every
    cell), so both are remembered: the settings for the life of the server (its metadata does not change), the
    structure per file, its modification time looked at no more than once a second."""
    if datasette not in _settings:
        _settings[datasette] = dict(datasette.plugin_config(PLUGIN) or {})
    settings = _settings[datasette]
    name, db = settings.get("resources_file"), settings.get("database")
    if not name or "resources" in settings or db not in datasette.databases or not datasette.get_database(db).path:
        return settings
    structure = _structure(str(LINKS.get(db) or datasette.get_database(db).path), _file_name(name))
    if structure is None:
        return settings
    # One dict per (server, structure), shared by every caller: callers read it and never change it.
    merged = _merged.get(datasette)
    if merged is None or merged["resources"] is not structure:
        merged = _merged[datasette] = {**settings, "resources": structure}
    return merged


@lru_cache(maxsize=16)
def _file_name(name: str) -> str:
    """Only a file name is taken from the settings: the structure file lives beside the database."""
    return Path(name).name


def _structure(database_path: str, name: str) -> dict[str, Any] | None:
    now = time.monotonic()
    known = _checked.get((database_path, name))
    if known is not None and now - known[0] < RECHECK_SECONDS:
        return _structures[known[1]]
    path = Path(database_path).parent / name
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        log.error("resource structure file %s is missing", name)
        return None
    if key not in _structures:
        _structures[key] = json.loads(path.read_text(encoding="utf-8"))
    _checked[(database_path, name)] = (now, key)
    return _structures[key]


def internal(conf: dict[str, Any], role: str) -> str:
    """The name of a table the build adds for the site, by its role (`search`, `history`, `tables`, `columns`,
    `words`), as the generated metadata hands it (`internal_tables`); "" when it names none (the feature is off)."""
    return str((conf.get("internal_tables") or {}).get(role) or "")


def fts_index(table: str) -> str:
    """Datasette's convention: the full-text index of table T is the FTS5 table T_fts."""
    return f"{table}_fts" if table else ""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def record_href(datasette, db: str, resource: str, record_id: Any) -> str:
    return datasette.urls.table(db, resource) + "/" + tilde_encode(str(record_id))


async def table_names(datasette, db: str) -> set[str]:
    return set(await datasette.get_database(db).table_names())
