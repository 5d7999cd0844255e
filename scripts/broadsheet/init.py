"""`broadsheet init`: a new dataset repository that validates, builds and serves as it is.

The repository is the template folder shipped inside the package (package data, so it works from a wheel): a
datapackage.json, one example schema and record, site/metadata.yml, the GitHub workflow (actions pinned to a
commit, no persisted credentials), a README with the two commands, a Makefile and requirements.txt. Placeholders
`{{name}}`, `{{title}}` and `{{requirement}}` are filled in; nothing is written over an existing file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from broadsheet import __version__
from broadsheet.errors import Problem

TEMPLATE = "template"  # the folder of package data
# Names a package cannot ship as they are (setuptools leaves out dot-files): the template's name -> the file's
RENAMED = {"gitignore": ".gitignore", "github": ".github"}
REQUIREMENT = f"broadsheet=={__version__}"


@dataclass
class Created:
    root: Path
    written: list[Path]
    problems: list[Problem]


def package_name(folder: Path) -> str:
    """A Data Package name (lowercase, digits, `-`, `_`, `.`) from the folder's name."""
    name = re.sub(r"[^a-z0-9._-]+", "-", folder.name.lower()).strip("-._")
    return name or "dataset"


def planned(root: Path, name: str, title: str, requirement: str) -> dict[Path, bytes]:
    """Every file of the new repository, with its bytes."""
    values = {"{{name}}": name, "{{title}}": title, "{{requirement}}": requirement}
    found: dict[Path, bytes] = {}

    def walk(node: Traversable, parts: tuple[str, ...]) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name == "__pycache__":
                continue
            name_here = RENAMED.get(child.name, child.name) if not parts else child.name
            if child.is_dir():
                walk(child, (*parts, name_here))
                continue
            text = child.read_text(encoding="utf-8")
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            found[root.joinpath(*parts, name_here)] = text.encode("utf-8")

    walk(files("broadsheet") / TEMPLATE, ())
    return found


def create(root: Path, title: str | None = None, requirement: str = REQUIREMENT) -> Created:
    """Write the template into `root` (made if missing). Nothing is written when one of its files exists."""
    name = package_name(root.resolve())
    contents = planned(root, name, title or name.replace("-", " ").replace("_", " ").capitalize(), requirement)
    existing = [Problem("exists", f"{path.relative_to(root).as_posix()} already exists; init writes a new "
                        "repository and never over a file", path=str(path),
                        hint="run init in an empty folder (or a new one: `broadsheet init NEW-FOLDER`)")
                for path in contents if path.exists()]
    if existing:
        return Created(root, [], existing)
    for path, data in contents.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as handle:  # "x": never over a file made meanwhile either
            handle.write(data)
    return Created(root, list(contents), [])
