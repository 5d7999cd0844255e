"""Record-level diff between two git revisions, or a revision and the working tree.

A reviewer wants to know which records were added, removed or changed, and for a changed record each field's
old and new value — not a line diff of YAML. Both sides are parsed exactly as validation parses them (strict
YAML, every scalar kept as text, lists of scalars as JSON text), so `"1931"` → `1931` is no change at all, and
a reordered or re-quoted file shows nothing.

Only files git reports as changed are read and parsed, so the diff of a small pull request is fast on a large
dataset. The resource registry comes from the working tree's schemas (the toolkit's view of the data now).
Renderers (text, Markdown, JSON) are pure functions of a `Diff`.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

from broadsheet.git import GitError, changed_paths, default_base, in_repository, read_blobs, repo_prefix, resolve, short
from broadsheet.layout import FROM_FIELD, ONE, Layout
from broadsheet.package import PackageSpec, ResourceSpec
from broadsheet.read.records import parse_bytes, read_record
from broadsheet.read.tables import build_tables

WORKTREE = "working tree"
JSON_SCHEMA_VERSION = 1
Row = dict[str, str | None]


def record_states(package: PackageSpec, path: str, raw: bytes) -> dict[str, RecordState]:
    """Every record a file holds, keyed for comparison: by its path for a file of one record, by path and id for
    a file of many (so a record is compared with itself wherever it stands in the file)."""
    spec = package.record_resource(path)
    if spec is None or spec.records is None:
        return {}
    if spec.records.records == ONE:
        state = record_state(package, path, raw)
        return {path: state} if state is not None else {}
    parsed = parse_bytes(raw, path, spec.records)
    if parsed.many is None:
        first = parsed.problems[0] if parsed.problems else None
        error = f"line {first.line}: {first.message}" if first and first.line else (first.message if first else "")
        return {path: RecordState(spec.name, "", path, {}, {}, None, error or "does not parse")}
    tables = build_tables(package, {spec.name: [parsed]})
    top = tables[spec.name]
    children = list_paths(package, spec)
    shown = {key_path: row_fields(package, child) for key_path, child in children.items()}
    states = {}
    for row, origin in zip(top.rows, top.origins, strict=True):
        fields: Row = dict(zip(spec.field_names, row, strict=True))
        lists = {}
        for key_path, child in children.items():
            table = tables[child.name]
            columns = [table.column(name) for name in shown[key_path]]
            lists[key_path] = [{name: child_row[c] for name, c in zip(shown[key_path], columns, strict=True)}
                               for child_row, child_origin in zip(table.rows, table.origins, strict=True)
                               if child_origin.record_id == origin.record_id]
        label = fields.get(spec.label_field) if spec.label_field else None
        states[f"{path}\0{origin.record_id}"] = RecordState(spec.name, origin.record_id, path, fields, lists, label)
    return states


# ---------------------------------------------------------------------------------------------------------------
# records as comparable values


@dataclass(frozen=True)
class RecordState:
    """One record file as values: its fields, and the rows of each list inside it (keyed by the list's path)."""

    resource: str
    record_id: str
    path: str
    fields: Row
    lists: dict[str, list[Row]]
    label: str | None = None
    error: str | None = None  # set when the file does not parse; fields and lists are then empty


def record_location(package: PackageSpec, path: str) -> tuple[ResourceSpec, str] | None:
    """(resource, record id named by the file) for a file holding one record (`datapackage/<resource>/<id>.yaml`
    by default; where ids come from a field, the file name stands for the id until the file is read). None for
    any other path, and for a file of many records: diff and history compare files of one record."""
    spec = package.record_resource(path)
    if spec is None or spec.records is None or spec.records.records != ONE:
        return None
    return spec, spec.records.stem(path)


def list_paths(package: PackageSpec, spec: ResourceSpec, prefix: str = "") -> dict[str, ResourceSpec]:
    """Every list nested in a record of `spec`, by its dotted key path (`names`, `stages.figures`)."""
    found: dict[str, ResourceSpec] = {}
    for key, child_name in list_keys(package, spec).items():
        child = package.resources[child_name]
        found[prefix + key] = child
        found.update(list_paths(package, child, f"{prefix}{key}."))
    return found


def list_keys(package: PackageSpec, spec: ResourceSpec) -> dict[str, str]:
    """The lists of a record in canonical order: the citation list last, since it refers to everything above it."""
    return dict(sorted(spec.children.items(), key=lambda item: bool(package.resources[item[1]].cites)))


def row_fields(package: PackageSpec, spec: ResourceSpec) -> list[str]:
    """The fields shown for a list row: what the curator typed, plus which entry of the enclosing list it is in."""
    parent = package.resources[spec.parent] if spec.parent else None
    entry_link = spec.parent_link if parent is not None and parent.position else {}
    return [name for name in spec.field_names
            if name in spec.typed_fields or (name in entry_link and entry_link[name] == parent.position)]


def record_state(package: PackageSpec, path: str, raw: bytes) -> RecordState | None:
    """Parse one record file's bytes into comparable values; None if `path` is not a record file."""
    located = record_location(package, path)
    if located is None:
        return None
    spec, record_id = located
    parsed = parse_bytes(raw, path)
    if parsed.entry is None:
        first = parsed.problems[0] if parsed.problems else None
        error = f"line {first.line}: {first.message}" if first and first.line else (first.message if first else "")
        return RecordState(spec.name, record_id, path, {}, {}, None, error or "does not parse")
    tables = build_tables(package, {spec.name: [parsed]})
    top = tables[spec.name]
    fields: Row = dict(zip(spec.field_names, top.rows[0], strict=True)) if top.rows else {}
    lists = {}
    for key_path, child in list_paths(package, spec).items():
        table = tables[child.name]
        shown = row_fields(package, child)
        columns = [table.column(name) for name in shown]
        lists[key_path] = [{name: row[c] for name, c in zip(shown, columns, strict=True)} for row in table.rows]
    label = fields.get(spec.label_field) if spec.label_field else None
    if spec.records is not None and spec.records.id_from == FROM_FIELD and fields.get(spec.id_field):
        record_id = str(fields[spec.id_field])
    return RecordState(spec.name, record_id, path, fields, lists, label)


# ---------------------------------------------------------------------------------------------------------------
# the diff model


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class RowChange:
    """One entry of a list: added (old_position 0), removed (new_position 0) or changed (both set)."""

    old_position: int
    new_position: int
    fields: list[FieldChange]


@dataclass(frozen=True)
class ListChange:
    key: str
    rows: list[RowChange]


@dataclass(frozen=True)
class RecordChange:
    resource: str
    record_id: str
    path: str
    change: str  # added | removed | changed
    label: str | None = None
    fields: list[FieldChange] = field(default_factory=list)
    lists: list[ListChange] = field(default_factory=list)
    note: str = ""  # why values could not be compared (a side does not parse)


@dataclass
class Diff:
    base: str
    head: str
    resources: list[str]  # every top-level resource, in package order
    records: list[RecordChange] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {kind: sum(1 for r in self.records if r.change == kind) for kind in ("added", "removed", "changed")}

    def of(self, resource: str) -> list[RecordChange]:
        return [r for r in self.records if r.resource == resource]


def compare_fields(old: Row, new: Row, order: list[str]) -> list[FieldChange]:
    names = order + [n for n in (*old, *new) if n not in order]
    seen: set[str] = set()
    changes = []
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        if old.get(name) != new.get(name):
            changes.append(FieldChange(name, old.get(name), new.get(name)))
    return changes


def compare_rows(old: list[Row], new: list[Row]) -> list[RowChange]:
    """Entries added, removed and edited, aligned like a line diff so inserting one entry is one change."""
    def frozen(rows: list[Row]) -> list[tuple[tuple[str, str | None], ...]]:
        return [tuple(row.items()) for row in rows]

    changes: list[RowChange] = []
    matcher = difflib.SequenceMatcher(a=frozen(old), b=frozen(new), autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(a1 - a0, b1 - b0) if tag == "replace" else 0
        for k in range(paired):
            order = list(old[a0 + k])
            changes.append(RowChange(a0 + k + 1, b0 + k + 1, compare_fields(old[a0 + k], new[b0 + k], order)))
        for i in range(a0 + paired, a1):
            changes.append(RowChange(i + 1, 0, compare_fields(old[i], {}, list(old[i]))))
        for j in range(b0 + paired, b1):
            changes.append(RowChange(0, j + 1, compare_fields({}, new[j], list(new[j]))))
    return changes


def compare_records(old: RecordState | None, new: RecordState | None, order: list[str]) -> RecordChange | None:
    """The change from `old` to `new` (None = the file is absent); None when their values are equal."""
    either = new or old
    if either is None:
        return None
    change = "added" if old is None else "removed" if new is None else "changed"
    before = old or RecordState(either.resource, either.record_id, either.path, {}, {})
    after = new or RecordState(either.resource, either.record_id, either.path, {}, {})
    errors = [f"{side}: {state.error}" for side, state in (("before", old), ("after", new)) if state and state.error]
    fields: list[FieldChange] = []
    lists = []
    if not errors:  # a side that does not parse has no values to compare; the note says why
        fields = compare_fields(before.fields, after.fields, order)
        for key in dict.fromkeys([*before.lists, *after.lists]):
            rows = compare_rows(before.lists.get(key, []), after.lists.get(key, []))
            if rows:
                lists.append(ListChange(key, rows))
    if change == "changed" and not fields and not lists and before.error == after.error:
        return None
    label = after.label if new is not None and after.label else before.label
    return RecordChange(either.resource, either.record_id, either.path, change, label, fields, lists,
                        "; ".join(errors))


def diff_states(package: PackageSpec, old: dict[str, RecordState], new: dict[str, RecordState],
                base: str, head: str) -> Diff:
    """Compare two snapshots keyed by path, or path and id for files of many records (only the keys that may
    differ need to be present)."""
    result = Diff(base, head, [spec.name for spec in package.top_level])
    order = {spec.name: spec.field_names for spec in package.top_level}
    rank = {name: i for i, name in enumerate(result.resources)}
    for path in sorted(set(old) | set(new)):
        either = new.get(path) or old[path]
        change = compare_records(old.get(path), new.get(path), order[either.resource])
        if change is not None:
            result.records.append(change)
    kind_rank = {"added": 0, "removed": 1, "changed": 2}
    result.records.sort(key=lambda r: (rank[r.resource], kind_rank[r.change], r.record_id))
    return result


def diff_revisions(package: PackageSpec, base: str | None = None, head: str | None = None) -> Diff:
    """Diff `base` (default: merge base with main) against `head` (default: the working tree)."""
    layout: Layout = package.layout
    root = layout.root
    if not in_repository(root):
        raise GitError(f"{root.name} is not inside a git repository")
    base_commit = resolve(root, base) if base else default_base(root)
    head_commit = resolve(root, head) if head else None
    paths = [p for p in changed_paths(root, base_commit, head_commit) if package.record_resource(p)]
    prefix = repo_prefix(root)
    names = [f"{base_commit}:{prefix}{p}" for p in paths]
    if head_commit:
        names += [f"{head_commit}:{prefix}{p}" for p in paths]
    blobs = read_blobs(root, names)
    old: dict[str, RecordState] = {}
    new: dict[str, RecordState] = {}
    for path in paths:
        before = blobs[f"{base_commit}:{prefix}{path}"]
        if head_commit:
            after = blobs[f"{head_commit}:{prefix}{path}"]
        else:
            file = root / path
            try:
                after = read_record(file)  # a link is not followed: it shows as the record gone
            except OSError:
                after = None
        for raw, side in ((before, old), (after, new)):
            if raw is not None:
                side.update(record_states(package, path, raw))
    head_name = short(root, head_commit) if head_commit else WORKTREE
    return diff_states(package, old, new, short(root, base_commit), head_name)


# ---------------------------------------------------------------------------------------------------------------
# renderers (pure)

ABSENT = "(empty)"
KIND_SIGN = {"added": "+", "removed": "-", "changed": "~"}


def _shown(value: str | None) -> str:
    return ABSENT if value is None else value


def _summary(diff: Diff) -> str:
    counts = diff.counts()
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def _row_text(fields: list[FieldChange], side: str) -> str:
    return ", ".join(f"{c.field}: {_shown(getattr(c, side))}" for c in fields)


def _row_line(key: str, row: RowChange) -> str:
    if not row.old_position:
        return f"{key}[{row.new_position}] added: {_row_text(row.fields, 'new')}"
    if not row.new_position:
        return f"{key}[{row.old_position}] removed: {_row_text(row.fields, 'old')}"
    where = f"{key}[{row.new_position}]" if row.old_position == row.new_position else \
        f"{key}[{row.old_position}→{row.new_position}]"
    return f"{where}: " + "; ".join(f"{c.field}: {_shown(c.old)} → {_shown(c.new)}" for c in row.fields)


def _detail_lines(record: RecordChange) -> list[str]:
    lines = [f"{c.field}: {_shown(c.old)} → {_shown(c.new)}" for c in record.fields]
    for list_change in record.lists:
        lines += [_row_line(list_change.key, row) for row in list_change.rows]
    return lines


def _title(record: RecordChange) -> str:
    return f"{record.record_id} ({record.label})" if record.label else record.record_id


def render_text(diff: Diff) -> str:
    """`base..head: N added, N removed, N changed`, then per resource `+ id`, `- id`, `~ id` with its changes."""
    lines = [f"{diff.base}..{diff.head}: {_summary(diff)}"]
    for resource in diff.resources:
        records = diff.of(resource)
        if not records:
            continue
        lines.append(resource)
        for record in records:
            lines.append(f"  {KIND_SIGN[record.change]} {_title(record)}")
            if record.note:
                lines.append(f"      note: {record.note}")
            if record.change == "changed":
                lines += [f"      {line}" for line in _detail_lines(record)]
    return "\n".join(lines)


def _md(text: str | None) -> str:
    """A value inside a Markdown table cell or list item: code-formatted, pipes and newlines neutralised."""
    if text is None:
        return "*empty*"
    text = text.replace("\r", "").replace("\n", "↵").replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


MARKDOWN_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#"})


def _md_text(text: str) -> str:
    """Prose (a label) in Markdown: characters that would format or link escaped."""
    return text.replace("\n", " ").translate(MARKDOWN_SPECIAL)


def _md_row_value(fields: list[FieldChange], side: str) -> str:
    return "<br>".join(f"{c.field}: {_md(getattr(c, side))}" for c in fields if getattr(c, side) is not None)


def render_markdown(diff: Diff) -> str:
    """A pull-request comment or job summary: a heading with the counts, then one section per resource."""
    lines = [f"### Data changes {diff.base}..{diff.head}", ""]
    if not diff.records:
        lines.append("No record was added, removed or changed.")
        return "\n".join(lines) + "\n"
    lines += [f"{_summary(diff)}.", ""]
    for resource in diff.resources:
        records = diff.of(resource)
        if not records:
            continue
        lines += [f"#### {resource}", ""]
        for record in records:
            label = f" {_md_text(record.label)}" if record.label else ""
            lines.append(f"- **{record.change}** `{record.record_id}`{label}")
            if record.note:
                lines.append(f"  - note: {record.note}")
        lines.append("")
        for record in (r for r in records if r.change == "changed" and (r.fields or r.lists)):
            lines += [f"<details open><summary><code>{record.path}</code></summary>", "",
                      "| field | before | after |", "|---|---|---|"]
            lines += [f"| {c.field} | {_md(c.old)} | {_md(c.new)} |" for c in record.fields]
            for list_change in record.lists:
                for row in list_change.rows:
                    position = row.new_position or row.old_position
                    before = _md_row_value(row.fields, "old") if row.old_position else "*added*"
                    after = _md_row_value(row.fields, "new") if row.new_position else "*removed*"
                    lines.append(f"| {list_change.key}[{position}] | {before} | {after} |")
            lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _field_json(changes: list[FieldChange]) -> list[dict[str, str | None]]:
    return [{"field": c.field, "old": c.old, "new": c.new} for c in changes]


def to_dict(diff: Diff) -> dict:
    return {
        "version": JSON_SCHEMA_VERSION,
        "base": diff.base,
        "head": diff.head,
        "counts": diff.counts(),
        "records": [
            {"resource": r.resource, "record_id": r.record_id, "path": r.path, "change": r.change, "label": r.label,
             "note": r.note, "fields": _field_json(r.fields),
             "lists": [{"key": lc.key, "rows": [{"old_position": row.old_position, "new_position": row.new_position,
                                                  "fields": _field_json(row.fields)} for row in lc.rows]}
                       for lc in r.lists]}
            for r in diff.records
        ],
    }


def render_json(diff: Diff) -> str:
    """Shape: {"version", "base", "head", "counts", "records": [{resource, record_id, path, change, label, note,
    fields: [{field, old, new}], lists: [{key, rows: [{old_position, new_position, fields}]}]}]}."""
    return json.dumps(to_dict(diff), ensure_ascii=False, indent=2)


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}
