"""The plugin's settings (the `plugins.broadsheet` block that `broadsheet.export.sitemeta` generates) and the
small helpers every page uses. Generic: nothing here names a table of any dataset."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from datasette.utils import tilde_encode

PLUGIN = "broadsheet"
log = logging.getLogger("broadsheet.site")
_structures: dict[tuple[str, float], dict[str, Any]] = {}
LINKS: dict[str, Path] = {}  # database name → the path the site was started on, when it answers a pinned build


_settings: dict[int, tuple[Any, dict[str, Any]]] = {}


def settings(datasette) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The `plugins.broadsheet` block as `datasette.plugin_config` gives it, resolved once per metadata object:
    plugin_config walks the whole block for `$env`/`$file` secrets on every call, and table pages call it for
    every cell (render_cell), which cost 2 ms a cell — seconds a table page."""
    raw = (datasette.metadata("plugins") or {}).get(PLUGIN)
    cached = _settings.get(id(datasette))
    if cached is not None and cached[0] is raw:
        return cached[1]
    resolved = datasette.plugin_config(PLUGIN) or {}
    _settings[id(datasette)] = (raw, resolved)
    return resolved


def config(datasette) -> dict[str, Any]:
    """The plugin's settings, with the resource structure. The structure is large, and Datasette deep-copies its
    whole metadata on every permission check, so `broadsheet serve` keeps it in a file beside the database
    (named by `resources_file`) that is read once."""
    conf = dict(settings(datasette))
    name, db = conf.get("resources_file"), conf.get("database")
    if name and "resources" not in conf and db in datasette.databases and datasette.get_database(db).path:
        path = Path(LINKS.get(db) or datasette.get_database(db).path).parent / Path(name).name
        try:
            key = (str(path), path.stat().st_mtime)
        except OSError:
            log.error("resource structure file %s is missing", Path(name).name)
            return conf
        if key not in _structures:
            _structures[key] = json.loads(path.read_text(encoding="utf-8"))
        conf["resources"] = _structures[key]
    return conf


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def record_href(datasette, db: str, resource: str, record_id: Any) -> str:
    return datasette.urls.table(db, resource) + "/" + tilde_encode(str(record_id))


async def table_names(datasette, db: str) -> set[str]:
    return set(await datasette.get_database(db).table_names())
