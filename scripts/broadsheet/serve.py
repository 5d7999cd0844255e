"""Assemble the `datasette serve` command for a built package: immutable database, generated metadata, the
dataset's own template overrides, and limits that keep a public site answering.

The site itself is the `broadsheet_site` package, a Datasette plugin that Datasette loads by its entry point
(group `datasette`, name `broadsheet`); its templates and stylesheet are package data, so a wheel serves a
dataset anywhere. A dataset's `site/` folder holds only its prose (metadata.yml) and, optionally, `templates/`
that override the package's."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from importlib.resources import files
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
    "max_csv_mb": 0,  # a CSV is streamed page by page in bounded memory: cut at a size it would end in a 200
    # whose last line says "truncated", so it is not cut (the whole-table CSVs under /-/downloads/ are files)
    "default_cache_ttl": 300,
    "suggest_facets": False,
    "truncate_cells_html": 0,
}


class SiteNotFound(BroadsheetError):
    """The site plugin is not installed in this Python environment."""


PLUGIN_NAME = "broadsheet"  # the entry point's name in the `datasette` group
PLUGIN_MODULE = "broadsheet_site"


@dataclass(frozen=True)
class Site:
    """Where the database, the generated metadata and the dataset's own site folder are."""

    database: Path
    metadata: Path
    overrides: Path | None = None  # the dataset's site/ folder; its templates/ win over the package's

    @property
    def downloads(self) -> Path:
        return self.database.parent / "downloads"

    @property
    def templates(self) -> Path | None:
        folder = self.overrides / "templates" if self.overrides else None
        return folder if folder is not None and folder.is_dir() else None


def static_dir() -> Path:
    """The site's stylesheet folder, inside the installed plugin package (served at /static/)."""
    return Path(str(files(PLUGIN_MODULE) / "static"))


def plugin_installed() -> bool:
    """True when the plugin package is registered by its entry point, as `datasette serve` will find it."""
    return any(ep.value == PLUGIN_MODULE for ep in entry_points(group="datasette", name=PLUGIN_NAME))


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


def prepare(layout: Layout, package: PackageSpec, overrides: Path | None = None) -> Site:
    metadata = sitemeta.write(layout, package)
    folder = overrides or layout.site_dir
    return Site(database_path(layout, package), metadata, folder if folder.is_dir() else None)


def setting_text(value: int | bool) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


# How long uvicorn's parent waits for a worker to answer its health check before it kills and replaces it. Its
# default (5 s) kills workers that are only busy: a worker building its search index at start-up (seconds of CPU
# at 100k records, in long C calls that hold the GIL its health-check thread needs) on a machine at load 8 missed
# it again and again, and each replacement started the index over (measured: two workers killed before one
# answered). A worker that stays silent this long is hung.
WORKER_HEALTHCHECK_SECONDS = 60
SITE_ENV = "BROADSHEET_SITE"  # how `command(..., processes=N)` tells each worker process which site to build
PROMPT_PROTOCOL = "PromptHTTPProtocol"  # the workers' HTTP protocol, found by uvicorn in this module (`__getattr__`)


@cache
def prompt_protocol() -> type:
    """uvicorn's HTTP protocol with Nagle's algorithm off on every connection. uvicorn's parent binds the shared
    socket without naming TCP as its protocol, so asyncio does not set TCP_NODELAY on the connections it accepts
    (it does for the socket `datasette serve` binds): a response's body then waited for the client's delayed
    acknowledgement of its headers, 40 ms on every request after the first on a keep-alive connection (measured:
    44 ms for a cached page, 1.2 ms with one process). The protocol is uvicorn's httptools one (a C parser) where
    httptools is installed, as it is with Broadsheet, else its pure-Python h11 one."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as Base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as Base  # type: ignore[assignment]

    class PromptHTTPProtocol(Base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)

    return PromptHTTPProtocol


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    """uvicorn imports the workers' protocol by name (`--http broadsheet.serve:PromptHTTPProtocol`); it is made on
    that first use, so that importing this module does not import uvicorn."""
    if name == PROMPT_PROTOCOL:
        return prompt_protocol()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def cores() -> int:
    return len(os.sched_getaffinity(0))


def command(site: Site, host: str = "127.0.0.1", port: int = 8001,
            settings: dict[str, int | bool] | None = None, processes: int = 1) -> list[str]:
    """The argument list that runs Datasette on the site (with the current Python, so the venv's Datasette).

    One process: `datasette serve`. More: uvicorn's own workers (`--workers N`: one listening socket shared by N
    processes, each a whole Datasette with its response cache and its pinned build), each building the same
    site as `app` from what `environment` puts in its environment, under `supervise` (this module run as a
    program), which gives them one shared response cache for the run."""
    if not plugin_installed():
        raise SiteNotFound(f"the site plugin ({PLUGIN_MODULE}) is not registered in this Python environment; "
                           "reinstall Broadsheet (pip install -e . in a checkout)")
    if processes > 1:
        return [sys.executable, "-m", __name__, "broadsheet.serve:worker_app", "--factory",
                "--workers", str(processes), "--host", host, "--port", str(port), "--lifespan", "on",
                "--http", f"{__name__}:{PROMPT_PROTOCOL}",
                "--timeout-worker-healthcheck", str(WORKER_HEALTHCHECK_SECONDS), "--log-level", "info"]
    args = [sys.executable, "-m", "datasette", "serve", "-i", str(site.database),
            "--metadata", str(site.metadata),
            "--static", f"static:{static_dir()}",
            "--host", host, "--port", str(port)]
    if site.templates:
        args += ["--template-dir", str(site.templates)]
    for name, value in {**SETTINGS, **(settings or {})}.items():
        args += ["--setting", name, setting_text(value)]
    return args


def environment(site: Site, settings: dict[str, int | bool] | None = None) -> dict[str, str]:
    """The variables a worker process of `command(..., processes=N)` needs (add them to the environment)."""
    return {SITE_ENV: json.dumps({"database": str(site.database), "metadata": str(site.metadata),
                                  "overrides": str(site.overrides) if site.overrides else None,
                                  "settings": settings or {}})}


SHARED_CACHE_FILE = "responses.sqlite"  # the workers' shared response cache, in the folder `supervise` makes
SHARED_CACHE_PREFIX = "broadsheet-site-"  # that folder's name: this prefix, the supervisor's pid, a dash, a token


def supervise(arguments: list[str]) -> None:
    """uvicorn's supervisor of the workers, in this process, with a new folder in the temporary folder for their
    shared response cache (the site plugin's `response_cache_shared_file`). The folder is made for this run
    and deleted when the server stops, so no page rendered by an earlier run (other code, other templates) is
    ever sent. uvicorn ends by raising SystemExit, which the `with` lets through after deleting the folder."""
    import uvicorn.main

    remove_abandoned_caches(Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix=f"{SHARED_CACHE_PREFIX}{os.getpid()}-") as folder:
        spec = json.loads(os.environ[SITE_ENV])
        os.environ[SITE_ENV] = json.dumps({**spec, "shared_cache": str(Path(folder) / SHARED_CACHE_FILE)})
        uvicorn.main.main(arguments, prog_name="uvicorn")  # spawned workers inherit the environment


def remove_abandoned_caches(temporary: Path) -> list[str]:
    """Delete the shared-cache folders in `temporary` that a killed server left (its supervisor's pid no longer
    runs): a server stopped by SIGKILL cannot delete its own, and each may hold up to the cache's bound. Only
    real folders of this user with the prefix and a pid are touched, never a link. Returns the names deleted."""
    removed = []
    try:
        entries = list(os.scandir(temporary))
    except OSError:
        return removed
    for entry in entries:
        pid = entry.name.removeprefix(SHARED_CACHE_PREFIX).partition("-")[0]
        if not entry.name.startswith(SHARED_CACHE_PREFIX) or not pid.isdigit() or _running(int(pid)):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.name)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: running
    return True


def worker_app():  # type: ignore[no-untyped-def]
    """One worker's ASGI app (uvicorn `--factory`): the site `environment` describes, exactly as `app` builds it."""
    spec = json.loads(os.environ[SITE_ENV])
    overrides = Path(spec["overrides"]) if spec.get("overrides") else None
    shared = Path(spec["shared_cache"]) if spec.get("shared_cache") else None
    return app(Site(Path(spec["database"]), Path(spec["metadata"]), overrides), spec.get("settings") or {},
               shared_cache=shared).app()


def app(site: Site, settings: dict[str, int | bool] | None = None,  # type: ignore[no-untyped-def]
        shared_cache: Path | None = None):
    """The same site as `command` runs, as an in-process Datasette (for tests and scripts). Where the entry point
    is not registered (a checkout whose environment was installed before the plugin package existed), the plugin
    is registered here, so in-process sites match what `datasette serve` loads from a fresh install.
    `shared_cache`: the SQLite file of a response cache shared with other processes (or instances) serving the
    same site."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    if pm.get_plugin(PLUGIN_NAME) is None:
        pm.register(importlib.import_module(PLUGIN_MODULE), name=PLUGIN_NAME)
    metadata = json.loads(site.metadata.read_text(encoding="utf-8"))
    if shared_cache is not None:
        metadata.setdefault("plugins", {}).setdefault(PLUGIN_NAME, {})["response_cache_shared_file"] = str(
            shared_cache)
    return Datasette(
        immutables=[str(site.database)],
        metadata=metadata,
        template_dir=str(site.templates) if site.templates else None,
        static_mounts=[("static", str(static_dir()))],
        settings={**SETTINGS, **(settings or {})},
    )


if __name__ == "__main__":  # `command(..., processes=N)` runs this module with uvicorn's arguments
    supervise(sys.argv[1:])
