"""geetiles: turn an area of interest into a machine-learning dataset from Google Earth Engine.

From Python: ``geetiles.compose([...])`` → an Experiment, ``geetiles.run(...)`` → a Result (see
:mod:`geetiles.api`). They are imported on first use, so the command line starts as fast as before."""

from geetiles.errors import RunFailed, UserInputError

__version__ = "0.2.0.dev0"

_API = {"compose", "run", "Result", "StageSummary", "Experiment"}

__all__ = ["Experiment", "Result", "RunFailed", "StageSummary", "UserInputError", "compose", "run"]


def __getattr__(name: str):
    if name == "Experiment":
        from geetiles.experiment import Experiment

        return Experiment
    if name in _API:
        import geetiles.api

        return getattr(geetiles.api, name)
    raise AttributeError(f"module 'geetiles' has no attribute {name!r}")
