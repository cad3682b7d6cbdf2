"""Chips of one dataset share their header but for the tie point and the chunk tables: a chip whose first
bytes equal an earlier chip's outside those fields has that chip's header and layout, with its own tie
point, offsets and byte counts read at the same places.

Why: parsing an IFD in Python (``header.read_ifd``, ``plain_header``, ``plain_layout``) cost about three
quarters of reading a small chip, and the proportions and the export read every chip of a dataset,
millions of them. Comparing a few hundred bytes and unpacking three fields gives the same header and
layout (each field is computed as ``plain_header`` computes it) for a few microseconds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cached_property

from geetiles.tiff.header import (
    _FIELD_TYPES,
    STRIP_COUNTS,
    STRIP_OFFSETS,
    TIEPOINT,
    TILE_COUNTS,
    TILE_OFFSETS,
    Layout,
    TiffHeader,
    read_ifd,
)

KEEP = 8  # templates kept per process (most recently matched first): a dataset has one kind of chip


@dataclass(frozen=True)
class Template:
    """What a kind of chip has in common, and where its chips differ."""

    head: bytes  # the first ``len(head)`` bytes (all of the IFD and its values), the varying fields zeroed
    gaps: tuple[tuple[int, int], ...]  # the varying fields, (start, stop), sorted
    header: TiffHeader  # with the template chip's transform
    layout: Layout  # with the template chip's offsets and counts
    tie_at: int  # where the tie point's x and y (two doubles) lie
    raster_point: tuple[float, float]  # the tie point's raster (i, j), the same in every chip of the kind
    offsets: tuple[int, str, int]  # (where, struct format, count) of the chunk offsets
    counts: tuple[int, str, int]  # and of their byte counts

    def matches(self, data: bytes) -> bool:
        head, at = self.head, 0
        if len(data) < len(head):
            return False
        for start, stop in self.gaps:
            if data[at:start] != head[at:start]:
                return False
            at = stop
        return data[at : len(head)] == head[at:]

    def read(self, data: bytes) -> tuple[TiffHeader, Layout]:
        """The header and layout of a chip that :meth:`matches`."""
        offsets = self._offsets.unpack_from(data, self.offsets[0])
        counts = self._counts.unpack_from(data, self.counts[0])
        return (
            _evolve(self.header, transform=self.transform(data), path=None, metadata={}),
            self._layout_with(offsets, counts),
        )

    def transform(self, data: bytes) -> tuple[float, float, float, float, float, float]:
        """The geotransform (GDAL order) of a chip that :meth:`matches`, from its own tie point, computed
        as ``header.plain_header`` computes it."""
        x, y = self._tie.unpack_from(data, self.tie_at)
        i, j = self.raster_point
        _, sx, _, _, _, negative_sy = self.header.transform
        sy = -negative_sy
        return (x - i * sx, sx, 0.0, y + j * sy, 0.0, -sy)

    def _layout_with(self, offsets: tuple[int, ...], counts: tuple[int, ...]) -> Layout:
        g = self.layout
        return Layout(
            g.width,
            g.height,
            g.samples,
            g.dtype,
            g.planar,
            g.compression,
            g.predictor,
            g.tiled,
            g.chunk,
            offsets,
            counts,
        )

    @cached_property
    def _tie(self) -> struct.Struct:
        return struct.Struct(self._order + "dd")

    @cached_property
    def _offsets(self) -> struct.Struct:
        _, code, n = self.offsets
        return struct.Struct(f"{self._order}{n}{code}")

    @cached_property
    def _counts(self) -> struct.Struct:
        _, code, n = self.counts
        return struct.Struct(f"{self._order}{n}{code}")

    @property
    def _order(self) -> str:
        return "<" if self.head[:2] == b"II" else ">"


def _evolve(instance, **changes):
    """``dataclasses.replace`` for the header of one chip of a kind, without running ``__init__``
    again: a frozen dataclass sets each of its eleven fields through ``object.__setattr__``, a call per
    field for every chip read. ``TiffHeader`` has no ``__post_init__`` to skip."""
    copy = object.__new__(type(instance))
    copy.__dict__.update(instance.__dict__, **changes)
    return copy


class Templates:
    """The templates of one process's chips, the most recently matched first."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self.known: list[Template] = []

    def find(self, data: bytes) -> Template | None:
        for index, template in enumerate(self.known):
            if template.matches(data):
                if index:
                    self.known.insert(0, self.known.pop(index))
                return template
        return None

    def learn(self, data: bytes, header: TiffHeader, layout: Layout) -> None:
        """Keep a template of this chip (parsed by the full path), when its layout allows one."""
        template = make_template(data, header, layout)
        if template is not None:
            self.known.insert(0, template)
            del self.known[self.keep :]


def make_template(data: bytes, header: TiffHeader, layout: Layout) -> Template | None:
    """A template of this chip, or None when its header does not lie wholly before its pixels or its tie
    point or chunk tables are not where a template can find them."""
    order = "<" if data[:2] == b"II" else ">"
    (ifd_at,) = struct.unpack_from(order + "I", data, 4)
    (entries,) = struct.unpack_from(order + "H", data, ifd_at)
    fields: dict[int, tuple[int, str, int]] = {}  # tag -> (where its values lie, struct code, count)
    end = ifd_at + 2 + 12 * entries + 4  # of the IFD and, below, of every value it points to
    for k in range(entries):
        tag, kind, n = struct.unpack_from(order + "HHI", data, ifd_at + 2 + 12 * k)
        code, size = _FIELD_TYPES.get(kind, (None, 0))
        inline = ifd_at + 2 + 12 * k + 8
        if size * n > 4:
            end = max(end, struct.unpack_from(order + "I", data, inline)[0] + size * n)
        if tag not in (TIEPOINT, TILE_OFFSETS, TILE_COUNTS, STRIP_OFFSETS, STRIP_COUNTS):
            continue
        if code is None:
            return None
        where = inline if size * n <= 4 else struct.unpack_from(order + "I", data, inline)[0]
        fields[tag] = (where, code, n)
    tables = (TILE_OFFSETS, TILE_COUNTS) if layout.tiled else (STRIP_OFFSETS, STRIP_COUNTS)
    tie = fields.get(TIEPOINT)
    if tie is None or tie[1] != "d" or tie[2] < 6 or not all(t in fields for t in tables):
        return None
    tie_at = tie[0] + 3 * 8
    offsets, counts = fields[tables[0]], fields[tables[1]]
    if offsets[2] != len(layout.offsets) or counts[2] != len(layout.counts):
        return None
    size = min(layout.offsets) if layout.offsets else 0
    gaps = sorted(
        [
            (tie_at, tie_at + 16),
            (offsets[0], offsets[0] + offsets[2] * struct.calcsize(offsets[1])),
            (counts[0], counts[0] + counts[2] * struct.calcsize(counts[1])),
        ]
    )
    if not ifd_at < end <= size or gaps[-1][1] > end or any(a[1] > b[0] for a, b in zip(gaps, gaps[1:])):
        return None
    full, cut = read_ifd(data), read_ifd(data[:end])  # every value the header needs lies before the pixels
    if full is None or cut is None or full.tags != cut.tags or full.next_offset != cut.next_offset:
        return None
    head = bytearray(data[:end])  # not up to the pixels: a COG's tile leader (its size) differs per chip
    for start, stop in gaps:
        head[start:stop] = bytes(stop - start)
    raster_point = tuple(float(v) for v in struct.unpack_from(order + "dd", data, tie[0]))
    return Template(bytes(head), tuple(gaps), header, layout, tie_at, raster_point, offsets, counts)
