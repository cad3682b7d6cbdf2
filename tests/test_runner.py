"""The runner proves data_dir writable before the first stage: an unusable one is one line, exit 2,
no traceback, and no stage has run. Both entry points, in-process."""

from __future__ import annotations

import os

import pytest

from geetiles.cli import geet
from tests.in_process import run_geetiles

AOI = ["aoi=bbox", "aoi.bbox=[6,49.6,6.05,49.65]", "aoi.name=t", "stages=[aoi,tiling]"]


def unusable_data_dirs(root):
    """(data_dir, what the one line must say): under a regular file, under /proc, and (when this user
    cannot write in a chmod 0555 folder, i.e. not root) a read-only folder."""
    (root / "plain").write_text("x")
    cases = [
        (root / "plain" / "data", f"data_dir={root}/plain/data cannot be created: {root}/plain is a file"),
        ("/proc/geetiles-data", "data_dir=/proc/geetiles-data cannot be created or written"),
    ]
    if os.geteuid() != 0:
        (root / "ro").mkdir()
        (root / "ro").chmod(0o555)
        cases.append((root / "ro", f"data_dir={root}/ro is not writable (Permission denied)"))
    return cases


def test_python_m_geetiles_refuses_an_unusable_data_dir_before_any_stage(workdir, capsys):
    for data_dir, expected in unusable_data_dirs(workdir):
        code, err = run_geetiles(capsys, *AOI, f"data_dir={data_dir}")
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith(f"geetiles: error: {expected}") and "set data_dir to a folder" in lines[0]
    assert sorted(p.name for p in workdir.iterdir()) == ["plain"] + (["ro"] if os.geteuid() != 0 else [])
    assert not list((workdir / "plain").parent.rglob("t.wkt"))  # the aoi stage never ran


def test_geet_grid_refuses_an_unusable_dest_dir_before_tiling(workdir, capsys):
    wkt = workdir / "small.wkt"
    wkt.write_text("POLYGON ((6.0 49.6, 6.05 49.6, 6.05 49.65, 6.0 49.65, 6.0 49.6))")
    for data_dir, expected in unusable_data_dirs(workdir):
        with pytest.raises(SystemExit) as stopped:
            geet.main(
                [
                    "grid",
                    "--aoi_wkt_file",
                    str(wkt),
                    "--chip_size_meters",
                    "1000",
                    "--aoi_name",
                    "small",
                    "--dest_dir",
                    str(data_dir),
                ]
            )
        err = capsys.readouterr().err
        assert stopped.value.code == 2 and "Traceback" not in err, err
        assert err.strip().splitlines()[-1].startswith(f"geetiles: error: {expected}")
    assert not list(workdir.rglob("*.geojson"))


def test_a_usable_data_dir_is_created_and_the_run_goes_on(workdir, capsys):
    code, err = run_geetiles(capsys, *AOI, "data_dir=new/deeper/data")
    assert code == 0, err
    assert (workdir / "new" / "deeper" / "data" / "t.wkt").is_file()
    assert not [p for p in (workdir / "new" / "deeper" / "data").iterdir() if p.name.startswith(".geetiles-write")]


def test_stages_that_do_not_write_in_data_dir_do_not_create_it(workdir, capsys):
    code, err = run_geetiles(capsys, "stages=[foreign]", "foreign=none", "data_dir=/proc/geetiles-data")
    assert code == 0, err  # foreign=none writes nothing: an unusable data_dir does not matter
    code, err = run_geetiles(capsys, "stages=[foreign]", "foreign=none", "data_dir=untouched")
    assert code == 0 and not (workdir / "untouched").exists(), err


def test_a_run_stopped_by_a_later_error_leaves_no_empty_data_dir(workdir, capsys):
    code, err = run_geetiles(
        capsys, "aoi=wkt", "aoi.wkt_file=missing.wkt", "aoi.name=t", "stages=[aoi,tiling]", "data_dir=made/for/nothing"
    )
    assert code == 2 and "Traceback" not in err, err
    assert not (workdir / "made").exists()
