"""git plumbing: few processes, paths always relative to the dataset root (which may be a subfolder of the
repository). `broadsheet diff` and the record history read git through here; nothing else runs git."""

from __future__ import annotations

import subprocess
from pathlib import Path

from broadsheet.errors import BroadsheetError
from broadsheet.layout import DATA_DIR


class GitError(BroadsheetError):
    """git is missing, the folder is not a repository, or a revision does not exist."""


def git(root: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True, timeout=600)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
    return done.stdout if done.returncode == 0 else b""


def in_repository(root: Path) -> bool:
    try:
        return git(root, "rev-parse", "--is-inside-work-tree", check=False).strip() == b"true"
    except GitError:
        return False


def resolve(root: Path, revision: str) -> str:
    """The full commit hash of `revision`; GitError if there is none."""
    out = git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False).strip()
    if not out:
        raise GitError(f"{revision!r} is not a commit in this repository")
    return out.decode()


def short(root: Path, commit: str) -> str:
    return git(root, "rev-parse", "--short", commit).strip().decode()


def default_base(root: Path) -> str:
    """The merge base of HEAD and main (or origin/main), else HEAD: what a pull request would change."""
    for branch in ("main", "origin/main"):
        base = git(root, "merge-base", "HEAD", branch, check=False).strip()
        if base:
            return base.decode()
    return resolve(root, "HEAD")


def read_blobs(root: Path, names: list[str]) -> dict[str, bytes | None]:
    """Contents of many `rev:path` objects in one `git cat-file --batch` process; None where one is missing."""
    if not names:
        return {}
    out = git(root, "cat-file", "--batch", stdin="".join(f"{n}\n" for n in names).encode())
    contents: dict[str, bytes | None] = {}
    at = 0
    for name in names:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            contents[name] = out[at : at + size]
            at += size + 1  # the content is followed by a newline
        else:  # "<name> missing", or not a blob
            contents[name] = None
    return contents


def repo_prefix(root: Path) -> str:
    """The dataset root's path inside the repository (`""` at the top), for `rev:path` object names."""
    return git(root, "rev-parse", "--show-prefix").strip().decode()


def changed_paths(root: Path, base: str, head: str | None) -> list[str]:
    """Files under datapackage/ that differ between base and head (None = working tree, untracked files too)."""
    args = ["diff", "--no-renames", "--relative", "--name-only", "-z", base]
    if head:
        args.append(head)
    paths = set(_split_z(git(root, *args, "--", f"{DATA_DIR}/")))
    if head is None:
        paths |= set(_split_z(git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", f"{DATA_DIR}/")))
    return sorted(paths)


def _split_z(out: bytes) -> list[str]:
    return [p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p]


def record_names(root: Path, commit: str) -> list[str]:
    """Every file under datapackage/ at `commit`, relative to the dataset root."""
    return _split_z(git(root, "ls-tree", "-r", "--name-only", "-z", commit, "--", f"{DATA_DIR}/"))


def messages(root: Path, base: str, head: str = "HEAD") -> str:
    """The messages of the commits after `base` up to `head`, one after the other."""
    return git(root, "log", "--format=%B", f"{base}..{head}", check=False).decode("utf-8", "replace")
