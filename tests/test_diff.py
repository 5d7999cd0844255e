"""`broadsheet diff` on a real temporary git repository: a few commits on a copy of the museums fixture, and the
diff between them in all three formats, through the API and as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from broadsheet.diff import GitError, diff_revisions, render_json, render_markdown, render_text
from broadsheet.layout import Layout
from broadsheet.package import load_package
from conftest import FIXTURES

# (message, date, {path: new content or None to delete}) — the history every git test in this suite starts from.
TATE = """\
id: tate
name_en: Tate Modern
city_id: london
kind: art
citations:
  - field: city_id
    source_id: guide-2024
    locator: page 12
"""
LONDON = "id: london\nname_en: London\ncountry: GB\n"


def louvre(visitors: str = "8700000", names: str = "  - language: fr\n    name: Musée du Louvre\n"
           "  - language: zh\n    name: 卢浮宫\n") -> str:
    return (f"id: louvre\nname_en: Louvre\ncity_id: paris\nkind: art\nfounded: 1793-08\nopened: 1793-08-10\n"
            f"visitors: {visitors}\nbudget: 1.5e8\nfree_entry: false\ntopics: [painting, sculpture]\n"
            f"registry_code: 050540004455\nnames:\n{names}citations:\n"
            "  - field: city_id\n    source_id: guide-2024\n    locator: page 3\n"
            "  - field: founded\n    source_id: guide-2024\n    locator: page 3\n"
            "  - field: visitors\n    source_id: guide-2024\n    locator: page 4\n")


CENTRAL_REQUOTED = (FIXTURES / "museums/datapackage/museums/central-state.yaml").read_text(encoding="utf-8") \
    .replace('founded: "1931"', "founded: '1931'  # quoting changed, value did not")

COMMITS: list[tuple[str, str, dict[str, str | None]]] = [
    ("Add Tate Modern", "2025-02-01T10:00:00+00:00",
     {"datapackage/cities/london.yaml": LONDON, "datapackage/museums/tate.yaml": TATE}),
    ("Louvre: visitors for 2024", "2025-03-01T10:00:00+00:00",
     {"datapackage/museums/louvre.yaml": louvre("8900000"),
      "datapackage/museums/central-state.yaml": CENTRAL_REQUOTED}),
    ("Remove Central State Museum", "2025-04-01T10:00:00+00:00",
     {"datapackage/museums/central-state.yaml": None}),
    ("Louvre: names in Chinese and German", "2025-05-01T10:00:00+00:00",
     {"datapackage/museums/louvre.yaml": louvre("8900000", "  - language: fr\n    name: Musée du Louvre\n"
                                                "  - language: zh\n    name: 罗浮宫\n"
                                                "  - language: de\n    name: Louvre-Museum\n")}),
]
FIRST_DATE = "2025-01-01T10:00:00+00:00"


def git(root: Path, *args: str, date: str = FIRST_DATE) -> str:
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env=env, check=True,
                          timeout=60)
    return done.stdout


def commit(root: Path, message: str, date: str, files: dict[str, str | None]) -> str:
    for relative, content in files.items():
        path = root / relative
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, date=date)
    return git(root, "rev-parse", "--short", "HEAD").strip()


def make_repo(target: Path, commits: list[tuple[str, str, dict[str, str | None]]] = COMMITS) -> list[str]:
    """A git repository holding the museums fixture, then `commits`; returns the short hashes, oldest first."""
    shutil.copytree(FIXTURES / "museums", target)
    git(target, "init", "-q", "-b", "main")
    git(target, "config", "user.name", "Curator")
    git(target, "config", "user.email", "curator@example.org")
    hashes = [commit(target, "Museums fixture", FIRST_DATE, {})]
    for message, date, files in commits:
        hashes.append(commit(target, message, date, files))
    return hashes


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Layout, list[str]]:
    root = tmp_path / "repo"
    return Layout(root), make_repo(root)


EXPECTED_TEXT = """\
{0}..{4}: 2 added, 1 removed, 1 changed
cities
  + london (London)
museums
  + tate (Tate Modern)
  - central-state (Central State Museum)
  ~ louvre (Louvre)
      visitors: 8700000 → 8900000
      names[2]: name: 卢浮宫 → 罗浮宫
      names[3] added: language: de, name: Louvre-Museum"""

EXPECTED_MARKDOWN = """\
### Data changes {0}..{4}

2 added, 1 removed, 1 changed.

#### cities

- **added** `london` London

#### museums

- **added** `tate` Tate Modern
- **removed** `central-state` Central State Museum
- **changed** `louvre` Louvre

<details open><summary><code>datapackage/museums/louvre.yaml</code></summary>

| field | before | after |
|---|---|---|
| visitors | `8700000` | `8900000` |
| names[2] | name: `卢浮宫` | name: `罗浮宫` |
| names[3] | *added* | language: `de`<br>name: `Louvre-Museum` |

</details>
"""


def test_diff_between_two_commits_in_three_formats(repo):
    layout, hashes = repo
    result = diff_revisions(load_package(layout), hashes[0], hashes[4])
    assert render_text(result) == EXPECTED_TEXT.format(*hashes)
    assert render_markdown(result) == EXPECTED_MARKDOWN.format(*hashes)
    document = json.loads(render_json(result))
    assert document["version"] == 1
    assert (document["base"], document["head"]) == (hashes[0], hashes[4])
    assert document["counts"] == {"added": 2, "removed": 1, "changed": 1}
    by_id = {r["record_id"]: r for r in document["records"]}
    assert [(r["resource"], r["record_id"], r["change"]) for r in document["records"]] == [
        ("cities", "london", "added"), ("museums", "tate", "added"), ("museums", "central-state", "removed"),
        ("museums", "louvre", "changed")]
    assert by_id["louvre"] == {
        "resource": "museums", "record_id": "louvre", "path": "datapackage/museums/louvre.yaml",
        "change": "changed", "label": "Louvre", "note": "",
        "fields": [{"field": "visitors", "old": "8700000", "new": "8900000"}],
        "lists": [{"key": "names", "rows": [
            {"old_position": 2, "new_position": 2, "fields": [{"field": "name", "old": "卢浮宫", "new": "罗浮宫"}]},
            {"old_position": 0, "new_position": 3, "fields": [{"field": "language", "old": None, "new": "de"},
                                                              {"field": "name", "old": None, "new": "Louvre-Museum"}]},
        ]}],
    }
    # an added record carries every value it was added with; a removed one every value it had
    assert by_id["london"]["fields"] == [{"field": "id", "old": None, "new": "london"},
                                         {"field": "name_en", "old": None, "new": "London"},
                                         {"field": "country", "old": None, "new": "GB"}]
    assert by_id["central-state"]["lists"][0] == {"key": "names", "rows": [
        {"old_position": 1, "new_position": 0, "fields": [
            {"field": "language", "old": "kk", "new": None},
            {"field": "name", "old": "Қазақстан Республикасының Орталық мемлекеттік музейі", "new": None}]},
        {"old_position": 2, "new_position": 0, "fields": [
            {"field": "language", "old": "ru", "new": None},
            {"field": "name", "old": "Центральный государственный музей", "new": None}]}]}


def test_requoting_a_value_is_no_change(repo):
    """Commit 2 re-quoted central-state's `founded` and added a comment: values are equal, so only Louvre shows."""
    layout, hashes = repo
    result = diff_revisions(load_package(layout), hashes[1], hashes[2])
    assert render_text(result) == (f"{hashes[1]}..{hashes[2]}: 0 added, 0 removed, 1 changed\n"
                                   "museums\n  ~ louvre (Louvre)\n      visitors: 8700000 → 8900000")


def test_default_is_merge_base_with_main_to_the_working_tree(repo):
    layout, hashes = repo
    git(layout.root, "checkout", "-q", "-b", "feature")
    commit(layout.root, "Paris population", "2025-06-01T10:00:00+00:00",
           {"datapackage/cities/paris.yaml": "id: paris\nname_en: Paris\ncountry: FR\npopulation: 2102650\n"})
    # uncommitted: an edit, a new untracked record, and a file that no longer parses
    (layout.root / "datapackage/cities/almaty.yaml").write_text("id: almaty\nname_en: Almaty\ncountry: KZ\n"
                                                                 "population: 2000000\n", encoding="utf-8")
    (layout.root / "datapackage/cities/rome.yaml").write_text("id: rome\nname_en: Rome\ncountry: IT\n",
                                                             encoding="utf-8")
    (layout.root / "datapackage/sources/guide-2024.yaml").write_text("id: guide-2024\n\ttitle: tabbed\n",
                                                                    encoding="utf-8")
    result = diff_revisions(load_package(layout))
    assert render_text(result) == f"""\
{hashes[4]}..working tree: 1 added, 0 removed, 3 changed
cities
  + rome (Rome)
  ~ almaty (Almaty)
      population: (empty) → 2000000
  ~ paris (Paris)
      population: 2100000 → 2102650
sources
  ~ guide-2024 (A guide to museums)
      note: after: line 2: a tab in indentation"""


def test_no_changes(repo):
    layout, hashes = repo
    result = diff_revisions(load_package(layout), hashes[4])
    assert render_text(result) == f"{hashes[4]}..working tree: 0 added, 0 removed, 0 changed"
    assert render_markdown(result) == f"### Data changes {hashes[4]}..working tree\n\n" \
                                      "No record was added, removed or changed.\n"


def test_dataset_in_a_subfolder_of_the_repository(tmp_path):
    """The toolkit's own tests keep datasets below the repository root: paths stay relative to the dataset."""
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    git(outer, "config", "user.name", "Curator")
    git(outer, "config", "user.email", "curator@example.org")
    shutil.copytree(FIXTURES / "museums", outer / "data" / "museums")
    first = commit(outer, "fixture", FIRST_DATE, {})
    second = commit(outer, "Add London", "2025-02-01T10:00:00+00:00",
                    {"data/museums/datapackage/cities/london.yaml": LONDON})
    layout = Layout(outer / "data" / "museums")
    result = diff_revisions(load_package(layout), first, second)
    assert render_text(result) == f"{first}..{second}: 1 added, 0 removed, 0 changed\ncities\n  + london (London)"


def test_unknown_revision_and_no_repository_are_config_errors(repo, museums):
    layout, _ = repo
    with pytest.raises(GitError, match="'no-such-branch' is not a commit"):
        diff_revisions(load_package(layout), "no-such-branch")
    with pytest.raises(GitError, match="not inside a git repository"):
        diff_revisions(load_package(museums))


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "broadsheet", "diff", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_formats_and_exit_codes(repo):
    layout, hashes = repo
    text = run_cli(layout.root, hashes[0], hashes[4])
    assert (text.returncode, text.stdout, text.stderr) == (0, EXPECTED_TEXT.format(*hashes) + "\n", "")
    markdown = run_cli(layout.root, hashes[0], hashes[4], "--format", "markdown")
    assert markdown.stdout == EXPECTED_MARKDOWN.format(*hashes)
    as_json = run_cli(layout.root, hashes[0], hashes[4], "--format", "json")
    assert json.loads(as_json.stdout)["counts"] == {"added": 2, "removed": 1, "changed": 1}
    bad = run_cli(layout.root, "nope")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr == "error[config] 'nope' is not a commit in this repository\n"
