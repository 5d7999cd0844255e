"""Where things live. Every path the toolkit uses is named here, relative to the repository root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from broadsheet.errors import RootNotFound

DESCRIPTOR = "datapackage.json"


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def find(cls, start: Path | str | None = None) -> Layout:
        """The nearest folder at or above `start` that holds a datapackage.json."""
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / DESCRIPTOR).is_file():
                return cls(folder)
        raise RootNotFound(f"no {DESCRIPTOR} in {here} or any folder above it")

    @property
    def descriptor(self) -> Path:
        return self.root / DESCRIPTOR

    @property
    def schemas_dir(self) -> Path:
        return self.root / "schemas"

    @property
    def views_dir(self) -> Path:
        return self.schemas_dir / "views"

    @property
    def data_dir(self) -> Path:
        return self.root / "datapackage"

    def schema_path(self, resource: str) -> Path:
        return self.schemas_dir / f"{resource}.yaml"

    def records_dir(self, resource: str) -> Path:
        return self.data_dir / resource

    def record_path(self, resource: str, record_id: str) -> Path:
        return self.records_dir(resource) / f"{record_id}.yaml"

    def csv_path(self, resource: str) -> Path:
        return self.data_dir / f"{resource}.csv"

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    @property
    def cache_dir(self) -> Path:
        return self.root / ".broadsheet-cache"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def readme(self) -> Path:
        return self.root / "README.md"

    def relative(self, path: Path) -> str:
        """A path as shown to people: relative to the root, with forward slashes. A symbolic link is named as
        itself, never as its target (which may be anywhere, or another file of the repository)."""
        lexical = Path(os.path.abspath(path))
        for root in (self.root, self.root.resolve()):
            try:
                return lexical.relative_to(root).as_posix()
            except ValueError:
                continue
        return path.as_posix()
