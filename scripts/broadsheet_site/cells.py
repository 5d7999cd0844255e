"""A page's cells, worked out once per table instead of once per cell.

Datasette asks `render_cell` for every cell of a page (100 rows of 9 columns: 900 calls). What a cell needs (does
its column link to a question page, is it drawn from the schema: codes, lists, money, web addresses) depends on
the table and the column only, so it is looked up once per table and site settings and kept: a cell of a column
that needs nothing costs one dictionary look-up. The rows of a table page are written here too, in one pass
(`rows_html`), rather than by a template loop per cell."""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from datasette.utils import tilde_encode, to_css_class
from markupsafe import Markup, escape

from broadsheet_site import pages, values
from broadsheet_site.config import config

# What the cells of the page being answered need, per (database, table): set to a new dict for each request by
# the plugin's ASGI wrapper, so the site's settings are looked at once per table and page, not once per cell.
PAGE: ContextVar[dict[tuple[str, str], dict[str, tuple[str | None, dict[str, Any] | None]]] | None] = ContextVar(
    "broadsheet_page_columns", default=None)

# (site settings object, database, table) → {column: (page path prefix or None, field drawn from the schema or
# None)}. The settings object is the one `config` returns for a build's structure: a new build gives a new one.
_columns: dict[tuple[int, str, str], tuple[Any, dict[str, tuple[str | None, dict[str, Any] | None]]]] = {}


def table_columns(datasette, database: str, table: str) -> dict[str, tuple[str | None, dict[str, Any] | None]]:  # type: ignore[no-untyped-def]
    """The columns of `table` whose cells are not Datasette's own, with what each needs."""
    conf = config(datasette)
    key = (id(datasette), database, table)
    known = _columns.get(key)
    if known is not None and known[0] is conf:
        return known[1]
    found: dict[str, tuple[str | None, dict[str, Any] | None]] = {}
    for name, spec in pages.page_kinds(datasette).items():
        linked = (spec.get("links_from") or {}).get(table) or []
        for column in [linked] if isinstance(linked, str) else linked:
            found.setdefault(column, (f"/{pages.path_of(name, spec)}/", None))
    for column, field in values.cell_fields(datasette, database, table).items():
        found.setdefault(column, (None, field))
    _columns[key] = (conf, found)
    return found


def render(datasette, database: str | None, table: str | None, column: str, value: Any, row: Any) -> Markup | None:  # type: ignore[no-untyped-def]
    """What `render_cell` answers: a link to the question page the cell keys, the schema's way of showing the
    value, or None (Datasette's own)."""
    if table is None:  # a canned query's cell: its columns are marked per query
        return values.table_cell(datasette, database, None, column, value, row) if database else None
    page = PAGE.get()
    columns = page.get((database or "", table)) if page is not None else None
    if columns is None:
        columns = table_columns(datasette, database or "", table)
        if page is not None:
            page[(database or "", table)] = columns
    wanted = columns.get(column)
    if wanted is None or value is None or value == "":
        return None
    prefix, field = wanted
    if prefix is not None:
        return Markup(f'<a href="{escape(prefix + tilde_encode(str(value)))}">{escape(value)}</a>')
    return values.field_cell(field, value, row) if field is not None and database else None


@lru_cache(maxsize=4096)
def css_class(column: str) -> str:
    return to_css_class(column)


def rows_html(display_rows: Any) -> Markup:
    """A table page's rows as Datasette's template writes them: one <tr> per row, one <td> per cell with the
    column's class and the value's type."""
    out = []
    for row in display_rows:
        out.append("<tr>")
        for cell in row:
            out.append(f'<td class="col-{css_class(cell["column"])} type-{cell["value_type"]}">'
                       f'{escape(cell["value"])}</td>')
        out.append("</tr>\n")
    return Markup("".join(out))
