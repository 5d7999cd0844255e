"""The site under load: a bounded load test on loopback against a built synthetic package.

    python benchmarks/load.py [--size 100000] [--requests 200] [--clients 8]

Serves benchmarks/generated/<size>/ with `broadsheet serve --no-build` (building it first when out/ is missing) on a
free port of 127.0.0.1, then sends a fixed number of requests of each kind from 8 concurrent clients (each with
its own keep-alive connection) and reports p50/p95/max per kind: table page, faceted table, search, row page,
JSON. Then it streams the whole largest table as CSV and samples the server's resident memory meanwhile.
Bounds: a fixed request count, a per-request timeout and an overall time limit; the server is stopped at the end.
When `broadsheet serve` is not available it falls back to `datasette serve -i` on the built database, and says so.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import package_for, tree_cpu_seconds, tree_rss_kb  # noqa: E402

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30.0
TIME_LIMIT = 300.0  # seconds for all requests together
START_LIMIT = 120.0
TABLE = "plants"  # the benchmark's own schema (benchmarks/package/schemas/plants.yaml)
# Search terms in the generator's vocabularies (benchmarks/generate.py), in Latin, Cyrillic, Kazakh and Chinese
# and with other spellings (Abay, Semei) that the site folds together.
WORDS = ["Abai", "Semey", "Курчатов", "Аягөз", "哈萨克斯坦", "Solar", "Copper", "Энергетический", "Abay", "Semei",
         "Cement", "Kurchatov Glass", "Ayagoz Steel", "能源", "矿业", "тоқыма", "Комбинат", "металлургический",
         "Wind", "Logistics", "Chemicals", "Абай", "қазақстандық", "纺织", "Textiles", "Mining", "Foods"]


@dataclass
class Kind:
    name: str
    target_ms: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    hits: int = 0  # answered from the site's response cache (`x-cache: hit`)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def get(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    status, body, _hit = fetch(connection, path)
    return status, body


def fetch(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes, bool]:
    """(status, body, whether the site answered from its response cache)."""
    connection.request("GET", path, headers={"Accept-Encoding": "identity"})
    response = connection.getresponse()
    return response.status, response.read(), response.getheader("x-cache") == "hit"


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            status, _ = get(connection, "/-/static/app.css")  # not the home page: `first_visit` times that
            connection.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server did not answer within {START_LIMIT:.0f} s")


def start_server(target: Path, port: int) -> tuple[subprocess.Popen, str, str]:
    """(server process, database name, how it is served)."""
    python = sys.executable
    databases = sorted((target / "out").glob("*.db"))
    serve = ROOT / "scripts" / "broadsheet" / "serve.py"
    if not databases and serve.exists():
        subprocess.run([python, "-m", "broadsheet", "build", "--root", str(target)], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, timeout=1800)
        databases = sorted((target / "out").glob("*.db"))
    if not databases:
        raise SystemExit("no built database: run `broadsheet build --root` on the package first")
    if serve.exists():
        command = [python, "-m", "broadsheet", "serve", "--root", str(target), "--port", str(port), "--no-build"]
        how = "`broadsheet serve --no-build` (the site: immutable database, its templates, plugins and limits)"
    else:
        command = [python, "-m", "datasette", "serve", "-i", str(databases[0]), "-h", HOST, "-p", str(port)]
        how = "plain `datasette serve -i` (the site was not available)"
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, databases[0].stem, how


class Zipf:
    """Draws items by popularity: the item of rank r is chosen with weight 1/r, the long-tailed shape of what
    visitors of a site ask for (a few pages very often, most pages rarely)."""

    def __init__(self, items: list, rng: random.Random) -> None:
        self.items, self.rng = items, rng
        self.cumulative = list(accumulate(1 / rank for rank in range(1, len(items) + 1)))

    def __call__(self):  # type: ignore[no-untyped-def]
        point = self.rng.random() * self.cumulative[-1]
        return self.items[min(bisect_left(self.cumulative, point), len(self.items) - 1)]


def tilde(value: object) -> str:
    """Datasette's tilde encoding of a value in a `_next` token."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else
                   "".join(f"~{b:02X}" for b in c.encode("utf-8")) for c in str(value))


def next_tokens(target: Path, size: int) -> list[str]:
    """`_next` tokens of every page of the table in the order the site shows it: by its label then its key when
    the generated metadata sorts it so (`sort`), else by its key (the label of a large table without an index on
    it is not sorted by: see broadsheet.export.sitemeta.cheap_sorts)."""
    database = sorted((target / "out").glob("*.db"))[0]
    metadata = json.loads((target / "out" / "metadata.json").read_text(encoding="utf-8"))
    table = metadata["databases"][database.stem]["tables"].get(TABLE) or {}
    with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as connection:
        if table.get("sort"):
            rows = connection.execute(f'select "{table["sort"]}", id from {TABLE} order by 1, id').fetchall()
            return [f"{tilde(rows[k - 1][0])},{tilde(rows[k - 1][1])}" for k in range(size, len(rows), size)]
        ids = [row[0] for row in connection.execute(f"select id from {TABLE} order by id")]
    return [tilde(ids[k - 1]) for k in range(size, len(ids), size)]


def plan(database: str, target: Path, requests: int, seed: int = 11) -> list[tuple[Kind, str]]:
    """What journalists browsing the site ask for, drawn by popularity (see Zipf): a table's first pages more than
    its later ones and other sort orders; some records far more than others among all 70k; common facet values;
    searches for common words and for one particular record's name."""
    rng = random.Random(seed)
    base = f"/{quote(database)}/{TABLE}"
    ids = [f"plant-{n}" for n in range(plants_in(target))]
    rng.shuffle(ids)  # which records are popular is arbitrary
    record = Zipf(ids, rng)
    html_page = Zipf(["", *(f"&_next={quote(t)}" for t in next_tokens(target, 100))], rng)
    json_page = Zipf(["", *(f"&_next={quote(t)}" for t in next_tokens(target, 50))], rng)
    orgs = [f"org-{n}" for n in range(plants_in(target, "orgs"))]
    rng.shuffle(orgs)
    org = Zipf(orgs, rng)
    sort = Zipf(["", "_sort_desc=amount", "_sort=announced", "_sort_desc=jobs", "_sort=sector"], rng)
    sectors = ["energy", "mining", "food", "chemicals", "machinery", "logistics", "textiles", "construction"]
    facet = Zipf([f"sector={s}" + (f"&currency={c}" if c else "") for s in sectors for c in ("", "USD", "KZT", "CNY")],
                 rng)
    word = Zipf(WORDS, rng)
    kinds = {
        "table page": Kind("table page", 50),
        "row page": Kind("row page", 50),
        "JSON (table, 50 rows)": Kind("JSON (table, 50 rows)", 50),
        "faceted table": Kind("faceted table", 200),
        "search": Kind("search", 200),
    }

    def table_page() -> str:
        order = sort()
        return f"{base}?{order}" if order else f"{base}?{html_page().lstrip('&')}".rstrip("?")

    def faceted() -> str:
        # One in three narrows to a company picked from the org_id facet; the others pick a sector (and currency).
        chosen = f"org_id={org()}" if rng.random() < 1 / 3 else facet()
        return f"{base}?_facet=sector&_facet=currency&{chosen}"

    def search() -> str:
        # One search in four is for a particular record by its name (found from a story or a document).
        if rng.random() < 0.25:
            number = record().split("-")[-1]
            return f"/-/search?q={quote(rng.choice(['Plant', 'Works', 'Complex']) + ' ' + number)}"
        return f"/-/search?q={quote(word())}"

    work = []
    for _ in range(requests):
        work += [
            (kinds["table page"], table_page()),
            (kinds["row page"], f"{base}/{record()}"),
            (kinds["JSON (table, 50 rows)"], f"{base}.json?_size=50{json_page()}"),
            (kinds["faceted table"], faceted()),
            (kinds["search"], search()),
        ]
    rng.shuffle(work)
    return work


def plants_in(target: Path, table: str = TABLE) -> int:
    database = sorted((target / "out").glob("*.db"))[0]
    with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as connection:
        return connection.execute(f"select count(*) from {table}").fetchone()[0]


def hammer(port: int, work: list[tuple[Kind, str]], clients: int) -> float:
    todo: queue.Queue[tuple[Kind, str]] = queue.Queue()
    for item in work:
        todo.put(item)
    lock = threading.Lock()
    deadline = time.monotonic() + TIME_LIMIT

    def client() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        while time.monotonic() < deadline:
            try:
                kind, path = todo.get_nowait()
            except queue.Empty:
                break
            started = time.perf_counter()
            try:
                status, _body, hit = fetch(connection, path)
                ok = status == 200
            except (OSError, http.client.HTTPException):
                hit = False
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if ok:
                    kind.latencies.append(elapsed)
                    kind.hits += hit
                else:
                    kind.errors += 1
        connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIME_LIMIT + REQUEST_TIMEOUT)
    return time.monotonic() - started


def stream_csv(port: int, database: str, server_pid: int) -> dict[str, float]:
    """The whole table as CSV, read in 64 KiB chunks, with the server's memory sampled every 50 ms."""
    before = tree_rss_kb(server_pid)
    peak = before
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    started = time.perf_counter()
    connection.request("GET", f"/{quote(database)}/{TABLE}.csv?_stream=on&_size=max")
    response = connection.getresponse()
    size = lines = 0
    last_sample = 0.0
    while time.perf_counter() - started < TIME_LIMIT:
        chunk = response.read(65536)
        if not chunk:
            break
        size += len(chunk)
        lines += chunk.count(b"\n")
        if time.perf_counter() - last_sample > 0.05:
            peak = max(peak, tree_rss_kb(server_pid))
            last_sample = time.perf_counter()
    connection.close()
    return {"status": response.status, "seconds": time.perf_counter() - started, "mb": size / 1e6,
            "rows": max(0, lines - 1), "rss_before_mb": before / 1024, "rss_peak_mb": peak / 1024}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def first_visit(port: int, path: str = "/") -> float:
    """Milliseconds for the first request of `path` after the start, on a new connection: what the first visitor
    of the home page waits for (work a process does once, such as the database file's hash, shows here)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
    started = time.perf_counter()
    get(connection, path)
    connection.close()
    return (time.perf_counter() - started) * 1000


def run(size: int, requests: int, clients: int) -> dict:
    target = package_for(size)
    port = free_port()
    server, database, how = start_server(target, port)
    try:
        wait_until_up(port, server)
        first_home_ms = first_visit(port)
        warm = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)
        for _kind, path in plan(database, target, 1, seed=1):  # one of each first: the first request pays for imports
            get(warm, path)
        warm.close()
        single_work = plan(database, target, max(5, requests // 10), seed=2)
        hammer(port, single_work, 1)  # service time without queueing, for comparison
        single = {kind.name: percentile(kind.latencies, 0.5) for kind, _ in single_work}
        work = plan(database, target, requests)
        rss_before_load = tree_rss_kb(server.pid) / 1024
        server_cpu, own_cpu = tree_cpu_seconds(server.pid), time.process_time()
        seconds = hammer(port, work, clients)
        server_cpu, own_cpu = tree_cpu_seconds(server.pid) - server_cpu, time.process_time() - own_cpu
        csv = stream_csv(port, database, server.pid)
        server_rss = tree_rss_kb(server.pid) / 1024
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    kinds = {kind.name: kind for kind, _ in work}
    return {
        "size": size, "clients": clients, "requests": len(work), "seconds": seconds,
        "served_by": how,
        "server_rss_mb": server_rss, "rss_before_load_mb": rss_before_load, "csv": csv, "single": single,
        "server_cpu": server_cpu, "generator_cpu": own_cpu, "first_home_ms": first_home_ms, "cores": os.cpu_count(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "kinds": [{"name": k.name, "count": len(k.latencies), "errors": k.errors, "hits": k.hits,
                   "distinct": len({path for kind, path in work if kind is k}),
                   "p50": percentile(k.latencies, 0.5), "p95": percentile(k.latencies, 0.95),
                   "max": max(k.latencies, default=float("nan")),
                   "mean": statistics.fmean(k.latencies) if k.latencies else float("nan"),
                   "target": k.target_ms} for k in kinds.values()],
    }


def markdown(result: dict) -> list[str]:
    lines = [
        f"Served by {result['served_by']} on 127.0.0.1 with {result['size']:,} records "
        f"({result['requests']} requests from {result['clients']} concurrent keep-alive clients in "
        f"{result['seconds']:.1f} s; load average after: {result['load']}).", "",
        "| page | requests | distinct URLs | cache hits | errors | p50 ms | p95 ms | max ms | target p95 | verdict "
        "| 1 client: p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in result["kinds"]:
        met = kind["errors"] == 0 and kind["p95"] <= kind["target"]
        hits = kind.get("hits", 0) / kind["count"] if kind["count"] else 0.0
        lines.append(f"| {kind['name']} | {kind['count']} | {kind.get('distinct', '')} | {hits:.0%} | "
                     f"{kind['errors']} | {kind['p50']:.1f} | "
                     f"{kind['p95']:.1f} | {kind['max']:.1f} | ≤ {kind['target']:.0f} ms | "
                     f"{'met' if met else '**missed**'} | {result['single'].get(kind['name'], float('nan')):.1f} |")
    total = sum(k["count"] for k in result["kinds"])
    hit_rate = sum(k.get("hits", 0) for k in result["kinds"]) / total if total else 0.0
    used = result["server_cpu"] + result["generator_cpu"]
    lines += ["", f"CPU while loaded: the server's processes {result['server_cpu']:.1f} s, the load generator (this "
                  f"script, on the same machine) {result['generator_cpu']:.1f} s, of "
                  f"{result['seconds'] * result['cores']:.1f} core-seconds available ({result['cores']} cores × "
                  f"{result['seconds']:.1f} s): the generator took {result['generator_cpu'] / used:.0%} of what both "
                  f"used. Server resident memory before the load: {result['rss_before_load_mb']:.0f} MB (all "
                  "processes, search indexes built)."]
    lines += ["", f"URLs are drawn by popularity (rank r chosen with weight 1/r: first pages, popular records, common "
                  f"facets and words; see `plan` in benchmarks/load.py); {hit_rate:.0%} of all answers came from the "
                  "site's response cache (`x-cache: hit`)."]
    lines += ["", f"The home page's first visit after the start took {result['first_home_ms']:.0f} ms."]
    csv = result["csv"]
    lines += ["", f"Whole-table CSV export (`/{TABLE}.csv?_stream=on`): HTTP {csv['status']}, {csv['rows']:,} rows, "
                  f"{csv['mb']:.1f} MB in {csv['seconds']:.1f} s; server resident memory {csv['rss_before_mb']:.0f} MB "
                  f"before, {csv['rss_peak_mb']:.0f} MB at peak while streaming (the export is streamed, not "
                  f"held: memory grows by {csv['rss_peak_mb'] - csv['rss_before_mb']:.0f} MB for "
                  f"{csv['mb']:.0f} MB sent)."]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="requests of each kind")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON")
    args = parser.parse_args()
    result = run(args.size, args.requests, args.clients)
    print(json.dumps(result, indent=2) if args.json else "\n".join(markdown(result)))


if __name__ == "__main__":
    main()
