"""Train/val/test splits of chips that keep neighbouring chips from leaking across splits.

Every strategy is a pure function of arrays (chip centres or polygons in a local metric CRS,
per-chip weights, target fractions and a seed) that returns one int8 code per chip: see
:mod:`geetiles.split.codes`.
"""
