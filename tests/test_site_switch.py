"""`broadsheet build` under a running site (issue 15, item 4): the site moves to a new build only as a whole.

A real `datasette serve` process, started as `broadsheet serve` starts it, answers a stream of page, JSON and
download requests from several threads while records are added and the package is rebuilt twice. Every answer
must be 200, and from one build: once any answer from a newer build has been received, no request sent after it
may be answered from an older one, whether it asks for a page or a download. The switch happens without a
restart. A record edited while a build runs must leave the built output marked stale."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from broadsheet import serve
from broadsheet.build import build
from broadsheet.layout import Layout
from broadsheet.package import load_package
from test_site import DB, Server, make_site

NEW_MUSEUM = """\
id: museum-{n}
name_en: Museum number {n}
city_id: almaty
kind: art
citations:
  - field: city_id
    source_id: guide-2024
    locator: page {n}
"""


def museums_in(kind: str, body: bytes) -> int:
    """How many museums an answer shows: the build it came from (the fixture has 2; each rebuild adds one)."""
    if kind == "json":
        return len(json.loads(body))
    if kind == "csv":
        return len(list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))) - 1
    # the table page links every museum's record page
    return len(set(re.findall(f'href="/{DB}/museums/([^"?#/]+)"', body.decode("utf-8"))))


REQUESTS = [
    ("json", f"/{DB}/museums.json?_shape=array"),
    ("csv", "/-/downloads/csv/museums.csv"),
    ("page", f"/{DB}/museums"),
]


def test_a_rebuild_under_a_running_site_switches_it_whole(tmp_path: Path) -> None:
    site = make_site(tmp_path / "museums")
    layout = Layout(tmp_path / "museums")
    server = Server(site)
    answers: list[tuple[float, float, str, int, int]] = []  # (sent, received, kind, status, museums)
    stop = threading.Event()

    def client(offset: int) -> None:
        n = offset
        while not stop.is_set():
            kind, path = REQUESTS[n % len(REQUESTS)]
            n += 1
            sent = time.monotonic()
            try:
                with urllib.request.urlopen(server.url + path, timeout=30) as response:
                    status, body = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, body = error.code, b""
            received = time.monotonic()
            answers.append((sent, received, kind, status, museums_in(kind, body) if status == 200 else -1))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        for n in (3, 4):
            (layout.records_dir("museums") / f"museum-{n}.yaml").write_text(NEW_MUSEUM.format(n=n), encoding="utf-8")
            result = build(layout)
            assert result.built, [p.message for p in result.report.problems]
            time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert server.process.poll() is None  # no restart: the same process answered throughout
    finally:
        stop.set()
        server.stop()
    assert [a for a in answers if a[3] != 200] == []
    seen = {a[4] for a in answers}
    assert seen == {2, 3, 4}, seen  # every build was served, the last one without a restart
    newest_received: list[tuple[float, int]] = sorted((a[1], a[4]) for a in answers)
    for sent, _, kind, _, count in answers:
        older_than_seen = [c for received, c in newest_received if received < sent and c > count]
        assert not older_than_seen, f"a {kind} answer from build {count} after one from build {older_than_seen[0]}"


def test_a_record_edited_during_a_build_leaves_the_output_stale(tmp_path: Path) -> None:
    site = make_site(tmp_path / "museums")
    root = site.database.parent.parent
    layout = Layout(root)
    marker = tmp_path / "paused"
    env = {**os.environ, "BROADSHEET_TEST_PAUSE": "tables", "BROADSHEET_TEST_PAUSE_FILE": str(marker),
           "BROADSHEET_TEST_PAUSE_SECONDS": "3"}
    (layout.records_dir("museums") / "museum-3.yaml").write_text(NEW_MUSEUM.format(n=3), encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "broadsheet", "build", "--root", str(root)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for _ in range(600):
        if marker.exists():
            break
        time.sleep(0.05)
    assert marker.exists(), process.communicate(timeout=60)
    # validated and read: now the curator saves another edit, while the build goes on with what it read
    (layout.records_dir("museums") / "museum-3.yaml").write_text(NEW_MUSEUM.format(n=33), encoding="utf-8")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert serve.is_stale(layout, load_package(layout))  # so `broadsheet serve` rebuilds instead of serving it


@pytest.mark.parametrize("edit", ["before", "none"])
def test_the_input_hash_still_says_current_when_nothing_changed_during_the_build(tmp_path: Path, edit: str) -> None:
    site = make_site(tmp_path / "museums")
    layout = Layout(site.database.parent.parent)
    if edit == "before":
        (layout.records_dir("museums") / "museum-3.yaml").write_text(NEW_MUSEUM.format(n=3), encoding="utf-8")
        assert serve.is_stale(layout, load_package(layout))
        assert build(layout).built
    assert not serve.is_stale(layout, load_package(layout))
