"""Issue 15's load test: a real `broadsheet serve` on 127.0.0.1 (its default number of processes) serving a
copy of the flagship whose database is padded to PADDING_MB, while 4 clients keep downloading the database (slowly, so
each download lasts seconds) and 6 clients keep sending expensive queries (see expensive_queries; each
address new, so the response cache cannot answer).
Meanwhile the home page must answer in < 1 s every time, and the resident memory of the server's process tree
(VmRSS from /proc) must grow by less than memory_bound_mb().

The bound: each process may fill its response cache (CACHE_MB here) and hold what answering an expensive query
needs; SLACK_MB covers that and SQLite's page caches. A server that held each download in memory needs at least
DOWNLOADS x PADDING_MB (256 MB) more, so the bound fails it.

The home page is measured as a visitor gets it: after one render per process, from the response cache. (Not
held here, issue 14's: with expensive HTML table pages instead of these queries, an uncached home page waited
behind them for over 10 s on a 2-core machine that other work kept at load 8-10.) Bounded: fixed numbers of
clients, LOAD_SECONDS of load, a timeout on every request."""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from broadsheet.build import build
from conftest import copy_of_flagship
from test_site import free_port

DOWNLOADS = 4
EXPENSIVE = 6
LOAD_SECONDS = 12.0
PADDING = "load_padding"
PADDING_ROWS = 500_000  # of 120 hex digits each: about 64 MB
PADDING_MB = 64
CACHE_MB = 8
SLACK_MB = 64
HOME_LIMIT_S = 1.0
READ_BYTES, READ_PAUSE_S = 64 * 1024, 0.01  # a download reads at most ~6 MB/s: it lasts longer than the test
START_LIMIT_S = 90.0
REQUEST_TIMEOUT_S = 30.0


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and of every process below it, in kB (VmRSS from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, grown = {pid}, True
    while grown:
        below = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= below
        grown = bool(below)
    total = 0
    for member in tree:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total


def processes() -> int:
    return len(os.sched_getaffinity(0))


def memory_bound_mb() -> int:
    return processes() * CACHE_MB + SLACK_MB


class Served:
    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "broadsheet", "serve", "--root", str(root),
                                         "--port", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_LIMIT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "broadsheet serve stopped"
            try:
                if self.get("/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"broadsheet serve did not answer within {START_LIMIT_S} s")

    def get(self, path: str, timeout: float = REQUEST_TIMEOUT_S) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("load") / "flagship"
    root.mkdir()
    layout = copy_of_flagship(root)
    prose = root / "site" / "metadata.yml"
    text = prose.read_text(encoding="utf-8")
    prose.write_text(text.replace("\nsite:\n", f"\nsite:\n  response_cache_mb: {CACHE_MB}\n", 1), encoding="utf-8")
    result = build(layout)
    assert result.built and result.database
    with sqlite3.connect(result.database) as conn:  # a large table: what a download streams, a query sorts
        conn.execute(f"create table {PADDING} (n integer primary key, word text)")
        conn.execute(f"with recursive c(n) as (select 1 union all select n + 1 from c where n < ?) "
                     f"insert into {PADDING} select n, hex(randomblob(60)) from c", [PADDING_ROWS])
    running = Served(root)
    yield running, result.database.name
    running.stop()


def expensive_queries(database: Path, metadata: Path) -> list[str]:
    """Six queries through the JSON API (the work is the database's, not rendering HTML): the largest table of
    the dataset (from the build's table of tables) faceted by three of its columns and sorted by its last; the two
    searches test_site_safety found costliest (a full-text query of many prefixes and NEAR on the search table,
    the site search for a wildcard-like text); and three over the half-million-row padding table: two substring
    filters that scan every row, a facet over half a million distinct values (a sort of it by an unindexed
    column the site refuses with a 400). Each is bounded by the site's SQL time limits."""
    db = database.stem
    search = json.loads(metadata.read_text(encoding="utf-8"))["plugins"]["broadsheet"]["internal_tables"]["search"]
    with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True) as conn:
        names = [row[0] for row in conn.execute("select table_name from _tables order by row_count desc limit 1")]
        queries = []
        for name in names:
            columns = [row[1] for row in conn.execute(f'pragma table_info("{name}")')]
            facets = "&".join(f"_facet={column}" for column in columns[1:4])
            queries.append(f"/{db}/{name}.json?{facets}&_sort_desc={columns[-1]}&_size=max")
    queries.append(f"/{db}/{search}.json?_search=" + quote("a* OR b* OR c* OR s* NEAR(a b c, 1000)"))
    queries.append("/-/search?q=" + quote("%_" * 100))
    padding = f"/{db}/{PADDING}.json"
    queries += [f"{padding}?word__contains=ABC&_size=max", f"{padding}?word__endswith=F0F&_size=max",
                f"{padding}?_facet=word&_size=1"]
    return queries


def test_home_answers_within_a_second_under_downloads_and_expensive_queries(served) -> None:  # type: ignore[no-untyped-def]
    server, db_file = served
    database = server.root / "out" / db_file
    queries = expensive_queries(database, server.root / "out" / "metadata.json")
    assert len(queries) == EXPENSIVE
    for page in queries:
        assert server.get(page)[0] in (200, 400), page
    for _ in range(20):  # one render of the home page per process, before the load (the response cache keeps it)
        assert server.get("/")[0] == 200
    before_kb = tree_rss_kb(server.process.pid)
    stop = threading.Event()
    done = {"queries": 0, "stopped": 0, "downloaded_mb": 0.0}
    failures: list[str] = []
    took: list[float] = []

    def expensive(page: str) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            started = time.perf_counter()
            status, _ = server.get(f"{page}&_load={n}")  # a new address each time: answered, never cached
            took.append(time.perf_counter() - started)
            if status not in (200, 400):  # 400: Datasette's answer to a query stopped at the SQL time limit
                failures.append(f"{status} {page}")
            done["queries"] += 1
            done["stopped"] += status == 400

    def download() -> None:
        while not stop.is_set():
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=REQUEST_TIMEOUT_S)
            try:
                connection.request("GET", f"/-/downloads/{db_file}")
                response = connection.getresponse()
                if response.status != 200:
                    failures.append(f"{response.status} download")
                    return
                while not stop.is_set() and (chunk := response.read(READ_BYTES)):
                    done["downloaded_mb"] += len(chunk) / 2**20
                    time.sleep(READ_PAUSE_S)
            finally:
                connection.close()

    clients = [threading.Thread(target=expensive, args=(page,)) for page in queries] + [
        threading.Thread(target=download) for _ in range(DOWNLOADS)]
    for client in clients:
        client.start()
    home, peak_kb = [], before_kb
    try:
        time.sleep(1.0)  # every client is under way
        end = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < end:
            started = time.perf_counter()
            status, body = server.get("/", timeout=HOME_LIMIT_S * 10)
            home.append(time.perf_counter() - started)
            assert status == 200 and b"</html>" in body
            peak_kb = max(peak_kb, tree_rss_kb(server.process.pid))
            time.sleep(0.25)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=REQUEST_TIMEOUT_S + 5)
    grown_mb = (peak_kb - before_kb) / 1024
    print(f"home: {len(home)} answers, max {max(home) * 1000:.0f} ms; expensive queries: {done['queries']}, median "
          f"{sorted(took)[len(took) // 2] * 1000:.0f} ms, max {max(took) * 1000:.0f} ms, {done['stopped']} stopped at "
          f"the time limit; "
          f"downloaded {done['downloaded_mb']:.0f} MB; memory {before_kb // 1024} MB before, +{grown_mb:.0f} MB "
          f"at peak (bound {memory_bound_mb()} MB)")
    assert failures == []
    assert done["queries"] >= EXPENSIVE and done["downloaded_mb"] >= DOWNLOADS  # the load really ran
    assert max(home) < HOME_LIMIT_S, [round(t, 3) for t in home]
    assert grown_mb < memory_bound_mb()
