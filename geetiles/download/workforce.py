"""The download workers as a fixed set of slots, each owning a fixed share of the global caps.

A worker that dies (its process killed, its node gone) is replaced in its slot by a new actor on a
live node, with the same share, so the sum over live workers never exceeds ``download.max_in_flight``
and ``download.max_requests_per_s``; the replacement's rate limit starts with no burst in hand, so a
one-second window never holds the dead worker's burst and the new one's. Every wait is bounded: a
replacement not up within ``PLACE_TIMEOUT_S`` is given up and tried on another node, a slot that
cannot be refilled after ``REPLACE_TRIES`` attempts stays empty, and a run with no slot left ends
with one line.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from dataclasses import dataclass

from geetiles.download.limits import shares
from geetiles.download.messages import Placement
from geetiles.download.worker import DownloadWorker
from geetiles.errors import RunFailed

log = logging.getLogger("geetiles.download")

PLACE_TIMEOUT_S = 30.0  # a replacement that has not answered its configure call by then is given up
REPLACE_TRIES = 5  # consecutive failed replacements before a slot is left empty
RETRY_DELAYS_S = (0.0, 1.0, 2.0, 4.0, 8.0)  # before each replacement attempt of a slot (the first: at once)
REST_TIMEOUT_S = 5.0  # a worker asked to rest between two downloads that has not answered by then is ended
REFUSED_PROBE_S = 0.5  # a node whose raylet refuses a connection within this is dead, whatever Ray says yet


def worker_count(download, cpus: int) -> int:
    """``download.actors``, or min(4, CPUs of the cluster); never more than requests in flight."""
    return max(1, min(download.actors or min(4, cpus), download.max_in_flight))


@dataclass
class Slot:
    """One worker's place: its share of the caps, and the actor filling it (or being placed in it)."""

    index: int
    in_flight: int = 0
    rate: float = 0.0
    seed: int = 0
    actor: object = None
    node: str = ""  # the Ray node the actor was placed on
    placement: Placement | None = None  # its process, once configured
    live: bool = False  # configured and taking chips
    configuring: object = None  # the configure call of a placement in progress
    asked_at: float = 0.0  # time.monotonic() of that placement
    generation: int = 0  # replacements so far
    failures: int = 0  # consecutive failed replacements
    retry_at: float | None = None  # when to place a replacement (None: not needed)
    lost_node: str = ""  # where its last worker died: avoided by the replacement while another node lives
    abandoned: bool = False  # REPLACE_TRIES replacements failed in a row: left empty for the rest of the run


class Workforce:
    def __init__(self, ray, count: int, resting: list | None = None) -> None:
        """Create ``count`` actors at once, round-robin over the live nodes (their processes start
        while the driver prepares), to be configured once the run's endpoint is known. ``resting``:
        (node, actor) pairs left by an earlier download on this Ray (``stop``), used first on their node."""
        self.ray = ray
        self.actor_class = ray.remote(DownloadWorker)
        self._configure_args: tuple = ()
        self.download = uuid.uuid4().hex  # this download's token: a worker kept for the next one ignores its calls
        nodes = sorted(node["NodeID"] for node in self._live_nodes())
        self.slots = [Slot(index) for index in range(count)]
        kept = 0
        for slot in self.slots:
            # hard affinity: soft affinity fell back to the head node while a new node was still starting its workers
            slot.node = nodes[slot.index % len(nodes)]
            slot.actor = _take_resting(resting, slot.node)
            kept += slot.actor is not None
            slot.actor = slot.actor or self._create(slot.node)
        for _, actor in resting or ():  # not needed (fewer workers now, or a node gone): never left idle
            self._kill(actor)
        if resting:
            resting.clear()
        log.info(
            "%d download workers on %d Ray node(s)%s",
            count,
            len(nodes),
            f" ({kept} kept from the previous download)" if kept else "",
        )

    def configure(
        self,
        spec,
        nodata,
        write_files: bool,
        seed: int,
        request: str,
        max_in_flight: int,
        max_requests_per_s: float,
        timeout_s: float,
        colormap=None,
    ) -> list[int]:
        """Give every slot its share of the caps and configure its worker (waiting at most
        ``timeout_s``); return the slots whose worker died meanwhile (to be replaced)."""
        self._configure_args = (spec, nodata, write_files, request, colormap)
        refs = []
        for slot, in_flight, rate in zip(
            self.slots, shares(max_in_flight, len(self.slots), True), shares(max_requests_per_s, len(self.slots), False)
        ):
            slot.in_flight, slot.rate, slot.seed = in_flight, rate, seed + slot.index
            refs.append(
                slot.actor.configure.remote(
                    spec.share(in_flight, rate),
                    nodata,
                    write_files,
                    slot.seed,
                    request,
                    download=self.download,
                    colormap=colormap,
                )
            )
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
        if len(ready) < len(refs):
            raise RunFailed(
                f"waited {timeout_s:g} s (ray.start_timeout_s) for the download workers to start; "
                "finished chips are kept, rerun the same command to resume"
            )
        dead = []
        for slot, ref in zip(self.slots, refs):
            try:
                slot.placement, slot.live = self.ray.get(ref), True
            except self.ray.exceptions.RayError as error:
                self.lose(slot, error)
                dead.append(slot.index)
        return dead

    @property
    def live(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.live]

    def lose(self, slot: Slot, error: BaseException) -> None:
        """``slot``'s worker died (or stopped answering): end it for good and ask for a replacement."""
        slot.live, slot.configuring = False, None
        slot.lost_node = slot.node
        slot.retry_at = time.monotonic() + RETRY_DELAYS_S[min(slot.failures, len(RETRY_DELAYS_S) - 1)]
        self._kill(slot.actor)
        slot.actor = None

    def due(self, now: float) -> list[Slot]:
        """Slots whose replacement should be placed now."""
        return [
            s
            for s in self.slots
            if not s.live and not s.abandoned and s.configuring is None and s.retry_at is not None and s.retry_at <= now
        ]

    def replace(self, slot: Slot, now: float):
        """Place a new worker for ``slot`` on a live node, with the slot's share and no burst; return
        its configure call (to wait on), or None when no node is left to place it on."""
        node = self._choose_node(avoid=slot.lost_node)
        if node is None:
            return None
        spec, nodata, write_files, request, colormap = self._configure_args
        slot.generation += 1
        slot.node, slot.actor, slot.asked_at, slot.retry_at = node, self._create(node), now, None
        slot.configuring = slot.actor.configure.remote(
            spec.share(slot.in_flight, slot.rate),
            nodata,
            write_files,
            slot.seed + 1000 * slot.generation,
            request,
            False,
            self.download,
            colormap,
        )
        return slot.configuring

    def placed(self, slot: Slot, placement: Placement) -> None:
        slot.placement, slot.live, slot.configuring, slot.failures = placement, True, None, 0

    def placement_failed(self, slot: Slot, error: BaseException | str) -> None:
        """The replacement died or did not come up in time: try again later, maybe elsewhere."""
        slot.failures += 1
        slot.abandoned = slot.failures >= REPLACE_TRIES
        self.lose(slot, error if isinstance(error, BaseException) else RuntimeError(error))
        if slot.abandoned:
            slot.retry_at = None
            log.warning(
                "download worker %d: %d replacements failed in a row (last: %s); its share of the caps stays unused",
                slot.index + 1,
                slot.failures,
                _describe(error),
            )

    def late(self, now: float) -> list[Slot]:
        """Replacements asked more than PLACE_TIMEOUT_S ago that have not answered."""
        return [s for s in self.slots if s.configuring is not None and now - s.asked_at > PLACE_TIMEOUT_S]

    def stop(self, rest_in: list | None = None) -> None:
        """End every worker (a Ray this run did not start, in tests or notebooks, keeps running). With
        ``rest_in`` (a run that ended cleanly, on a Ray that serves another download next), the live
        workers are asked to rest, and those that answer within REST_TIMEOUT_S go there instead."""
        if rest_in is not None:
            resting = [s for s in self.slots if s.live and s.actor is not None and s.configuring is None]
            answers = [slot.actor.rest.remote() for slot in resting]
            ready, _ = self.ray.wait(answers, num_returns=len(answers), timeout=REST_TIMEOUT_S) if answers else ([], [])
            for slot, answer in zip(resting, answers):
                if answer in ready and self._rested(answer):
                    rest_in.append((slot.node, slot.actor))
                    slot.actor, slot.live = None, False
        for slot in self.slots:
            self._kill(slot.actor)
            slot.actor, slot.live = None, False

    def _create(self, node: str):
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return self.actor_class.options(
            num_cpus=0,
            max_concurrency=1000,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node, soft=False),
        ).remote()

    def _rested(self, answer) -> bool:
        try:
            return self.ray.get(answer) is True
        except self.ray.exceptions.RayError:  # it died meanwhile
            return False

    def _kill(self, actor) -> None:
        if actor is not None:
            try:
                self.ray.kill(actor, no_restart=True)
            except Exception:  # already gone, or Ray itself is going: nothing more to end
                pass

    def _live_nodes(self) -> list[dict]:
        return [node for node in self.ray.nodes() if node.get("Alive")]

    def _choose_node(self, avoid: str) -> str | None:
        """The live node with the fewest workers, avoiding the one a worker just died on while
        another node lives (Ray takes seconds to notice a node is gone; its raylet refusing
        connections says so at once)."""
        load: dict[str, int] = {}
        for slot in self.slots:
            if slot.live or slot.configuring is not None:
                load[slot.node] = load.get(slot.node, 0) + 1
        ranked = sorted(
            self._live_nodes(), key=lambda node: (node["NodeID"] == avoid, load.get(node["NodeID"], 0), node["NodeID"])
        )
        for node in ranked:  # probed in order of preference: on a big cluster, only the first few are asked
            if not _refuses(node):
                return node["NodeID"]
        return None


def _take_resting(resting: list | None, node: str):
    """A resting worker on ``node`` (removed from ``resting``), or None."""
    for index, (where, actor) in enumerate(resting or ()):
        if where == node:
            del resting[index]
            return actor
    return None


def no_node_left(error: str) -> RunFailed:
    return RunFailed(
        f"a download worker died ({error}) and no Ray node is left to run a replacement on; "
        "finished chips are kept, rerun the same command to resume"
    )


def _refuses(node: dict) -> bool:
    """True when the node's raylet refuses connections (it is dead); False when it accepts, or when
    it cannot be told from here (a firewall, a timeout): Ray's own view decides then."""
    address, port = node.get("NodeManagerAddress"), node.get("NodeManagerPort")
    if not address or not port:
        return False
    try:
        with socket.create_connection((address, int(port)), timeout=REFUSED_PROBE_S):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def _describe(error: BaseException | str) -> str:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return " ".join(str(text).split())[:200]
