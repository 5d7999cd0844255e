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
MAX_FILE_BYTES = 1_000_000  # a record file's default size limit (layout `max-file-bytes`)
MAX_DEPTH = 8  # a record's default nesting limit (layout `max-depth`)
ONE, LIST, MAPPING = "one", "list", "mapping"  # how many records a file holds (layout `records`)
FROM_FILE, FROM_FIELD, FROM_KEY = "file", "field", "key"  # where a record's id comes from (layout `id`)


@dataclass(frozen=True)
class RecordLayout:
    """Where one top-level resource's records live and how each is identified: a schema's
    `x-broadsheet.layout` (docs/dataset-format.md, Layouts). The defaults are one `.yaml` file per record in
    `datapackage/<resource>/`, named after its id."""

    folder: str  # relative to the root, with forward slashes
    recursive: bool = False
    suffixes: tuple[str, ...] = (RECORD_SUFFIX,)
    id_from: str = FROM_FILE
    records: str = ONE
    max_file_bytes: int = MAX_FILE_BYTES
    max_depth: int = MAX_DEPTH

    def accepts(self, name: str) -> bool:
        """A file name with one of the accepted suffixes."""
        return name.endswith(self.suffixes)

    def stem(self, name: str) -> str:
        """A record file's name without its folders and its suffix: the id, when the id is the file name."""
        name = name.rsplit("/", 1)[-1]
        for suffix in self.suffixes:
            if name.endswith(suffix):
                return name[: -len(suffix)]
        return name

    @property
    def ids_from_names(self) -> bool:
        return self.id_from == FROM_FILE


def record_id_of(path: str) -> str:
    """The record id a record file's path names (its file name without the suffix)."""
    return path.rsplit("/", 1)[-1].removesuffix(RECORD_SUFFIX)


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

    def records_dir(self, resource: str, records: RecordLayout | None = None) -> Path:
        return self.root / records.folder if records is not None else self.data_dir / resource

    def record_path(self, resource: str, record_id: str, records: RecordLayout | None = None) -> Path:
        suffix = records.suffixes[0] if records is not None else RECORD_SUFFIX
        return self.records_dir(resource, records) / f"{record_id}{suffix}"

    def default_records(self, resource: str) -> RecordLayout:
        """Today's layout: `datapackage/<resource>/<id>.yaml`."""
        return RecordLayout(f"{DATA_DIR}/{resource}")

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

    def input_files(self) -> list[Path]:
        """Everything a build reads besides datapackage.json: schemas (at any depth), views and record files
        (every file under datapackage/'s folders with a suffix a layout may accept, at any depth)."""
        return [*self.schemas_dir.rglob(f"*{SCHEMA_SUFFIX}"), *self.views_dir.glob(f"*{VIEW_SUFFIX}"),
                *(path for suffix in (RECORD_SUFFIX, ".yml") for folder in self.data_dir.glob("*/")
                  for path in folder.rglob(f"*{suffix}"))]

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
