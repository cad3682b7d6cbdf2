"""``python -m geetiles``: see geetiles.cli.app."""

from geetiles.cli.app import main

if __name__ == "__main__":
    main()
