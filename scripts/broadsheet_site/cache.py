"""A bounded in-process cache of whole responses, for a site whose database is immutable.

Every page of an immutable database is a pure function of its address, so a page rendered once can be sent again
byte for byte: this is what the CDN in docs/scaling.md does in front of the replicas, done inside each process so
that one process already answers popular pages (a table's first page, common facets and searches) without
running Datasette again. Only anonymous GET requests (no cookie, no authorization header) with a 200 answer that
sets no cookie and is not marked private are kept; entries are bounded in size and the whole cache is a
least-recently-used map bounded in bytes. Every response says `x-cache: hit` or `x-cache: miss`, as CDNs do.

Settings (metadata `plugins.broadsheet`): `response_cache_mb` (total, default 64; 0 turns the cache off) and
`response_cache_entry_kb` (largest page kept, default 1024).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

DEFAULT_TOTAL_MB = 64
DEFAULT_ENTRY_KB = 1024
# Paths never cached: downloads are files on disk, sent as they are, and streaming exports can be huge.
SKIPPED_PREFIXES = ("/-/downloads/",)
PRIVATE_HEADERS = (b"cookie", b"authorization")


class Stored:
    """One complete response. (Plain classes: Datasette loads plugin files without registering them as modules,
    which dataclasses need.)"""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body
        self.size = len(body) + sum(len(k) + len(v) for k, v in headers) + 64


class LeastRecentlyUsed:
    """A map bounded by the total weight of its values (`weight(value)`; a value heavier than `max_entry` is not
    kept), forgetting the least recently used first. The response cache weighs responses in bytes; a build's kept
    query results (builds.Answers) count one each."""

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
    build that answers it (so a page of the previous build is never sent once the site has moved on)."""
    host = next((v for k, v in scope.get("headers") or [] if k.lower() == b"host"), b"")
    return (scope.get("scheme", "http"), host, scope.get("root_path", ""), scope["path"],
            scope.get("query_string", b""), scope.get("broadsheet.build"))


def settings(datasette) -> tuple[int, int]:
    conf = datasette.plugin_config("broadsheet") or {}
    total = conf.get("response_cache_mb", DEFAULT_TOTAL_MB)
    entry = conf.get("response_cache_entry_kb", DEFAULT_ENTRY_KB)
    return int(float(total) * 1024 * 1024), int(float(entry) * 1024)


def cached(datasette, app):  # type: ignore[no-untyped-def]
    """An ASGI app that answers repeated cacheable requests to `app` from one bounded cache."""
    cache: ResponseCache | None = None

    async def wrapped(scope, receive, send):
        nonlocal cache
        if cache is None:  # settings are read on the first request, when the metadata is loaded
            total, entry = settings(datasette)
            cache = ResponseCache(total, entry)
        if cache.max_total <= 0 or not cacheable_request(scope):
            await app(scope, receive, send)
            return
        key = request_key(scope)
        stored = cache.get(key)
        if stored is not None:
            await send({"type": "http.response.start", "status": stored.status,
                        "headers": [*stored.headers, (b"x-cache", b"hit")]})
            await send({"type": "http.response.body", "body": stored.body})
            return
        await app(scope, receive, recording(cache, key, send))

    return wrapped


def recording(cache: ResponseCache, key: tuple, send):  # type: ignore[no-untyped-def]
    """A `send` that passes every event on at once and keeps a copy of a cacheable response while it fits."""
    state: dict = {"keep": False, "status": 0, "headers": [], "chunks": [], "size": 0}

    async def send_and_record(event):
        if event["type"] == "http.response.start":
            headers = list(event.get("headers") or [])
            state.update(keep=cacheable_response(event["status"], headers), status=event["status"], headers=headers)
            event = {**event, "headers": [*headers, (b"x-cache", b"miss")]}
        elif event["type"] == "http.response.body" and state["keep"]:
            body = event.get("body") or b""
            state["size"] += len(body)
            if state["size"] > cache.max_entry:
                state.update(keep=False, chunks=[])  # too large (a streamed export): sent, never kept
            else:
                state["chunks"].append(body)
                if not event.get("more_body"):
                    cache.put(key, Stored(state["status"], state["headers"], b"".join(state["chunks"])))
        await send(event)

    return send_and_record
