"""A real Jupyter kernel (ipykernel, started by jupyter_client) for the notebook tests: this interpreter,
this checkout, Ray's test settings, loopback exempted from proxies; its working folder a test's own."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import RAY_ENV

# the kernel's child processes that are alive (not zombies): a Ray head left running would be one; and every
# fork() of the kernel (which has threads: forking it is unsafe) from now on (a vfork + exec spawn runs no handler)
CHILDREN = """
import os as _os, threading as _threading
_forks = []
_os.register_at_fork(before=lambda: _forks.append(_threading.active_count()))
def _children():
    alive = []
    for pid in filter(str.isdigit, _os.listdir("/proc")):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == _os.getpid() and fields[0] != "Z":
            alive.append(open(f"/proc/{pid}/cmdline").read().replace("\\0", " ")[:120])
    return alive
"""


def kernel_env() -> dict[str, str]:
    env = {**os.environ, **RAY_ENV}
    env.pop("HYDRA_FULL_ERROR", None)
    for var in ("NO_PROXY", "no_proxy"):
        env[var] = ",".join(filter(None, [env.get(var, ""), "127.0.0.1", "localhost"]))
    return env


def outputs_text(cell, name: str) -> str:
    """Everything a cell wrote on one stream (``stdout`` or ``stderr``)."""
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == name)


def has_output(cell, mime: str) -> bool:
    return any(mime in o.get("data", {}) for o in cell.outputs if o.output_type in ("display_data", "execute_result"))


def html_of(cell) -> str:
    return "".join(o["data"].get("text/html", "") for o in cell.outputs if o.output_type == "execute_result")


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def execute(client, code: str, timeout: float = 60.0) -> tuple[dict, str]:
    """Run ``code`` in the kernel; (its execute reply's content, what it printed), once the kernel is idle."""
    msg_id = client.execute(code)
    return wait_idle(client, msg_id, timeout)


def wait_idle(client, msg_id: str, timeout: float, seen: list[str] | None = None) -> tuple[dict, str]:
    """Collect the request's output until the kernel reports idle for it; then its execute reply."""
    printed = seen if seen is not None else []
    deadline = time.monotonic() + timeout
    while True:
        message = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "error":
            printed.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            break
    while True:  # wait_for_ready may have asked for kernel_info more than once: skip those replies
        reply = client.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"], "".join(printed)


def interrupted_download(tiles: Path, url: str, credentials: Path, *extra: str) -> list[str]:
    """The overrides of the download a kernel interrupt stops (the test's and ``bench/api.py``'s): one
    dataset of 50 x 50-pixel chips from the fake Earth Engine at ``url``, 4 requests in flight."""
    return [
        "stages=[download]",
        f"download.tiles_file={tiles}",
        "source=sentinel2",
        "source.pixels_lonlat=[50,50]",
        "labels=none",
        f"ee.url={url}",
        f"ee.credentials={credentials}",
        "download.max_in_flight=4",
        *extra,
    ]
