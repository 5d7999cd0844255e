"""The import rules of DESIGN §2, held by reading the source with `ast`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = REPO / "scripts" / "broadsheet"
PLUGINS = REPO / "scripts" / "broadsheet_site"


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def toolkit_modules(path: Path) -> set[str]:
    """The toolkit's modules a file imports, by their dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return {name for name in names if name == "broadsheet" or name.startswith("broadsheet.")}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


CLI = PACKAGE / "cli"


def outside_cli() -> list[Path]:
    return [p for p in modules() if CLI not in p.parents]


def test_only_the_cli_imports_click():
    assert [p.name for p in outside_cli() if "click" in imports(p)] == []


def test_nothing_imports_datasette_at_module_level():
    assert [p.name for p in modules() if "datasette" in imports(p, top_level_only=True)] == []


def test_only_the_cli_prints():
    printing = []
    for path in outside_cli():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("print", "exit"):
                printing.append(path.name)
    assert printing == []


def test_site_plugins_import_only_datasette_and_the_standard_library():
    import sys

    # and the maintained libraries the pages format and search with (see pyproject.toml): Babel (numbers, money),
    # PyStemmer (Snowball stems), rapidfuzz (edit distance); markupsafe is Datasette's own
    allowed = {"datasette", "__future__", "broadsheet_site", "babel", "Stemmer", "rapidfuzz", "markupsafe"} | set(
        sys.stdlib_module_names)
    for path in sorted(PLUGINS.rglob("*.py")):
        assert imports(path) <= allowed | {"broadsheet"}, path.name


# Words that are a dataset's field names and also the toolkit's own vocabulary, each with where it comes from.
VOCABULARY = {
    "id": "the usual primary key of a record file; Broadsheet's template default",
    "name": "Table Schema: a field's or resource's name", "title": "Table Schema and Data Package property",
    "description": "Table Schema and Data Package property", "path": "Data Package: a resource's path",
    "date": "Table Schema: a field type", "field": "a Problem's attribute; Frictionless error property",
    "value": "the site's own template key for a shown value",
    "note": "x-broadsheet role of a citation column; Frictionless' error property",
    "locator": "x-broadsheet role of a citation column",
    "position": "x-broadsheet property", "label": "x-broadsheet field flag (x-label)",
    "unit": "x-broadsheet field flag (x-unit)", "url": "x-broadsheet field flag (x-url)",
    "count": "the site's own template key for a row count", "total": "the search page's own template key",
    "status": "HTTP: a response's status",
    "scheme": "ASGI: a request's URL scheme", "kind": "diff: the kind of a change", "language": "HTML: lang",
}


def dataset_names() -> set[str]:
    """Every resource and field name of every dataset in the repository: the flagship, the fixtures and the
    benchmark package, single words included."""
    import yaml

    names: set[str] = set()
    for schemas in [REPO / "schemas", REPO / "benchmarks" / "package" / "schemas",
                    *sorted((REPO / "tests" / "fixtures").glob("*/schemas"))]:
        for path in schemas.glob("*.yaml"):
            names.add(path.stem)
            names |= {f["name"] for f in yaml.safe_load(path.read_text(encoding="utf-8"))["fields"]}
    return names


def test_toolkit_names_no_dataset():
    """Nothing in the toolkit may know a resource or field name of any dataset; the columns a generic module
    needs are found by their role in x-broadsheet (cites, locator, note, position, label...)."""
    names = dataset_names() - set(VOCABULARY)
    for path in [*modules(), *sorted(PLUGINS.rglob("*.py"))]:
        source = path.read_text(encoding="utf-8")
        literals = {node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant)
                    and isinstance(node.value, str)}
        assert literals & names == set(), path.name


# --- the layer table: which room may import which ------------------------------------------------------------
# Lowest first. A module may import modules of its own layer or of a lower one, never of a higher one; every
# module of the toolkit is in exactly one layer (a new module is placed here, or this test fails).

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("contracts", ("broadsheet", "broadsheet.errors", "broadsheet.report")),
    ("places", ("broadsheet.layout", "broadsheet.atomic", "broadsheet.git")),
    ("schemas", ("broadsheet.package", "broadsheet.viewdoc", "broadsheet.constraints")),
    ("reader-facing text: labels, money, search words", ("broadsheet.display", "broadsheet.words")),
    ("reading: records, rows, discovery", ("broadsheet.read", "broadsheet.read.*")),
    ("checking: rules, the frictionless boundary", ("broadsheet.check", "broadsheet.check.*")),
    ("the speed wing", ("broadsheet.speed", "broadsheet.speed.*")),
    ("validation: the pipeline", ("broadsheet.validate",)),
    ("writers and record tools", ("broadsheet.export", "broadsheet.export.*", "broadsheet.diff", "broadsheet.history",
                                  "broadsheet.new", "broadsheet.fmt", "broadsheet.describe", "broadsheet.init")),
    ("build and site", ("broadsheet.reuse", "broadsheet.splice", "broadsheet.build", "broadsheet.serve")),
    ("command line", ("broadsheet.cli", "broadsheet.cli.*", "broadsheet.__main__")),
]
# Imported inside a function, never at the top: heavy or optional, and not needed by every run.
DEFERRED = {
    "rfc3986": "frictionless' uri check; imported only for a schema with `format: uri`",
    "validators": "frictionless' email and uuid checks; imported only for a schema with such a format",
    "dateutil": "frictionless' `format: any` dates; imported only for a schema with one",
    "frictionless": "0.35 s to import; a warm validate run never needs it",
    "datasette": "only `broadsheet serve` needs it",
    "uvicorn": "only the workers of `broadsheet serve --processes N` need it (their HTTP protocol)",
    "multiprocessing": "~50 ms to import; most runs stay in one process",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in modules()}


def toolkit_imports(path: Path) -> set[str]:
    """The toolkit modules a module imports at its top level (`from broadsheet import x` names module x)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "broadsheet"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "broadsheet":
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module
                      for a in node.names}
    return found


def layer_of(name: str) -> int:
    import fnmatch

    places = [i for i, (_room, patterns) in enumerate(LAYERS) if any(fnmatch.fnmatchcase(name, p) for p in patterns)]
    assert len(places) == 1, f"{name} is in {len(places)} layers of LAYERS: place it in one"
    return places[0]


def test_every_module_has_its_place_in_the_layer_table():
    assert {name: layer_of(name) for name in MODULES}  # layer_of fails for a module in no layer or in two


def test_every_import_goes_down_the_layer_table():
    upward = [(name, imported) for name, path in MODULES.items() for imported in toolkit_imports(path)
              if layer_of(imported) > layer_of(name)]
    assert upward == []


def test_only_validate_picks_an_accelerator():
    speed = layer_of("broadsheet.speed")
    pickers = {name for name, path in MODULES.items() if layer_of(name) != speed
               and any(layer_of(imported) == speed for imported in toolkit_imports(path))}
    assert pickers == {"broadsheet.validate"}


def test_no_import_cycles():
    graph = {name: toolkit_imports(path) - {name} for name, path in MODULES.items()}
    cycles = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            cycles.append(trail[trail.index(name):] + (name,))
            return
        if name in done:
            return
        for imported in sorted(graph.get(name, ())):
            if imported != "broadsheet":  # the package itself holds only the version
                visit(imported, (*trail, name))
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        visit(name, ())
    assert cycles == []


def test_no_import_hides_inside_a_function():
    """Imports are at the top, where a reader sees what a module depends on; the exceptions are DEFERRED
    third-party or heavy modules, and the command line, whose commands import their room when they run (so
    `broadsheet --help` stays fast)."""
    hidden = []
    for name, path in MODULES.items():
        if layer_of(name) == len(LAYERS) - 1:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    roots = {a.name.split(".")[0] for a in inner.names}
                elif isinstance(inner, ast.ImportFrom):
                    roots = {(inner.module or "").split(".")[0]}
                else:
                    continue
                hidden += [(name, node.name, root) for root in roots if root not in DEFERRED]
    assert hidden == []


def test_every_speed_module_names_its_equivalence_test():
    for name, path in MODULES.items():
        if not name.startswith("broadsheet.speed."):
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        named = re.findall(r"tests/(test_\w+\.py)(?:::(\w+))?", docstring.split("Equivalence test", 1)[-1])
        assert "Equivalence test" in docstring and named, name
        for test_file, test_name in named:
            source = (REPO / "tests" / test_file).read_text(encoding="utf-8")
            assert not test_name or f"def {test_name}(" in source, (name, test_file, test_name)


# --- contracts as data ---------------------------------------------------------------------------------------

def emitted_codes() -> set[str]:
    """Codes written as literals where the toolkit makes a Problem (Problem(code, ...), the readers' helpers)."""
    found = set()
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            callee = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = {"Problem": 0, "_problem": 0, "_fail": 1}.get(callee or "")
            if position is not None and len(node.args) > position and isinstance(node.args[position], ast.Constant):
                found.add(node.args[position].value)
    return found


def test_every_code_is_registered_and_every_registered_code_is_used():
    from broadsheet.build import WRITE_CODES
    from broadsheet.check.frictionless import CROSS_ROW_CODES
    from broadsheet.check.rules import REGISTRY
    from broadsheet.errors import CODES

    used = emitted_codes() | REGISTRY.codes() | CROSS_ROW_CODES | {"constraint-error"} | WRITE_CODES
    assert used - set(CODES) == set()  # a code the README would not list
    assert set(CODES) - used == set()  # a registered code nothing reports


def test_the_toolkit_and_the_site_plugin_do_not_import_each_other():
    """The plugin runs inside Datasette on the generated metadata alone: of the toolkit it imports only the pure
    modules of reader-facing text: `display`, so a value is shown the same way on pages, in the dictionary and in
    the downloads' README, and `words`, so a typed word is folded and stemmed exactly as the build indexed it.
    The toolkit names the plugin only by string."""
    allowed = {"broadsheet.display", "broadsheet.words"}
    assert [p.name for p in sorted(PLUGINS.rglob("*.py")) if toolkit_modules(p) - allowed] == []
    assert [p.name for p in modules() if "broadsheet_site" in imports(p)] == []


# --- the site plugin reads the build's contracts from the generated metadata -----------------------------------
# The tables the build adds (and their full-text indexes) and the citation columns are named in the metadata the
# build writes (`plugins.broadsheet.internal_tables`; the roles `cites`, `locator`, `note` of each resource's
# structure). No plugin module or template names them itself.

TEMPLATES = PLUGINS / "templates"
# Modules not yet moved to the metadata's names, each with why.
NOT_YET: dict[str, str] = {}
# Datasette's own table-search parameter (`?_search=`) shares its spelling with the search table.
DATASETTE_PARAMETER = re.compile(r'(?:for|id|name)="_search"')
CITATION_ROLES = ("cites", "locator", "note")


def internal_table_names() -> set[str]:
    from broadsheet.export import sitemeta

    names = set(sitemeta.INTERNAL_TABLES)
    return names | {table + index + shadow for table in names for index in sitemeta.FTS_INDEXES
                    for shadow in sitemeta.FTS_SHADOWS}


def tokens(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


def internal_tables_named(source: str) -> set[str]:
    """Internal table names written in a module's string literals (f-string parts included)."""
    literals = [node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant)
                and isinstance(node.value, str)]
    return {token for text in literals for token in tokens(text)} & internal_table_names()


def role_columns_named(source: str) -> list[str]:
    """Citation roles used as a column name: a role's literal anywhere but as the key a resource's structure is
    read with (`spec[...]`, `spec.get(...)`) or as a key of a dict the plugin hands a template (its slot)."""
    tree = ast.parse(source)
    allowed = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}  # docstrings: prose
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", "") == "spec":
            allowed.add(id(node.slice))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and getattr(node.func.value, "id", "") == "spec" and node.args):
            allowed.add(id(node.args[0]))
        elif isinstance(node, ast.Dict):
            allowed |= {id(key) for key in node.keys if key is not None}
    return sorted(token for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and id(node) not in allowed for token in tokens(node.value) if token in CITATION_ROLES)


def in_templates(path: Path) -> tuple[set[str], list[str]]:
    """Internal table names anywhere in a template, and roles read from a row by a quoted key (`row['note']`);
    `cit.note` is the slot the plugin filled, not a column."""
    text = DATASETTE_PARAMETER.sub("", path.read_text(encoding="utf-8"))
    return (tokens(text) & internal_table_names(),
            re.findall(r"""\[\s*["'](%s)["']\s*\]|\.get\(\s*["'](%s)["']""" % (("|".join(CITATION_ROLES),) * 2),
                       text))


@pytest.mark.parametrize(("source", "tables", "roles"), [
    ('rows = conn.execute("select max(date) from record_history")', {"record_history"}, []),
    ('sql = f"select * from _search_fts join {t}"', {"_search_fts"}, []),
    ('where = row.get("locator")', set(), ["locator"]),
    ('where = row["note"]', set(), ["note"]),
    ('sql = "select locator, note from c"', set(), ["locator", "note"]),
    ('column = spec.get("locator"); slot = {"note": row.get(spec["note"])}', set(), []),
    ('table = internal(conf, "search"); fts = fts_index(table)', set(), []),
    ('"""A note on the locator, in prose."""', set(), []),
])
def test_the_plugin_checks_would_see_a_literal(source, tables, roles):
    assert (internal_tables_named(source), role_columns_named(source)) == (tables, roles)


def test_no_plugin_module_or_template_names_an_internal_table_or_a_citation_column():
    found = {}
    for path in sorted(PLUGINS.rglob("*.py")):
        if path.name in NOT_YET:
            continue
        source = path.read_text(encoding="utf-8")
        if internal_tables_named(source) or role_columns_named(source):
            found[path.name] = (internal_tables_named(source), role_columns_named(source))
    for path in sorted(TEMPLATES.rglob("*.html")):
        tables, roles = in_templates(path)
        if tables or roles:
            found[path.name] = (tables, roles)
    assert found == {}
    assert set(NOT_YET) <= {p.name for p in PLUGINS.rglob("*.py")}  # an exemption goes when its module does
