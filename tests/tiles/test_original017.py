"""The classic commands on files in 0.1.7's layout write 0.1.7's bytes (tests/data/original017, CASES.md).

Each case copies the input 0.1.7 was given, runs our ``geet`` with 0.1.7's command line, and compares
the tiles file (and the splits CSV) with what 0.1.7 wrote, byte for byte. Where our values differ by
design (intersect weighs overlaps in square metres, 0.1.7 in square degrees: near-ties may pick the
other unit), only those chips' lines may differ, and only in that value."""

import gzip
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import geet_cmd
from tests.in_process import run_in_process
from tests.proportions.original_labels import write_original_label_chips

DATA = Path(__file__).resolve().parents[1] / "data" / "original017"
FILES = DATA / "files"


def _bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _split_cases() -> dict[str, tuple[list[str], Path]]:
    """``split-{case}`` → (0.1.7's arguments, its input file), from CASES.md."""
    text = (DATA / "CASES.md").read_text()
    cases = {}
    for block in re.split(r"\n### ", text)[1:]:
        name = block.split("\n", 1)[0].strip()
        command = re.search(r"- command: `geet (split [^`]*)`", block)
        source = re.search(r"- input tiles file: (files/\S+\.geojson(?:\.gz)?)", block)
        if name.startswith("split-") and not name.startswith("split-err") and command and source:
            cases[name.removeprefix("split-")] = (
                shlex.split(command.group(1)),
                DATA / source.group(1),
            )
    return cases


SPLITS = _split_cases()


def test_every_split_case_of_the_reference_is_found():
    assert len(SPLITS) == 13 and all(path.exists() for _, path in SPLITS.values())


@pytest.mark.parametrize("case", sorted(SPLITS))
def test_geet_split_writes_the_bytes_0_1_7_wrote(tmp_path, case):
    arguments, source = SPLITS[case]
    tiles = tmp_path / source.name.removesuffix(".gz")
    tiles.write_bytes(_bytes(source))
    result = run_in_process(geet_cmd(*arguments), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    expected = FILES / "split" / case
    reference = next(expected.glob(f"{tiles.name}*"))
    assert tiles.read_bytes() == _bytes(reference)
    csv = tiles.with_name(f"{tiles.stem}_splits.csv")
    assert csv.read_bytes() == (expected / csv.name).read_bytes()


INTERSECTS = {  # case: (the chips' grid file, the foreign file, 0.1.7's output)
    "quito": (
        "grid/quito-1000/quito_partitions_aschips_266af64b36450.geojson",
        "intersect/quito-1000-x-coarse/quito_partitions_coarse_12fab7c94b46b.geojson",
        "intersect/quito-1000-x-coarse/quito_partitions_aschips_266af64b36450.geojson",
    ),
    "lux": (
        "grid/lux-1000/lux_partitions_aschips_14c55eb7d417f.geojson.gz",
        "grid/lux-10000/lux_partitions_aschips_38b2145239130.geojson",
        "intersect/lux-1000-x-lux-10000/lux_partitions_aschips_14c55eb7d417f.geojson.gz",
    ),
}


@pytest.mark.parametrize("case", sorted(INTERSECTS))
def test_geet_intersect_writes_the_bytes_0_1_7_wrote_but_for_its_square_degree_ties(tmp_path, case):
    chips, foreign, output = (FILES / part for part in INTERSECTS[case])
    tiles = tmp_path / chips.name.removesuffix(".gz")
    tiles.write_bytes(_bytes(chips))
    (tmp_path / foreign.name).write_bytes(_bytes(foreign))
    result = run_in_process(
        geet_cmd(
            "intersect",
            "--tiles_file",
            tiles.name,
            "--foreign_tiles_file",
            foreign.name,
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    ours, theirs = tiles.read_bytes().split(b"\n"), _bytes(output).split(b"\n")
    assert len(ours) == len(theirs)
    differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    assert len(differ) <= 0.005 * len(theirs)  # the near-ties of test_intersect.py (0 for quito)
    unit = re.compile(rb'"foreignid_[a-z0-9]+": "[0-9a-f-]+"')
    for i in differ:
        assert unit.sub(b"", ours[i]) == unit.sub(b"", theirs[i])  # the chosen unit, nothing else
    if case == "quito":
        assert not differ


TOKYO = FILES / "proportions" / "tokyo"
LP_COMPUTE = [
    "tokyo_partitions_aschips_0425f1f89eea7",
    "tokyo_partitions_aschips_037b6c94b3cbe",
]


@pytest.mark.parametrize("stem", LP_COMPUTE)
def test_geet_lp_compute_writes_the_bytes_0_1_7_wrote_on_its_grids(tmp_path, stem):
    """Rectangular chips without nodata, where geetiles' shares equal 0.1.7's (the random pieces differ
    by design: partial edge pixels, tests/proportions/test_original.py)."""
    folder = "tokyo-1000" if stem.endswith("0425f1f89eea7") else "tokyo-5000"
    tiles = tmp_path / f"{stem}.geojson"
    tiles.write_bytes((FILES / "grid" / folder / tiles.name).read_bytes())
    write_original_label_chips(tmp_path, stem)
    result = run_in_process(
        geet_cmd(
            "lp.compute",
            "--tiles_file",
            tiles.name,
            "--labels_dataset_def",
            "esa-world-cover",
        ),
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert tiles.read_bytes() == _bytes(TOKYO / f"lp_compute_{stem}.geojson.gz")
    import pyarrow.parquet as pq

    twin = pq.read_schema(tiles.with_suffix(".parquet")).names
    assert "esa-world-cover_valid_frac" in twin  # the columns 0.1.7 did not have live in the twin
