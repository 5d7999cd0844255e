"""How a record file's bytes are read (broadsheet.read.records.read_record_and_stat): the status of the open
handle and every byte up to the limit, whatever the status said the size was. The first read asks for the size
fstat gave (plus one byte), so these cases hold that a file longer or shorter than that loses nothing and that
the limit bounds what is read."""

from __future__ import annotations

import os

import pytest

from broadsheet.read import records
from broadsheet.read.records import NotARegularFile, read_record_and_stat

KB = 1024


@pytest.mark.parametrize(("size", "limit", "read"), [
    (0, None, 0),
    (10, None, 10),
    (300 * KB, None, 300 * KB),  # more than one read after the first
    (10, 11, 10),
    (10, 10, 10),
    (10, 4, 4),  # validation asks for limit + 1 bytes to see a file too large without reading it whole
    (300 * KB, 100 * KB + 1, 100 * KB + 1),
])
def test_a_record_file_is_read_whole_up_to_the_limit(tmp_path, size, limit, read):
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    path = tmp_path / "record.yaml"
    path.write_bytes(data)
    status, raw = read_record_and_stat(path, limit)
    assert (status.st_size, raw) == (size, data[:read])


@pytest.mark.parametrize(("said", "held"), [
    (0, 5000),  # grew after fstat: the rest is read too
    (4999, 5000),
    (5000, 5000),
    (9000, 5000),  # shrank: what is there
])
def test_what_fstat_said_the_size_was_only_sizes_the_first_read(said, held):
    reader, writer = os.pipe()
    os.write(writer, b"x" * held)
    os.close(writer)
    try:
        assert records._read_to_end(reader, said, None) == b"x" * held
    finally:
        os.close(reader)


def test_a_folder_is_not_read(tmp_path):
    with pytest.raises(NotARegularFile):
        read_record_and_stat(tmp_path)
