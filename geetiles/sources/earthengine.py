"""Earth Engine as a source: one ``computePixels`` REST request per chip (see sources/ee_rest.py)."""

from __future__ import annotations

import asyncio

from geetiles.errors import RunFailed, UserInputError
from geetiles.fetching.grid import PixelGrid, Pixels
from geetiles.fetching.outcome import AuthenticationError, DeterministicError, RetriesExhausted, Tally
from geetiles.fetching.pacing import RetryPolicy
from geetiles.sources.ee_rest import Endpoint, Fetcher


class EarthEngineSource:
    """Connects once per run (credentials, project, client) and serialises the image once."""

    def __init__(self, config, source_config) -> None:
        from geetiles.sources.ee_datasets import load_definition, recipe_definition
        from geetiles.sources.ee_recipe import chosen_recipe

        self.config, self.source_config = config, source_config
        recipe = chosen_recipe(source_config)
        if recipe is not None:
            self.definition = recipe_definition(recipe, source_config.name)
        else:
            self.definition = load_definition(source_config.dataset, source_config.name)
        self.recipe = self.definition.recipe
        self.name = self.definition.name
        self.source_file = self.definition.source_file
        self.session = None
        self.endpoint: Endpoint | None = None

    def connect(self) -> None:
        from geetiles.sources.ee_datasets import serialized_expression
        from geetiles.sources.ee_session import initialize

        ee, download = self.config.ee, self.config.download
        self.session = initialize(ee.url, ee.project, ee.credentials, ee.init_timeout_s)
        self.endpoint = Endpoint(
            url=self.session.url,
            project=self.session.project,
            expression_json=serialized_expression(self.definition),
            max_in_flight=download.max_in_flight,
            max_requests_per_s=download.max_requests_per_s,
            policy=RetryPolicy(download.max_attempts, download.backoff_initial_s, download.backoff_max_s),
            request_timeout_s=download.request_timeout_s,
            max_request_bytes=download.max_request_bytes,
            max_side=download.max_pixels_per_side,
            headers=self.session.auth_headers(),
        )

    def spec(self) -> Endpoint:
        return self.endpoint

    def probe(self, grid: PixelGrid) -> Pixels:
        async def probe():
            fetcher = Fetcher(self.endpoint)
            try:
                return await fetcher.fetch(grid.window(0, 0, 1, 1), Tally())
            finally:
                await fetcher.close()

        timeout = self.config.download.stall_timeout_s  # an endpoint refusing connections is waited out: bounded here
        try:
            pixels = asyncio.run(asyncio.wait_for(probe(), timeout))
        except TimeoutError:
            raise RunFailed(
                f"Earth Engine at {self.endpoint.url} did not answer the first request within "
                f"download.stall_timeout_s={timeout:g} s (unreachable or not answering); nothing was "
                "downloaded, rerun later"
            ) from None
        except AuthenticationError as error:
            raise UserInputError(
                f"Earth Engine refused the credentials ({error}); run `earthengine authenticate` "
                "or set ee.credentials to a valid key file"
            ) from None
        except DeterministicError as error:
            raise UserInputError(f"Earth Engine refuses dataset {self.source_config.dataset!r}: {error}") from None
        except RetriesExhausted as error:
            raise RunFailed(f"Earth Engine is not answering ({error}); nothing was downloaded, rerun later") from None
        self.endpoint.band_itemsizes = [pixels.array.dtype.itemsize] * len(pixels.band_names)
        return pixels

    def describe(self) -> dict:
        """What decides the pixels, beyond the pixel grid: the serialised image (a recipe's or a
        user's file's) and the definition file's bytes."""
        import hashlib

        file = self.source_file
        return {
            "expression_sha256": hashlib.sha256(self.endpoint.expression_json.encode()).hexdigest(),
            "definition_sha256": hashlib.sha256(file.read_bytes()).hexdigest() if file is not None else None,
        }

    def auth_headers(self) -> dict[str, str]:
        return self.session.auth_headers()

    def force_refresh(self) -> None:
        self.session.force_refresh()

    def classes(self) -> list[dict]:
        from geetiles.sources.base import class_table

        if self.recipe is None:
            return []
        return class_table(self.recipe.classes, self.recipe.remap, self.recipe.range_map, self.recipe.proportion_keys)
