"""`broadsheet new`: a record template with every field described, which validates once its required values
are filled in."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from broadsheet import validate
from broadsheet.new import ScaffoldError, template
from broadsheet.package import load_package


def test_cities_template(museums):
    assert template(load_package(museums), "cities", "rome") == """\
# Cities: Cities where museums stand.
# Fill in what a source states; delete a line you cannot fill (an empty value means not known).

# Slug of the city. Required.
id: rome
# Name in English. Required.
name_en:
# ISO 3166-1 alpha-2 code. Required. Text matching `^[A-Z]{2}$` as a whole.
country:
# Inhabitants. A whole number. At least 0.
population:
"""


def test_museums_template_has_every_field_and_commented_lists(museums):
    text = template(load_package(museums), "museums", "tate")
    keys = [line.split(":")[0] for line in text.splitlines() if re.match(r"^[a-z_]+:", line)]
    assert keys == ["id", "name_en", "city_id", "kind", "founded", "opened", "visitors", "budget", "free_entry",
                    "topics", "registry_code"]
    lines = text.splitlines()
    assert lines[lines.index("kind:") - 1] == "# What it shows. One of art, history, science."
    assert lines[lines.index("city_id:") - 1] == ("# The city it stands in. The id of a record in cities. "
                                                  "Cite it in `citations`.")
    assert text.endswith("""
# Museum names: Names of a museum in other languages.
# names:
#   - language:  # BCP-47 language tag. Required. Text matching `^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$` as a whole.
#     name:  # The name in that language. Required.

# Museum citations: Which source states which fact of a museum.
# citations:
#   - field:  # The field the source supports. Required.
#     source_id:  # The source. Required. The id of a record in sources.
#     locator:  # Where in the source (paragraph, page). Required.
""")
    assert "museum_id" not in text and "position" not in text  # filled in by the loader, never typed


def test_template_validates_once_required_values_are_filled(museums):
    path = museums.record_path("museums", "tate")
    text = template(load_package(museums), "museums", "tate")
    path.write_text(text, encoding="utf-8")
    report = validate.report(museums)
    assert [(p.path, p.code, p.field) for p in report.errors] == [
        ("datapackage/museums/tate.yaml", "constraint-error", "name_en")]
    filled = text.replace("\nname_en:\n", "\nname_en: Tate Modern\n")
    # a list example, uncommented and filled in, is valid too
    filled = filled.replace("# names:\n#   - language:  #", "names:\n  - language: en  #")
    filled = filled.replace("\n#     name:  # The name", "\n    name: Tate  # The name")
    path.write_text(filled, encoding="utf-8")
    report = validate.report(museums)
    assert report.errors == []
    assert report.stats["rows.museum_names"] == 5


@pytest.mark.parametrize(("resource", "record_id", "message"), [
    ("galleries", "x", "no resource 'galleries'; records can be written for: cities, museums, sources"),
    ("museum_names", "x", "'museum_names' is the list `names` inside museums records; write a museums record"),
    ("museums", "Tate Modern", "id 'Tate Modern' of museums.id is not text matching `^[a-z0-9]+(-[a-z0-9]+)*$` "
     "as a whole: "
     "Slug of the museum."),
    ("museums", "tate--modern", "id 'tate--modern' of museums.id is not text matching"),
    ("cities", "rome/lazio", "id 'rome/lazio' names the record's file: it cannot hold a / or \\ or start with ."),
])
def test_bad_requests(museums, resource, record_id, message):
    with pytest.raises(ScaffoldError, match=re.escape(message)):
        template(load_package(museums), resource, record_id)


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "broadsheet", "new", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_refuses_to_overwrite_and_prints(museums):
    made = run(museums.root, "cities", "rome")
    assert (made.returncode, made.stdout, made.stderr) == (0, "wrote datapackage/cities/rome.yaml\n", "")
    path = museums.record_path("cities", "rome")
    assert path.read_text(encoding="utf-8") == template(load_package(museums), "cities", "rome")
    path.write_text("id: rome\nname_en: Rome\ncountry: IT\n", encoding="utf-8")
    again = run(museums.root, "cities", "rome")
    assert again.returncode == 1
    assert again.stderr == ("datapackage/cities/rome.yaml: error[exists] the record already exists; "
                            "ids are never reused\n")
    assert path.read_text(encoding="utf-8") == "id: rome\nname_en: Rome\ncountry: IT\n"
    printed = run(museums.root, "sources", "--stdout")
    assert printed.returncode == 0
    assert printed.stdout.splitlines()[3:5] == ["# Slug of the source. Required.", "id:"]
    no_id = run(museums.root, "sources")
    assert no_id.returncode == 2
    bad = run(museums.root, "museums", "Bad_Id")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert not (museums.root / "datapackage/museums/Bad_Id.yaml").exists()
