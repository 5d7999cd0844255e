"""Short queries on the event loop's own thread, long ones in a SQL thread.

Datasette sends every query to a pool of SQL threads so that a slow one does not hold up the others. Most queries
this site asks an immutable build (a row, a page's labels, schema look-ups) take well under a millisecond, and the
trip costs more than that: the hand-over of the GIL between the loop and the thread, and back, for each of the
several queries of a page. So a query first runs on the loop's thread, on a connection of its own, bounded by
INLINE_MS; one that has not finished by then is abandoned and asked again from the start in a SQL thread, with its
whole time limit, where it holds up nobody, and it is remembered (its SQL, or the asking function's code:
builds.BuildDatabase.long) so that it goes to a thread at once the next time. A query's own limit still applies
inline: one shorter than INLINE_MS that runs out is that query's answer (an interrupted query), as it would be in
a thread.

Measured with `python benchmarks/load.py --json` at 100k records, seven alternating rounds against the threads
alone (benchmarks/NOTES.md): lower server CPU in every round, the table page's p95 lower in every round. A bound
of 25 ms (c31fb26, taken out) kept the facet counts on the loop too, and made row and JSON pages wait behind them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

# Longest a query holds the event loop before it is sent to a SQL thread: past the row and label queries, short of
# the facet counts and page counts (3-8 ms at 100k records).
INLINE_MS = 3
# SQLite instructions between two looks at the clock (~0.1 ms): also how often Datasette's own limit of a query is
# checked inline (it asks for every instruction under 20 ms; 0.1 ms late is within any limit it sets).
CHECK_EVERY = 1000


class Bounded(sqlite3.Connection):
    """A connection whose progress handler also stops a query once the inline bound (`start`) has passed, and
    remembers that it did (`overran`): the caller then knows the query was cut short by the bound, not by its own
    limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline: float | None = None
        self.overran = False
        self.own_handler: Callable[[], Any] | None = None
        super().set_progress_handler(self._progress, CHECK_EVERY)

    def set_progress_handler(self, handler: Callable[[], Any] | None, n: int) -> None:  # type: ignore[override]
        """Kept beside the bound (SQLite has one progress handler per connection), not in place of it."""
        self.own_handler = handler

    def _progress(self) -> int:
        if self.own_handler is not None and self.own_handler():
            return 1
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            self.overran = True
            return 1
        return 0

    def start(self, ms: float) -> None:
        self.deadline, self.overran = time.perf_counter() + ms / 1000, False

    def stop(self) -> None:
        self.deadline = None


def connect(path: str) -> Bounded:
    """A read-only connection to an immutable file, as Datasette opens one (`immutable=1`)."""
    return sqlite3.connect(f"file:{path}?immutable=1", uri=True, check_same_thread=False,
                           factory=Bounded)  # type: ignore[return-value]


class Overran(Exception):
    """The query was cut short by the inline bound: ask it again in a SQL thread."""


def run_inline(conn: Bounded, fn: Callable[[Bounded], Any], ms: float = INLINE_MS) -> Any:
    """`fn(conn)` within `ms`, or Overran. A result reached after the bound cut a query short is not trusted (the
    function may have caught the interruption), nor an error raised after it."""
    conn.start(ms)
    try:
        result = fn(conn)
    except Exception:
        if conn.overran:
            raise Overran() from None
        raise
    finally:
        conn.stop()
    if conn.overran:
        raise Overran()
    return result
