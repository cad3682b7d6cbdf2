"""Recognising a chip file that is already the COG the export would write for it, so the export can
link it into the dataset instead of decoding and re-encoding it (``export/geotiff.py``).

The download writes its chips with the export's COG encoder (``cog.encode_cog``), but whether a file
is such a COG is judged, not assumed: the first chip of each kind (``template.Template``: chips that
share their header but for the tie point and the tile's place and size) is re-encoded from its own
pixels and compared with its bytes. Every later chip of a kind judged equal needs only its header to
match the kind's and its one tile to be framed as the encoder frames it (at the same place, its size
before it, its last 4 bytes after it): compared bytes instead of a decode and an encode. The tile
itself is the chip's own Deflate stream, which the caller has checked (the download manifest's
checksum, or a full decode for folders without one). A kind that differs in any byte of its header
(another writer, band layout, tile size, nodata, band names, colour table, metadata) is re-encoded,
chip by chip, as before.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from geetiles.tiff import reader
from geetiles.tiff.header import plain_header, read_ifd
from geetiles.tiff.tags import colormap_key
from geetiles.tiff.writer import Colormap


@dataclass(frozen=True)
class Kind:
    """A kind of chip judged to be the export's COG: where its chips differ, and what they share."""

    offset_at: int  # the one tile's offset (a LONG) ...
    size_at: int  # ... and byte count
    start: int  # the tile's offset in every chip of the kind
    between: bytes  # the bytes between the header and the tile's leader (GDAL's padding, if any)
    crs: str
    width: int
    height: int


class CogReuse:
    """One process's verdicts for chips written with these band names, nodata (None: each file's own)
    and colour table (see :func:`cog_reuse`)."""

    def __init__(self) -> None:
        self.verdicts: dict[bytes, Kind | None] = {}  # a kind's header bytes → how its chips are reused
        self.items: dict[bytes, dict[str, str]] = {}  # a kind's header bytes → its GDAL metadata items
        self.last = None  # the template the last chip matched

    def reusable(self, data: bytes) -> tuple[str, tuple[float, ...], int, int] | None:
        """The chip's (crs, transform in GDAL order, width, height) when ``data`` is already the COG
        the export writes for its pixels; None when it must be re-encoded (or its kind is not judged
        yet)."""
        template = self._template(data)
        kind = self.verdicts.get(template.head) if template is not None else None
        if kind is None:
            return None
        start, end = kind.start, len(template.head)
        (size,) = struct.unpack_from("<I", data, kind.size_at)
        framed = (
            struct.unpack_from("<I", data, kind.offset_at)[0] == start
            and len(data) == start + size + 4
            and data[end : start - 4] == kind.between
            and data[start - 4 : start] == data[kind.size_at : kind.size_at + 4]
            and data[-4:] == data[start + size - 4 : start + size]
        )
        if not framed:
            return None
        return kind.crs, template.transform(data), kind.width, kind.height

    def _template(self, data: bytes):
        """The template ``data`` matches (None: no kind known): the last one matched first, as a
        dataset's chips are mostly of one kind, then the process's others."""
        template = self.last
        if template is None or not template.matches(data):
            template = self.last = reader.TEMPLATES.find(data)
        return template

    def metadata(self, data: bytes) -> dict[str, str]:
        """The chip's dataset-level GDAL metadata items (the download's request tag), which the export
        keeps; parsed once per kind of chip."""
        template = self._template(data)
        if template is not None and template.head in self.items:
            return self.items[template.head]
        try:
            ifd = read_ifd(data)
            header = plain_header(ifd) if ifd is not None else None
        except Exception:  # a damaged header: the chip's reader reports it
            header = None
        items = dict(header.metadata) if header is not None else {}
        if template is not None:
            self.items[template.head] = items
        return items

    def judge(self, data: bytes, encoded: bytes | None) -> None:
        """Record, for every later chip of its kind, whether a chip's bytes are the ones the export
        encoded from its pixels (``encoded``; None when GDAL wrote it)."""
        template = self._template(data)
        if template is None or template.head in self.verdicts:
            return
        kind = None
        offsets, counts = template.offsets, template.counts
        if encoded is not None and encoded == data and offsets[1:] == ("I", 1) and counts[1:] == ("I", 1):
            header, layout = template.read(data)
            start = layout.offsets[0]
            if start >= len(template.head) + 4:
                between = data[len(template.head) : start - 4]
                kind = Kind(offsets[0], counts[0], start, between, header.crs, header.width, header.height)
        self.verdicts[template.head] = kind


_REUSES: dict[tuple, CogReuse] = {}


def cog_reuse(band_names: Sequence[str], nodata: float | None, colormap: Colormap | None) -> CogReuse:
    """The verdicts of this process for chips written in this form (kept across batches of chips)."""
    value = None if nodata is None else repr(float(nodata))  # text: NaN is no key (it equals nothing)
    form = (tuple(band_names), value, None if colormap is None else colormap_key(colormap))
    if form not in _REUSES:
        _REUSES[form] = CogReuse()
    return _REUSES[form]
