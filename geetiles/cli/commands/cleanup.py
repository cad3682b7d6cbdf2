"""``geet cleanup``: remove the unreadable GeoTIFFs of a chip folder, so that a rerun fetches them.

A tool on finished outputs, not a stage: it runs directly (no Hydra composition), and when it changed
the folder it records how beside it (``cleanup.geetiles.yaml``); the download's own record is left alone."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from geetiles.cli.options import write_tool_record


def add_parser(commands) -> None:
    cleanup = commands.add_parser(
        "cleanup",
        help="remove unreadable GeoTIFFs from a chip folder so a rerun fetches them",
        description="Remove every *.tif GDAL cannot open and decode in full, one line per "
        "file, and mark those chips 'removed' in the folder's manifest.csv so "
        "the next download fetches them again. Readable files are not touched. "
        "Exit status 0, or 1 if some file could not be read or removed at all.",
    )
    cleanup.add_argument("--basedir", required=True, help="the chip folder, e.g. {tiles base}/{dataset}")
    cleanup.set_defaults(handler=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> None:
    from geetiles.tools.cleanup import cleanup

    summary = cleanup(args.basedir)
    if summary.removed:
        write_tool_record(
            summary.directory / "cleanup",
            argv,
            "cleanup",
            {"basedir": str(summary.directory.resolve())},
            {
                "checked": summary.checked,
                "removed": [{"file": p.name, "reason": r} for p, r in summary.removed],
                "manifest_rows_marked_removed": summary.manifest_rows,
                "elapsed_s": round(summary.seconds, 3),
            },
        )
    print(summary.line())
    if summary.skipped:
        from geetiles.errors import RunFailed

        path, reason = summary.skipped[0]
        raise RunFailed(
            f"{len(summary.skipped)} file(s) in {summary.directory} could not be checked or removed "
            f"(first: {path.name}: {reason}); fix their permissions and rerun"
        )
