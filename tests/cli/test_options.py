"""The option types every ``geet`` command shares: what they accept, what they return, and the one-line
reason they give for what they refuse (argparse prints it as ``argument --x: <reason>``)."""

from __future__ import annotations

import argparse

import pytest

from geetiles.cli.options import finite_number, metres, positive_number, seed_number

ACCEPTED = [
    (positive_number, "1000", 1000),
    (positive_number, "1000.0", 1000),
    (positive_number, "0.5", 0.5),
    (positive_number, " 7 ", 7),
    (seed_number, "0", 0),
    (seed_number, "-0", 0),
    (seed_number, "42", 42),
    (metres, "10", 10.0),
    (metres, "0.25", 0.25),
    (finite_number, "-0.6", -0.6),
    (finite_number, "0", 0.0),
]
REFUSED = [
    (positive_number, "0", "must be a positive number"),
    (positive_number, "-0", "must be a positive number"),
    (positive_number, "-1", "must be a positive number"),
    (positive_number, "nan", "is NaN (not a number)"),
    (positive_number, "inf", "is infinite"),
    (positive_number, "1e400", "is infinite"),
    (positive_number, "abc", "is not a number"),
    (positive_number, "", "is not a number"),
    (positive_number, "0x10", "is not a number"),
    (seed_number, "-1", "must be a non-negative integer"),
    (seed_number, "1.5", "is not an integer"),
    (seed_number, "nan", "is not an integer"),
    (seed_number, "../7", "is not an integer"),
    (metres, "0", "must be a positive number of metres"),
    (metres, "nan", "must be a positive number of metres"),
    (metres, "-inf", "must be a positive number of metres"),
    (metres, "ten", "is not a number"),
    (finite_number, "nan", "is NaN (not a number); give a finite number"),
    (finite_number, "-inf", "is infinite"),
]


@pytest.mark.parametrize("option, text, value", ACCEPTED, ids=[f"{o.__name__}({t!r})" for o, t, _ in ACCEPTED])
def test_accepted_values_keep_their_type(option, text, value):
    parsed = option(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("option, text, reason", REFUSED, ids=[f"{o.__name__}({t!r})" for o, t, _ in REFUSED])
def test_refused_values_name_the_text_and_the_reason(option, text, reason):
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        option(text)
    message = str(refused.value)
    assert message.startswith(repr(text)) and reason in message and "\n" not in message
