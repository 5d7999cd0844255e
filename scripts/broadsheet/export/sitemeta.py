"""Datasette metadata generated from datapackage.json and the schemas, merged with the prose in site/metadata.yml.

The generated part is mechanical (titles, column descriptions with units, facets, label columns, hidden internal
tables, one canned query per citation target). The hand-written part (site/metadata.yml) wins wherever both say
something. A `plugins.broadsheet` block describes the resource structure (labels, children, citation tables,
foreign keys) so that the site's plugins stay generic: they read this block and never name a table.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import yaml

from broadsheet.atomic import write_atomically
from broadsheet.display import readable_name
from broadsheet.errors import ConfigError
from broadsheet.export.history import HISTORY_TABLE
from broadsheet.export.sqlite import COLUMNS, SEARCH, TABLES
from broadsheet.layout import Layout
from broadsheet.package import PackageSpec, ResourceSpec, citation
from broadsheet.viewdoc import Fault, view_doc
from broadsheet.words import WORDS

PROSE = "metadata.yml"
# Tables the build adds for the site itself; nobody browses them as data.
# The tables the build adds besides the package's, named where they are made; the site learns them from the
# generated metadata (`plugins.broadsheet.internal_tables`).
INTERNAL = {"search": SEARCH, "columns": COLUMNS, "tables": TABLES, "history": HISTORY_TABLE, "words": WORDS}
INTERNAL_TABLES = tuple(INTERNAL.values())
FTS_INDEXES = ("_fts", "_trigram")
FTS_SHADOWS = ("", "_data", "_idx", "_docsize", "_config", "_content")


def database_name(package: PackageSpec) -> str:
    return package.name


def read_prose(path: Path) -> dict[str, Any]:
    """site/metadata.yml, or nothing when the dataset has no hand-written prose."""
    if not path.is_file():
        return {}
    try:
        prose = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {getattr(error, 'problem', error)}", path=path.name,
                          line=mark.line + 1 if mark else 0, column=mark.column + 1 if mark else 0) from None
    if not isinstance(prose, dict):
        raise ConfigError("site metadata must be a mapping", path=path.name, line=1, column=1)
    return prose


def merge(generated: Any, written: Any) -> Any:
    """Deep merge of two metadata trees; the hand-written value wins, mappings merge key by key."""
    if isinstance(generated, dict) and isinstance(written, dict):
        merged = dict(generated)
        for key, value in written.items():
            merged[key] = merge(generated.get(key), value) if key in generated else value
        return merged
    return written


def column_description(spec: ResourceSpec, name: str) -> str:
    field = spec.field_map[name]
    text = field.description.strip()
    unit = field.flag("unit")
    if unit:
        text = f"{text} Unit: {unit}." if text else f"Unit: {unit}."
    return text


def label_column(spec: ResourceSpec) -> str | None:
    return spec.label_field


def url_column(spec: ResourceSpec) -> str | None:
    """The field that holds a record's address on the web (a `format: uri` field), used to link to sources."""
    urls = [f.name for f in spec.fields if f.descriptor.get("format") == "uri"]
    return urls[0] if urls else None


def references(package: PackageSpec, spec: ResourceSpec) -> list[dict[str, str]]:
    """Single-column foreign keys, with the self-reference (`resource: ""`) resolved to the table itself."""
    found = []
    for fk in spec.foreign_keys:
        if len(fk["fields"]) != 1:
            continue
        target = fk["reference"]["resource"] or spec.name
        if target in package.resources:
            found.append({"column": fk["fields"][0], "table": target, "other_column": fk["reference"]["fields"][0]})
    return found


# Sorting a table by a column without an index sorts the whole table on every page (70k rows: ~6 ms for the first
# page, ~100 ms for a deep `_next` page, measured on the benchmark). Below this many rows that is cheap everywhere.
UNINDEXED_SORT_ROWS = 10_000


def cheap_sorts(database: Path) -> set[tuple[str, str]] | None:
    """(table, column) pairs a page can be sorted by without sorting the whole table: the first column of an index,
    or any column of a small table. None when there is no built database to look at (then every sort is kept)."""
    if not database.is_file():
        return None
    cheap: set[tuple[str, str]] = set()
    with sqlite3.connect(f"{database.resolve().as_uri()}?immutable=1", uri=True) as conn:
        tables = [row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            quoted = table.replace('"', '""')
            columns = [row[1] for row in conn.execute(f'pragma table_info("{quoted}")')]
            small = conn.execute(f'select count(*) from (select 1 from "{quoted}" limit ?)',
                                 [UNINDEXED_SORT_ROWS + 1]).fetchone()[0] <= UNINDEXED_SORT_ROWS
            indexed = {conn.execute(f'pragma index_info("{index[1]}")').fetchone()[2]
                       for index in conn.execute(f'pragma index_list("{quoted}")')}
            cheap |= {(table, c) for c in columns if small or c in indexed}
    return cheap


def table_metadata(package: PackageSpec, spec: ResourceSpec,
                   cheap: set[tuple[str, str]] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"title": spec.title, "description": spec.description.strip(),
                            "columns": {f.name: column_description(spec, f.name) for f in spec.fields}}
    facets = [{"array": f.name} if f.type == "array" else f.name for f in spec.fields if f.flag("facet")]
    if facets:
        meta["facets"] = facets
    label = label_column(spec)
    if label:
        meta["label_column"] = label
        # Alphabetical by name, unless that means sorting a large table without an index on every page.
        if spec.is_top_level and (cheap is None or (spec.name, label) in cheap):
            meta["sort"] = label
    return meta


def structure(package: PackageSpec) -> dict[str, Any]:
    """What the plugins need to draw record pages, for every resource."""
    resources = {}
    supports = supported_by_query(package)
    for spec in package.resources.values():
        citation = package.citation_table(spec.name)
        resources[spec.name] = {
            "title": spec.title,
            "top_level": spec.is_top_level,
            "key": spec.primary_key,
            "label": label_column(spec),
            "url": url_column(spec),
            "parent": spec.parent,
            "parent_link": spec.parent_link,
            "position": spec.position,
            "cites": spec.cites,
            "locator": spec.locator,
            "note": spec.note,
            "children": list(spec.children.values()),
            "citation_table": citation.name if citation else None,
            "references": references(package, spec),
            "fields": [{"name": f.name, "title": f.title or readable_name(f.name), "type": f.type,
                        "unit": f.flag("unit") or "", "cited": bool(f.flag("cite")), "labels": f.labels,
                        "currency_field": f.flag("currency-field") or "",
                        "format": f.descriptor.get("format") or ""} for f in spec.fields],
            # For a resource that citations point at (sources): the query listing everything one record supports.
            "supports_sql": supports.get(f"supported_by_{spec.name}", {}).get("sql", ""),
        }
    return resources


def view_fields(package: PackageSpec) -> dict[str, dict[str, dict[str, Any]]]:
    """For each view, the columns whose documentation says how their values are shown (`[values: resource.field]`,
    `[values: resource.field, list]`, `[list]`, `[currency: column]`, broadsheet.viewdoc), in the shape of a
    resource's fields in the structure: the codes' labels of the named schema field, `array` for a list (its items
    take the labels), and the column naming the currency."""
    found = {view: shown_fields(package, sql) for view, sql in sorted(package.views.items())}
    return {view: fields for view, fields in found.items() if fields}


def shown_fields(package: PackageSpec, sql: str) -> dict[str, dict[str, Any]]:
    """The marked columns of one view's or canned query's SQL (its leading comment), as fields."""
    found: dict[str, dict[str, Any]] = {}
    for column, marks in view_doc(sql).shown.items():
        resource, _, name = marks.get("values", "").partition(".")
        source = next((f for f in (package.resources[resource].fields if resource in package.resources else [])
                       if f.name == name), None)
        kind = marks.get("type") or (source.type if source else "number" if "currency_field" in marks else "")
        entry = {"name": column, "type": kind, "labels": source.labels if source else {},
                 "currency_field": marks.get("currency_field", "")}
        if entry["labels"] or entry["currency_field"] or kind == "array":
            found[column] = entry
    return found


# The columns of a supported_by_* query, titled as a view's are (broadsheet.viewdoc), for its page's headers.
SUPPORTED_COLUMNS = """-- Columns:
--   resource (Table): The table of the record.
--   record_id (Record ID): The record's id.
--   record (Record): The record's name.
--   fact (Fact): The field or list the citation supports.
--   locator (Where in the source): Where in the source.
"""


def supported_by_query(package: PackageSpec) -> dict[str, dict[str, Any]]:
    """For each resource that citations point at (the sources), a canned query listing everything it supports.

    Built from the schemas: every citation table, and every child table that carries its own foreign key to that
    resource (figures, status rows and names are cited by construction)."""
    queries: dict[str, dict[str, Any]] = {}
    cited_targets = {ref["table"] for spec in package.resources.values() if spec.cites
                     for ref in references(package, spec) if ref["table"] != spec.parent}
    for target in sorted(cited_targets):
        selects = []
        for spec in package.resources.values():
            owner = spec if spec.is_top_level else package.resources[spec.parent or ""]
            if spec.name == target or not owner.is_top_level:
                continue
            for ref in references(package, spec):
                if ref["table"] == target:
                    selects.append(_supported_select(spec, owner, ref["column"]))
        if selects:
            title = package.resources[target].title
            queries[f"supported_by_{target}"] = {
                "title": f"Everything one of the {title.lower()} supports",
                "description": f"Every fact and list entry that cites the given record of {title.lower()}; "
                               f"enter its id.",
                "sql": SUPPORTED_COLUMNS + "\nunion all\n".join(selects) + "\norder by resource, record_id, fact",
            }
    return queries


def _supported_select(spec: ResourceSpec, owner: ResourceSpec, column: str) -> str:
    """One branch of the union: rows of `spec` whose `column` names the cited record, shown as their record.
    The site reads its columns by position (resource, record_id, record, fact, locator): the last is the column
    in the citation table's `locator` role, whatever the schema calls it."""
    link = owner.id_field if spec is owner else next(iter(spec.parent_link))
    label = label_column(owner) or owner.id_field
    plain_title = spec.title.replace("'", "''")
    what = f'c."{spec.cites}"' if spec.cites else f"'{plain_title}'"
    locator = f'c."{spec.locator}"' if spec.locator else "null"
    return (f"select '{owner.name}' as resource, c.\"{link}\" as record_id, "
            f"(select p.\"{label}\" from \"{owner.name}\" as p where p.\"{owner.id_field}\" = c.\"{link}\") "
            f"as record, {what} as fact, {locator} as locator from \"{spec.name}\" as c where c.\"{column}\" = :id")


def generate(layout: Layout, package: PackageSpec, prose: dict[str, Any] | None = None) -> dict[str, Any]:
    """The complete Datasette metadata for the package's database."""
    descriptor = package.descriptor
    prose = dict(prose if prose is not None else read_prose(layout.site_dir / PROSE))
    db = database_name(package)
    cheap = cheap_sorts(layout.out_dir / f"{db}.db")
    tables: dict[str, Any] = {name: table_metadata(package, spec, cheap) for name, spec in package.resources.items()}
    for view, sql in package.views.items():
        doc = view_doc(sql)
        tables[view] = {"title": view.replace("_", " ").capitalize()}
        if doc.description:
            tables[view]["description"] = doc.description
        if doc.columns:
            tables[view]["columns"] = dict(doc.columns)
    for internal in INTERNAL_TABLES:
        tables[internal] = {"hidden": True}
        for index in FTS_INDEXES:
            for shadow in FTS_SHADOWS:
                tables[internal + index + shadow] = {"hidden": True}
    licenses = descriptor.get("licenses") or [{}]
    generated: dict[str, Any] = {
        "title": descriptor.get("title") or db,
        "description": descriptor.get("description") or "",
        "license": licenses[0].get("title") or licenses[0].get("name") or "",
        "license_url": licenses[0].get("path") or "",
        "databases": {db: {"title": descriptor.get("title") or db, "allow_sql": False, "tables": tables,
                           "queries": supported_by_query(package)}},
        "plugins": {"broadsheet": {
            "database": db, "internal_tables": INTERNAL,
            "version": descriptor.get("version") or "", "created": descriptor.get("created") or "",
            "citation": {**citation(descriptor),
                         "file": "CITATION.cff" if (package.layout.root / "CITATION.cff").is_file() else ""},
            "resources": structure(package), "views": sorted(package.views),
            "view_fields": view_fields(package),
            # each view's column titles (`name (Title): …` in its documentation), for the site's headers
            "view_titles": {view: titles for view, sql in sorted(package.views.items())
                            if (titles := view_doc(sql).titles)},
        }},
    }
    # `database:` in site/metadata.yml means "the package's database", so the prose need not repeat its name.
    written_db = prose.pop("database", None)
    site = prose.pop("site", None)
    if written_db:
        prose.setdefault("databases", {})[db] = merge(prose.get("databases", {}).get(db, {}), written_db)
    if site:
        prose.setdefault("plugins", {})["broadsheet"] = merge(prose.get("plugins", {}).get("broadsheet", {}), site)
    merged = merge(generated, prose)
    # Canned queries may title and mark their columns in a leading comment, as views do (the site shows their
    # headers and cells so).
    queries = ((merged.get("databases") or {}).get(db) or {}).get("queries") or {}
    marked = {name: shown_fields(package, str(query.get("sql") or "")) for name, query in sorted(queries.items())
              if isinstance(query, dict)}
    merged["plugins"]["broadsheet"]["query_fields"] = {name: fields for name, fields in marked.items() if fields}
    docs = {name: view_doc(str(query.get("sql") or "")) for name, query in sorted(queries.items())
            if isinstance(query, dict)}
    for name, doc in docs.items():
        if doc.faults:
            raise query_fault(layout, name, doc.faults[0])
    titled = {name: doc.titles for name, doc in docs.items()}
    merged["plugins"]["broadsheet"]["query_titles"] = {name: titles for name, titles in titled.items() if titles}
    for view, fields in view_fields(package).items():
        listed = {name for name, f in fields.items() if f["type"] == "array"}
        meta = ((merged.get("databases") or {}).get(db) or {}).get("tables", {}).get(view) or {}
        if listed and meta.get("facets"):
            meta["facets"] = array_facets(meta["facets"], listed)
    return merged


def array_facets(facets: list[Any], listed: set[str]) -> list[Any]:
    """A table's facets with each one on a list column (a JSON array) counted by item (Datasette's array facet:
    `{"array": column}`), not by the whole list as text."""
    return [{"array": facet} if isinstance(facet, str) and facet in listed else facet for facet in facets]


def query_fault(layout: Layout, name: str, fault: Fault) -> ConfigError:
    """A canned query's documentation that cannot be read, located in site/metadata.yml: the line and column in
    the file when its SQL is a block (`sql: |-`), else the line where its SQL starts."""
    path = layout.site_dir / PROSE
    line, column = 0, 0
    try:
        node = _sql_node(yaml.compose(path.read_text(encoding="utf-8")), name) if path.is_file() else None
    except yaml.YAMLError:
        node = None
    if node is not None and node.style in ("|", ">"):
        lines = path.read_text(encoding="utf-8").splitlines()
        first = node.start_mark.line + 1  # (0-based) the block's text starts on the line after its `|`
        text = lines[first] if first < len(lines) else ""
        line, column = first + fault.line, len(text) - len(text.lstrip()) + fault.column
    elif node is not None:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
    return ConfigError(f"query {name}: {fault.message}", path=layout.relative(path), line=line, column=column)


def _sql_node(root: yaml.Node | None, name: str) -> yaml.Node | None:
    """The `sql` node of canned query `name` under `database:` or `databases: <any>:` of site/metadata.yml."""
    def child(node: yaml.Node | None, key: str) -> yaml.Node | None:
        if not isinstance(node, yaml.MappingNode):
            return None
        return next((value for k, value in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)

    databases = child(root, "databases")
    candidates = [child(root, "database"), *(value for _key, value in (
        databases.value if isinstance(databases, yaml.MappingNode) else []))]
    for database in candidates:
        found = child(child(child(database, "queries"), name), "sql")
        if found is not None:
            return found
    return None


STRUCTURE_FILE = "site-resources.json"


def write(layout: Layout, package: PackageSpec, target: Path | None = None) -> Path:
    """Write out/metadata.json and, beside it, the resource structure the plugins read (atomically each; keys in
    schema order, so column descriptions are listed as the schema lists the columns).

    The structure goes into its own file because Datasette deep-copies the whole metadata on every permission
    check; kept inside, it doubled the time of the home page."""
    target = target or layout.out_dir / "metadata.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    metadata = generate(layout, package)
    plugin = metadata["plugins"]["broadsheet"]
    _write_json(target.with_name(STRUCTURE_FILE), plugin.pop("resources"))
    plugin["resources_file"] = STRUCTURE_FILE
    _write_json(target, metadata)
    return target


def _write_json(path: Path, value: Any) -> None:
    write_atomically(path, (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8"), durable=False)
