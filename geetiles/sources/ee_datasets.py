"""Earth Engine dataset definitions: the original's built-ins, or a user's own Python file.

Built-in datasets are declarative recipes (geetiles/conf/source/*.yaml, see ee_recipe.py). A user
file defines ``get_ee_image()`` returning an ``ee.Image`` (and optionally ``get_dataset_name()``),
or, as geetiles 0.1.7 files do, a ``DatasetDefinition`` class with ``get_gee_image()`` and
``get_dataset_name()``. The image is built and serialised once per run.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geetiles.errors import UserInputError


@dataclass(frozen=True)
class DatasetDefinition:
    name: str
    build_image: Callable[[], Any]
    source_file: Path | None = None
    recipe: Any = None  # the RecipeConfig, for recipe datasets


def recipe_definition(recipe, name: str | None = None) -> DatasetDefinition:
    from geetiles.sources.ee_recipe import compile_recipe, dataset_name, validate

    validate(recipe)  # before anything connects: inconsistent settings are one line, exit 2
    return DatasetDefinition(name or dataset_name(recipe), lambda: compile_recipe(recipe), recipe=recipe)


def load_definition(dataset: str, name: str | None = None) -> DatasetDefinition:
    """A packaged recipe's name, or the path of a Python file (``.py`` may be omitted, as in the original)."""
    from geetiles.sources.catalog import find_recipe, names

    recipe = find_recipe(dataset)
    if recipe is not None:
        return recipe_definition(recipe, name)
    path = Path(dataset).expanduser()
    if not path.is_file() and Path(f"{dataset}.py").is_file():
        path = Path(f"{dataset}.py")
    if not path.is_file():
        known = ", ".join(names())
        raise UserInputError(
            f"source.dataset={dataset!r} is neither a built-in dataset ({known}) nor an existing Python file"
        )
    module = _load_module(path)
    if hasattr(module, "get_ee_image"):
        default_name = module.get_dataset_name() if hasattr(module, "get_dataset_name") else path.stem
        return DatasetDefinition(name or default_name, module.get_ee_image, path.resolve())
    if hasattr(module, "DatasetDefinition"):
        legacy = _instantiate_legacy(module.DatasetDefinition, dataset)
        builder = getattr(legacy, "get_ee_image", None) or legacy.get_gee_image
        default_name = legacy.get_dataset_name() if hasattr(legacy, "get_dataset_name") else path.stem
        return DatasetDefinition(name or default_name, builder, path.resolve())
    raise UserInputError(
        f"{path} defines neither get_ee_image() nor a DatasetDefinition class; "
        "define get_ee_image() returning an ee.Image"
    )


def _load_module(path: Path):
    spec = importlib.util.spec_from_file_location(f"geetiles_user_dataset_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise UserInputError(
            f"running {path} failed: {type(error).__name__}: {' '.join(str(error).split())[:200]}"
        ) from None
    return module


def _instantiate_legacy(cls, dataset: str):
    try:
        return cls(dataset)
    except TypeError:
        return cls()


def serialized_expression(definition: DatasetDefinition) -> str:
    """Build the image once and serialise it to the JSON the REST API takes as ``expression``."""
    import ee

    try:
        image = definition.build_image()
    except UserInputError:
        raise
    except ee.EEException as error:
        raise UserInputError(
            f"building dataset {definition.name!r} failed: {' '.join(str(error).split())[:300]}"
        ) from None
    except Exception as error:
        raise UserInputError(
            f"building dataset {definition.name!r} failed: {type(error).__name__}: {' '.join(str(error).split())[:200]}"
        ) from None
    if not isinstance(image, ee.Image):
        raise UserInputError(f"dataset {definition.name!r} must return an ee.Image, got {type(image).__name__}")
    return json.dumps(ee.serializer.encode(image, for_cloud_api=True), separators=(",", ":"))
