"""What one uncached page costs the server: CPU milliseconds per page kind, in process, one request at a time.

    python benchmarks/miss.py [--size 100000] [--urls 12] [--repeat 3] [--profile KIND] [--json]

Builds the site of benchmarks/generated/<size>/ exactly as `broadsheet serve` does (building out/ first when it is
missing), as an in-process Datasette with the site's response cache turned off (`response_cache_mb: 0`), and asks
it for distinct URLs of each kind that benchmarks/load.py draws (the same `plan`). Each URL is asked once to warm
up, then `--repeat` times, each time with the query results the site keeps (broadsheet_site.builds.Answers)
forgotten, so that every answer asks SQLite everything. Its cost is the best of those (CPU time of the whole
process: the event loop and Datasette's SQL threads), so other work on a shared machine inflates it as little as
possible. Reported per kind: the mean, median and largest of the URLs' best costs. `--profile KIND` runs cProfile
over every URL of that kind and prints the functions with the most cumulative and own time. This is the cost a
cache miss adds to the load test's queue; it is not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from load import plan  # noqa: E402
from run import package_for  # noqa: E402


def site_without_cache(target: Path, scratch: Path):  # type: ignore[no-untyped-def]
    """The Datasette `broadsheet serve` would run for the package, with its response cache off."""
    from broadsheet import serve
    from broadsheet.layout import Layout

    layout = Layout(target)
    package, invalid = serve.build_if_needed(layout, rebuild=not sorted((target / "out").glob("*.db")))
    if invalid is not None:
        raise SystemExit("the benchmark package is invalid")
    site = serve.prepare(layout, package)
    metadata = json.loads(site.metadata.read_text(encoding="utf-8"))
    metadata.setdefault("plugins", {}).setdefault("broadsheet", {})["response_cache_mb"] = 0
    uncached = scratch / "metadata.json"
    uncached.write_text(json.dumps(metadata), encoding="utf-8")
    return serve.app(serve.Site(site.database, uncached, site.overrides)), site.database.stem


def urls_by_kind(database: str, target: Path, count: int) -> dict[str, list[str]]:
    """Up to `count` distinct URLs per kind, in the order load.py's plan draws them (popular ones first)."""
    found: dict[str, list[str]] = {}
    for kind, path in plan(database, target, 40 * count, seed=2):
        paths = found.setdefault(kind.name, [])
        if path not in paths and len(paths) < count:
            paths.append(path)
    return found


def forget_answers(ds) -> None:  # type: ignore[no-untyped-def]
    """Empty what the site keeps of its databases' query results (broadsheet_site.builds.Answers), so that each
    answer measured asks SQLite everything, as the first visitor of a page does."""
    for database in ds.databases.values():
        answers = getattr(database, "answers", None)
        if answers is not None:
            answers.entries.clear()


async def cost(ds, path: str, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(best CPU ms, best wall ms) of `repeat` answers to `path` after one to warm up."""
    response = await ds.client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"{path}: HTTP {response.status_code}")
    cpu, wall = [], []
    for _ in range(repeat):
        forget_answers(ds)
        c0, w0 = time.process_time(), time.perf_counter()
        await ds.client.get(path)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return min(cpu), min(wall)


async def measure(ds, urls: dict[str, list[str]], repeat: int) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    await ds.invoke_startup()
    await ds.client.get("/")
    result = {}
    for kind, paths in urls.items():
        costs = [await cost(ds, path, repeat) for path in paths]
        cpu = [c for c, _ in costs]
        result[kind] = {"urls": len(paths), "cpu_mean": statistics.fmean(cpu), "cpu_median": statistics.median(cpu),
                        "cpu_max": max(cpu), "wall_median": statistics.median(w for _, w in costs),
                        "each": dict(zip(paths, cpu, strict=True))}
    return result


async def profiled(ds, paths: list[str], repeat: int) -> str:  # type: ignore[no-untyped-def]
    await ds.invoke_startup()
    for path in paths:
        await ds.client.get(path)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(repeat):
        for path in paths:
            await ds.client.get(path)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--urls", type=int, default=12, help="distinct URLs per kind")
    parser.add_argument("--repeat", type=int, default=3, help="answers per URL; the best counts")
    parser.add_argument("--profile", metavar="KIND", help="cProfile the URLs of one kind (e.g. 'row page')")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    target = package_for(args.size)
    with tempfile.TemporaryDirectory() as scratch:
        ds, database = site_without_cache(target, Path(scratch))
        urls = urls_by_kind(database, target, args.urls)
        if args.profile:
            print(asyncio.run(profiled(ds, urls[args.profile], args.repeat)))
            return
        result = asyncio.run(measure(ds, urls, args.repeat))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"CPU ms of one uncached answer, {args.size:,} records, best of {args.repeat} per URL:")
    print("| page | URLs | mean | median | max | wall median |")
    print("|---|---|---|---|---|---|")
    for kind, row in result.items():
        print(f"| {kind} | {row['urls']} | {row['cpu_mean']:.1f} | {row['cpu_median']:.1f} | {row['cpu_max']:.1f} "
              f"| {row['wall_median']:.1f} |")


if __name__ == "__main__":
    main()
