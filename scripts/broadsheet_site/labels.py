"""Display names of records and values as shown: foreign keys become links with the target's name."""

from __future__ import annotations

import json
from typing import Any

from broadsheet_site.config import quote, record_href


class Labels:
    """Display names of records, looked up once per page, on a connection of one SQL thread: a page's many small
    lookups run in one hop to that thread instead of one hop (and one wait for the event loop) each, which under
    load cost more than the queries themselves."""

    def __init__(self, datasette, db: str, resources: dict[str, Any], conn) -> None:
        self.datasette, self.db, self.resources, self.conn = datasette, db, resources, conn
        self.cache: dict[tuple[str, str], dict[str, Any] | None] = {}

    def query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return [dict(row) for row in self.conn.execute(sql, params).fetchall()]

    def row(self, resource: str, record_id: Any) -> dict[str, Any] | None:
        key = (resource, str(record_id))
        if key not in self.cache:
            spec = self.resources.get(resource) or {}
            pk = (spec.get("key") or ["id"])[0]
            rows = self.query(f"select * from {quote(resource)} where {quote(pk)} = ?", [record_id])
            self.cache[key] = rows[0] if rows else None
        return self.cache[key]

    def link(self, resource: str, record_id: Any) -> dict[str, Any]:
        spec = self.resources.get(resource) or {}
        row = self.row(resource, record_id)
        label = row.get(spec.get("label") or "") if row else None
        href = record_href(self.datasette, self.db, resource, record_id) if spec.get("top_level") else None
        url = row.get(spec.get("url") or "") if row else None
        return {"text": str(label or record_id), "id": str(record_id), "href": href, "url": url or None}


def cell(labels: Labels, spec: dict[str, Any], column: str, value: Any) -> dict[str, Any]:
    """A value as shown: a foreign key becomes a link with the target's name."""
    if value is None or value == "":
        return {"text": ""}
    for ref in spec.get("references") or []:
        if ref["column"] == column:
            return labels.link(ref["table"], value)
    kind = next((f.get("type") for f in spec.get("fields") or [] if f["name"] == column), None)
    return {"text": readable(kind, value)}


def readable(kind: str | None, value: Any) -> str:
    """Numbers with thousands separators, lists (stored as JSON) as comma-separated text."""
    if kind in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt_number(value)
    if kind == "array" and isinstance(value, str) and value.startswith("["):
        try:
            items = json.loads(value)
        except ValueError:
            return value
        return ", ".join(str(item) for item in items) if isinstance(items, list) else value
    if kind == "boolean" and value in (0, 1):
        return "yes" if value else "no"
    return str(value)


def fmt_number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,}"
    return "" if value is None else value
