"""Store what the zip.dataset tests need from the original's zips (run with /work/ref017/venv/bin/python).

usage: extract_zip_case.py OUT_DIR CASE=ZIP [CASE=ZIP ...]

OUT_DIR/members.json.gz     per case: every member (order as written), size, compress type, sha256
                          (metadata files only)
OUT_DIR/pickles.json.gz "signatures": the distinct (keys in order, Python types, array
                          dtypes and shapes) of the pickles; per case and chip: its signature, the
                          first 16 hex digits of the sha256 of chip and label bytes (as the original
                          wrote them: int16, C order), center_latlon, corners, label_proportions
OUT_DIR/pkl/{case}/{id}.pkl  a few pickles byte for byte (ids in PICKLES)
"""
import gzip
import hashlib
import json
import pickle
import sys
import zipfile
from pathlib import Path

import numpy as np

PICKLES = {"tokyo": ["0fef23f516c33"], "tokyo-foreign": ["0fef23f516c33", "1b4c245e7a912"]}


def type_name(value):
    return f"{type(value).__module__}.{type(value).__qualname__}"


def describe(value, depth=0):
    """Types and shapes (no values); a proportions dict ({class: share}) by its key and value types."""
    if isinstance(value, np.ndarray):
        return {"type": type_name(value), "dtype": str(value.dtype), "shape": list(value.shape)}
    if isinstance(value, dict):
        if depth >= 1 and all(not isinstance(v, (dict, np.ndarray)) for v in value.values()):
            return {"type": type_name(value), "key_types": sorted({type_name(k) for k in value}),
                    "value_types": sorted({type_name(v) for v in value.values()})}
        return {"type": type_name(value), "items": {str(k): describe(v, depth + 1) for k, v in value.items()}}
    return {"type": type_name(value)}


def digest(array):
    """sha256 (first 16 hex digits) of an array's bytes as written (C order)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


out = Path(sys.argv[1])
members, pickles, signatures = {}, {}, {}
for spec in sys.argv[2:]:
    case, path = spec.split("=", 1)
    with zipfile.ZipFile(path) as archive:
        members[case] = [{"name": i.filename, "size": i.file_size, "compress_type": i.compress_type,
                          **({} if i.filename.endswith(".pkl") else {"sha256": hashlib.sha256(archive.read(i)).hexdigest()})}
                         for i in archive.infolist()]
        pickles[case] = {}
        for info in archive.infolist():
            if not info.filename.endswith(".pkl"):
                continue
            raw = archive.read(info)
            record = pickle.loads(raw)
            chip_id = record["chip_id"]
            signature = json.dumps({"keys": list(record), "types": {k: describe(v) for k, v in record.items()}})
            entry = {"signature": signatures.setdefault(signature, len(signatures)), "chip": digest(record["chip"]),
                     "center_latlon": record["center_latlon"].tolist(),
                     "corners": {k: v.tolist() for k, v in record["corners"].items()}}
            if "label" in record:
                entry["label"] = digest(record["label"])
            if "label_proportions" in record:
                entry["label_proportions"] = record["label_proportions"]
            pickles[case][chip_id] = entry
            if chip_id in PICKLES.get(case, []):
                target = out / "pkl" / case / f"{chip_id}.pkl"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(raw)


def write_gz(path, data):
    with open(path, "wb") as raw_file:
        with gzip.GzipFile(fileobj=raw_file, mode="wb", mtime=0, filename="") as gz:
            gz.write(json.dumps(data).encode())


write_gz(out / "members.json.gz", members)
write_gz(out / "pickles.json.gz", {"signatures": {v: json.loads(k) for k, v in signatures.items()}, **pickles})
print({case: (len(m), len(pickles[case])) for case, m in members.items()})
