"""`broadsheet new`: a record template with every field of the schema, described, for a curator to fill in."""

from __future__ import annotations

import re
from pathlib import Path

from broadsheet.constraints import expectations, pattern_words, sentence
from broadsheet.diff import list_keys
from broadsheet.errors import BroadsheetError
from broadsheet.layout import FROM_FILE, FROM_KEY, LIST, MAPPING, RecordLayout
from broadsheet.package import FieldSpec, PackageSpec, ResourceSpec

NOT_IN_FILE_NAMES = re.compile(r"[^A-Za-z0-9._-]+")  # a file named after an id taken from a field: the rest is -


class ScaffoldError(BroadsheetError):
    """A bad request: unknown resource, a child resource, an invalid id."""



def field_hint(spec: FieldSpec, package: PackageSpec, owner: ResourceSpec) -> str:
    """One line saying what a field holds and what validation accepts."""
    parts = [spec.description.rstrip(".") + "." if spec.description else ""]
    phrases = expectations(spec)
    if spec.name == owner.id_field:
        phrases.pop("pattern", None)  # `new` checks an id it is given against the pattern (check_id)
    parts += [sentence(phrase) for phrase in phrases.values()]
    for fk in owner.foreign_keys:
        if fk["fields"] == [spec.name] and fk["reference"]["resource"] != owner.parent:
            parts.append(f"The id of a record in {fk['reference']['resource'] or owner.name}.")
    if spec.flag("cite") and package.citation_table(owner.name) is not None:
        citations = package.citation_table(owner.name)
        parts.append(f"Cite it in `{citations.key}`.")
    return " ".join(p for p in parts if p)


def template(package: PackageSpec, resource: str, record_id: str | None = None) -> str:
    """A record file with every field the curator types, each described; child lists as commented examples."""
    spec = package.resources.get(resource)
    if spec is None:
        top = ", ".join(s.name for s in package.top_level)
        raise ScaffoldError(f"no resource {resource!r}; records can be written for: {top}")
    if not spec.is_top_level:
        raise ScaffoldError(f"{resource!r} is the list `{spec.key}` inside {spec.parent} records; "
                            f"write a {spec.parent} record instead")
    form = spec.records or RecordLayout("")
    if record_id is not None:
        check_id(spec, form, record_id)
    lines = [f"# {spec.title}: {spec.description}".rstrip(": "),
             "# Fill in what a source states; delete a line you cannot fill (an empty value means not known).", ""]
    for name in spec.field_names:
        if name not in spec.typed_fields:
            continue
        lines.append(f"# {field_hint(spec.field_map[name], package, spec)}")
        if name == spec.id_field and form.id_from == FROM_KEY:
            lines.pop()  # the id is the key the record is filed under
            continue
        value = _key(record_id) if name == spec.id_field and record_id else ""
        lines.append(f"{_key(name)}: {value}".rstrip())
    for key, child in list_keys(package, spec).items():
        lines += ["", *_list_example(package, package.resources[child], key, indent="")]
    if form.records == LIST:  # one item of the file's list
        head, body = lines[:2], lines[2:]
        first = next(i for i, line in enumerate(body) if line and not line.startswith("#"))
        body = [("- " if i == first else "  ") + line if line else line for i, line in enumerate(body)]
        lines = [*head, *body]
    elif form.records == MAPPING:  # filed under its id
        lines = [*lines[:2], f"{_key(record_id or 'new-id')}:",
                 *("  " + line if line else line for line in lines[2:])]
    return "\n".join(lines) + "\n"


def check_id(spec: ResourceSpec, form: RecordLayout, record_id: str) -> None:
    """An id `validate` accepts: the id field's pattern as frictionless applies it (the whole value), and a
    file name when the file is named after its id."""
    if not record_id.strip() or record_id != record_id.strip():
        raise ScaffoldError(f"id {record_id!r} is empty or starts or ends with a space")
    if form.id_from == FROM_FILE and ("/" in record_id or "\\" in record_id or record_id.startswith(".")):
        raise ScaffoldError(f"id {record_id!r} names the record's file: it cannot hold a / or \\ or start with .")
    pattern = spec.field_map[spec.id_field].constraints.get("pattern")
    if isinstance(pattern, str) and re.match(f"^{pattern}$", record_id) is None:
        described = spec.field_map[spec.id_field].description
        raise ScaffoldError(f"id {record_id!r} of {spec.name}.{spec.id_field} is not {pattern_words(pattern)}"
                            + (f": {described}" if described else ""))


def record_file(package: PackageSpec, resource: str, record_id: str) -> Path:
    """Where `broadsheet new` writes a record: a file named after its id (an id from a field: its letters,
    digits, `.`, `_` and `-`, the rest as `-`)."""
    spec = package.resources[resource]
    form = spec.records or RecordLayout("")
    stem = record_id if form.id_from == FROM_FILE else NOT_IN_FILE_NAMES.sub("-", record_id).strip("-.") or "record"
    return package.layout.root / form.folder / f"{stem}{form.suffixes[0]}"


def _key(name: str) -> str:
    """A name or id as YAML text: plain when YAML reads it back as itself, quoted otherwise."""
    if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_./-]*( [A-Za-z0-9_./-]+)*", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list_example(package: PackageSpec, child: ResourceSpec, key: str, indent: str) -> list[str]:
    """`# key:` and one commented entry; nested lists inside it, indented further."""
    lines = [f"{indent}# {child.title}: {child.description}".rstrip(": ") if indent == "" else "",
             f"{indent}# {key}:"]
    lines = [line for line in lines if line]
    first = True
    for name in child.field_names:
        if name not in child.typed_fields:
            continue
        lead = "  - " if first else "    "
        first = False
        lines.append(f"{indent}# {lead}{name}:  # {field_hint(child.field_map[name], package, child)}".rstrip())
    for sub_key, grandchild in list_keys(package, child).items():
        nested = _list_example(package, package.resources[grandchild], sub_key, indent="")
        lines += [f"{indent}#     {line.removeprefix('# ')}" for line in nested]
    return lines
