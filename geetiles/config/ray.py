"""The ``ray`` keys: a local Ray, or the cluster to join."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass
class RayConfig:
    address: str = ""  # "" starts a local Ray; "auto" or "ray://host:port" joins a cluster
    num_cpus: Optional[int] = None  # local Ray only; default all cores
    start_timeout_s: float = 60.0  # a local Ray not up, or a cluster not answering, by then ends the run
