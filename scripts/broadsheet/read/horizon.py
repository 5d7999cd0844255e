"""When a file's stat signature may stand for its bytes: the "racy git" rule, written once.

A run reads a file and remembers its signature (size, mtime, ctime, inode) so that a later run can skip hashing
it. That is safe only if no write can follow the read and leave the signature as it was: a write moves the ctime
(users cannot set it), but to a time the file system rounds to its granularity (ns on ext4 and tmpfs, counted in
clock ticks; 2 s on FAT). The rule, as git applies it to its index: a signature is trusted when the file's ctime
is strictly earlier than a *horizon* taken on the same file system before the run read anything. Any later write
gives the file a ctime at or after the horizon, so the signature of a trusted file can only match bytes that
were already there.

The horizon is the ctime of a stamp file the run writes in its cache folder, so it is rounded exactly as the
records' own times are. The old rule (ctime within 2 s before the run's start counts as racy) made every file
of a fresh clone racy when validated at once, and the run after it re-hashed them all (10k files: 0.6 s instead
of 0.24 s). Where the stamp cannot be written (a read-only checkout) or sits on another file system than the
records, the horizon falls back to the run's start minus RACY_WINDOW_NS.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

RACY_WINDOW_NS = 2_000_000_000  # the fallback: coarser than any local file system's timestamps (FAT: 2 s)
STAMP_NAME = ".now"

Signature = tuple[int, int, int, int]


def take(cache_folder: Path, records_root: Path, window_ns: int = RACY_WINDOW_NS) -> int:
    """The horizon for a run starting now. `window_ns` 0 (tests only) trusts every file written before now."""
    now = time.time_ns()
    if window_ns <= 0:
        return now
    stamp = _stamp_ctime(cache_folder, records_root)
    return stamp if stamp is not None else now - window_ns


def trusted(signature: Signature | None, horizon: int) -> bool:
    """May this signature, taken when the file was read, stand for the bytes read?"""
    return signature is not None and signature[2] < horizon


def kept(signature: Signature | None, horizon: int) -> Signature | None:
    """The signature when it is trusted, else None (the file is hashed again next time)."""
    return signature if trusted(signature, horizon) else None


def _stamp_ctime(cache_folder: Path, records_root: Path) -> int | None:
    with contextlib.suppress(OSError):
        cache_folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(cache_folder / STAMP_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        try:
            os.write(descriptor, b"\n")  # a write moves the ctime to the file system's now, rounded as records' are
            stamp = os.fstat(descriptor)
        finally:
            os.close(descriptor)
        if stamp.st_dev == os.stat(records_root).st_dev:
            return stamp.st_ctime_ns
    return None
