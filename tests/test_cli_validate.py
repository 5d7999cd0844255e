"""`broadsheet validate` as curators and CI run it: a real process, real files, exit codes and output formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from broadsheet import validate
from broadsheet.report import render_json
from broadsheet.speed import later
from conftest import REPO, write
from test_validate_bad_inputs import CASES


def run(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "broadsheet", "validate", "--root", str(root), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_valid_fixture_exits_zero(museums):
    result = run(museums.root)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("valid: 5 record files")


def test_forty_broken_files_are_all_reported_in_one_run(museums):
    """Every case of the bad-input table at once, each in its own file: one run finds them all."""
    expected = set()
    for number, (_case, relative, content, problems) in enumerate(CASES):
        if not relative.startswith("datapackage/museums/tate."):
            continue  # cases that use another file name would collide; they are covered one by one
        suffix = relative.rsplit(".", 1)[1]
        renamed = f"datapackage/museums/bad-{number:02d}.{suffix}"
        text = content if isinstance(content, bytes) else content.replace("id: tate\n", f"id: bad-{number:02d}\n")
        write(museums, renamed, text)
        expected |= {(renamed, line, code) for (_path, line, code) in problems if code != "unique-error"}
    assert len({path for path, _, _ in expected}) >= 40
    result = run(museums.root, "--format", "json")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    found = {(p["path"], p["line"], p["code"]) for p in json.loads(result.stdout)["problems"]}
    assert expected <= found


def test_text_output_is_one_located_line_per_problem(museums):
    write(museums, "datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nkind: painting\n")
    result = run(museums.root)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "datapackage/museums/tate.yaml:3:7: error[constraint-error] kind 'painting' is not one of art, history, "
        "science (found: painting; expected: one of art, history, science) — kind: What it shows.",
        "1 error in 1 file",
    ]


def test_json_output_equals_the_api_report(museums):
    write(museums, "datapackage/museums/tate.yaml", "id: tate\nname_en: '=1+1'\nvisitors: 1_000\n")
    result = run(museums.root, "--format", "json")
    assert result.returncode == 1
    assert json.loads(result.stdout) == json.loads(render_json(validate.report(museums)))


def test_github_annotations_are_chosen_inside_github_actions(museums):
    write(museums, "datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nkind: painting\n")
    result = run(museums.root, env={"GITHUB_ACTIONS": "true"})
    assert result.stdout.splitlines()[0].startswith(
        "::error file=datapackage/museums/tate.yaml,line=3,col=7,title=constraint-error::")


def test_broken_schema_is_a_located_configuration_error(museums):
    write(museums, "schemas/cities.yaml", "fields:\n  - name: id\n    type: [string\n")
    result = run(museums.root)
    assert result.returncode == 2
    assert result.stderr.startswith("schemas/cities.yaml:4:1: error[config] invalid YAML")
    assert "Traceback" not in result.stderr


def test_broken_datapackage_json_is_a_located_configuration_error(museums):
    write(museums, "datapackage.json", '{"name": "x",\n "resources": [}\n')
    result = run(museums.root)
    assert result.returncode == 2
    assert result.stderr.startswith("datapackage.json:2:16: error[config] invalid JSON")


def test_invalid_table_schema_is_a_configuration_error(museums):
    write(museums, "schemas/cities.yaml", "fields:\n  - name: id\n    type: text\n")
    result = run(museums.root)
    assert result.returncode == 2
    assert "schemas/cities.yaml: error[config] not a valid Table Schema" in result.stderr


def test_unknown_option_is_a_usage_error(museums):
    assert run(museums.root, "--format", "xml").returncode == 2


def test_every_command_help_has_an_example():
    result = subprocess.run([sys.executable, "-m", "broadsheet", "--help"], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.returncode == 0
    commands = [line.split()[0] for line in result.stdout.split("Commands:")[1].strip().splitlines()]
    for command in commands:
        help_text = subprocess.run([sys.executable, "-m", "broadsheet", command, "--help"], capture_output=True,
                                   text=True, cwd=REPO, timeout=60).stdout
        assert "Example" in help_text, command


def test_the_command_answers_from_its_index_exactly_as_without_a_cache(museums):
    """The real command after each change (the incremental index answers the per-file ones) prints what
    `--no-cache` prints, byte for byte, with the same exit code."""
    steps = [
        ("datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nkind: painting\n"),  # one file's own error
        ("datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\n"),  # fixed
        ("datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nregistry_code: '050540004455'\n"),  # duplicate
        ("datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\ncity_id: rome\n"),  # dangling reference
        ("datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\n"),
    ]
    run(museums.root)  # a first run leaves the index, written by a child after the report is out
    later.settle(museums.cache_dir)
    assert (museums.cache_dir / "index-meta.marshal").is_file()
    for relative, content in steps:
        write(museums, relative, content)
        warm, cold = run(museums.root, "--format", "json"), run(museums.root, "--format", "json", "--no-cache")
        assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert json.loads(warm.stdout)["valid"] is True
