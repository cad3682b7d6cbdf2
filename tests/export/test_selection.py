"""verify(): a chip's file missing, corrupt or not recorded as done is named with its reason, in the
chips' order, whether the chips are checked in this process or in batches on worker processes."""

import shutil

import numpy as np
import pytest

from geetiles.export import selection
from geetiles.export.selection import dataset_info, verify


@pytest.mark.slow  # starts worker processes (and the shared demo run)
def test_workers_find_the_same_problems_in_the_same_order_as_one_process(dataset, monkeypatch):
    images = dataset_info(dataset, "demo-imagery", "images")
    chips = sorted(images.folder.glob("*.tif"))
    identifiers = np.array([p.stem for p in chips] + ["never_downloaded"])
    data = bytearray(chips[5].read_bytes())
    data[-10] ^= 0xFF
    chips[5].write_bytes(bytes(data))
    chips[2].unlink()
    shutil.copy(chips[0], images.folder / "never_downloaded.tif")  # a file the manifest does not know
    alone = verify(images, identifiers, workers=1)
    monkeypatch.setattr(selection, "VERIFY_PARALLEL_FROM", 1)
    monkeypatch.setattr(selection, "VERIFY_BATCH", 3)
    pooled = verify(images, identifiers, workers=2)
    assert list(pooled.items()) == list(alone.items())
    assert list(alone) == [chips[2].stem, chips[5].stem, "never_downloaded"]
    assert alone[chips[2].stem].endswith("missing") and "corrupt" in alone[chips[5].stem]
    assert "not in the download manifest as done (absent)" in alone["never_downloaded"]


def test_recorded_checksums_take_an_identifiers_last_row_and_blank_for_the_unknown():
    import pyarrow as pa

    from geetiles.export.selection import _recorded

    table = pa.table(
        {
            "identifier": ["a", "b", "a", None],
            "status": ["failed", "done", "done", "done"],
            "checksum": ["", "x", "y", "z"],
        }
    )
    assert _recorded(table, ["a", "b", "c", ""]) == (["done", "done", "", ""], ["y", "x", "", ""])


def test_recorded_checksums_of_a_finished_manifest_and_of_one_with_a_journal_agree(tmp_path):
    import json

    import numpy as np

    from geetiles.export.inputs import DatasetInfo
    from geetiles.export.selection import recorded_checksums

    folder = tmp_path / "chips"
    folder.mkdir()
    (folder / "manifest.csv").write_text(  # an older manifest: no error column; chip a recorded twice
        "identifier,status,checksum\na,failed,\nb,done,x\na,done,y\n"
    )
    info = DatasetInfo("chips", folder, ("r",), "uint8", None, (), {})
    identifiers = np.array(["a", "b", "c"], dtype=object)
    finished = recorded_checksums(info, identifiers)
    assert finished == (["done", "done", ""], ["y", "x", ""])
    (folder / ".manifest-journal.jsonl").write_text(json.dumps({"identifier": "c", "status": "done", "checksum": "z"}))
    assert recorded_checksums(info, identifiers) == (["done", "done", "done"], ["y", "x", "z"])
