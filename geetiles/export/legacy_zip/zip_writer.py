"""The zip: members deflated in worker processes (raw deflate with their CRC-32 and size), written by the
main process laid out as Python's ``zipfile`` writes them, with fixed dates, so the same inputs give the
same bytes. (``zipfile`` itself compresses each member as it writes it, in the one process.)"""

from __future__ import annotations

import struct
import zlib

LEVEL = 6  # zlib level of every member
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP64_LIMIT = (1 << 31) - 1  # as Python's zipfile: larger values go in ZIP64 fields
_FULL = 0xFFFFFFFF  # "see the ZIP64 field"
_DOS_TIME = 0
_DOS_DATE = ((ZIP_DATE[0] - 1980) << 9) | (ZIP_DATE[1] << 5) | ZIP_DATE[2]


def deflate(data: bytes) -> bytes:
    """``data`` as a zip member's raw deflate stream."""
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


class ZipWriter:
    """A zip written from members deflated elsewhere (raw deflate, with their CRC-32 and size), laid
    out as Python's zipfile writes one (made on Unix, rw-r--r--, no directory entries), with ZIP64
    fields where sizes, offsets or the member count need them."""

    def __init__(self, file) -> None:
        self.file = file
        self.offset = 0
        self.central: list[bytes] = []

    def add(self, name: str, crc: int, size: int, deflated: bytes) -> None:
        encoded = name.encode("utf-8")
        flags = 0 if name.isascii() else 0x800  # UTF-8 name
        packed = len(deflated)
        large = size > ZIP64_LIMIT or packed > ZIP64_LIMIT
        local_extra = struct.pack("<HHQQ", 1, 16, size, packed) if large else b""
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            45 if large else 20,
            flags,
            8,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            _FULL if large else packed,
            _FULL if large else size,
            len(encoded),
            len(local_extra),
        )
        self.file.write(header + encoded + local_extra)
        self.file.write(deflated)
        wide = [(size, size > ZIP64_LIMIT), (packed, packed > ZIP64_LIMIT), (self.offset, self.offset > ZIP64_LIMIT)]
        fields = [value for value, needed in wide if needed]
        extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
        version = 45 if fields else 20
        size32, packed32, offset32 = (_FULL if needed else value for value, needed in wide)
        self.central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                (3 << 8) | version,
                version,
                flags,
                8,
                _DOS_TIME,
                _DOS_DATE,
                crc,
                packed32,
                size32,
                len(encoded),
                len(extra),
                0,
                0,
                0,
                0o100644 << 16,
                offset32,
            )
            + encoded
            + extra
        )
        self.offset += len(header) + len(encoded) + len(local_extra) + packed

    def close(self, comment: bytes = b"") -> None:
        start, count = self.offset, len(self.central)
        directory = b"".join(self.central)
        self.file.write(directory)
        if count >= 0xFFFF or start > ZIP64_LIMIT or len(directory) > ZIP64_LIMIT:
            self.file.write(
                struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, (3 << 8) | 45, 45, 0, 0, count, count, len(directory), start)
            )
            self.file.write(struct.pack("<IIQI", 0x07064B50, 0, start + len(directory), 1))
        self.file.write(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                min(count, 0xFFFF),
                min(count, 0xFFFF),
                min(len(directory), _FULL),
                min(start, _FULL),
                len(comment),
            )
            + comment
        )
