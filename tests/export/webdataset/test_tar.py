"""The tar stream of a shard: normalised headers made by ``tarfile``, members in a fixed order."""

from __future__ import annotations

import tarfile


def test_tar_members_are_normalised_and_in_a_fixed_order(exported):
    dest, summary = exported
    shard = dest / summary["splits"]["train"]["shards"][0]["file"]
    with tarfile.open(shard) as tar:
        members = tar.getmembers()
    assert members and all(m.isfile() for m in members)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) for m in members} == {(0, 0, 0, "", "", 0o644)}
    names = [m.name for m in members]
    keys = [n.split(".", 1)[0] for n in names[::3]]
    assert names == [f"{k}.{suffix}" for k in keys for suffix in ("image.npy", "label.npy", "json")]


def _shard(samples: list[tuple[str, list[tuple[str, bytes]]]]) -> tuple[bytes, int, str]:
    import io

    from geetiles.export.webdataset.tar import ShardTar

    out = io.BytesIO()
    tar = ShardTar(out)
    for key, members in samples:
        tar.add(key, members)
    sha256 = tar.close()
    return out.getvalue(), tar.size, sha256


def test_a_shard_is_what_tarfile_writes_without_its_record_padding():
    """Every byte up to the end marker is tarfile's own archive of the same members (normalised
    TarInfo, PAX format); tarfile then pads to a 10 KiB record, which a shard leaves out."""
    import hashlib
    import io

    samples = [
        ("a1", [("image.npy", b"\x93NUMPY" + bytes(700)), ("json", b'{"x":1}')]),
        ("k" * 128, [("label.npy", bytes(512)), ("json", b"{}")]),  # names over 100 bytes: a PAX header
        ("b2", [("json", b"")]),
    ]
    data, size, sha256 = _shard(samples)
    reference = io.BytesIO()
    with tarfile.open(fileobj=reference, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for key, members in samples:
            for suffix, payload in members:
                info = tarfile.TarInfo(f"{key}.{suffix}")
                info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = (
                    len(payload),
                    0,
                    0o644,
                    0,
                    0,
                    "",
                    "",
                )
                tar.addfile(info, io.BytesIO(payload))
    theirs = reference.getvalue()
    assert len(theirs) % tarfile.RECORDSIZE == 0 and len(data) % tarfile.BLOCKSIZE == 0
    assert theirs[: len(data)] == data and not any(theirs[len(data) :])
    assert size == len(data) and sha256 == hashlib.sha256(data).hexdigest()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert [(m.name, m.size) for m in tar.getmembers()] == [
            (f"{k}.{s}", len(p)) for k, members in samples for s, p in members
        ]
        assert tar.extractfile(f"{'k' * 128}.label.npy").read() == bytes(512)
