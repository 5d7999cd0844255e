"""`broadsheet describe`: Table Schemas proposed for YAML records kept elsewhere, the way `frictionless describe`
proposes one for a CSV file. The maintainer edits the proposal; nothing here writes over a schema.

What is read: a folder of record files (`.yaml`, `.yml`, in sub-folders too) or one file; a file holds one record
(a mapping), a list of records, or a mapping of id -> record. Every scalar is read as the text typed, as
`broadsheet validate` reads it (broadsheet.read.records: plain `~`, `null` and empty mean "not known").

What is proposed, from every value:
- a type per field: the first of boolean, integer, number, date, partial date, text with a format (uri, email,
  uuid) and text that every value of the field is, by Broadsheet's stricter casts and by frictionless itself,
  so the records the proposal came from validate against it;
- `required` where a field has a value in every record; `enum` for a small closed set of texts (at most
  ENUM_MAX values, each used at least twice on average); `x-multiline` where a text holds a line break;
- a child resource for a list of mappings (its items' own lists of mappings become grandchildren), `type: array`
  for a list of scalars, `type: object` for a nested mapping;
- the primary key and the layout block (`x-broadsheet.layout`: folder, recursive, suffixes, where the id comes
  from, one record or many per file), each written only where it differs from the default.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from broadsheet.check.rules import DATE, INTEGER, MAX_INTEGER_DIGITS, NUMBER, PARTIAL_DATE, REGISTRY
from broadsheet.errors import WARNING, Problem
from broadsheet.layout import DATA_DIR, DESCRIPTOR, MAX_FILE_BYTES, RECORD_SUFFIX, SCHEMA_SUFFIX
from broadsheet.package import FieldSpec
from broadsheet.read.records import NULL_WORDS, FastLoader, decode_record

SUFFIXES = (".yaml", ".yml")  # what describe reads; the proposal's layout lists those it found
ENUM_MAX = 10
ENUM_LONGEST = 60  # characters: longer texts are prose, not codes
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
UUID_TEXT = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
BOOLEAN_WORDS = frozenset({"true", "false", "True", "False", "TRUE", "FALSE"})
TYPE_CODES = frozenset({"type-error", "number-limit"})  # the rules that say a value is not of its field's type
ID_NAMES = ("id", "uid", "key", "slug", "code")  # preferred, in this order, when several fields could be the id
MISSING = object()


@dataclass
class Proposal:
    """Schemas by resource name (parents first), what was read, and what could not be read or decided."""

    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    records: int = 0


@dataclass
class _File:
    shown: str  # as problems show it
    stem: str
    form: str  # "one", "list" or "mapping"
    records: list[dict[str, Any]]
    keys: list[str] | None = None  # the id each record is filed under (form "mapping")
    size: int = 0  # bytes


def resource_name(text: str) -> str:
    """A resource name (`^[a-z][a-z0-9_]*$`) made from a folder's or file's name."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return name if re.match(r"^[a-z]", name) else f"records_{name}".rstrip("_")


def describe(path: Path, name: str | None = None, root: Path | None = None) -> Proposal:
    """Schemas for the records under `path` (a folder or one file). `root` is the folder datapackage.json is
    (or will be) in, which the layout's folder is relative to: by default the nearest folder at or above `path`
    holding a datapackage.json, else the current folder."""
    proposal = Proposal()
    path = path.resolve()
    base = root.resolve() if root is not None else _dataset_root(path)
    files = sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()) if path.is_dir() else [path]
    read: list[_File] = []
    for file in files:
        shown = _shown(file, base)
        found = _read(file, shown, proposal.problems)
        if found is not None:
            read.append(found)
    resource = name or resource_name(path.stem if path.is_file() else path.name)
    records = [record for f in read for record in f.records]
    proposal.files, proposal.records = len(read), len(records)
    if not records:
        proposal.problems.append(Problem("no-records", f"no YAML record found in {_shown(path, base)}",
                                         path=_shown(path, base), expected="files of YAML mappings (.yaml, .yml)",
                                         hint="give the folder that holds the record files, or one such file"))
        return proposal
    folder = path if path.is_dir() else path.parent
    layout = _layout(path, folder, base, read, resource, proposal.problems)
    id_name, ids = _identify(read, layout, proposal, _shown(path, base))
    schema = _resource(resource, records, proposal, [(id_name, "string")])
    _mark_key(schema, id_name, ids)
    if layout:
        schema.setdefault("x-broadsheet", {})["layout"] = layout
    proposal.schemas = {resource: schema, **proposal.schemas}
    return proposal


def _dataset_root(path: Path) -> Path:
    for folder in (path if path.is_dir() else path.parent, *path.parents):
        if (folder / DESCRIPTOR).is_file():
            return folder
    return Path.cwd().resolve()


def _shown(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix() or "."
    except ValueError:
        return path.as_posix()


def _read(file: Path, shown: str, problems: list[Problem]) -> _File | None:
    """One file's records as plain data (text, lists, mappings), or None with a problem saying why."""
    try:
        raw = file.read_bytes()
    except OSError as error:
        problems.append(Problem("unreadable-file", f"cannot read file: {error.strerror}", path=shown,
                                severity=WARNING))
        return None
    text, failed = decode_record(raw, shown)
    if text is None:
        assert failed is not None
        problems += [_warning(p) for p in failed.problems]
        return None
    try:
        documents = list(yaml.compose_all(text, Loader=FastLoader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problems.append(Problem("yaml-syntax", f"YAML syntax error: {error.problem}; the file is left out",
                                path=shown, line=mark.line + 1 if mark else 1, column=mark.column + 1 if mark else 1,
                                severity=WARNING))
        return None
    stem = file.name.removesuffix(file.suffix)
    values = [_plain(document) for document in documents]
    if len(values) == 1 and isinstance(values[0], list) and values[0] and all(isinstance(v, dict) for v in values[0]):
        return _File(shown, stem, "list", values[0], size=len(raw))
    if len(values) == 1 and isinstance(values[0], dict) and _is_id_mapping(values[0]):
        return _File(shown, stem, "mapping", list(values[0].values()), list(values[0]), len(raw))
    if len(values) == 1 and isinstance(values[0], dict):
        return _File(shown, stem, "one", [values[0]], size=len(raw))
    problems.append(Problem("not-a-mapping", "the file holds neither a record (a mapping) nor a list of records; "
                            "it is left out", path=shown, line=1, column=1, severity=WARNING))
    return None


def _warning(problem: Problem) -> Problem:
    return Problem(problem.code, problem.message + "; the file is left out", path=problem.path, line=problem.line,
                   column=problem.column, found=problem.found, expected=problem.expected, hint=problem.hint,
                   severity=WARNING)


def _is_id_mapping(value: dict[str, Any]) -> bool:
    """A mapping of id -> record: two or more keys, every value a mapping (a record whose every field is a
    mapping is far rarer than a file of records filed by id)."""
    return len(value) >= 2 and all(isinstance(v, dict) for v in value.values())


class Quoted(str):
    """A scalar typed in quotes: the curator said it is text (`'0012'`), so it is proposed as text."""

    __slots__ = ()


def _plain(node: yaml.Node) -> Any:
    """A composed node as data: a scalar is its text (None for a plain null word), as broadsheet.read.records reads."""
    if isinstance(node, yaml.ScalarNode):
        if node.style in ("'", '"'):
            return Quoted(node.value)
        return None if not node.style and node.value in NULL_WORDS else node.value
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item) for item in node.value]
    result: dict[str, Any] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value not in result:
            result[key.value] = _plain(value)
    return result


# --- the layout block ------------------------------------------------------------------------------------------

def _layout(path: Path, folder: Path, base: Path, read: list[_File], resource: str,
            problems: list[Problem]) -> dict[str, Any]:
    """`x-broadsheet.layout`, only the keys that differ from the default (datapackage/<resource>/<id>.yaml). The
    folder is inside datapackage/; records found elsewhere are given the folder they belong in, and a warning."""
    layout: dict[str, Any] = {}
    relative = _shown(folder, base)
    inside = relative.removeprefix(f"{DATA_DIR}/") if relative.startswith(f"{DATA_DIR}/") else None
    if inside is None:
        inside = folder.name if folder != base else resource
        problems.append(Problem(
            "outside-data-folder", f"the records are not in a folder inside {DATA_DIR}/; the proposal's layout "
            f"reads them from {DATA_DIR}/{inside}/", path=relative, expected=f"a folder inside {DATA_DIR}/",
            hint=f"move the folder (its files keep their names) to {DATA_DIR}/{inside}/", severity=WARNING))
    if inside != resource:
        layout["folder"] = inside
    if path.is_dir() and any("/" in f.shown[len(relative) + 1:] for f in read):
        layout["recursive"] = True
    suffixes = sorted({"." + f.shown.rsplit(".", 1)[-1] for f in read})
    if suffixes != [RECORD_SUFFIX]:
        layout["suffixes"] = suffixes
    forms = {f.form for f in read}
    if forms == {"list"}:
        layout["records"] = "list"
    elif forms == {"mapping"}:
        layout["records"] = "mapping"
    largest = max(f.size for f in read)
    if largest > MAX_FILE_BYTES:  # room to grow: the next million above half as much again
        layout["max-file-bytes"] = -(-largest * 3 // 2 // 1_000_000) * 1_000_000
    return layout


def _identify(read: list[_File], layout: dict[str, Any], proposal: Proposal, shown: str) -> tuple[str, list[str]]:
    """The primary key field and every record's id; where the ids come from goes into `layout.id`."""
    records = [record for f in read for record in f.records]
    names = list(_keys(records))
    if layout.get("records") == "mapping":
        keys = [key for f in read for key in f.keys or []]
        matching = [n for n in names if all(r.get(n) == k for r, k in zip(records, keys, strict=True))]
        return (_preferred(matching) if matching else _free_name("id", names)), keys
    candidates = [n for n in names if _could_be_id([r.get(n) for r in records])]
    if layout.get("records") != "list" and len({f.stem for f in read}) == len(read):
        from_file = [n for n in candidates if all(r.get(n) == f.stem for f in read for r in f.records)]
        if from_file:
            return _preferred(from_file), [f.stem for f in read]
    if candidates:
        id_name = _preferred(candidates)
        layout["id"] = "field"
        return id_name, [str(r[id_name]) for r in records]
    id_name = _free_name("id", names)
    proposal.problems.append(Problem(
        "no-id-field", "no field has a value of its own in every record, so the proposal names a new field "
        f"{id_name!r} as the primary key", path=shown, field=id_name, expected="a field unique in every record",
        hint=f"add `{id_name}: <the file name>` to each record, or make the field that identifies a record the "
        "primaryKey", severity=WARNING))
    return id_name, [f.stem for f in read]


def _could_be_id(values: list[Any]) -> bool:
    """Text in every record, each value its own, on one line."""
    return (all(isinstance(v, str) and v and "\n" not in v for v in values) and len(set(values)) == len(values))


def _preferred(names: list[str]) -> str:
    for wanted in ID_NAMES:
        if wanted in names:
            return wanted
    ending = [n for n in names if n.lower().endswith("id")]
    return (ending or names)[0]


def _mark_key(schema: dict[str, Any], id_name: str, ids: list[str]) -> None:
    """The id field first, required text; a slug pattern when every id is one."""
    fields = schema["fields"]
    described = next((f for f in fields if f["name"] == id_name), None)
    if described is None:
        described = {"name": id_name, "description": "The record's id."}
    else:
        fields.remove(described)
    described["type"] = "string"
    for key in ("x-partial-date", "format", "x-multiline"):
        described.pop(key, None)
    constraints = described.setdefault("constraints", {})
    constraints.pop("enum", None)
    constraints["required"] = True
    if ids and all(SLUG.match(i) for i in ids):
        constraints["pattern"] = SLUG.pattern
    fields.insert(0, described)
    schema["primaryKey"] = [id_name]


def _free_name(wanted: str, taken: list[str]) -> str:
    name = wanted
    while name in taken:
        name = f"{name}_"
    return name


# --- fields ----------------------------------------------------------------------------------------------------

def _resource(name: str, records: list[dict[str, Any]], proposal: Proposal, own_key: list[tuple[str, str]],
              parent: tuple[str, list[tuple[str, str]], list[str]] | None = None, key: str = "") -> dict[str, Any]:
    """A schema for `records`: a top-level resource whose key is `own_key` ((field, type) pairs), or a child
    holding the list `key` of `parent` (its name, its key, the fields of that key its own parent filled in)."""
    schema: dict[str, Any] = {"title": name.replace("_", " ").capitalize(),
                              "description": f"Proposed by broadsheet describe from {_count(len(records), 'record')}: "
                                             "say what one row is."}
    fields: list[dict[str, Any]] = []
    if parent is not None:
        parent_name, parent_key, inherited = parent
        taken = list(_keys(records))
        link = [(_free_name(k if k in inherited else f"{parent_name}_{k}", taken), t) for k, t in parent_key]
        position = _free_name("position", taken + [n for n, _t in link])
        schema["x-broadsheet"] = {"parent": parent_name, "key": key, "position": position}
        fields += [{"name": n, "type": t, "description": f"The {parent_name} row it belongs to (filled in by the "
                    "loader)."} for n, t in link]
        fields.append({"name": position, "type": "integer", "description": "Order in the list (filled in by the "
                       "loader).", "constraints": {"minimum": 1}})
        own_key = [*link, (position, "integer")]
    for field_name in _keys(records):
        values = [r.get(field_name, MISSING) for r in records]
        present = [v for v in values if v is not MISSING and v is not None and v != []]
        shapes = {_shape(v) for v in present}
        if shapes == {"records"}:
            child_name = _free_child_name(f"{name}_{resource_name(field_name)}", proposal)
            proposal.schemas[child_name] = {}  # its place: before its own children
            items = [item for v in present for item in v]
            inherited = [n for n, _t in own_key[:-1]] if parent is not None else []
            child = _resource(child_name, items, proposal, [], (name, own_key, inherited), field_name)
            child["description"] = (f"One row per item of the `{field_name}` list of {name} records (proposed by "
                                    f"broadsheet describe from {_count(len(items), 'item')}).")
            proposal.schemas[child_name] = child
            continue
        described: dict[str, Any] = {"name": field_name}
        if len(shapes) > 1 or shapes & {"nested list", "records"}:
            proposal.problems.append(Problem(
                "mixed-shapes", f"{field_name} holds {', '.join(sorted(shapes))}; proposed as text: edit it by hand",
                resource=name, field=field_name, found=", ".join(sorted(shapes)),
                expected="one shape: text, a list of texts, a list of mappings or a mapping", severity=WARNING))
            described["type"] = "string"
        elif shapes == {"list"}:
            described["type"] = "array"
        elif shapes == {"mapping"}:
            described["type"] = "object"
        else:
            described.update(field_type([v for v in present if isinstance(v, str)]))
        if present and len(present) == len(values) and described["type"] != "array":
            described.setdefault("constraints", {})["required"] = True
        fields.append(described)
    schema["fields"] = fields
    if parent is not None:
        schema["primaryKey"] = [n for n, _t in own_key]
        schema["foreignKeys"] = [{"fields": [n for n, _t in own_key[:-1]],
                                  "reference": {"resource": parent[0], "fields": [n for n, _t in parent[1]]}}]
    return schema


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _keys(records: list[dict[str, Any]]) -> Iterator[str]:
    """Every key of the records, in their order: a key first met in a later record goes after the key that
    precedes it there."""
    order: list[str] = []
    for record in records:
        previous = None
        for key in record:
            if key not in order:
                order.insert(order.index(previous) + 1 if previous is not None else 0, key)
            previous = key
    yield from order


def _free_child_name(name: str, proposal: Proposal) -> str:
    while name in proposal.schemas:
        name = f"{name}_"
    return name


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            return "records"
        return "list" if all(not isinstance(item, dict | list) for item in value) else "nested list"
    return "text"


def field_type(values: list[str]) -> dict[str, Any]:
    """The first type every value is, by Broadsheet's casts and frictionless' (and the constraints it proposes)."""
    for candidate in _candidates(values):
        if all(_accepted(candidate, value) for value in values):
            break
    else:  # pragma: no cover - plain text takes every value
        candidate = {"type": "string"}
    if candidate == {"type": "string"}:
        if any("\n" in value for value in values):
            candidate["x-multiline"] = True
        distinct = sorted(set(values))
        if (0 < len(distinct) <= ENUM_MAX and len(values) >= 2 * len(distinct)
                and all(len(v) <= ENUM_LONGEST and "\n" not in v for v in distinct)):
            candidate["constraints"] = {"enum": distinct}
    return candidate


def _candidates(values: list[str]) -> Iterator[dict[str, Any]]:
    if any(isinstance(v, Quoted) for v in values):
        yield {"type": "string"}
        return
    if values and all(v in BOOLEAN_WORDS for v in values):
        yield {"type": "boolean"}
    if values and all(INTEGER.fullmatch(v) and len(v.lstrip("-")) <= MAX_INTEGER_DIGITS for v in values):
        yield {"type": "integer"}
    if values and all(NUMBER.fullmatch(v) for v in values):
        yield {"type": "number"}
    if values and all(DATE.fullmatch(v) for v in values):
        yield {"type": "date"}
    if values and all(PARTIAL_DATE.fullmatch(v) for v in values):  # the calendar: the partial-date rule's
        yield {"type": "string", "x-partial-date": True}
    if values and all(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$", v) for v in values):
        yield {"type": "string", "format": "uri"}
    if values and all(re.match(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", v) for v in values):
        yield {"type": "string", "format": "email"}
    if values and all(UUID_TEXT.match(v) for v in values):
        yield {"type": "string", "format": "uuid"}
    yield {"type": "string"}


_READERS: dict[str, Any] = {}


def _accepted(descriptor: dict[str, Any], text: str) -> bool:
    """Would validate accept the text in such a field, as to its type: Broadsheet's type rules and frictionless'
    own reading of the cell (type, format)."""
    spec = FieldSpec("value", descriptor["type"], descriptor)
    if any(rule.code in TYPE_CODES and not rule.accepts(text) for rule in REGISTRY.cell_rules(spec)):
        return False
    key = repr(sorted(descriptor.items()))
    reader = _READERS.get(key)
    if reader is None:
        from frictionless import Field  # deferred: 0.35 s to import

        reader = _READERS[key] = Field.from_descriptor(
            {"name": "value", **{k: v for k, v in descriptor.items() if not k.startswith("x-")}}).create_cell_reader()
    return reader(text)[1] is None


# --- output ----------------------------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    """Schemas as the repository writes them: a mapping or list of plain values on one line (`constraints:
    {required: true}`, `primaryKey: [id]`), everything else in blocks."""


def _represent_dict(dumper: yaml.SafeDumper, value: dict[str, Any]) -> yaml.Node:
    flow = (bool(value) and "name" not in value and len(str(value)) < 80  # a field stays a block
            and all(not isinstance(v, dict | list) or _scalars(v) for v in value.values()))
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=flow)


def _scalars(value: object) -> bool:
    return isinstance(value, list) and all(not isinstance(v, dict | list) for v in value)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flow = _scalars(value) and len(str(value)) < 80
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def schema_text(schema: dict[str, Any]) -> str:
    return yaml.dump(schema, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


def render(proposal: Proposal) -> str:
    """Every proposed schema as YAML, one document each, headed by the file it belongs in."""
    return "---\n".join(f"# schemas/{name}{SCHEMA_SUFFIX}\n{schema_text(schema)}"
                         for name, schema in proposal.schemas.items())


def targets(proposal: Proposal, folder: Path) -> dict[Path, str]:
    """The file each schema would be written to, with its text."""
    return {folder / f"{name}{SCHEMA_SUFFIX}": schema_text(schema) for name, schema in proposal.schemas.items()}


def write(proposal: Proposal, folder: Path) -> tuple[list[Path], list[Problem]]:
    """Write the schemas into `folder`: (the files written, []), or nothing at all and a problem for each schema
    already there."""
    planned = targets(proposal, folder)
    existing = [Problem("exists", f"{path.name} already exists; describe never writes over a schema",
                        path=str(path), hint="write the proposal to another folder (--out) or print it, and merge by "
                        "hand") for path in planned if path.exists()]
    if existing:
        return [], existing
    folder.mkdir(parents=True, exist_ok=True)
    for path, text in planned.items():
        with open(path, "x", encoding="utf-8") as handle:  # "x": never over a file made meanwhile either
            handle.write(text)
    return list(planned), []
