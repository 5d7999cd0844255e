"""The CI workflow's supply chain, held by zizmor (a static analyser for GitHub Actions), offline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
ZIZMOR = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")


def findings(path: Path, persona: str = "regular") -> list[tuple[str, str]]:
    assert ZIZMOR, "zizmor is in the test extras: pip install -e '.[test]'"
    run = subprocess.run([ZIZMOR, "--offline", "--persona", persona, "--format", "json", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 10, 11, 12, 13, 14), run.stderr  # 1x: findings of the highest severity x
    return sorted((f["ident"], f["determinations"]["severity"]) for f in json.loads(run.stdout))


def test_the_workflows_have_no_finding():
    assert findings(WORKFLOWS) == []


def test_the_pedantic_audit_finds_only_the_accepted_unpinned_image():
    """The container image is pinned by tag, not digest, on purpose (see the comment in validate.yml); any other
    pedantic finding is new and fails here."""
    assert findings(WORKFLOWS, "pedantic") == [("unpinned-images", "High")]


CHECKOUT = "actions/checkout@34e114876b0b11c390a56381ad16ebd13914f8d5  # v4.3.1"


# Each row: a change to the workflow as it is, and what zizmor must then report (the check can fail).
@pytest.mark.parametrize(("old", "new", "expected"), [
    (CHECKOUT, "actions/checkout@v4", [("unpinned-uses", "High")]),
    ("actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830  # v4.3.0", "actions/cache@v4",
     [("unpinned-uses", "High")]),
    ("          persist-credentials: false", "", [("artipacked", "Medium")]),
])
def test_a_weakened_workflow_is_reported(tmp_path, old, new, expected):
    text = (WORKFLOWS / "validate.yml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "validate.yml").write_text(text.replace(old, new), encoding="utf-8")
    assert findings(tmp_path / "validate.yml") == expected
