"""The Python API: :func:`compose` an Experiment as the command line does, :func:`run` it, and read its
:class:`Result`. Also exported from :mod:`geetiles` itself (``geetiles.compose``, ``geetiles.run``)."""

from geetiles.api.compose import compose
from geetiles.api.result import Result, StageSummary
from geetiles.api.run import run
from geetiles.errors import RunFailed, UserInputError

__all__ = ["Result", "RunFailed", "StageSummary", "UserInputError", "compose", "run"]
