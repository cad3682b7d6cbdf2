"""The packaged dataset catalog: every recipe in geetiles/conf/{source,labels}/*.yaml, found by its
dataset name or an alias, with the year and orbit taken from the name (``s2rgb-{year}`` matches
``s2rgb-2021``, ``s1grdm-{year}-{orbit}`` matches ``s1grdm-2020-asc``). This is how
``geet download --dataset_def NAME`` and ``source.dataset=NAME`` reach the same recipes as
``source=GROUP``."""

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


_PLACEHOLDERS = {"{year}": r"(?P<year>\d{4})", "{orbit}": r"(?P<orbit>asc|des)"}


def find_recipe(name: str):
    """The typed RecipeConfig whose dataset name (or an alias) is ``name``, with the year and orbit
    taken from the name where the recipe's name has ``{year}`` or ``{orbit}``; None if there is none."""
    import dataclasses

    from geetiles.config import OrbitPass

    for recipe in _recipes():
        for template in (recipe.name, *recipe.aliases):
            match = re.match(_pattern(template), name)
            if match:
                found = match.groupdict()
                year = int(found["year"]) if "year" in found else recipe.year
                orbit = OrbitPass(found["orbit"]) if "orbit" in found else recipe.orbit
                return dataclasses.replace(recipe, year=year, orbit=orbit)
    return None


def _pattern(template: str) -> str:
    pattern = re.escape(template)
    for placeholder, group in _PLACEHOLDERS.items():
        pattern = pattern.replace(re.escape(placeholder), group, 1)
    return f"^{pattern}$"


def names() -> list[str]:
    return sorted({recipe.name for recipe in _recipes()})
