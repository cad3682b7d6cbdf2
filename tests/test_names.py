"""The rule for identifiers and names (geetiles/names.py): what it accepts and refuses, how fast a column
is checked, and the path helpers that keep every built path inside its folder."""

from __future__ import annotations

import gzip
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from geetiles.errors import UserInputError
from geetiles.names import (
    RULE,
    UnsafePathError,
    check_identifiers,
    check_member,
    check_name,
    child_path,
    inside,
    is_safe_name,
    suggest,
    unsafe_identifiers,
)

ORIGINAL = Path(__file__).resolve().parent / "data" / "original017" / "files"

# the traversal set: each would put a file outside its folder, or not be a plain file name
HOSTILE = [
    "../../evil",
    "/abs/path/victim",
    "a/b",
    "x" * 300,
    ".",
    "..",
    "",
    "a b",
    "a\x00b",
    "a\\b",
    "é",
    "a\nb",
    "ab\n",
    "\nab",
]
GOOD = ["0", "132e3b06023c3", "451U_946L", "a.b", "-x", "_", "...", "A-z_0.9", "x" * 128]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_names_break_the_rule(value):
    assert not is_safe_name(value)
    with pytest.raises(UserInputError) as refused:
        check_name("source.name", value)
    message = str(refused.value)
    assert message.startswith("source.name=") and RULE in message and "\n" not in message
    assert is_safe_name(message.rsplit("e.g. source.name=", 1)[1])  # the suggestion itself follows the rule


@pytest.mark.parametrize("value", GOOD)
def test_plain_names_follow_the_rule(value):
    assert is_safe_name(value)
    assert check_name("source.name", value) == value


def test_non_text_is_not_a_name():
    for value in (None, 5, b"abc", float("nan")):
        assert not is_safe_name(value)


def test_suggestions_follow_the_rule():
    assert suggest("/tmp/x") == "tmp-x"
    assert suggest("../../evil") == "evil"
    assert suggest("My Area (2024)") == "My-Area-2024"
    assert suggest("..") == "name" and suggest("", fallback="myaoi") == "myaoi"
    assert len(suggest("y" * 500)) == 128


def _ids(n: int) -> list[str]:
    return [f"{i * 7919 % 10**15:013x}" for i in range(n)]


@pytest.mark.parametrize("kind", ["list", "object", "unicode", "pandas", "pandas-object", "arrow", "chunked"])
def test_a_column_is_checked_in_any_container(kind):
    values = _ids(1000) + ["../../evil"] + _ids(5) + ["/abs/path/victim"]
    containers = {
        "list": lambda v: v,
        "object": lambda v: np.array(v, dtype=object),
        "unicode": lambda v: np.array(v),
        "pandas": lambda v: pd.Series(v),
        "pandas-object": lambda v: pd.Series(v, dtype=object),
        "arrow": lambda v: pa.array(v),
        "chunked": lambda v: pa.chunked_array([v[:500], v[500:]]),
    }
    assert unsafe_identifiers(containers[kind](_ids(1000))) == (0, [])
    assert unsafe_identifiers(containers[kind](values)) == (2, ["../../evil", "/abs/path/victim"])


@pytest.mark.parametrize("value", HOSTILE)
def test_each_hostile_identifier_is_found_in_a_column(value):
    for column in ([*_ids(10), value], pa.array([*_ids(10), value]), pd.Series([*_ids(10), value])):
        assert unsafe_identifiers(column) == (1, [value])


def test_missing_and_numeric_identifiers():
    assert unsafe_identifiers([1, 2, 3]) == (0, [])  # numbers become their digits
    assert unsafe_identifiers(pa.array([1, 2, 3])) == (0, [])
    assert unsafe_identifiers(["a", None])[0] == 1
    assert unsafe_identifiers(pa.array(["a", None]))[0] == 1
    assert unsafe_identifiers(pd.Series(["a", None]))[0] == 1
    assert unsafe_identifiers(np.array(["a", float("nan")], dtype=object))[0] == 1
    assert unsafe_identifiers([]) == (0, []) and unsafe_identifiers(pa.array([], pa.string())) == (0, [])


def test_the_refusal_is_one_line_naming_the_first_few_and_the_rule():
    values = [*_ids(3), "../../evil", "/abs/path/victim", "a/b", "x" * 300, "a\x00b"]
    with pytest.raises(UserInputError) as refused:
        check_identifiers(values, "tiles file 't.geojson'")
    message = str(refused.value)
    assert message.startswith("tiles file 't.geojson': 5 chip identifier(s) break the rule")
    assert "'../../evil', '/abs/path/victim', 'a/b', ..." in message and RULE in message
    assert "\n" not in message and "x" * 60 not in message  # long values are cut


@pytest.mark.parametrize("value", HOSTILE)
def test_child_path_refuses_what_would_leave_the_folder(tmp_path, value):
    with pytest.raises(UnsafePathError):
        child_path(tmp_path, value, ".tif")


def test_child_path_is_a_direct_child(tmp_path):
    for value in GOOD:
        path = child_path(tmp_path, value, ".tif")
        assert path.parent == tmp_path and path.name == f"{value}.tif"


def test_inside_follows_symbolic_links(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside)
    (root / "file-link.zip").symlink_to(outside / "victim.zip")
    for path in ("../x", "/etc/passwd", "link/x", "link", "file-link.zip", ".", "a/../../x"):
        with pytest.raises(UnsafePathError):
            inside(root, path)
    assert inside(root, "a/b.zip") == root / "a" / "b.zip"
    (root / "sibling").mkdir()
    (root / "to-sibling").symlink_to(root / "sibling")  # inside, and returned as asked, not followed
    assert inside(root, "to-sibling") == root / "to-sibling"
    linked_root = tmp_path / "linked-root"
    linked_root.symlink_to(root)  # a folder reached through a link is still itself
    assert inside(linked_root, "x.zip") == linked_root / "x.zip"


def test_archive_members_are_refused_unless_plain():
    assert check_member("t_img/data/0a.pkl") == "t_img/data/0a.pkl"
    for name in ("../x.pkl", "/abs/x.pkl", "t/data//abs/x.pkl", "t/data/../../../x.pkl", "a\\b", "a\x00b", "", "a/./b"):
        with pytest.raises(UnsafePathError):
            check_member(name)


# --- every tiling's identifiers follow the rule ----------------------------------------------------------

AOI = shapely.box(6.0, 49.6, 6.1, 49.66)


def _tiling(kind: str, tmp_path: Path):
    from geetiles.config import TilingConfig, TilingKind

    if kind == "select":
        units = gpd.GeoDataFrame(
            {"name": ["a", "b"]},
            geometry=[shapely.box(5.9, 49.5, 6.05, 49.7), shapely.box(6.05, 49.5, 6.2, 49.7)],
            crs=4326,
        )
        units.to_file(tmp_path / "units.gpkg")
        return TilingConfig(kind=TilingKind.select, file=str(tmp_path / "units.gpkg"), name="units")
    return TilingConfig(kind=TilingKind(kind), chip_size_m=1000, max_size_m=2000)


@pytest.mark.parametrize("kind", ["grid", "utm", "random", "select", "majortom"])
def test_every_tiling_makes_identifiers_that_follow_the_rule(kind, tmp_path):
    from geetiles.regions.aoi import Aoi
    from geetiles.tiling.stage import make_chips

    chips = make_chips(Aoi("t", AOI, "test"), _tiling(kind, tmp_path))
    assert len(chips) > 0
    assert unsafe_identifiers(chips.identifier) == (0, [])
    assert all(len(i) == 13 for i in chips.identifier)  # the original's 13-hex ids
    if kind == "majortom":
        assert unsafe_identifiers(chips.extra["majortom"]) == (0, [])  # cell names such as 451U_946L


def test_every_tiles_file_of_geetiles_017_loads(tmp_path):
    """0.1.7's tiles files (grid, random, select, proportions, splits) pass the rule as they are read."""
    from geetiles.tiles import load_tiles

    files = sorted(p for p in ORIGINAL.rglob("*_partitions_*.geojson*"))
    assert len(files) > 40
    for path in files:
        if path.suffix == ".gz":
            target = tmp_path / path.name[:-3]
            target.write_bytes(gzip.decompress(path.read_bytes()))
            path = target
        frame = load_tiles(path)
        assert unsafe_identifiers(frame["identifier"]) == (0, []), path.name


def test_the_foreign_name_is_the_token_after_partitions():
    from geetiles.names import foreign_name

    assert foreign_name(Path("/d/lux_partitions_communes_1a2b3c4d5e6f7.geojson")) == "communes"


@pytest.mark.parametrize(
    "name",
    [
        "lux_communes_1a2b.geojson",
        "lux_partitions_communes.geojson",
        "lux_partitions_a b_1a2b.geojson",
        "lux_partitions_.._1a2b.geojson",
    ],
)
def test_a_tiles_file_without_a_usable_foreign_name_is_refused(name):
    from geetiles.names import foreign_name

    with pytest.raises(UserInputError, match="foreign"):
        foreign_name(Path("/d") / name)
