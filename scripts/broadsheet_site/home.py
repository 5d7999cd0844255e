"""The home page: what is in the package, when it was last updated, how to cite it, what to download."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from broadsheet_site import charts
from broadsheet_site.config import config, internal, log, quote, table_names
from broadsheet_site.downloads import downloads, table_titles
from broadsheet_site.labels import fmt_number
from broadsheet_site.pages import page_href


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
        "data_as_of": await first_value(database, [conf["data_as_of_sql"]] if conf.get("data_as_of_sql") else []),
        "updated": await last_updated(database, names, conf),
        "citation": conf.get("citation") or {},
        "counts": await counts(datasette, db, names, resources, conf.get("views") or []),
        "headline": await headline(datasette, database, conf.get("headline") or {}),
        "start": [{"title": str(link.get("title") or link["table"]), "href": datasette.urls.table(db, link["table"])
                   + (f"?{link['query']}" if link.get("query") else "")}
                  for link in conf.get("start") or [] if isinstance(link, dict) and link.get("table") in names],
        "charts": [await charts.chart(database, resources, spec, i)
                   for i, spec in enumerate(conf.get("charts") or [])],
        "map": await charts.dot_map(datasette, db, conf.get("map") or {}),
        "downloads": downloads(datasette, db, list(resources) + list(conf.get("views") or []),
                               table_titles(datasette, db, resources)),
        "queries": [{"name": name, "title": q.get("title") or name, "href": datasette.urls.table(db, name)}
                    for name, q in ((datasette.metadata("queries", database=db) or {}).items())],
    }


def cite(citation: dict[str, Any], year: str, url: str) -> str:
    """The citation in one sentence: authors, the year of the last change, the title, the version, the address it
    is read at, the licence (from datapackage.json through the generated metadata; nothing invented)."""
    authors = ", ".join(citation.get("authors") or [])
    head = f"{authors} ({year[:4]})" if authors and year else authors or (f"({year[:4]})" if year else "")
    parts = [head, citation.get("title") or "", f"Version {citation['version']}" if citation.get("version") else "",
             url, f"Licence {citation['license']}" if citation.get("license") else ""]
    return ". ".join(p.rstrip(".") for p in parts if p) + "."


async def citation_of(datasette, request, url: str) -> str:  # type: ignore[no-untyped-def]
    """How to cite what is at `url` (a page's permanent address)."""
    conf = config(datasette)
    db = conf.get("database")
    if not conf.get("citation") or db not in datasette.databases:
        return ""
    names = await table_names(datasette, db)
    year = await last_updated(datasette.get_database(db), names, conf)
    return cite(conf["citation"], year, url)


async def counts(datasette, db: str, names: set[str], resources: dict[str, Any], views: list[str]) -> list[dict]:
    database = datasette.get_database(db)
    known: dict[str, int] = {}
    tables = internal(config(datasette), "tables")
    if tables in names:
        for row in (await database.execute(f"select table_name, row_count from {quote(tables)}")).rows:
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


async def first_value(database, queries: list[str]) -> str:  # type: ignore[no-untyped-def]
    """The first non-empty date (YYYY, YYYY-MM or YYYY-MM-DD) that one of the queries gives."""
    for sql in queries:
        try:
            value = (await database.execute(sql)).single_value()
        except Exception:  # a broken site query must not break the home page
            log.exception("home page date query failed")
            continue
        if value:
            return str(value)[:10]
    return ""


async def last_updated(database, names: set[str], conf: dict[str, Any]) -> str:
    """When the data last changed (shown as "last changed", never as the date of the data): the newest change in
    the record history, else the package's `created` date, else the day the database was built. How recent the
    data is — its newest source — is `data_as_of_sql` in site/metadata.yml, shown as "data as of"."""
    history = internal(conf, "history")
    found = await first_value(database, [f"select max(date) from {quote(history)}"] if history in names else [])
    if found:
        return found
    if conf.get("created"):
        return str(conf["created"])[:10]
    built = Path(database.path).stat().st_mtime if database.path else None
    return datetime.fromtimestamp(built, UTC).date().isoformat() if built else ""


async def headline(datasette, database, spec: dict[str, Any]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The reconciliation headline: site/metadata.yml gives a query and a sentence with {column} blanks, and
    optionally the page kind it links to (`page`) and the query's column that keys that page (`page_key`)."""
    if not spec.get("sql") or not spec.get("text"):
        return {}
    try:
        row = (await database.execute(spec["sql"])).first()
    except Exception:
        log.exception("headline query failed")
        return {}
    if row is None:
        return {}
    values = {key: fmt_number(value) for key, value in dict(row).items()}
    try:
        text = spec["text"].format_map(values)
    except (KeyError, ValueError):
        log.exception("headline text does not match its query")
        return {}
    key = dict(row).get(spec.get("page_key") or "")
    href = page_href(datasette, spec["page"], key) if spec.get("page") and key else None
    return {"text": text, "href": href or ""}
