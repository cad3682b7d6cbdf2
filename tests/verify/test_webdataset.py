"""The WebDataset shards against shards.json (and the index, when there is one)."""

from __future__ import annotations

import io
import json
import tarfile

from geetiles.verify import verify_dataset
from tests.verify.conftest import problem_lines, refresh_manifest


def _shards(root):
    return json.loads((root / "webdataset" / "shards.json").read_text())


def test_a_damaged_shard_is_named(wds_dataset):
    shard = _shards(wds_dataset)["splits"]["train"]["shards"][0]["file"]
    path = wds_dataset / "webdataset" / shard
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF
    path.write_bytes(bytes(data))
    lines = problem_lines(verify_dataset(wds_dataset))
    assert f"webdataset/{shard}: SHA-256 differs from webdataset/shards.json's (changed or corrupt)" in lines
    assert any(line.startswith(f"webdataset/{shard}: SHA-256 ") and "MANIFEST.sha256" in line for line in lines)


def test_a_sample_cut_short(wds_dataset):
    listing = _shards(wds_dataset)
    val = listing["splits"]["test"]["shards"][0]
    with tarfile.open(wds_dataset / "webdataset" / val["file"]) as archive:
        members = [(m, archive.extractfile(m).read()) for m in archive.getmembers()]
    key = members[0][0].name.split(".")[0]
    rebuilt = io.BytesIO()
    with tarfile.open(fileobj=rebuilt, mode="w") as archive:
        for member, data in members:
            if member.name.endswith(".image.npy"):
                data = data[:-10]
                member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    (wds_dataset / "webdataset" / val["file"]).write_bytes(rebuilt.getvalue())
    refresh_manifest(wds_dataset)
    lines = problem_lines(verify_dataset(wds_dataset))
    assert any(
        line.startswith(f"chip {key}: webdataset/{val['file']}: image.npy is ") and "cut short" in line
        for line in lines
    ), lines
    assert f"webdataset/{val['file']}: SHA-256 differs from webdataset/shards.json's (changed or corrupt)" in lines


def test_an_unlisted_shard(wds_dataset):
    (wds_dataset / "webdataset" / "train" / "extra.tar").write_bytes(b"")
    refresh_manifest(wds_dataset)
    assert problem_lines(verify_dataset(wds_dataset)) == [
        "webdataset/train/extra.tar: is a shard not listed in webdataset/shards.json"
    ]


def test_a_chip_in_the_shards_of_two_splits(wds_dataset):
    import hashlib

    listing = _shards(wds_dataset)
    train, test = listing["splits"]["train"]["shards"][0], listing["splits"]["test"]["shards"][0]
    with tarfile.open(wds_dataset / "webdataset" / train["file"]) as archive:
        stolen = [(m, archive.extractfile(m).read()) for m in archive.getmembers()[:3]]  # one whole sample
    with tarfile.open(wds_dataset / "webdataset" / test["file"]) as archive:
        members = [(m, archive.extractfile(m).read()) for m in archive.getmembers()]
    rebuilt = io.BytesIO()
    with tarfile.open(fileobj=rebuilt, mode="w") as archive:
        for member, data in members + stolen:
            archive.addfile(member, io.BytesIO(data))
    (wds_dataset / "webdataset" / test["file"]).write_bytes(rebuilt.getvalue())
    test.update(
        sha256=hashlib.sha256(rebuilt.getvalue()).hexdigest(),
        bytes=len(rebuilt.getvalue()),
        samples=test["samples"] + 1,
    )
    listing["splits"]["test"]["samples"] += 1
    (wds_dataset / "webdataset" / "shards.json").write_text(json.dumps(listing))
    refresh_manifest(wds_dataset)
    key = stolen[0][0].name.split(".")[0]
    assert problem_lines(verify_dataset(wds_dataset)) == [
        f"chip {key}: webdataset/{test['file']}: json says split train, the shard is in test",
        f"chip {key}: is in two WebDataset samples (splits train, test)",
    ]
