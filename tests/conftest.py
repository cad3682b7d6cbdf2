"""Shared fixtures: the original's example AOI, isolated working folders, the command lines of ``geet`` and
``python -m geetiles`` (run in-process by ``tests.in_process.run_in_process``, or in a child process by
``run_cli`` where the process itself is under test), one Ray per session."""

from __future__ import annotations

import gc
import multiprocessing.process
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.in_process import Ran, run_in_process

# which tests are slow (every test on the session's Ray is), which worker runs what, when pytest's old folders go;
# where the temporary files go (a RAM disk when there is a roomy one)
pytest_plugins = ["tests.scheduling", "tests.scratch"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Once collected, the session's long-lived objects (modules, Hydra's config store, fixtures kept
    for the session) leave the garbage collector's sight, and the young generation is collected ten
    times less often: the collector's passes over objects that live for the whole session are CPU the
    tests do not need. Only the test processes: what the tests start keeps Python's defaults."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


@pytest.fixture(autouse=True)
def _a_fast_test_starts_no_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test not marked slow that starts a process (subprocess, multiprocessing, a process pool) fails
    at teardown, naming the mark it needs: the fast set stays fast."""
    if request.node.get_closest_marker("slow"):
        yield
        return
    started: list[str] = []
    original = subprocess.Popen._execute_child

    def execute_child(self, args, *rest, **kwargs):
        started.append(" ".join(map(str, args)) if isinstance(args, (list, tuple)) else str(args))
        return original(self, args, *rest, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "_execute_child", execute_child)
        patch.setattr(multiprocessing.process.BaseProcess, "start", _recording_start(started))
        yield
    if started:
        pytest.fail(f"this test starts a process ({started[0][:200]}): mark it @pytest.mark.slow", pytrace=False)


def _recording_start(started: list[str]):
    original = multiprocessing.process.BaseProcess.start

    def start(self):
        started.append(f"multiprocessing {self.name}")
        return original(self)

    return start


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def luxembourg_wkt() -> Path:
    """../shared/data/luxembourg.wkt (the original's example); tests needing it skip without it."""
    path = Path(os.environ.get("GEETILES_LUXEMBOURG_WKT", SHARED_DATA / "luxembourg.wkt"))
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh current directory, so default relative outputs land in the test's own folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_cli(
    args: list[str], cwd: Path, timeout: float = 120, env: dict | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command-line entry point the way a user does, in a child process: for the few tests of what only
    a process shows (its exit status, the console script, the fast exit, output on its file descriptors).
    Every other test runs the same command line with ``run_in_process``."""
    env = {**os.environ, **(env or {})}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def geetiles_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "geetiles", *args]


def geet_cmd(*args: str) -> list[str]:
    """``geet ARGS``: the installed console script beside this interpreter (what a user runs), else its module."""
    script = Path(sys.executable).with_name("geet")
    return [str(script), *args] if script.is_file() else [sys.executable, "-m", "geetiles.cli.geet", *args]


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
os.environ.update(RAY_ENV)


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for the whole test session: 2 CPUs, no dashboard, loopback only."""
    import ray

    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _node_ip_address="127.0.0.1",
        object_store_memory=256 * 2**20,
    )
    yield ray
    ray.shutdown()


DEMO_RUN = (
    "experiment=demo",
    "aoi=bbox",
    "aoi.bbox=[6.0,49.6,6.06,49.64]",
    "aoi.name=t",
    "source.pixels_lonlat=[24,24]",
    "labels.pixels_lonlat=[24,24]",
    "split.block_size_m=2000",
    "download.progress=none",
)


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory, ray_session) -> tuple[Path, Ran]:
    """One run of every default stage (the demo experiment over 16 chips of 24 x 24 pixels, in this process
    on the session's Ray), shared by the proportions, export and report tests: (its data folder, the run)."""
    folder = tmp_path_factory.mktemp("demo_pipeline")
    result = run_in_process(geetiles_cmd(*DEMO_RUN), folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "outputs" / "data", result
