"""``geet random``: the original's random partitions, now seeded and reproducible."""

import json

import yaml

from geetiles.tiles import parse_tiles_file_name
from geetiles.tiling.ids import list_hash
from tests.conftest import geet_cmd, geetiles_cmd
from tests.in_process import run_in_process

# ~30 x 33 km near (10E, 45N) with a hole: runs without the Luxembourg file
AOI_WKT = (
    "POLYGON ((9.9 44.9, 10.3 44.9, 10.3 45.2, 9.9 45.2, 9.9 44.9), "
    "(10.0 45.0, 10.0 45.05, 10.1 45.05, 10.1 45.0, 10.0 45.0))"
)


def random_cmd(dest: str, size: str = "5000", *extra: str) -> list[str]:
    return geet_cmd(
        "random",
        "--aoi_wkt_file",
        "aoi.wkt",
        "--max_rectangle_size_meters",
        size,
        "--aoi_name",
        "valley",
        "--dest_dir",
        dest,
        *extra,
    )


def only_geojson(folder):
    found = sorted(folder.glob("*.geojson"))
    assert len(found) == 1, found
    return found[0]


def test_random_writes_a_seeded_reproducible_file(workdir):
    (workdir / "aoi.wkt").write_text(AOI_WKT)
    first = run_in_process(random_cmd("a"), workdir)
    assert first.returncode == 0, first.stderr
    path = only_geojson(workdir / "a")
    name = parse_tiles_file_name(path)
    assert name is not None and name["aoi"] == "valley" and name["tiles"] == "5k"
    features = json.loads(path.read_text())["features"]
    ids = [f["properties"]["identifier"] for f in features]
    assert name["hash"] == list_hash(ids)
    assert {f["geometry"]["type"] for f in features} == {"Polygon"}
    record = yaml.safe_load(path.with_name(path.stem + ".geetiles.yaml").read_text())
    assert record["command"].startswith("geet random --aoi_wkt_file") and record["chips"] == len(features)

    again = run_in_process(random_cmd("b", "5000", "--seed", "0"), workdir)  # 0 is the default
    assert again.returncode == 0, again.stderr
    assert only_geojson(workdir / "b").name == path.name
    assert only_geojson(workdir / "b").read_bytes() == path.read_bytes()

    other = run_in_process(random_cmd("c", "5000", "--seed", "7"), workdir)
    assert other.returncode == 0, other.stderr
    assert only_geojson(workdir / "c").name != path.name


def test_random_bad_options_are_one_line_exit_2(workdir):
    (workdir / "aoi.wkt").write_text(AOI_WKT)
    cases = [
        (random_cmd("d", "0"), "positive"),
        (random_cmd("d", "-10"), "positive"),
        (random_cmd("d", "5000", "--seed", "-1"), "non-negative"),
        (
            geet_cmd(
                "random",
                "--aoi_wkt_file",
                "aoi.wkt",
                "--max_rectangle_size_meters",
                "5000",
                "--aoi_name",
                "v_x",
                "--dest_dir",
                "d",
            ),
            "contains '_'",
        ),
        (
            geetiles_cmd(
                "aoi=wkt",
                "aoi.wkt_file=aoi.wkt",
                "aoi.name=valley",
                "tiling=random",
                "tiling.max_size_m=0",
                "data_dir=d",
                "stages=[tiling]",
            ),
            "max_size_m=0",
        ),
    ]
    for args, fragment in cases:
        result = run_in_process(args, workdir)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr, result.stderr
        assert not (workdir / "d").exists()
