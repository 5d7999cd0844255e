"""`broadsheet serve --processes N` (issue 14, item 5): N real Datasette processes behind one address, as uvicorn
workers sharing one listening socket; each answers the whole site (plugin, templates, downloads)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from broadsheet import serve
from test_site import DB, free_port, make_site, stop_server, wait_for_site

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
        wait_for_site(server, url)
        workers = children(server.pid)
        assert len(workers) == processes, workers
        for _ in range(3):
            for path, text in PAGES:
                with urllib.request.urlopen(url + path, timeout=30) as response:
                    assert response.status == 200, path
                    assert text.encode("utf-8") in response.read(), path
        assert sorted(children(server.pid)) == sorted(workers)  # none died or was replaced
    finally:
        stop_server(server)


def nagle_off_on_accepted_connections(protocol_class: type) -> bool:
    """Whether a connection accepted on a listening socket bound the way uvicorn's parent binds it (no protocol
    named: asyncio then leaves TCP_NODELAY alone) has Nagle's algorithm off, with `protocol_class` speaking HTTP."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]  # never called: no request is sent
        raise AssertionError(scope)

    config = Config(app=app)
    config.load()

    async def accept_one() -> bool:
        made: list = []
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def factory():  # type: ignore[no-untyped-def]
            made.append(protocol_class(config=config, server_state=ServerState(), app_state={}))
            return made[-1]

        server = await asyncio.get_running_loop().create_server(factory, sock=listener)
        _reader, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(100):  # bounded: the server side of the connection is made within a few loop turns
            if made and getattr(made[0], "transport", None) is not None:
                break
            await asyncio.sleep(0.01)
        accepted = made[0].transport.get_extra_info("socket")
        nodelay = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        writer.close()
        server.close()
        await server.wait_closed()
        return nodelay

    return asyncio.run(accept_one())


@pytest.mark.parametrize("protocol, nagle_off", [
    # uvicorn's own h11 protocol on such a socket: each answer after the first on a keep-alive connection waited
    # ~40 ms for the client's delayed acknowledgement (measured: a cached page 44 ms, 0.5 ms with Nagle off)
    ("uvicorn.protocols.http.h11_impl:H11Protocol", False),
    ("uvicorn.protocols.http.httptools_impl:HttpToolsProtocol", False),  # and its C one
    (f"broadsheet.serve:{serve.PROMPT_PROTOCOL}", True),  # the one serve --processes gives its workers
])
def test_the_workers_answer_without_waiting_for_delayed_acknowledgements(protocol: str, nagle_off: bool) -> None:
    module, name = protocol.split(":")
    assert nagle_off_on_accepted_connections(getattr(__import__(module, fromlist=[name]), name)) is nagle_off


def test_the_workers_parse_http_in_c_with_httptools_installed() -> None:
    """A dependency of Broadsheet: under the load test the server's processes used ~4.1 s of CPU per 1,000
    requests with it and uvloop, ~5.3 s with h11 and asyncio's loop (3 alternating rounds, benchmarks/NOTES.md)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    assert issubclass(serve.prompt_protocol(), HttpToolsProtocol)


def test_serve_processes_gives_its_workers_that_protocol(tmp_path: Path) -> None:
    arguments = serve.command(make_site(tmp_path / "site"), processes=2)
    assert arguments[arguments.index("--http") + 1] == f"broadsheet.serve:{serve.PROMPT_PROTOCOL}"
