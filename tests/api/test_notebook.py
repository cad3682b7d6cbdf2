"""``examples/quickstart.ipynb`` executed by nbclient in a real ipykernel (the offline demo source, data in
the test's folder), its outputs checked; then, in the same kernel, a second run: it resumes, prints each
line once, and leaves no Ray behind (no head process, Ray not initialised) after either run."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from tests.api.kernel import CHILDREN, EXAMPLE, has_output, html_of, kernel_env, outputs_text

pytestmark = pytest.mark.slow  # a kernel, Ray

SECOND_RUN = """
import ray, yaml
record = yaml.safe_load((result.chip_folders["demo-imagery"] / "manifest.geetiles.yaml").read_text())
assert record["command"] == experiment.command and record["config"]["data_dir"] == "outputs/data", record
assert not ray.is_initialized() and _children() == [], _children()  # the first run's Ray is gone
again = geetiles.run(experiment)
assert {s["skipped"] for s in again.summaries["download"].details.values()} == {16}, again.summaries
assert not ray.is_initialized() and _children() == [], _children()
assert _forks == [], _forks  # Ray started twice from a kernel full of threads, never by forking it
"""


@pytest.mark.long
def test_the_quickstart_notebook_runs_and_a_second_run_in_its_kernel_resumes(tmp_path):
    notebook = nbformat.read(EXAMPLE, as_version=4)
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}})
    notebook.cells.insert(0, nbformat.v4.new_code_cell(CHILDREN))  # the test's own, before the notebook's
    notebook.cells.append(nbformat.v4.new_code_cell(SECOND_RUN))
    with client.setup_kernel(env=kernel_env(), cwd=str(tmp_path)):
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    _, composed, refused, ran, summaries, tiles_map, chips, second = code

    assert "python -m geetiles experiment=demo aoi=bbox" in outputs_text(composed, "stdout")
    assert f"data_dir: {tmp_path}/outputs/data" in outputs_text(composed, "stdout")
    assert outputs_text(refused, "stdout").startswith("refused: tiling.chip_size_m=-5.0 must be a positive number")

    page = html_of(ran)
    assert page.count('src="data:image/png;base64,') == 2 and "report: 16 chips" in page and "http" not in page
    assert has_output(ran, "application/vnd.jupyter.widget-view+json")  # tqdm.auto's notebook bar
    log = outputs_text(ran, "stderr")
    assert log.count("demo-imagery: 16 done") == 1 and "Traceback" not in log

    lines = outputs_text(summaries, "stdout").splitlines()
    assert [line.split()[0] for line in lines] == [
        "aoi", "tiling", "foreign", "intersect", "download", "proportions", "split", "export", "report"
    ]  # fmt: skip
    assert "<td>train</td>" in html_of(summaries)
    assert has_output(tiles_map, "image/png") and has_output(chips, "image/png")
    assert "training chips; classes:" in outputs_text(chips, "stdout")
    assert "first chip's class proportions:" in outputs_text(chips, "stdout")

    assert outputs_text(second, "stderr").count("demo-imagery: 0 done, 16 skipped") == 1  # once: no second handler
    assert (tmp_path / "outputs" / "data" / "quickstart.wkt").is_file()
