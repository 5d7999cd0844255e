"""`broadsheet fmt`: one canonical form for a record file.

Canonical form, as `fmt` writes it — it never changes what a value means, only how the file is laid out:

1. **Key order from the schema.** A record's keys follow its schema's field order, then its lists in the order
   the curator wrote them (no schema orders lists), the citation list last; inside each list entry, the child
   schema's field order. Keys the schema does not know keep their relative order at the end (validation reports
   them).
2. **Quoting: plain unless YAML needs quotes.** Broadsheet reads every scalar as the text typed, so quotes are
   only needed where YAML itself would read a plain scalar differently: `founded: "1931"` becomes `founded: 1931`,
   `registry_code: 050540004455` stays plain, while `'a: b'`, `"#1"`, `" padded"` or the text `"null"` keep (or
   get) quotes: double quotes with JSON-style escapes, or single quotes for text that holds a `"` and no `'`
   (a quotation reads better without backslashes). Only single-line scalars in block context are
   touched; block scalars (`|`, `>`), multi-line scalars and flow collections (`[a, b]`) stay as typed.
3. **Comments stay with what they describe.** A run of comment lines directly above a key moves with that key;
   a comment at the end of a line stays on its line; other comments stay where they are relative to the
   surrounding keys. At most one blank line separates top-level keys, none at the end; line endings are `\n`.

PyYAML drops comments, so `fmt` does not re-emit YAML: it moves line ranges of the original text, located with
the composed node tree (positions of every key and value). Before a file is written the result is parsed again
and its rows must equal the original's, and formatting it again must change nothing; otherwise the file is
left alone and a problem is reported. A file that does not parse is never rewritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import yaml

from broadsheet.errors import Problem
from broadsheet.layout import DATA_DIR, ONE, RECORD_SUFFIX, RecordLayout
from broadsheet.package import PackageSpec, ResourceSpec
from broadsheet.read.records import NULL_WORDS, FastLoader, parse_bytes
from broadsheet.read.tables import build_tables


@dataclass
class Formatted:
    """The outcome for one file: `text` is the canonical form (None when the file was refused)."""

    path: str
    original: str
    text: str | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.text is not None and self.text != self.original


def format_record(package: PackageSpec, path: str, raw: bytes) -> Formatted:
    """The canonical form of one record file (`path` relative to the root), or the problems that stop it."""
    original = raw.decode("utf-8", "replace")
    spec = package.record_resource(path)
    if spec is None:
        return Formatted(path, original, None, [Problem(
            "not-a-record", "not a record file", path=path, expected=f"{DATA_DIR}/<resource>/<id>{RECORD_SUFFIX}",
            hint="fmt rewrites record files only (the files a schema's x-broadsheet.layout names)")])
    form = spec.records or RecordLayout("")
    parsed = parse_bytes(raw, path, form)
    if (parsed.entry is None and parsed.many is None) or parsed.problems:
        return Formatted(path, original, None, parsed.problems)
    text = canonical_text(package, spec, original.removeprefix("\ufeff"), form)
    second = canonical_text(package, spec, text, form)
    if second != text:
        return Formatted(path, original, None, [Problem(
            "fmt-unsafe", "fmt's canonical form of this file is not stable (a second run would change it again); "
            "it was left as it is", path=path, hint="format it by hand, and please report the file")])
    before, after = _rows(package, spec, path, original), _rows(package, spec, path, text)
    if before != after:
        return Formatted(path, original, None, [_changed_value(path, before, after)])
    return Formatted(path, original, text)


def _changed_value(path: str, before: object, after: object) -> Problem:
    """fmt-unsafe, saying which value the canonical form would change."""
    assert isinstance(before, dict) and isinstance(after, dict)
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, []), after.get(table, [])
        for index, (old_row, new_row) in enumerate(zip(old, new, strict=False)):
            for name, value in old_row.items():
                if new_row.get(name) != value:
                    return Problem("fmt-unsafe", f"fmt's canonical form would change {name} of row {index + 1} "
                                   f"of {table} from {value!r} to {new_row.get(name)!r}; the file was left as it is",
                                   path=path, resource=table, field=name, found=repr(value),
                                   expected=repr(new_row.get(name)), hint="format it by hand, and please report "
                                   "the file")
        if len(old) != len(new):
            return Problem("fmt-unsafe", f"fmt's canonical form would hold {len(new)} rows of {table}, not "
                           f"{len(old)}; the file was left as it is", path=path, resource=table,
                           hint="format it by hand, and please report the file")
    return Problem("fmt-unsafe", "fmt could not rewrite this file without changing a value; it was left as it is",
                   path=path, hint="format it by hand, and please report the file")


def _rows(package: PackageSpec, spec: ResourceSpec, path: str, text: str) -> object:
    parsed = parse_bytes(text.encode("utf-8"), path, spec.records)
    if parsed.entry is None and parsed.many is None:
        return None
    tables = build_tables(package, {spec.name: [parsed]})
    # typed values only: the loader fills a list's link to its record from the keys read before the list, so a
    # file that lists `citations:` above `id:` gets the link only once fmt has put the id first
    return {table.spec.name: [{name: value for name, value in zip(table.spec.field_names, row, strict=True)
                               if name in table.spec.typed_fields} for row in table.rows] for table in tables}


def canonical_text(package: PackageSpec, spec: ResourceSpec, text: str, form: RecordLayout | None = None) -> str:
    """A file of one record: keys reordered and requoted; a file of many: requoted only (its records and their
    keys keep the order written)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    root = yaml.compose(text, Loader=FastLoader)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if form is not None and form.records != ONE and root is not None and not root.flow_style:
        _requote(root, lines)
        return "\n".join(lines).rstrip("\n") + "\n"
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return "\n".join(lines).rstrip("\n") + "\n"
    _requote(root, lines)
    out = _Reorder(package, lines).mapping(root, spec, 0, len(lines) - 1, is_root=True)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out) + "\n"


# -- quoting


def _requote(node: yaml.Node, lines: list[str]) -> None:
    """Rewrite every single-line block-context scalar in canonical quoting, in place."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style:
        for _key, value in node.value:
            _requote(value, lines)
    elif isinstance(node, yaml.SequenceNode) and not node.flow_style:
        for item in node.value:
            _requote(item, lines)
    elif isinstance(node, yaml.ScalarNode):
        start, end = node.start_mark, node.end_mark
        if start.line != end.line or node.style not in (None, "", "'", '"'):
            return
        line = lines[start.line]
        if not node.style and node.value in NULL_WORDS:
            return  # "not known" stays as typed
        lines[start.line] = line[: start.column] + canonical_scalar(node.value) + line[end.column :]


def canonical_scalar(text: str) -> str:
    """Plain when YAML reads the plain form back as the same text, else quoted (see the module's rule 2)."""
    if text and text not in NULL_WORDS and _reads_back(text, text):
        return text
    if '"' in text and "'" not in text and _reads_back(f"'{text}'", text):
        return f"'{text}'"  # a quotation reads better without backslashes
    quoted = json.dumps(text, ensure_ascii=False)
    return quoted if _reads_back(quoted, text) else json.dumps(text)


def _reads_back(source: str, text: str) -> bool:
    if "\n" in source or "\r" in source:
        return False
    try:
        node = yaml.compose(f"k: {source}\n", Loader=FastLoader)
    except yaml.YAMLError:
        return False
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        return False
    value = node.value[0][1]
    return isinstance(value, yaml.ScalarNode) and value.value == text and (
        bool(value.style) or text not in NULL_WORDS)


# -- key order


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _last_line(node: yaml.Node) -> int:
    """The last line holding any of the node's content (not trailing comments or blank lines)."""
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
        return max(_last_line(child) for child in children)
    end = node.end_mark
    return max(node.start_mark.line, end.line if end.column > 0 else end.line - 1)


class _Reorder:
    def __init__(self, package: PackageSpec, lines: list[str]) -> None:
        self.package = package
        self.lines = lines

    def order(self, spec: ResourceSpec | None, keys: list[str]) -> list[int]:
        if spec is None:
            return list(range(len(keys)))
        # fields in schema order; then lists in the curator's order (no schema orders them), citations last
        fields = len(spec.field_names)
        rank = {name: i for i, name in enumerate(spec.field_names)}
        for key in spec.flatten:  # a flattened mapping stands where its first column does
            rank[key] = min(i for name, i in rank.items() if name.startswith(f"{key}."))
        for key, child in spec.children.items():
            rank[key] = fields + (1 if self.package.resources[child].cites else 0)
        return sorted(range(len(keys)), key=lambda i: (rank.get(keys[i], fields + 2), i))

    def mapping(self, node: yaml.MappingNode, spec: ResourceSpec | None, first: int, last: int,
                is_root: bool = False) -> list[str]:
        """The lines [first, last] holding `node`, with its items reordered (and lists inside them formatted)."""
        lines = self.lines
        pairs = node.value
        starts = []
        previous_end = first - 1
        for index, (key, value) in enumerate(pairs):
            start = key.start_mark.line
            if index > 0 or is_root:  # a comment run directly above a key belongs to it
                while start - 1 > previous_end and _is_comment(lines[start - 1]):
                    start -= 1
            starts.append(start)
            previous_end = _last_line(value)
        header = lines[first : starts[0]] if is_root else []
        bounds = [*starts[1:], last + 1]
        items: list[tuple[bool, list[str]]] = []
        header_gap = False
        while header and not header[-1].strip():
            header.pop()
            header_gap = True
        blank_before = False  # a blank line after the header separates the header, not the first key
        for (key, value), start, stop in zip(pairs, starts, bounds, strict=True):
            body = self.item(key, value, spec, start, stop - 1)
            trailing = False
            while body and not body[-1].strip():
                body.pop()
                trailing = True
            items.append((blank_before, body))
            blank_before = trailing
        out = list(header)
        if header and header_gap:
            out.append("")
        keys = [key.value for key, _ in pairs]
        for position, index in enumerate(self.order(spec, keys)):
            blank, body = items[index]
            if blank and position > 0:
                out.append("")
            out += body
        return out

    def item(self, key: yaml.Node, value: yaml.Node, spec: ResourceSpec | None, first: int,
             last: int) -> list[str]:
        child = None
        if spec is not None and key.value in spec.children:
            child = self.package.resources[spec.children[key.value]]
        if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value and child is not None:
            begin = value.start_mark.line
            if begin > key.start_mark.line:
                return self.lines[first:begin] + self.sequence(value, child, begin, last)
        return self.lines[first : last + 1]

    def sequence(self, node: yaml.SequenceNode, child: ResourceSpec, first: int, last: int) -> list[str]:
        """List entries stay in their order (it is meaningful); each entry's keys are put in schema order."""
        out: list[str] = []
        cursor = first
        for entry in node.value:
            if not isinstance(entry, yaml.MappingNode) or entry.flow_style or not entry.value:
                continue
            begin, end = entry.start_mark.line, min(_last_line(entry), last)
            out += self.lines[cursor:begin]
            line = self.lines[begin]
            dash = entry.start_mark.column - 2
            on_dash_line = dash >= 0 and line[dash : dash + 2] == "- "
            if on_dash_line:  # hide the dash so every key of the entry sits at the same column
                self.lines[begin] = line[:dash] + " " + line[dash + 1 :]
            body = self.mapping(entry, child, begin, end)
            if on_dash_line:
                at = next(i for i, text in enumerate(body) if text.strip() and not _is_comment(text))
                body[at] = body[at][:dash] + "-" + body[at][dash + 1 :]
            out += body
            cursor = end + 1
        return out + self.lines[cursor : last + 1]
