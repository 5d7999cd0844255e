"""What a public, read-only site answers, decided before Datasette sees the request.

- Methods: GET and HEAD only; anything else is 405 (Datasette 0.65 answers TRACE, or POST to a table, with a 500).
- Introspection: Datasette's `/-/` pages (versions, plugins, settings, databases — which shows the server's file
  paths —, metadata, threads, actor, …) answer 404. Only the site's own pages under `/-/` (search, the changes
  feed, downloads) and static files are open. An operator who wants them turns them on with
  `introspection: true` in the `plugins.broadsheet` metadata (site/metadata.yml: `site: {introspection: true}`).
- `_through`: must be a JSON object naming `table`, `column` and `value` (Datasette raises on anything else).
- CSV: every `.csv` answer is sent as `text/csv` (Datasette sends `text/plain` unless `_dl` is given).

A refused request gets the site's error page (or JSON for a `.json` path) and no log line of its own: the server's
access line is its one line.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

from datasette import Response
from datasette.utils import path_with_format
from datasette.utils.asgi import Request

from broadsheet_site.config import PLUGIN

METHODS = ("GET", "HEAD")
OPEN_PATHS = ("/-/search", "/-/changes.atom")
OPEN_PREFIXES = ("/-/static/", "/-/static-plugins/", "/-/downloads/")
THROUGH_KEYS = ("table", "column", "value")


def introspection_on(datasette) -> bool:  # type: ignore[no-untyped-def]
    return bool((datasette.plugin_config(PLUGIN) or {}).get("introspection"))


def refusal(scope: dict[str, Any], introspection: bool = False) -> tuple[int, str] | None:
    """(status, message) for a request the site does not answer, None for one it passes on to Datasette."""
    method = scope.get("method") or "GET"
    if method not in METHODS:
        return 405, f"{method} requests are not answered: this site is read-only"
    path = scope.get("path") or "/"
    if path.startswith("/-/") and not introspection and path not in OPEN_PATHS and not path.startswith(OPEN_PREFIXES):
        return 404, "Not found"
    query = (scope.get("query_string") or b"").decode("latin-1")
    for value in parse_qs(query, keep_blank_values=True).get("_through", []):
        if not good_through(value):
            return 400, "_through must be a JSON object with a table, a column and a value"
    return None


def good_through(value: str) -> bool:
    try:
        through = json.loads(value)
    except ValueError:
        return False
    return isinstance(through, dict) and all(isinstance(through.get(key), str | int | float) for key in THROUGH_KEYS)


def csv_typed(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A `.csv` answer's content type as text/csv (Datasette's `_trace` debug page, which is HTML, stays)."""
    if not path.endswith(".csv"):
        return headers
    return [(name, b"text/csv; charset=utf-8" if name.lower() == b"content-type"
             and value.startswith(b"text/plain") else value) for name, value in headers]


def csv_link(request: Request) -> str:
    """The table page's CSV link: every row of the selection (streamed page by page), as a CSV download. Datasette's
    own link gives one page of rows (at most max_returned_rows) as text/plain."""
    kept = [(k, v) for k, v in parse_qsl(request.query_string, keep_blank_values=True)
            if k not in ("_next", "_size", "_stream", "_dl")]
    selection = Request({**request.scope, "query_string": urlencode(kept).encode("latin-1")}, request.receive)
    return path_with_format(request=selection, format="csv", extra_qs={"_size": "max", "_stream": "on", "_dl": "1"})


async def refuse(datasette, scope, receive, send, status: int, message: str) -> None:  # type: ignore[no-untyped-def]
    headers = {"allow": ", ".join(METHODS)} if status == 405 else {}
    if (scope.get("path") or "").endswith(".json"):
        response = Response.json({"ok": False, "status": status, "error": message, "title": None},
                                 status=status, headers=headers)
    else:
        request = Request({**scope, "method": "GET", "csrftoken": lambda: ""}, receive)
        context = {"ok": False, "status": status, "error": message, "error_is_html": False, "title": None}
        html = await datasette.render_template([f"{status}.html", "error.html"], context, request=request)
        response = Response.html(html, status=status, headers=headers)
    await response.asgi_send(send)


def screened(datasette, app):  # type: ignore[no-untyped-def]
    """An ASGI app that refuses what `refusal` refuses and types CSV answers, passing everything else to `app`."""
    introspection: bool | None = None

    async def wrapped(scope, receive, send):
        nonlocal introspection
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if introspection is None:  # read once, on the first request, when the metadata is loaded
            introspection = introspection_on(datasette)
        refused = refusal(scope, introspection)
        if refused is not None:
            await refuse(datasette, scope, receive, send, *refused)
            return
        path = scope.get("path") or ""

        async def send_typed(event):
            if event["type"] == "http.response.start":
                event = {**event, "headers": csv_typed(path, list(event.get("headers") or []))}
            await send(event)

        await app(scope, receive, send_typed if path.endswith(".csv") else send)

    return wrapped
