"""Does a hand-written tar writer save >= 20 % of the WebDataset export? (issue 23: keep it only if so)

    python bench/webdataset_tar.py WORKDIR [--repeats 5]

Setup (not timed, kept in WORKDIR, shared with bench/export.py): `geet grid` on Luxembourg at 1000 m
(2774 chips), 100x100-pixel images (3-band uint8) and labels (1-band uint8) from the offline demo
sources, proportions and a blocks split; the export input is selected and verified once.

Timed: ``write_webdataset`` (the whole format: reading every chip, .npy and .json members, the tar,
sha256, atomic shard files, shards.json) on the same chips with three tar writers, interleaved,
``--repeats`` times each, in worker processes as by default (2 here) and in one process:

- ``hand``: the hand-built ustar header geetiles used until issue 23 (a copied 512-byte template,
  name, size and checksum filled in; tarfile only for names over 100 bytes);
- ``tobuf``: every header made by ``tarfile`` (``TarInfo.tobuf``, PAX format), data padded to blocks
  and the two-block end marker written by geetiles: what ``geetiles/export/webdataset/tar.py`` does;
- ``tarfile``: ``tarfile.TarFile.addfile`` for every member and ``close()``, which also pads the
  archive to a 10 KiB record.

Reported: wall time and CPU time (this process and the ended workers: steadier than wall time on a
busy machine), min and median, and how much of the tarfile writers' export ``hand`` saves.

Checked: ``hand`` and ``tobuf`` shards are byte-identical; ``tarfile`` shards hold the same members
(names, sizes, data, mtime/uid/gid/mode/owner names) and differ only by their trailing zero padding.
Worker processes are forked here (geetiles uses forkserver) so that they run the writer under test.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import resource
import shutil
import statistics
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.export import LUXEMBOURG, experiment, setup  # noqa: E402

# --- the three writers ---------------------------------------------------------------------------------

_USTAR = bytearray(tarfile.BLOCKSIZE)  # a regular file's ustar header: mode 0644, uid/gid 0, no owner names, mtime 0
for _at, _field in (
    (100, b"0000644\0"),
    (108, b"0000000\0"),
    (116, b"0000000\0"),
    (136, b"00000000000\0"),
    (156, b"0"),
    (257, b"ustar\x0000"),
):
    _USTAR[_at : _at + len(_field)] = _field


def hand_header(name: str, size: int) -> bytes:
    """geetiles' hand-built header until issue 23 (tarfile for long or non-ASCII names)."""
    from geetiles.export.webdataset.tar import member_header

    raw = name.encode("utf-8")
    if len(raw) > 100 or not raw.isascii() or size >= 8**11:
        return member_header(name, size)
    header = _USTAR.copy()
    header[: len(raw)] = raw
    header[124:136] = b"%011o\0" % size
    header[148:156] = b"        "
    header[148:155] = b"%06o\0" % sum(header)
    return bytes(header)


def hand_writer():
    """geetiles' ShardTar with the hand-built header (same block layout, same bytes)."""
    from geetiles.export.webdataset import tar

    class HandTar(tar.ShardTar):
        def add(self, key, members):
            parts = []
            for suffix, data in members:
                parts += [hand_header(f"{key}.{suffix}", len(data)), data]
                if len(data) % tar.BLOCK:
                    parts.append(bytes(tar.BLOCK - len(data) % tar.BLOCK))
            self._write(b"".join(parts))

    return HandTar


class _Counting:
    """A file that counts and hashes what tarfile writes into it."""

    def __init__(self, file) -> None:
        self.file, self.digest, self.size = file, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.file.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size


class TarFileTar:
    """The ShardTar interface on ``tarfile.TarFile`` itself."""

    def __init__(self, file) -> None:
        self._out = _Counting(file)
        self._tar = tarfile.open(fileobj=self._out, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8")

    @property
    def size(self) -> int:
        return self._out.size

    def add(self, key, members) -> None:
        for suffix, data in members:
            info = tarfile.TarInfo(f"{key}.{suffix}")
            info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = (
                len(data),
                0,
                0o644,
                0,
                0,
                "",
                "",
            )
            self._tar.addfile(info, io.BytesIO(data))

    def close(self) -> str:
        self._tar.close()
        return self._out.digest.hexdigest()


def writers() -> dict:
    from geetiles.export.webdataset.tar import ShardTar

    return {"hand": hand_writer(), "tobuf": ShardTar, "tarfile": TarFileTar}


# --- timing -----------------------------------------------------------------------------------------------


def export_input(tiles: Path):
    from geetiles.export.stage import _names, build_input

    exp = experiment(tiles, "webdataset")
    images, labels = _names(exp.config)
    return build_input(exp, tiles, images, labels)


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the pool's workers, once it shut down)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def time_once(inp, dest: Path, writer, workers: int | None) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds, summary) of one export with ``writer``."""
    from geetiles.export.webdataset import shards, write_webdataset

    shards.ShardTar = writer  # write_shard looks it up when it runs (forked workers inherit it)
    shutil.rmtree(dest, ignore_errors=True)
    started, cpu = time.perf_counter(), cpu_seconds()
    summary = write_webdataset(inp, dest, workers=workers)
    return time.perf_counter() - started, cpu_seconds() - cpu, summary


def check_equivalent(dests: dict[str, Path], summary: dict) -> None:
    for split in summary["splits"].values():
        for shard in split["shards"]:
            hand, tobuf, full = (dests[name] / shard["file"] for name in ("hand", "tobuf", "tarfile"))
            assert hand.read_bytes() == tobuf.read_bytes(), shard["file"]
            ours, theirs = tobuf.read_bytes(), full.read_bytes()
            assert theirs[: len(ours)] == ours and not any(theirs[len(ours) :]), shard["file"]
            with tarfile.open(tobuf) as a, tarfile.open(full) as b:
                ma, mb = a.getmembers(), b.getmembers()
                fields = ("name", "size", "mtime", "uid", "gid", "uname", "gname", "mode", "type")
                assert [[getattr(m, f) for f in fields] for m in ma] == [[getattr(m, f) for f in fields] for m in mb]
                assert all(a.extractfile(x).read() == b.extractfile(y).read() for x, y in zip(ma, mb))


def header_micro(count: int) -> dict[str, float]:
    """Seconds to make ``count`` member headers each way (what the writers differ by)."""
    from geetiles.export.webdataset.tar import member_header

    names = [f"{i:013x}.image.npy" for i in range(count)]
    out = {}
    for label, make in (("hand", hand_header), ("tobuf", member_header)):
        started = time.perf_counter()
        for name in names:
            make(name, 30128)
        out[label] = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not LUXEMBOURG.exists():
        sys.exit(f"{LUXEMBOURG} is missing")
    import geetiles.process_pool as pool

    pool.process_pool = functools.partial(pool.process_pool, start_method="fork")
    work = args.workdir.resolve()
    tiles = setup(work)
    inp = export_input(tiles)
    chips = len(inp.identifiers)
    candidates = writers()
    dests = {name: work / f"bench_wds_{name}" for name in candidates}
    print(
        f"{chips} chips, {args.repeats} repeats; headers for {3 * chips} members: "
        + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in header_micro(3 * chips).items())
    )
    for workers, label in ((None, "default workers"), (1, "one process")):
        times: dict[str, list[float]] = {name: [] for name in candidates}
        cpus: dict[str, list[float]] = {name: [] for name in candidates}
        summary = None
        for repeat in range(args.repeats):
            order = list(candidates)[repeat % 3 :] + list(candidates)[: repeat % 3]  # interleaved, rotated
            for name in order:
                elapsed, cpu, result = time_once(inp, dests[name], candidates[name], workers)
                times[name].append(elapsed)
                cpus[name].append(cpu)
                summary = result if name == "tobuf" else summary
        check_equivalent(dests, summary)
        for what, series in (("wall", times), ("CPU", cpus)):
            medians = {name: statistics.median(values) for name, values in series.items()}
            for name, values in series.items():
                print(
                    f"{label:16s} {what:4s} {name:8s} min {min(values):.2f} s  median {medians[name]:.2f} s  "
                    f"({chips / medians[name]:.0f} chips/s)  [{', '.join(f'{v:.2f}' for v in values)}]"
                )
            for other in ("tobuf", "tarfile"):
                saved = 100 * (medians[other] - medians["hand"]) / medians[other]
                best = 100 * (min(series[other]) - min(series["hand"])) / min(series[other])
                print(
                    f"{label:16s} {what:4s} hand saves {saved:+.1f} % of {other}'s export "
                    f"(medians; {best:+.1f} % by minima)"
                )
    for dest in dests.values():
        shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    main()
