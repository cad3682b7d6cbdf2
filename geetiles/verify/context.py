"""What every check reads: the dataset's files (:mod:`source`), its index, and the SHA-256 of each file,
computed once however many checks compare it (the chip pass hashes the chips it decodes)."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Executor
from dataclasses import dataclass, field

from geetiles.verify.source import FolderSource, Listing, ZipSource

INDEX = "chips.parquet"
MANIFEST = "MANIFEST.sha256"
SHARDS = "webdataset/shards.json"
CARD = "README.md"
PARALLEL_FROM = 5000  # fewer chips: one process checks them in a second or two of CPU, less than starting workers


@dataclass
class Index:
    """``chips.parquet``'s columns that the checks compare (a missing column is None) and its metadata."""

    identifiers: list[str]
    splits: list | None
    crs: list | None
    transform: list | None
    width: list | None
    height: list | None
    image_path: list | None
    image_sha256: list | None
    label_path: list | None
    label_sha256: list | None
    metadata: dict | None

    def __len__(self) -> int:
        return len(self.identifiers)

    def chip_of_path(self) -> dict[str, str]:
        """Each indexed file's chip (relative path → identifier)."""
        found: dict[str, str] = {}
        for paths in (self.image_path, self.label_path):
            for identifier, path in zip(self.identifiers, paths or []):
                if isinstance(path, str):
                    found[path] = identifier
        return found


@dataclass
class Context:
    source: FolderSource | ZipSource
    listing: Listing
    workers: int | None = None
    index: Index | None = None
    shards: dict | None = None  # webdataset/shards.json, once read
    digests: dict[str, str] = field(default_factory=dict)  # relative path → SHA-256 hex, of files read
    files_read: set[str] = field(default_factory=set)
    chips: int = 0  # chips (or samples) checked, for the report
    _pool: Executor | None = None

    def executor(self, chips: int) -> Executor | None:
        """The worker processes for checking ``chips`` chips' files, started once and shared by the
        checks; None when one process is faster (few chips, one core, or ``workers=1``)."""
        workers = (
            self.workers if self.workers is not None else (1 if chips < PARALLEL_FROM else min(os.cpu_count() or 1, 8))
        )
        if workers <= 1:
            return None
        if self._pool is None:
            from geetiles.process_pool import process_pool

            self._pool = process_pool(workers)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def read(self, relative: str) -> bytes:
        """A listed file's bytes (raises OSError), its digest noted for the other checks."""
        data = self.source.read(relative)
        self.note(relative, hashlib.sha256(data).hexdigest())
        return data

    def note(self, relative: str, digest: str) -> None:
        self.digests[relative] = digest
        self.files_read.add(relative)

    def digest(self, relative: str) -> str:
        """A listed file's SHA-256 (raises OSError), computed once, streamed (a shard may be large)."""
        if relative not in self.digests:
            with self.source.open(relative) as handle:
                self.note(relative, hashlib.file_digest(handle, "sha256").hexdigest())
        return self.digests[relative]

    def has(self, relative: str) -> bool:
        return relative in self.listing.files
