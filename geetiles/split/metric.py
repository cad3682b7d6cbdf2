"""A local metric plane for a chip set: azimuthal equidistant centred on the chips.

Splits need distances in metres (band widths, block sizes, the guard gap) that mean the same
everywhere in the AOI; the chips' own UTM zones differ across zone borders, lon/lat degrees shrink
towards the poles. ``+proj=aeqd`` centred on the chips' bounding box keeps distances true from the
centre and nearly true across a region (scale error about (d / 6371 km)^2 / 6 at d from the centre:
0.004 % at 100 km, 0.4 % at 1000 km).

Antimeridian: longitudes are read relative to the centre of the shortest arc that holds them all,
so a chip set over 180 degrees (Fiji, Chukotka) gets its centre there and its chips stay whole,
even a chip whose ring jumps from 179.9 to -179.9. Sets wider than a half turn take the plain
bounding box.

Speed: the ellipsoidal aeqd solves a geodesic for each point (``bench/split.py`` times the split of a
million chips, this projection included). Inputs of more than ``LATTICE_POINTS`` coordinates are
projected exactly at the nodes of a 257 x 257 lattice over the chips' bounding box and bilinearly in
between (4 mm off at worst over 100 km x 100 km), or of a 1025 x 1025 one where that is not within
``LATTICE_TOLERANCE_M`` (checked on every build against exact points at cell centres, where bilinear is
worst); wider still (continents), every point is projected exactly. Small inputs, and points outside the
lattice, are always projected exactly.
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

LATTICE_NODES = (257, 1025)  # tried in turn: the first within tolerance is used
LATTICE_POINTS = 200_000
LATTICE_TOLERANCE_M = 0.01
_CHUNK = 1 << 20


def _wrap(delta_lon: np.ndarray) -> np.ndarray:
    """Longitude differences folded into [-180, 180) (returned as is when they already are)."""
    d = np.asarray(delta_lon, dtype=float)
    if d.size == 0 or (d.min() >= -180.0 and d.max() < 180.0):
        return d
    return (d + 180.0) % 360.0 - 180.0


def lon_centre(lons: np.ndarray) -> float:
    """Centre of the shorter of the two bounding arcs of the longitudes (plain, or across 180)."""
    lons = np.asarray(lons, dtype=float)
    lons = lons[np.isfinite(lons)]
    if len(lons) == 0:
        return 0.0
    plain = _wrap(lons)
    if np.ptp(plain) <= 180.0:
        return float((plain.min() + plain.max()) / 2)
    shifted = plain % 360.0
    if np.ptp(shifted) < np.ptp(plain):
        return float(_wrap((shifted.min() + shifted.max()) / 2))
    return float((plain.min() + plain.max()) / 2)


class LocalMetric:
    """Projects lon/lat geometries, or (N, 2) lon/lat points, into the chips' aeqd plane (metres)."""

    def __init__(self, lon_0: float, lat_0: float, extent: tuple[float, float, float, float] | None = None):
        self.lon_0, self.lat_0 = float(lon_0), float(lat_0)
        self.crs = f"+proj=aeqd +lat_0={self.lat_0!r} +lon_0={self.lon_0!r} +datum=WGS84 +units=m +no_defs"
        self._exact = pyproj.Transformer.from_crs("EPSG:4326", pyproj.CRS.from_proj4(self.crs), always_xy=True)
        self._extent = extent  # (min dlon, min lat, max dlon, max lat) of the chips, dlon = lon - lon_0
        self._lattice = None

    def __call__(self, geometry):
        """Geometries in metres (same shape, same ring order), or (N, 2) points in metres."""
        array = np.asarray(geometry)
        if array.dtype != object:
            xy = array.astype(float).reshape(-1, 2)
            return np.column_stack(self.project(xy[:, 0], xy[:, 1])) if len(xy) else np.empty((0, 2))
        rings = simple_rings(array.reshape(-1))
        if rings is not None:  # every one a polygon without holes: rebuild from arrays
            coords, counts = rings
            x, y = self.project(coords[:, 0], coords[:, 1])
            return polygons_from_rings(np.column_stack([x, y]), counts).reshape(array.shape)
        geoms = np.array(array, dtype=object, copy=True)
        if geoms.size == 0:
            return geoms
        coords = shapely.get_coordinates(geoms)
        x, y = self.project(coords[:, 0], coords[:, 1])
        coords[:, 0], coords[:, 1] = x, y
        return shapely.set_coordinates(geoms, coords)

    def project(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metres east and north of the centre for lon/lat arrays."""
        dlon = _wrap(np.asarray(lon, dtype=float) - self.lon_0)
        lat = np.asarray(lat, dtype=float)
        if dlon.size <= LATTICE_POINTS or self._extent is None:
            return self._project_exact(dlon, lat)
        lattice = self._get_lattice()
        if lattice is None:
            return self._project_exact(dlon, lat)
        return lattice.project(dlon, lat, self._project_exact)

    def _project_exact(self, dlon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = self._exact.transform(dlon + self.lon_0, lat)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def _get_lattice(self):
        if self._lattice is None:
            self._lattice = False
            for nodes in LATTICE_NODES:
                lattice = _Lattice(self._extent, self._project_exact, nodes)
                if lattice.error_m <= LATTICE_TOLERANCE_M:
                    self._lattice = lattice
                    break
        return self._lattice or None


class _Lattice:
    """Exact aeqd values on a regular lon/lat lattice, bilinear in between."""

    def __init__(self, extent, project_exact, nodes: int):
        self.nodes = g = nodes
        w, s, e, n = extent
        pad_x, pad_y = max((e - w) * 1e-6, 1e-9), max((n - s) * 1e-6, 1e-9)
        self.x0, self.y0 = w - pad_x, s - pad_y
        self.dx, self.dy = (e - w + 2 * pad_x) / (g - 1), (n - s + 2 * pad_y) / (g - 1)
        nodes_lon = self.x0 + self.dx * np.arange(g)
        nodes_lat = self.y0 + self.dy * np.arange(g)
        lon, lat = np.meshgrid(nodes_lon, nodes_lat)  # row = latitude
        x, y = project_exact(lon.ravel(), lat.ravel())
        self.values = [x.reshape(g, g), y.reshape(g, g)]
        # per cell: value at (0,0), d/dtx, d/dty, cross term, as contiguous arrays to gather from
        self.coef = []
        for v in self.values:
            a, b, c, d = v[:-1, :-1], v[:-1, 1:], v[1:, :-1], v[1:, 1:]
            self.coef.append([np.ascontiguousarray(t).ravel() for t in (a, b - a, c - a, d - b - c + a)])
        # self-check at cell centres, where bilinear interpolation is worst
        probe = np.linspace(0.5, g - 1.5, 33)
        plon, plat = np.meshgrid(self.x0 + self.dx * probe, self.y0 + self.dy * probe)
        ex, ey = project_exact(plon.ravel(), plat.ravel())
        ix, iy = self._interpolate(plon.ravel(), plat.ravel())
        self.error_m = float(np.max(np.hypot(ix - ex, iy - ey)))

    def _interpolate(self, dlon, lat):
        g = self.nodes
        tx = (dlon - self.x0) * (1.0 / self.dx)
        ty = (lat - self.y0) * (1.0 / self.dy)
        cell = np.clip(ty.astype(np.intp), 0, g - 2)
        tx_floor = np.clip(tx.astype(np.intp), 0, g - 2)
        ty -= cell
        tx -= tx_floor
        cell *= g - 1
        cell += tx_floor
        out = []
        for a, b, c, d in self.coef:  # a + tx (b + ty d) + ty c
            value = np.take(d, cell)
            value *= ty
            value += np.take(b, cell)
            value *= tx
            value += np.take(a, cell)
            value += np.take(c, cell) * ty
            out.append(value)
        return out[0], out[1]

    def project(self, dlon, lat, project_exact):
        x, y = np.empty(dlon.shape), np.empty(dlon.shape)
        flat_lon, flat_lat, fx, fy = dlon.reshape(-1), lat.reshape(-1), x.reshape(-1), y.reshape(-1)
        g = self.nodes
        for start in range(0, len(flat_lon), _CHUNK):
            part = slice(start, start + _CHUNK)
            lo, la = flat_lon[part], flat_lat[part]
            fx[part], fy[part] = self._interpolate(lo, la)
            outside = ~(
                (lo >= self.x0)
                & (lo <= self.x0 + self.dx * (g - 1))
                & (la >= self.y0)
                & (la <= self.y0 + self.dy * (g - 1))
            )
            if outside.any():
                ex, ey = project_exact(lo[outside], la[outside])
                fx[part][outside], fy[part][outside] = ex, ey
        return x, y


def _lonlat_extent(geometry) -> tuple[np.ndarray, np.ndarray]:
    array = np.asarray(geometry)
    if array.dtype != object:
        xy = array.astype(float).reshape(-1, 2)
        return xy[:, 0], xy[:, 1]
    bounds = shapely.bounds(array.reshape(-1))
    bounds = bounds[np.all(np.isfinite(bounds), axis=1)]
    return np.concatenate([bounds[:, 0], bounds[:, 2]]), np.concatenate([bounds[:, 1], bounds[:, 3]])


def local_metric(geometry: np.ndarray) -> LocalMetric:
    """The aeqd plane centred on the bounding box of lon/lat chips (geometries or (N, 2) points)."""
    lons, lats = _lonlat_extent(geometry)
    if len(lons) == 0:
        return LocalMetric(0.0, 0.0)
    lon_0 = lon_centre(lons)
    dlon = _wrap(lons - lon_0)
    lat_0 = float((lats.min() + lats.max()) / 2)
    return LocalMetric(lon_0, lat_0, (float(dlon.min()), float(lats.min()), float(dlon.max()), float(lats.max())))


def simple_rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(coordinates, coordinates per polygon) when every geometry is a polygon without holes."""
    if len(geoms) == 0:
        return None
    if not np.all(shapely.get_type_id(geoms) == 3) or np.any(shapely.get_num_interior_rings(geoms) != 0):
        return None
    counts = shapely.get_num_coordinates(geoms)
    if np.any(counts < 4):  # empty polygons
        return None
    return shapely.get_coordinates(geoms), counts


def polygons_from_rings(coords: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Polygons without holes from their concatenated closed rings."""
    ring_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    polygon_offsets = np.arange(len(counts) + 1, dtype=np.int64)
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (ring_offsets, polygon_offsets))


def ring_centroids(coords: np.ndarray, counts: np.ndarray, lon_0: float) -> np.ndarray:
    """Area centroids (dlon, lat) of closed lon/lat rings, longitudes relative to ``lon_0``.

    A shoelace in numpy, each ring taken relative to its first vertex (for precision, and so a
    ring crossing 180 degrees stays in one piece). Degenerate rings give the mean of their vertices.
    """
    if len(counts) and np.all(counts == counts[0]):
        return _equal_ring_centroids(coords.reshape(len(counts), int(counts[0]), 2), lon_0)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    lon = _wrap(coords[:, 0] - lon_0)
    lon_first = np.repeat(lon[starts], counts)
    lat_first = np.repeat(coords[starts, 1], counts)
    u = _wrap(lon - lon_first)
    v = coords[:, 1] - lat_first
    cross = u[:-1] * v[1:] - u[1:] * v[:-1]
    cross[starts[1:] - 1] = 0.0  # the step from one ring's last vertex to the next ring's first
    area2 = np.add.reduceat(np.append(cross, 0.0), starts)
    cu = np.add.reduceat(np.append((u[:-1] + u[1:]) * cross, 0.0), starts)
    cv = np.add.reduceat(np.append((v[:-1] + v[1:]) * cross, 0.0), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.where(area2 != 0, cu / (3 * area2), np.add.reduceat(u, starts) / counts)
        cy = np.where(area2 != 0, cv / (3 * area2), np.add.reduceat(v, starts) / counts)
    return np.column_stack([_wrap(lon[starts] + cx), coords[starts, 1] + cy])


def _equal_ring_centroids(rings: np.ndarray, lon_0: float) -> np.ndarray:
    """:func:`ring_centroids` for rings of one length (grid chips), as (n, k, 2) arrays."""
    lon = _wrap(rings[:, :, 0] - lon_0)
    u = _wrap(lon - lon[:, :1])
    v = rings[:, :, 1] - rings[:, :1, 1]
    cross = u[:, :-1] * v[:, 1:] - u[:, 1:] * v[:, :-1]
    area2 = cross.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = np.where(area2 != 0, ((u[:, :-1] + u[:, 1:]) * cross).sum(axis=1) / (3 * area2), u.mean(axis=1))
        cy = np.where(area2 != 0, ((v[:, :-1] + v[:, 1:]) * cross).sum(axis=1) / (3 * area2), v.mean(axis=1))
    return np.column_stack([_wrap(lon[:, 0] + cx), rings[:, 0, 1] + cy])


def lonlat_centroids(geometry: np.ndarray, lon_0: float = 0.0) -> np.ndarray:
    """Area centroids of lon/lat chips as (dlon, lat), dlon relative to ``lon_0`` in [-180, 180).

    Polygons without holes (every chip of a grid) go through :func:`ring_centroids`; anything
    else (holes, several parts) through GEOS, which does not unwrap a chip crossing 180 degrees.
    """
    geoms = np.asarray(geometry, dtype=object).reshape(-1)
    rings = simple_rings(geoms)
    if rings is not None:
        return ring_centroids(*rings, lon_0)
    out = np.full((len(geoms), 2), np.nan)
    if len(geoms):
        c = shapely.centroid(geoms)
        out[:, 0], out[:, 1] = _wrap(shapely.get_x(c) - lon_0), shapely.get_y(c)
    return out


def chip_centres(geometry: np.ndarray, metric: LocalMetric | None = None) -> np.ndarray:
    """True chip centres in metres: area centroids in lon/lat, then projected.

    (geetiles 0.1.7 took the mean of the envelope's five ring points, the first twice, which pulls
    every centre towards a corner.) ``metric`` defaults to :func:`local_metric` of the chips.
    """
    metric = local_metric(geometry) if metric is None else metric
    return _project_centres(metric, lonlat_centroids(geometry, metric.lon_0))


def _project_centres(metric: LocalMetric, centres: np.ndarray) -> np.ndarray:
    if len(centres) == 0:
        return np.empty((0, 2))
    x, y = metric.project(centres[:, 0] + metric.lon_0, centres[:, 1])
    return np.column_stack([x, y])


def project_chips(geometry: np.ndarray) -> tuple[LocalMetric, np.ndarray, np.ndarray]:
    """(metric, centres in metres, polygons in metres) for lon/lat chips, reading coordinates once."""
    geoms = np.asarray(geometry, dtype=object).reshape(-1)
    rings = simple_rings(geoms)
    if rings is None:
        metric = local_metric(geoms)
        return metric, chip_centres(geoms, metric), metric(geoms)
    coords, counts = rings
    metric = local_metric(coords)  # the same bounding box as the polygons', from their vertices
    centres = _project_centres(metric, ring_centroids(coords, counts, metric.lon_0))
    x, y = metric.project(coords[:, 0], coords[:, 1])
    return metric, centres, polygons_from_rings(np.column_stack([x, y]), counts)
