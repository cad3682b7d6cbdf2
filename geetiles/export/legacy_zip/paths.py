"""Where the legacy zip goes and what its files are called, as 0.1.7 named them: ``{aoi}_{images}[_{labels}]``
beside the tiles file, hash-less copies of the tiles and foreign files, the foreign name F."""

from __future__ import annotations

import os
from pathlib import Path

from geetiles.errors import UserInputError
from geetiles.export.inputs import ExportInput


def names(inp: ExportInput) -> tuple[str, str]:
    """(AOI name, ``{aoi}_{images}[_{labels}]``): the folder and zip names 0.1.7 gives."""
    if inp.images is None:
        raise UserInputError("the legacy zip needs an images dataset (export.images=NAME or --images_dataset_def NAME)")
    aoi = Path(inp.tiles_path).name.split("_")[0]
    folder = f"{aoi}_{inp.images.name}" + (f"_{inp.labels.name}" if inp.labels is not None else "")
    return aoi, folder


def check_outputs(tiles_path: Path, images: str, labels: str | None) -> None:
    """Refuse (one line, nothing written) when the folder or zip this would replace is not one
    geetiles made (``geetiles/destinations.py``)."""
    from geetiles.destinations import LEGACY_ZIP, check_folder, check_zip

    folder = Path(tiles_path).resolve().parent / (
        f"{Path(tiles_path).name.split('_')[0]}_{images}" + (f"_{labels}" if labels is not None else "")
    )
    check_folder(folder, LEGACY_ZIP)
    check_zip(folder.with_name(f"{folder.name}.zip"), LEGACY_ZIP, folder.name)


def hashless_name(path: Path) -> str:
    """``{aoi}_partitions_{name}_{hash}.geojson`` → ``{aoi}_partitions_{name}.geojson`` (as 0.1.7's
    remove_hash: everything up to the last ``_``); a name without ``_`` is kept."""
    stem, suffix = os.path.splitext(path.name)
    return ("_".join(stem.split("_")[:-1]) + suffix) if "_" in stem else path.name


def foreign_name(path: Path) -> str:
    """F of ``*_partitions_{F}_*``: the name 0.1.7 gives the foreign keys and columns."""
    name = Path(path).name
    if "_partitions_" not in name:
        raise UserInputError(
            f"foreign tiles file {name!r} is not named {{aoi}}_partitions_{{name}}_{{hash}}.geojson; "
            "its name part gives the foreign columns (foreignid_{name}); give the foreign tiles file "
            "itself"
        )
    from geetiles.names import check_name

    return check_name(
        f"the foreign name of {name!r}",
        name.split("_partitions_", 1)[1].split("_")[0],
        "it names the pickles' foreign keys (rename the file)",
    )
