"""The dataset card (``README.md``) against the dataset: its YAML header parses, and its
``configs``' ``data_files`` name exactly the splits of the index (or of the WebDataset shards), each
with a path inside the dataset that matches files there."""

from __future__ import annotations

import fnmatch

import yaml

from geetiles.verify.context import CARD, Context
from geetiles.verify.report import Problem, file, name, path_text
from geetiles.verify.source import safe_relative


def check(context: Context) -> list[Problem]:
    splits = dataset_splits(context)
    if not context.has(CARD):
        return [file(CARD, "is missing (the dataset card the export writes)")]
    try:
        header = front_matter(context.read(CARD).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as error:
        return [file(CARD, f"its YAML header cannot be read ({' '.join(str(error).split())[:160]})")]
    problems: list[Problem] = []
    entries = list(data_files(header))
    if not entries:
        return [file(CARD, "its YAML header has no configs with data_files")]
    listed: set[str] = set()
    for split, path in entries:
        listed.add(split)
        if splits is not None and split not in splits:
            problems.append(file(CARD, f"lists split {name(split)}, which the dataset does not have"))
        if not safe_relative(path):
            problems.append(file(CARD, f"split {name(split)}: data file {path_text(path)} leaves the dataset"))
        elif not any(fnmatch.fnmatchcase(f, path) for f in context.listing.files):
            problems.append(file(CARD, f"split {name(split)}: no file matches its data file {path_text(path)}"))
    for split in sorted(set(splits or ()) - listed):
        problems.append(file(CARD, f"lists no data_files for split {name(split)}"))
    return problems


def dataset_splits(context: Context) -> set[str] | None:
    """The splits the dataset holds: the index's split column, else those of ``webdataset/shards.json``."""
    if context.index is not None and context.index.splits is not None:
        return {str(split) for split in context.index.splits}
    shards = getattr(context, "shards", None)
    if isinstance(shards, dict) and isinstance(shards.get("splits"), dict):
        return {str(split) for split in shards["splits"]}
    return None


def front_matter(text: str) -> dict:
    """The YAML between the card's first two ``---`` lines."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError("the card does not start with a '---' YAML header")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        raise ValueError("the YAML header has no closing '---'") from None
    header = yaml.safe_load("\n".join(lines[1:end]))
    if not isinstance(header, dict):
        raise ValueError("the YAML header is not a mapping")
    return header


def data_files(header: dict):
    """(split, path pattern) of every config's data_files, in the forms the Hugging Face hub accepts: a
    list of {split, path} (path a pattern or a list of them), or a mapping split → pattern(s)."""
    configs = header.get("configs")
    for config in configs if isinstance(configs, list) else []:
        files = config.get("data_files") if isinstance(config, dict) else None
        if isinstance(files, dict):
            files = [{"split": split, "path": path} for split, path in files.items()]
        if isinstance(files, str):
            files = [{"split": "train", "path": files}]
        for entry in files if isinstance(files, list) else []:
            if not isinstance(entry, dict):
                continue
            paths = entry.get("path")
            for path in paths if isinstance(paths, list) else [paths]:
                yield str(entry.get("split", "train")), path
