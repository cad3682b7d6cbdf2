"""A sample's index row: true centres (box centres of lon/lat rectangles, metric centroids otherwise)."""

from __future__ import annotations

import pytest

from tests.export.webdataset.synthetic import SIDE, SPLITS, read_with_webdataset


def test_centres_are_bbox_centres_or_metric_centroids(chips, exported, wds):
    from pyproj import Transformer

    dest, summary = exported
    to_lonlat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    metas = [s["json"] for split in SPLITS for s in read_with_webdataset(wds, dest, summary, split)]
    for meta in metas:
        minx, miny, maxx, maxy = meta["bounds"]
        if meta["crs"] == "EPSG:4326":  # a lon/lat rectangle: its box centre
            assert meta["centre_method"] == "bbox"
            assert (meta["centre_lon"], meta["centre_lat"]) == pytest.approx(((minx + maxx) / 2, (miny + maxy) / 2))
        else:  # a UTM square: its centroid in UTM, not the centre of its lon/lat box
            assert meta["centre_method"] == "centroid:EPSG:32631"
            x0, dx, _, y0, _, dy = meta["transform_gdal"]
            expected = to_lonlat.transform(x0 + dx * SIDE / 2, y0 + dy * SIDE / 2)
            assert (meta["centre_lon"], meta["centre_lat"]) == pytest.approx(expected, abs=1e-9)
