"""The README is part of the product: its commands and keys must match the code."""

import re
from dataclasses import fields
from pathlib import Path

from geetiles.config import (
    AoiConfig,
    DownloadConfig,
    EeConfig,
    ExperimentConfig,
    ExportConfig,
    IntersectConfig,
    ProportionsConfig,
    RayConfig,
    ReportConfig,
    SourceConfig,
    SplitConfig,
    TilingConfig,
)

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def bash_blocks(section: str) -> list[str]:
    body = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", body, flags=re.S)


def test_quickstart_has_one_bash_block_that_installs_and_runs():
    [block] = bash_blocks("Quickstart")
    assert "pip install" in block and "python -m geetiles" in block


def test_ci_runs_the_readme_test_command():
    [block] = bash_blocks("Tests")
    ci = (ROOT / ".ci" / "run").read_text()
    for line in block.strip().splitlines():
        assert line.replace("pip install", "python -m pip install --quiet") in ci or line in ci


def test_config_reference_names_every_key():
    groups = {
        "aoi": AoiConfig,
        "tiling": TilingConfig,
        "source": SourceConfig,
        "labels": SourceConfig,
        "download": DownloadConfig,
        "ee": EeConfig,
        "ray": RayConfig,
        "intersect": IntersectConfig,
        "proportions": ProportionsConfig,
        "split": SplitConfig,
        "export": ExportConfig,
        "report": ReportConfig,
    }
    documented = set(
        re.findall(
            r"`((?:aoi|tiling|source|labels|download|ee|ray|intersect|proportions|split|export|report)\.\w+|data_dir|stages|foreign)`",
            README,
        )
    )
    schema = {f"{group}.{f.name}" for group, cls in groups.items() for f in fields(cls)}
    schema |= {f.name for f in fields(ExperimentConfig) if f.name not in groups}  # foreign: keys as tiling
    assert schema <= documented, schema - documented
    assert documented <= schema, documented - schema


def test_layout_names_every_bench_script():
    layout = README.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"\b(\w+)\.py\b", layout.split("\nbench/", 1)[1].split("\nexamples/", 1)[0]))
    scripts = {path.stem for path in (ROOT / "bench").glob("*.py")} - {"__init__"}
    assert scripts - listed == set() and listed - scripts == set()
