"""Record pages: a record's facts with their citations, its lists, disagreements between sources, related records
and its dates from the record history."""

from __future__ import annotations

from typing import Any

from datasette.utils import sqlite_timelimit, tilde_decode, tilde_encode

from broadsheet_site.config import config, internal, quote, table_names
from broadsheet_site.labels import Labels, cell, readable
from broadsheet_site.values import fields_of, shown

# The supports query's columns, by position (broadsheet.export.sitemeta writes it): resource, record_id, record,
# fact, and where in the source (the citation table's locator column, whatever the schema names it).
SUPPORTS_WHERE = 4


async def record(datasette, db: str, table: str, pks: str) -> dict[str, Any] | None:
    conf = config(datasette)
    resources = conf.get("resources") or {}
    spec = resources.get(table)
    if conf.get("database") != db or not spec or not spec.get("top_level"):
        return None
    names = await table_names(datasette, db)
    limit_ms = datasette.setting("sql_time_limit_ms")

    def build(conn) -> dict[str, Any] | None:
        with sqlite_timelimit(conn, limit_ms):  # the same bound as every query Datasette runs itself
            return record_page(Labels(datasette, db, resources, conn), conf, table, tilde_decode(pks), names)

    return await datasette.get_database(db).execute_fn(build)


def record_page(labels: Labels, conf: dict[str, Any], table: str, record_id: str,
                names: set[str]) -> dict[str, Any] | None:
    spec = labels.resources[table]
    row = labels.row(table, record_id)
    if row is None:
        return None
    citations = citations_by_field(labels, table, record_id, names)
    facts = []
    for field in spec["fields"]:
        if field["name"] in (spec.get("key") or []):
            continue
        value = cell(labels, spec, field["name"], row.get(field["name"]), row)
        facts.append({**field, "value": value, "citations": citations.get(field["name"], [])})
    lists, disagreements = child_lists(labels, table, record_id, names, conf)
    return {
        "resource": table, "resource_title": spec["title"], "id": record_id,
        "label": str(row.get(spec.get("label") or "") or record_id),
        "facts": facts, "lists": lists, "disagreements": disagreements,
        "paired": paired_disagreements(labels, conf, table, record_id, names),
        "list_citations": {k: v for k, v in citations.items() if k not in row},
        "related": related(labels, table, record_id, names),
        "supports": supports(labels, spec, record_id),
        "table_href": labels.datasette.urls.table(labels.db, table),
        "dates": record_dates(labels, internal(conf, "history"), table, record_id, names),
    }


def supports(labels: Labels, spec: dict[str, Any], record_id: str) -> list[dict[str, Any]]:
    """For a record that citations point at (a source): every record it supports, each with the facts and list
    entries it supports there (from the query the build generates for the resource)."""
    sql = spec.get("supports_sql")
    if not sql:
        return []
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for row in labels.query(sql, {"id": record_id}):
        key = (row["resource"], str(row["record_id"]))
        if key not in records:
            link = labels.link(row["resource"], row["record_id"])
            kind = (labels.resources.get(row["resource"]) or {}).get("title") or row["resource"]
            records[key] = {**link, "kind": kind, "facts": []}
        fact = fact_title(labels.resources.get(row["resource"]) or {}, str(row["fact"] or ""))
        where = list(row.values())[SUPPORTS_WHERE]
        shown_fact = fact + (f" ({where})" if where else "")
        if shown_fact not in records[key]["facts"]:
            records[key]["facts"].append(shown_fact)
    return sorted(records.values(), key=lambda r: (r["kind"], r["text"]))


def fact_title(spec: dict[str, Any], fact: str) -> str:
    """A cited field's title (the query names fields by their column) or a list's title as given."""
    return next((f.get("title") or fact for f in spec.get("fields") or [] if f["name"] == fact), fact)


def source_reference(spec: dict[str, Any]) -> dict[str, str] | None:
    """The foreign key of a child row that names its source: any reference other than the link to the parent."""
    for ref in spec.get("references") or []:
        if ref["column"] not in (spec.get("parent_link") or {}) and ref["table"] != spec.get("parent"):
            return ref
    return None


def child_where(spec: dict[str, Any]) -> str:
    column = next(iter(spec.get("parent_link") or {"id": "id"}))
    order = f" order by {quote(spec['position'])}" if spec.get("position") else ""
    return f"where {quote(column)} = ?{order}"


def citations_by_field(labels: Labels, table: str, record_id: str, names: set[str]) -> dict[str, list]:
    resources = labels.resources
    name = resources[table].get("citation_table")
    if not name or name not in names:
        return {}
    spec = resources[name]
    ref = source_reference(spec)
    found: dict[str, list] = {}
    for row in labels.query(f"select * from {quote(name)} {child_where(spec)}", [record_id]):
        source = labels.link(ref["table"], row[ref["column"]]) if ref else {"text": ""}
        found.setdefault(row[spec["cites"]], []).append(  # the columns in these roles, as the schema declares them
            {"source": source, "locator": row.get(spec.get("locator") or "") or "",
             "note": row.get(spec.get("note") or "") or ""})
    return found


def child_lists(labels: Labels, table: str, record_id: str, names: set[str],
                conf: dict[str, Any]) -> tuple[list, list]:
    resources, lists, disagreements = labels.resources, [], []
    rules = conf.get("disagreements") or {}
    for name in resources[table].get("children") or []:
        spec = resources[name]
        if spec.get("cites") or name not in names:
            continue
        hidden = set(spec.get("parent_link") or {}) | {spec.get("position")}
        columns = [f for f in spec["fields"] if f["name"] not in hidden]
        rows = []
        for row in labels.query(f"select * from {quote(name)} {child_where(spec)}", [record_id]):
            rows.append({"cells": [cell(labels, spec, c["name"], row.get(c["name"]), row) for c in columns],
                         "raw": row, "lists": nested_lists(labels, name, row, names)})
        if rows:
            lists.append({"name": name, "title": spec["title"], "columns": columns, "rows": rows,
                          "href": labels.datasette.urls.table(labels.db, name) + f"?{next(iter(spec['parent_link']))}="
                          + tilde_encode(str(record_id))})
        if name in rules and rows:
            disagreements += disagreeing(spec, rules[name], columns, rows)
    return lists, disagreements


def nested_lists(labels: Labels, table: str, row: dict[str, Any], names: set[str]) -> list[dict[str, Any]]:
    """The lists inside one list entry (grandchildren, and theirs): each child table's rows whose link columns
    hold this entry's values, in their order."""
    found = []
    for name in labels.resources[table].get("children") or []:
        spec = labels.resources[name]
        link = spec.get("parent_link") or {}
        if spec.get("cites") or name not in names or not link:
            continue
        hidden = set(link) | {spec.get("position")}
        columns = [f for f in spec["fields"] if f["name"] not in hidden]
        where = " and ".join(f"{quote(column)} = ?" for column in link)
        order = f" order by {quote(spec['position'])}" if spec.get("position") else ""
        rows = [{"cells": [cell(labels, spec, c["name"], inner.get(c["name"]), inner) for c in columns],
                 "lists": nested_lists(labels, name, inner, names)}
                for inner in labels.query(f"select * from {quote(name)} where {where}{order}",
                                          [row.get(parent) for parent in link.values()])]
        if rows:
            found.append({"name": name, "title": spec["title"], "columns": columns, "rows": rows})
    return found


def disagreeing(spec: dict[str, Any], rule: dict[str, Any], columns: list, rows: list) -> list[dict[str, Any]]:
    """Rows of one record that measure the same thing (same `key` columns) but give different `values`."""
    keys, values = rule.get("key") or [], rule.get("values") or []
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(tuple(row["raw"].get(k) for k in keys), []).append(row)
    found = []
    titles = {c["name"]: c["title"] for c in spec["fields"]}
    for key, members in groups.items():
        distinct = {tuple(m["raw"].get(v) for v in values) for m in members}
        if len(distinct) > 1:
            heading = ", ".join(titles.get(k, k) for k in keys)
            position = {c["name"]: i for i, c in enumerate(columns)}
            words = [members[0]["cells"][position[k]]["text"] if k in position else str(v)
                     for k, v in zip(keys, key, strict=True) if v is not None]
            found.append({"key": f"{heading}: " + " · ".join(words),
                          "sides": [claim(columns, member) for member in members]})
    return found


def claim(columns: list, row: dict[str, Any]) -> dict[str, Any]:
    """One source's side of a disagreement, in the shape pair_side gives: its non-empty values, titled."""
    return {"cells": [{"title": column["title"], "value": value}
                      for column, value in zip(columns, row["cells"], strict=True) if value.get("text")]}


def paired_disagreements(labels: Labels, conf: dict[str, Any], table: str, record_id: str,
                         names: set[str]) -> list[dict[str, Any]]:
    """Disagreements a derived table pairs up across records (e.g. figures of two records linked as the same
    project), configured in site/metadata.yml under `site.paired_disagreements.<table>`:
    `resource` (whose record pages show them), `sides` (column suffixes of the two sides, default [_a, _b]),
    `record` (the column, without suffix, naming each side's record), `key` (columns the pair shares, the
    heading), `columns` (each side's columns, without suffix), `links` (column → table its values name),
    `titles` (column → title), and `same_record` (false: leave out pairs within one record, which the
    record's own lists already show)."""
    found = []
    for name, rule in (conf.get("paired_disagreements") or {}).items():
        if rule.get("resource") != table or name not in names or not rule.get("record"):
            continue
        first, second = rule.get("sides") or ["_a", "_b"]
        own = [quote(rule["record"] + suffix) for suffix in (first, second)]
        rows = labels.query(f"select * from {quote(name)} where {own[0]} = ? or {own[1]} = ? order by rowid",
                            [record_id, record_id])
        for row in rows:
            ids = [row.get(rule["record"] + suffix) for suffix in (first, second)]
            if rule.get("same_record") is False and ids[0] == ids[1]:
                continue
            fields = {f["name"]: f for f in fields_of(conf, labels.db, name)}
            found.append({
                "key": " · ".join(shown(fields[k], row[k], row)["text"] if k in fields
                                  else str(row[k]).replace("_", " ")
                                  for k in rule.get("key") or [] if row.get(k) not in (None, "")),
                "sides": [pair_side(labels, rule, row, suffix, record_id, fields) for suffix in (first, second)],
            })
    return found


def pair_side(labels: Labels, rule: dict[str, Any], row: dict[str, Any], suffix: str,
              record_id: str, fields: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One side of a pair: its record (linked unless it is the page's own) and its values, titled; a column the
    derived table's documentation marks (`fields`: codes, money) is shown as the schema says."""
    links, titles = rule.get("links") or {}, rule.get("titles") or {}
    cells = []
    for column in [rule["record"], *(rule.get("columns") or [])]:
        value = row.get(column + suffix)
        if value in (None, ""):
            continue
        kind = "number" if isinstance(value, int | float) else None
        if column in links:
            value_shown = labels.link(links[column], value)
        elif column + suffix in (fields or {}):
            value_shown = shown((fields or {})[column + suffix], value, row)
        else:
            value_shown = {"text": readable(kind, value)}
        if column == rule["record"] and str(value) == str(record_id):
            value_shown = {**value_shown, "href": None, "text": value_shown["text"] + " (this record)"}
        cells.append({"title": titles.get(column) or column_words(column), "value": value_shown})
    return {"cells": cells}


def column_words(column: str) -> str:
    """`source_id` → `Source`: a column name as words, for derived tables that have no schema titles."""
    words = column.removesuffix("_id").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def related(labels: Labels, table: str, record_id: str, names: set[str]) -> list[dict[str, Any]]:
    """Records that point at this one: top-level records directly, child rows through their parent record."""
    resources = labels.resources
    groups: dict[str, dict[str, Any]] = {}
    for name, spec in resources.items():
        if name not in names:
            continue
        for ref in spec.get("references") or []:
            is_own_child = spec.get("parent") == table and ref["column"] in (spec.get("parent_link") or {})
            if ref["table"] != table or is_own_child:
                continue
            owner = name if spec.get("top_level") else top_ancestor(resources, name)
            link_column = spec["key"][0] if spec.get("top_level") else owner_column(resources, name)
            if owner is None or link_column is None:
                continue
            found = labels.conn.execute(
                f"select distinct {quote(link_column)} from {quote(name)} where {quote(ref['column'])} = ?",
                [record_id]).fetchall()
            title_of_column = next((f["title"] for f in spec["fields"] if f["name"] == ref["column"]), ref["column"])
            group = groups.setdefault(owner, {"title": resources[owner]["title"], "items": []})
            for (other_id,) in found:
                if owner == table and other_id == record_id:
                    continue
                link = labels.link(owner, other_id)
                link["via"] = spec["title"] if not spec.get("top_level") else title_of_column
                if all(item["id"] != link["id"] for item in group["items"]):
                    group["items"].append(link)
    return [g for g in groups.values() if g["items"]]


def top_ancestor(resources: dict[str, Any], name: str) -> str | None:
    seen = 0
    while name in resources and not resources[name].get("top_level") and seen < 10:
        name, seen = resources[name].get("parent"), seen + 1
    return name if name in resources and resources[name].get("top_level") else None


def owner_column(resources: dict[str, Any], name: str) -> str | None:
    """The column of a child table that holds its top-level record's id (direct children only)."""
    spec = resources[name]
    if resources.get(spec.get("parent"), {}).get("top_level"):
        return next(iter(spec.get("parent_link") or {}), None)
    return None


def record_dates(labels: Labels, history: str, resource: str, record_id: str, names: set[str]) -> dict[str, str]:
    """When the record was first added and last changed, from the history of the data (the table `history`)."""
    if history not in names:
        return {}
    row = labels.conn.execute(
        f"select min(date), max(date) from {quote(history)} where resource = ? and record_id = ?",
        [resource, record_id]).fetchone()
    return {"added": row[0], "changed": row[1]} if row and row[0] else {}
