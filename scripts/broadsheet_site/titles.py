"""Titles for the chrome of every page: column headers and breadcrumbs, from the schemas and the metadata."""

from __future__ import annotations

from broadsheet_site.config import config


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
