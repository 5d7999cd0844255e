"""The home page: what is in the package, when it was last updated, how to cite it, what to download."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from broadsheet_site.config import config, log, quote, table_names
from broadsheet_site.downloads import downloads, table_titles
from broadsheet_site.labels import fmt_number


async def home(datasette) -> dict[str, Any]:
    conf = config(datasette)
    db = conf.get("database")
    if not db or db not in datasette.databases:
        return {}
    database = datasette.get_database(db)
    names = await table_names(datasette, db)
    resources = conf.get("resources") or {}
    return {
        "db": db,
        "intro": conf.get("intro") or "",
        "version": conf.get("version") or "",
        "updated": await last_updated(database, names, conf),
        "citation": conf.get("citation") or {},
        "counts": await counts(datasette, db, names, resources, conf.get("views") or []),
        "headline": await headline(database, conf.get("headline") or {}),
        "downloads": downloads(datasette, db, list(resources) + list(conf.get("views") or []),
                               table_titles(datasette, db, resources)),
        "queries": [{"name": name, "title": q.get("title") or name, "href": datasette.urls.table(db, name)}
                    for name, q in ((datasette.metadata("queries", database=db) or {}).items())],
    }


async def counts(datasette, db: str, names: set[str], resources: dict[str, Any], views: list[str]) -> list[dict]:
    database = datasette.get_database(db)
    known: dict[str, int] = {}
    if "_tables" in names:
        for row in (await database.execute("select table_name, row_count from _tables")).rows:
            known[row[0]] = row[1]
    rows = []
    for name in [*resources, *views]:
        if name not in names:
            continue
        if name not in known:
            known[name] = (await database.execute(f"select count(*) from {quote(name)}")).single_value()
        spec = resources.get(name) or {}
        rows.append({"name": name, "title": spec.get("title") or name.replace("_", " ").capitalize(),
                     "count": known[name], "top_level": bool(spec.get("top_level")), "view": name in views,
                     "href": datasette.urls.table(db, name)})
    return rows


async def last_updated(database, names: set[str], conf: dict[str, Any]) -> str:
    """The newest change in the record history, else the site's own query for it (e.g. the newest source), else
    the package's `created` date, else the day the database was built."""
    queries = []
    if "record_history" in names:
        queries.append("select max(date) from record_history")
    if conf.get("updated_sql"):
        queries.append(conf["updated_sql"])
    for sql in queries:
        try:
            value = (await database.execute(sql)).single_value()
        except Exception:  # a broken site query must not break the home page
            log.exception("last-updated query failed")
            continue
        if value:
            return str(value)[:10]
    if conf.get("created"):
        return str(conf["created"])[:10]
    built = Path(database.path).stat().st_mtime if database.path else None
    return datetime.fromtimestamp(built, UTC).date().isoformat() if built else ""


async def headline(database, spec: dict[str, Any]) -> str:
    """The reconciliation headline: site/metadata.yml gives a query and a sentence with {column} blanks."""
    if not spec.get("sql") or not spec.get("text"):
        return ""
    try:
        row = (await database.execute(spec["sql"])).first()
    except Exception:
        log.exception("headline query failed")
        return ""
    if row is None:
        return ""
    values = {key: fmt_number(value) for key, value in dict(row).items()}
    try:
        return spec["text"].format_map(values)
    except (KeyError, ValueError):
        log.exception("headline text does not match its query")
        return ""
