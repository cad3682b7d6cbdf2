"""Composition benchmark: what one composition of the experiment costs, with the schema registered
once per process (``geetiles.config.register``) and, as before, at every composition.

    python bench/compose.py            # 30 compositions per case, each case in a fresh process
    python bench/compose.py -n 100

Each case runs in its own child process: one untimed composition (imports, the schema registered),
then ``-n`` timed compositions of ``experiment=demo data_dir=outputs/data`` (a choice and a value),
measured in process CPU time (what the tests' hundreds of compositions and a command line's two cost,
whatever else the machine runs). Cases: ``registered each time``: the schema's dataclasses turned into
a config and stored before every composition (what ``geetiles.compose`` and the command line did);
``Hydra, registered once``: Hydra's composition as ``geetiles.compose`` made it before its memo;
``memo``: ``geetiles.cli.compose.compose`` as it is (what every composition of a process that ran
``geet``, ``python -m geetiles`` or ``geetiles.compose`` once pays), which copies the composition it
made once for the same choices and sets the values (``composition_memo``). The composed configs are
compared. Last, what the memo pays to hand out a kept tree: ``copy.deepcopy`` of the composed tree
against ``pickle.loads`` of its pickle (what it keeps), for the tree the memo keeps (``hydra`` node
included), the two copies compared. Then compositions of config-file choices the memo has not kept
(``tiling=grid``, ``split=random``, ...: 16 of them, each once, after one untimed composition), with the
config files' reads kept across them and, in another fresh process, read afresh each time
(``KEPT_READS = 0``), the trees compared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
case, runs = sys.argv[1], int(sys.argv[2])
from hydra.core.config_store import ConfigStore
from geetiles.config import ExperimentConfig, register
from geetiles.cli.compose import compose as ours
OVERRIDES = ["experiment=demo", "data_dir=outputs/data"]
def one():
    if case == "memo":
        return ours(OVERRIDES)
    if case == "Hydra, registered once":  # no memo: this process never calls ours
        register()  # once: later calls find the schema stored
        GlobalHydra.instance().clear()
        with initialize_config_module(config_module="geetiles.conf", version_base="1.3"):
            return compose(config_name="config", overrides=OVERRIDES)
    ConfigStore.instance().store(name="experiment_schema", node=ExperimentConfig)
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="geetiles.conf", version_base="1.3"):
        return compose(config_name="config", overrides=OVERRIDES)
first = OmegaConf.to_yaml(one())
times = []
for _ in range(runs):
    start = time.process_time()
    config = one()
    times.append(time.process_time() - start)
print(json.dumps({"times": times, "same": OmegaConf.to_yaml(config) == first, "yaml": first}))
"""

COPY = r"""
import copy, json, pickle, sys, time
from omegaconf import OmegaConf
from geetiles.cli import composition_memo
from geetiles.cli.compose import compose
runs = int(sys.argv[1])
compose(["experiment=demo", "data_dir=outputs/data"])
[kept] = [tree for tree in composition_memo._TREES.values() if tree is not None]  # hydra node included
tree = pickle.loads(kept)
def timed(make):
    times = []
    for _ in range(runs):
        start = time.process_time()
        made = make()
        times.append(time.process_time() - start)
    return times, OmegaConf.to_yaml(made) == OmegaConf.to_yaml(tree)
print(json.dumps({"deepcopy": timed(lambda: copy.deepcopy(tree)), "pickle": timed(lambda: pickle.loads(kept))}))
"""

NEW_CHOICES = r"""
import json, sys, time
from omegaconf import OmegaConf
from geetiles.cli import composition_memo
from geetiles.cli.compose import compose
if sys.argv[1] == "afresh":
    composition_memo.KEPT_READS = 0
compose(["experiment=demo"])
sets = [["tiling=utm"], ["tiling=grid"], ["tiling=random"], ["tiling=majortom"], ["aoi=bbox"], ["aoi=wkt"],
        ["split=random"], ["split=bands"], ["source=s1grdm"], ["labels=none"], ["foreign=file"], ["foreign=none"],
        ["aoi=bbox", "tiling=utm"], ["source=demo", "labels=none"], ["experiment=demo", "tiling=utm"],
        ["experiment=lux-utm"]]
times, trees = [], []
for chosen in sets:
    start = time.process_time()
    config = compose(chosen)
    times.append(time.process_time() - start)
    trees.append(OmegaConf.to_yaml(config))
print(json.dumps({"times": times, "trees": trees}))
"""

CASES = ("registered each time", "Hydra, registered once", "memo")
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=30, help="timed compositions per case")
    runs = parser.parse_args().n
    results = {}
    for case in CASES:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, case, str(runs)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        results[case] = json.loads(out.stdout.strip().splitlines()[-1])
    base = statistics.median(results[CASES[0]]["times"])
    for case in CASES:
        median = statistics.median(results[case]["times"])
        print(f"{case:22s} median {median * 1000:6.1f} ms CPU per composition ({base / median:.2f}x faster)")
    same = all(r["yaml"] == results[CASES[0]]["yaml"] and r["same"] for r in results.values())
    print("composed configs identical across cases and runs:", same)
    out = subprocess.run([sys.executable, "-c", COPY, str(runs)], cwd=ROOT, capture_output=True, text=True, check=True)
    copies = json.loads(out.stdout.strip().splitlines()[-1])
    deep, pickled = (statistics.median(copies[way][0]) * 1000 for way in ("deepcopy", "pickle"))
    print(f"a kept tree handed out: copy.deepcopy {deep:.1f} ms, pickle.loads {pickled:.1f} ms ({deep / pickled:.1f}x)")
    same = same and copies["deepcopy"][1] and copies["pickle"][1]
    new = {}
    for way in ("kept", "afresh"):
        out = subprocess.run(
            [sys.executable, "-c", NEW_CHOICES, way], cwd=ROOT, capture_output=True, text=True, check=True
        )
        new[way] = json.loads(out.stdout.strip().splitlines()[-1])
    kept, afresh = (statistics.median(new[way]["times"]) * 1000 for way in ("kept", "afresh"))
    print(
        f"choices not composed before ({len(new['kept']['times'])}): config files read afresh {afresh:.1f} ms, "
        f"their reads kept {kept:.1f} ms ({afresh / kept:.2f}x)"
    )
    same = same and new["kept"]["trees"] == new["afresh"]["trees"]
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
