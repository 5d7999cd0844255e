"""Titles for the chrome of every page: column headers and breadcrumbs, from the schemas and the metadata."""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import Markup

from broadsheet.display import readable_name
from broadsheet_site.config import config

# Datasette's own columns of a table without a primary key (a view's materialised table), titled as such.
DATASETTE_COLUMNS = {"rowid": "Row", "Link": "Link"}


def column_titles(datasette, database: str | None, table: str | None, query: str | None = None) -> dict[str, str]:
    """The column names → their titles, for the headers of a page: a table's from its schema, a view's and a
    canned query's (`query`, when no table is given) from the leading comment of its SQL (`view_titles`,
    `query_titles` in the settings)."""
    conf = config(datasette) if database and (table or query) else {}
    if conf.get("database") != database:
        return {}
    if not table:
        return dict((conf.get("query_titles") or {}).get(query or "") or {})
    spec = (conf.get("resources") or {}).get(table)
    if spec is None:
        return dict((conf.get("view_titles") or {}).get(table) or {})
    return {f["name"]: f["title"] for f in spec.get("fields") or [] if f.get("title")}


def titler(titles: dict[str, str]) -> Callable[[str], str]:
    """A column's title for the templates: the one written, else one made from its name ("amount_max" →
    "Amount max"), never the bare name."""
    def title(column: str) -> str:
        return titles.get(column) or DATASETTE_COLUMNS.get(column) or readable_name(str(column))

    return title


def described(human: str, filters, sort: str | None, sort_desc: str | None, title: Callable[[str], str]) -> str:
    """Datasette's words for a selection ("where status = "agreed" sorted by amount_max descending") with every
    column called by its title ("where Latest status = "agreed" sorted by Largest amount descending"): each
    clause is written again, with the title, by the filter that wrote it (Datasette 0.65's `Filters`) and put in
    its place. (The codes become labels after, by values.labelled.)"""
    by_key = getattr(filters, "_filters_by_key", {}) if filters is not None else {}
    for column, lookup, value in filters.selections() if filters is not None else []:
        kind = by_key.get(lookup)
        if kind is not None:
            human = human.replace(kind.human_clause(column, value), kind.human_clause(title(column), value), 1)
    by = sort or sort_desc
    return human.replace(f"sorted by {by}", f"sorted by {title(by)}", 1) if by else human


CSS_UNSAFE = re.compile(r"[^A-Za-z0-9 ]")


def css_string(text: str) -> Markup:
    """Text for a CSS string inside a page's `<style>` (where HTML entities are not read): every character but
    letters, digits and spaces as a CSS escape (each closed by the space CSS reads as its end), so a title's
    apostrophe shows as one and no `</style>` gets out."""
    return Markup(CSS_UNSAFE.sub(lambda m: f"\\{ord(m.group()):06X} ", text))


def crumb_titles(datasette, database: str | None, table: str | None) -> dict[str, str]:
    """Breadcrumb labels (the database's and the table's names) → their titles from the metadata."""
    titles = {}
    if database:
        titles[database] = datasette.metadata("title", database=database, fallback=False) or database
        if table:
            titles[table] = datasette.metadata("title", database=database, table=table, fallback=False) or table
    return titles
