"""Per-chip label proportions: the share of each label class inside every chip (``proportions`` stage,
``geet lp.compute``), and their mix from coarser foreign units (``geet lp.from_foreign``)."""
