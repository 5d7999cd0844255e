"""The "download everything" zip: entries in a fixed order, every timestamp 1980-01-01 and fixed permissions, so
the same input gives the same bytes. A short README.txt and a license note are generated from datapackage.json.

Each entry is deflated in pieces (a table's rows in groups, see `cuts`), every piece by a fresh compressor ending
in a sync flush, so a piece's compressed bytes depend on that piece alone: a build that changed one row reuses the
previous zip's compressed bytes of every other piece (`Previous`), and writes exactly what a cold build writes.
The zip is written here (local headers with sizes and CRC, no data descriptors, zip64 records where needed) so
both builds make it the same way."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from broadsheet.package import citation

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
DOS_DATE, DOS_TIME = (0 << 9) | (1 << 5) | 1, 0  # 1980-01-01 00:00:00
# Deflate level 6 (zlib's default): on the benchmark's 28 MB of CSV and JSON, 0.27 s for 2.76 MB where level 9 takes
# 1.1 s for 2.61 MB (6% smaller) and level 1 0.08 s for 3.85 MB (40% larger).
LEVEL = 6
FINAL = b"\x03\x00"  # an empty final block: what ends every entry's stream of sync-flushed pieces
ATTRIBUTES = 0o644 << 16
ZIP64_LIMIT = 0xFFFFFFFF


@dataclass
class Entry:
    """One entry as written: where its compressed bytes start in the zip, their size, the CRC and size of the
    data, and each piece's (data length, compressed length)."""

    start: int
    compressed: int
    crc: int
    size: int
    pieces: list[tuple[int, int]] = field(default_factory=list)

    def as_tuple(self) -> tuple[int, int, int, int, list[tuple[int, int]]]:
        return (self.start, self.compressed, self.crc, self.size, self.pieces)


@dataclass
class Written:
    """What Writer.write wrote: the data, and its compressed parts and (data length, compressed length) pieces."""

    data: bytes | memoryview
    parts: list[bytes]
    pieces: list[tuple[int, int]]


@dataclass
class Previous:
    """The last build's zip, its entries (Bundle.entries, as tuples), and the data of the entries that may be
    reused, by name: a piece whose bytes equal the previous build's piece at the same place is not deflated."""

    archive: bytes
    entries: dict[str, tuple[int, int, int, int, list[tuple[int, int]]]]
    data: dict[str, bytes]


def _deflate(piece: bytes | memoryview) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)


class Writer:
    """One entry, written in parts (each part cut into pieces at the offsets given)."""

    def __init__(self, bundle: Bundle, name: str) -> None:
        self.bundle, self.name = bundle, name
        self.parts: list[bytes] = []
        self.pieces: list[tuple[int, int]] = []
        self.data: list[bytes | memoryview] = []
        self.reused = 0  # pieces taken from the previous build
        before = bundle.previous
        self._old = None
        if before is not None and name in before.entries and name in before.data:
            self._old = (before.archive, before.entries[name], before.data[name])
        self._old_at = [0, 0]  # data offset, compressed offset of the previous entry's next piece

    def write(self, data: bytes | memoryview, cuts: Sequence[int] = ()) -> Written:
        """`data` cut into pieces at `cuts`; what was written, for `write_again` in another entry."""
        first = len(self.pieces)
        bounds = [0, *(c for c in cuts if 0 < c < len(data)), len(data)]
        view = memoryview(data)
        for a, b in zip(bounds, bounds[1:], strict=False):
            if b > a:
                self._piece(view[a:b])
        self.data.append(data)
        return Written(data, self.parts[first:], self.pieces[first:])

    def write_again(self, written: Written) -> None:
        """What another entry of this zip wrote, in its compressed pieces as they are: every piece is deflated on
        its own, so the same bytes cut at the same places deflate to the same bytes (a table's rows in the
        whole-package JSON: 116 MB at 100k records, no longer deflated twice). The previous build's pieces of
        this entry no longer line up after it: none is reused from here on."""
        self._old = None
        self.parts += written.parts
        self.pieces += written.pieces
        self.data.append(written.data)

    def _piece(self, piece: memoryview) -> None:
        compressed = None
        index = len(self.pieces)
        if self._old is not None and index < len(self._old[1][4]):
            archive, (start, *_rest, pieces), data = self._old
            length, packed = pieces[index]
            at, packed_at = self._old_at
            if length == len(piece) and data.startswith(piece, at):
                compressed = archive[start + packed_at:start + packed_at + packed]
                self.reused += 1
            self._old_at = [at + length, packed_at + packed]
        if compressed is None:
            compressed = _deflate(piece)
        self.parts.append(compressed)
        self.pieces.append((len(piece), len(compressed)))

    def close(self) -> None:
        self.parts.append(FINAL)
        size = sum(map(len, self.data))
        if self._old is not None and self.reused == len(self._old[1][4]) == len(self.pieces) and size == \
                self._old[1][3]:
            crc = self._old[1][2]  # every piece as before: so is the data
        else:
            crc = 0
            for data in self.data:
                crc = zlib.crc32(data, crc)
        self.bundle._entry(self.name, self.parts, crc, size, self.pieces)


class Bundle:
    """A zip written entry by entry, in the order entries are added. `stream` writes one entry in parts; nothing
    else may be added until it is closed. `entries` says where each entry's pieces are, for the next build."""

    def __init__(self, previous: Previous | None = None) -> None:
        self.previous = previous
        self._chunks: list[bytes] = []
        self._offset = 0
        self._central: list[bytes] = []
        self.entries: dict[str, Entry] = {}

    def layout(self) -> dict[str, tuple[int, int, int, int, list[tuple[int, int]]]]:
        """Where each entry's pieces are (Previous.entries of the next build)."""
        return {name: entry.as_tuple() for name, entry in self.entries.items()}

    def add(self, name: str, data: bytes, cuts: Sequence[int] = ()) -> None:
        writer = self.stream(name)
        writer.write(data, cuts)
        writer.close()

    def stream(self, name: str) -> Writer:
        return Writer(self, name)

    def _entry(self, name: str, parts: list[bytes], crc: int, size: int, pieces: list[tuple[int, int]]) -> None:
        encoded = name.encode("ascii")
        compressed = sum(map(len, parts))
        offset = self._offset
        large = size >= ZIP64_LIMIT or compressed >= ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, compressed) if large else b""
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if large else 20, 0, 8, DOS_TIME, DOS_DATE, crc,
                             ZIP64_LIMIT if large else compressed, ZIP64_LIMIT if large else size, len(encoded),
                             len(extra)) + encoded + extra
        self._chunks.append(header)
        self._chunks.extend(parts)
        self._offset += len(header) + compressed
        self.entries[name] = Entry(offset + len(header), compressed, crc, size, pieces)
        far = offset >= ZIP64_LIMIT
        values = ([size, compressed] if large else []) + ([offset] if far else [])
        central_extra = struct.pack(f"<HH{len(values)}Q", 1, 8 * len(values), *values) if values else b""
        self._central.append(struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | (45 if large or far else 20), 45 if large or far else 20, 0,
            8, DOS_TIME, DOS_DATE, crc, ZIP64_LIMIT if large else compressed, ZIP64_LIMIT if large else size,
            len(encoded), len(central_extra), 0, 0, 0, ATTRIBUTES, ZIP64_LIMIT if far else offset)
            + encoded + central_extra)

    def close(self) -> bytes:
        directory = b"".join(self._central)
        start, count = self._offset, len(self._central)
        tail = b""
        if start >= ZIP64_LIMIT or count >= 0xFFFF:
            end64 = start + len(directory)
            tail = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, (3 << 8) | 45, 45, 0, 0, count, count, len(directory),
                               start) + struct.pack("<IIQI", 0x07064B50, 0, end64, 1)
        tail += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, 0xFFFF), min(count, 0xFFFF),
                            min(len(directory), ZIP64_LIMIT), min(start, ZIP64_LIMIT), 0)
        return b"".join([*self._chunks, directory, tail])


def _licenses(descriptor: dict[str, Any]) -> list[str]:
    lines = []
    for license_ in descriptor.get("licenses") or []:
        parts = [str(license_.get(k)) for k in ("title", "name") if license_.get(k)]
        text = " — ".join(dict.fromkeys(parts)) or "(unnamed license)"
        if license_.get("path"):
            text += f" <{license_['path']}>"
        lines.append(text)
    return lines


def license_text(descriptor: dict[str, Any]) -> str:
    lines = _licenses(descriptor)
    if not lines:
        return "No license is declared in datapackage.json: ask the publisher before reusing this data.\n"
    return ("The data in this package is published under:\n\n" + "\n".join(f"  {line}" for line in lines)
            + "\n\nThe full text of the license is at the address given.\n")


def codes_text(codes: dict[str, dict[str, str]]) -> list[str]:
    """The README's list of coded values: per `resource.field`, each code and its label from the schema."""
    if not codes:
        return []
    lines = ["Codes", "-----", "Coded columns hold the value on the left; it means the label on the right.", ""]
    for column, labels in codes.items():
        lines.append(column)
        width = max(len(code) for code in labels)
        lines += [f"  {code.ljust(width)}  {text}" for code, text in labels.items()]
        lines.append("")
    return lines


def readme_text(descriptor: dict[str, Any], files: list[str], codes: dict[str, dict[str, str]] | None = None) -> str:
    title = str(descriptor.get("title") or descriptor.get("name") or "Data package")
    lines = [title, "=" * len(title), ""]
    if descriptor.get("description"):
        lines += [str(descriptor["description"]), ""]
    lines += ["License", "-------", *(_licenses(descriptor) or ["none declared"]), ""]
    lines += ["How to cite", "-----------", citation(descriptor)["text"], ""]
    lines += ["Contents", "--------",
              "datapackage.json   the Frictionless Data Package descriptor (validate with "
              "`frictionless validate datapackage.json`)",
              *(f"  {name}" for name in files if name != "datapackage.json"), ""]
    lines += codes_text(codes or {})
    return "\n".join(lines)
