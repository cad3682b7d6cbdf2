"""Tools on finished outputs, not pipeline stages: ``geet mosaic``, ``mosaic.fromvals`` and ``cleanup``.
They run directly (no Hydra composition); no stage imports them, and they import no stage."""
