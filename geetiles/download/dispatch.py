"""The driver's dispatch loop: keep every worker supplied with chips, take back the finished ones,
and carry on through faults.

- A worker that dies (SIGKILL, OOM, its node removed) is replaced (``workforce.py``); the chips it
  held go back to the front of the queue without spending any of their attempts (``requeued`` in
  the summary and the manifest), except those whose file it wrote before dying: checked and adopted.
- The endpoint refusing connections is an outage, waited out by each worker's circuit breaker
  (``geetiles.fetching.outage``); the progress says since when, and ``download.stall_timeout_s``
  bounds it like any other wait.
- Nothing waits without a bound: results (``download.stall_timeout_s``), replacements
  (``workforce.PLACE_TIMEOUT_S``), status questions (``STATUS_TIMEOUT_S``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

from geetiles.download import geotiff
from geetiles.download.manifest import chip_row
from geetiles.download.worker import ChipJob, Exchange
from geetiles.download.workforce import Slot, Workforce, no_node_left
from geetiles.errors import RunFailed, UserInputError

log = logging.getLogger("geetiles.download")

EXCHANGE_WAIT_S = 1.0  # a worker answers the driver at least this often, finished chips or not
HOLD_LIMIT = 4  # a worker holds at most this many times its capacity (most of them backing off)
STATUS_EVERY_S = 10.0  # when no chip has finished for this long, ask the workers what they wait for
STATUS_TIMEOUT_S = 10.0
SALVAGE_WAIT_S = 5.0  # after Ray's head died, how long to wait for this machine's workers to end


class Dispatcher:
    def __init__(self, ray, workforce: Workforce, plan, download, stop_bootstrap) -> None:
        self.ray, self.workforce, self.plan, self.download = ray, workforce, plan, download
        self.stop_bootstrap = stop_bootstrap
        self.write_files = download.write_on.value == "worker"
        count = len(workforce.slots)
        self.held: list[dict[str, ChipJob]] = [{} for _ in range(count)]  # chips each worker has not returned
        self.backing_off = [0] * count
        self.unreachable = [0.0] * count  # time.time() since when each worker's endpoint refuses (0: it answers)
        self.capacity = [0] * count
        self.pending: dict = {}  # calls out → (kind, slot index); kind: exchange | configure
        self.lock = threading.Lock()  # the held chips, read by a salvage from another thread
        self.outage_since = 0.0

    def run(self) -> None:
        """Configure the workers (the bootstrap fetches meanwhile), stop the bootstrap, then loop
        until every chip is accounted for."""
        plan, download, workforce = self.plan, self.download, self.workforce
        dead = workforce.configure(plan.source.spec(), plan.nodata, self.write_files, download.seed,
                                   plan.request.fingerprint, download.max_in_flight, download.max_requests_per_s,
                                   download.stall_timeout_s)
        self.stop_bootstrap(plan)
        self.capacity = [slot.in_flight + download.batch_size for slot in workforce.slots]
        for slot in workforce.live:
            self._exchange(slot.index)
        if dead:
            log.warning("%d download worker(s) died while starting; replacing them", len(dead))
        try:
            self._loop()
        except BaseException:  # the run stops (a stall, no node left, Ctrl-C): record what the workers wrote
            self.workforce.stop()
            self.salvage()
            raise

    def _loop(self) -> None:
        plan, download, ray = self.plan, self.download, self.ray
        session, ledger = plan.source, plan.ledger
        reauthenticated = False
        last_finish = last_status = time.monotonic()
        while any(self.held) or plan.queue:
            now = time.monotonic()
            self._place_replacements(now)
            if self.pending:
                ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=1.0)
            else:  # every slot is waiting for its next replacement attempt
                time.sleep(0.2)
                ready = []
            now = time.monotonic()
            for ref in ready:
                kind, index = self.pending.pop(ref)
                slot = self.workforce.slots[index]
                if kind == "configure":
                    self._placed(slot, ref, now)
                    continue
                try:
                    reply: Exchange = ray.get(ref)
                except ray.exceptions.RayError as error:  # the worker died: its chips go back, it is replaced
                    self._lost(slot, error)
                    continue
                self.backing_off[index] = reply.backing_off
                self.unreachable[index] = reply.unreachable_since
                if reply.results:
                    last_finish = now
                    with self.lock:
                        jobs = [self.held[index].pop(r.identifier) for r in reply.results]
                    resend = ledger.add(jobs, reply.results, self.write_files)
                    if resend.now:
                        if reauthenticated:
                            raise UserInputError("Earth Engine keeps refusing the credentials; "
                                                 "run `earthengine authenticate` or check ee.credentials")
                        reauthenticated = True
                        session.force_refresh()
                    plan.queue.put_front(resend.now)
                    plan.queue.put_back(resend.later)
                self._exchange(index)
            self._report_outage()
            quiet = now - last_finish
            if quiet >= download.stall_timeout_s:
                raise RunFailed(
                    f"no chip finished for {quiet:.0f} s (download.stall_timeout_s={download.stall_timeout_s:g}) "
                    f"with {len(plan.jobs) - ledger.progress.finished} chips left: {self.waiting_for()}; "
                    "finished chips are kept, rerun the same command to resume")
            every = min(STATUS_EVERY_S, download.stall_timeout_s / 2)
            if quiet >= every and now - last_status >= every:
                last_status = now
                ledger.progress.waiting(self.waiting_for())

    def _exchange(self, index: int) -> None:
        """Hand worker ``index`` the chips it has room for (a window at a time: fair shares) and
        ask for the ones it finished. A worker holds up to its share of requests in flight plus one
        batch of chips that are not backing off (``capacity``); chips waiting out a backoff do not
        count, so they never starve a worker. Each live worker has one ``exchange`` call out."""
        held, capacity = self.held[index], self.capacity[index]
        room = capacity - (len(held) - self.backing_off[index])
        room = min(room, HOLD_LIMIT * capacity - len(held))
        jobs = self.plan.queue.take(min(room, self.plan.queue.window)) if room > 0 else []
        with self.lock:
            for job in jobs:
                held[job.identifier] = job
        headers = self.plan.source.auth_headers() if jobs else None
        actor = self.workforce.slots[index].actor
        self.pending[actor.exchange.remote(jobs, headers, EXCHANGE_WAIT_S, self.download.batch_size)] = ("exchange", index)

    def _lost(self, slot: Slot, error: BaseException) -> None:
        """A worker died: adopt the files it finished, put its other chips back in front, replace it."""
        index = slot.index
        with self.lock:
            jobs = list(self.held[index].values())
            self.held[index].clear()
        self.backing_off[index], self.unreachable[index] = 0, 0.0
        requeued, adopted = self._take_back(jobs, slot)
        self.workforce.lose(slot, error)
        log.warning("download worker %d of %d died (%s): %d of its chips back in the queue, %d finished files "
                    "adopted; replacing it", index + 1, len(self.held), _describe(error), len(requeued), adopted)

    def _take_back(self, jobs: list[ChipJob], slot: Slot) -> tuple[list[ChipJob], int]:
        """Journal the chips whose valid file is on disk; put the others back in the queue's front."""
        adopted_jobs, rows, requeued = [], [], []
        for job in jobs:
            row = self._adoptable(job, slot) if self.write_files else None
            if row is None:
                requeued.append(job)
            else:
                adopted_jobs.append(job)
                rows.append(row)
        if adopted_jobs:
            self.plan.ledger.adopt(adopted_jobs, rows)
        self.plan.ledger.requeue(requeued)
        self.plan.queue.put_front(requeued)
        return requeued, len(adopted_jobs)

    def _adoptable(self, job: ChipJob, slot: Slot) -> dict | None:
        """The journal row of ``job``'s file if the dead worker wrote it whole and right (checked as a
        resume checks an unjournaled file), else None (and its temporary file is removed)."""
        from geetiles.download.fingerprint import grid_fingerprint

        path = Path(job.path)
        if slot.placement is not None:
            path.with_name(f".{path.stem}.tmp{slot.placement.pid}{path.suffix}").unlink(missing_ok=True)
        plan = self.plan
        grid = job.grid
        expected = geotiff.Expected(grid.width, grid.height, len(plan.band_names), str(plan.dtype), grid.crs,
                                    grid.transform, plan.request.fingerprint)
        try:
            stat = os.stat(path)
            if geotiff.inspect(path, expected) != "valid":
                return None
            data = path.read_bytes()
        except OSError:  # not written (the usual case): fetched again
            return None
        return chip_row(job.identifier, "done", plan.request.fingerprint, grid_fingerprint(grid), attempts=1,
                        nbytes=len(data), checksum=geotiff.checksum(data), node=slot.node, stat=stat)

    def _place_replacements(self, now: float) -> None:
        workforce = self.workforce
        for slot in workforce.late(now):
            self.pending = {ref: value for ref, value in self.pending.items() if ref is not slot.configuring}
            workforce.placement_failed(slot, f"not up within {now - slot.asked_at:.0f} s")
        for slot in workforce.due(now):
            ref = workforce.replace(slot, now)
            if ref is None:
                raise no_node_left(f"worker {slot.index + 1}")
            self.pending[ref] = ("configure", slot.index)
        if not workforce.live and all(slot.abandoned for slot in workforce.slots):
            raise RunFailed(f"every download worker died and none could be replaced ({workforce.slots[0].failures} "
                            "tries each); finished chips are kept, rerun the same command to resume")

    def _placed(self, slot: Slot, ref, now: float) -> None:
        try:
            placement = self.ray.get(ref)
        except self.ray.exceptions.RayError as error:
            self.workforce.placement_failed(slot, error)
            return
        self.workforce.placed(slot, placement)
        log.info("download worker %d replaced on node %s in %.1f s", slot.index + 1, slot.node[:12], now - slot.asked_at)
        self._exchange(slot.index)

    def _report_outage(self) -> None:
        """Tell the progress when the endpoint starts refusing connections (as the first worker saw
        it) and when it answers again."""
        since = min((t for t in self.unreachable if t), default=0.0)
        if bool(since) != bool(self.outage_since):
            self.outage_since = since
            self.plan.ledger.progress.outage(since)

    def waiting_for(self) -> str:
        """What the workers are doing, in words: requests in flight, backoffs, an endpoint that refuses
        connections, silent workers, workers being replaced."""
        slots = self.workforce.live
        refs = [slot.actor.status.remote() for slot in slots]
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=min(STATUS_TIMEOUT_S, self.download.stall_timeout_s))
        silent = [slot.index for slot, ref in zip(slots, refs) if ref not in ready]
        chips = backing_off = 0
        last_error = ""
        unreachable = [t for t in self.unreachable if t]
        for ref in ready:
            try:
                status = self.ray.get(ref)
            except self.ray.exceptions.RayError:
                continue
            chips += status.chips
            backing_off += status.backing_off
            last_error = status.last_error or last_error
            if status.unreachable_since:
                unreachable.append(status.unreachable_since)
        parts = [f"{chips} chips in progress", f"{backing_off} waiting to retry" + (
            f" after '{last_error[:120]}'" if backing_off and last_error else "")]
        if unreachable:
            parts.append(f"endpoint unreachable since {time.strftime('%H:%M:%S', time.localtime(min(unreachable)))}")
        if silent:
            parts.append(f"worker(s) {', '.join(str(i + 1) for i in silent)} of {len(self.held)} not answering "
                         f"for {STATUS_TIMEOUT_S:g} s")
        replacing = [slot.index + 1 for slot in self.workforce.slots if not slot.live and not slot.abandoned]
        if replacing:
            parts.append(f"worker(s) {', '.join(map(str, replacing))} of {len(self.held)} being replaced")
        return "; ".join(parts)

    def salvage(self) -> None:
        """The run stops with chips out (its workers killed, or Ray's head dead): wait (bounded) for
        this machine's workers to end, then journal the valid files they wrote for chips they had
        not reported, so every file on disk is recorded."""
        if not self.lock.acquire(timeout=2.0):
            return
        try:
            held = [(slot, list(self.held[slot.index].values())) for slot in self.workforce.slots]
            for jobs in self.held:
                jobs.clear()
        finally:
            self.lock.release()
        host = socket.gethostname()
        pids = [slot.placement.pid for slot, _ in held if slot.placement is not None and slot.placement.host == host]
        deadline = time.monotonic() + SALVAGE_WAIT_S
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for slot, jobs in held:
            adopted_jobs, rows = [], []
            for job in jobs:
                row = self._adoptable(job, slot) if self.write_files else None
                if row is not None:
                    adopted_jobs.append(job)
                    rows.append(row)
            if adopted_jobs:
                self.plan.ledger.adopt(adopted_jobs, rows)


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (Ray's workers are reaped by whoever inherits them)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"
