"""`broadsheet new`: a record template with every field of the schema, described, for a curator to fill in."""

from __future__ import annotations

import re

from broadsheet.constraints import expectations, sentence
from broadsheet.diff import list_keys
from broadsheet.errors import BroadsheetError
from broadsheet.package import FieldSpec, PackageSpec, ResourceSpec

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class ScaffoldError(BroadsheetError):
    """A bad request: unknown resource, a child resource, an invalid id."""



def field_hint(spec: FieldSpec, package: PackageSpec, owner: ResourceSpec) -> str:
    """One line saying what a field holds and what validation accepts."""
    parts = [spec.description.rstrip(".") + "." if spec.description else ""]
    phrases = expectations(spec)
    if spec.name == owner.id_field:
        phrases.pop("pattern", None)  # the id's own rule is the file name's; the template says nothing of it
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
    if record_id is not None and not SLUG.match(record_id):
        raise ScaffoldError(f"id {record_id!r} is not a lowercase slug such as `my-record-2025` "
                            f"(lowercase letters and digits joined by single hyphens)")
    lines = [f"# {spec.title}: {spec.description}".rstrip(": "),
             "# Fill in what a source states; delete a line you cannot fill (an empty value means not known).", ""]
    for name in spec.field_names:
        if name not in spec.typed_fields:
            continue
        lines.append(f"# {field_hint(spec.field_map[name], package, spec)}")
        value = record_id if name == spec.id_field and record_id else ""
        lines.append(f"{name}: {value}".rstrip())
    for key, child in list_keys(package, spec).items():
        lines += ["", *_list_example(package, package.resources[child], key, indent="")]
    return "\n".join(lines) + "\n"


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
