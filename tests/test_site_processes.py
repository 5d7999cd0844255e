"""`broadsheet serve --processes N` (issue 14, item 5): N real Datasette processes behind one address, as uvicorn
workers sharing one listening socket; each answers the whole site (plugin, templates, downloads)."""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from broadsheet import serve
from test_site import DB, free_port, make_site

PAGES = [
    # (path, text the answer holds)
    ("/", "What is in it"),
    (f"/{DB}/museums", "Central State Museum"),
    (f"/{DB}/museums/louvre", "Le Louvre"),
    ("/-/search?q=Tsentralny", f'href="/{DB}/museums/central-state"'),
    (f"/-/downloads/{DB}.zip", "PK"),
]


def children(pid: int) -> list[int]:
    """The worker processes of a server: children started by multiprocessing's spawn (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text(encoding="utf-8")
            except OSError:
                continue
            command = (entry / "cmdline").read_bytes() if (entry / "cmdline").exists() else b""
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"spawn_main" in command:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("processes", [2, 3])
def test_n_processes_serve_the_site_behind_one_address(tmp_path: Path, processes: int) -> None:
    site = make_site(tmp_path / "museums")
    port = free_port()
    server = subprocess.Popen(serve.command(site, port=port, processes=processes),
                              env={**os.environ, **serve.environment(site)}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # every worker imports Datasette: up to 60 s on a busy machine
            try:
                with urllib.request.urlopen(url + "/", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                time.sleep(0.1)
        workers = children(server.pid)
        assert len(workers) == processes, workers
        for _ in range(3):
            for path, text in PAGES:
                with urllib.request.urlopen(url + path, timeout=30) as response:
                    assert response.status == 200, path
                    assert text.encode("utf-8") in response.read(), path
        assert sorted(children(server.pid)) == sorted(workers)  # none died or was replaced
        # A keep-alive connection is answered promptly after its first request: with Nagle's algorithm on, each
        # later answer waited ~40 ms for the client's delayed acknowledgement (serve.prompt_protocol).
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        took = []
        for _ in range(15):
            started = time.perf_counter()
            connection.request("GET", f"/{DB}/museums")
            response = connection.getresponse()
            assert response.status == 200 and response.read()
            took.append(time.perf_counter() - started)
        connection.close()
        assert statistics.median(took[1:]) < 0.025, took
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
