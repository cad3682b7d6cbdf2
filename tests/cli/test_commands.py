"""``geet`` is assembled from one module per command: each defines its own sub-parser and handler, and
no command imports ``geet`` or another command (no import circle)."""

from __future__ import annotations

import argparse
import ast
import importlib
from pathlib import Path

import pytest

from geetiles.cli import geet

COMMANDS = [
    "grid",
    "random",
    "select",
    "intersect",
    "split",
    "lp.compute",
    "lp.from_foreign",
    "zip.dataset",
    "download",
    "aois",
    "mosaic",
    "mosaic.fromvals",
    "cleanup",
    "verify",
]  # geetiles 0.1.7's and the tools, as listed
PACKAGE = Path(importlib.import_module("geetiles.cli.commands").__file__).parent


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    [action] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_help_lists_every_command_in_order():
    assert list(subcommands(geet.build_parser())) == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_is_its_own_module_with_its_handler(command):
    module = importlib.import_module(f"geetiles.cli.commands.{command.replace('.', '_')}")
    parser = subcommands(geet.build_parser())[command]
    assert parser.get_default("handler") is module.run
    assert parser.prog == f"geet {command}"
    # the module alone registers exactly this command
    alone = argparse.ArgumentParser().add_subparsers()
    module.add_parser(alone)
    assert list(alone.choices) == [command]


def test_no_command_imports_geet_or_another_command():
    modules = sorted(p for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(modules) == len(COMMANDS)
    for path in modules:
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        forbidden = {m for m in imported if m == "geetiles.cli.geet" or m.startswith("geetiles.cli.commands")}
        assert not forbidden, f"{path.name} imports {forbidden}"
