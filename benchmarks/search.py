"""The site's search at scale: the fast search index against the reference search it is held equal to.

    python benchmarks/search.py [--size 100000]

Builds (or reuses) benchmarks/generated/<size>/, loads the search index the site loads, and for each query of the
load test's vocabulary measures CPU milliseconds of `reference_search` (every matching row read, the
specification) and of `SearchIndex.search` (what the site runs), best of 3, and checks they give the same answer.
Not part of the pass/fail tests (tests/test_search_index.py holds the two equal)."""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import package_for  # noqa: E402

from broadsheet import words  # noqa: E402
from broadsheet.export.sqlite import SEARCH  # noqa: E402
from broadsheet_site import forgiving  # noqa: E402

TABLES = forgiving.Tables(SEARCH, words.WORDS)

QUERIES = ["Abai", "Semey", "Semy", "Курчатов", "Kurchatov Glass", "Энергетический", "哈萨克斯坦", "Solar",
           "Abay Works", "Plant 123", "Works 4567", "zzqx"]
LIMIT = 200  # the search page's


def cpu_ms(call, repeat: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.process_time()
        result = call()
        best = min(best, (time.process_time() - started) * 1000)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    args = parser.parse_args()
    target = package_for(args.size)
    if not list((target / "out").glob("*.db")):
        subprocess.run([sys.executable, "-m", "broadsheet", "build", "--root", str(target)], check=True,
                       stdout=subprocess.DEVNULL)
    database = sorted((target / "out").glob("*.db"))[0]
    with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as conn:
        started = time.process_time()
        index = forgiving.SearchIndex.load(conn, TABLES)
        load_s = time.process_time() - started
        vocabulary = forgiving.Vocabulary.load(conn, TABLES)
        texts = conn.execute("select count(*) from _search").fetchone()[0]
        print(f"{args.size:,} records, {texts:,} searchable texts, {len(vocabulary.words):,} distinct words; "
              f"index loaded in {load_s:.1f} s CPU\n")
        print("| query | hits | reference ms | index ms | reference / index | same answer |")
        print("|---|---|---|---|---|---|")
        for query in QUERIES:
            index.search(conn, query, LIMIT)  # the first call per word length builds the typo lists
            reference_ms, expected = cpu_ms(
                lambda q=query: forgiving.reference_search(conn, TABLES, vocabulary, q, LIMIT))
            index_ms, found = cpu_ms(lambda q=query: index.search(conn, q, LIMIT))
            print(f"| {query} | {len(found)} | {reference_ms:.0f} | {index_ms:.1f} | "
                  f"{reference_ms / max(index_ms, 0.01):.0f}× | {'yes' if found == expected else '**no**'} |")


if __name__ == "__main__":
    main()
