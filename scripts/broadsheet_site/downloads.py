"""Downloads: the listing the home page shows, and the files under /-/downloads/ (out/downloads and the
SQLite file itself), with the content types spreadsheets expect."""

from __future__ import annotations

import asyncio
import os
import re
from email.utils import formatdate
from pathlib import Path
from typing import Any

from datasette import Response

from broadsheet_site.config import config

CONTENT_TYPES = {
    ".zip": "application/zip",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".db": "application/vnd.sqlite3",
}
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def downloads_dir(datasette, db: str) -> Path | None:
    path = datasette.get_database(db).path
    return Path(path).parent / "downloads" if path else None


def table_titles(datasette, db: str, resources: dict[str, Any]) -> dict[str, str]:
    """Every table's title: the schema's for resources, the site metadata's for views."""
    tables = (datasette.metadata("tables", database=db, fallback=False) or {})
    titles = {name: meta.get("title") for name, meta in tables.items() if isinstance(meta, dict) and meta.get("title")}
    return {**titles, **{name: spec["title"] for name, spec in resources.items() if spec.get("title")}}


def downloads(datasette, db: str, tables: list[str], titles: dict[str, str] | None = None) -> dict[str, Any]:
    folder = downloads_dir(datasette, db)
    if folder is None:
        return {}
    base = "/-/downloads/"

    def present(relative: str) -> str | None:
        return base + relative if (folder / relative).is_file() else None

    return {
        "zip": present(f"{db}.zip"),
        "descriptor": present("datapackage.json"),
        "json_all": present(f"json/{db}.json"),
        "sqlite": base + f"{db}.db",
        "tables": [{"name": t, "title": (titles or {}).get(t) or t, "csv": present(f"csv/{t}.csv"),
                    "json": present(f"json/{t}.json")} for t in tables
                   if present(f"csv/{t}.csv") or present(f"json/{t}.json")],
    }


CHUNK = 256 * 1024  # bytes read and sent at a time: a download holds one chunk, whatever the file's size


class FileStream:
    """A file sent in chunks read off the event loop, from a handle opened when the request arrived (so the answer
    is the file as it was then, even if a new build replaces it meanwhile). The server's flow control makes each
    `send` wait while the visitor's connection is slow, so memory stays bounded by a chunk per download."""

    def __init__(self, path: Path, content_type: str, head_only: bool = False) -> None:
        self.handle = open(path, "rb")  # noqa: SIM115 - closed when sent
        stat = os.fstat(self.handle.fileno())
        self.size, self.head_only = stat.st_size, head_only
        self.headers = [(b"content-type", content_type.encode()), (b"content-length", str(self.size).encode()),
                        (b"content-disposition", f'attachment; filename="{path.name}"'.encode()),
                        (b"last-modified", formatdate(stat.st_mtime, usegmt=True).encode())]

    async def asgi_send(self, send) -> None:  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.headers})
            left = 0 if self.head_only else self.size
            while True:
                chunk = await loop.run_in_executor(None, self.handle.read, min(CHUNK, left)) if left else b""
                left -= len(chunk)
                more = left > 0 and bool(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
                if not more:
                    break
        finally:
            self.handle.close()


async def download(datasette, request):  # type: ignore[no-untyped-def]
    """Files from out/downloads (and the SQLite file itself), streamed, with content types that spreadsheets
    expect."""
    conf = config(datasette)
    db = conf.get("database") or ""
    folder = request.url_vars.get("folder") or ""
    name = request.url_vars["name"]
    if db not in datasette.databases or not SAFE_NAME.match(name) or folder not in ("", "csv", "json"):
        return Response.text("Not found", status=404)
    database_file = Path(datasette.get_database(db).path)
    path = database_file if not folder and name == f"{db}.db" else database_file.parent / "downloads" / folder / name
    suffix = path.suffix.lower()
    if suffix not in CONTENT_TYPES:
        return Response.text("Not found", status=404)
    try:
        return FileStream(path, CONTENT_TYPES[suffix], head_only=request.method == "HEAD")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return Response.text("Not found", status=404)
