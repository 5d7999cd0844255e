"""Strict YAML: one mapping per file, every scalar kept as the text the curator typed, with its line and column.

PyYAML's resolver would turn `NO` into False, `012345` into 5349 (octal) and `2025-05-21` into a date. We only
*compose* the file (nodes carry the original text and position) and never *construct* Python values, so the
schema alone decides what a value means. Everything YAML allows but a hand-kept record should not contain
(anchors, tags, several documents, duplicate keys...) is reported as a located problem.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from broadsheet.errors import Problem
from broadsheet.layout import LIST, MAPPING, MAX_DEPTH, MAX_FILE_BYTES, RecordLayout

try:  # libyaml is ~10x faster; fall back to the pure-Python loader where it is missing.
    from yaml import CSafeLoader as FastLoader
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as FastLoader  # type: ignore[assignment]
    CParser = None  # type: ignore[assignment,misc]

NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})
# C0/C1 control characters other than tab, LF and CR; they are invisible in editors and break exports.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
TAB_IN_INDENT = re.compile(r"^[ ]*\t", re.MULTILINE)
# Line breaks YAML counts and git, GitHub and most tools do not (a line ends at LF): with them in a file, every
# line number after them would be wrong. (NEL, U+0085, is a control character above.)
STRAY_LINE_BREAK = re.compile("\r(?!\n)|[\u2028\u2029]")
# Every character one of the scans of _scan_characters looks for (the BOM, CONTROL_CHARACTER, a tab, CR and the
# Unicode line breaks): a text without any needs none of them (held by tests/test_differential.py).
SCANNED_CHARACTER = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
STRAY_BREAK_NAMES = {"\r": "a lone carriage return (U+000D)", "\u2028": "a line separator (U+2028)",
                     "\u2029": "a paragraph separator (U+2029)"}
# Only files containing one of these characters can hold an anchor, alias or tag: they get an event scan.
NEEDS_EVENT_SCAN = re.compile(r"[&*!]")


@dataclass(slots=True)
class Cell:
    """A scalar as typed. `text` is None when the value is absent (empty, `~`, `null`)."""

    text: str | None
    line: int
    column: int


@dataclass(slots=True)
class Seq:
    """A YAML sequence; items are Cells, Entries or nested Seqs."""

    items: list[Cell | Entry | Seq]
    line: int
    column: int


@dataclass(slots=True)
class Entry:
    """A YAML mapping: a record, or one row of a child list. `name` is the key a record is filed under in a
    file holding a mapping of id -> record."""

    line: int
    column: int
    values: dict[str, Cell | Entry | Seq] = field(default_factory=dict)
    key_positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    name: Cell | None = None


Value = Cell | Entry | Seq


@dataclass(slots=True)
class ParsedFile:
    """A read file: `entry` is its record (one record per file); a file of many records (a list, or a mapping
    of id -> record) has them in `many`, in the order written, and no `entry`."""

    path: str
    entry: Entry | None
    problems: list[Problem]
    many: list[Entry] | None = None


class NotARegularFile(OSError):
    """A record path names a symbolic link, a pipe, a device or a folder: nothing is read from it."""


def open_record(path: Path | str) -> int:
    """A descriptor for reading the regular file at `path`, never following a symbolic link in its last
    component (a link may point anywhere on the host: its target is neither read nor named) and never waiting
    on a pipe. Raises NotARegularFile (errno ELOOP for a link) or another OSError."""
    return _open_regular(path)[0]


def _open_regular(path: Path | str) -> tuple[int, os.stat_result]:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotARegularFile(errno.ELOOP, "a symbolic link") from None
        raise
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise NotARegularFile(errno.EINVAL, "not a regular file")
    return descriptor, status


def read_record(path: Path | str, limit: int | None = None) -> bytes:
    """The bytes of a record file (at most `limit` of them, when given), read through open_record."""
    return read_record_and_stat(path, limit)[1]


def read_record_and_stat(path: Path | str, limit: int | None = None) -> tuple[os.stat_result, bytes]:
    """The record file's status, taken from the open handle before reading (so it describes bytes no older than
    those read), and its bytes (at most `limit` of them, when given), read through open_record."""
    descriptor, status = _open_regular(path)
    try:
        return status, _read_to_end(descriptor, status.st_size, limit)
    finally:
        os.close(descriptor)


def _read_to_end(descriptor: int, size: int, limit: int | None) -> bytes:
    # The first read asks for the size fstat gave and one byte more (to see a file that grew meanwhile); reading
    # into a buffer of the limit instead allocates it whole for every file (~25 us each: more than the read).
    # Reads go on until one returns nothing, so a short read or a growing file loses nothing.
    parts: list[bytes] = []
    got, wanted = 0, size + 1
    while limit is None or got < limit:
        chunk = os.read(descriptor, wanted if limit is None else min(wanted, limit - got))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
        wanted = 1 << 16
    return b"".join(parts)


def not_a_file(shown_as: str, error: OSError) -> Problem:
    """The problem for a path that open_record refused, or that could not be read."""
    if isinstance(error, NotARegularFile) and error.errno == errno.ELOOP:
        return Problem("symlink", "the record file is a symbolic link: records are read only from files in the "
                       "repository, and the link is not followed", path=shown_as, found="a symbolic link",
                       expected="a regular file", hint="replace the link with the record file itself")
    return Problem("unreadable-file", f"cannot read file: {error.strerror}", path=shown_as)


def parse_file(path: Path, shown_as: str, max_bytes: int = MAX_FILE_BYTES,
               form: RecordLayout | None = None) -> ParsedFile:
    """Read one record file; never raises for bad content, reports it instead. `form` is the resource's layout
    (how many records a file holds, the limits); None: one record, today's limits."""
    if form is not None:
        max_bytes = form.max_file_bytes
    try:
        status, raw = read_record_and_stat(path, max_bytes + 1)  # bounded: a huge file is not read whole
    except OSError as error:
        return ParsedFile(shown_as, None, [not_a_file(shown_as, error)])
    if len(raw) > max_bytes:
        size = max(status.st_size, len(raw))
        return _fail(shown_as, "file-too-large", f"file is {size} bytes; the limit is {max_bytes} "
                     "(layout setting max-file-bytes)", found=f"{size} bytes",
                     expected=f"at most {max_bytes} bytes",
                     hint="split the file, or raise `max-file-bytes` in the schema's x-broadsheet.layout")
    return parse_bytes(raw, shown_as, form)


def parse_bytes(raw: bytes, shown_as: str, form: RecordLayout | None = None) -> ParsedFile:
    text, failed = decode_record(raw, shown_as)
    if text is None:
        assert failed is not None
        return failed
    return parse_text(text, shown_as, form)


def parse_text(text: str, shown_as: str, form: RecordLayout | None = None) -> ParsedFile:
    """A decoded file's Entry trees, with every structural problem."""
    many = form is not None and form.records in (LIST, MAPPING)
    root, failed = _compose_text(text, shown_as, many)
    if root is None:
        assert failed is not None
        return failed
    walker = _Walker(shown_as, form.max_depth if form is not None else MAX_DEPTH)
    if not many:
        assert isinstance(root, yaml.MappingNode)
        return ParsedFile(shown_as, walker.mapping(root, depth=1), walker.problems)
    assert form is not None
    return ParsedFile(shown_as, None, walker.problems, walker.records(root, form.records))


def decode_record(raw: bytes, shown_as: str) -> tuple[str | None, ParsedFile | None]:
    """The file's text after the checks that need no parser (encoding, invisible characters, tabs, emptiness)."""
    text, problems = _decode(raw, shown_as)
    if text is None:
        return None, ParsedFile(shown_as, None, problems)
    problems += _scan_characters(text, shown_as)
    if problems:
        return None, ParsedFile(shown_as, None, problems)
    if not text.strip():
        return None, _fail(shown_as, "empty-file", "the file is empty", expected="a mapping of field: value",
                           hint="delete the file or fill in the record", line=1, column=1)
    return text, None


def _compose_text(text: str, shown_as: str, many: bool = False) -> tuple[yaml.Node | None, ParsedFile | None]:
    problems: list[Problem] = []
    if NEEDS_EVENT_SCAN.search(text):
        problems += _scan_events(text, shown_as)
        if problems:
            return None, ParsedFile(shown_as, None, problems)
    try:
        documents = _compose_all(text)
    except yaml.MarkedYAMLError as error:
        return None, ParsedFile(shown_as, None, [_syntax_problem(error, shown_as)])
    except yaml.YAMLError as error:  # pragma: no cover - unmarked errors are rare
        return None, _fail(shown_as, "yaml-syntax", f"YAML error: {error}", line=1)
    if not documents:
        return None, _fail(shown_as, "empty-file", "the file holds only comments",
                           expected="a mapping of field: value", line=1, column=1)
    if len(documents) > 1:
        line = _separator_line(text, documents[1].start_mark.line)
        return None, _fail(shown_as, "multiple-documents", "the file holds more than one YAML document",
                           line=line, column=1, found=f"{len(documents)} documents",
                           expected="one record per file", hint="remove the `---` separator and split the file")
    root = documents[0]
    if many and isinstance(root, yaml.MappingNode | yaml.SequenceNode):
        return root, None
    if not isinstance(root, yaml.MappingNode):
        return None, _fail(shown_as, "not-a-mapping", "the file is not a mapping of field: value",
                           line=root.start_mark.line + 1, column=root.start_mark.column + 1,
                           found=_node_kind(root), expected="a mapping (`field: value` lines)")
    return root, None


if CParser is not None:
    class _Composer(CParser):  # type: ignore[misc,valid-type]
        """libyaml's composer without tag resolution: we never construct values, so resolving every plain scalar
        against the YAML 1.1 regexes (a Python call per scalar) is wasted work — about a fifth of parse time."""

        def resolve(self, kind: type, value: object, implicit: object) -> str:
            return ""

        def descend_resolver(self, parent: object, index: object) -> None:
            return None

        def ascend_resolver(self) -> None:
            return None


def _compose_all(text: str) -> list[yaml.Node]:
    if CParser is None:  # pragma: no cover - depends on how PyYAML was built
        return list(yaml.compose_all(text, Loader=FastLoader))
    composer = _Composer(text)
    try:
        documents = []
        while composer.check_node():
            documents.append(composer.get_node())
        return documents
    finally:
        composer.dispose()


def _fail(path: str, code: str, message: str, line: int = 0, column: int = 0, **extra: str) -> ParsedFile:
    return ParsedFile(path, None, [Problem(code, message, path=path, line=line, column=column, **extra)])


def _decode(raw: bytes, path: str) -> tuple[str | None, list[Problem]]:
    if raw.startswith(b"\xef\xbb\xbf"):  # a leading BOM is harmless editor noise
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        bad = raw[error.start : error.end].hex(" ")
        return None, [Problem("invalid-utf8", f"bytes {bad} are not valid UTF-8", path=path, line=line,
                              column=column, found=bad, expected="UTF-8 text",
                              hint="re-save the file as UTF-8")]


def _separator_line(text: str, before_line: int) -> int:
    """The 1-based line of the `---` that starts the document whose content begins at `before_line`."""
    lines = text.split("\n")
    for index in range(min(before_line, len(lines) - 1), -1, -1):
        if lines[index].startswith("---"):
            return index + 1
    return before_line + 1


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _scan_characters(text: str, path: str) -> list[Problem]:
    if SCANNED_CHARACTER.search(text) is None:
        return []  # nearly every file: one search instead of four
    return _scan_each_character(text, path)


def _scan_each_character(text: str, path: str) -> list[Problem]:
    problems = []
    for match in re.finditer("\ufeff", text):
        line, column = _position(text, match.start())
        problems.append(Problem("bom-in-file", "a byte-order mark (U+FEFF) inside the file", path=path,
                                line=line, column=column, found="U+FEFF", expected="no byte-order mark",
                                hint="delete the invisible character; it usually comes from pasting"))
    for match in CONTROL_CHARACTER.finditer(text):
        line, column = _position(text, match.start())
        code = f"U+{ord(match.group()):04X}"
        problems.append(Problem("control-character", f"invisible control character {code}", path=path,
                                line=line, column=column, found=code, expected="printable text",
                                hint="delete the character; it usually comes from pasting"))
    seen: dict[str, int] = {}
    for match in STRAY_LINE_BREAK.finditer(text):
        seen[match.group()] = seen.get(match.group(), 0) + 1
        if seen[match.group()] == 1:  # the first of each kind (a file saved with CR line ends has one per line)
            line, column = _position(text, match.start())
            name = STRAY_BREAK_NAMES[match.group()]
            problems.append(Problem("stray-line-break", f"{name}: YAML reads it as a line break, git and GitHub "
                                    "do not", path=path, line=line, column=column, found=f"U+{ord(match.group()):04X}",
                                    expected="line ends written as LF (or CRLF)",
                                    hint="delete it, or save the file with LF line ends"))
    for match in TAB_IN_INDENT.finditer(text):
        line, column = _position(text, match.end() - 1)
        problems.append(Problem("tab-indentation", "a tab in indentation", path=path, line=line, column=column,
                                found="tab", expected="spaces", hint="indent with two spaces"))
    return problems


def _scan_events(text: str, path: str) -> list[Problem]:
    """Find anchors, aliases and explicit tags, which composing would silently resolve."""
    problems = []
    try:
        for event in yaml.parse(text, Loader=FastLoader):
            mark = event.start_mark
            where = {"path": path, "line": mark.line + 1, "column": mark.column + 1}
            if isinstance(event, yaml.AliasEvent):
                problems.append(Problem("yaml-alias", f"alias *{event.anchor} repeats another value", **where,
                                        found=f"*{event.anchor}", expected="the value written out",
                                        hint="write the value out in full; records do not share values"))
                continue
            anchor = getattr(event, "anchor", None)
            if anchor:
                problems.append(Problem("yaml-anchor", f"anchor &{anchor}", **where, found=f"&{anchor}",
                                        expected="no anchors", hint="remove the anchor"))
            tag = getattr(event, "tag", None)
            if tag and not (isinstance(event, yaml.ScalarEvent) and event.implicit[0]):
                problems.append(Problem("yaml-tag", f"explicit tag {tag}", **where, found=tag,
                                        expected="an untagged value",
                                        hint="remove the tag; the schema decides each value's type"))
    except yaml.MarkedYAMLError as error:
        problems.append(_syntax_problem(error, path))
    return problems


# Errors libyaml finds where an unfinished construct ends (often the end of the file): they are reported where
# the construct begins, the quote, bracket or key the curator has to fix.
OPENED_AT_CONTEXT = ("while scanning a quoted scalar", "while parsing a flow", "while scanning a simple key")


def _syntax_problem(error: yaml.MarkedYAMLError, path: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    if error.context_mark and (error.context or "").startswith(OPENED_AT_CONTEXT):
        mark = error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = " ".join(filter(None, [error.context, error.problem]))
    return Problem("yaml-syntax", f"YAML syntax error: {what}", path=path, line=line, column=column,
                   found=what, expected="valid YAML", hint="check indentation and quoting on this line")


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the scalar {node.value!r}"


class _Walker:
    """Turns composed nodes into Entries, collecting structural problems."""

    def __init__(self, path: str, max_depth: int = MAX_DEPTH) -> None:
        self.path = path
        self.max_depth = max_depth
        self.problems: list[Problem] = []

    def records(self, root: yaml.Node, form: str) -> list[Entry]:
        """The records of a file holding many: a list of mappings, or a mapping of id -> mapping."""
        if form == LIST and not isinstance(root, yaml.SequenceNode):
            self._problem("not-a-list", "the file must hold a list of records (`- field: value` items)", root,
                          found=_node_kind(root), expected="a list of records")
            return []
        if form == MAPPING and not isinstance(root, yaml.MappingNode):
            self._problem("not-a-mapping", "the file must hold a mapping of id: record", root,
                          found=_node_kind(root), expected="a mapping of id: record")
            return []
        found: list[Entry] = []
        if isinstance(root, yaml.SequenceNode):
            for index, node in enumerate(root.value, start=1):
                if isinstance(node, yaml.MappingNode):
                    found.append(self.mapping(node, depth=1))
                else:
                    self._problem("not-a-mapping", f"item {index} of the file is not a record (field: value)", node,
                                  found=_node_kind(node), expected="a mapping (`- field: value`)")
            return found
        assert isinstance(root, yaml.MappingNode)
        seen: dict[str, int] = {}
        for key_node, node in root.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem("complex-key", "an id must be a plain value", key_node, found=_node_kind(key_node),
                              expected="an id")
                continue
            if key_node.value in seen:
                self._problem("duplicate-key", f"id {key_node.value!r} appears twice (first on line "
                              f"{seen[key_node.value]})", key_node, found=key_node.value, expected="each id once",
                              hint="rename or merge one of the two records")
                continue
            seen[key_node.value] = key_node.start_mark.line + 1
            if not isinstance(node, yaml.MappingNode):
                self._problem("not-a-mapping", f"the record {key_node.value!r} is not a mapping of field: value",
                              node, found=_node_kind(node), expected="a mapping (`field: value` lines)")
                continue
            entry = self.mapping(node, depth=1)
            entry.name = self.scalar(key_node)
            found.append(entry)
        return found

    def _problem(self, code: str, message: str, node: yaml.Node, **extra: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(code, message, path=self.path, line=mark.line + 1,
                                     column=mark.column + 1, **extra))

    def mapping(self, node: yaml.MappingNode, depth: int) -> Entry:
        entry = Entry(node.start_mark.line + 1, node.start_mark.column + 1)
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem("complex-key", "a key must be a plain name", key_node,
                              found=_node_kind(key_node), expected="a field name")
                continue
            key = key_node.value
            if key in entry.values:
                first_line = entry.key_positions[key][0]
                self._problem("duplicate-key", f"key {key!r} appears twice (first on line {first_line})",
                              key_node, field=key, found=key, expected="each key once",
                              hint="delete one of the two lines")
                continue
            entry.key_positions[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            value = self.value(value_node, depth + 1)
            if value is not None:
                entry.values[key] = value
        return entry

    def value(self, node: yaml.Node, depth: int) -> Value | None:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if depth > self.max_depth:
            self._problem("too-deep", f"nesting deeper than {self.max_depth} levels (layout setting max-depth)",
                          node, found=f"depth {depth}", expected=f"at most {self.max_depth} levels",
                          hint="flatten the value, or raise `max-depth` in the schema's x-broadsheet.layout")
            return None
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, depth)
        items = [self.value(item, depth + 1) for item in node.value]
        mark = node.start_mark
        return Seq([item for item in items if item is not None], mark.line + 1, mark.column + 1)

    @staticmethod
    def scalar(node: yaml.ScalarNode) -> Cell:
        plain = not node.style  # libyaml says '' for plain scalars, the pure-Python loader None
        text = None if plain and node.value in NULL_WORDS else node.value
        return Cell(text, node.start_mark.line + 1, node.start_mark.column + 1)
