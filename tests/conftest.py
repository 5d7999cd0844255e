"""Shared test helpers: fixtures are small real repositories copied to a temporary folder per test."""

from __future__ import annotations

import re
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


def headers(html: str) -> list[str]:
    """The text of each header cell of a page's rows table, as a reader sees it (sort arrows left out)."""
    table = html[html.index('<table class="rows-and-columns">'):]
    cells = re.findall(r"<th\b[^>]*>(.*?)</th>", table[:table.index("</thead>")], flags=re.S)
    return [re.sub(r"<[^>]+>", "", cell).replace("&nbsp;", " ").strip(" ▲▼").replace("&#39;", "'") for cell in cells]


def phone_labels(html: str) -> list[str]:
    """The labels a phone shows before each cell (the last `td:nth-of-type(n):before` rule of each n wins)."""
    found: dict[int, str] = {}
    for n, text in re.findall(r'td:nth-of-type\((\d+)\):before \{ content: "((?:[^"\\]|\\.)*)"; \}', html):
        found[int(n)] = re.sub(r"\\([0-9A-F]{6}) ?", lambda m: chr(int(m.group(1), 16)), text)
    return [found[n] for n in sorted(found)]
