"""JSON-object columns (each chip's proportions) written to and read from the tiles file's twin:
``geetiles.tiles.twin.json_texts`` / ``text_objects`` (orjson, ``json`` where orjson would differ)
against the standard library's ``json`` on the same values.

    python bench/json_columns.py                 # 1,000,000 chips
    python bench/json_columns.py --chips 100000

The values: per chip, a random share of 1 to 11 of ESA WorldCover's classes (string keys, float shares
summing to 1), as the proportions stage writes them. Seconds are the best of --repeat runs, this process.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from geetiles.tiles.twin import json_texts, text_objects

KEYS = ["10", "20", "30", "40", "50", "60", "70", "80", "90", "95", "100"]


def proportions(chips: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, len(KEYS) + 1, size=chips)
    out = []
    for count in counts.tolist():
        shares = rng.dirichlet(np.ones(count)).tolist()
        out.append(dict(zip(KEYS[:count], shares)))
    return out


def best(function, values, repeat: int) -> tuple[float, list]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(values)
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chips", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    values = proportions(args.chips)

    write_json, texts_json = best(lambda vs: [json.dumps(v) for v in vs], values, args.repeat)
    write_ours, texts_ours = best(json_texts, values, args.repeat)
    read_json, back_json = best(lambda ts: [json.loads(t) for t in ts], texts_json, args.repeat)
    read_ours, back_ours = best(text_objects, texts_ours, args.repeat)
    assert back_ours == values and back_json == values  # the same dicts back, whichever wrote them
    print(f"{args.chips:,} chips' proportions, best of {args.repeat}")
    print(f"write  json {write_json:6.2f} s   json_texts   {write_ours:6.2f} s   {write_json / write_ours:4.1f}x")
    print(f"read   json {read_json:6.2f} s   text_objects {read_ours:6.2f} s   {read_json / read_ours:4.1f}x")


if __name__ == "__main__":
    main()
