"""Pure renderers of a Report: text for people, JSON for programs, GitHub workflow commands for CI annotations."""

from __future__ import annotations

import json

from broadsheet.errors import Problem, Report

JSON_SCHEMA_VERSION = 1


def location(problem: Problem) -> str:
    where = problem.path or "."
    if problem.line:
        where += f":{problem.line}:{problem.column or 1}"
    return where


def text_line(problem: Problem) -> str:
    details = []
    if problem.found:
        details.append(f"found: {problem.found}")
    if problem.expected:
        details.append(f"expected: {problem.expected}")
    line = f"{location(problem)}: {problem.severity}[{problem.code}] {problem.message}"
    if details:
        line += f" ({'; '.join(details)})"
    if problem.hint:
        line += f" — {problem.hint}"
    return line


def render_text(report: Report) -> str:
    lines = [text_line(p) for p in report.sorted()]
    errors = len(report.errors)
    files = len({p.path for p in report.errors})
    if errors:
        lines.append(f"{errors} error{'s' * (errors != 1)} in {files} file{'s' * (files != 1)}")
    else:
        lines.append(f"valid: {report.stats.get('files', 0)} record files")
    return "\n".join(lines)


def render_json(report: Report) -> str:
    """Shape: {"version", "valid", "error_count", "warning_count", "stats", "problems": [Problem...]}."""
    return json.dumps({"version": JSON_SCHEMA_VERSION, **report.to_dict()}, ensure_ascii=False, indent=2)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    """Workflow commands that GitHub shows as annotations on the YAML lines of a pull request."""
    lines = []
    for problem in report.sorted():
        props = [f"file={_escape_property(problem.path)}"]
        if problem.line:
            props += [f"line={problem.line}", f"col={problem.column or 1}"]
        props.append(f"title={_escape_property(problem.code)}")
        command = "error" if problem.severity == "error" else "warning"
        body = text_line(problem).split(": ", 1)[-1]
        lines.append(f"::{command} {','.join(props)}::{_escape_data(body)}")
    lines.append(render_text(report).rsplit("\n", 1)[-1])
    return "\n".join(lines)


RENDERERS = {"text": render_text, "json": render_json, "github": render_github}
