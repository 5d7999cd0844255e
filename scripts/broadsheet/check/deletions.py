"""The guard against mass deletion: a resource that loses more than a set share of its records since git's base
(the merge base with main, as `broadsheet diff` compares) is an error, unless a commit of the change says it
is intended with a line `Deletes-records: <resource>` (or `all`) in its message.

The share is `x-broadsheet: {max-deleted-share: ...}` in datapackage.json (default 0.5: losing more than half;
1 turns the guard off). Outside a git repository, or with no base, there is nothing to compare with."""

from __future__ import annotations

import json
import re
from typing import Any

from broadsheet import git
from broadsheet.errors import Problem
from broadsheet.layout import DATA_DIR, RECORD_SUFFIX, Layout

DEFAULT_SHARE = 0.5
INTENDED = re.compile(r"^Deletes-records:[ \t]*(.+)$", re.MULTILINE | re.IGNORECASE)


def max_deleted_share(descriptor: dict[str, Any]) -> float:
    settings = descriptor.get("x-broadsheet") or {}
    share = settings.get("max-deleted-share", DEFAULT_SHARE) if isinstance(settings, dict) else DEFAULT_SHARE
    return float(share) if isinstance(share, int | float) and not isinstance(share, bool) else DEFAULT_SHARE


def counts(names: list[str]) -> dict[str, int]:
    """Record files per top-level resource among paths `datapackage/<resource>/<id>.yaml` (a folder of records
    is a top-level resource)."""
    found: dict[str, int] = {}
    for name in names:
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == DATA_DIR and parts[2].endswith(RECORD_SUFFIX):
            found[parts[1]] = found.get(parts[1], 0) + 1
    return found


def declared(text: str) -> set[str]:
    """The resources the commit messages say may lose records."""
    return {name.strip() for line in INTENDED.findall(text) for name in re.split(r"[,\s]+", line) if name.strip()}


def mass_deletions(layout: Layout, now: dict[str, int]) -> list[Problem]:
    """A problem per resource that lost more than the allowed share of its records since the base; `now`:
    each resource's records in the working tree."""
    root = layout.root
    share = max_deleted_share(json.loads(layout.descriptor.read_text(encoding="utf-8")))
    if share >= 1 or not git.in_repository(root):
        return []
    try:
        base = git.default_base(root)
    except git.GitError:
        return []  # no commit yet
    before = counts(git.record_names(root, base))
    allowed = declared(git.messages(root, base))
    problems = []
    for resource, had in sorted(before.items()):
        lost = had - now.get(resource, 0)
        if had and lost / had > share and not allowed & {resource, "all"}:
            folder = f"{DATA_DIR}/{resource}"
            problems.append(Problem(
                "mass-deletion", f"{resource} loses {lost} of its {had} records since {git.short(root, base)}",
                path=folder, resource=resource, found=f"{lost} of {had} records deleted ({lost / had:.0%})",
                expected=f"at most {share:.0%} deleted, unless the change says so",
                hint=f"if this is intended, commit it with the line `Deletes-records: {resource}` in the message"))
    return problems
