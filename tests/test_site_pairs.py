"""Disagreements a derived table pairs across records, configured in site metadata (generic: any table, any
columns), drawn from a real SQLite file through the plugin's own functions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette

RESOURCES = {"things": {"title": "Things", "top_level": True, "key": ["id"], "label": "name", "url": None,
                        "fields": [{"name": "id", "title": "Id"}, {"name": "name", "title": "Name"}]}}
RULE = {"resource": "things", "record": "thing_id", "key": ["measure", "link"], "columns": ["amount", "note"],
        "links": {"thing_id": "things"}, "titles": {"thing_id": "Thing"}, "same_record": False}


@pytest.fixture
def labels(tmp_path: Path):  # type: ignore[no-untyped-def]
    from broadsheet_site import labels as module_labels
    from broadsheet_site import record as module
    conn = sqlite3.connect(tmp_path / "pairs.db")
    conn.row_factory = sqlite3.Row
    conn.executescript("""
        create table things (id text primary key, name text);
        insert into things values ('a', 'Alpha plant'), ('b', 'Beta plant'), ('c', 'Gamma');
        create table pairs (measure text, link text, thing_id_a text, amount_a, note_a text,
                            thing_id_b text, amount_b, note_b text);
        insert into pairs values ('jobs_total', 'same project', 'a', 500, 'about', 'b', 1200, null),
                                 ('money', 'same record', 'a', 1, null, 'a', 2, null),
                                 ('money', 'same project', 'b', 1500000, null, 'c', 2000000, 'more than');
    """)
    conn.commit()
    datasette = Datasette(immutables=[str(tmp_path / "pairs.db")])
    return module, module_labels.Labels(datasette, "pairs", RESOURCES, conn)


def test_pairs_of_a_record_with_the_other_record_linked(labels) -> None:  # type: ignore[no-untyped-def]
    module, found = labels
    pairs = module.paired_disagreements(found, {"paired_disagreements": {"pairs": RULE}}, "things", "a",
                                        {"things", "pairs"})
    assert pairs == [{"key": "jobs total · same project", "sides": [
        {"cells": [{"title": "Thing", "value": {"text": "Alpha plant (this record)", "id": "a", "href": None,
                                                "url": None}},
                   {"title": "Amount", "value": {"text": "500"}},
                   {"title": "Note", "value": {"text": "about"}}]},
        {"cells": [{"title": "Thing", "value": {"text": "Beta plant", "id": "b", "href": "/pairs/things/b",
                                                "url": None}},
                   {"title": "Amount", "value": {"text": "1,200"}}]},
    ]}]


@pytest.mark.parametrize(("record_id", "names", "conf", "count"), [
    ("b", {"things", "pairs"}, {"paired_disagreements": {"pairs": RULE}}, 2),  # b is on side b, then side a
    ("c", {"things", "pairs"}, {"paired_disagreements": {"pairs": RULE}}, 1),
    ("a", {"things", "pairs"}, {"paired_disagreements": {"pairs": {**RULE, "same_record": True}}}, 2),
    ("a", {"things"}, {"paired_disagreements": {"pairs": RULE}}, 0),  # the table is not in this database
    ("a", {"things", "pairs"}, {"paired_disagreements": {"pairs": {**RULE, "resource": "other"}}}, 0),
    ("a", {"things", "pairs"}, {}, 0),
])
def test_which_pairs_a_record_shows(labels, record_id: str, names: set[str], conf: dict,  # type: ignore[no-untyped-def]
                                    count: int) -> None:
    module, found = labels
    assert len(module.paired_disagreements(found, conf, "things", record_id, names)) == count
