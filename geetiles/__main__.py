"""``python -m geetiles``: see geetiles.cli.app."""

from geetiles.cli.app import console

if __name__ == "__main__":
    console()
