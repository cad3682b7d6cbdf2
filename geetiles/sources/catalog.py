"""The packaged dataset catalog: every recipe in geetiles/conf/{source,labels}/*.yaml, found by its
dataset name, with the year taken from the name when the recipe's name has ``{year}``
(``s2rgb-{year}`` matches ``s2rgb-2021``). This is how ``geet download --dataset_def NAME`` and
``source.dataset=NAME`` reach the same recipes as ``source=GROUP``."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

from omegaconf import OmegaConf

from geetiles.config import RecipeConfig


@lru_cache(maxsize=1)
def _recipes() -> list:
    found = []
    for group in ("source", "labels"):
        for entry in files("geetiles.conf").joinpath(group).iterdir():
            if entry.name.endswith(".yaml"):
                node = OmegaConf.create(entry.read_text())
                if node and node.get("recipe"):
                    recipe = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RecipeConfig), node.recipe))
                    found.append(recipe)
    return found


def find_recipe(name: str):
    """The typed RecipeConfig whose dataset name is ``name`` (year filled in), or None."""
    import dataclasses

    for recipe in _recipes():
        pattern = "^" + re.escape(recipe.name).replace(re.escape("{year}"), r"(?P<year>\d{4})") + "$"
        match = re.match(pattern, name)
        if match:
            year = int(match.group("year")) if "year" in match.groupdict() else recipe.year
            return dataclasses.replace(recipe, year=year)
    return None


def names() -> list[str]:
    return sorted({recipe.name for recipe in _recipes()})
