"""CSV: RFC 4180 with CRLF line ends (the RFC's own choice, and what spreadsheets expect), UTF-8.

The committed `datapackage/<resource>.csv` has no BOM (so every tool reads the header name exactly); the download
copy under out/downloads/csv/ starts with a BOM so that Excel shows Cyrillic and Chinese correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

BOM = "\ufeff"


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()


class _Lines(list):
    """What a csv.writer writes to: one string per row (the writer writes each row in one call)."""

    def write(self, line: str) -> None:
        self.append(line)


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[bytes]:
    """Each line of `csv_bytes` (without a BOM) as bytes, the header's first: the build keeps their lengths so the
    next build can replace one row's line (broadsheet.splice)."""
    lines = _Lines()
    writer = csv.writer(lines, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return [line.encode("utf-8") for line in lines]


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], bom: bool = False) -> bytes:
    return ((BOM if bom else "") + csv_text(header, rows)).encode("utf-8")
