"""The resource registry: which tables exist, their schemas, and how child lists nest inside parent records.

Read from datapackage.json and `schemas/*.yaml` only; nothing here knows any particular dataset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from broadsheet.errors import ConfigError
from broadsheet.layout import (
    DATA_DIR,
    FROM_FIELD,
    FROM_FILE,
    FROM_KEY,
    LIST,
    MAPPING,
    ONE,
    VIEW_SUFFIX,
    Layout,
    RecordLayout,
)
from broadsheet.viewdoc import view_doc

NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # resources and views: they name files, tables and URLs
# Fields: any name Frictionless allows (hyphens, capitals, spaces, dots), except one a CSV header or a
# `key:` line cannot hold (an empty name, a control character such as a line break).
FIELD_NAME = re.compile(r"[^\x00-\x1f\x7f-\x9f]+")
EXTENSION = "x-broadsheet"
LAYOUT = "layout"  # the x-broadsheet block saying where a resource's records live
SUFFIXES = (".yaml", ".yml")  # the suffixes a record file may have
LAYOUT_KEYS = {"folder", "recursive", "suffixes", "id", "records", "max-file-bytes", "max-depth"}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    descriptor: dict[str, Any]

    @property
    def constraints(self) -> dict[str, Any]:
        return self.descriptor.get("constraints") or {}

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required"))

    @property
    def description(self) -> str:
        return str(self.descriptor.get("description") or "")

    @property
    def title(self) -> str:
        return str(self.descriptor.get("title") or "")

    def flag(self, name: str) -> Any:
        """A Broadsheet field property such as `x-cite` or `x-facet`."""
        return self.descriptor.get(f"x-{name}")

    @property
    def coded(self) -> dict[str, Any]:
        """Where a coded field keeps its `enum` and `categories`: the field itself, or an array's `arrayItem`."""
        item = self.descriptor.get("arrayItem")
        if self.type == "array" and isinstance(item, dict):
            return item
        return self.descriptor

    @property
    def enum(self) -> list[Any]:
        return list((self.coded.get("constraints") or {}).get("enum") or [])

    @property
    def labels(self) -> dict[str, str]:
        """Code -> label, from Table Schema v2 `categories` (`{value, label}` items, or plain values)."""
        found: dict[str, str] = {}
        for category in self.coded.get("categories") or []:
            if isinstance(category, dict) and "value" in category:
                found[str(category["value"])] = str(category.get("label") or category["value"])
            elif not isinstance(category, dict):
                found[str(category)] = str(category)
        return found


@dataclass
class ResourceSpec:
    name: str
    schema_path: str
    descriptor: dict[str, Any]
    fields: list[FieldSpec]
    primary_key: list[str]
    foreign_keys: list[dict[str, Any]]
    parent: str | None = None
    key: str | None = None
    position: str | None = None
    cites: str | None = None  # a citation table: the field naming the cited field of the record
    # the roles of a citation table's other columns, so no generic code names them: where in the source, a remark
    locator: str | None = None
    note: str | None = None
    parent_link: dict[str, str] = field(default_factory=dict)  # child field -> parent field
    children: dict[str, str] = field(default_factory=dict)  # list key in the record -> child resource
    records: RecordLayout | None = None  # a top-level resource: where its records live (x-broadsheet.layout)
    # a child of key/value rows: (the field holding each key, the field holding its value) of the parent's mapping
    entries: tuple[str, str] | None = None
    flatten: tuple[str, ...] = ()  # keys holding a mapping whose keys fill the columns `<key>.<inner key>`

    @cached_property
    def field_map(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def is_top_level(self) -> bool:
        return self.parent is None

    @property
    def id_field(self) -> str:
        return self.primary_key[0]

    @property
    def typed_fields(self) -> set[str]:
        """Fields the curator types; the loader fills the link to the parent and the position."""
        filled = set(self.parent_link) | ({self.position} if self.position else set())
        return {f.name for f in self.fields} - filled

    @property
    def title(self) -> str:
        return str(self.descriptor.get("title") or self.name)

    @property
    def label_field(self) -> str | None:
        """The label rule, written once: the first field flagged `x-label` names a record to people."""
        return next((f.name for f in self.fields if f.flag("label")), None)

    @property
    def description(self) -> str:
        return str(self.descriptor.get("description") or "")

    def frictionless_schema(self) -> dict[str, Any]:
        return {k: v for k, v in self.descriptor.items() if k != EXTENSION}


@dataclass
class PackageSpec:
    layout: Layout
    descriptor: dict[str, Any]
    resources: dict[str, ResourceSpec]
    views: dict[str, str]
    # schemas whose frictionless check load_package(check=False) left for later (check_schemas): (descriptor, path)
    unchecked: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    @property
    def top_level(self) -> list[ResourceSpec]:
        return [r for r in self.resources.values() if r.is_top_level]

    @property
    def name(self) -> str:
        return str(self.descriptor.get("name") or "data")

    def record_resource(self, path: str) -> ResourceSpec | None:
        """The top-level resource whose layout holds the record file at `path` (relative to the root)."""
        for spec in self.top_level:
            form = spec.records
            if form is None or not path.startswith(form.folder + "/") or not form.accepts(path):
                continue
            if form.recursive or "/" not in path[len(form.folder) + 1:]:
                return spec
        return None

    def citation_table(self, resource: str) -> ResourceSpec | None:
        for child in self.resources[resource].children.values():
            if self.resources[child].cites:
                return self.resources[child]
        return None


def citation(descriptor: dict[str, Any]) -> dict[str, Any]:
    """How to cite the package, from datapackage.json facts only (CITATION.cff says the same): the one citation
    text, for the site and the download bundle. Authors are the contributors who are creators or authors (or
    have no role); the text reads "Authors. Title. Version 1.0. Licence CC-BY-4.0. <homepage>."."""
    authors = [c.get("title") or c.get("name") for c in descriptor.get("contributors") or []
               if not c.get("roles") or {"creator", "author"} & set(c.get("roles") or [])]
    authors = [a for a in authors if a]
    licenses = descriptor.get("licenses") or []
    license_name = licenses[0].get("name", "") if licenses else ""
    title = descriptor.get("title") or descriptor.get("name") or ""
    version = descriptor.get("version") or ""
    parts = [", ".join(authors), title, f"Version {version}" if version else "",
             f"Licence {license_name}" if license_name else "", descriptor.get("homepage") or ""]
    return {"authors": authors, "title": title, "version": version, "license": license_name,
            "text": ". ".join(p for p in parts if p) + "."}


def load_package(layout: Layout, check: bool = True) -> PackageSpec:
    """The package. With `check=False` the frictionless check of each schema (~0.5 s with frictionless' import)
    is left in `unchecked` for check_schemas, which raises exactly what this would have raised: a run may do it
    while its workers read the records. Any other problem of a schema is raised here, after the checks of the
    schemas before it (and its own), as in the order of a checked load."""
    descriptor = read_descriptor(layout)
    specs = {}
    pending: list[tuple[dict[str, Any], str]] | None = None if check else []
    try:
        if not layout.schemas_dir.is_dir():
            raise ConfigError("no schemas/ folder beside datapackage.json", path="schemas/")
        for path in layout.schema_files():
            spec = _read_schema(layout, path, pending)
            specs[spec.name] = spec
        if not specs:
            raise ConfigError("schemas/ holds no <resource>.yaml Table Schema", path="schemas/")
        _link_children(specs)
        _check_folders(specs)
        views = {p.stem: p.read_text(encoding="utf-8") for p in sorted(layout.views_dir.glob(f"*{VIEW_SUFFIX}"))}
        for name in views:
            if not NAME.match(name) or name in specs:
                raise ConfigError(f"view name {name!r} must match {NAME.pattern} and differ from every table",
                                  path=layout.relative(layout.view_path(name)))
            faults = view_doc(views[name]).faults
            if faults:
                raise ConfigError(f"view {name}: {faults[0].message}", path=layout.relative(layout.view_path(name)),
                                  line=faults[0].line, column=faults[0].column)
    except ConfigError:
        for unchecked, shown in pending or []:  # a frictionless verdict that a checked load meets first
            _check_frictionless(unchecked, shown)
        raise
    return PackageSpec(layout, descriptor, _parents_first(specs), views, pending or [])


def check_schemas(package: PackageSpec, vouched: Callable[[dict[str, Any]], bool] | None = None) -> None:
    """The frictionless checks load_package(check=False) left, in schema order; ConfigError for the first that
    fails (what a checked load raises). `vouched` may spare frictionless a descriptor it certainly accepts (its
    import alone costs ~0.2 s); it sees the descriptor as frictionless would, without Broadsheet's extension."""
    while package.unchecked:
        descriptor, shown = package.unchecked[0]
        if vouched is None or not vouched(_plain(descriptor)):
            _check_frictionless(descriptor, shown)
        package.unchecked.pop(0)


def read_descriptor(layout: Layout) -> dict[str, Any]:
    shown = layout.relative(layout.descriptor)
    try:
        descriptor = json.loads(layout.descriptor.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(f"invalid JSON: {error.msg}", path=shown, line=error.lineno, column=error.colno) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read: {error}", path=shown) from None
    if not isinstance(descriptor, dict):
        raise ConfigError("datapackage.json must hold a JSON object", path=shown, line=1, column=1)
    return descriptor


def _read_schema(layout: Layout, path: Path, pending: list[tuple[dict[str, Any], str]] | None) -> ResourceSpec:
    shown = layout.relative(path)
    name = path.stem
    if not NAME.match(name):
        raise ConfigError(f"schema file name {name!r} must match {NAME.pattern}", path=shown)
    try:
        descriptor = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise ConfigError(f"invalid YAML: {error.problem}", path=shown, line=mark.line + 1 if mark else 0,
                          column=mark.column + 1 if mark else 0) from None
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("fields"), list):
        raise ConfigError("a Table Schema is a mapping with a `fields` list", path=shown, line=1, column=1)
    if pending is None:
        _check_frictionless(descriptor, shown)
    else:
        pending.append((descriptor, shown))
    fields = [FieldSpec(f["name"], f.get("type", "any"), f) for f in descriptor["fields"]]
    for f in fields:
        if not isinstance(f.name, str) or not FIELD_NAME.fullmatch(f.name):
            raise ConfigError(f"field name {f.name!r} must be non-empty text without control characters "
                              "(a line break, a tab)", path=shown)
    primary_key = descriptor.get("primaryKey") or []
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    foreign_keys = [_normalise_foreign_key(fk) for fk in descriptor.get("foreignKeys") or []]
    extension = descriptor.get(EXTENSION) or {}
    spec = ResourceSpec(name, shown, descriptor, fields, list(primary_key), foreign_keys,
                        parent=extension.get("parent"), key=extension.get("key"),
                        position=extension.get("position"), cites=extension.get("cites"),
                        locator=extension.get("locator"), note=extension.get("note"))
    if spec.is_top_level and len(spec.primary_key) != 1:
        raise ConfigError("a top-level resource needs a one-field primaryKey: its value is the file name",
                          path=shown)
    if spec.is_top_level:
        spec.records = _record_layout(name, extension.get(LAYOUT), shown)
    elif extension.get(LAYOUT) is not None:
        raise ConfigError(f"{EXTENSION}.{LAYOUT}: a child resource's rows live in its parent's records",
                          path=shown)
    spec.entries = _entries(extension.get("entries"), spec, shown)
    spec.flatten = _flatten(extension.get("flatten"), spec, shown)
    for f in fields:
        _check_categories(f, spec, shown)
    for declared in filter(None, [spec.position, spec.cites, spec.locator, spec.note]):
        if declared not in spec.field_map:
            raise ConfigError(f"{EXTENSION} names field {declared!r}, which the schema does not have", path=shown)
    return spec


def _record_layout(resource: str, declared: object, shown: str) -> RecordLayout:
    """The `x-broadsheet.layout` block, checked; absent keys take today's values."""
    where = f"{EXTENSION}.{LAYOUT}"
    if declared is None:
        return RecordLayout(f"{DATA_DIR}/{resource}")
    if not isinstance(declared, dict):
        raise ConfigError(f"{where} must be a mapping of settings", path=shown)
    unknown = sorted(set(declared) - LAYOUT_KEYS)
    if unknown:
        raise ConfigError(f"{where} has no setting {unknown[0]!r} (settings: {', '.join(sorted(LAYOUT_KEYS))})",
                          path=shown)
    folder = declared.get("folder", resource)
    parts = folder.split("/") if isinstance(folder, str) else []
    if not parts or any(not part or part in (".", "..") or part.startswith(".") for part in parts):
        raise ConfigError(f"{where}.folder {folder!r} must be a folder inside {DATA_DIR}/, such as {resource!r} "
                          "or 'people/current'", path=shown)
    suffixes = declared.get("suffixes", [SUFFIXES[0]])
    if isinstance(suffixes, str):
        suffixes = [suffixes]
    if not isinstance(suffixes, list) or not suffixes or not set(suffixes) <= set(SUFFIXES):
        raise ConfigError(f"{where}.suffixes must list one or both of {', '.join(SUFFIXES)} (found {suffixes!r})",
                          path=shown)
    records = declared.get("records", ONE)
    if records not in (ONE, LIST, MAPPING):
        raise ConfigError(f"{where}.records must be {ONE}, {LIST} or {MAPPING} (found {records!r})", path=shown)
    id_from = declared.get("id", FROM_KEY if records == MAPPING else FROM_FILE)
    allowed = {ONE: (FROM_FILE, FROM_FIELD), LIST: (FROM_FIELD,), MAPPING: (FROM_KEY,)}[records]
    if id_from not in allowed:
        raise ConfigError(f"{where}.id must be {' or '.join(allowed)} when records is {records} "
                          f"(found {id_from!r})", path=shown)
    limits = {}
    for setting, default in (("max-file-bytes", RecordLayout.max_file_bytes), ("max-depth", RecordLayout.max_depth)):
        value = declared.get(setting, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where}.{setting} must be a positive whole number (found {value!r})", path=shown)
        limits[setting] = value
    recursive = declared.get("recursive", False)
    if not isinstance(recursive, bool):
        raise ConfigError(f"{where}.recursive must be true or false (found {recursive!r})", path=shown)
    return RecordLayout(f"{DATA_DIR}/{folder}", recursive, tuple(dict.fromkeys(suffixes)), id_from, records,
                        limits["max-file-bytes"], limits["max-depth"])


def _check_folders(specs: dict[str, ResourceSpec]) -> None:
    """Each record folder belongs to one resource: no two share one, none lies inside a recursive one."""
    owners: dict[str, ResourceSpec] = {}
    for spec in specs.values():
        if spec.records is not None:
            folder = spec.records.folder
            other = owners.get(folder) or next(
                (o for f, o in owners.items() if (folder.startswith(f + "/") and o.records and o.records.recursive)
                 or (f.startswith(folder + "/") and spec.records.recursive)), None)
            if other is not None:
                raise ConfigError(f"{EXTENSION}.{LAYOUT}: records of {spec.name} and {other.name} would share "
                                  f"the folder {folder}", path=spec.schema_path)
            owners[folder] = spec


def _entries(declared: object, spec: ResourceSpec, shown: str) -> tuple[str, str] | None:
    """`entries: {key: <field>, value: <field>}`: a child whose rows are the key/value pairs of a mapping."""
    if declared is None:
        return None
    if spec.is_top_level or not isinstance(declared, dict) or set(declared) != {"key", "value"} or not all(
            declared[k] in spec.field_map for k in ("key", "value")):
        raise ConfigError(f"{EXTENSION}.entries, on a child resource, names the field holding each key and the "
                          "one holding its value: `entries: {key: <field>, value: <field>}`", path=shown)
    return declared["key"], declared["value"]


def _flatten(declared: object, spec: ResourceSpec, shown: str) -> tuple[str, ...]:
    """`flatten: [<key>, ...]`: each key holds a mapping whose keys fill the columns `<key>.<inner key>`."""
    if declared is None:
        return ()
    if isinstance(declared, str):
        declared = [declared]
    if not isinstance(declared, list) or not all(isinstance(k, str) and k for k in declared):
        raise ConfigError(f"{EXTENSION}.flatten lists the keys whose mapping fills columns `<key>.<inner key>`",
                          path=shown)
    for key in declared:
        if key in spec.field_map or not any(name.startswith(f"{key}.") for name in spec.field_map):
            raise ConfigError(f"{EXTENSION}.flatten: {key!r} must not be a field itself, and fields named "
                              f"`{key}.<inner key>` hold its values", path=shown)
    return tuple(declared)


def _check_categories(f: FieldSpec, spec: ResourceSpec, shown: str) -> None:
    """`categories` label exactly the enum's values; `x-currency-field` names a text field of the same schema."""
    labels, enum = f.labels, [str(v) for v in f.enum]
    if labels and enum and set(labels) != set(enum):
        odd = sorted(set(labels) ^ set(enum))
        raise ConfigError(f"field {f.name!r}: categories and enum differ in {', '.join(odd)}", path=shown)
    currency = f.flag("currency-field")
    if currency is not None and (currency not in spec.field_map or spec.field_map[currency].type != "string"):
        raise ConfigError(f"field {f.name!r}: x-currency-field names {currency!r}, not a text field of this schema",
                          path=shown)


def _check_frictionless(descriptor: dict[str, Any], shown: str) -> None:
    from frictionless import FrictionlessException, Schema  # heavy import: only when schemas are read

    try:
        Schema.from_descriptor(_plain(descriptor))
    except FrictionlessException as error:
        reasons = "; ".join(r.message for r in error.reasons) or error.error.message
        raise ConfigError(f"not a valid Table Schema: {reasons}", path=shown) from None


def _plain(descriptor: dict[str, Any]) -> dict[str, Any]:
    """A schema descriptor as frictionless checks it: without Broadsheet's extension."""
    return {k: v for k, v in descriptor.items() if k != EXTENSION}


def _normalise_foreign_key(fk: dict[str, Any]) -> dict[str, Any]:
    fields = fk["fields"] if isinstance(fk["fields"], list) else [fk["fields"]]
    ref = fk["reference"]
    ref_fields = ref["fields"] if isinstance(ref["fields"], list) else [ref["fields"]]
    return {"fields": fields, "reference": {"resource": ref.get("resource", ""), "fields": ref_fields}}


def _link_children(specs: dict[str, ResourceSpec]) -> None:
    for spec in specs.values():
        if spec.is_top_level:
            continue
        parent = specs.get(spec.parent or "")
        if parent is None or not spec.key:
            raise ConfigError(f"{EXTENSION}.parent must name another resource and .key the list's key "
                              f"(found parent={spec.parent!r}, key={spec.key!r})", path=spec.schema_path)
        links = [fk for fk in spec.foreign_keys if fk["reference"]["resource"] == parent.name]
        if not links:
            raise ConfigError(f"a child of {parent.name!r} needs a foreignKey to it", path=spec.schema_path)
        spec.parent_link = dict(zip(links[0]["fields"], links[0]["reference"]["fields"], strict=True))
        if spec.key in parent.field_map or spec.key in parent.children:
            raise ConfigError(f"list key {spec.key!r} is already a field or list of {parent.name!r}",
                              path=spec.schema_path)
        parent.children[spec.key] = spec.name


def _parents_first(specs: dict[str, ResourceSpec]) -> dict[str, ResourceSpec]:
    ordered: dict[str, ResourceSpec] = {}

    def visit(spec: ResourceSpec, seen: tuple[str, ...]) -> None:
        if spec.name in ordered:
            return
        if spec.name in seen:
            raise ConfigError(f"resources nest in a cycle: {' -> '.join(seen)}", path=spec.schema_path)
        if spec.parent:
            visit(specs[spec.parent], (*seen, spec.name))
        ordered[spec.name] = spec

    for spec in specs.values():
        visit(spec, ())
    return ordered
