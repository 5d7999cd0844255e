"""datapackage.json: every hand-edited key kept in place, the `resources` list regenerated from the schemas and
the generated CSV bytes (size and sha256), with each Table Schema inline so the package validates on its own."""

from __future__ import annotations

import hashlib
from typing import Any

from broadsheet.package import EXTENSION, PackageSpec, ResourceSpec


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
