"""The Atom feed of records added or changed, from the record history."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from datasette import Response

from broadsheet_site.config import config, internal, quote, record_href, table_names
from broadsheet_site.labels import Labels

FEED_LIMIT = 100


def atom_date(value: Any) -> str:
    text = str(value or "1970-01-01")
    if len(text) == 10:
        return text + "T00:00:00Z"
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


async def changes_feed(datasette, request) -> Response:
    conf = config(datasette)
    db = conf.get("database") or ""
    base = f"{request.scheme}://{request.host}"
    entries, updated = [], atom_date(conf.get("created") or None)
    history = internal(conf, "history")
    if db in datasette.databases and history in await table_names(datasette, db):
        rows = (await datasette.get_database(db).execute(
            "select resource, record_id, date, \"commit\", subject, change, fields_changed "
            f"from {quote(history)} order by date desc, rowid desc limit ?", [FEED_LIMIT])).rows
        resources = conf.get("resources") or {}

        def find_links(conn) -> list[dict[str, Any]]:
            labels = Labels(datasette, db, resources, conn)
            return [labels.link(r["resource"], r["record_id"]) if r["resource"] in resources else {} for r in rows]

        links = await datasette.get_database(db).execute_fn(find_links)
        for row, link in zip(rows, links, strict=True):
            href = base + (link.get("href") or record_href(datasette, db, row["resource"], row["record_id"]))
            entries.append(
                f"<entry><title>{escape(str(row['change'] or 'changed').capitalize())} in "
                f"{escape(resources.get(row['resource'], {}).get('title', row['resource']))}: "
                f"{escape(link.get('text') or str(row['record_id']))}</title>"
                f"<id>urn:broadsheet:{escape(db)}:{escape(row['resource'])}:{escape(str(row['record_id']))}:"
                f"{escape(str(row['commit']))}</id><link href=\"{escape(href)}\"/>"
                f"<updated>{escape(atom_date(row['date']))}</updated>"
                f"<summary>{escape(str(row['subject'] or ''))}{escape(changed_fields(row['fields_changed']))}</summary>"
                "</entry>")
        if rows:
            updated = atom_date(rows[0]["date"])
    title = escape(datasette.metadata("title") or db)
    body = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{title}: records added or changed</title><id>urn:broadsheet:{escape(db)}:changes</id>"
            f"<updated>{updated}</updated><author><name>{title}</name></author>"
            f"<link rel=\"self\" href=\"{escape(base)}/-/changes.atom\"/><link href=\"{escape(base)}/\"/>"
            + "".join(entries) + "</feed>\n")
    return Response(body, content_type="application/atom+xml; charset=utf-8")


def changed_fields(value: Any) -> str:
    """` (fields: a, b)` from the JSON list the history stores; empty when nothing is listed."""
    try:
        names = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        names = [value]
    return f" (fields: {', '.join(str(n) for n in names)})" if names else ""
