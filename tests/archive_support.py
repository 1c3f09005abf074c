"""Reference readers of damaged bzip2 tar archives, built on the standard library."""

from __future__ import annotations

import bz2
import io
import tarfile


def readable_prefix(data: bytes) -> bytes:
    """Decompress bzip2 ``data`` 1 KiB at a time up to where it fails.

    Concatenated streams are read one after another. At most 1 KiB of
    input before the damage is lost with the call that fails.
    """
    output = bytearray()
    decompressor = bz2.BZ2Decompressor()
    for start in range(0, len(data), 1024):
        piece = data[start : start + 1024]
        while piece:
            try:
                output += decompressor.decompress(piece)
            except OSError:
                return bytes(output)
            piece = b""
            if decompressor.eof:
                piece = decompressor.unused_data
                decompressor = bz2.BZ2Decompressor()
    return bytes(output)


def complete_members(tar: bytes) -> list[tuple[str, bytes]]:
    """Return the name and data of each member of a cut tar stream that is whole."""
    members = []
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
        while True:
            try:
                member = archive.next()
            except tarfile.TarError:
                break
            if member is None:
                break
            end = member.offset_data + member.size
            if end > len(tar):
                break
            members.append((member.name, tar[member.offset_data : end]))
    return members
