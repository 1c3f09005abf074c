"""Readers of files, folders, archives and JSON texts (no database)."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import logging
import lzma
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path

import psutil
import pytest

from evedmv_tui.ingest import sources
from evedmv_tui.ingest.parallel import read_here, read_in_processes
from evedmv_tui.ingest.sources import (
    FileReader,
    InputError,
    expand_paths,
    iter_array,
    iter_tar,
)
from tests.archive_support import complete_members, readable_prefix
from tests.conftest import shared_file

SAMPLES = "killmails/real/everef_cluster_samples.jsonl"


def _sample_lines(count: int) -> list[bytes]:
    return shared_file(SAMPLES).read_bytes().splitlines()[:count]


def _documents(path: Path) -> list[sources.RawDocument]:
    return list(FileReader(path).documents())


def _tar(path: Path, members: dict[str, bytes], mode: str = "w:bz2") -> Path:
    with tarfile.open(path, mode, format=tarfile.GNU_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_real_archive_matches_tarfile() -> None:
    path = shared_file("killmails/everef/killmails-2021-12-03.tar.bz2")
    with tarfile.open(path, "r:bz2") as archive:
        expected = {}
        for member in archive:
            handle = archive.extractfile(member)
            if handle is not None:
                expected[member.name] = handle.read()
    with bz2.open(path) as stream:
        found = dict(iter_tar(stream, str(path)))  # type: ignore[arg-type]
    assert found == expected
    assert len(found) == 4158


def test_archive_members_are_documents() -> None:
    path = shared_file("killmails/everef/killmails-2021-12-03.tar.bz2")
    documents = _documents(path)
    assert len(documents) == 4158
    first = documents[0]
    assert first.position.startswith("killmails/")
    assert first.position.endswith(".json")
    assert json.loads(first.raw)["killmail_id"] == int(
        first.position.removeprefix("killmails/").removesuffix(".json")
    )


def test_long_names_and_pax(tmp_path: Path) -> None:
    long_name = "killmails/" + "d" * 120 + "/1.json"
    lines = _sample_lines(2)
    path = _tar(tmp_path / "long.tar", {long_name: lines[0]}, mode="w")
    assert [d.position for d in _documents(path)] == [long_name]
    pax = tmp_path / "pax.tar.gz"
    with tarfile.open(pax, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("päx/" + "e" * 110 + ".json")
        info.size = len(lines[1])
        archive.addfile(info, io.BytesIO(lines[1]))
    assert [d.position for d in _documents(pax)] == ["päx/" + "e" * 110 + ".json"]


def test_jsonl_member_gets_line_numbers(tmp_path: Path) -> None:
    lines = _sample_lines(3)
    path = _tar(tmp_path / "lines.tar.bz2", {"day.jsonl": b"\n".join(lines) + b"\n"})
    positions = [d.position for d in _documents(path)]
    assert positions == ["day.jsonl line 1", "day.jsonl line 2", "day.jsonl line 3"]


def test_detects_content_not_names(tmp_path: Path) -> None:
    lines = _sample_lines(4)
    text = b"\n".join(lines) + b"\n"
    gz = tmp_path / "plain.json"
    gz.write_bytes(gzip.compress(text))
    assert len(_documents(gz)) == 4
    xz = tmp_path / "noext"
    xz.write_bytes(lzma.compress(text))
    assert [d.position for d in _documents(xz)][-1] == "line 4"


def test_pretty_document_is_one(tmp_path: Path) -> None:
    path = shared_file("killmails/feeds/redisq_package_119455394.json")
    documents = _documents(path)
    assert len(documents) == 1
    assert documents[0].position == "line 1"
    assert json.loads(documents[0].raw) == json.loads(path.read_bytes())


def test_single_document_named_by_line(tmp_path: Path) -> None:
    """A .json file's one document is named by its line, compact or pretty."""
    document = json.loads(
        shared_file("killmails/feeds/redisq_package_119455394.json").read_bytes()
    )
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(document), encoding="utf-8")
    pretty = tmp_path / "pretty.json"
    pretty.write_text("\n\n" + json.dumps(document, indent=2), encoding="utf-8")

    assert [d.position for d in _documents(compact)] == ["line 1"]
    assert [d.position for d in _documents(pretty)] == ["line 3"]


def test_jsonl_blank_lines_and_crlf(tmp_path: Path) -> None:
    lines = _sample_lines(2)
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(b"\r\n" + lines[0] + b"\r\n\r\n" + lines[1] + b"\r\n")
    documents = _documents(path)
    assert [d.position for d in documents] == ["line 2", "line 4"]
    assert [d.raw for d in documents] == lines


def test_array_file_elements() -> None:
    path = shared_file("killmails/feeds/zkb_api_moldenheath_npc.json")
    documents = _documents(path)
    expected = json.loads(path.read_bytes())
    assert len(documents) == len(expected) == 175
    assert [json.loads(d.raw) for d in documents] == expected
    assert documents[-1].position == "element 174"


def test_array_streamed_when_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "WHOLE_ARRAY_LIMIT", 0)
    monkeypatch.setattr(sources, "_CHUNK", 64)
    path = shared_file(
        "killmails/feeds/zkb_api_shipTypeID-34495_regionID-10000028.json"
    )
    documents = _documents(path)
    assert [json.loads(d.raw) for d in documents] == json.loads(path.read_bytes())


def test_array_splitter_strings_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    text = rb'[{"a": "x,]\\", "b": [1, {"c": "\""}]}, 3 , "s\"]" , [1, [2]]]'
    expected = [
        rb'{"a": "x,]\\", "b": [1, {"c": "\""}]}',
        b"3",
        rb'"s\"]"',
        b"[1, [2]]",
    ]
    for chunk in (1, 2, 3, 7, 1024):
        monkeypatch.setattr(sources, "_CHUNK", chunk)
        assert list(iter_array(io.BytesIO(text))) == expected


def test_array_splitter_keeps_bad_elements() -> None:
    text = b'[{"killmail_id": 1}, {broken, "x": [1]}, {"killmail_id": 2}] trailing'
    elements = list(iter_array(io.BytesIO(text)))
    assert elements == [
        b'{"killmail_id": 1}',
        b'{broken, "x": [1]}',
        b'{"killmail_id": 2}',
        b"trailing",
    ]


def test_malformed_array_keeps_good_elements(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(b'[{"killmail_id": 1, "zkb": {}}, {"killmail_id": , 2}]')
    raws = [d.raw for d in _documents(path)]
    assert raws == [b'{"killmail_id": 1, "zkb": {}}', b'{"killmail_id": , 2}']


def test_corrupt_tar_header(tmp_path: Path) -> None:
    path = _tar(tmp_path / "ok.tar", {"a.json": _sample_lines(1)[0]}, mode="w")
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="checksum"):
        _documents(path)


def test_truncated_archive_reported(tmp_path: Path) -> None:
    lines = _sample_lines(40)
    members = {f"killmails/{i}.json": line for i, line in enumerate(lines)}
    path = _tar(tmp_path / "cut.tar.bz2", members)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    events = list(read_here([path], prices={}))
    assert events[-1].kind == "error"
    assert events[-1].error is not None
    assert "cut off" in events[-1].error
    assert "EOFError" not in events[-1].error
    assert sum(len(event.records) for event in events) < 40


def test_damaged_archive_says_fetch_again(tmp_path: Path) -> None:
    lines = _sample_lines(40)
    members = {f"killmails/{i}.json": line for i, line in enumerate(lines)}
    path = _tar(tmp_path / "damaged.tar.bz2", members)
    data = bytearray(path.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 64):
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    events = list(read_here([path], prices={}))
    assert events[-1].kind == "error"
    assert events[-1].error is not None
    assert "damaged" in events[-1].error
    assert "fetch the file again" in events[-1].error


@pytest.mark.parametrize(
    ("name", "compressor"),
    [
        ("notreally.tar.bz2", "bzip2"),
        ("day.jsonl.gz", "gzip"),
        ("day.json.xz", "xz"),
        ("day.tgz", "gzip"),
    ],
)
def test_misnamed_archive_is_broken(tmp_path: Path, name: str, compressor: str) -> None:
    """Plain JSON named as compressed is a misnamed file, not invalid JSON."""
    path = tmp_path / name
    path.write_bytes(b"\n".join(_sample_lines(2)) + b"\n")
    with pytest.raises(InputError) as caught:
        _documents(path)
    assert caught.value.title == "misnamed file"
    assert f"is not a {compressor} archive" in caught.value.message
    events = list(read_here([path], prices={}))
    assert [event.kind for event in events] == ["error"]
    assert f"is not a {compressor} archive" in str(events[0].error)


def test_killmail_names() -> None:
    accepted = [
        "a.json",
        "B.JSON",
        "day.jsonl",
        "feed.ndjson",
        "killmails-2021-11-27.tar.bz2",
        "day.jsonl.gz",
        "day.json.xz",
        "day.tar",
        "day.tgz",
        "day.tbz2",
    ]
    rejected = [
        "clusters_15min_gap_min10.csv",
        "notes.txt",
        "README",
        "dump.bz2",
        "day.json.zst",
        "json",
    ]
    for name in accepted:
        assert sources.is_killmail_name(name), name
    for name in rejected:
        assert not sources.is_killmail_name(name), name


def test_folder_skips_other_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "index.csv").write_text("id,time\n")
    (tmp_path / "notes.txt").write_text("not killmails")
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.sources")

    assert expand_paths([tmp_path]) == [tmp_path / "a.json"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "skipped 2 files" in warnings[0]
    assert str(tmp_path / "index.csv") in warnings[0]
    assert str(tmp_path / "notes.txt") in warnings[0]

    caplog.clear()
    named = expand_paths([tmp_path / "notes.txt"])
    assert named == [tmp_path / "notes.txt"]
    assert not caplog.records


def test_folder_warns_dangling_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("not killmails")
    (tmp_path / "sub").mkdir()
    link = tmp_path / "sub" / "gone.json"
    link.symlink_to(tmp_path / "missing.json")
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.sources")

    assert expand_paths([tmp_path]) == [tmp_path / "a.json"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert warnings[0].startswith("skipped 2 files found in folders.")
    assert f"Symbolic links that point nowhere: {link}." in warnings[0]
    assert str(tmp_path / "notes.txt") in warnings[0]
    names_part = warnings[0].split("Symbolic links")[0]
    assert str(link) not in names_part


def test_folder_of_dangling_link_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "gone.json"
    link.symlink_to(tmp_path / "missing.json")
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.sources")

    assert expand_paths([tmp_path]) == []
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert warnings[0].startswith("skipped 1 file found in folders.")
    assert f"Symbolic links that point nowhere: {link}." in warnings[0]
    assert "killmail format" not in warnings[0]


def test_folder_warns_pipes_and_linked_folders(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_text("{}")
    pipe = folder / "feed.jsonl"
    os.mkfifo(pipe)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "b.json").write_text("{}")
    linked = folder / "more"
    linked.symlink_to(elsewhere, target_is_directory=True)
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.sources")

    assert expand_paths([folder]) == [folder / "a.json"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert warnings[0].startswith("skipped 2 files found in folders.")
    assert f"Not regular files (pipes, sockets or devices): {pipe}." in warnings[0]
    assert (
        f"Symbolic links to folders, which are not followed: {linked}."
        " Name such a folder on the command line" in warnings[0]
    )

    caplog.clear()
    assert expand_paths([linked]) == [linked / "b.json"]
    assert not caplog.records


def test_folder_of_pipe_only_is_not_called_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    os.mkfifo(tmp_path / "feed.json")
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.sources")

    assert expand_paths([tmp_path]) == []
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "contains no files" not in warnings[0]
    assert "Not regular files" in warnings[0]


@pytest.mark.parametrize("name", ["-", "pipe"])
def test_pipe_named_directly_says_to_save_it(tmp_path: Path, name: str) -> None:
    """A pipe is reported as a pipe, not as a missing input."""
    if name == "pipe":
        item = str(tmp_path / "feed.json")
        os.mkfifo(item)
        source = item
    else:
        item, source = "-", "standard input"
    with pytest.raises(InputError) as raised:
        expand_paths([item])
    assert raised.value.title == "cannot read input"
    assert raised.value.message == f"{source} is a pipe or device, not a file"
    assert raised.value.hint == "save what it gives to a file and import that file"


def test_real_everef_folder_gives_archives(caplog: pytest.LogCaptureFixture) -> None:
    folder = shared_file("killmails/everef")
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.sources")
    files = expand_paths([folder])
    assert len(files) == 7
    assert all(path.name.endswith(".tar.bz2") for path in files)
    assert "clusters_15min_gap_min10.csv" in caplog.text


def test_empty_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.sources")
    assert expand_paths([empty]) == [empty]
    assert f"file {empty} is empty" in caplog.text
    assert _documents(empty) == []
    bz2_named = tmp_path / "empty.tar.bz2"
    bz2_named.write_bytes(b"")
    assert _documents(bz2_named) == []


def test_whitespace_file_warns_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file of only whitespace contains no killmails, like an empty one."""
    blank = tmp_path / "blank.jsonl"
    blank.write_bytes(b"  \n\t\r\n\n   ")
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"\n\n" + _sample_lines(1)[0] + b"\n")
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.sources")

    assert expand_paths([blank, good]) == [blank, good]
    assert f"file {blank} is empty: it contains only whitespace" in caplog.text
    assert str(good) not in caplog.text
    assert _documents(blank) == []


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress)],
)
def test_compressed_whitespace_warns_empty(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    suffix: str,
    compress: Callable[[bytes], bytes],
) -> None:
    """Blankness is judged on the decompressed text, so a compressed blank file
    warns too, and compressed killmails or a damaged archive do not."""
    blank = tmp_path / f"blank.jsonl{suffix}"
    blank.write_bytes(compress(b" \n\n\t "))
    good = tmp_path / f"good.jsonl{suffix}"
    good.write_bytes(compress(b"\n" + _sample_lines(1)[0] + b"\n"))
    damaged = tmp_path / f"damaged.jsonl{suffix}"
    damaged.write_bytes(compress(b"\n" * 10)[:12])
    caplog.set_level("WARNING", logger="evedmv_tui.ingest.sources")

    assert expand_paths([blank, good, damaged]) == [blank, good, damaged]
    assert f"file {blank} is empty: it contains only whitespace" in caplog.text
    assert str(good) not in caplog.text
    assert str(damaged) not in caplog.text


@pytest.mark.parametrize(
    ("encoding", "named"),
    [
        ("utf-16", "UTF-16"),
        ("utf-16-le", "UTF-16LE"),
        ("utf-16-be", "UTF-16BE"),
        ("utf-32", "UTF-32"),
        ("utf-32-le", "UTF-32LE"),
        ("utf-32-be", "UTF-32BE"),
    ],
)
def test_utf16_file_says_convert(tmp_path: Path, encoding: str, named: str) -> None:
    """JSON text in UTF-16 or UTF-32 is named as such, with the command that
    converts it, not rejected as an invalid character at byte 0."""
    path = tmp_path / "killmails.jsonl"
    text = b"\n".join(_sample_lines(2)).decode()
    path.write_bytes(text.encode(encoding))

    events = list(read_here([path], prices={}))
    assert [event.kind for event in events] == ["error"]
    error = events[0].error or ""
    assert f"{path} is {named} text, but JSON files must be UTF-8" in error
    assert f"iconv -f {named} -t UTF-8" in error

    utf8 = tmp_path / "utf8.jsonl"
    utf8.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert len(_documents(utf8)) == 2


@pytest.mark.parametrize("head", [b"\x00\x01\x02\xff", b"\x01\x00\x02\xff"])
def test_binary_file_is_not_named_utf16(tmp_path: Path, head: bytes) -> None:
    """A binary file with a NUL next to a control byte was named UTF-16
    text, with advice to convert it with iconv."""
    path = tmp_path / "bin.json"
    path.write_bytes(head + b'\xfe{"x":1}')
    events = list(read_here([path], prices={}))
    assert [event.error for event in events] == [None, None]
    [reject] = events[0].records
    assert reject.reason.startswith("invalid JSON: invalid character at byte 0")


def test_expand_paths_walks_folders(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.json").write_text("{}")
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "c.jsonl").write_text("{}")
    assert expand_paths([tmp_path]) == [
        tmp_path / "a.json",
        tmp_path / "b" / "2.json",
        tmp_path / "c.jsonl",
    ]
    with pytest.raises(InputError, match="not a file or folder"):
        expand_paths([tmp_path / "missing"])


def test_reader_processes_keep_file_order(tmp_path: Path) -> None:
    lines = _sample_lines(30)
    files = []
    for number in range(5):
        path = tmp_path / f"{number}.jsonl"
        path.write_bytes(b"\n".join(lines[number * 6 : number * 6 + 6]) + b"\n")
        files.append(path)
    here = [
        (event.file_index, event.kind, [r.killmail_id for r in event.records])
        for event in read_here(files, prices={})
    ]
    there = [
        (event.file_index, event.kind, [r.killmail_id for r in event.records])
        for event in read_in_processes(files, 2, prices={})
    ]
    assert there == here
    assert [kind for _, kind, _ in here].count("end") == 5


def test_reader_process_logs_reach_importer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A warning logged in a reader process is handled by this process's
    loggers, so it reaches the log file like the importer's own."""
    document = json.loads(_sample_lines(1)[0])
    document.pop("zkb", None)
    item = document["victim"]["items"][0]
    item["quantity_destroyed"] = 2**63 - 1
    path = tmp_path / "huge.jsonl"
    path.write_text(json.dumps(document) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="evedmv_tui.valuation"):
        events = list(read_in_processes([path], 1, prices={item["item_type_id"]: 1e6}))
    assert [event.kind for event in events] == ["records", "end"]
    warnings = [r for r in caplog.records if r.name == "evedmv_tui.valuation"]
    assert len(warnings) == 1
    assert f"killmail {document['killmail_id']}:" in warnings[0].getMessage()
    assert "left NULL" in warnings[0].getMessage()


def test_oversized_line_stops_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = _sample_lines(1)[0]
    monkeypatch.setattr(sources, "DOCUMENT_LIMIT", len(line) + 10)
    path = tmp_path / "big.jsonl"
    path.write_bytes(line + b"\n" + b"{" + b" " * (2 * len(line)) + b"}\n")
    events = list(read_here([path], prices={}))
    assert events[-1].kind == "error"
    assert "line 2 is larger than" in (events[-1].error or "")
    assert sum(len(event.records) for event in events) == 1


def test_oversized_document_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "DOCUMENT_LIMIT", 100)
    path = tmp_path / "pretty.json"
    path.write_bytes(b"{\n" + b' "a": 1,\n' * 50 + b' "b": 2\n}\n')
    with pytest.raises(InputError, match="larger than"):
        _documents(path)


def _ahead_documents(path: Path) -> list[sources.RawDocument]:
    return list(FileReader(path, decompress_ahead=True).documents())


def test_decompress_ahead_real_archive() -> None:
    """The background decompressor passes the archive in several calls
    (it is larger than one input chunk) and must give the same documents."""
    path = shared_file("killmails/everef/killmails-2021-12-03.tar.bz2")
    assert path.stat().st_size > 2 * sources.AHEAD_INPUT
    assert _ahead_documents(path) == _documents(path)


def test_decompress_ahead_counts_bytes_behind_documents() -> None:
    """``bytes_read`` follows the documents handed out, not the thread's
    read-ahead, so a progress bar does not reach the end of an archive
    while most of it is still to be parsed."""
    path = shared_file("killmails/everef/killmails-2021-11-28.tar.bz2")
    size = path.stat().st_size
    reader = FileReader(path, decompress_ahead=True)
    positions = [reader.bytes_read for _ in reader.documents()]
    count = len(positions)
    assert positions == sorted(positions)
    # The share of the file counted leads the share of documents read by
    # how unevenly they compress plus the data decompressed ahead. With the
    # thread's whole read-ahead counted, it led by 0.3 from the first one.
    lead = max(
        position / size - index / count for index, position in enumerate(positions)
    )
    assert lead < 0.2
    assert reader.bytes_read == size


def test_decompress_ahead_streams_and_trailing_data(tmp_path: Path) -> None:
    lines = _sample_lines(6)
    first = bz2.compress(b"\n".join(lines[:3]) + b"\n")
    second = bz2.compress(b"\n".join(lines[3:]) + b"\n")
    path = tmp_path / "two-streams.jsonl.bz2"
    path.write_bytes(first + second + b"not bzip2 at all")
    plain = _documents(path)
    assert len(plain) == 6
    assert _ahead_documents(path) == plain
    xz = tmp_path / "lines.jsonl.xz"
    xz.write_bytes(lzma.compress(b"\n".join(lines) + b"\n"))
    assert _ahead_documents(xz) == _documents(xz)
    assert len(_ahead_documents(xz)) == 6


def test_decompress_ahead_truncated(tmp_path: Path) -> None:
    data = bz2.compress(b"\n".join(_sample_lines(40)) + b"\n")
    path = tmp_path / "cut.jsonl.bz2"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(EOFError):
        _ahead_documents(path)


def _readable_names(data: bytes) -> list[str]:
    return [name for name, _ in complete_members(readable_prefix(data))]


def _ahead_until_error(path: Path) -> tuple[list[str], FileReader]:
    reader = FileReader(path, decompress_ahead=True)
    names = []
    with pytest.raises(OSError, match="Invalid data stream"):
        for document in reader.documents():
            names.append(document.position)
    return names, reader


@pytest.mark.parametrize(
    ("offset", "damage"),
    [(400_000, b"\0" * 64), (300_000, None)],
    ids=["zeroed", "bit-flipped"],
)
def test_decompress_ahead_damaged_archive(
    tmp_path: Path, offset: int, damage: bytes | None
) -> None:
    """Damage in the middle of an archive lost the blocks before it that
    shared its 256 KiB input piece, and named the end of that piece as the
    byte where reading failed. A damaged block that decodes but fails its
    CRC check was handed out in part."""
    data = bytearray(
        shared_file("killmails/everef/killmails-2021-12-03.tar.bz2").read_bytes()
    )
    if damage is None:
        data[offset] ^= 0x01
    else:
        data[offset : offset + len(damage)] = damage
    path = tmp_path / "damaged.tar.bz2"
    path.write_bytes(data)
    expected = _readable_names(bytes(data))

    names, reader = _ahead_until_error(path)

    assert len(expected) > 1000
    assert names == expected
    assert reader.bytes_read >= offset
    if damage is not None:
        assert reader.bytes_read < offset + 1024


def test_decompress_ahead_damaged_second_stream(tmp_path: Path) -> None:
    """Damage early in a second bzip2 stream made the whole stream count as
    trailing data: its readable blocks were dropped without an error."""
    tar = bz2.decompress(
        shared_file("killmails/everef/killmails-2021-12-03.tar.bz2").read_bytes()
    )
    first = bz2.compress(tar[: len(tar) // 2], compresslevel=1)
    second = bytearray(bz2.compress(tar[len(tar) // 2 :], compresslevel=1))
    second[30_000:30_008] = bytes(8)
    path = tmp_path / "two-streams.tar.bz2"
    path.write_bytes(first + second)
    expected = _readable_names(first + second)

    names, reader = _ahead_until_error(path)

    assert len(expected) > len(complete_members(tar[: len(tar) // 2]))
    assert names == expected
    assert len(first) + 30_000 <= reader.bytes_read < len(first) + 31_024


def test_decompress_ahead_thread_stops(tmp_path: Path) -> None:
    """A reader that stops after one document must not leave the
    decompressing thread blocked on its full queue."""
    path = shared_file("killmails/everef/killmails-2021-12-03.tar.bz2")
    documents = FileReader(path, decompress_ahead=True).documents()
    assert isinstance(documents, Generator)
    next(documents)
    documents.close()
    names = [thread.name for thread in threading.enumerate()]
    assert "evedmv-decompress" not in names


def test_reader_process_failure_raised(tmp_path: Path) -> None:
    """A reader process that dies must surface as an error in the importer,
    through the thread that receives its events."""
    path = tmp_path / "0.jsonl"
    path.write_bytes(b"\n".join(_sample_lines(3)) + b"\n")
    events = read_in_processes([path, tmp_path / "missing.jsonl"], 2, prices={})
    with pytest.raises(RuntimeError, match="import reader process"):
        list(events)


_KILLED_IMPORTER = """
import sys
import time
from pathlib import Path

from evedmv_tui.ingest.parallel import read_in_processes

if __name__ == "__main__":
    files = [Path(name) for name in sys.argv[1:]]
    events = read_in_processes(files, len(files), prices={})
    next(events)
    print("reading", flush=True)
    time.sleep(600)
"""


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_readers_exit_with_killed_importer(tmp_path: Path) -> None:
    """Reader processes of an importer killed with SIGKILL exit instead of
    blocking forever on their full queues, and so does multiprocessing's
    resource tracker."""
    lines = b"\n".join(_sample_lines(50)) + b"\n"
    files = []
    for number in range(2):
        path = tmp_path / f"{number}.jsonl"
        # Far more records than the queues take, so both readers block.
        path.write_bytes(lines * 200)
        files.append(str(path))
    script = tmp_path / "importer.py"
    script.write_text(_KILLED_IMPORTER, encoding="utf-8")
    importer = subprocess.Popen(
        [sys.executable, str(script), *files],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
    )
    children: list[psutil.Process] = []
    try:
        assert importer.stdout is not None
        assert importer.stdout.readline() == b"reading\n"
        children = psutil.Process(importer.pid).children(recursive=True)
        # Two readers and the resource tracker.
        assert len(children) == 3
        assert all(_running(child) for child in children)

        importer.send_signal(signal.SIGKILL)
        importer.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(_running(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [child.pid for child in children if _running(child)] == []
    finally:
        if importer.poll() is None:
            importer.kill()
            importer.wait()
        for child in children:
            if _running(child):
                child.kill()
