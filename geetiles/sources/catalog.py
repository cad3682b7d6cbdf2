"""The packaged dataset catalog: every recipe in geetiles/conf/{source,labels}/*.yaml, found by its
dataset name or an alias, with the year and orbit taken from the name (``s2rgb-{year}`` matches
``s2rgb-2021``, ``s1grdm-{year}-{orbit}`` matches ``s1grdm-2020-asc``). This is how
``geet download --dataset_def NAME`` and ``source.dataset=NAME`` reach the same recipes as
``source=GROUP``."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib.resources import files

from omegaconf import OmegaConf

from geetiles.config import RecipeConfig


@lru_cache(maxsize=1)
def _recipe_nodes() -> list[dict]:
    """Every packaged recipe as plain YAML: cheap to scan (typing all of them took 1.6 s at start)."""
    import yaml

    found = []
    for group in ("source", "labels"):
        for entry in sorted(files("geetiles.conf").joinpath(group).iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".yaml"):
                node = yaml.load(entry.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
                if isinstance(node, dict) and node.get("recipe"):
                    found.append(node["recipe"])
    return found


@cache
def _typed(index: int):
    """The typed RecipeConfig of one packaged recipe (validated against the schema)."""
    node = OmegaConf.create(_recipe_nodes()[index])
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RecipeConfig), node))


def _recipes() -> list:
    return [_typed(index) for index in range(len(_recipe_nodes()))]


_PLACEHOLDERS = {"{year}": r"(?P<year>\d{4})", "{orbit}": r"(?P<orbit>asc|des)"}


def find_recipe(name: str):
    """The typed RecipeConfig whose dataset name (or an alias) is ``name``, with the year and orbit
    taken from the name where the recipe's name has ``{year}`` or ``{orbit}``; None if there is none."""
    import dataclasses

    from geetiles.config import OrbitPass

    for index, node in enumerate(_recipe_nodes()):
        for template in (node.get("name") or "", *(node.get("aliases") or [])):
            match = re.match(_pattern(template), name) if template else None
            if match:
                recipe = _typed(index)
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
    return sorted({node["name"] for node in _recipe_nodes() if node.get("name")})
