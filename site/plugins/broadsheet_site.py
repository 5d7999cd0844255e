"""The journalist's site: home page facts, record pages, search, downloads and the changes feed.

Generic: every table, label and link comes from the `plugins.broadsheet` block that `broadsheet.sitemeta`
generates from the schemas (and site/metadata.yml); nothing here names a table of any dataset.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import sys
import unicodedata
from array import array
from bisect import bisect_left, bisect_right
from datetime import UTC, datetime
from email.utils import formatdate
from itertools import accumulate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import Stemmer
from babel.numbers import format_compact_decimal, format_decimal
from datasette import Response, hookimpl
from datasette.utils import sqlite_timelimit, tilde_decode, tilde_encode
from markupsafe import Markup
from markupsafe import escape as html_escape
from rapidfuzz import distance, process

PLUGIN = "broadsheet"
SEARCH_LIMIT = 200
FEED_LIMIT = 100
CONTENT_TYPES = {
    ".zip": "application/zip",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".db": "application/vnd.sqlite3",
}
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
log = logging.getLogger("broadsheet.site")

# Cyrillic (Russian and Kazakh) to Latin, then a few spellings folded together, so Абай, Abai and Abay meet.
CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r",
                     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "a", "g",
                     "k", "n", "o", "u", "u", "h", "i"], strict=True))
LATIN_FOLDS = (("kh", "h"), ("q", "k"), ("y", "i"), ("j", "i"), ("w", "v"))


CYRILLIC_TABLE = str.maketrans(CYRILLIC)


def _combining_marks() -> re.Pattern[str]:
    """Every combining code point as one character class, so accents are dropped from a whole text in one pass."""
    ranges, start, previous = [], None, None
    for code in range(0x300, sys.maxunicode + 1):
        if unicodedata.combining(chr(code)):
            if start is None:
                start = code
            elif code != previous + 1:
                ranges.append((start, previous))
                start = code
            previous = code
    if start is not None:
        ranges.append((start, previous))
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]")


COMBINING = _combining_marks()


def fold(text: Any) -> str:
    """A spelling-insensitive key: lower case, no accents, Cyrillic transliterated, y/i and kh/h merged.

    Whole-string operations only (no loop per character), so a search index folds every searchable text of a
    large database at once in well under a second."""
    if text is None:
        return ""
    plain = COMBINING.sub("", unicodedata.normalize("NFKD", str(text).lower()))
    latin = plain.translate(CYRILLIC_TABLE)
    for spelling, folded in LATIN_FOLDS:
        latin = latin.replace(spelling, folded)
    return latin


_structures: dict[tuple[str, float], dict[str, Any]] = {}


def config(datasette) -> dict[str, Any]:
    """The plugin's settings, with the resource structure. The structure is large, and Datasette deep-copies its
    whole metadata on every permission check, so `broadsheet serve` keeps it in a file beside the database
    (named by `resources_file`) that is read once."""
    conf = dict(datasette.plugin_config(PLUGIN) or {})
    name, db = conf.get("resources_file"), conf.get("database")
    if name and "resources" not in conf and db in datasette.databases and datasette.get_database(db).path:
        path = Path(datasette.get_database(db).path).parent / Path(name).name
        try:
            key = (str(path), path.stat().st_mtime)
        except OSError:
            log.error("resource structure file %s is missing", Path(name).name)
            return conf
        if key not in _structures:
            _structures[key] = json.loads(path.read_text(encoding="utf-8"))
        conf["resources"] = _structures[key]
    return conf


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def record_href(datasette, db: str, resource: str, record_id: Any) -> str:
    return datasette.urls.table(db, resource) + "/" + tilde_encode(str(record_id))


async def table_names(datasette, db: str) -> set[str]:
    return set(await datasette.get_database(db).table_names())


@hookimpl
def prepare_connection(conn):
    conn.create_function("broadsheet_fold", 1, fold, deterministic=True)


# ---------------------------------------------------------------- labels and links


class Labels:
    """Display names of records, looked up once per page, on a connection of one SQL thread: a page's many small
    lookups run in one hop to that thread instead of one hop (and one wait for the event loop) each, which under
    load cost more than the queries themselves."""

    def __init__(self, datasette, db: str, resources: dict[str, Any], conn) -> None:
        self.datasette, self.db, self.resources, self.conn = datasette, db, resources, conn
        self.cache: dict[tuple[str, str], dict[str, Any] | None] = {}

    def query(self, sql: str, params: list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(row) for row in self.conn.execute(sql, params).fetchall()]

    def row(self, resource: str, record_id: Any) -> dict[str, Any] | None:
        key = (resource, str(record_id))
        if key not in self.cache:
            spec = self.resources.get(resource) or {}
            pk = (spec.get("key") or ["id"])[0]
            rows = self.query(f"select * from {quote(resource)} where {quote(pk)} = ?", [record_id])
            self.cache[key] = rows[0] if rows else None
        return self.cache[key]

    def link(self, resource: str, record_id: Any) -> dict[str, Any]:
        spec = self.resources.get(resource) or {}
        row = self.row(resource, record_id)
        label = row.get(spec.get("label") or "") if row else None
        href = record_href(self.datasette, self.db, resource, record_id) if spec.get("top_level") else None
        url = row.get(spec.get("url") or "") if row else None
        return {"text": str(label or record_id), "id": str(record_id), "href": href, "url": url or None}


def cell(labels: Labels, spec: dict[str, Any], column: str, value: Any,
         row: dict[str, Any] | None = None) -> dict[str, Any]:
    """A value as shown: a foreign key becomes a link with the target's name; the rest as `shown` says."""
    if value is None or value == "":
        return {"text": ""}
    for ref in spec.get("references") or []:
        if ref["column"] == column:
            return labels.link(ref["table"], value)
    field = next((f for f in spec.get("fields") or [] if f["name"] == column), {})
    return shown(field, value, row or {})


def shown(field: dict[str, Any], value: Any, row: Any) -> dict[str, Any]:
    """A value of one field (an entry of the generated structure) as shown: a code as its label from the schema's
    `categories`, a list as a list, money (a field with `x-currency-field`) compact with its currency and the
    exact figure kept in `exact`, a web address as a link."""
    if value is None or value == "":
        return {"text": ""}
    kind, codes = field.get("type"), field.get("labels") or {}
    listed = as_list(value) if kind == "array" else None
    if listed is not None:
        texts = [code_label(codes, item) for item in listed]
        return {"text": ", ".join(texts), "list_items": texts}
    if codes:
        return {"text": code_label(codes, value), "code": str(value)}
    currency_field = field.get("currency_field") or ""
    currency = row[currency_field] if currency_field and currency_field in row.keys() else None  # noqa: SIM118 (sqlite3.Row)
    compact = money(value, currency)
    if compact:
        return {"text": compact, "exact": f"{currency} {fmt_number(value)}"}
    if field.get("format") == "uri" and isinstance(value, str) and value.startswith(("https://", "http://")):
        return {"text": value, "href": value, "external": True}
    return {"text": readable(kind, value)}


def readable(kind: str | None, value: Any) -> str:
    """Numbers with thousands separators, lists (stored as JSON) as comma-separated text."""
    if kind in ("number", "integer") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt_number(value)
    listed = as_list(value) if kind == "array" else None
    if listed is not None:
        return ", ".join(str(item) for item in listed)
    if kind == "boolean" and value in (0, 1):
        return "yes" if value else "no"
    return str(value)


# ---------------------------------------------------------------- values: codes, lists, money

LOCALE = "en_GB"


def code_label(codes: dict[str, str], value: Any) -> str:
    """A code's label from the schema's `categories`, or the value itself when the schema declares none."""
    text = "" if value is None else str(value)
    return codes.get(text, text)


def as_list(value: Any) -> list[Any] | None:
    """An array value (a list, or the JSON text SQLite stores) as a list; None when it is not one."""
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def money(amount: Any, currency: Any, locale: str = LOCALE) -> str | None:
    """"USD 1.568bn", "KZT 336bn": the ISO 4217 code and the amount in the locale's compact notation (Babel's
    CLDR patterns, up to three decimals, so 1,568,000,000 does not become 1.6). None without a currency."""
    if not currency or isinstance(amount, bool) or not isinstance(amount, (int, float)):
        return None
    return f"{currency} {format_compact_decimal(amount, format_type='short', locale=locale, fraction_digits=3)}"


def table_cell(datasette, database: str, table: str, column: str, value: Any, row: Any) -> Markup | None:
    """A table page's cell for a coded, list, money or address column (None leaves Datasette's own)."""
    fields = cell_fields(datasette, database, table)
    field = fields.get(column)
    if field is None or value is None or value == "":
        return None
    value_shown = shown(field, value, row)
    if "list_items" in value_shown:
        return Markup('<ul class="bs-items">' + "".join(f"<li>{html_escape(item)}</li>"
                                                       for item in value_shown["list_items"]) + "</ul>")
    if "exact" in value_shown:
        return Markup(f'<span title="{html_escape(value_shown["exact"])}">{html_escape(value_shown["text"])}</span>')
    if value_shown.get("external"):
        return Markup(f'<a href="{html_escape(value)}" rel="noopener noreferrer">{html_escape(value)}</a>')
    if "code" in value_shown:
        return Markup(html_escape(value_shown["text"]))
    return None


_cell_fields: dict[tuple[int, str, str], tuple[Any, dict[str, dict[str, Any]]]] = {}


def cell_fields(datasette, database: str, table: str) -> dict[str, dict[str, Any]]:
    """The columns of a table whose cells `table_cell` draws, looked up once per structure file."""
    conf = config(datasette)
    resources = conf.get("resources") or {}
    key = (id(datasette), database, table)
    cached = _cell_fields.get(key)
    if cached is not None and cached[0] is resources:
        return cached[1]
    spec = resources.get(table) if conf.get("database") == database else None
    linked = {ref["column"] for ref in (spec or {}).get("references") or []}
    fields = {f["name"]: f for f in (spec or {}).get("fields") or [] if f["name"] not in linked and (
        f.get("labels") or f.get("type") == "array" or f.get("currency_field") or f.get("format") == "uri")}
    _cell_fields[key] = (resources, fields)
    return fields


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if not table or not database:
        return None
    return table_cell(datasette, database, table, column, value, row)


def value_labels(datasette, database: str | None, table: str | None) -> dict[str, dict[str, str]]:
    """A table's coded columns → their labels, for facets."""
    conf = config(datasette) if database and table else {}
    if conf.get("database") != database:
        return {}
    spec = (conf.get("resources") or {}).get(table) or {}
    return {f["name"]: f["labels"] for f in spec.get("fields") or [] if f.get("labels")}


# ---------------------------------------------------------------- home page


async def home(datasette) -> dict[str, Any]:
    conf = config(datasette)
    db = conf.get("database")
    if not db or db not in datasette.databases:
        return {}
    database = datasette.get_database(db)
    names = await table_names(datasette, db)
    resources = conf.get("resources") or {}
    return {
        "db": db,
        "intro": conf.get("intro") or "",
        "version": conf.get("version") or "",
        "updated": await last_updated(database, names, conf),
        "citation": conf.get("citation") or {},
        "counts": await counts(datasette, db, names, resources, conf.get("views") or []),
        "headline": await headline(database, conf.get("headline") or {}),
        "charts": [await chart(database, resources, spec, i) for i, spec in enumerate(conf.get("charts") or [])],
        "map": await dot_map(datasette, db, conf.get("map") or {}),
        "downloads": downloads(datasette, db, list(resources) + list(conf.get("views") or []),
                               table_titles(datasette, db, resources)),
        "queries": [{"name": name, "title": q.get("title") or name, "href": datasette.urls.table(db, name)}
                    for name, q in ((datasette.metadata("queries", database=db) or {}).items())],
    }


# ---------------------------------------------------------------- charts (server-rendered SVG, no script)

PALETTE = ["#1f5fa8", "#e07b00", "#2e8b3e", "#c0392b", "#7d4fb0", "#8c5a2b", "#d45aa0", "#5c6770", "#a39b00",
           "#138d9c", "#9fb5e0", "#f2b86b", "#9dd39a", "#f0a09a"]


async def chart(database, resources: dict[str, Any], spec: dict[str, Any],  # type: ignore[no-untyped-def]
                number: int = 0) -> dict[str, Any]:
    """A stacked bar chart configured in site/metadata.yml under `site.charts`: `sql` gives rows of `bar` (one
    bar each), `series` (a segment each, optionally labelled by a schema field's categories: `series_labels:
    resource.field`), `value` and `currency`; shown as an SVG with a title and description, and the same
    figures as a table beside it."""
    try:
        rows = [dict(r) for r in (await database.execute(spec["sql"])).rows]
    except Exception:  # a broken chart must not take the home page down
        log.error("chart %r failed", spec.get("title"))
        return {}
    table, _, column = str(spec.get("series_labels") or "").partition(".")
    codes = next((f.get("labels") or {} for f in (resources.get(table) or {}).get("fields") or []
                  if f["name"] == column), {})
    bar, series, value = (spec.get(k) or k for k in ("bar", "series", "value"))
    cur = spec.get("currency_column") or ""
    bars: dict[str, dict[str, float]] = {}
    currencies = {str(r.get(cur) or "") for r in rows}
    currency = currencies.pop() if len(currencies) == 1 else ""
    for row in rows:
        segments = bars.setdefault(str(row.get(bar) or ""), {})
        name = code_label(codes, row.get(series))
        segments[name] = segments.get(name, 0.0) + float(row.get(value) or 0)
    names = sorted({name for segments in bars.values() for name in segments})
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    order = sorted(bars, key=lambda b: -sum(bars[b].values()))
    return {"title": spec.get("title") or "", "description": spec.get("description") or "",
            "svg": Markup(bar_svg(order, bars, names, colours, currency, spec.get("title") or "", number)),
            "legend": [{"name": n, "colour": colours[n]} for n in names],
            "bar_title": spec.get("bar_title") or "",
            "rows": [{"bar": b, "total": amount_text(sum(bars[b].values()), currency),
                      "parts": "; ".join(f"{n}: {amount_text(v, currency)}" for n, v in
                                         sorted(bars[b].items(), key=lambda kv: -kv[1]))} for b in order]}


async def dot_map(datasette, db: str, spec: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Places with coordinates as dots on an SVG in the Web Mercator projection, each a link to its record:
    configured under `site.map` with `sql` (rows of id, name, lat, lon) and `resource` (whose records
    the dots link to). Rows without coordinates stay off the map. No tiles: nothing is fetched from elsewhere."""
    if not spec.get("sql"):
        return {}
    try:
        rows = [dict(r) for r in (await datasette.get_database(db).execute(spec["sql"])).rows]
    except Exception:  # a broken map must not take the home page down
        log.error("map query failed")
        return {}
    points = [r for r in rows if isinstance(r.get("lat"), int | float) and isinstance(r.get("lon"), int | float)]
    if not points:
        return {}
    def project(lat: float, lon: float) -> tuple[float, float]:
        return lon, math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))

    xy = [project(p["lat"], p["lon"]) for p in points]
    left, right = min(x for x, _ in xy), max(x for x, _ in xy)
    low, high = min(y for _, y in xy), max(y for _, y in xy)
    width, pad = 640.0, 24.0
    scale = (width - 2 * pad) / max(right - left, 1e-6)
    height = min(max((high - low) * scale + 2 * pad, 160.0), 900.0)
    scale = min(scale, (height - 2 * pad) / max(high - low, 1e-6))
    title = spec.get("title") or "Map"
    parts = [f'<svg class="bs-map" viewBox="0 0 {width:.0f} {height:.0f}" role="group" aria-labelledby="bs-map-t" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="bs-map-t">{html_escape(title)}</title>'
             f'<rect width="100%" height="100%" fill="#eef3f7"/>']
    resource = spec.get("resource") or ""
    for point, (x, y) in sorted(zip(points, xy, strict=True), key=lambda pair: pair[1][1]):
        cx, cy = pad + (x - left) * scale, height - pad - (y - low) * scale
        href = record_href(datasette, db, resource, point["id"]) if resource else ""
        name = html_escape(str(point.get("name") or point["id"]))
        dot = (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#1a4fa0" stroke="#fff"><title>{name}</title></circle>'
               f'<text x="{cx + 6:.1f}" y="{cy + 4:.1f}" font-size="10">{name}</text>')
        parts.append(f'<a href="{html_escape(href)}">{dot}</a>' if href else dot)
    parts.append("</svg>")
    return {"title": title, "description": spec.get("description") or "", "svg": Markup("".join(parts)),
            "count": len(points), "missing": len(rows) - len(points),
            "dots": [{"name": str(p.get("name") or p["id"]),
                        "href": record_href(datasette, db, resource, p["id"]) if resource else "",
                        "where": f"{p['lat']:.4f}, {p['lon']:.4f}"} for p in points]}


def amount_text(amount: float, currency: str) -> str:
    return money(amount, currency) or str(fmt_number(amount))


def bar_svg(order: list[str], bars: dict[str, dict[str, float]], names: list[str], colours: dict[str, str],
            currency: str, title: str, number: int = 0) -> str:
    """Horizontal stacked bars, one per row of `order`, scaled to the largest total; text in the SVG is escaped."""
    width, label_w, row_h, top = 640, 170, 26, 8
    biggest = max((sum(s.values()) for s in bars.values()), default=0) or 1
    height = top + row_h * len(order) + 8
    parts = [f'<svg class="bs-chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="bs-chart-{number}" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="bs-chart-{number}">{html_escape(title)}</title>']
    for i, name in enumerate(order):
        y = top + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" font-size="12">'
                     f'{html_escape(name)}</text>')
        x = float(label_w)
        for series in names:
            amount = bars[name].get(series, 0.0)
            if not amount:
                continue
            w = (width - label_w - 90) * amount / biggest
            shown_amount = money(amount, currency) or fmt_number(amount)
            parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row_h - 8}" '
                         f'fill="{colours[series]}"><title>{html_escape(name)}, {html_escape(series)}: '
                         f'{html_escape(shown_amount)}</title></rect>')
            x += w
        total = sum(bars[name].values())
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 16}" font-size="12">'
                     f'{html_escape(money(total, currency) or fmt_number(total))}</text>')
    parts.append("</svg>")
    return "".join(parts)


async def counts(datasette, db: str, names: set[str], resources: dict[str, Any], views: list[str]) -> list[dict]:
    database = datasette.get_database(db)
    known: dict[str, int] = {}
    if "_tables" in names:
        for row in (await database.execute("select table_name, row_count from _tables")).rows:
            known[row[0]] = row[1]
    rows = []
    for name in [*resources, *views]:
        if name not in names:
            continue
        if name not in known:
            known[name] = (await database.execute(f"select count(*) from {quote(name)}")).single_value()
        spec = resources.get(name) or {}
        rows.append({"name": name, "title": spec.get("title") or name.replace("_", " ").capitalize(),
                     "count": known[name], "top_level": bool(spec.get("top_level")), "view": name in views,
                     "href": datasette.urls.table(db, name)})
    return rows


async def last_updated(database, names: set[str], conf: dict[str, Any]) -> str:
    """The newest change in the record history, else the site's own query for it (e.g. the newest source), else
    the package's `created` date, else the day the database was built."""
    queries = []
    if "record_history" in names:
        queries.append("select max(date) from record_history")
    if conf.get("updated_sql"):
        queries.append(conf["updated_sql"])
    for sql in queries:
        try:
            value = (await database.execute(sql)).single_value()
        except Exception:  # a broken site query must not break the home page
            log.exception("last-updated query failed")
            continue
        if value:
            return str(value)[:10]
    if conf.get("created"):
        return str(conf["created"])[:10]
    built = Path(database.path).stat().st_mtime if database.path else None
    return datetime.fromtimestamp(built, UTC).date().isoformat() if built else ""


async def headline(database, spec: dict[str, Any]) -> str:
    """The reconciliation headline: site/metadata.yml gives a query and a sentence with {column} blanks."""
    if not spec.get("sql") or not spec.get("text"):
        return ""
    try:
        row = (await database.execute(spec["sql"])).first()
    except Exception:
        log.exception("headline query failed")
        return ""
    if row is None:
        return ""
    values = {key: fmt_number(value) for key, value in dict(row).items()}
    try:
        return spec["text"].format_map(values)
    except (KeyError, ValueError):
        log.exception("headline text does not match its query")
        return ""


def fmt_number(value: Any) -> Any:
    """A number with the locale's grouping (1,568,000,000); integral floats without a decimal part."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return format_decimal(value, locale=LOCALE, decimal_quantization=False)


def downloads_dir(datasette, db: str) -> Path | None:
    path = datasette.get_database(db).path
    return Path(path).parent / "downloads" if path else None


def table_titles(datasette, db: str, resources: dict[str, Any]) -> dict[str, str]:
    """Every table's title: the schema's for resources, the site metadata's for views."""
    tables = (datasette.metadata("tables", database=db, fallback=False) or {})
    titles = {name: meta.get("title") for name, meta in tables.items() if isinstance(meta, dict) and meta.get("title")}
    return {**titles, **{name: spec["title"] for name, spec in resources.items() if spec.get("title")}}


def downloads(datasette, db: str, tables: list[str], titles: dict[str, str] | None = None) -> dict[str, Any]:
    folder = downloads_dir(datasette, db)
    if folder is None:
        return {}
    base = "/-/downloads/"

    def present(relative: str) -> str | None:
        return base + relative if (folder / relative).is_file() else None

    return {
        "zip": present(f"{db}.zip"),
        "descriptor": present("datapackage.json"),
        "json_all": present(f"json/{db}.json"),
        "sqlite": base + f"{db}.db",
        "tables": [{"name": t, "title": (titles or {}).get(t) or t, "csv": present(f"csv/{t}.csv"),
                    "json": present(f"json/{t}.json")} for t in tables
                   if present(f"csv/{t}.csv") or present(f"json/{t}.json")],
    }


# ---------------------------------------------------------------- record pages


async def record(datasette, db: str, table: str, pks: str) -> dict[str, Any] | None:
    conf = config(datasette)
    resources = conf.get("resources") or {}
    spec = resources.get(table)
    if conf.get("database") != db or not spec or not spec.get("top_level"):
        return None
    names = await table_names(datasette, db)
    limit_ms = datasette.setting("sql_time_limit_ms")

    def build(conn) -> dict[str, Any] | None:
        with sqlite_timelimit(conn, limit_ms):  # the same bound as every query Datasette runs itself
            return record_page(Labels(datasette, db, resources, conn), conf, table, tilde_decode(pks), names)

    return await datasette.get_database(db).execute_fn(build)


def record_page(labels: Labels, conf: dict[str, Any], table: str, record_id: str,
                names: set[str]) -> dict[str, Any] | None:
    spec = labels.resources[table]
    row = labels.row(table, record_id)
    if row is None:
        return None
    citations = citations_by_field(labels, table, record_id, names)
    facts = []
    for field in spec["fields"]:
        if field["name"] in (spec.get("key") or []):
            continue
        value = cell(labels, spec, field["name"], row.get(field["name"]), row)
        facts.append({**field, "value": value, "citations": citations.get(field["name"], [])})
    lists, disagreements = child_lists(labels, table, record_id, names, conf)
    return {
        "resource": table, "resource_title": spec["title"], "id": record_id,
        "label": str(row.get(spec.get("label") or "") or record_id),
        "facts": facts, "lists": lists, "disagreements": disagreements,
        "paired": paired_disagreements(labels, conf, table, record_id, names),
        "list_citations": {k: v for k, v in citations.items() if k not in row},
        "related": related(labels, table, record_id, names),
        "supports": supports(labels, spec, record_id),
        "table_href": labels.datasette.urls.table(labels.db, table),
        "dates": record_dates(labels, table, record_id, names),
    }


def supports(labels: Labels, spec: dict[str, Any], record_id: str) -> list[dict[str, Any]]:
    """For a record that citations point at (a source): every record it supports, each with the facts and list
    entries it supports there (from the query the build generates for the resource)."""
    sql = spec.get("supports_sql")
    if not sql:
        return []
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for row in labels.query(sql, {"id": record_id}):
        key = (row["resource"], str(row["record_id"]))
        if key not in records:
            link = labels.link(row["resource"], row["record_id"])
            kind = (labels.resources.get(row["resource"]) or {}).get("title") or row["resource"]
            records[key] = {**link, "kind": kind, "facts": []}
        fact = fact_title(labels.resources.get(row["resource"]) or {}, str(row["fact"] or ""))
        shown_fact = fact + (f" ({row['locator']})" if row.get("locator") else "")
        if shown_fact not in records[key]["facts"]:
            records[key]["facts"].append(shown_fact)
    return sorted(records.values(), key=lambda r: (r["kind"], r["text"]))


def fact_title(spec: dict[str, Any], fact: str) -> str:
    """A cited field's title (the query names fields by their column) or a list's title as given."""
    return next((f.get("title") or fact for f in spec.get("fields") or [] if f["name"] == fact), fact)


def source_reference(spec: dict[str, Any]) -> dict[str, str] | None:
    """The foreign key of a child row that names its source: any reference other than the link to the parent."""
    for ref in spec.get("references") or []:
        if ref["column"] not in (spec.get("parent_link") or {}) and ref["table"] != spec.get("parent"):
            return ref
    return None


def child_where(spec: dict[str, Any]) -> str:
    column = next(iter(spec.get("parent_link") or {"id": "id"}))
    order = f" order by {quote(spec['position'])}" if spec.get("position") else ""
    return f"where {quote(column)} = ?{order}"


def citations_by_field(labels: Labels, table: str, record_id: str, names: set[str]) -> dict[str, list]:
    resources = labels.resources
    name = resources[table].get("citation_table")
    if not name or name not in names:
        return {}
    spec = resources[name]
    ref = source_reference(spec)
    found: dict[str, list] = {}
    for row in labels.query(f"select * from {quote(name)} {child_where(spec)}", [record_id]):
        source = labels.link(ref["table"], row[ref["column"]]) if ref else {"text": ""}
        found.setdefault(row[spec["cites"]], []).append(
            {"source": source, "locator": row.get("locator") or "", "note": row.get("note") or ""})
    return found


def child_lists(labels: Labels, table: str, record_id: str, names: set[str],
                conf: dict[str, Any]) -> tuple[list, list]:
    resources, lists, disagreements = labels.resources, [], []
    rules = conf.get("disagreements") or {}
    for name in resources[table].get("children") or []:
        spec = resources[name]
        if spec.get("cites") or name not in names:
            continue
        hidden = set(spec.get("parent_link") or {}) | {spec.get("position")}
        columns = [f for f in spec["fields"] if f["name"] not in hidden]
        rows = []
        for row in labels.query(f"select * from {quote(name)} {child_where(spec)}", [record_id]):
            rows.append({"cells": [cell(labels, spec, c["name"], row.get(c["name"]), row) for c in columns],
                         "raw": row})
        if rows:
            lists.append({"name": name, "title": spec["title"], "columns": columns, "rows": rows,
                          "href": labels.datasette.urls.table(labels.db, name) + f"?{next(iter(spec['parent_link']))}="
                          + tilde_encode(str(record_id))})
        if name in rules and rows:
            disagreements += disagreeing(spec, rules[name], columns, rows)
    return lists, disagreements


def disagreeing(spec: dict[str, Any], rule: dict[str, Any], columns: list, rows: list) -> list[dict[str, Any]]:
    """Rows of one record that measure the same thing (same `key` columns) but give different `values`."""
    keys, values = rule.get("key") or [], rule.get("values") or []
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(tuple(row["raw"].get(k) for k in keys), []).append(row)
    found = []
    titles = {c["name"]: c["title"] for c in spec["fields"]}
    for key, members in groups.items():
        distinct = {tuple(m["raw"].get(v) for v in values) for m in members}
        if len(distinct) > 1:
            heading = ", ".join(titles.get(k, k) for k in keys)
            found.append({"key": f"{heading}: " + " · ".join(str(k) for k in key if k is not None),
                          "sides": [claim(columns, member) for member in members]})
    return found


def claim(columns: list, row: dict[str, Any]) -> dict[str, Any]:
    """One source's side of a disagreement, in the shape pair_side gives: its non-empty values, titled."""
    return {"cells": [{"title": column["title"], "value": value}
                      for column, value in zip(columns, row["cells"], strict=True) if value.get("text")]}


def paired_disagreements(labels: Labels, conf: dict[str, Any], table: str, record_id: str,
                         names: set[str]) -> list[dict[str, Any]]:
    """Disagreements a derived table pairs up across records (e.g. figures of two records linked as the same
    project), configured in site/metadata.yml under `site.paired_disagreements.<table>`:
    `resource` (whose record pages show them), `sides` (column suffixes of the two sides, default [_a, _b]),
    `record` (the column, without suffix, naming each side's record), `key` (columns the pair shares, the
    heading), `columns` (each side's columns, without suffix), `links` (column → table its values name),
    `titles` (column → title), and `same_record` (false: leave out pairs within one record, which the
    record's own lists already show)."""
    found = []
    for name, rule in (conf.get("paired_disagreements") or {}).items():
        if rule.get("resource") != table or name not in names or not rule.get("record"):
            continue
        first, second = rule.get("sides") or ["_a", "_b"]
        own = [quote(rule["record"] + suffix) for suffix in (first, second)]
        rows = labels.query(f"select * from {quote(name)} where {own[0]} = ? or {own[1]} = ? order by rowid",
                            [record_id, record_id])
        for row in rows:
            ids = [row.get(rule["record"] + suffix) for suffix in (first, second)]
            if rule.get("same_record") is False and ids[0] == ids[1]:
                continue
            found.append({
                "key": " · ".join(str(row[k]).replace("_", " ") for k in rule.get("key") or []
                                  if row.get(k) not in (None, "")),
                "sides": [pair_side(labels, rule, row, suffix, record_id) for suffix in (first, second)],
            })
    return found


def pair_side(labels: Labels, rule: dict[str, Any], row: dict[str, Any], suffix: str,
              record_id: str) -> dict[str, Any]:
    """One side of a pair: its record (linked unless it is the page's own) and its values, titled."""
    links, titles = rule.get("links") or {}, rule.get("titles") or {}
    cells = []
    for column in [rule["record"], *(rule.get("columns") or [])]:
        value = row.get(column + suffix)
        if value in (None, ""):
            continue
        kind = "number" if isinstance(value, int | float) else None
        value_shown = labels.link(links[column], value) if column in links else {"text": readable(kind, value)}
        if column == rule["record"] and str(value) == str(record_id):
            value_shown = {**value_shown, "href": None, "text": value_shown["text"] + " (this record)"}
        cells.append({"title": titles.get(column) or column_words(column), "value": value_shown})
    return {"cells": cells}


def column_words(column: str) -> str:
    """`source_id` → `Source`: a column name as words, for derived tables that have no schema titles."""
    words = column.removesuffix("_id").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def related(labels: Labels, table: str, record_id: str, names: set[str]) -> list[dict[str, Any]]:
    """Records that point at this one: top-level records directly, child rows through their parent record."""
    resources = labels.resources
    groups: dict[str, dict[str, Any]] = {}
    for name, spec in resources.items():
        if name not in names:
            continue
        for ref in spec.get("references") or []:
            is_own_child = spec.get("parent") == table and ref["column"] in (spec.get("parent_link") or {})
            if ref["table"] != table or is_own_child:
                continue
            owner = name if spec.get("top_level") else top_ancestor(resources, name)
            link_column = spec["key"][0] if spec.get("top_level") else owner_column(resources, name)
            if owner is None or link_column is None:
                continue
            found = labels.conn.execute(
                f"select distinct {quote(link_column)} from {quote(name)} where {quote(ref['column'])} = ?",
                [record_id]).fetchall()
            title_of_column = next((f["title"] for f in spec["fields"] if f["name"] == ref["column"]), ref["column"])
            group = groups.setdefault(owner, {"title": resources[owner]["title"], "items": []})
            for (other_id,) in found:
                if owner == table and other_id == record_id:
                    continue
                link = labels.link(owner, other_id)
                link["via"] = spec["title"] if not spec.get("top_level") else title_of_column
                if all(item["id"] != link["id"] for item in group["items"]):
                    group["items"].append(link)
    return [g for g in groups.values() if g["items"]]


def top_ancestor(resources: dict[str, Any], name: str) -> str | None:
    seen = 0
    while name in resources and not resources[name].get("top_level") and seen < 10:
        name, seen = resources[name].get("parent"), seen + 1
    return name if name in resources and resources[name].get("top_level") else None


def owner_column(resources: dict[str, Any], name: str) -> str | None:
    """The column of a child table that holds its top-level record's id (direct children only)."""
    spec = resources[name]
    if resources.get(spec.get("parent"), {}).get("top_level"):
        return next(iter(spec.get("parent_link") or {}), None)
    return None


# ---------------------------------------------------------------- search


# ---------------------------------------------------------------- search that forgives
#
# Search that forgives: word forms, spellings and typos, over the build's `_search_words` vocabulary.
#
# The build (broadsheet.words) stores every searchable word folded (see `folding`) with its folded Snowball stem.
# What a visitor types is folded and stemmed the same way (PyStemmer: Russian for Cyrillic words, English for
# Latin ones). There is no maintained Snowball stemmer for Kazakh; Kazakh case forms (Семейдегі) are found by
# prefix (an index word that starts with what was typed) and by the typo tolerance, which also catches
# transliteration variants and misspellings: an index word, or its start, within a small Levenshtein distance
# (rapidfuzz) of the typed word.
#
# A record matches when every typed word matches one of its searchable texts (if no record has them all, those
# matching most words). Records are ranked by how well the words match (the same word, then a longer word, then
# the same stem, then a typo), matches in the record's own title first, then shorter titles.

WORDS = "_search_words"
WORD = re.compile(r"\w+", re.UNICODE)
CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
STEMMERS = {"cyrillic": Stemmer.Stemmer("russian"), "latin": Stemmer.Stemmer("english")}
MAX_QUERY_WORDS = 8
# How well one typed word matches one word of the index.
SAME, LONGER, SAME_STEM, TYPO = 4.0, 3.0, 2.5, 1.5
TITLE_BONUS = 1.5


def stem(word: str) -> str:
    lower = word.lower()
    return fold(STEMMERS["cyrillic" if CYRILLIC_LETTER.search(lower) else "latin"].stemWord(lower))


def allowed_typos(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


class Vocabulary:
    """The distinct words of the index with their stems, in memory; loaded once per database file. (A plain
    class: Datasette loads this file without a module of its own, which dataclasses need.)"""

    def __init__(self, words: list[str], stems: dict[str, str], by_stem: dict[str, list[str]]) -> None:
        self.words, self.stems, self.by_stem = words, stems, by_stem

    @classmethod
    def load(cls, conn) -> Vocabulary:  # type: ignore[no-untyped-def]
        pairs = conn.execute(f"select distinct word, stem from {WORDS} order by word").fetchall()
        stems = {word: stemmed for word, stemmed in pairs}
        by_stem: dict[str, list[str]] = {}
        for word, stemmed in pairs:
            by_stem.setdefault(stemmed, []).append(word)
        return cls(list(stems), stems, by_stem)

    def matches(self, typed: str) -> dict[str, float]:
        """The index words one typed word matches, each with how well."""
        folded, stemmed = fold(typed), stem(typed)
        if not folded:
            return {}
        found: dict[str, float] = {}

        def offer(word: str, score: float) -> None:
            if score > found.get(word, 0.0):
                found[word] = score

        if folded in self.stems:
            offer(folded, SAME)
        for word in self.prefixed(folded):
            offer(word, LONGER)
        if len(stemmed) >= 3:
            for word in self.by_stem.get(stemmed, []):
                offer(word, SAME_STEM)
            # A Russian case form whose stem differs from the nominative's (Семея: stem семе; Семей: сем): an
            # index word whose stem is the typed word less an ending of one or two letters.
            lower = typed.lower()
            if CYRILLIC_LETTER.search(lower):
                for cut in range(max(3, len(lower) - 2), len(lower)):
                    for word in self.by_stem.get(fold(lower[:cut]), []):
                        offer(word, SAME_STEM - 0.25)
        typos = allowed_typos(folded)
        if typos:
            for word, dist, _ in process.extract(folded, self.words, scorer=distance.Levenshtein.distance,
                                                 score_cutoff=typos, limit=50):
                offer(word, TYPO - 0.25 * dist)
            # A typo in the start of a longer word: compare with the word's first letters.
            starts = process.extract(folded, [w[: len(folded) + 1] for w in self.words],
                                     scorer=distance.Levenshtein.distance, score_cutoff=typos, limit=50)
            for _, dist, position in starts:
                offer(self.words[position], TYPO - 0.25 * dist - 0.25)
        return found

    def prefixed(self, folded: str, limit: int = 200) -> list[str]:
        """Index words that begin with the typed word, when it has three letters or more."""
        if len(folded) < 3:
            return []
        found = []
        for word in self.words[bisect_left(self.words, folded):]:
            if not word.startswith(folded) or len(found) >= limit:
                break
            found.append(word)
        return found


def _chunks(items: list[Any], size: int = 500):  # type: ignore[no-untyped-def]
    for start in range(0, len(items), size):
        yield items[start:start + size]


def forgiving_search(conn, vocabulary: Vocabulary, query: str, limit: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """One hit per record (resource, record_id), best first: its best-matching row, a title row if it matched."""
    typed = WORD.findall(query)[:MAX_QUERY_WORDS]
    if not typed:
        return []
    per_word = [vocabulary.matches(word) for word in typed]
    scores: dict[int, list[float]] = {}
    for position, matches in enumerate(per_word):
        for part in _chunks(list(matches)):
            marks = ", ".join("?" for _ in part)
            for word, rowid in conn.execute(f"select word, search_rowid from {WORDS} where word in ({marks})", part):
                row_scores = scores.setdefault(rowid, [0.0] * len(typed))
                row_scores[position] = max(row_scores[position], matches[word])
    rows: dict[int, dict[str, Any]] = {}
    for part in _chunks(list(scores)):
        marks = ", ".join("?" for _ in part)
        for row in conn.execute("select rowid, resource, record_id, label, field, text from _search "
                                f"where rowid in ({marks})", part):
            rows[row[0]] = {"resource": row[1], "record_id": row[2], "label": row[3], "field": row[4],
                            "text": row[5]}
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for rowid, row_scores in scores.items():
        row = rows[rowid]
        record = records.setdefault((row["resource"], str(row["record_id"])),
                                    {"best": [0.0] * len(typed), "title": [0.0] * len(typed), "rows": []})
        is_title = row["text"] == row["label"]
        for position, score in enumerate(row_scores):
            record["best"][position] = max(record["best"][position], score)
            if is_title:
                record["title"][position] = max(record["title"][position], score)
        record["rows"].append((is_title, sum(row_scores), -rowid))
    if not records:
        return []
    most = max(sum(1 for s in r["best"] if s) for r in records.values())

    def rank(record: dict[str, Any]) -> tuple[Any, ...]:
        label = rows[-record["rows"][0][2]]["label"] or ""
        score = sum(record["best"]) + TITLE_BONUS * sum(1 for s in record["title"] if s) / len(typed)
        return (-score, len(label), label)

    best = sorted((r for r in records.values() if sum(1 for s in r["best"] if s) == most), key=rank)
    return [rows[-max(r["rows"])[2]] for r in best[:limit]]


_vocabularies: dict[tuple[str, float], Vocabulary] = {}


async def vocabulary(database) -> Vocabulary:  # type: ignore[no-untyped-def]
    """The database's search vocabulary, loaded once per file (keyed by its path and modification time)."""
    key = (str(database.path), Path(database.path).stat().st_mtime if database.path else 0.0)
    if key not in _vocabularies:
        _vocabularies[key] = await database.execute_fn(Vocabulary.load)
    return _vocabularies[key]


def fts_query(text: str) -> str:
    """Every word as a quoted prefix term, so no visitor input is read as FTS syntax."""
    words = [w for w in re.split(r"\s+", text.strip()) if w][:12]
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


class FoldedIndex:
    """Every searchable text of the immutable database, folded (see `fold`) and joined into one string, so a
    spelling-insensitive substring search is one C-level `str.find` per hit instead of a Python function call on
    every row (a full scan of 370k texts took over a second, past the SQL time limit). Built once per database
    file; about 2 bytes per character of searchable text."""

    def __init__(self, rowids: list[int], texts: list[str]) -> None:
        self.rowids = array("q", rowids)
        self.text = "\n".join(texts)
        self.starts = array("q", accumulate((len(t) + 1 for t in texts[:-1]), initial=0))

    @classmethod
    def from_rows(cls, rows: list[tuple[int, str]]) -> FoldedIndex:
        # One fold over everything: texts cannot hold the separator, and folding never creates one.
        joined = fold("\n".join(str(text).replace("\n", " ") for _, text in rows))
        return cls([rowid for rowid, _ in rows], joined.split("\n") if rows else [])

    def find(self, text: str, limit: int) -> list[int]:
        """Row ids whose folded text contains the folded `text`, in row order, each row once."""
        needle = fold(" ".join(text.split()))
        found: list[int] = []
        position = 0
        while needle and len(found) < limit:
            position = self.text.find(needle, position)
            if position < 0:
                break
            row = bisect_right(self.starts, position) - 1
            found.append(self.rowids[row])
            position = self.starts[row + 1] if row + 1 < len(self.starts) else len(self.text)
        return found


_indexes: dict[tuple[str, float], FoldedIndex] = {}
_building: dict[tuple[str, float, int], asyncio.Future] = {}


async def folded_index(database) -> FoldedIndex:
    """The database's folded search index, built on first use in a SQL thread (concurrent callers share the
    build; kept for the life of the process, keyed by the file and its modification time)."""
    key = (str(database.path), Path(database.path).stat().st_mtime if database.path else 0.0)
    if key in _indexes:
        return _indexes[key]
    building = (*key, id(asyncio.get_running_loop()))
    if building not in _building:
        def build(conn) -> FoldedIndex:
            return FoldedIndex.from_rows(conn.execute("select rowid, text from _search order by rowid").fetchall())

        _building[building] = asyncio.ensure_future(database.execute_fn(build))
    try:
        _indexes[key] = await _building[building]
    finally:
        _building.pop(building, None)
    return _indexes[key]


async def search(datasette, q: str) -> list[dict[str, Any]]:
    conf = config(datasette)
    db = conf.get("database")
    q = q.strip()[:200]
    if not q or not db or db not in datasette.databases or "_search" not in await table_names(datasette, db):
        return []
    database = datasette.get_database(db)
    found: list[dict[str, Any]] = []
    names = await table_names(datasette, db)
    if WORDS in names:
        words = await vocabulary(database)
        found += await database.execute_fn(lambda conn: forgiving_search(conn, words, q, SEARCH_LIMIT))
    if "_search_fts" in names:
        try:
            found += [dict(r) for r in (await database.execute(
                "select s.resource, s.record_id, s.label, s.field, s.text from _search_fts f "
                "join _search s on s.rowid = f.rowid where _search_fts match ? order by f.rank limit ?",
                [fts_query(q), SEARCH_LIMIT])).rows]
        except Exception:  # an odd query must not become an error page; the spelling search below still runs
            log.info("full-text query failed for %r", q)
    rowids = (await folded_index(database)).find(q, SEARCH_LIMIT)
    if rowids:
        found += [dict(r) for r in (await database.execute(
            "select resource, record_id, label, field, text from _search where rowid in "
            f"({', '.join('?' for _ in rowids)}) order by rowid", rowids)).rows]
    return ranked_results(datasette, db, conf.get("resources") or {}, found)


def ranked_results(datasette, db: str, resources: dict[str, Any], found: list[dict]) -> list[dict[str, Any]]:
    """One result per record, in the order found (the forgiving search's ranking first), with its kind."""
    results = []
    for group in group_results(datasette, db, resources, found):
        results += [{**item, "kind": group["title"], "group": group["resource"]} for item in group["items"]]
    return sorted(results, key=lambda item: item["rank"])


def group_results(datasette, db: str, resources: dict[str, Any], found: list[dict]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    for hit in found:
        resource = hit["resource"] if resources.get(hit["resource"], {}).get("top_level") else \
            top_ancestor(resources, hit["resource"]) or hit["resource"]
        key = (resource, str(hit["record_id"]))
        if key in seen:
            continue
        seen.add(key)
        group = groups.setdefault(resource, {"resource": resource, "items": [],
                                             "title": resources.get(resource, {}).get("title", resource)})
        group["items"].append({**hit, "href": record_href(datasette, db, resource, hit["record_id"]), "rank": len(seen),
                               "matched": hit["text"] if hit["text"] != hit["label"] else "",
                               "field_title": field_title(resources, hit["resource"], hit["field"])})
    return list(groups.values())


def field_title(resources: dict[str, Any], resource: str, field: str) -> str:
    """The schema's title of the column a search hit matched: `field` is `column` of the record's own table, or
    `child_table.column` for a child list (e.g. other names). A child column with a plain name (`name`) is
    titled with its list (`Other names: Name`), so the journalist sees where the match is."""
    table, _, column = field.rpartition(".")
    spec = resources.get(table or resource) or {}
    title = next((f.get("title") or column for f in spec.get("fields") or [] if f["name"] == column), column)
    if table and spec.get("title"):
        return f"{spec['title']}: {title}" if title.lower() not in spec["title"].lower() else spec["title"]
    return title


# ---------------------------------------------------------------- Atom feed of changes


def atom_date(value: Any) -> str:
    text = str(value or "1970-01-01")
    if len(text) == 10:
        return text + "T00:00:00Z"
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


async def changes_feed(datasette, request) -> Response:
    conf = config(datasette)
    db = conf.get("database") or ""
    base = f"{request.scheme}://{request.host}"
    entries, updated = [], atom_date(conf.get("created") or None)
    if db in datasette.databases and "record_history" in await table_names(datasette, db):
        rows = (await datasette.get_database(db).execute(
            "select resource, record_id, date, \"commit\", subject, change, fields_changed from record_history "
            "order by date desc, rowid desc limit ?", [FEED_LIMIT])).rows
        resources = conf.get("resources") or {}

        def find_links(conn) -> list[dict[str, Any]]:
            labels = Labels(datasette, db, resources, conn)
            return [labels.link(r["resource"], r["record_id"]) if r["resource"] in resources else {} for r in rows]

        links = await datasette.get_database(db).execute_fn(find_links)
        for row, link in zip(rows, links, strict=True):
            href = base + (link.get("href") or record_href(datasette, db, row["resource"], row["record_id"]))
            entries.append(
                f"<entry><title>{escape(str(row['change'] or 'changed').capitalize())} in "
                f"{escape(resources.get(row['resource'], {}).get('title', row['resource']))}: "
                f"{escape(link.get('text') or str(row['record_id']))}</title>"
                f"<id>urn:broadsheet:{escape(db)}:{escape(row['resource'])}:{escape(str(row['record_id']))}:"
                f"{escape(str(row['commit']))}</id><link href=\"{escape(href)}\"/>"
                f"<updated>{escape(atom_date(row['date']))}</updated>"
                f"<summary>{escape(str(row['subject'] or ''))}{escape(changed_fields(row['fields_changed']))}</summary>"
                "</entry>")
        if rows:
            updated = atom_date(rows[0]["date"])
    title = escape(datasette.metadata("title") or db)
    body = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{title}: records added or changed</title><id>urn:broadsheet:{escape(db)}:changes</id>"
            f"<updated>{updated}</updated><author><name>{title}</name></author>"
            f"<link rel=\"self\" href=\"{escape(base)}/-/changes.atom\"/><link href=\"{escape(base)}/\"/>"
            + "".join(entries) + "</feed>\n")
    return Response(body, content_type="application/atom+xml; charset=utf-8")


def changed_fields(value: Any) -> str:
    """` (fields: a, b)` from the JSON list the history stores; empty when nothing is listed."""
    try:
        names = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        names = [value]
    return f" (fields: {', '.join(str(n) for n in names)})" if names else ""


def record_dates(labels: Labels, resource: str, record_id: str, names: set[str]) -> dict[str, str]:
    """When the record was first added and last changed, from the history of the data."""
    if "record_history" not in names:
        return {}
    row = labels.conn.execute(
        "select min(date), max(date) from record_history where resource = ? and record_id = ?",
        [resource, record_id]).fetchone()
    return {"added": row[0], "changed": row[1]} if row and row[0] else {}


# ---------------------------------------------------------------- routes and hooks


async def search_page(datasette, request) -> Response:
    q = request.args.get("q", "")
    results = await search(datasette, q) if q.strip() else []
    html = await datasette.render_template("search.html", {"q": q, "results": results, "total": len(results)},
                                           request=request)
    return Response.html(html)


async def download(datasette, request) -> Response:
    """Files from out/downloads (and the SQLite file itself), with content types that spreadsheets expect."""
    conf = config(datasette)
    db = conf.get("database") or ""
    folder = request.url_vars.get("folder") or ""
    name = request.url_vars["name"]
    if db not in datasette.databases or not SAFE_NAME.match(name) or folder not in ("", "csv", "json"):
        return Response.text("Not found", status=404)
    database_file = Path(datasette.get_database(db).path)
    path = database_file if not folder and name == f"{db}.db" else database_file.parent / "downloads" / folder / name
    suffix = path.suffix.lower()
    if suffix not in CONTENT_TYPES or not path.is_file():
        return Response.text("Not found", status=404)
    headers = {"content-disposition": f'attachment; filename="{path.name}"',
               "last-modified": formatdate(path.stat().st_mtime, usegmt=True)}
    return Response(path.read_bytes(), content_type=CONTENT_TYPES[suffix], headers=headers)


@hookimpl
def startup(datasette):
    async def inner() -> None:
        """Build the folded search index before the first visitor searches (about a second at 100k records)."""
        db = config(datasette).get("database")
        if db in datasette.databases and "_search" in await table_names(datasette, db):
            await folded_index(datasette.get_database(db))

    return inner


def without_facets_after_the_first_page(query_string: bytes) -> bytes:
    """Adds `_nofacet=1` to a query string that pages on with `_next`. Datasette 0.65 counts facets of a later
    page over the rows after its cursor only (different, misleading numbers on every page) and, because of that
    condition, cannot count them from the facet column's index: a full scan per page (58 ms at 70k rows against
    7 ms on the first page). Facets describe the whole selection, so they are shown on its first page."""
    params = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
    if "_next" not in params or "_nofacet" in params:
        return query_string
    return query_string + b"&_nofacet=1"


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def first_page_facets(scope, receive, send):
            if scope["type"] == "http" and scope.get("query_string"):
                scope = {**scope, "query_string": without_facets_after_the_first_page(scope["query_string"])}
            await app(scope, receive, send)

        return first_page_facets

    return wrap


@hookimpl
def register_routes():
    return [
        (r"^/-/search$", search_page),
        (r"^/-/changes\.atom$", changes_feed),
        (r"^/-/downloads/(?P<name>[^/]+)$", download),
        (r"^/-/downloads/(?P<folder>csv|json)/(?P<name>[^/]+)$", download),
    ]


def column_titles(datasette, database: str | None, table: str | None) -> dict[str, str]:
    """A table's column names → the schema's titles, for the headers of its pages."""
    conf = config(datasette) if database and table else {}
    if conf.get("database") != database:
        return {}
    spec = (conf.get("resources") or {}).get(table) or {}
    return {f["name"]: f["title"] for f in spec.get("fields") or [] if f.get("title")}


def crumb_titles(datasette, database: str | None, table: str | None) -> dict[str, str]:
    """Breadcrumb labels (the database's and the table's names) → their titles from the metadata."""
    titles = {}
    if database:
        titles[database] = datasette.metadata("title", database=database, fallback=False) or database
        if table:
            titles[table] = datasette.metadata("title", database=database, table=table, fallback=False) or table
    return titles


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def inner():
        found: dict[str, Any] = {"bs_search_href": "/-/search", "bs_feed_href": "/-/changes.atom",
                                 "bs_crumb_titles": crumb_titles(datasette, database, table),
                                 "bs_column_titles": column_titles(datasette, database, table),
                                 "bs_value_labels": value_labels(datasette, database, table)}
        if view_name == "index":
            found["bs_home"] = await home(datasette)
        elif view_name == "row" and request is not None and "pks" in request.url_vars:
            found["bs_record"] = await record(datasette, database, table, request.url_vars["pks"])
        return found

    return inner
