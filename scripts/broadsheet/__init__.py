"""Broadsheet: hand-written YAML records → validated Frictionless Data Package → SQLite → Datasette."""

__version__ = "0.1.0"
