"""The import rules of DESIGN §2, held by reading the source with `ast`."""

from __future__ import annotations

import ast
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

    allowed = {"datasette", "__future__", "broadsheet_site"} | set(sys.stdlib_module_names)
    for path in sorted(PLUGINS.rglob("*.py")):
        assert imports(path) <= allowed, path.name


def test_toolkit_names_no_dataset():
    """Nothing in the toolkit may know a resource or field name of the flagship dataset."""
    schemas = REPO / "schemas"
    names = {p.stem for p in schemas.glob("*.yaml")}
    import yaml

    for path in schemas.glob("*.yaml"):
        # compound names (name_en, project_id) are the dataset's; single words (note, value) are plain English
        names |= {f["name"] for f in yaml.safe_load(path.read_text(encoding="utf-8"))["fields"] if "_" in f["name"]}
    generic = {"id", "name", "title", "description", "position", "field", "path", "kind", "url", "language"}
    for path in [*modules(), *sorted(PLUGINS.rglob("*.py"))]:
        source = path.read_text(encoding="utf-8")
        literals = {node.value for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Constant)
                    and isinstance(node.value, str)}
        assert literals & (names - generic) == set(), path.name


def test_the_toolkit_and_the_site_plugin_do_not_import_each_other():
    """The plugin runs inside Datasette on the generated metadata alone; the toolkit names it only by string."""
    assert [p.name for p in sorted(PLUGINS.rglob("*.py")) if "broadsheet" in imports(p)] == []
    assert [p.name for p in modules() if "broadsheet_site" in imports(p)] == []
