"""Broadsheet's site, a Datasette plugin (entry point `broadsheet` in the `datasette` group).

This module holds the hooks and nothing else: each one hands over to the module of its page or concern.

    config     the `plugins.broadsheet` settings that `broadsheet.export.sitemeta` generates, and small helpers
    labels     display names of records, values as shown
    home       the home page
    record     record pages
    search     the search page and its folded index
    pages      question pages of the kinds a dataset declares (`site.pages`), e.g. a claim or a project's story
    feed       the Atom feed of changes
    downloads  the downloads listing and /-/downloads/
    titles     column and breadcrumb titles for every page
    public     what a public read-only site refuses (methods, introspection, bad parameters); CSV typing
    facets     facets on a selection's first page only; on a list column, by item
    builds     one build per process, switched whole when `broadsheet build` commits a new one
    cache      whole responses kept: in each process, and in one file shared by a server's worker processes
    cells      a page's cells, worked out once per table, without a plugin call per cell; a table page's rows in
               one pass
    security   headers, redirects, SQLite limits and error pages for a public site
    templates/, static/   the pages' templates and stylesheet (package data)

Generic: every table, label and link comes from the generated metadata; nothing here names a table of any
dataset. Of the toolkit it imports only `broadsheet.display`, the one rule for how a value is shown, and
`broadsheet.words`, the one rule for how a word is folded and stemmed for search.
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl

from broadsheet.words import fold


@hookimpl
def prepare_connection(conn):  # type: ignore[no-untyped-def]
    conn.create_function("broadsheet_fold", 1, fold, deterministic=True)
    security.bound_connection(conn)


@hookimpl
def startup(datasette):  # type: ignore[no-untyped-def]
    async def inner() -> None:
        """Pin the build the site answers from, and build its search indexes and learn its files' hashes before
        the first visitor searches or opens the home page (a few seconds at 100k records)."""
        builds.pin(datasette)
        security.remember_table_permissions(datasette)
        cells.install_quick_cells()
        conf = config.config(datasette)
        db = conf.get("database")
        if db in datasette.databases:
            await search.prepare(datasette.get_database(db), conf, await config.table_names(datasette, db))
        for database in list(datasette.databases.values()):
            await builds.know_hash(database)
        builds.settle()

    return inner


@hookimpl
def asgi_wrapper(datasette):  # type: ignore[no-untyped-def]
    """One wrapper, so the order is fixed: security outermost (every answer, cached or not, gets its headers),
    then what a public site refuses, then the build that answers (switched whole between requests), then the
    response cache (keyed by that build), then the facet rule (which rewrites the request Datasette sees)."""
    def wrap(app):  # type: ignore[no-untyped-def]
        answering = builds.pinned(datasette, cache.cached(datasette, facets.first_page_facets(app, datasette)))
        return security.secured(public.screened(datasette, with_path(answering)))

    return wrap


def with_path(app):  # type: ignore[no-untyped-def]
    """An ASGI app that notes the request's path for render_cell (values.REQUEST_PATH) while it answers, and
    gives it a fresh memo of what its cells need (cells.PAGE)."""
    async def wrapped(scope, receive, send):  # type: ignore[no-untyped-def]
        token = values.REQUEST_PATH.set((scope.get("path") or "") if scope["type"] == "http" else "")
        page = cells.PAGE.set({})
        try:
            await app(scope, receive, send)
        finally:
            cells.PAGE.reset(page)
            values.REQUEST_PATH.reset(token)

    return wrapped


@hookimpl
def register_routes(datasette):  # type: ignore[no-untyped-def]
    routes = [
        (r"^/-/search$", search.search_page),
        (r"^/-/changes\.atom$", feed.changes_feed),
        (r"^/-/downloads/(?P<name>[^/]+)$", downloads.download),
        (r"^/-/downloads/(?P<folder>csv|json)/(?P<name>[^/]+)$", downloads.download),
    ]
    pattern = pages.route_pattern(datasette)
    return [*routes, (pattern, pages.page)] if pattern else routes


@hookimpl
def render_cell(row, value, column, table, database, datasette):  # type: ignore[no-untyped-def]
    """A cell that keys a question page (`links_from` of a page kind) links to it; coded, list, money and
    address cells are shown as the schema says (what each column needs is looked up once per table)."""
    return cells.render(datasette, database, table, column, value, row)


@hookimpl
def prepare_jinja2_environment(env, datasette):  # type: ignore[no-untyped-def]
    env.filters["bs_rows"] = cells.rows_html  # a table page's rows in one pass (templates/_table.html)
    env.filters["bs_labelled"] = values.labelled  # a filtered table's description with labels, not codes


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):  # type: ignore[no-untyped-def]
    async def inner() -> dict[str, Any]:
        # A canned query answers on a table's route: its name is the route's table, with no table given.
        query = (request.url_vars.get("table") if request is not None and not table else None) or None
        column_titles = titles.column_titles(datasette, database, table, query)
        found: dict[str, Any] = {"bs_search_href": "/-/search", "bs_feed_href": "/-/changes.atom",
                                 "bs_crumb_titles": titles.crumb_titles(datasette, database, table),
                                 "bs_column_titles": column_titles, "bs_title": titles.titler(column_titles),
                                 "bs_css_string": titles.css_string, "bs_described": titles.described,
                                 "bs_value_labels": values.value_labels(datasette, database, table)}
        if view_name == "index":
            found["bs_home"] = await home.home(datasette)
            if found["bs_home"] and request is not None:
                found["bs_home"]["cite"] = await home.citation_of(datasette, request,
                                                                  datasette.absolute_url(request, "/"))
        elif view_name == "table" and request is not None:
            found["url_csv"] = public.csv_link(request)
            found["bs_filter_labels"] = values.filter_labels(
                datasette, database, table, [(k, v) for k in request.args for v in request.args.getlist(k)])
        elif view_name == "row" and request is not None and "pks" in request.url_vars:
            found["bs_record"] = await record.record(datasette, database, table, request.url_vars["pks"])
            if found["bs_record"]:
                found["bs_record"]["pages"] = pages.pages_of_resource(datasette, table, found["bs_record"]["id"])
                found["bs_record"]["permanent"] = datasette.absolute_url(request, request.path)
                found["bs_record"]["cite"] = await home.citation_of(datasette, request,
                                                                    found["bs_record"]["permanent"])
        return found

    return inner


@hookimpl
def handle_exception(datasette, request, exception):  # type: ignore[no-untyped-def]
    return security.error_page(datasette, request, exception)


# The modules of the pages come last: importing them imports Datasette's own modules, which load this plugin by
# its entry point; by then every hook above is defined, so Datasette registers a complete module.
from broadsheet_site import (  # noqa: E402
    builds,
    cache,
    cells,
    config,
    downloads,
    facets,
    feed,
    home,
    pages,
    public,
    record,
    search,
    security,
    titles,
    values,
)
