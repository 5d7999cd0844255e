"""The site's own weak points (issue 15, item 5), against a real `datasette serve` process on 127.0.0.1 started
exactly as `broadsheet serve` starts it: bad parameters and methods answer 4xx with one log line (the access
line) and no traceback; introspection endpoints are off; downloads stream in bounded memory with the content
type a spreadsheet or a browser expects; the table page's CSV link gives every row, as CSV."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from broadsheet import serve
from test_site import DB, START_SECONDS, free_port, make_site


class LoggedServer:
    """`broadsheet serve`'s Datasette command with its log written to a file the test reads."""

    def __init__(self, site: serve.Site, log: Path, settings: dict[str, int | bool] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_handle = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(serve.command(site, port=self.port, settings=settings),
                                        stdout=self._log_handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_SECONDS  # a bound, not a target (see test_site.Server)
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/", timeout=START_SECONDS / 4):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(log.read_text(encoding="utf-8", errors="replace")) from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"datasette did not start within {START_SECONDS} s")

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8", errors="replace").splitlines()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log_handle.close()

    def peak_memory_kb(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8")
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> serve.Site:
    return make_site(tmp_path_factory.mktemp("faults") / "museums")


@pytest.fixture(scope="module")
def server(site: serve.Site, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    # One row per page, so the CSV link must stream every page to give the whole table.
    running = LoggedServer(site, tmp_path_factory.mktemp("log") / "server.log",
                           {"max_returned_rows": 1, "default_page_size": 1})
    yield running
    running.stop()


def send(server: LoggedServer, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.url + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


THROUGH = '{"table":"museum_names","column":"language","value":"fr"}'
REFUSED = [
    # (method, path, status)
    ("GET", f"/{DB}/museums?_sort=no_such_column", 400),
    ("GET", f"/{DB}/museums?_sort_desc=no_such_column", 400),
    ("GET", f"/{DB}/museums.json?_sort=no_such_column", 400),
    ("GET", f"/{DB}/museums?_sort=name_en&_sort_desc=kind", 400),
    ("GET", f"/{DB}/museums?_through=bad", 400),
    ("GET", f"/{DB}/museums?_through=%7B%22table%22%3A%22x%22%7D", 400),  # {"table":"x"}
    ("GET", f"/{DB}/museums?_through=%5B1%5D", 400),  # [1]
    ("GET", f"/{DB}/museums.json?_through=%7B%7D", 400),  # {}
    ("TRACE", "/", 405),
    ("POST", f"/{DB}/museums", 405),
    ("PUT", f"/{DB}", 405),
    ("DELETE", "/", 405),
    ("PATCH", "/-/search", 405),
    ("OPTIONS", "/", 405),
    *[("GET", f"/-/{name}", 404) for name in ("versions", "plugins", "settings", "config", "databases", "metadata",
                                             "threads", "actor", "permissions", "messages", "allow-debug",
                                             "patterns", "auth-token", "actions", "create-token", "logout")],
    *[("GET", f"/-/{name}.json", 404) for name in ("versions", "plugins", "settings", "config", "databases",
                                                  "metadata", "threads", "actor")],
    ("GET", f"/{DB}/no_such_table", 404),
]


@pytest.mark.parametrize(("method", "path", "status"), REFUSED)
def test_bad_requests_answer_4xx_with_one_log_line(server: LoggedServer, site: serve.Site, method: str, path: str,
                                                   status: int) -> None:
    before = len(server.lines())
    answered, headers, body = send(server, method, path)
    assert answered == status
    if status == 405:
        assert headers.get("allow") == "GET, HEAD"
    for _ in range(50):  # the access line is written just after the answer
        if len(server.lines()) > before:
            break
        time.sleep(0.02)
    time.sleep(0.1)
    new = server.lines()[before:]
    assert len(new) == 1 and f" {answered} " in new[0], new
    text = body.decode("utf-8", "replace")
    assert "Traceback" not in text and str(site.database.parent.parent) not in text


ANSWERED = [
    # (method, path, status): what the rules above must not take away
    ("GET", "/", 200),
    ("HEAD", "/", 200),
    ("GET", f"/{DB}/museums?_sort=name_en", 200),
    ("GET", f"/{DB}/museums?_sort_desc=founded", 200),
    ("GET", f"/{DB}/museums?_through=" + urllib.request.quote(THROUGH), 200),
    ("GET", "/-/search?q=louvre", 200),
    ("GET", "/-/changes.atom", 200),
    ("GET", "/-/static/app.css", 200),
    ("GET", "/static/site.css", 200),
    ("GET", f"/-/downloads/{DB}.zip", 200),
    ("HEAD", f"/-/downloads/{DB}.db", 200),
]


@pytest.mark.parametrize(("method", "path", "status"), ANSWERED)
def test_good_requests_still_answer(server: LoggedServer, method: str, path: str, status: int) -> None:
    assert send(server, method, path)[0] == status


DOWNLOADS = [
    # (path under /-/downloads/, content type, file under out/ it must equal)
    (f"{DB}.db", "application/vnd.sqlite3", f"{DB}.db"),
    (f"{DB}.zip", "application/zip", f"downloads/{DB}.zip"),
    ("csv/museums.csv", "text/csv; charset=utf-8", "downloads/csv/museums.csv"),
    ("json/museums.json", "application/json; charset=utf-8", "downloads/json/museums.json"),
    ("datapackage.json", "application/json; charset=utf-8", "downloads/datapackage.json"),
]


@pytest.mark.parametrize(("name", "content_type", "file"), DOWNLOADS)
def test_downloads_are_whole_and_typed(server: LoggedServer, site: serve.Site, name: str, content_type: str,
                                       file: str) -> None:
    status, headers, body = send(server, "GET", f"/-/downloads/{name}")
    expected = (site.database.parent / file).read_bytes()
    assert (status, headers["content-type"], int(headers["content-length"])) == (200, content_type, len(expected))
    assert body == expected
    assert headers["content-disposition"] == f'attachment; filename="{Path(name).name}"'


def test_the_table_csv_link_gives_every_row_as_csv(server: LoggedServer, site: serve.Site) -> None:
    for table in ("museums", "museum_names"):
        page = send(server, "GET", f"/{DB}/{table}")[2].decode("utf-8")
        link = re.search(r'<a href="([^"]+)">CSV</a>', page)
        assert link, table
        status, headers, body = send(server, "GET", link.group(1).replace("&amp;", "&"))
        assert status == 200 and headers["content-type"].startswith("text/csv"), (table, headers)
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        with sqlite3.connect(site.database) as conn:
            count = conn.execute(f"select count(*) from {table}").fetchone()[0]
        assert count > 1 and len(rows) == count + 1, table  # a header and every row, over pages of one row


def test_parallel_database_downloads_stay_in_bounded_memory(site: serve.Site, tmp_path: Path) -> None:
    """Four downloads at once of a 160 MB file (a stand-in zip, sparse on disk) must not each hold it in memory."""
    size = 160 * 1024 * 1024
    served = LoggedServer(site, tmp_path / "server.log")
    zip_path = site.database.parent / "downloads" / f"{DB}.zip"
    original = zip_path.read_bytes()
    try:
        with open(zip_path, "r+b") as handle:
            handle.truncate(size)
        before = served.peak_memory_kb()

        def download() -> int:
            with urllib.request.urlopen(served.url + f"/-/downloads/{DB}.zip", timeout=120) as response:
                total = 0
                while chunk := response.read(1 << 20):
                    total += len(chunk)
                return total

        with ThreadPoolExecutor(max_workers=4) as pool:
            sizes = list(pool.map(lambda _: download(), range(4)))
        grown_mb = (served.peak_memory_kb() - before) / 1024
    finally:
        served.stop()
        zip_path.write_bytes(original)
    assert sizes == [size] * 4
    assert grown_mb < 40, f"the server's peak memory grew by {grown_mb:.0f} MB"
