"""What ``geet verify`` found: one :class:`Problem` per thing wrong (naming the chip or file and what is
wrong, on one line) and the :class:`Report` that counts them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from geetiles.names import is_safe_name

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
LONGEST = 200  # characters of a quoted name or path in a line


def quoted(value: object) -> str:
    """``repr`` on one line (a newline or a terminal escape is shown, never sent), cut to LONGEST."""
    text = repr(value)
    return text if len(text) <= LONGEST else f"{text[: LONGEST - 4]}...{text[0]}"


def name(value: object) -> str:
    """A name from the dataset's files as it may be printed on one line: as written when it follows the
    naming rule, else quoted."""
    return value if isinstance(value, str) and is_safe_name(value) else quoted(value)


def path_text(value: object) -> str:
    """A relative path from the dataset's files, for one line (each part as :func:`name` shows it)."""
    if isinstance(value, str) and value and all(is_safe_name(part) for part in value.split("/")):
        return value
    return quoted(value)


@dataclass(frozen=True)
class Problem:
    """One thing wrong: ``subject`` names it (``chip ID``, a file, ``MANIFEST.sha256 line N``)."""

    subject: str
    what: str

    def line(self) -> str:
        return _CONTROL.sub(" ", f"{self.subject}: {self.what}")  # names are quoted already; in depth


def chip(identifier: object, what: str) -> Problem:
    return Problem(f"chip {name(identifier)}", what)


def file(path: object, what: str) -> Problem:
    return Problem(path_text(path), what)


@dataclass
class Report:
    """The outcome of verifying one dataset: how much was checked and every problem found."""

    dataset: str
    chips: int = 0  # chips (index rows, or WebDataset samples without an index) checked
    files: int = 0  # files read and checked
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # the families of checks that ran

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def chips_per_second(self) -> float:
        return self.chips / self.seconds if self.seconds > 0 else float("inf")

    def summary(self) -> str:
        rate = self.chips_per_second
        shown_rate = "∞" if rate == float("inf") else f"{rate:,.0f}"
        verdict = "no problem" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"verify {self.dataset}: {self.chips} chips and {self.files} files checked, {verdict}, "
            f"{self.seconds:.2f} s ({shown_rate} chips/s)"
        )

    def lines(self) -> list[str]:
        """One line per problem, then the summary."""
        return [problem.line() for problem in self.problems] + [self.summary()]
