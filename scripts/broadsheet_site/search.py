"""Search: full-text matches and a spelling-insensitive substring search over one folded index."""

from __future__ import annotations

import asyncio
import re
from array import array
from bisect import bisect_right
from itertools import accumulate
from pathlib import Path
from typing import Any

from datasette import Response

from broadsheet.words import fold
from broadsheet_site import forgiving
from broadsheet_site.config import config, fts_index, internal, log, quote, record_href, table_names
from broadsheet_site.record import top_ancestor

SEARCH_LIMIT = 200


def fts_query(text: str) -> str:
    """Every word as a quoted prefix term, so no visitor input is read as FTS syntax."""
    words = [w for w in re.split(r"\s+", text.strip()) if w][:12]
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


class FoldedIndex:
    """Every searchable text of the immutable database, folded (see `fold`) and joined into one string, so a
    spelling-insensitive substring search is one C-level `str.find` per hit instead of a Python function call on
    every row (a full scan of 370k texts took over a second, past the SQL time limit). Built once per database
    file; about 2 bytes per character of searchable text."""

    def __init__(self, rowids: list[int], texts: list[str]) -> None:
        self.rowids = array("q", rowids)
        self.text = "\n".join(texts)
        self.starts = array("q", accumulate((len(t) + 1 for t in texts[:-1]), initial=0))

    @classmethod
    def from_rows(cls, rows: list[tuple[int, str]]) -> FoldedIndex:
        # One fold over everything: texts cannot hold the separator, and folding never creates one.
        joined = fold("\n".join(str(text).replace("\n", " ") for _, text in rows))
        return cls([rowid for rowid, _ in rows], joined.split("\n") if rows else [])

    def find(self, text: str, limit: int) -> list[int]:
        """Row ids whose folded text contains the folded `text`, in row order, each row once."""
        needle = fold(" ".join(text.split()))
        found: list[int] = []
        position = 0
        while needle and len(found) < limit:
            position = self.text.find(needle, position)
            if position < 0:
                break
            row = bisect_right(self.starts, position) - 1
            found.append(self.rowids[row])
            position = self.starts[row + 1] if row + 1 < len(self.starts) else len(self.text)
        return found


_indexes: dict[tuple[str, float], FoldedIndex] = {}
_building: dict[tuple[str, float, int], asyncio.Future] = {}


def forget(path: str) -> None:
    """Drop the folded indexes of a database file no longer served (a build the site has moved on from)."""
    for key in [key for key in _indexes if key[0] == path]:
        del _indexes[key]
    forgiving.forget(path)


async def folded_index(database, table: str) -> FoldedIndex:
    """The database's folded search index, built on first use in a SQL thread (concurrent callers share the
    build; kept for the life of the process, keyed by the file and its modification time). `table` is the
    search table the metadata names."""
    key = (str(database.path), Path(database.path).stat().st_mtime if database.path else 0.0)
    if key in _indexes:
        return _indexes[key]
    building = (*key, id(asyncio.get_running_loop()))
    if building not in _building:
        def build(conn) -> FoldedIndex:
            return FoldedIndex.from_rows(conn.execute(f"select rowid, text from {quote(table)} order by rowid")
                                         .fetchall())

        _building[building] = asyncio.ensure_future(database.execute_fn(build))
    try:
        _indexes[key] = await _building[building]
    finally:
        _building.pop(building, None)
    return _indexes[key]


def forgiving_tables(conf: dict[str, Any]) -> forgiving.Tables:
    return forgiving.Tables(internal(conf, "search"), internal(conf, "words"))


async def prepare(database, conf: dict[str, Any], names: set[str]) -> None:  # type: ignore[no-untyped-def]
    """Build a database's search indexes before the first visitor searches."""
    tables = forgiving_tables(conf)
    if tables.search in names:
        await folded_index(database, tables.search)
        if tables.words in names:
            await forgiving.search_index(database, tables)


async def search(datasette, q: str) -> list[dict[str, Any]]:
    conf = config(datasette)
    db = conf.get("database")
    q = q.strip()[:200]
    table = internal(conf, "search")
    if not q or not db or db not in datasette.databases or table not in await table_names(datasette, db):
        return []
    database = datasette.get_database(db)
    found: list[dict[str, Any]] = []
    names = await table_names(datasette, db)
    tables = forgiving_tables(conf)
    if tables.words and tables.words in names:
        index = await forgiving.search_index(database, tables)
        found += await database.execute_fn(lambda conn: index.search(conn, q, SEARCH_LIMIT))
    # The forgiving search ranks best; the full-text and substring searches add what it missed, only while the
    # page is not yet full (their records would rank below the last one shown).
    if fts_index(table) in names and records_in(found) < SEARCH_LIMIT:
        try:
            found += [dict(r) for r in (await database.execute(
                f"select s.resource, s.record_id, s.label, s.field, s.text from {quote(fts_index(table))} f "
                f"join {quote(table)} s on s.rowid = f.rowid where {quote(fts_index(table))} match ? "
                "order by f.rank limit ?", [fts_query(q), SEARCH_LIMIT])).rows]
        except Exception:  # an odd query must not become an error page; the spelling search below still runs
            log.info("full-text query failed for %r", q)
    if records_in(found) < SEARCH_LIMIT:
        rowids = (await folded_index(database, table)).find(q, SEARCH_LIMIT)
        if rowids:
            found += [dict(r) for r in (await database.execute(
                f"select resource, record_id, label, field, text from {quote(table)} where rowid in "
                f"({', '.join('?' for _ in rowids)}) order by rowid", rowids)).rows]
    return ranked_results(datasette, db, conf.get("resources") or {}, found)[:SEARCH_LIMIT]


def records_in(found: list[dict[str, Any]]) -> int:
    return len({(hit["resource"], str(hit["record_id"])) for hit in found})


def ranked_results(datasette, db: str, resources: dict[str, Any], found: list[dict]) -> list[dict[str, Any]]:
    """One result per record, in the order found (the forgiving search's ranking first), with its kind."""
    results = []
    for group in group_results(datasette, db, resources, found):
        results += [{**item, "kind": group["title"], "group": group["resource"]} for item in group["items"]]
    return sorted(results, key=lambda item: item["rank"])


def group_results(datasette, db: str, resources: dict[str, Any], found: list[dict]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    for hit in found:
        resource = hit["resource"] if resources.get(hit["resource"], {}).get("top_level") else \
            top_ancestor(resources, hit["resource"]) or hit["resource"]
        key = (resource, str(hit["record_id"]))
        if key in seen:
            continue
        seen.add(key)
        group = groups.setdefault(resource, {"resource": resource, "items": [],
                                             "title": resources.get(resource, {}).get("title", resource)})
        group["items"].append({**hit, "href": record_href(datasette, db, resource, hit["record_id"]), "rank": len(seen),
                               "matched": hit["text"] if hit["text"] != hit["label"] else "",
                               "field_title": field_title(resources, hit["resource"], hit["field"])})
    return list(groups.values())


def field_title(resources: dict[str, Any], resource: str, field: str) -> str:
    """The schema's title of the column a search hit matched: `field` is `column` of the record's own table, or
    `child_table.column` for a child list (e.g. other names). A child column with a plain name (`name`) is
    titled with its list (`Other names: Name`), so the journalist sees where the match is."""
    table, _, column = field.rpartition(".")
    spec = resources.get(table or resource) or {}
    title = next((f.get("title") or column for f in spec.get("fields") or [] if f["name"] == column), column)
    if table and spec.get("title"):
        return f"{spec['title']}: {title}" if title.lower() not in spec["title"].lower() else spec["title"]
    return title


async def search_page(datasette, request) -> Response:
    q = request.args.get("q", "")
    results = await search(datasette, q) if q.strip() else []
    html = await datasette.render_template("search.html", {"q": q, "results": results, "total": len(results),
                                                           "full": len(results) >= SEARCH_LIMIT}, request=request)
    return Response.html(html)
