"""Broadsheet as a wheel, used on a repository that is not this checkout: the wheel is built from the sources,
installed into a fresh virtual environment in a temporary folder, and its `broadsheet serve` serves a fixture
package that it built there, with the site plugin found by its entry point and its templates read from the
installed package. Pages are fetched over 127.0.0.1.

pip installs the dependencies through the package registry as the machine is set up (the same as `make test`),
bounded by INSTALL_SECONDS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO
from test_init import written
from test_site import free_port, stop_server, wait_for_site

INSTALL_SECONDS = 600
DB = "museums-fixture"


def _env() -> dict[str, str]:
    """The environment of a user outside the checkout: no PYTHONPATH, no virtual environment of ours."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(REPO)))
    return env


def _run(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; returns its bin/ folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so building writes nothing into the checkout
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copytree(REPO / "scripts", source / "scripts",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(source)],
         work, INSTALL_SECONDS)
    [wheel] = sorted((work / "dist").glob("broadsheet-*.whl"))
    base = getattr(sys, "_base_executable", sys.executable)  # the interpreter our venv was made from
    _run([base, "-m", "venv", str(work / "venv")], work, 120)
    bin_dir = work / "venv" / "bin"
    _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-compile", str(wheel)], work, INSTALL_SECONDS)
    return bin_dir


def test_the_wheel_holds_the_site_and_registers_it(installed: Path) -> None:
    done = _run([str(installed / "python"), "-c", (
        "import json, broadsheet, broadsheet_site\n"
        "from importlib.metadata import entry_points\n"
        "from importlib.resources import files\n"
        "print(json.dumps({'toolkit': broadsheet.__file__, 'site': broadsheet_site.__file__,"
        " 'entry': [ep.value for ep in entry_points(group='datasette', name='broadsheet')],"
        " 'templates': sorted(p.name for p in (files('broadsheet_site') / 'templates').iterdir()),"
        " 'static': sorted(p.name for p in (files('broadsheet_site') / 'static').iterdir())}))")],
        installed.parent, 120)
    found = json.loads(done.stdout)
    venv = installed.parent.resolve()
    assert Path(found["toolkit"]).resolve().is_relative_to(venv)
    assert Path(found["site"]).resolve().is_relative_to(venv)
    assert found["entry"] == ["broadsheet_site"]
    assert found["templates"] == sorted(p.name for p in (REPO / "scripts" / "broadsheet_site" / "templates").iterdir())
    assert found["static"] == ["site.css"]


PAGES = [
    # (path, text the page must hold)
    ("/", "What is in it"),  # the home page drawn by the plugin's template and hooks
    (f"/{DB}/museums", "Central State Museum"),
    (f"/{DB}/museums/central-state", "Центральный государственный музей"),
    ("/-/search?q=Tsentralny", f'href="/{DB}/museums/central-state"'),
    ("/static/site.css", ".bs-"),
    (f"/-/downloads/{DB}.zip", "PK"),
]


def test_broadsheet_serve_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    data = tmp_path / "museums"
    shutil.copytree(FIXTURES / "museums", data)
    _run([str(installed / "broadsheet"), "build", "--root", str(data)], tmp_path, 300)
    port = free_port()
    server = subprocess.Popen([str(installed / "broadsheet"), "serve", "--root", str(data), "--port", str(port),
                               "--no-build"], cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_site(server, url)
        for path, text in PAGES:
            with urllib.request.urlopen(url + path, timeout=30) as response:
                assert response.status == 200, path
                body = response.read()
            assert text.encode("utf-8") in body, path
    finally:
        stop_server(server)


def test_broadsheet_init_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    """The template is package data: init works from the wheel, and what it makes validates."""
    _run([str(installed / "broadsheet"), "init", "made"], tmp_path, 300)
    made = tmp_path / "made"
    assert written(made) == [
        ".github/workflows/validate.yml", ".gitignore", "Makefile", "README.md", "datapackage.json",
        "datapackage/examples.csv", "datapackage/examples/first-example.yaml", "requirements.txt",
        "schemas/examples.yaml", "site/metadata.yml"]
    done = _run([str(installed / "broadsheet"), "validate", "--root", str(made)], tmp_path, 300)
    assert done.stdout == "valid: 1 record files\n"
