"""How values are shown, from what the Table Schema declares (carried in the generated structure): a code as its
label from `categories`, a list as a list, money (`x-currency-field`) compact with its currency through Babel,
a web address as a link; the table pages' cells (render_cell) and the facets' labels."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from babel.numbers import format_decimal
from markupsafe import Markup
from markupsafe import escape as html_escape

from broadsheet.display import DEFAULT_LOCALE as LOCALE
from broadsheet.display import items as as_list
from broadsheet.display import label as code_label
from broadsheet.display import money
from broadsheet_site.config import config

# The path of the request being answered (set by the plugin's ASGI wrapper): Datasette 0.65 tells render_cell
# neither the request nor the canned query whose rows it draws, so a query's cells find their query by it.
REQUEST_PATH: ContextVar[str] = ContextVar("broadsheet_request_path", default="")


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


def table_cell(datasette, database: str, table: str | None, column: str, value: Any, row: Any) -> Markup | None:
    """A table page's cell for a coded, list, money or address column (None leaves Datasette's own); without a
    table, a canned query's cell, as the query's leading comment marks its columns (`query_fields`)."""
    fields = cell_fields(datasette, database, table) if table else query_fields(datasette, database)
    field = fields.get(column)
    if field is None or value is None or value == "":
        return None
    return field_cell(field, value, row)


def field_cell(field: dict[str, Any], value: Any, row: Any) -> Markup | None:
    """`table_cell` for a value (not empty) of a column whose field is known."""
    value_shown = shown(field, value, row)
    if "list_items" in value_shown:
        return Markup('<ul class="bs-items">' + "".join(f"<li>{html_escape(item)}</li>"
                                                       for item in value_shown["list_items"]) + "</ul>")
    if "exact" in value_shown:
        return Markup(f'<span title="{html_escape(value_shown["exact"])}">{html_escape(value_shown["text"])}</span>')
    if value_shown.get("external"):
        return Markup(f'<a href="{html_escape(value)}" rel="noopener noreferrer">{html_escape(value)}</a>')
    if "code" in value_shown or field.get("currency_field"):  # an amount without a currency: grouped
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
    fields = {f["name"]: f for f in fields_of(conf, database, table) if f["name"] not in linked and (
        f.get("labels") or f.get("type") == "array" or f.get("currency_field") or f.get("format") == "uri")}
    _cell_fields[key] = (resources, fields)
    return fields


def query_fields(datasette, database: str) -> dict[str, dict[str, Any]]:
    """The marked columns of the canned query the current request answers (`/<database>/<query>[.format]`)."""
    parts = REQUEST_PATH.get().strip("/").split("/")
    if len(parts) != 2 or parts[0] != database:
        return {}
    conf = config(datasette)
    if conf.get("database") != database:
        return {}
    marked = conf.get("query_fields") or {}
    name = parts[1] if parts[1] in marked else parts[1].rsplit(".", 1)[0]
    return marked.get(name) or {}


def value_labels(datasette, database: str | None, table: str | None) -> dict[str, dict[str, str]]:
    """A table's coded columns → their labels, for facets."""
    conf = config(datasette) if database and table else {}
    return {f["name"]: f["labels"] for f in fields_of(conf, database, table) if f.get("labels")}


def filter_labels(datasette, database: str | None, table: str | None, pairs: list[tuple[str, str]]) -> dict[str, str]:
    """For a filtered table page: each filter value of a coded column, as Datasette's description of the filters
    quotes it ('"CN"'), → its label quoted ('"China"'); `column=`, `column__exact=`, `column__arraycontains=`, …"""
    conf = config(datasette) if database and table else {}
    labels = {f["name"]: f.get("labels") or {} for f in fields_of(conf, database, table)}
    found: dict[str, str] = {}
    for key, value in pairs:
        if key.startswith("_"):
            continue
        column = key.rsplit("__", 1)[0] if "__" in key else key
        codes = labels.get(column) or {}
        items = [value]
        if key.endswith(("__in", "__notin")):  # a JSON list or comma-separated values
            items = as_list(value) or [v.strip() for v in value.split(",")]
        for item in items:
            if str(item) in codes:
                found[f'"{item}"'] = f'"{codes[str(item)]}"'
    return found


def labelled(description: str, labels: dict[str, str]) -> str:
    """A filtered table's description with each quoted code as its label (`filter_labels`): 'where country =
    "China"', not 'where country = "CN"'."""
    for code, label in (labels or {}).items():
        description = description.replace(code, label)
    return description


def fields_of(conf: dict[str, Any], database: str | None, table: str | None) -> list[dict[str, Any]]:
    """The fields of a resource of the package's database, or of a view the columns its documentation marks
    (`[values: …]`, `[currency: …]`: `view_fields` in the settings)."""
    if not table or conf.get("database") != database:
        return []
    spec = (conf.get("resources") or {}).get(table)
    if spec is not None:
        return list(spec.get("fields") or [])
    return list(((conf.get("view_fields") or {}).get(table) or {}).values())


def fmt_number(value: Any) -> Any:
    """A number with the locale's grouping (1,568,000,000); integral floats without a decimal part."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "" if value is None else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return format_decimal(value, locale=LOCALE, decimal_quantization=False)


