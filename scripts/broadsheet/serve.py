"""Assemble the `datasette serve` command for a built package: immutable database, generated metadata, the site's
templates, plugins and static files, and limits that keep a public site answering."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from broadsheet import build
from broadsheet.build import input_hash
from broadsheet.errors import BroadsheetError, Report
from broadsheet.export import sitemeta
from broadsheet.layout import Layout
from broadsheet.package import PackageSpec, load_package

# Limits for a public site: one slow request must not hold up the others.
SETTINGS: dict[str, int | bool] = {
    "sql_time_limit_ms": 1000,
    "max_returned_rows": 1000,
    "facet_time_limit_ms": 200,
    "facet_suggest_time_limit_ms": 100,
    "num_sql_threads": 3,
    "allow_download": False,  # the SQLite file is offered under /-/downloads/ with the other downloads
    "allow_csv_stream": True,
    "max_csv_mb": 50,
    "default_cache_ttl": 300,
    "suggest_facets": False,
    "truncate_cells_html": 0,
}


class SiteNotFound(BroadsheetError):
    """The site's templates and plugins are missing."""


@dataclass(frozen=True)
class Site:
    """Where the database, the generated metadata and the site assets are."""

    database: Path
    metadata: Path
    assets: Path

    @property
    def downloads(self) -> Path:
        return self.database.parent / "downloads"


def site_assets(layout: Layout) -> Path:
    """The folder with templates/ and plugins/: the dataset's own site/, else the toolkit's (for a second dataset
    that only brings data)."""
    for candidate in (layout.site_dir, Path(__file__).resolve().parents[2] / "site"):
        if (candidate / "templates").is_dir() and (candidate / "plugins").is_dir():
            return candidate
    raise SiteNotFound("no site/templates and site/plugins found beside datapackage.json or the toolkit",
                       path="site/")


def database_path(layout: Layout, package: PackageSpec) -> Path:
    return layout.out_dir / f"{package.name}.db"


def is_stale(layout: Layout, package: PackageSpec) -> bool:
    """True when the database is missing or was built from other inputs than the ones in the repository now."""
    info = layout.out_dir / "build.json"
    if not database_path(layout, package).is_file() or not info.is_file():
        return True
    try:
        built_from = json.loads(info.read_text(encoding="utf-8")).get("input_hash")
    except (OSError, ValueError):
        return True
    return built_from != input_hash(layout)


def build_if_needed(layout: Layout, rebuild: bool = True) -> tuple[PackageSpec, Report | None]:
    """Build out/ when it is missing or stale. Returns the package and, when the data is invalid, the report
    (nothing is served then)."""
    package = load_package(layout)
    if rebuild and is_stale(layout, package):
        result = build.build(layout)  # the build validates first and writes out/ atomically
        if not result.built:
            return package, result.report
    if not database_path(layout, package).is_file():
        raise BroadsheetError(f"no database at {layout.relative(database_path(layout, package))}; "
                              "run `broadsheet build` first", path="out/")
    return package, None


def prepare(layout: Layout, package: PackageSpec, assets: Path | None = None) -> Site:
    metadata = sitemeta.write(layout, package)
    return Site(database_path(layout, package), metadata, assets or site_assets(layout))


def setting_text(value: int | bool) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def command(site: Site, host: str = "127.0.0.1", port: int = 8001,
            settings: dict[str, int | bool] | None = None) -> list[str]:
    """The argument list that runs Datasette on the site (with the current Python, so the venv's Datasette)."""
    args = [sys.executable, "-m", "datasette", "serve", "-i", str(site.database),
            "--metadata", str(site.metadata),
            "--template-dir", str(site.assets / "templates"),
            "--plugins-dir", str(site.assets / "plugins"),
            "--host", host, "--port", str(port)]
    static = site.assets / "static"
    if static.is_dir():
        args += ["--static", f"static:{static}"]
    for name, value in {**SETTINGS, **(settings or {})}.items():
        args += ["--setting", name, setting_text(value)]
    return args


def app(site: Site, settings: dict[str, int | bool] | None = None):  # type: ignore[no-untyped-def]
    """The same site as `command` runs, as an in-process Datasette (for tests and scripts)."""
    from datasette.app import Datasette

    static = site.assets / "static"
    return Datasette(
        immutables=[str(site.database)],
        metadata=json.loads(site.metadata.read_text(encoding="utf-8")),
        template_dir=str(site.assets / "templates"),
        plugins_dir=str(site.assets / "plugins"),
        static_mounts=[("static", str(static))] if static.is_dir() else [],
        settings={**SETTINGS, **(settings or {})},
    )
