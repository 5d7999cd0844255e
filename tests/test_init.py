"""`broadsheet init`: a new repository that validates, builds and serves at once; then records kept elsewhere
are described into it, validated, built and served — a real `broadsheet` process for each command, the real
Datasette in process for the site."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from broadsheet import serve
from broadsheet.init import create
from broadsheet.layout import Layout
from broadsheet.package import load_package
from conftest import REPO
from test_describe import BEACONS, MEMBERS, write_files

FILES = [".github/workflows/validate.yml", ".gitignore", "Makefile", "README.md", "datapackage.json",
         "datapackage/examples/first-example.yaml", "requirements.txt", "schemas/examples.yaml", "site/metadata.yml"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "broadsheet", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


IGNORED = ("out/", ".broadsheet-cache/")  # the build and validate's cache: the template's .gitignore lists both


def written(root: Path) -> list[str]:
    """The files of the repository, without what its .gitignore keeps out of it."""
    ignore = root / ".gitignore"
    assert not ignore.exists() or set(IGNORED) <= set(ignore.read_text(encoding="utf-8").splitlines())
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and not p.relative_to(root).as_posix().startswith(IGNORED))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """init, then two folders of existing records described into it (one record per file; .yml in nested
    folders with ids holding a slash, a mapping and grandchildren)."""
    parent = tmp_path_factory.mktemp("init")
    made = run("init", "field-notes", "--title", "Field notes", cwd=parent)
    assert made.returncode == 0, made.stderr
    root = parent / "field-notes"
    assert written(root) == sorted([*FILES, "datapackage/examples.csv"])  # built once: the CSV is committed
    for command in (["validate"], ["fmt", "--check"], ["build", "--check"]):
        checked = run(*command, cwd=root)
        assert checked.returncode == 0, (command, checked.stdout, checked.stderr)
    write_files(root, {**BEACONS, **MEMBERS})
    for folder in ("datapackage/beacons", "datapackage/members"):
        described = run("describe", folder, "--out", "schemas", cwd=root)
        assert (described.returncode, described.stderr) == (0, ""), folder
    checked = run("validate", cwd=root)
    assert (checked.returncode, checked.stdout) == (0, "valid: 7 record files\n"), checked.stdout
    built = run("build", cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    assert run("build", "--check", cwd=root).returncode == 0
    return root


def test_the_new_repository_holds_what_a_dataset_needs(dataset: Path):
    text = (dataset / "datapackage.json").read_text(encoding="utf-8")
    assert '"name": "field-notes"' in text and '"title": "Field notes"' in text
    readme = (dataset / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Field notes\n")
    assert "make serve" in readme and "make test" in readme
    assert "| `title` | string | yes | What the record is called. |" in readme  # the dictionary, generated
    from broadsheet import __version__

    assert (dataset / "requirements.txt").read_text(encoding="utf-8").splitlines()[-1] == f"broadsheet=={__version__}"
    assert "{{" not in "".join((dataset / f).read_text(encoding="utf-8") for f in FILES if f != ".github/workflows/"
                               "validate.yml")


def test_the_workflow_is_hardened_as_the_repository_s_own(dataset: Path):
    workflow = (dataset / ".github" / "workflows" / "validate.yml").read_text(encoding="utf-8")
    ours = (REPO / ".github" / "workflows" / "validate.yml").read_text(encoding="utf-8")
    pins = re.findall(r"uses: (\S+)", workflow)
    assert pins and all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", pin) for pin in pins)
    assert set(pins) <= set(re.findall(r"uses: (\S+)", ours))  # the same commits the repository pins
    assert "persist-credentials: false" in workflow and "permissions:\n  contents: read" in workflow
    zizmor = shutil.which("zizmor") or str(Path(sys.executable).parent / "zizmor")
    audit = subprocess.run([zizmor, "--offline", str(dataset / ".github" / "workflows")], capture_output=True,
                           text=True, timeout=120)
    assert audit.returncode == 0, audit.stdout + audit.stderr


def get(ds, path: str):  # type: ignore[no-untyped-def]
    return asyncio.run(ds.client.get(path))


PAGES = [
    ("/", ["Field notes", "Say here what the data is"]),
    ("/field-notes/examples", ["An example record"]),
    ("/field-notes/examples/first-example", ["An example record", "Replace this record with your own"]),
    ("/field-notes/beacons/north-point", ["North Point", "A. Keeper", "tower"]),
    ("/field-notes/beacons_keepers", ["C. Keeper"]),
    ("/field-notes/members", ["Ann Example", "member/0002"]),
    ("/field-notes/members_roles_offices", ["12"]),
]


@pytest.mark.parametrize(("path", "texts"), PAGES, ids=[p for p, _t in PAGES])
def test_the_site_serves_the_example_and_the_described_records(dataset: Path, path: str, texts: list[str]):
    layout = Layout(dataset)
    ds = serve.app(serve.prepare(layout, load_package(layout)))
    response = get(ds, path)
    assert response.status_code == 200, path
    for text in texts:
        assert text in response.text, (path, text)


def test_init_never_writes_over_a_file(tmp_path: Path):
    (tmp_path / "README.md").write_text("mine\n", encoding="utf-8")
    refused = run("init", cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr == ("README.md: error[exists] README.md already exists; init writes a new repository "
                              "and never over a file — run init in an empty folder (or a new one: `broadsheet "
                              "init NEW-FOLDER`)\n")
    assert written(tmp_path) == ["README.md"]
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "mine\n"
    created = create(tmp_path / "other", requirement="broadsheet @ git+https://example.org/broadsheet.git")
    assert created.problems == []
    assert (tmp_path / "other" / "requirements.txt").read_text(encoding="utf-8").splitlines()[-1] == (
        "broadsheet @ git+https://example.org/broadsheet.git")
