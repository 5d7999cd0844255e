"""One build at a time: a process answers every request from one build of out/, and moves to a new build whole.

`broadsheet build` commits a build by pointing the symlink `out/current` at a new folder, so the database the
site was started on (`out/<db>.db -> current/<db>.db`) names a different file after each build. Left to itself,
Datasette 0.65 never notices: each SQL thread keeps the connection it opened first (keyed by the database's name
alone), so pages stay on the old file while downloads, found by path, come from the new one.

Here the site pins the file the link names when it starts (its real path, inside one `.build-*` folder), and
answers pages and downloads from that folder. On each request it reads where the link points now (one
`realpath`); when that changed, it prepares the new build beside the running one (a database of its own, whose
connections are keyed by its file, and the folded search index), then holds new requests for the moment the
requests in flight finish, and swaps. So no request is dropped, none sees two builds, and the switch needs no
restart. Downloads stream from a file opened when they arrive, so a long download holds up no switch. The wait
lasts DRAIN_SECONDS at most: a request longer than that (a streamed CSV of a large table) is answered from the
old build for the pages it has read and from the new one for the rest.
"""

from __future__ import annotations

import asyncio
import contextvars
import fcntl
import gc
import logging
import os
import weakref
from pathlib import Path
from typing import Any

from datasette.database import Database, Results, connections
from datasette.inspect import inspect_hash

from broadsheet_site import config, inline, search
from broadsheet_site.cache import LeastRecentlyUsed, build_identity

log = logging.getLogger("broadsheet.site")
UNCOUNTED = ("/-/downloads/", "/-/static/", "/static/")  # answers that hold no database connection
DRAIN_SECONDS = 5.0  # longest that new requests wait for those in flight before the switch
ASKING: contextvars.ContextVar[str | None] = contextvars.ContextVar("broadsheet_asking", default=None)
LONG_QUERIES = 4096  # queries remembered as longer than inline.INLINE_MS (forgotten all at once past this)


class Answers(LeastRecentlyUsed):
    """Results of queries on one immutable file, kept by their SQL and parameters: the same query gives the same
    rows for the life of the build. A table page counts its facets over the whole table again for every sort
    order and in its JSON; a faceted page counts a facet twice when the address asks for one the table already
    shows. Bounded: at most MAX_ENTRIES results, each of at most MAX_ROWS rows, least recently used forgotten.
    Errors and interrupted queries are not kept, nor pages of rows (101 for a table page, 1001 for each page of
    a streamed CSV: keeping those held 44 MB after one whole-table export at 100k records)."""

    MAX_ENTRIES = 256
    MAX_ROWS = 100  # facet counts (facet_size + 1), counts, the labels of a page's links, schema look-ups

    def __init__(self) -> None:
        super().__init__(self.MAX_ENTRIES, 1, lambda _results: 1)

    @staticmethod
    def key(sql: str, params: Any, truncate: bool, page_size: int | None, limits: tuple) -> tuple | None:
        """The query's key, or None when its parameters are not plain values."""
        if isinstance(params, dict):
            names, values = tuple(params), tuple(params.values())
        elif isinstance(params, list | tuple):
            names, values = (), tuple(params)
        elif params is None:
            names, values = (), ()
        else:
            return None
        if not all(value is None or isinstance(value, str | int | float | bytes) for value in values):
            return None
        return (sql, names, values, truncate, page_size, limits)

    def get(self, key: tuple) -> Results | None:
        found = super().get(key)
        return None if found is None else Results(list(found.rows), found.truncated, found.description)

    def put(self, key: tuple, results: Results) -> None:
        if len(results.rows) <= self.MAX_ROWS:
            super().put(key, Results(list(results.rows), results.truncated, results.description))


class BuildDatabase(Database):
    """An immutable database file of one build. Its connections are its own: Datasette keys a thread's
    connection by the database's name, which every build shares. A query asked again is answered from
    `Answers`, without a trip to a SQL thread."""

    def __init__(self, ds, path: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ds, path=path, is_mutable=False)
        self._connection_key = f"broadsheet-build:{path}"
        self.answers = Answers()
        self._inline: inline.Bounded | None = None
        self.long: set[object] = set()  # what ran past the inline bound once: sent to a SQL thread at once

    async def execute(self, sql, params=None, truncate=False, custom_time_limit=None, page_size=None,  # type: ignore[no-untyped-def]
                      log_sql_errors=True):
        key = Answers.key(sql, params, truncate, page_size, (self.ds.max_returned_rows, self.ds.page_size))
        found = self.answers.get(key) if key is not None else None
        if found is not None:
            return found
        asking = ASKING.set(sql)
        try:
            results = await super().execute(sql, params=params, truncate=truncate,
                                            custom_time_limit=custom_time_limit, page_size=page_size,
                                            log_sql_errors=log_sql_errors)
        finally:
            ASKING.reset(asking)
        if key is not None:
            self.answers.put(key, results)
        return results

    async def execute_fn(self, fn):  # type: ignore[no-untyped-def]
        if self.ds.executor is None:
            return await super().execute_fn(fn)
        # What is remembered as long: the SQL asked through `execute`, else the function's code (one per place
        # that calls execute_fn: the search, Datasette's schema look-ups)
        asked = ASKING.get() or getattr(fn, "__code__", None)
        if asked not in self.long:
            try:  # most queries take well under a millisecond: on the loop's own thread, unless they run long
                return inline.run_inline(self._inline_connection(), fn)
            except inline.Overran:
                if asked is not None:
                    if len(self.long) >= LONG_QUERIES:
                        self.long.clear()
                    self.long.add(asked)
        key = self._connection_key

        def in_thread():  # type: ignore[no-untyped-def]
            conn = getattr(connections, key, None)
            if not conn:
                conn = self.connect()
                self.ds._prepare_connection(conn, self.name)
                setattr(connections, key, conn)
            return fn(conn)

        return await asyncio.get_running_loop().run_in_executor(self.ds.executor, in_thread)

    def _inline_connection(self) -> inline.Bounded:
        if self._inline is None:
            self._inline = inline.connect(self.path)
            self.ds._prepare_connection(self._inline, self.name)
            self._all_file_connections.append(self._inline)  # closed with the others when the build retires
        return self._inline


async def know_hash(database: Database) -> None:
    """The immutable file's hash (its SHA-256, which Datasette shows on the home page and sends as the download's
    ETag), worked out in a thread now rather than by the first visitor of the home page: Datasette reads the whole
    file for it on the event loop, which held up every request of the process for 0.2 s at 100k records (a 305 MB
    file). hashlib lets go of the GIL while it reads, so the thread holds up nobody."""
    if database.path and not database.is_mutable and database.cached_hash is None:
        path = Path(database.path)
        database.cached_hash = await asyncio.get_running_loop().run_in_executor(None, inspect_hash, path)


def settle() -> None:
    """Once a build's search indexes are made: everything alive now lives as long as the build, so the cyclic
    garbage collector stops walking it (gc.freeze). Unfrozen, each full collection walked the indexes' objects
    and held the process up for ~230 ms at 100k records (measured: two in 500 requests)."""
    gc.collect()
    gc.freeze()


def hold(link: Path) -> tuple[str, int] | None:
    """The database file `link` names now, with its build folder held (a shared flock, which `broadsheet build`
    respects: it does not delete a held build). None when there is no such file."""
    for _ in range(10):  # a build may commit, and clean up, between reading the link and taking the lock
        real = os.path.realpath(link)
        try:
            descriptor = os.open(os.path.dirname(real), os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        if os.path.isfile(real):
            return real, descriptor
        os.close(descriptor)
    return None


def release(descriptor: int | None) -> None:
    if descriptor is not None:
        os.close(descriptor)  # closing the folder releases its lock


class Pin:
    """The build one Datasette answers from, and the switch to the next."""

    def __init__(self, datasette, name: str, link: Path, real: str, held: int) -> None:  # type: ignore[no-untyped-def]
        self.datasette, self.name, self.link = datasette, name, link
        self.real = real
        self.identity = build_identity(real)  # the build's part of every response cache key (cache.request_key)
        self.holds: dict[str, int] = {real: held}  # build → its held folder, until no request uses it
        self.in_flight: dict[str, int] = {}  # build → requests being answered from it
        self.retired: dict[str, Database] = {}  # builds moved on from, still answering their last requests
        self.preparing: asyncio.Task | None = None
        self.ready: BuildDatabase | None = None
        self.open = asyncio.Event()
        self.open.set()

    def install(self, database: BuildDatabase) -> None:
        old = self.datasette.databases.get(self.name)
        database.name, database.route = self.name, getattr(old, "route", None) or self.name
        self.datasette.databases = {**self.datasette.databases, self.name: database}  # one assignment: atomic

    def check(self) -> None:
        """Start preparing the build the link names now, if that is not the one answering."""
        if self.preparing is None and self.ready is None and os.path.realpath(self.link) != self.real:
            self.preparing = asyncio.ensure_future(self._prepare())

    async def _prepare(self) -> None:
        try:
            held = hold(self.link)
            if held is None or held[0] in self.holds:  # gone again, or a build this process already holds
                release(held[1] if held else None)  # this second descriptor only: the first keeps its lock
                return
            target, descriptor = held
            self.holds[target] = descriptor
            try:
                database = BuildDatabase(self.datasette, target)
                database.name = self.name
                await database.execute("select count(*) from sqlite_master")  # it opens, and is a database
                # the search indexes are built now, while the old build still answers
                await search.prepare(database, config.config(self.datasette), set(await database.table_names()))
                await know_hash(database)
                settle()
            except Exception:  # a build that cannot be opened is not switched to; the current one goes on
                log.exception("could not open the new build %s; still serving %s", target, self.real)
                release(self.holds.pop(target))
                return
            self.ready = database
            self.open.clear()  # hold new requests until those in flight are done, for DRAIN_SECONDS at most
            asyncio.get_running_loop().call_later(DRAIN_SECONDS, self.switch, True)
            self.switch()
        finally:
            self.preparing = None

    def enter(self) -> str:
        self.in_flight[self.real] = self.in_flight.get(self.real, 0) + 1
        return self.real

    def leave(self, build: str) -> None:
        self.in_flight[build] -= 1
        if self.in_flight[build] == 0:
            del self.in_flight[build]
            if build != self.real:
                self._retire(build)
        self.switch()

    def switch(self, force: bool = False) -> None:
        """Answer from the prepared build from now on: once the requests in flight are done, or, with `force`
        (a request longer than DRAIN_SECONDS, such as a streamed CSV of a large table), at once."""
        if self.ready is None or (self.in_flight.get(self.real) and not force):
            return
        old, new = self.datasette.databases.get(self.name), self.ready
        self.install(new)
        previous, self.real, self.ready = self.real, str(new.path), None
        self.identity = build_identity(self.real)
        if isinstance(old, Database):
            self.retired[previous] = old
        search.forget(previous)
        self.open.set()
        if previous not in self.in_flight:
            self._retire(previous)
        log.info("now serving the build at %s", Path(self.real).parent.name)

    def _retire(self, build: str) -> None:
        """No request uses `build` any more: close it and let the next `broadsheet build` delete its folder."""
        database = self.retired.pop(build, None)
        if database is not None:
            database.close()
        if build in self.holds:
            release(self.holds.pop(build))


_pins: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Datasette → its Pin (None: nothing to pin)


def pin(datasette) -> Pin | None:  # type: ignore[no-untyped-def]
    """The process's pin, made on first use: None when the site's database is not a link to a build (a plain
    file, as in tests), which is then served as it is."""
    if datasette in _pins:
        return _pins[datasette]
    name = config.config(datasette).get("database")
    database = datasette.databases.get(name) if name else None
    found = None
    held = hold(Path(database.path)) if database is not None and database.path and Path(database.path).is_symlink() \
        else None
    if held is not None:
        link = Path(database.path)
        found = Pin(datasette, name, link, *held)
        config.LINKS[name] = link  # the generated files beside the link (the resource structure) stay found
        found.install(BuildDatabase(datasette, found.real))
    _pins[datasette] = found
    return found


def unpinned_path(datasette) -> str | None:  # type: ignore[no-untyped-def]
    name = config.config(datasette).get("database")
    database = datasette.databases.get(name) if name else None
    return database.path if database is not None else None


def pinned(datasette, app):  # type: ignore[no-untyped-def]
    """An ASGI app that answers each request from the pinned build and switches builds between requests."""

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        current = pin(datasette)
        if current is None:  # a plain file, served as it is: identified as it is now (one stat)
            await app({**scope, "broadsheet.build": build_identity(unpinned_path(datasette))}, receive, send)
            return
        current.check()
        while not current.open.is_set():
            await current.open.wait()
        counted = not (scope.get("path") or "").startswith(UNCOUNTED)
        scope = {**scope, "broadsheet.build": current.identity}
        build = current.enter() if counted else None
        try:
            await app(scope, receive, send)
        finally:
            if build is not None:
                current.leave(build)

    return wrapped
