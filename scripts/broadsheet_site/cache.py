"""Whole responses kept for a site whose database is immutable: in each process, and shared by a server's processes.

Every page of an immutable database is a pure function of its address, so a page rendered once can be sent again
byte for byte: this is what the CDN in docs/scaling.md does in front of the replicas, done inside the server so
that popular pages (a table's first page, common facets and searches) are answered without running Datasette
again. Only anonymous GET requests (no cookie, no authorization header) with a 200 answer that sets no cookie and
is not marked private are kept; entries are bounded in size. Every response says `x-cache: hit` or
`x-cache: miss`, as CDNs do.

Two levels. The first is a least-recently-used map in each process, bounded in bytes. The second, when the server
runs several worker processes (`broadsheet serve --processes N`), is one SQLite file in a folder the server makes
for its run (`SharedCache`): a page one worker rendered is answered by the others, which at 100k records raised
the share of answers sent from a cache under the load test and cut the server's CPU. Both levels use one key,
`request_key`: the address as asked for plus what identifies the build answering it (`build_identity`).

Settings (metadata `plugins.broadsheet`): `response_cache_mb` (per process, default 64; 0 turns both levels off),
`response_cache_entry_kb` (largest page kept, default 1024), `response_cache_shared_mb` (the shared file's bound,
default 256) and `response_cache_shared_file` (the shared file; set by `broadsheet serve` for its workers, never
by a dataset).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_TOTAL_MB = 64
DEFAULT_ENTRY_KB = 1024
DEFAULT_SHARED_MB = 256
# Paths never cached: downloads are files on disk, sent as they are, and streaming exports can be huge.
SKIPPED_PREFIXES = ("/-/downloads/",)
PRIVATE_HEADERS = (b"cookie", b"authorization")
log = logging.getLogger("broadsheet.site")


class Stored:
    """One complete response. (Plain classes: Datasette loads plugin files without registering them as modules,
    which dataclasses need.)"""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body
        self.size = len(body) + sum(len(k) + len(v) for k, v in headers) + 64


class LeastRecentlyUsed:
    """A map bounded by the total weight of its values (`weight(value)`; a value heavier than `max_entry` is not
    kept), forgetting the least recently used first. The response cache weighs responses in bytes; a build's kept
    query results (builds.Answers) count one each; the search's remembered typed words (forgiving.SearchIndex) by
    the record numbers they hold."""

    def __init__(self, max_total: int, max_entry: int, weight: Callable[[Any], int]) -> None:
        self.max_total, self.max_entry, self.weight = max_total, max_entry, weight
        self.entries: OrderedDict[tuple, Any] = OrderedDict()
        self.size = self.hits = self.misses = 0

    def get(self, key: tuple) -> Any:
        stored = self.entries.get(key)
        if stored is None:
            self.misses += 1
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return stored

    def put(self, key: tuple, stored: Any) -> None:
        weight = self.weight(stored)
        if weight > self.max_entry or key in self.entries:
            return
        self.entries[key] = stored
        self.size += weight
        while self.size > self.max_total and self.entries:
            _, evicted = self.entries.popitem(last=False)
            self.size -= self.weight(evicted)


class ResponseCache(LeastRecentlyUsed):
    """A byte-bounded LRU map from request key to a complete response."""

    def __init__(self, max_bytes: int, max_entry: int) -> None:
        super().__init__(max_bytes, max_entry, lambda stored: stored.size)


SCHEMA = """
create table if not exists entries (
    seq integer primary key,   -- order of writing: the oldest go first when the file is full
    key blob not null unique,  -- sha256 of the request key
    size integer not null,     -- Stored.size, what the bound counts
    status integer not null,
    headers blob not null,     -- JSON list of [name, value], bytes as Latin-1
    body blob not null,
    checksum integer not null  -- crc32 of headers and body: bytes that changed on disk are never sent
);
create table if not exists total (one integer primary key check (one = 1), bytes integer not null);
insert or ignore into total values (1, 0);
"""
BUSY_SECONDS = 0.05  # how long a worker waits for another's write before it renders (or skips keeping) instead
RETRY_SECONDS = 30.0  # after a fault (a corrupt or unwritable file), how long a worker does without the file
EVICT_BATCH = 32


class SharedCache:
    """Complete responses in one SQLite file that all worker processes of a server open, bounded in bytes (the
    oldest entries are evicted first: a read does not write, so hits cost no lock).

    Why it is safe to share and to kill: each entry is written by one INSERT in one transaction, in WAL mode, so
    a worker killed while writing leaves an uncommitted transaction that the next reader ignores and the next
    opener rolls back; no reader ever sees half an entry. A checksum over each entry's bytes is checked on every
    read, so a file damaged on disk answers "miss", never a wrong page. Any SQLite error (a corrupt or
    unwritable file, a full disk) makes that request a miss or leaves the page unkept, and the worker goes on with
    its own cache alone for RETRY_SECONDS; a request is never answered with an error because of this cache.
    `synchronous=off`: the file lives as long as the server, so surviving an operating-system crash is not needed,
    and WAL keeps each commit atomic without it."""

    def __init__(self, path: Path, max_bytes: int, max_entry: int) -> None:
        self.path, self.max_bytes, self.max_entry = path, max_bytes, max_entry
        self.connection: sqlite3.Connection | None = None
        self.resting_until = 0.0
        self.hits = self.misses = self.faults = 0

    def _open(self) -> sqlite3.Connection | None:
        if self.connection is not None:
            return self.connection
        if time.monotonic() < self.resting_until:
            return None
        connection = None
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            connection.execute("pragma journal_mode=wal")
            connection.execute("pragma synchronous=off")
            page_size = connection.execute("pragma page_size").fetchone()[0]
            # A hard bound on the file, above the bound of what it holds: the pages of deleted entries are
            # reused, so the file settles near max_bytes; a write beyond this fails and the page is not kept.
            connection.execute(f"pragma max_page_count={(2 * self.max_bytes + (8 << 20)) // page_size}")
            connection.execute(f"pragma journal_size_limit={8 << 20}")  # the WAL file is cut back after use
            connection.executescript(SCHEMA)
        except sqlite3.Error as error:
            if connection is not None:
                connection.close()
            self._fault(error)
            return None
        self.connection = connection
        return connection

    def _fault(self, error: sqlite3.Error) -> None:
        """A fault of the file (not a moment's wait for another writer): do without it for a while."""
        if _busy(error):
            return
        self.faults += 1
        if self.connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self.connection.close()
            self.connection = None
        self.resting_until = time.monotonic() + RETRY_SECONDS
        log.warning("shared response cache %s unusable (%s); rendering without it for %.0f s",
                    self.path, error, RETRY_SECONDS)

    def get(self, key: tuple) -> Stored | None:
        connection = self._open()
        if connection is None:
            return None
        try:
            row = connection.execute("select status, headers, body, checksum from entries where key = ?",
                                     (shared_key(key),)).fetchone()
        except sqlite3.Error as error:
            self._fault(error)
            return None
        stored = None if row is None else _unpacked(*row)
        if stored is None:
            self.misses += 1
        else:
            self.hits += 1
        return stored

    def put(self, key: tuple, stored: Stored) -> None:
        if stored.size > min(self.max_entry, self.max_bytes):
            return
        connection = self._open()
        if connection is None:
            return
        headers = json.dumps([[k.decode("latin-1"), v.decode("latin-1")] for k, v in stored.headers]).encode()
        checksum = zlib.crc32(stored.body, zlib.crc32(headers))
        try:
            connection.execute("begin immediate")
            try:
                added = connection.execute(
                    "insert or ignore into entries (key, size, status, headers, body, checksum) "
                    "values (?, ?, ?, ?, ?, ?)",
                    (shared_key(key), stored.size, stored.status, headers, stored.body, checksum)).rowcount
                if added:
                    self._evict(connection, stored.size)
                connection.execute("commit")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("rollback")
                raise
        except sqlite3.Error as error:
            self._fault(error)

    def _evict(self, connection: sqlite3.Connection, added: int) -> None:
        """Count `added` bytes in, and drop the oldest entries until the total is within the bound again (inside
        the writer's transaction, so the count and the entries never disagree)."""
        total = connection.execute("select bytes from total").fetchone()[0] + added
        while total > self.max_bytes:
            oldest = connection.execute("select seq, size from entries order by seq limit ?",
                                        (EVICT_BATCH,)).fetchall()
            if not oldest:
                total = 0
                break
            for seq, size in oldest:
                if total <= self.max_bytes:
                    break
                connection.execute("delete from entries where seq = ?", (seq,))
                total -= size
        connection.execute("update total set bytes = ?", (total,))

    def total(self) -> int:
        """The bytes the file holds, as the bound counts them (0 when it cannot be read)."""
        connection = self._open()
        try:
            return connection.execute("select bytes from total").fetchone()[0] if connection else 0
        except sqlite3.Error:
            return 0


def _busy(error: sqlite3.Error) -> bool:
    return isinstance(error, sqlite3.OperationalError) and "locked" in str(error)


def _unpacked(status: int, headers: bytes, body: bytes, checksum: int) -> Stored | None:
    """The stored response, or None when its bytes are not the bytes written."""
    if zlib.crc32(body, zlib.crc32(headers)) != checksum:
        return None
    try:
        pairs = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in json.loads(headers)]
    except (ValueError, TypeError, AttributeError, UnicodeError):
        return None
    return Stored(status, pairs, body)


def shared_key(key: tuple) -> bytes:
    """request_key as the shared file stores it. Its parts are str, bytes, int and None, whose repr is the same
    in every process of one Python, so the digest is too."""
    return hashlib.sha256(repr(key).encode("utf-8", "surrogateescape")).digest()


def build_identity(path: str | os.PathLike[str] | None) -> tuple[str, int, int, int] | None:
    """What identifies a build's database file: its path, inode, size and modification time. A new build is a new
    file in a new folder; a file replaced or rewritten at the same path changes its inode, size or time. None
    when there is no such file (the shared level is then not used)."""
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (os.fspath(path), info.st_ino, info.st_size, info.st_mtime_ns)


def cacheable_request(scope: dict) -> bool:
    if scope["type"] != "http" or scope.get("method") != "GET":
        return False
    if scope.get("path", "").startswith(SKIPPED_PREFIXES):
        return False
    return not any(name.lower() in PRIVATE_HEADERS for name, _ in scope.get("headers") or [])


def cacheable_response(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    if status != 200:
        return False
    for name, value in headers:
        name = name.lower()
        if name == b"set-cookie":
            return False
        if name == b"cache-control" and (b"private" in value.lower() or b"no-store" in value.lower()):
            return False
    return True


def request_key(scope: dict) -> tuple:
    """The address as the visitor asked for it, with the host (the changes feed writes absolute links) and the
    build that answers it (`build_identity`, put in the scope by builds.pinned), so a page of the previous build is
    never sent once the site has moved on, by this process or by another sharing the file."""
    host = next((v for k, v in scope.get("headers") or [] if k.lower() == b"host"), b"")
    return (scope.get("scheme", "http"), host, scope.get("root_path", ""), scope["path"],
            scope.get("query_string", b""), scope.get("broadsheet.build"))


class Levels:
    """The caches one Datasette answers from: its own, then the server's shared file (None without one)."""

    def __init__(self, local: ResponseCache, shared: SharedCache | None) -> None:
        self.local, self.shared = local, shared

    @classmethod
    def from_settings(cls, datasette) -> Levels:  # type: ignore[no-untyped-def]
        conf = datasette.plugin_config("broadsheet") or {}
        total = int(float(conf.get("response_cache_mb", DEFAULT_TOTAL_MB)) * 1024 * 1024)
        entry = int(float(conf.get("response_cache_entry_kb", DEFAULT_ENTRY_KB)) * 1024)
        shared_bytes = int(float(conf.get("response_cache_shared_mb", DEFAULT_SHARED_MB)) * 1024 * 1024)
        file = conf.get("response_cache_shared_file")
        shared = SharedCache(Path(file), shared_bytes, entry) if file and total > 0 and shared_bytes > 0 else None
        return cls(ResponseCache(total, entry), shared)

    def get(self, key: tuple) -> Stored | None:
        stored = self.local.get(key)
        if stored is None and self.shared is not None and key[-1] is not None:
            stored = self.shared.get(key)
            if stored is not None:
                self.local.put(key, stored)
        return stored

    def put(self, key: tuple, stored: Stored) -> None:
        self.local.put(key, stored)
        if self.shared is not None and key[-1] is not None:
            self.shared.put(key, stored)


def cached(datasette, app):  # type: ignore[no-untyped-def]
    """An ASGI app that answers repeated cacheable requests to `app` from the caches (`Levels`)."""
    levels: Levels | None = None

    async def wrapped(scope, receive, send):
        nonlocal levels
        if levels is None:  # settings are read on the first request, when the metadata is loaded
            levels = Levels.from_settings(datasette)
        if levels.local.max_total <= 0 or not cacheable_request(scope):
            await app(scope, receive, send)
            return
        key = request_key(scope)
        stored = levels.get(key)
        if stored is not None:
            await send({"type": "http.response.start", "status": stored.status,
                        "headers": [*stored.headers, (b"x-cache", b"hit")]})
            await send({"type": "http.response.body", "body": stored.body})
            return
        await app(scope, receive, recording(levels, key, send))

    return wrapped


def recording(levels: Levels, key: tuple, send):  # type: ignore[no-untyped-def]
    """A `send` that passes every event on at once and keeps a copy of a cacheable response while it fits."""
    state: dict = {"keep": False, "status": 0, "headers": [], "chunks": [], "size": 0}
    max_entry = levels.local.max_entry

    async def send_and_record(event):
        if event["type"] == "http.response.start":
            headers = list(event.get("headers") or [])
            state.update(keep=cacheable_response(event["status"], headers), status=event["status"], headers=headers)
            event = {**event, "headers": [*headers, (b"x-cache", b"miss")]}
        elif event["type"] == "http.response.body" and state["keep"]:
            body = event.get("body") or b""
            state["size"] += len(body)
            if state["size"] > max_entry:
                state.update(keep=False, chunks=[])  # too large (a streamed export): sent, never kept
            else:
                state["chunks"].append(body)
                if not event.get("more_body"):
                    await send(event)  # the visitor has the page before it is written to the shared file
                    levels.put(key, Stored(state["status"], state["headers"], b"".join(state["chunks"])))
                    return
        await send(event)

    return send_and_record
