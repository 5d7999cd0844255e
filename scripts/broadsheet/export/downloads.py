"""out/downloads/: every table and view as CSV (with a BOM, for spreadsheets) and JSON, the whole package as one
JSON document, and the zip bundle of them all."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING

from broadsheet.atomic import Bytes, Content
from broadsheet.export import bundle, descriptor
from broadsheet.export.csv import BOM, csv_bytes
from broadsheet.export.json import array_json, document_head_parts, document_tail
from broadsheet.export.values import dumps
from broadsheet.layout import CSV_SUFFIX
from broadsheet.package import PackageSpec
from broadsheet.viewdoc import view_doc

if TYPE_CHECKING:
    from broadsheet.build import Generated

Views = dict[str, tuple[list[str], list[tuple[object, ...]]]]
GROUP = 1024  # rows per zip piece: a changed row costs deflating its group again, not the table


def csv_cuts(lengths: Sequence[int]) -> list[int]:
    """Where a CSV's zip pieces start, from its line lengths (the header's first): every GROUP rows."""
    ends = list(accumulate(lengths))
    return [ends[row] for row in range(GROUP, len(lengths) - 1, GROUP)]


def json_cuts(lengths: Sequence[int]) -> list[int]:
    """Where a JSON array's zip pieces start, from its row lines' lengths (json.rows_json_lines)."""
    starts = list(accumulate(lengths, initial=0))
    return [2 + starts[row] + 2 * row for row in range(GROUP, len(lengths), GROUP)]


class Downloads:
    """Files under out/downloads/ keyed by their path there, and the zip, made in two steps: `tables` while the
    database is still being built (most of the deflating happens then), `views` once its views have run.
    Zip order: LICENSE.txt, README.txt, the tables' CSV and JSON (sorted), the whole-package JSON, the views' JSON
    and CSV (sorted), and last datapackage.json: the committed descriptor with every view added as a described
    resource (its CSV under views/, its fields and their descriptions), which needs the views' rows."""

    def __init__(self, package: PackageSpec, name: str, generated: Generated, tables_json: dict[str, Bytes],
                 json_lengths: dict[str, list[int]], previous: bundle.Previous | None = None,
                 json_files: dict[str, bytes] | None = None) -> None:
        self.name, self.tables_json, self.package = name, tables_json, package
        self.descriptor = generated.descriptor
        bom = BOM.encode("utf-8")
        data_dir = package.layout.relative(package.layout.data_dir)
        self.files: dict[str, Content] = {"datapackage.json": generated.descriptor}
        entries: dict[str, tuple[bytes, list[int]]] = {}
        cuts = {resource: json_cuts(json_lengths[resource]) for resource in generated.tables}
        for resource in generated.tables:
            committed = generated.committed[f"{data_dir}/{resource}{CSV_SUFFIX}"]
            known = (json_files or {}).get(resource)  # the file as the last build wrote it, when it is the same
            self.files[f"json/{resource}.json"] = known if known is not None else (tables_json[resource], b"\n")
            self.files[f"csv/{resource}.csv"] = (bom, committed)  # the committed CSV, with a BOM for spreadsheets
            entries[f"{data_dir}/{resource}{CSV_SUFFIX}"] = (committed, csv_cuts(generated.csv_lengths[resource]))
            entries[f"json/{resource}.json"] = (tables_json[resource], cuts[resource])
        listed = ["LICENSE.txt", "datapackage.json", *entries, f"json/{name}.json",
                  *(f"json/{view}.json" for view in package.views), *(f"views/{view}.csv" for view in package.views)]
        self.bundle = bundle.Bundle(previous)
        self.bundle.add("LICENSE.txt", bundle.license_text(package.descriptor).encode("utf-8"))
        codes = {f"{spec.name}.{f.name}": f.labels for spec in package.resources.values() for f in spec.fields
                 if f.labels}
        codes.update(view_codes(package))
        self.bundle.add("README.txt", bundle.readme_text(package.descriptor, sorted(listed), codes).encode("utf-8"))
        rows: dict[str, bundle.Written] = {}
        for entry in sorted(entries):
            data, at = entries[entry]
            writer = self.bundle.stream(entry)
            rows[entry] = writer.write(data, at)
            if entry.startswith("json/"):
                writer.write(b"\n")  # the file's last line end: a piece of its own, so the rows' pieces are the
            writer.close()  # same bytes as in the whole-package document
        parts = document_head_parts(name, tables_json)
        self.head = tuple(part for part, _resource in parts)
        self.document = self.bundle.stream(f"json/{name}.json")
        for part, resource in parts:  # each table's array: its own file's pieces, deflated once
            if resource is None:
                self.document.write(part)
            else:
                self.document.write_again(rows[f"json/{resource}.json"])

    def views(self, views: Views) -> tuple[dict[str, Content], bytes]:
        """All files but the zip, and the zip."""
        bom = BOM.encode("utf-8")
        views_json: dict[str, bytes] = {}
        entries: dict[str, bytes] = {}
        for view, (header, rows) in views.items():
            views_json[view] = array_json(dict(zip(header, row, strict=True)) for row in rows)
            self.files[f"json/{view}.json"] = views_json[view] + b"\n"
            plain = csv_bytes(header, rows)
            self.files[f"csv/{view}.csv"] = bom + plain
            entries[f"json/{view}.json"] = self.files[f"json/{view}.json"]
            entries[f"views/{view}.csv"] = plain
        tail = document_tail(views_json)
        self.document.write(tail)
        self.document.close()
        self.files[f"json/{self.name}.json"] = (*self.head, tail)
        for entry in sorted(entries):
            self.bundle.add(entry, entries[entry])
        self.bundle.add("datapackage.json", self.with_views(views, entries))
        return self.files, self.bundle.close()

    def with_views(self, views: Views, entries: dict[str, bytes]) -> bytes:
        """The committed datapackage.json with each view as a resource of the zip (its CSV under views/)."""
        described = json.loads(self.descriptor)
        described["resources"] = [*(described.get("resources") or []), *(
            descriptor.view_entry(self.package, view, self.package.views[view], header, rows, f"views/{view}.csv",
                                  entries[f"views/{view}.csv"])
            for view, (header, rows) in sorted(views.items()))]
        return dumps(described).encode("utf-8")


def view_codes(package: PackageSpec) -> dict[str, dict[str, str]]:
    """`view.column` → the labels of the schema field its `[values: …]` mark names (broadsheet.viewdoc); a list
    column is said to be one ("each item")."""
    found: dict[str, dict[str, str]] = {}
    for view, sql in sorted(package.views.items()):
        for column, marks in view_doc(sql).shown.items():
            resource, _, name = marks.get("values", "").partition(".")
            spec = package.resources.get(resource)
            source = spec.field_map.get(name) if spec else None
            if source is not None and source.labels:
                found[f"{view}.{column}" + (" (each item of the list)" if marks.get("type") == "array" else "")] = (
                    source.labels)
    return found
