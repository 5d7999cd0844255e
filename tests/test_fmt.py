"""`broadsheet fmt`: canonical key order and quoting, comments kept, values never changed, idempotent."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadsheet.fmt import canonical_scalar, format_record
from broadsheet.layout import Layout
from broadsheet.package import load_package
from broadsheet.read.records import parse_bytes
from broadsheet.read.tables import build_tables
from conftest import FIXTURES, REPO, write
from test_build_bad_inputs import fill, mounts, without_capabilities  # noqa: F401 (mounts: a fixture)

PATH = "datapackage/museums/louvre.yaml"


@pytest.fixture(scope="module")
def package():
    return load_package(Layout(FIXTURES / "museums"))


# (case, input, expected canonical form)
CASES = [
    ("already canonical", "id: louvre\nname_en: Louvre\n", "id: louvre\nname_en: Louvre\n"),
    ("schema order", "name_en: Louvre\nkind: art\nid: louvre\ncity_id: paris\n",
     "id: louvre\nname_en: Louvre\ncity_id: paris\nkind: art\n"),
    ("comment run above a key moves with it; trailing comment stays on its line",
     "# header\n\nname_en: Louvre  # as on the door\n# the slug\n# never changes\nid: louvre\n",
     "# header\n\n# the slug\n# never changes\nid: louvre\nname_en: Louvre  # as on the door\n"),
    ("quotes only where YAML needs them",
     "id: louvre\nname_en: \"Louvre\"\nfounded: '1793-08'\nregistry_code: \"050540004455\"\nvisitors: '8700000'\n",
     "id: louvre\nname_en: Louvre\nfounded: 1793-08\nvisitors: 8700000\nregistry_code: 050540004455\n"),
    ("text YAML would misread keeps (canonical) quotes",
     "id: louvre\nname_en: 'Louvre: the palace'\nkind: '#art'\nfounded: 'null'\n",
     "id: louvre\nname_en: \"Louvre: the palace\"\nkind: \"#art\"\nfounded: \"null\"\n"),
    ("a quotation gets single quotes", "id: louvre\nname_en: \"\\\"Le Louvre\\\", they say\"\n",
     "id: louvre\nname_en: '\"Le Louvre\", they say'\n"),
    ("not known stays as typed", "id: louvre\nopened: ~\nname_en: Louvre\nkind:\n",
     "id: louvre\nname_en: Louvre\nkind:\nopened: ~\n"),
    ("lists after fields in the curator's order, citations last; entries' keys in the child schema's order",
     "citations:\n  - locator: page 3\n    source_id: guide-2024\n    field: city_id\nid: louvre\n"
     "names:\n  - name: Musée du Louvre  # official\n    # BCP-47\n    language: fr\n  - language: zh\n"
     "    name: 卢浮宫\ncity_id: paris\n",
     "id: louvre\ncity_id: paris\n"
     "names:\n    # BCP-47\n  - language: fr\n    name: Musée du Louvre  # official\n  - language: zh\n"
     "    name: 卢浮宫\n"
     "citations:\n  - field: city_id\n    source_id: guide-2024\n    locator: page 3\n"),
    ("comments between entries and an entry written on the next line",
     "id: louvre\nnames:\n  # first the French\n  -\n    name: Musée du Louvre\n    language: fr\n\n"
     "  # then Chinese\n  - name: 卢浮宫\n    language: zh\n",
     "id: louvre\nnames:\n  # first the French\n  -\n    language: fr\n    name: Musée du Louvre\n\n"
     "  # then Chinese\n  - language: zh\n    name: 卢浮宫\n"),
    ("blank lines: at most one between keys, none at the end, CRLF becomes LF",
     "id: louvre\r\n\r\n\r\nname_en: Louvre\r\ntopics: [painting, \"sculpture\"]\r\n\r\n\r\n",
     "id: louvre\n\nname_en: Louvre\ntopics: [painting, \"sculpture\"]\n"),
    ("block scalars and lines starting with # inside them stay as typed",
     "name_en: |\n  Louvre\n  # not a comment\nid: louvre\n",
     "id: louvre\nname_en: |\n  Louvre\n  # not a comment\n"),
    ("block list of an array field: items requoted, order kept",
     "topics:\n  - \"sculpture\"\n  - painting\nid: louvre\n",
     "id: louvre\ntopics:\n  - sculpture\n  - painting\n"),
    ("unknown keys keep their order at the end", "zeta: 1\nid: louvre\nalpha: 2\n",
     "id: louvre\nzeta: 1\nalpha: 2\n"),
]


def rows(package, text: str) -> dict[str, list[list[str | None]]]:
    parsed = parse_bytes(text.encode("utf-8"), PATH)
    assert parsed.entry is not None, parsed.problems
    tables = build_tables(package, {"museums": [parsed]})
    return {t.spec.name: [[v for n, v in zip(t.spec.field_names, row, strict=True) if n in t.spec.typed_fields]
                          for row in t.rows] for t in tables}


def comments(text: str) -> list[str]:
    return sorted(line.split("#", 1)[1] for line in text.splitlines() if "  #" in line or
                  line.lstrip().startswith("#"))


@pytest.mark.parametrize(("case", "source", "expected"), CASES, ids=[c[0] for c in CASES])
def test_canonical_form(package, case, source, expected):
    result = format_record(package, PATH, source.encode("utf-8"))
    assert (result.problems, result.text) == ([], expected)
    again = format_record(package, PATH, expected.encode("utf-8"))
    assert (again.text, again.changed) == (expected, False)  # idempotent
    assert rows(package, expected) == rows(package, source.replace("\r", ""))  # values never change
    if "not a comment" not in source:
        assert comments(expected) == comments(source.replace("\r", ""))  # every comment kept


@pytest.mark.parametrize("text", ["plain", "1931", "NO", "050540004455", "2025-05-21", "a: b", "#1", " padded",
                                  "null", "~", "", "-", "- item", "[x]", "{x}", "&anchor", "*alias", "!tag",
                                  "it's", 'say "hi"', "both ' and \"", "back\\slash", "中文", "a #b", "x:",
                                  "@home", "`code`", "%percent", "? q", "| bar", "> gt", "tab\there"])
def test_canonical_scalar_reads_back_as_the_same_text(text):
    source = canonical_scalar(text)
    parsed = parse_bytes(f"k: {source}\n".encode(), "x.yaml")
    assert parsed.problems == []
    assert parsed.entry.values["k"].text == text


def test_refuses_a_file_that_does_not_parse(package):
    result = format_record(package, PATH, b"id: louvre\n\tname_en: Louvre\n")
    assert result.text is None
    assert [(p.code, p.line) for p in result.problems] == [("tab-indentation", 2)]
    duplicate = format_record(package, PATH, b"id: louvre\nid: louvre\n")
    assert (duplicate.text, [p.code for p in duplicate.problems]) == (None, ["duplicate-key"])
    stray = format_record(package, "notes/readme.yaml", b"id: x\n")
    assert (stray.text, [p.code for p in stray.problems]) == (None, ["not-a-record"])


BLOCKS = ["# the museum's slug\nid: louvre\n", "name_en: Louvre  # short name\n", "city_id: paris\n",
          "kind: 'art'\n", "founded: \"1793-08\"\n", "visitors: 8700000\n",
          "names:\n  - name: Musée du Louvre\n    language: fr\n  - language: zh\n    # simplified\n    name: 卢浮宫\n",
          "# sources\ncitations:\n  - source_id: guide-2024\n    field: city_id\n    locator: page 3\n"]


@settings(max_examples=60, deadline=None)
@given(st.permutations(BLOCKS))
def test_any_key_order_gives_the_same_canonical_file(package, blocks):
    canonical = format_record(package, PATH, "".join(BLOCKS).encode()).text
    assert format_record(package, PATH, "".join(blocks).encode()).text == canonical


def test_fixture_and_flagship_records_are_stable_under_fmt(package):
    """Every committed record formats without problems, and formatting its canonical form changes nothing."""
    for layout in (Layout(FIXTURES / "museums"), Layout(REPO)):
        if not layout.data_dir.is_dir():
            continue
        spec_package = load_package(layout)
        for path in sorted(layout.data_dir.glob("*/*.yaml")):
            shown = layout.relative(path)
            first = format_record(spec_package, shown, path.read_bytes())
            assert first.problems == [], shown
            assert format_record(spec_package, shown, first.text.encode()).changed is False, shown


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "broadsheet", "fmt", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_check_then_fix(museums):
    louvre = museums.root / PATH
    write(museums, "datapackage/cities/paris.yaml", "name_en: Paris  # the capital\nid: paris\ncountry: \"FR\"\n"
                                                   "population: 2100000\n")
    before = louvre.read_bytes()
    check = run(museums.root, "--check")
    assert check.returncode == 1
    assert check.stdout == (
        "--- datapackage/cities/paris.yaml\n+++ datapackage/cities/paris.yaml\n"
        "@@ -1,4 +1,4 @@\n+id: paris\n name_en: Paris  # the capital\n-id: paris\n-country: \"FR\"\n"
        "+country: FR\n population: 2100000\n"
        "--- datapackage/museums/central-state.yaml\n+++ datapackage/museums/central-state.yaml\n"
        "@@ -2,7 +2,7 @@\n name_en: Central State Museum\n city_id: almaty\n kind: history\n"
        "-founded: \"1931\"\n+founded: 1931\n names:\n   - language: kk\n"
        "     name: Қазақстан Республикасының Орталық мемлекеттік музейі\n")
    assert check.stderr == "would reformat 2 of 5 files\n"
    fixed = run(museums.root)
    assert (fixed.returncode, fixed.stdout, fixed.stderr) == (0, "", "reformatted 2 of 5 files\n")
    assert (museums.root / "datapackage/cities/paris.yaml").read_text() == (
        "id: paris\nname_en: Paris  # the capital\ncountry: FR\npopulation: 2100000\n")
    assert louvre.read_bytes() == before
    again = run(museums.root, "--check")
    assert (again.returncode, again.stdout) == (0, "")
    from broadsheet import validate

    assert validate.report(museums).valid


def test_cli_leaves_a_broken_file_alone_and_exits_1(museums):
    broken = write(museums, "datapackage/cities/rome.yaml", "name_en: Rome\nid: rome\n\tcountry: IT\n")
    result = run(museums.root, str(broken))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "datapackage/cities/rome.yaml:3:1: error[tab-indentation] a tab in indentation (found: tab; expected: "
        "spaces) — indent with two spaces",
        "reformatted 0 of 1 files; 1 could not be formatted"]
    assert broken.read_text() == "name_en: Rome\nid: rome\n\tcountry: IT\n"


# --- faults while writing: each is one line naming the file and a stable code, exit 1, no traceback, and every
# file as it was or as fmt wrote it whole (the files before the fault reformatted, the rest untouched). The
# machinery (a real tmpfs, capabilities dropped for root) is the build's: tests/test_build_bad_inputs.py.
STOPPED = "fmt stopped at this file: it and the files after it are as they were; {} reformatted before it"
FMT_FAULTS = [
    ("disk full (a real 2 MB tmpfs under the records)", "full-disk", "datapackage/museums/central-state.yaml",
     "error[disk-full] no space left on the device", 1),
    ("a file size limit (RLIMIT_FSIZE, any user)", "file-size-limit", "datapackage/cities/paris.yaml",
     "error[file-size-limit] the file would exceed the file size limit", 0),
    ("the records' folder not writable", "deny", "datapackage/museums/central-state.yaml",
     "error[permission-denied] permission denied", 1),
    ("a read-only file system", "read-only", "datapackage/museums/central-state.yaml",
     "error[read-only-filesystem] the file system is read-only", 1),
]


@pytest.mark.parametrize(("case", "fault", "path", "error", "before"), FMT_FAULTS, ids=[c[0] for c in FMT_FAULTS])
def test_a_write_fault_is_one_line_and_nothing_is_lost(mounts, case, fault, path, error, before):  # noqa: F811
    base = mounts.folder()
    root = base / "museums"
    shutil.copytree(FIXTURES / "museums", root)
    paris = root / "datapackage/cities/paris.yaml"
    paris.write_text("name_en: Paris\nid: paris\ncountry: FR\n", encoding="utf-8")  # cities/ come first
    records = root / "datapackage/museums"  # central-state.yaml needs fmt as the fixture has it
    if fault in ("full-disk", "read-only") and not mounts.tmpfs(records):
        pytest.skip("needs a tmpfs of its own (root may mount one; this user may not)")
    try:
        originals = {p: p.read_bytes() for p in records.glob("*.yaml")}
        if fault == "full-disk":
            fill(records)
        elif fault == "read-only":
            mounts.remount(records, "ro")
        elif fault == "deny":
            records.chmod(0o555)

        def limited() -> None:
            if fault == "file-size-limit":
                resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))  # Python ignores SIGXFSZ: writes fail EFBIG
            if fault == "deny" and os.geteuid() == 0:
                without_capabilities()

        try:
            result = subprocess.run([sys.executable, "-m", "broadsheet", "fmt", "--root", str(root)],
                                    capture_output=True, text=True, timeout=120, preexec_fn=limited)
        finally:
            if fault == "read-only":
                mounts.remount(records, "rw")
            (records / "filler").unlink(missing_ok=True)
            records.chmod(0o755)
        assert (result.returncode, result.stdout, result.stderr.splitlines()) == (
            1, "", [f"{path}: {error}; {STOPPED.format(before)}"])
        assert {p: p.read_bytes() for p in records.glob("*.yaml")} == originals  # the failed file untouched
        assert sorted(p.name for p in records.iterdir()) == sorted(p.name for p in originals)  # no temporary
        assert paris.read_text(encoding="utf-8") == (
            "id: paris\nname_en: Paris\ncountry: FR\n" if before else "name_en: Paris\nid: paris\ncountry: FR\n")
    finally:
        mounts.close()
        mounts.mounted.clear()
        shutil.rmtree(base, ignore_errors=True)
