"""Reaching Ray: a quiet local instance (shut down at the end), an existing cluster (``auto``,
``ray://host:port``), or the Ray this process already joined (tests, notebooks), left as it was.

``ray.init`` must run in the main thread (started from another thread, its shutdown stalls), so
the engine does its own preparation in a helper thread while this blocks.
"""

from __future__ import annotations

import logging
import os

from geetiles.errors import UserInputError

# No network but the configured endpoint: Ray's usage reporting and metrics stay off unless asked for.
QUIET_DEFAULTS = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_enable_metrics_collection": "0"}


class RayCluster:
    def __init__(self, address: str, num_cpus: int | None) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self._owned = False

    def will_start_local(self) -> bool:
        """True when connect() is going to start a new local Ray (seconds), not join one."""
        import ray

        return not ray.is_initialized() and not self.address

    def connect(self):
        """Start or join Ray (unless this process already has it); return the ``ray`` module."""
        import ray

        if ray.is_initialized():
            return ray
        for key, value in QUIET_DEFAULTS.items():
            os.environ.setdefault(key, value)
        logging.getLogger("ray").setLevel(logging.ERROR)
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, log_to_driver=False,
                         configure_logging=False, _node_ip_address="127.0.0.1", object_store_memory=256 * 2**20)
        except (ConnectionError, RuntimeError) as error:
            raise UserInputError(f"cannot start or reach Ray (ray.address={self.address!r}): "
                                 f"{' '.join(str(error).split())[:200]}; leave ray.address empty for a local Ray") from None
        self._owned = True
        return ray

    def cpus(self) -> int:
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def shutdown(self) -> None:
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False
