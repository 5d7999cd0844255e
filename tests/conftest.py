"""Shared test helpers: fixtures are small real repositories copied to a temporary folder per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from broadsheet.layout import Layout

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures"
REPO = TESTS.parent


@pytest.fixture
def museums(tmp_path: Path) -> Layout:
    """A writable copy of the museums fixture: three resources, a child list and a citation table."""
    target = tmp_path / "museums"
    shutil.copytree(FIXTURES / "museums", target)
    return Layout(target)


FLAGSHIP_PARTS = ("datapackage.json", "schemas", "datapackage", "site", "CITATION.cff")


def copy_of_flagship(root: Path) -> Layout:
    """A writable copy of this repository's dataset (what a build reads, nothing of the toolkit) in `root`."""
    for name in FLAGSHIP_PARTS:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return Layout(root)


def write(layout: Layout, relative: str, content: str | bytes) -> Path:
    path = layout.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path
