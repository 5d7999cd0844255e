"""The response cache shared by a server's worker processes (cache.SharedCache, issue 14): real Datasette
instances and real `broadsheet serve --processes 2` workers, real SQLite files, no mocks.

A page one instance rendered is answered by another byte for byte; once a new build is swapped in, no instance
answers with a page of the old one; the file stays within its byte bound, a damaged or unusable file means
rendering (never an error page), private and failed answers are never kept, and a writer killed in the middle
of a write leaves nothing half-written that is ever sent."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from broadsheet import serve
from broadsheet.build import build
from broadsheet.layout import Layout
from broadsheet_site import builds
from broadsheet_site.cache import SharedCache, Stored, build_identity, request_key
from test_site import DB, free_port, make_site, stop_server, wait_for_site
from test_site_switch import NEW_MUSEUM, museums_in

PAGES = [
    # (what, path)
    ("table page", f"/{DB}/museums"),
    ("faceted table", f"/{DB}/museums?_facet=kind&_facet=city_id"),
    ("row page", f"/{DB}/museums/louvre"),
    ("JSON", f"/{DB}/museums.json?_size=1"),
    ("CSV export", f"/{DB}/museums.csv"),
    ("search", "/-/search?q=Tsentralny"),
    ("home", "/"),
    ("feed", "/-/changes.atom"),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> serve.Site:
    return make_site(tmp_path_factory.mktemp("shared") / "museums")


def answer(ds, path: str, headers: dict | None = None):  # type: ignore[no-untyped-def]
    return asyncio.run(ds.client.get(path, headers=headers or {}))


def whole(response) -> tuple[int, list[tuple[str, str]], bytes]:  # type: ignore[no-untyped-def]
    """Everything a visitor receives, but the cache's own header."""
    return (response.status_code, [(k, v) for k, v in response.headers.multi_items() if k != "x-cache"],
            response.content)


def entries(file: Path) -> int:
    if not file.exists():
        return 0
    with sqlite3.connect(file) as connection:
        return connection.execute("select count(*) from entries").fetchone()[0]


# ---------------------------------------------------------------- (a) one render, answered by every instance


@pytest.mark.parametrize(("what", "path"), PAGES)
def test_a_page_from_the_shared_cache_is_the_page_another_instance_rendered(site: serve.Site, tmp_path: Path,
                                                                             what: str, path: str) -> None:
    file = tmp_path / "responses.sqlite"
    rendered = answer(serve.app(site, shared_cache=file), path)
    assert (rendered.status_code, rendered.headers["x-cache"]) == (200, "miss"), what
    other = answer(serve.app(site, shared_cache=file), path)  # its own cache is empty: the hit is the shared one
    assert other.headers["x-cache"] == "hit", what
    assert whole(other) == whole(rendered), what
    alone = answer(serve.app(site), path)  # without the shared file, the other instance renders it itself
    assert alone.headers["x-cache"] == "miss", what


def test_workers_of_one_server_share_one_cache_that_goes_with_the_server(site: serve.Site, tmp_path: Path) -> None:
    """`broadsheet serve --processes 2` as the CLI runs it: what its workers render is in the file its supervisor
    made for the run (TMPDIR points the temporary folder here), an in-process instance opened on that file answers
    with the workers' bytes, and the folder is deleted when the server stops."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = free_port()
    server = subprocess.Popen(serve.command(site, port=port, processes=2),
                              env={**os.environ, **serve.environment(site), "TMPDIR": str(temporary)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    received = {}
    try:
        wait_for_site(server, url)
        for what, path in PAGES:
            request = urllib.request.Request(url + path, headers={"Host": "localhost"})  # as ds.client asks
            with urllib.request.urlopen(request, timeout=30) as response:
                received[what] = (response.status, response.headers.get("x-cache"), response.read())
        [folder] = list(temporary.glob("broadsheet-site-*"))
        file = folder / serve.SHARED_CACHE_FILE
        for _ in range(100):  # a worker writes a page to the file just after sending it
            if entries(file) >= len(PAGES):
                break
            time.sleep(0.1)
        assert entries(file) in (len(PAGES), len(PAGES) + 1)  # and the start-up probe of / (another host)
        instance = serve.app(site, shared_cache=file)
        for what, path in PAGES:
            found = answer(instance, path)
            assert (found.status_code, found.headers["x-cache"], found.content) == (200, "hit", received[what][2]), \
                what
    finally:
        stop_server(server)
    assert list(temporary.glob("broadsheet-site-*")) == []


# ---------------------------------------------------------------- (b) never a page of the old build


async def until_new_build(ds, path: str, kind: str, museums: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Ask `ds` for `path` until it answers from the build with `museums` museums (its pin moves to a new build in
    the background, between requests), then once more; every count it answered with, in order."""
    seen = []
    for _ in range(200):
        response = await ds.client.get(path)
        assert response.status_code == 200
        seen.append(museums_in(kind, response.content))
        if seen[-1] == museums:
            break
        await asyncio.sleep(0.05)
    again = await ds.client.get(path)
    seen.append(museums_in(kind, again.content))
    return seen


@pytest.mark.parametrize("asker", ["an instance started after the build", "the instance that rendered the page",
                                   "another instance that was running"])
@pytest.mark.parametrize(("kind", "path"), [("page", f"/{DB}/museums"), ("json", f"/{DB}/museums.json?_shape=array")])
def test_once_a_new_build_is_swapped_in_no_instance_answers_from_the_old_one(tmp_path: Path, asker: str,
                                                                              kind: str, path: str) -> None:
    site = make_site(tmp_path / "museums")
    layout = Layout(tmp_path / "museums")
    file = tmp_path / "responses.sqlite"
    renderer, running = serve.app(site, shared_cache=file), serve.app(site, shared_cache=file)
    assert museums_in(kind, answer(renderer, path).content) == 2
    assert answer(running, path).headers["x-cache"] == "hit"  # the old build's page is in the shared file
    (layout.records_dir("museums") / "museum-3.yaml").write_text(NEW_MUSEUM.format(n=3), encoding="utf-8")
    assert build(layout).built
    ds = {"an instance started after the build": serve.app(site, shared_cache=file),
          "the instance that rendered the page": renderer, "another instance that was running": running}[asker]
    seen = asyncio.run(until_new_build(ds, path, kind, 3))
    assert seen[-2:] == [3, 3], seen  # once it answers from the new build, it stays there
    pin = builds.pin(ds)
    assert pin is not None and pin.real == os.path.realpath(site.database)
    if asker == "an instance started after the build":
        assert seen == [3, 3]  # it never saw the old build, so never its pages


@pytest.mark.parametrize("change", ["unchanged", "replaced by a copy (new inode)", "rewritten (new size)",
                                    "touched (new modification time)"])
def test_the_key_names_the_build_file_as_it_is(tmp_path: Path, change: str) -> None:
    database = tmp_path / "site.db"
    with sqlite3.connect(database) as connection:
        connection.execute("create table t (x)")
    connection.close()
    scope = {"type": "http", "path": "/site/t", "query_string": b"", "headers": [(b"host", b"example.org")]}
    before = request_key({**scope, "broadsheet.build": build_identity(database)})
    if change == "replaced by a copy (new inode)":
        shutil.copy2(database, tmp_path / "copy.db")
        os.replace(tmp_path / "copy.db", database)
    elif change == "rewritten (new size)":
        with sqlite3.connect(database) as connection:
            connection.executemany("insert into t values (?)", [(n,) for n in range(1000)])
        connection.close()
    elif change == "touched (new modification time)":
        info = os.stat(database)
        os.utime(database, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))
    after = request_key({**scope, "broadsheet.build": build_identity(database)})
    assert (after == before) is (change == "unchanged")
    assert build_identity(tmp_path / "missing.db") is None


# ---------------------------------------------------------------- (c) bounded, robust, private answers never kept


def test_the_shared_file_keeps_within_its_bound_and_evicts_the_oldest(tmp_path: Path) -> None:
    file = tmp_path / "responses.sqlite"
    bound = 200_000
    cache = SharedCache(file, max_bytes=bound, max_entry=50_000)
    bodies = {n: bytes([n % 251]) * 9_000 for n in range(200)}
    for n, body in bodies.items():
        cache.put(("page", n), Stored(200, [(b"content-type", b"text/html")], body))
        assert cache.total() <= bound
    cache.put(("too big",), Stored(200, [], b"x" * 60_000))  # larger than an entry may be: not kept
    with sqlite3.connect(file) as connection:
        counted = connection.execute("select sum(size) from entries").fetchone()[0]
    assert counted == cache.total() > bound - 10_000  # the count is the entries' own, and the file is full
    other = SharedCache(file, max_bytes=bound, max_entry=50_000)  # what another process reads
    kept = [n for n in bodies if other.get(("page", n)) is not None]
    assert kept == list(range(200 - len(kept), 200))  # the newest, without a gap: the oldest went first
    assert other.get(("page", 199)).body == bodies[199]  # type: ignore[union-attr]
    assert other.get(("too big",)) is None
    on_disk = sum(path.stat().st_size for path in tmp_path.glob("responses.sqlite*"))
    assert on_disk < 2 * bound + (8 << 20)  # the file's hard bound (max_page_count) and the WAL's


def garbage(file: Path) -> None:
    file.write_bytes(b"not a database " * 1000)


def truncated(file: Path) -> None:
    prepared = SharedCache(file, 1 << 20, 1 << 20)
    for n in range(20):
        prepared.put((n,), Stored(200, [], b"y" * 5000))
    assert prepared.connection is not None
    prepared.connection.execute("pragma wal_checkpoint(truncate)")
    prepared.connection.close()
    with open(file, "r+b") as handle:
        handle.truncate(file.stat().st_size // 3)


def folder_in_its_place(file: Path) -> None:
    file.mkdir()


def folder_is_a_file(file: Path) -> None:
    file.parent.rename(file.parent.with_name("elsewhere"))
    file.parent.write_text("a file where the folder was", encoding="utf-8")


def another_programs_database(file: Path) -> None:
    with sqlite3.connect(file) as connection:
        connection.execute("create table entries (key blob primary key, what text)")
        connection.execute("create table total (bytes integer)")
    connection.close()


FAULTS = [garbage, truncated, folder_in_its_place, folder_is_a_file, another_programs_database]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__ for f in FAULTS])
@pytest.mark.parametrize(("what", "path"), PAGES[:4])
def test_an_unusable_shared_file_means_rendering_never_an_error_page(site: serve.Site, tmp_path: Path, fault,  # type: ignore[no-untyped-def]
                                                                      what: str, path: str) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    file = folder / "responses.sqlite"
    fault(file)
    ds = serve.app(site, shared_cache=file)
    first, second = answer(ds, path), answer(ds, path)
    assert (first.status_code, first.headers["x-cache"]) == (200, "miss"), what
    assert (second.status_code, second.headers["x-cache"]) == (200, "hit"), what  # its own cache still answers
    assert second.content == first.content


def test_a_file_damaged_while_the_site_runs_means_rendering(site: serve.Site, tmp_path: Path) -> None:
    file = tmp_path / "responses.sqlite"
    path = f"/{DB}/museums"
    assert answer(serve.app(site, shared_cache=file), path).headers["x-cache"] == "miss"
    running = serve.app(site, shared_cache=file)
    assert answer(running, f"/{DB}/cities").status_code == 200  # it has the file open
    with sqlite3.connect(file) as connection:  # one byte of the stored body changes on disk
        connection.execute("update entries set body = cast(replace(cast(body as text), 'Museums', 'Muzeums') "
                           "as blob)")
    connection.close()
    tampered = answer(running, path)
    assert (tampered.status_code, tampered.headers["x-cache"]) == (200, "miss")
    assert b"Muzeums" not in tampered.content
    garbage(file)
    for name in [p for p in file.parent.glob("responses.sqlite-*")]:
        name.write_bytes(b"\xff" * 4096)
    later = answer(running, f"/{DB}/museums/louvre")
    assert later.status_code == 200 and b"Le Louvre" in later.content


@pytest.mark.parametrize(("path", "headers"), [
    (f"/{DB}/museums", {"cookie": "ds_actor=someone"}),
    (f"/{DB}/museums", {"authorization": "Bearer x"}),
    (f"/{DB}/no-such-table", {}),  # 404
    (f"/{DB}/museums?_sort=no_such_column", {}),  # 400
    ("/-/downloads/datapackage.json", {}),
    (f"/-/downloads/{DB}.zip", {}),
])
def test_private_requests_failures_and_downloads_are_never_stored(site: serve.Site, tmp_path: Path, path: str,
                                                                  headers: dict) -> None:
    file = tmp_path / "responses.sqlite"
    first = answer(serve.app(site, shared_cache=file), path, headers)
    second = answer(serve.app(site, shared_cache=file), path, headers)
    assert second.headers.get("x-cache") != "hit"
    assert first.status_code == second.status_code
    assert entries(file) == 0
    assert answer(serve.app(site, shared_cache=file), f"/{DB}/cities").status_code == 200
    assert entries(file) == 1  # the same file does keep a cacheable page


# ---------------------------------------------------------------- kill-safety

WRITER = """
import sys
from pathlib import Path
from broadsheet_site.cache import SharedCache, Stored
cache = SharedCache(Path(sys.argv[1]), 256 << 20, 8 << 20)
n = int(sys.argv[2])
sys.stdout.write("ready\\n")
sys.stdout.flush()
while True:
    n += 1
    cache.put(("page", n), Stored(200, [(b"n", str(n).encode())], str(n).encode() * (500_000 // len(str(n)))))
"""


def written(n: int) -> bytes:
    return str(n).encode() * (500_000 // len(str(n)))


def test_a_writer_killed_in_the_middle_of_a_write_leaves_no_half_entry_that_is_sent(tmp_path: Path) -> None:
    file = tmp_path / "responses.sqlite"
    rng = random.Random(14)
    start = 0
    for _ in range(8):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(file), str(start)], stdout=subprocess.PIPE)
        assert writer.stdout is not None and writer.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.05, 0.4))
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
        start += 10_000  # each writer writes its own pages
    reader = SharedCache(file, 256 << 20, 8 << 20)
    found = 0
    for round_start in range(0, start, 10_000):
        for n in range(round_start + 1, round_start + 2_000):
            stored = reader.get(("page", n))
            if stored is not None:
                found += 1
                assert (stored.status, stored.headers, stored.body) == (200, [(b"n", str(n).encode())], written(n))
    assert found > 8  # every writer wrote whole entries before it was killed
    with sqlite3.connect(file) as connection:
        sizes = connection.execute("select count(*), sum(length(body)) from entries").fetchone()
        assert sizes[0] == found  # no entry sits in the file that the reader did not find whole
        assert json.loads(connection.execute("select headers from entries limit 1").fetchone()[0])



# ---------------------------------------------------------------- what a killed server leaves behind

def test_a_new_server_deletes_the_cache_folders_killed_servers_left(tmp_path: Path) -> None:
    """A SIGKILLed supervisor cannot delete its folder; the next one deletes every such folder whose pid no longer
    runs — and nothing else: a running server's folder, a link, a file, a name without a pid, another prefix."""
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()  # a pid that ran and is gone
    dead, alive = finished.pid, os.getpid()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept.txt").write_text("not ours", encoding="utf-8")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    for name in (f"broadsheet-site-{dead}-abc", f"broadsheet-site-{alive}-def", "broadsheet-site-nopid-ghi",
                 f"other-{dead}-jkl"):
        (temporary / name).mkdir()
        (temporary / name / serve.SHARED_CACHE_FILE).write_bytes(b"pages")
    (temporary / f"broadsheet-site-{dead}-link").symlink_to(outside, target_is_directory=True)
    (temporary / f"broadsheet-site-{dead}-file").write_bytes(b"a file")
    assert serve.remove_abandoned_caches(temporary) == [f"broadsheet-site-{dead}-abc"]
    assert sorted(p.name for p in temporary.iterdir()) == sorted([
        f"broadsheet-site-{alive}-def", "broadsheet-site-nopid-ghi", f"other-{dead}-jkl",
        f"broadsheet-site-{dead}-link", f"broadsheet-site-{dead}-file"])
    assert (outside / "kept.txt").exists()
