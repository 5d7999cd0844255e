"""A page's cells, worked out once per table instead of once per cell.

Datasette asks `render_cell` for every cell of a page (100 rows of 9 columns: 900 calls). What a cell needs (does
its column link to a question page, is it drawn from the schema: codes, lists, money, web addresses) depends on
the table and the column only, so it is looked up once per table and site settings and kept: a cell of a column
that needs nothing costs one dictionary look-up. The rows of a table page are written here too, in one pass
(`rows_html`), rather than by a template loop per cell. And Datasette's own per-cell loop, which asks every cell
through the plugin manager, is replaced on table and row pages by `make_quick` (one direct call per cell; see
there), held to Datasette's output by tests/test_site_cells.py."""

from __future__ import annotations

import sys
import weakref
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from datasette.plugins import pm
from datasette.utils import CustomRow, is_url, path_from_row_pks, tilde_encode, to_css_class
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
    return shown_as_wanted(page_columns(datasette, database, table).get(column), value, row, database)


def page_columns(datasette, database: str | None, table: str) -> dict[str, tuple[str | None, dict[str, Any] | None]]:  # type: ignore[no-untyped-def]
    """`table_columns`, kept for the page being answered (PAGE)."""
    page = PAGE.get()
    columns = page.get((database or "", table)) if page is not None else None
    if columns is None:
        columns = table_columns(datasette, database or "", table)
        if page is not None:
            page[(database or "", table)] = columns
    return columns


def shown_as_wanted(wanted: tuple[str | None, dict[str, Any] | None] | None, value: Any, row: Any,  # type: ignore[no-untyped-def]
                    database: str | None) -> Markup | None:
    """A cell of a column that needs `wanted` (a page prefix or a schema field; None: nothing), as `render`
    answers it."""
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


# ---------------------------------------------------------------- a page's cells without a plugin call per cell
#
# Datasette's display_columns_and_rows asks every render_cell hook through pluggy for each cell (100 rows of 8
# columns: ~850 calls per table page, a third of the function's time at 100k records: profiled) and rebuilds the
# table's address for every row. When this plugin's render_cell is the only one, `make_quick` gives the same
# columns and cells with one direct call per cell and the addresses built once per page: Datasette's own function
# still makes the header (called without rows), and every page whose values the quick path does not treat (binary
# data, a column with units, truncated cells). tests/test_site_cells.py holds quick == Datasette's on every table
# and view of the site's fixture and of the benchmark package, page by page.

_keys: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Database → {table: (primary keys, fk targets)}


def only_this_plugin_renders_cells() -> bool:
    mine = getattr(sys.modules.get(__package__ or ""), "render_cell", None)
    return [impl.function for impl in pm.hook.render_cell.get_hookimpls()] == [mine]


async def keys_of(db, table: str) -> tuple[list[str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """A table's primary keys and the table each foreign key column refers to, asked once per database file (a
    build's file never changes; each question is a trip to a SQL thread)."""
    known = _keys.setdefault(db, {})
    if table not in known:
        known[table] = (await db.primary_keys(table),
                        {fk["column"]: fk["other_table"] for fk in await db.foreign_keys_for_table(table)})
    return known[table]


def make_quick(original, row_class, with_label: str, with_value: str):  # type: ignore[no-untyped-def]
    """`original` (Datasette's display_columns_and_rows) with its per-cell work done directly; see above.
    `row_class`: the class of the rows it returns; `with_label`, `with_value`: its templates of a link to the row
    an expanded foreign key names."""

    async def quick_cells(datasette, database_name, table_name, description, rows, link_column=False,  # type: ignore[no-untyped-def]
                          truncate_cells=0, sortable_columns=None):
        def theirs(some_rows):  # type: ignore[no-untyped-def]
            return original(datasette, database_name, table_name, description, some_rows, link_column=link_column,
                            truncate_cells=truncate_cells, sortable_columns=sortable_columns)

        rows = list(rows)
        if truncate_cells or not only_this_plugin_renders_cells() \
                or datasette.table_metadata(database_name, table_name).get("units"):
            return await theirs(rows)
        columns, _ = await theirs([])
        pks, targets = await keys_of(datasette.databases[database_name], table_name)
        names = [column[0] for column in description]
        wanted = page_columns(datasette, database_name, table_name)
        skipped = pks[0] if link_column and len(pks) == 1 else None
        table_path = datasette.urls.table(database_name, table_name)
        base_url = datasette.setting("base_url")
        cell_rows = []
        for row in rows:
            values_of_row = row_values(row, names)
            if any(isinstance(value, bytes) for value in values_of_row):
                return await theirs(rows)  # binary data: Datasette's download links, for the whole page
            cells = []
            if link_column:
                shown_path = path_from_row_pks(row, pks, not pks, False)
                cells.append({"column": pks[0] if len(pks) == 1 else "Link", "value_type": "pk",
                              "is_special_link_column": len(pks) != 1, "raw": shown_path,
                              "value": Markup(f'<a href="{table_path}/{path_from_row_pks(row, pks, not pks)}">'
                                              f'{escape(shown_path)}</a>')})
            for column, value in zip(names, values_of_row, strict=False):
                if column == skipped:
                    continue
                # render_cell's answer (cells.render), with the page's columns looked up once, not per cell
                shown = shown_as_wanted(wanted.get(column), value, row, database_name)
                if not shown and isinstance(value, dict):  # (Datasette takes a plugin's answer only when truthy)
                    # an expanded foreign key: a link to the row it names
                    label, value = value["label"], value["value"]
                    shown = Markup((with_label if label != value else with_value).format(
                        database=database_name, base_url=base_url, table=tilde_encode(targets[column]),
                        link_id=tilde_encode(str(value)), id=str(escape(value)), label=str(escape(label)) or "-"))
                elif not shown:
                    shown = default_cell(value)
                cells.append({"column": column, "value": shown, "raw": value,
                              "value_type": "none" if value is None else type(value).__name__})
            cell_rows.append(row_class(cells))
        return columns, cell_rows

    quick_cells.original = original  # type: ignore[attr-defined]
    return quick_cells


def row_values(row: Any, names: list[str]) -> list[Any] | tuple[Any, ...]:
    """A row's values in the order of its columns. Datasette's CustomRow (a table page's rows, with their
    expanded foreign keys) yields them through a generator and an overridden __getitem__, a Python call per value;
    its values are read from the dict it is when its columns are the description's."""
    if isinstance(row, CustomRow) and row.columns == names:
        return [dict.__getitem__(row, name) for name in names]
    return tuple(row)


def default_cell(value: Any) -> Any:
    """Datasette's display of a plain value no plugin rendered: a blank, a bare web address as a link, the text
    (cells are never truncated on this site: truncate_cells_html is 0)."""
    if value in ("", None):
        return Markup("&nbsp;")
    if is_url(str(value).strip()):
        return Markup(f'<a href="{escape(value.strip())}">{escape(value.strip())}</a>')
    return str(value)


def install_quick_cells() -> None:
    """Table and row pages make their cells with `make_quick` (once per process, whichever Datasette starts).
    Imported here, at start-up: Datasette's views import its plugin manager, which imports this plugin."""
    from datasette.views import row as row_view
    from datasette.views import table as table_view

    for view in (table_view, row_view):
        if not hasattr(view.display_columns_and_rows, "original"):
            view.display_columns_and_rows = make_quick(view.display_columns_and_rows, table_view.Row,
                                                       table_view.LINK_WITH_LABEL, table_view.LINK_WITH_VALUE)
