"""The repository holds no path of the machine it was written on (the guide: paths are relative to the root),
checked over what git tracks: no symbolic link leads outside the repository or by an absolute path, and no
tracked text names the folder the checkout sits in."""

from __future__ import annotations

import os
import subprocess

from conftest import REPO


def tracked() -> list[tuple[str, str]]:
    """(mode, path) of every file git tracks."""
    listing = subprocess.run(["git", "ls-files", "-s", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    return [(entry.split(b" ", 1)[0].decode(), entry.split(b"\t", 1)[1].decode())
            for entry in listing.split(b"\0") if entry]


def test_no_symbolic_link_leads_outside_the_repository() -> None:
    links = {path: os.readlink(REPO / path) for mode, path in tracked() if mode == "120000"}
    outside = {path: target for path, target in links.items()
               if os.path.isabs(target) or not (REPO / path).parent.joinpath(target).resolve().is_relative_to(REPO)}
    assert outside == {}


def test_no_tracked_text_names_the_folder_the_checkout_sits_in() -> None:
    machine = f"{REPO.resolve().parent}/".encode()  # e.g. /home/someone/ : where this checkout happens to be
    named = [path for mode, path in tracked() if mode != "120000" and (REPO / path).is_file()
             and machine in (REPO / path).read_bytes()]
    assert named == []
