"""Command-line entry points: ``python -m geetiles`` (Hydra) and ``geet`` (the classic commands)."""
