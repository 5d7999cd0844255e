"""Where things live. Every path the toolkit uses is named here, relative to the repository root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from broadsheet.errors import RootNotFound

DESCRIPTOR = "datapackage.json"
DATA_DIR = "datapackage"  # record folders and the generated CSVs
SCHEMAS_DIR = "schemas"
VIEWS_DIR = "views"  # under schemas/
OUT_DIR = "out"
CACHE_DIR = ".broadsheet-cache"
SITE_DIR = "site"
README = "README.md"
RECORD_SUFFIX = ".yaml"  # a record file: datapackage/<resource>/<id>.yaml
SCHEMA_SUFFIX = ".yaml"  # a schema: schemas/<resource>.yaml
VIEW_SUFFIX = ".sql"  # a view: schemas/views/<view>.sql
CSV_SUFFIX = ".csv"


def record_id_of(path: str) -> str:
    """The record id a record file's path names (its file name without the suffix)."""
    return path.rsplit("/", 1)[-1].removesuffix(RECORD_SUFFIX)


def record_parts(path: str) -> tuple[str, str] | None:
    """(resource folder, record id) for a path `datapackage/<resource>/<id>.yaml` relative to the root, None for
    any other path."""
    parts = path.split("/")
    if len(parts) != 3 or parts[0] != DATA_DIR or not parts[2].endswith(RECORD_SUFFIX):
        return None
    return parts[1], parts[2].removesuffix(RECORD_SUFFIX)


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
        return self.root / SCHEMAS_DIR

    @property
    def views_dir(self) -> Path:
        return self.schemas_dir / VIEWS_DIR

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR

    def schema_path(self, resource: str) -> Path:
        return self.schemas_dir / f"{resource}{SCHEMA_SUFFIX}"

    def records_dir(self, resource: str) -> Path:
        return self.data_dir / resource

    def record_path(self, resource: str, record_id: str) -> Path:
        return self.records_dir(resource) / f"{record_id}{RECORD_SUFFIX}"

    def csv_path(self, resource: str) -> Path:
        return self.data_dir / f"{resource}{CSV_SUFFIX}"

    @property
    def out_dir(self) -> Path:
        return self.root / OUT_DIR

    @property
    def cache_dir(self) -> Path:
        return self.root / CACHE_DIR

    @property
    def site_dir(self) -> Path:
        return self.root / SITE_DIR

    @property
    def readme(self) -> Path:
        return self.root / README

    def view_path(self, view: str) -> Path:
        return self.views_dir / f"{view}{VIEW_SUFFIX}"

    def schema_files(self) -> list[Path]:
        """The resource schemas, sorted."""
        return sorted(self.schemas_dir.glob(f"*{SCHEMA_SUFFIX}"))

    def record_files(self, resource: str) -> list[Path]:
        """The record files of one resource, sorted."""
        return sorted(self.records_dir(resource).glob(f"*{RECORD_SUFFIX}"))

    def input_files(self) -> list[Path]:
        """Everything a build reads besides datapackage.json: schemas (at any depth), views and record files."""
        return [*self.schemas_dir.rglob(f"*{SCHEMA_SUFFIX}"), *self.views_dir.glob(f"*{VIEW_SUFFIX}"),
                *self.data_dir.glob(f"*/*{RECORD_SUFFIX}")]

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
