"""Pages that answer a question about one record, drawn from sections the dataset declares.

A dataset declares page kinds in site/metadata.yml under `site.pages.<kind>`; nothing here knows what a kind is
about (a claim and what it contains, a project's story, …). Each kind has

    title      what one page is, e.g. "Claim" (the kicker above the heading)
    resource   the resource whose ids key the pages: `/<path>/<id>`; its record pages link here, and the heading
               is that record's label
    path       the first segment of the address (default: the kind's name)
    links_from {table: column or [columns]}: cells of that column in that table (a derived view, say) link to the page
    sections   in order, each
        title    the section's heading
        kind     `facts` (the first row as titled values), `list` (every row, as a list of titled values),
                 `sentence` (the first row's values in `text`'s {column} blanks), `text` (`text` as it is) or
                 `chart` (the rows as a bar chart drawn on the server, SVG: `bar`, `series`, `value`,
                 `currency_column`, `order`, `description` as for the home page's charts, broadsheet_site.charts)
        timeline a column of a `list` whose value (a date) heads each item: the list is drawn as a timeline
        sql      the query (read-only, `:id` is the page's id) for every kind but `text`
        columns  the columns shown, in order; each a name or a mapping with `name` and optionally
                 `title`, `link` (a resource whose record the value names), `page` (a page kind the value keys),
                 `unit_column` (a column holding the currency or unit of this amount: money is shown compact
                 with its currency, the exact figure on hover), `field` ("resource.field": shown as that field
                 is shown on record pages, codes as their labels), `list: true` (the value is a JSON array,
                 as json_group_array makes it: each item shown, with `field` as that field shows one),
                 `suffix` (a column whose value follows in
                 brackets), `suffix_field` ("resource.field" whose labels the suffix's codes take), `label` (a
                 column whose value is the text of the link)
        text     for `sentence` and `text`; `empty`: what to say when the query returns no row
        note     a sentence under the heading

Values are shown as record pages show them (broadsheet.display, the one rule): names instead of ids (linked),
codes as their schema labels, money compact with its currency, numbers with separators.
"""

from __future__ import annotations

from typing import Any

from datasette import NotFound, Response
from datasette.utils import sqlite_timelimit, tilde_decode, tilde_encode

from broadsheet_site import charts
from broadsheet_site.config import config
from broadsheet_site.labels import Labels, cell, fmt_number, readable
from broadsheet_site.values import code_label, money
from broadsheet_site.values import shown as shown_value

KINDS = ("facts", "list", "sentence", "text", "chart")


def page_kinds(datasette) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    found = config(datasette).get("pages") or {}
    return {name: spec for name, spec in found.items() if isinstance(spec, dict)}


def route_pattern(datasette) -> str | None:  # type: ignore[no-untyped-def]
    """The pattern of every declared page kind's addresses, or None when the dataset declares none."""
    import re

    paths = sorted({re.escape(path_of(name, spec)) for name, spec in page_kinds(datasette).items()})
    return rf"^/(?P<bs_page>{'|'.join(paths)})/(?P<bs_key>[^/]+)$" if paths else None


def path_of(name: str, spec: dict[str, Any]) -> str:
    return str(spec.get("path") or name)


def page_href(datasette, kind: str, record_id: Any) -> str | None:  # type: ignore[no-untyped-def]
    spec = page_kinds(datasette).get(kind)
    return f"/{path_of(kind, spec)}/{tilde_encode(str(record_id))}" if spec else None


def pages_of_resource(datasette, resource: str, record_id: Any) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """Links to the pages keyed by a record, for its record page."""
    return [{"title": str(spec.get("title") or name), "href": page_href(datasette, name, record_id) or ""}
            for name, spec in page_kinds(datasette).items() if spec.get("resource") == resource]


async def page(datasette, request) -> Response:  # type: ignore[no-untyped-def]
    kinds = page_kinds(datasette)
    path, key = request.url_vars["bs_page"], tilde_decode(request.url_vars["bs_key"])
    kind = next((name for name, spec in kinds.items() if path_of(name, spec) == path), None)
    conf = config(datasette)
    db = conf.get("database")
    if kind is None or db not in datasette.databases:
        raise NotFound("No such page")
    spec, resources = kinds[kind], conf.get("resources") or {}
    limit_ms = datasette.setting("sql_time_limit_ms")

    def build(conn) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
        with sqlite_timelimit(conn, limit_ms):
            return page_content(Labels(datasette, db, resources, conn), kind, spec, key)

    content = await datasette.get_database(db).execute_fn(build)
    if content is None:
        raise NotFound(f"No {spec.get('title') or kind} with the id {key}")
    content["permanent"] = datasette.absolute_url(request, request.path)
    from broadsheet_site.home import citation_of

    content["cite"] = await citation_of(datasette, request, content["permanent"])
    html = await datasette.render_template(["broadsheet_page.html"], {"bs_page": content}, request=request)
    return Response.html(html)


def page_content(labels: Labels, kind: str, spec: dict[str, Any], key: str) -> dict[str, Any] | None:
    resource = spec.get("resource")
    if not resource or labels.row(resource, key) is None:
        return None
    record = labels.link(resource, key)
    return {"kind": kind, "kind_title": str(spec.get("title") or kind), "id": key, "label": record["text"],
            "record_href": record.get("href"),
            "sections": [section(labels, s, key, i) for i, s in enumerate(spec.get("sections") or [])
                         if s.get("kind") in KINDS]}


def section(labels: Labels, spec: dict[str, Any], key: str, number: int = 0) -> dict[str, Any]:
    kind = spec["kind"]
    found: dict[str, Any] = {"kind": kind, "title": spec.get("title") or "", "note": spec.get("note") or "",
                             "anchor": str(spec.get("anchor") or ""), "text": "", "rows": [], "chart": {},
                             "timeline": bool(spec.get("timeline"))}
    if kind == "text":
        found["text"] = str(spec.get("text") or "")
        return found
    rows = labels.query(str(spec.get("sql") or "select 1 where 0"), {"id": key})  # type: ignore[arg-type]
    if kind == "chart":
        drawn = charts.drawn(rows, labels.resources, {**spec, "description": spec.get("description") or ""},
                             number=100 + number)
        found["chart"] = drawn
        found["text"] = "" if drawn else str(spec.get("empty") or "")
        return found
    columns = [column_spec(c) for c in spec.get("columns") or (list(rows[0]) if rows else [])]
    shown = [[(c, value(labels, c, row)) for c in columns] for row in rows]
    if kind == "sentence":
        found["text"] = sentence(str(spec.get("text") or ""), shown[0]) if shown else ""
    else:
        found["rows"] = [[{"title": c["title"], **v} for c, v in r if v.get("text")]
                         for r in (shown[:1] if kind == "facts" else shown)]
        if found["timeline"]:  # each item headed by its date (none when the row has no date)
            when = spec["timeline"]
            found["rows"] = [{"when": next((v["text"] for c, v in r if c["name"] == when), ""),
                              "cells": [{"title": c["title"], **v} for c, v in r
                                        if v.get("text") and c["name"] != when]}
                             for r in shown]
    if not rows:
        found["text"] = str(spec.get("empty") or "")
    return found


def column_spec(column: str | dict[str, Any]) -> dict[str, Any]:
    spec = {"name": column} if isinstance(column, str) else dict(column)
    spec.setdefault("title", column_words(spec["name"]))
    return spec


def column_words(column: str) -> str:
    words = column.removesuffix("_id").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def value(labels: Labels, column: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """One cell as shown: {text, href}."""
    raw = row.get(column["name"])
    if raw is None or raw == "":
        return {"text": ""}
    if column.get("link"):
        shown = labels.link(column["link"], raw)
    elif column.get("page"):
        shown = {"text": str(raw), "href": page_href(labels.datasette, column["page"], raw)}
    elif column.get("field") and "." in column["field"]:
        resource, field = column["field"].split(".", 1)
        spec = labels.resources.get(resource) or {}
        if column.get("list"):  # a JSON array of that field's values, each shown as the field shows one
            spec = {**spec, "references": [], "fields": [{**f, "type": "array"} for f in spec.get("fields") or []
                                                         if f["name"] == field]}
        shown = cell(labels, spec, field, raw)
    elif column.get("list"):
        shown = shown_value({"type": "array"}, raw, row)
    else:
        kind = "number" if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        shown = {"text": readable(kind, raw)}
    if column.get("label") and row.get(column["label"]) not in (None, ""):
        shown = {**shown, "text": str(row[column["label"]])}
    if column.get("unit_column") and isinstance(raw, int | float) and not isinstance(raw, bool):
        unit = row.get(column["unit_column"])
        compact = money(raw, unit)
        exact = f"{unit or ''} {fmt_number(raw)}".strip()
        shown = {**shown, "text": compact or exact, "exact": exact if compact else ""}
    if column.get("suffix") and row.get(column["suffix"]) not in (None, ""):
        shown = {**shown, "after": code_label(field_labels(labels, column.get("suffix_field")), row[column["suffix"]])}
    return {"text": shown.get("text") or "", "href": shown.get("href"), "after": shown.get("after") or "",
            "exact": shown.get("exact") or ""}


def field_labels(labels: Labels, field: str | None) -> dict[str, str]:
    """The codes' labels of a schema field named "resource.field" (none when it declares none)."""
    resource, _, name = str(field or "").partition(".")
    spec = labels.resources.get(resource) or {}
    return next((f.get("labels") or {} for f in spec.get("fields") or [] if f["name"] == name), {})


def sentence(text: str, cells: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    values = {c["name"]: v["text"] + (f" ({v['after']})" if v.get("after") else "") for c, v in cells}
    try:
        return text.format_map(values)
    except (KeyError, ValueError):
        return ""

