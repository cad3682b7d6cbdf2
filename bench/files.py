"""What one small file costs on each folder's file system: CPU microseconds per file to create and
write one, to create an empty one, to hard-link one, and to read one back (``tests/scratch.py`` puts
the tests' temporary files on a RAM disk for these figures; the export writes two files a chip).

    python bench/files.py                          # /tmp (this machine: ext4) and /dev/shm (tmpfs)
    python bench/files.py -n 20000 /data /dev/shm  # any folders, fewer files

Each case makes its own folder inside the given one and removes it after (never anything else).
CPU time of this process: the kernel's work for the file system call is in it, waiting for the disk
is not. On ext4 the figures move with what the disk went through before (mass deletions make file
creation several times dearer for a while): run it more than once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

DATA = b"x" * 600  # about an 8x8 demo chip


def per_file(folder: Path, count: int) -> dict[str, float]:
    """CPU µs per file of each operation, in a fresh folder under ``folder``."""
    work = Path(tempfile.mkdtemp(prefix="geetiles-bench-files-", dir=folder))
    try:
        written, empty, linked = work / "written", work / "empty", work / "linked"
        for place in (written, empty, linked):
            place.mkdir()
        names = [f"{index:07d}_abcdef0123456.tif" for index in range(count)]
        figures = {}

        def timed(label, action):
            start = time.process_time()
            for name in names:
                action(name)
            figures[label] = (time.process_time() - start) / count * 1e6

        def write(name):
            descriptor = os.open(written / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(descriptor, DATA)
            os.close(descriptor)

        def create(name):
            os.close(os.open(empty / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))

        def read(name):
            with open(written / name, "rb") as file:
                file.read()

        timed("create+write", write)
        timed("create empty", create)
        timed("hard link", lambda name: os.link(written / name, linked / name))
        timed("read", read)
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def file_system(folder: Path) -> str:
    """The type of the file system ``folder`` is on, from /proc/mounts (longest mount point that holds it)."""
    best, kind = "", "?"
    try:
        lines = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return kind
    resolved = str(folder.resolve())
    for fields in (line.split() for line in lines):
        if len(fields) >= 3 and (resolved == fields[1] or resolved.startswith(fields[1].rstrip("/") + "/")):
            if len(fields[1]) > len(best):
                best, kind = fields[1], fields[2]
    return kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=[Path("/tmp"), Path("/dev/shm")])
    parser.add_argument("-n", type=int, default=50_000, help="files per operation")
    options = parser.parse_args()
    for folder in options.folders:
        if not folder.is_dir():
            print(f"{folder}: not a folder, skipped")
            continue
        figures = per_file(folder, options.n)
        text = "  ".join(f"{label} {value:6.1f}" for label, value in figures.items())
        print(f"{str(folder):12s} {file_system(folder):6s} µs CPU per file: {text}")


if __name__ == "__main__":
    main()
