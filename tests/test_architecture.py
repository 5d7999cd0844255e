"""The import rules of DESIGN §2, held by reading the source with `ast`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
    ("schemas", ("broadsheet.package", "broadsheet.viewdoc")),
    ("reader-facing text: labels, money, search words", ("broadsheet.display", "broadsheet.words")),
    ("reading: records, rows, discovery", ("broadsheet.records", "broadsheet.tables", "broadsheet.discover")),
    ("checking: rules, the frictionless boundary", ("broadsheet.check", "broadsheet.check.*")),
    ("the speed wing", ("broadsheet.speed", "broadsheet.speed.*")),
    ("validation: the pipeline", ("broadsheet.validate",)),
    ("writers and record tools", ("broadsheet.export", "broadsheet.export.*", "broadsheet.diff", "broadsheet.history",
                                  "broadsheet.new", "broadsheet.fmt", "broadsheet.describe", "broadsheet.init")),
    ("build and site", ("broadsheet.build", "broadsheet.serve")),
    ("command line", ("broadsheet.cli", "broadsheet.cli.*", "broadsheet.__main__")),
]
# Imported inside a function, never at the top: heavy or optional, and not needed by every run.
DEFERRED = {
    "rfc3986": "frictionless' uri check; imported only for a schema with `format: uri`",
    "validators": "frictionless' email and uuid checks; imported only for a schema with such a format",
    "dateutil": "frictionless' `format: any` dates; imported only for a schema with one",
    "frictionless": "0.35 s to import; a warm validate run never needs it",
    "datasette": "only `broadsheet serve` needs it",
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
