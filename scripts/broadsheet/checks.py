"""Rules a Table Schema cannot express: stricter cell syntax than frictionless accepts, spreadsheet-safe text,
partial dates, and citations across a record and its citation table."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator

from broadsheet.errors import Problem
from broadsheet.package import FieldSpec, PackageSpec
from broadsheet.tables import Table, Tables

INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)", re.ASCII)
NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?", re.ASCII)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@")

CellRule = Callable[[str], tuple[str, str, str] | None]  # text -> (code, expected, hint) or None


def integer_rule(text: str) -> tuple[str, str, str] | None:
    if INTEGER.fullmatch(text):
        return None
    return ("type-error", "an integer in plain ASCII digits",
            "write digits only: no `_`, spaces, leading zeros, decimals or exponents")


def number_rule(text: str) -> tuple[str, str, str] | None:
    if NUMBER.fullmatch(text):
        return None
    return ("type-error", "a decimal number such as 1568000000 or 1.5",
            "write digits with an optional `.` decimal part; no `_`, commas, NaN or Infinity")


def date_rule(text: str) -> tuple[str, str, str] | None:
    if DATE.fullmatch(text):
        return None
    return ("type-error", "a date YYYY-MM-DD", "write the full date, e.g. 2025-05-21")


def partial_date_rule(text: str) -> tuple[str, str, str] | None:
    match = PARTIAL_DATE.fullmatch(text)
    if match:
        year, month, day = match.groups()
        if month is None or (1 <= int(month) <= 12 and (
                day is None or 1 <= int(day) <= calendar.monthrange(int(year), int(month))[1])):
            return None
    return ("type-error", "a date YYYY, YYYY-MM or YYYY-MM-DD",
            "give as much of the date as the source states, e.g. 2025 or 2025-05 or 2025-05-21")


def text_rule(text: str) -> tuple[str, str, str] | None:
    if text.startswith(FORMULA_START) or "\t" in text or "\r" in text:
        return ("formula-injection", "text that does not start with = + - @ and has no tab or carriage return",
                "a spreadsheet would run this cell as a formula; reword it or drop the leading character")
    return None


def rules_for(spec: FieldSpec) -> list[CellRule]:
    rules: list[CellRule] = []
    if spec.type == "integer":
        rules.append(integer_rule)
    elif spec.type == "number":
        rules.append(number_rule)
    elif spec.type == "date":
        rules.append(date_rule)
    elif spec.type == "string":
        if spec.flag("partial-date"):
            rules.append(partial_date_rule)
        rules.append(text_rule)
    return rules


def cell_problems(table: Table) -> Iterator[tuple[int, str, Problem]]:
    """Yield (row index, field, problem) for every cell a stricter rule rejects."""
    spec = table.spec
    for column, field_spec in enumerate(spec.fields):
        rules = rules_for(field_spec)
        if not rules:
            continue
        for index, row in enumerate(table.rows):
            text = row[column]
            if text is None:
                continue
            for rule in rules:
                verdict = rule(text)
                if verdict is None:
                    continue
                code, expected, hint = verdict
                origin = table.origins[index]
                line, col = origin.position(field_spec.name)
                what = "is not valid" if code == "type-error" else "is unsafe in a spreadsheet"
                yield index, field_spec.name, Problem(
                    code, f"{field_spec.name} {text!r} {what}", path=origin.path, line=line, column=col,
                    resource=spec.name, record_id=origin.record_id, field=field_spec.name, found=text,
                    expected=expected, hint=hint)
                break


def citation_problems(package: PackageSpec, tables: Tables) -> Iterator[Problem]:
    """Every `x-cite` value needs a citation row naming its field; every citation must name a real value."""
    for spec in package.top_level:
        citations = package.citation_table(spec.name)
        if citations is None:
            continue
        table, cited_table = tables[spec.name], tables[citations.name]
        link_column = cited_table.column(next(iter(citations.parent_link)))
        field_column = cited_table.column(citations.cites or "")
        cited: dict[str, set[str]] = {}
        for row in cited_table.rows:
            cited.setdefault(row[link_column] or "", set()).add(row[field_column] or "")
        must_cite = [f for f in spec.fields if f.flag("cite")]
        citable = {f.name for f in spec.fields} | set(spec.children)
        id_column = table.column(spec.id_field)
        for row, origin in zip(table.rows, table.origins, strict=True):
            record_cited = cited.get(row[id_column] or "", set())
            for f in must_cite:
                value = row[table.column(f.name)]
                if value is not None and f.name not in record_cited:
                    line, column = origin.position(f.name)
                    yield Problem("uncited-fact", f"{f.name} {value!r} has no citation", path=origin.path,
                                  line=line, column=column, resource=spec.name, record_id=origin.record_id,
                                  field=f.name, found=value, expected=f"a `{citations.key}` entry for {f.name}",
                                  hint=f"add to `{citations.key}`: - {citations.cites}: {f.name} with its source")
        for row, origin in zip(cited_table.rows, cited_table.origins, strict=True):
            named = row[field_column]
            if named is not None and named not in citable:
                line, column = origin.position(citations.cites)
                yield Problem("citation-unknown-field", f"citation names {named!r}, which {spec.name} lacks",
                              path=origin.path, line=line, column=column, resource=citations.name,
                              record_id=origin.record_id, field=citations.cites or "", found=named,
                              expected=f"a field of {spec.name}", hint="cite one of the record's fields")
