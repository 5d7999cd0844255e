"""Pictures on the home page, drawn on the server as SVG (no script, nothing fetched): stacked bar charts
(`site.charts`) and a map of places with coordinates (`site.map`), each configured in site/metadata.yml."""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup
from markupsafe import escape as html_escape

from broadsheet_site.config import log, record_href
from broadsheet_site.values import code_label, fmt_number, money

PALETTE = ["#1f5fa8", "#e07b00", "#2e8b3e", "#c0392b", "#7d4fb0", "#8c5a2b", "#d45aa0", "#5c6770", "#a39b00",
           "#138d9c", "#9fb5e0", "#f2b86b", "#9dd39a", "#f0a09a"]


async def chart(database, resources: dict[str, Any], spec: dict[str, Any],  # type: ignore[no-untyped-def]
                number: int = 0) -> dict[str, Any]:
    """A stacked bar chart configured in site/metadata.yml under `site.charts`, from the rows of its `sql`
    (see `drawn`)."""
    try:
        rows = [dict(r) for r in (await database.execute(spec["sql"])).rows]
    except Exception:  # a broken chart must not take the home page down
        log.error("chart %r failed", spec.get("title"))
        return {}
    return drawn(rows, resources, spec, number)


def drawn(rows: list[dict[str, Any]], resources: dict[str, Any], spec: dict[str, Any],
          number: int = 0) -> dict[str, Any]:
    """A stacked bar chart of `rows`: one bar per value of `bar`, a segment per `series` (optionally labelled by
    a schema field's categories: `series_labels: resource.field`), sized by `value`, in the currency of
    `currency_column`; shown as an SVG with a title and description, and the same figures as a table beside it.
    Bars are drawn largest first, or in the rows' order with `order: rows`; `width` and `font_size` size the
    drawing (default 640 and 12, scaled to the column). Used by the home page's charts and
    by the `chart` sections of question pages (scripts/broadsheet_site/pages.py)."""
    table, _, column = str(spec.get("series_labels") or "").partition(".")
    codes = next((f.get("labels") or {} for f in (resources.get(table) or {}).get("fields") or []
                  if f["name"] == column), {})
    bar, series, value = (spec.get(k) or k for k in ("bar", "series", "value"))
    cur = spec.get("currency_column") or ""
    bars: dict[str, dict[str, float]] = {}
    currencies = {str(r.get(cur) or "") for r in rows}
    currency = currencies.pop() if len(currencies) == 1 else ""
    for row in rows:
        if not isinstance(row.get(value), int | float):
            continue  # an amount not known is left out, never drawn as nothing
        segments = bars.setdefault(str(row.get(bar) or ""), {})
        name = code_label(codes, row.get(series))
        segments[name] = segments.get(name, 0.0) + float(row.get(value) or 0)
    if not bars:
        return {}
    names = list(dict.fromkeys(name for segments in bars.values() for name in segments))
    if spec.get("order") != "rows":
        names.sort()
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    order = list(bars) if spec.get("order") == "rows" else sorted(bars, key=lambda b: -sum(bars[b].values()))
    return {"title": spec.get("title") or "", "description": spec.get("description") or "",
            "svg": Markup(bar_svg(order, bars, names, colours, currency, spec.get("title") or "", number,
                                  int(spec.get("width") or 640), int(spec.get("font_size") or 12))),
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
            currency: str, title: str, number: int = 0, width: int = 640, font: int = 12) -> str:
    """Horizontal stacked bars, one per row of `order`, scaled to the largest total; text in the SVG is escaped.
    `width` is the drawing's own width (it is scaled to the column): a narrower one keeps the text of a chart with
    few bars readable on a phone."""
    label_w, row_h, top, value_w = round(170 * font / 12), round(26 * font / 12), 8, round(90 * font / 12)
    biggest = max((sum(s.values()) for s in bars.values()), default=0) or 1
    height = top + row_h * len(order) + 8
    # Never drawn more than 1.2 times its own size, so a narrow drawing's text does not grow large on a desktop.
    parts = [f'<svg class="bs-chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="bs-chart-{number}" '
             f'style="max-width: {width * 1.2:.0f}px" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="bs-chart-{number}">{html_escape(title)}</title>']
    for i, name in enumerate(order):
        y = top + i * row_h
        baseline = y + round(row_h * 0.62)
        parts.append(f'<text x="{label_w - 6}" y="{baseline}" text-anchor="end" font-size="{font}">'
                     f'{html_escape(name)}</text>')
        x = float(label_w)
        for series in names:
            amount = bars[name].get(series, 0.0)
            if not amount:
                continue
            w = (width - label_w - value_w) * amount / biggest
            shown_amount = money(amount, currency) or fmt_number(amount)
            parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row_h - 8}" '
                         f'fill="{colours[series]}"><title>{html_escape(name)}, {html_escape(series)}: '
                         f'{html_escape(shown_amount)}</title></rect>')
            x += w
        total = sum(bars[name].values())
        parts.append(f'<text x="{x + 4:.1f}" y="{baseline}" font-size="{font}">'
                     f'{html_escape(money(total, currency) or fmt_number(total))}</text>')
    parts.append("</svg>")
    return "".join(parts)
