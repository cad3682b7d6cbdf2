"""JSON-object columns (the proportions) in the twin: written by orjson where it gives the same values back
as ``json`` would, by ``json`` where it would not, and read back to the same dicts either way."""

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geetiles.tiles import load_tiles, twin_path, write_tiles
from geetiles.tiles.twin import json_texts, text_objects

ORDINARY = [
    {"10": 0.8444218515250481, "20": 0.15557814847495188},
    {},
    {"80": 1.0},
    {"10": 1e-05, "95": 2.5e-17, "100": 0.3333333333333333},
    {"nested": {"a": [1, 2, 3]}, "flag": True, "name": "é ü \u2028"},
]


@pytest.mark.parametrize("value", ORDINARY, ids=range(len(ORDINARY)))
def test_ordinary_objects_are_compact_text_that_json_reads_to_the_same_dict(value):
    [text] = json_texts([value])
    assert json.loads(text) == value
    assert text_objects([text]) == [value]
    assert ", " not in text.replace('"é ü \u2028"', "")  # orjson's compact text, not json's


def test_what_orjson_would_change_goes_through_json_as_before():
    nan = {"10": float("nan"), "20": 0.5}  # orjson would write null: json writes NaN, and reads it back as NaN
    numpy = {"10": np.float64(0.25)}  # orjson refuses numpy scalars without an option
    big = {"10": 2**70}  # past 64 bits
    keyed = {np.str_("10"): 0.5}  # a str subclass as key
    nulled = {"10": None}
    texts = json_texts([nan, numpy, big, keyed, nulled])
    assert texts == [json.dumps(nan), json.dumps(numpy), json.dumps(big), json.dumps(keyed), json.dumps(nulled)]
    back = text_objects(texts)
    assert math.isnan(back[0]["10"]) and back[0]["20"] == 0.5
    assert back[1:] == [{"10": 0.25}, big, {"10": 0.5}, nulled]


def test_missing_values_and_plain_text_pass_through():
    assert json_texts([None, float("nan"), "plain", 3]) == [None, None, "plain", "3"]
    assert text_objects([None, "plain", "[1, 2]", 3.5]) == [None, "plain", "[1, 2]", 3.5]
    with pytest.raises(json.JSONDecodeError):
        text_objects(["{not json"])  # a broken object is an error, as json made it


def test_a_tiles_file_round_trips_its_proportions_through_the_twin(tmp_path):
    rng = np.random.default_rng(5)
    shares = [dict(zip(["10", "20", "30"], (rng.dirichlet([1, 1, 1])).tolist())) for _ in range(50)]
    shares[3], shares[7], shares[9] = {}, None, {"10": float("nan")}
    frame = gpd.GeoDataFrame(
        {"identifier": [f"c{i}" for i in range(50)], "demo_proportions": shares},
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(50)],
        crs="EPSG:4326",
    )
    path = tmp_path / "t_partitions_aschips_0123456789abc.geojson"
    write_tiles(frame, path)
    assert twin_path(path).exists()
    loaded = load_tiles(path)["demo_proportions"].tolist()
    assert loaded[:3] == shares[:3] and loaded[10:] == shares[10:]
    assert loaded[3] == {} and math.isnan(loaded[9]["10"])
    assert loaded[7] is None or math.isnan(loaded[7])  # missing, as pandas gives it back (NaN, as before)
