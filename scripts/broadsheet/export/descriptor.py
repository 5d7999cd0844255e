"""datapackage.json: every hand-edited key kept in place, the `resources` list regenerated from the schemas and
the generated CSV bytes (size and sha256), with each Table Schema inline so the package validates on its own."""

from __future__ import annotations

import hashlib
from typing import Any

from broadsheet.package import EXTENSION, PackageSpec, ResourceSpec
from broadsheet.viewdoc import view_doc


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resource_entry(spec: ResourceSpec, path: str, data: bytes) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": spec.name, "path": path, "profile": "tabular-data-resource"}
    if spec.descriptor.get("title"):
        entry["title"] = spec.title
    if spec.description:
        entry["description"] = spec.description
    entry.update({"format": "csv", "mediatype": "text/csv", "encoding": "utf-8", "bytes": len(data),
                  "hash": f"sha256:{sha256(data)}", "schema": inline_schema(spec)})
    return entry


def inline_schema(spec: ResourceSpec) -> dict[str, Any]:
    """The Table Schema as written, `x-broadsheet` included: frictionless ignores `x-` keys, and the nesting
    (parent, list key) stays visible to anyone reading the package."""
    schema = {k: v for k, v in spec.descriptor.items() if k not in ("title", "description", EXTENSION)}
    if EXTENSION in spec.descriptor:
        schema[EXTENSION] = spec.descriptor[EXTENSION]
    return schema


def package_descriptor(package: PackageSpec, csv_files: dict[str, tuple[str, bytes]]) -> dict[str, Any]:
    """`csv_files`: resource → (path relative to the root, bytes). Key order of the hand-edited part is kept;
    `resources` stays where it was (or goes last)."""
    resources = [resource_entry(spec, *csv_files[name]) for name, spec in package.resources.items()]
    descriptor = dict(package.descriptor)
    descriptor["resources"] = resources
    return descriptor


def field_type(values: list[Any]) -> str:
    """A view column's Table Schema type, from the values it holds: integer, number, or string."""
    present = [v for v in values if v is not None and v != ""]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "integer"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "number"
    return "string"


def view_entry(package: PackageSpec, name: str, sql: str, header: list[str], rows: list[tuple[Any, ...]],
               path: str, data: bytes) -> dict[str, Any]:
    """A derived view as a resource of the package: its CSV, its fields (types from the rows) and the titles and
    descriptions its SQL file's leading comment gives (broadsheet.viewdoc). A column marked with a schema field's
    values carries that field's `categories` (an item's, `arrayItem`, for a list: `type: array`, as the schemas
    write a list of codes); a money column names its currency column (`x-currency-field`)."""
    doc = view_doc(sql)
    fields = []
    for position, column in enumerate(header):
        described: dict[str, Any] = {"name": column, "type": field_type([row[position] for row in rows])}
        if doc.titles.get(column):
            described["title"] = doc.titles[column]
        if doc.columns.get(column):
            described["description"] = doc.columns[column]
        described.update(marked(package, doc.shown.get(column) or {}))
        fields.append(described)
    entry: dict[str, Any] = {"name": name, "path": path, "profile": "tabular-data-resource",
                             "title": name.replace("_", " ").capitalize() + " (derived)"}
    if doc.description:
        entry["description"] = doc.description
    entry.update({"format": "csv", "mediatype": "text/csv", "encoding": "utf-8", "bytes": len(data),
                  "hash": f"sha256:{sha256(data)}", "schema": {"fields": fields}})
    return entry


def marked(package: PackageSpec, marks: dict[str, str]) -> dict[str, Any]:
    """A view column's Table Schema properties from its marks (broadsheet.viewdoc): `categories` of the field
    `[values: resource.field]` names, on the column or, for a list, on its `arrayItem`; `x-currency-field`."""
    found: dict[str, Any] = {}
    resource, _, name = marks.get("values", "").partition(".")
    spec = package.resources.get(resource)
    source = spec.field_map.get(name) if spec else None
    categories = list(source.coded.get("categories") or []) if source else []
    if marks.get("type") == "array":
        item: dict[str, Any] = {"type": str(source.coded.get("type") or "string") if source else "string"}
        if categories:
            item["categories"] = categories
        found.update({"type": "array", "arrayItem": item})
    elif categories:
        found["categories"] = categories
    if marks.get("currency_field"):
        found["x-currency-field"] = marks["currency_field"]
    return found
