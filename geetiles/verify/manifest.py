"""``MANIFEST.sha256`` (sha256sum's format) against the files: every line well formed and naming a
path inside the dataset (a line with ``..`` or an absolute path is a problem and is never read), every
listed file present with that SHA-256, and every file of the dataset listed."""

from __future__ import annotations

import re

from geetiles.verify.context import MANIFEST, Context
from geetiles.verify.report import Problem, chip, file, path_text
from geetiles.verify.source import safe_relative

_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)")


def check(context: Context) -> list[Problem]:
    if not context.has(MANIFEST):
        return [file(MANIFEST, "is missing (the export lists every file's SHA-256 there)")]
    try:
        text = context.read(MANIFEST).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [file(MANIFEST, f"cannot be read ({error})")]
    problems: list[Problem] = []
    listed: dict[str, str] = {}
    chips = context.index.chip_of_path() if context.index is not None else {}
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{MANIFEST} line {number}"
        if not line.strip():
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            problems.append(Problem(where, "is not 'SHA256  path' (sha256sum's format)"))
            continue
        digest, path = match.group(1).lower(), match.group(2)
        if not safe_relative(path):
            problems.append(
                Problem(where, f"names {path_text(path)}, outside the dataset (absolute or '..'): not read")
            )
            continue
        if path in listed:
            problems.append(Problem(where, f"lists {path_text(path)} a second time"))
            continue
        listed[path] = digest
        subject = (
            (lambda what, p=path: chip(chips[p], f"{p}: {what}"))
            if path in chips
            else (lambda what, p=path: file(p, what))
        )
        if path == MANIFEST:
            problems.append(Problem(where, "lists the manifest itself"))
        elif not context.has(path):
            problems.append(subject(f"listed in {MANIFEST} but missing"))
        else:
            try:
                actual = context.digest(path)
            except OSError as error:
                problems.append(subject(f"cannot be read ({error.strerror or error})"))
                continue
            if actual != digest:
                problems.append(
                    subject(f"SHA-256 {actual[:12]}… differs from {MANIFEST}'s {digest[:12]}… (changed or corrupt)")
                )
    for path in sorted(context.listing.files):
        if path != MANIFEST and path not in listed:
            problems.append(file(path, f"is not listed in {MANIFEST} (added after the export?)"))
    return problems
