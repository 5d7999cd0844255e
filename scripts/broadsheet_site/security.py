"""Safe defaults for a public site: security headers, redirects that stay on the site, bounded SQLite values, and
error pages that never show a stack trace or a server path. Knows nothing about any dataset."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from functools import lru_cache
from urllib.parse import urlsplit

import datasette.handle_exception as default_handler
from datasette import Response
from datasette.utils.asgi import Base400
from datasette.views.base import DatasetteError

HEADERS = {
    # Datasette's own pages use inline scripts and styles; everything else must come from this site.
    b"content-security-policy": (b"default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                 b"style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                 b"frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"strict-origin-when-cross-origin",
    b"x-frame-options": b"DENY",
    b"permissions-policy": b"geolocation=(), camera=(), microphone=()",
}
# Largest string or blob a query may build: stops randomblob(1e9) or printf('%*d', 1e9, 1) from eating memory
# before the time limit interrupts it.
MAX_VALUE_BYTES = 5_000_000
log = logging.getLogger("broadsheet.site")

# Datasette 0.65's fallback error handler asks `rich` (when installed) to print the current exception, but runs
# after the except block has ended, so rich raises and the visitor gets a bare 500. The handler below logs
# errors itself; the fallback only needs to stop calling rich.
default_handler.rich = None


def remember_table_permissions(datasette) -> None:  # type: ignore[no-untyped-def]
    """Datasette 0.65 works out a table's `allow` rules from a deep copy of its whole metadata on every view-table
    check (~0.5 ms at 100k records, three checks per record page). A site's metadata does not change while it
    runs (see config.config), so the rules Datasette works out (its own function, called once per table) are
    kept, for a bounded number of tables."""
    original = getattr(datasette, "_table_permission_allows", None)
    if original is None or hasattr(original, "cache_info"):
        return
    remembered = lru_cache(maxsize=1024)(lambda database, table: tuple(original(database, table)))
    datasette._table_permission_allows = lambda database, table: list(remembered(database, table))
    datasette._table_permission_allows.cache_info = remembered.cache_info


def local_location(value: str) -> str:
    """A redirect target that cannot leave the site: only a path on this host is kept, anything else becomes `/`."""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return "/"
    return value


def with_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    present = {name.lower() for name, _ in headers}
    fixed = []
    for name, value in headers:
        if name.lower() == b"location":
            value = local_location(value.decode("latin-1")).encode("latin-1")
        fixed.append((name, value))
    fixed += [(name, value) for name, value in HEADERS.items() if name not in present]
    return fixed


def secured(app):  # type: ignore[no-untyped-def]
    """An ASGI app that sends every response of `app` with the security headers and on-site redirects."""
    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_secured(event):
            if event["type"] == "http.response.start":
                event = {**event, "headers": with_headers(list(event.get("headers") or []))}
            await send(event)

        await app(scope, receive, send_secured)

    return wrapped


# printf('%.*c', 2000000000, 'x') runs for seconds inside one SQLite function call, where the time limit cannot
# interrupt it; widths and precisions above this are refused before SQLite's own printf sees them.
MAX_PRINTF_WIDTH = 10_000
PRINTF_SPEC = re.compile(r"%[-+ 0#,!]*(\*|\d+)?(?:\.(\*|\d+))?(?:ll|l)?([a-zA-Z%])")
_printf_lock = threading.Lock()
_printf_conn = sqlite3.connect(":memory:", check_same_thread=False)
_printf_conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)


def check_printf(fmt: object, args: tuple[object, ...]) -> None:
    """Raise when a printf format asks for a width or precision (typed or passed as `*`) above the limit."""
    if not isinstance(fmt, str):
        return
    index = 0
    for width, precision, conversion in PRINTF_SPEC.findall(fmt):
        if conversion == "%":
            continue
        for part in (width, precision):
            if part == "*":
                value = args[index] if index < len(args) else 0
                index += 1
                if not isinstance(value, int | float) or abs(value) > MAX_PRINTF_WIDTH:
                    raise ValueError("printf width or precision too large")
            elif part and int(part) > MAX_PRINTF_WIDTH:
                raise ValueError("printf width or precision too large")
        index += 1


def bounded_printf(fmt: object = None, *args: object) -> object:
    check_printf(fmt, args)
    placeholders = ", ".join("?" for _ in range(len(args) + 1))
    with _printf_lock:  # SQLite's own printf, on a private connection that has no data
        return _printf_conn.execute(f"select printf({placeholders})", (fmt, *args)).fetchone()[0]


def bound_connection(conn) -> None:  # type: ignore[no-untyped-def]
    """Limits on what one query may build, on every SQLite connection of the site."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000)
    for name in ("printf", "format"):
        conn.create_function(name, -1, bounded_printf)


def error_page(datasette, request, exception):  # type: ignore[no-untyped-def]
    """Every error page: Datasette's own messages (not found, bad request, query too slow) are shown as they are;
    anything unexpected is logged for the operator and shown to the visitor without details."""
    status, message, title, is_html = 500, "Something went wrong on our side.", None, False
    if isinstance(exception, Base400):
        status, message = exception.status, str(exception.args[0]) if exception.args else ""
    elif isinstance(exception, DatasetteError):
        status, message, title = exception.status, str(exception.message), exception.title
        # Datasette raises DatasetteError for what a request asks (a sort by an unknown column, two sorts, a
        # `_through` with no matching key) and leaves many at the default status 500: the request is at fault.
        status = 400 if status == 500 else status
        is_html = bool(exception.message_is_html)  # Datasette's own HTML (e.g. "query took too long")
    else:
        log.error("error serving %s", request.path,
                  exc_info=(type(exception), exception, exception.__traceback__))

    async def inner():
        if request.path.endswith(".json"):
            return Response.json({"ok": False, "status": status, "error": message, "title": title},
                                 status=status)
        context = {"ok": False, "status": status, "error": message, "error_is_html": is_html, "title": title}
        html = await datasette.render_template([f"{status}.html", "error.html"], context, request=request)
        return Response.html(html, status=status)

    return inner
