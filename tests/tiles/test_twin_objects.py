"""JSON-object columns (the proportions) in the twin: written by orjson where it gives the same values back
as ``json`` would, by ``json`` where it would not, and read back to the same dicts either way."""

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geetiles.tiles import load_tiles, twin_path, write_tiles
from geetiles.tiles.twin import TWIN_OF_KEY, json_texts, text_objects

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


@pytest.mark.parametrize("broken", ["{not json", '{"10": 0.5', '{"10":' + "[" * 100_000], ids=["text", "cut", "deep"])
def test_a_twin_whose_object_text_is_not_json_is_refused_in_one_line_and_nothing_is_written(tmp_path, broken):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from geetiles.errors import UserInputError
    from geetiles.split.stage import split_file
    from tests.hostile import snapshot

    frame = gpd.GeoDataFrame(
        {"identifier": ["c0", "c1"], "demo_proportions": [{"10": 1.0}, {"20": 1.0}]},
        geometry=[shapely.box(0, 0, 0.01, 0.01), shapely.box(1, 0, 1.01, 0.01)],
        crs="EPSG:4326",
    )
    path = tmp_path / "t_partitions_aschips_0123456789abc.geojson"
    write_tiles(frame, path)
    twin = pq.read_table(twin_path(path))
    column = twin.schema.get_field_index("demo_proportions")
    texts = pa.array(['{"10":1.0}', broken], type=twin.schema.field(column).type)
    # the twin stays in sync while it names the GeoJSON's size and time (a key of its footer)
    synced = {**twin.schema.metadata, TWIN_OF_KEY: pq.read_metadata(twin_path(path)).metadata[TWIN_OF_KEY]}
    broken_twin = twin.set_column(column, twin.schema.field(column), texts).replace_schema_metadata(synced)
    pq.write_table(broken_twin, twin_path(path))
    before = snapshot(tmp_path)
    for load in (lambda: load_tiles(path), lambda: split_file(path, _random_split())):
        with pytest.raises(UserInputError) as refused:
            load()
        message = str(refused.value)
        assert "\n" not in message and len(message) < 600
        assert "'demo_proportions'" in message and "t_partitions_aschips_0123456789abc.parquet" in message
    assert snapshot(tmp_path) == before


def _random_split():
    from geetiles.cli.compose import compose
    from geetiles.experiment import Experiment

    return Experiment.from_config(compose(["split=random"]), command="test").config.split
