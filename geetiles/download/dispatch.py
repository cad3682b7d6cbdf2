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
import math
import os
import socket
import threading
import time

from geetiles.download.adoption import adoptable_rows
from geetiles.download.messages import ChipJob, Exchange
from geetiles.download.workforce import Slot, Workforce, no_node_left
from geetiles.errors import RunFailed, UserInputError

log = logging.getLogger("geetiles.download")

EXCHANGE_WAIT_S = 1.0  # a worker answers the driver at least this often, finished chips or not
HOLD_LIMIT = 4  # a worker holds at most this many times its capacity (most of them backing off)
STATUS_EVERY_S = 10.0  # when no chip has finished for this long, ask the workers what they wait for
STATUS_TIMEOUT_S = 10.0
SALVAGE_WAIT_S = 5.0  # after Ray's head died, how long to wait for this machine's workers to end
ADOPT_TIMEOUT_S = 30.0  # a check of a dead worker's files not answered by then: its chips are fetched again


class Dispatcher:
    def __init__(self, ray, workforce: Workforce, plan, download, stop_bootstrap, start_timeout_s: float) -> None:
        self.ray, self.workforce, self.plan, self.download = ray, workforce, plan, download
        self.start_timeout_s = start_timeout_s  # workers starting is Ray starting: ray.start_timeout_s bounds it
        self.stop_bootstrap = stop_bootstrap
        self.write_files = download.write_on.value == "worker"
        count = len(workforce.slots)
        self.held: list[dict[str, ChipJob]] = [{} for _ in range(count)]  # chips each worker has not returned
        self.backing_off = [0] * count
        self.unreachable = [0.0] * count  # time.time() since when each worker's endpoint refuses (0: it answers)
        self.capacity = [0] * count
        self.pending: dict = {}  # calls out → (kind, slot index); kind: exchange | configure
        self.checking: dict = {}  # file checks of dead workers' chips out: ref → (slot, jobs, node, pid, asked at)
        self.lock = threading.Lock()  # the held and checked chips, read by a salvage from another thread
        self.outage_since = 0.0
        self._adoption_task = None

    def run(self) -> None:
        """Configure the workers (the bootstrap fetches meanwhile), stop the bootstrap, then loop
        until every chip is accounted for."""
        plan, download, workforce = self.plan, self.download, self.workforce
        dead = workforce.configure(
            plan.source.spec(),
            plan.nodata,
            self.write_files,
            download.seed,
            plan.request.fingerprint,
            download.max_in_flight,
            download.max_requests_per_s,
            max(download.stall_timeout_s, self.start_timeout_s),
            plan.colormap,
        )
        self.stop_bootstrap(plan)
        per_request = plan.chips_per_request  # shares are in requests; a block holds several chips
        self.capacity = [math.ceil((slot.in_flight + download.batch_size) * per_request) for slot in workforce.slots]
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
        dropped = False
        while any(self.held) or (plan.queue and not ledger.disk_full) or self.checking:
            if ledger.disk_full and not dropped:  # finish only the requests on the wire, then stop
                dropped = True
                self._drop_waiting(ledger.disk_full)
                if not any(self.held) and not self.checking:
                    break
            now = time.monotonic()
            self._place_replacements(now)
            self._late_checks(now)
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
                if kind == "adopt":
                    self._checked(ref)
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
                            raise UserInputError(
                                "Earth Engine keeps refusing the credentials; "
                                "run `earthengine authenticate` or check ee.credentials"
                            )
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
                    "finished chips are kept, rerun the same command to resume"
                )
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
        room = 0 if self.plan.ledger.disk_full else capacity - (len(held) - self.backing_off[index])
        room = min(room, HOLD_LIMIT * capacity - len(held))
        jobs = self.plan.queue.take(min(room, self.plan.queue.window)) if room > 0 else []
        with self.lock:
            for job in jobs:
                held[job.identifier] = job
        headers = self.plan.source.auth_headers() if jobs else None
        actor = self.workforce.slots[index].actor
        call = actor.exchange.remote(
            jobs, headers, EXCHANGE_WAIT_S, self.download.batch_size, download=self.workforce.download
        )
        self.pending[call] = (
            "exchange",
            index,
        )

    def _drop_waiting(self, full: str) -> None:
        """The disk is full: every worker drops the chips it has not yet requested (they stay unfetched,
        unjournaled: the next run fetches them), so the run ends after at most one request's wait."""
        slots = self.workforce.live
        refs = [slot.actor.drop_waiting.remote() for slot in slots]
        ready, _ = self.ray.wait(
            refs, num_returns=len(refs), timeout=min(STATUS_TIMEOUT_S, self.download.stall_timeout_s)
        )
        for slot, ref in zip(slots, refs):
            if ref not in ready:
                continue
            try:
                dropped = self.ray.get(ref)
            except self.ray.exceptions.RayError:
                continue
            with self.lock:
                for identifier in dropped:
                    self.held[slot.index].pop(identifier, None)
        log.debug("disk full while writing %s: %d chips on the wire to finish", full, sum(len(h) for h in self.held))

    def _lost(self, slot: Slot, error: BaseException) -> None:
        """A worker died: replace it; check its chips' files (off the driver, as a Ray task), then
        adopt the finished ones and put the others back in front of the queue."""
        index = slot.index
        with self.lock:
            jobs = list(self.held[index].values())
            self.held[index].clear()
        self.backing_off[index], self.unreachable[index] = 0, 0.0
        node, pid = slot.node, slot.placement.pid if slot.placement is not None else None
        self.workforce.lose(slot, error)
        log.warning("download worker %d of %d died (%s); replacing it", index + 1, len(self.held), _describe(error))
        if not jobs:
            return
        if not self.write_files:  # the driver writes every file: the dead worker wrote none
            self._take_back(index, jobs, [None] * len(jobs))
            return
        plan = self.plan
        ref = self._check_remotely().remote(
            jobs, len(plan.band_names), str(plan.dtype), plan.request.fingerprint, node, pid
        )
        with self.lock:
            self.checking[ref] = (index, jobs, node, pid, time.monotonic())
        self.pending[ref] = ("adopt", index)

    def _checked(self, ref) -> None:
        """The files of a dead worker's chips were checked: adopt or requeue each."""
        with self.lock:
            entry = self.checking.pop(ref, None)
        if entry is None:
            return
        index, jobs = entry[0], entry[1]
        try:
            rows = self.ray.get(ref)
        except self.ray.exceptions.RayError as error:  # fetched again: at worst a finished chip is fetched twice
            log.warning("could not check the files of download worker %d's chips (%s)", index + 1, _describe(error))
            rows = [None] * len(jobs)
        self._take_back(index, jobs, rows)

    def _take_back(self, index: int, jobs: list[ChipJob], rows: list[dict | None]) -> None:
        """Journal the chips whose valid file is on disk (``rows``); put the others back in front."""
        adopted = [(job, row) for job, row in zip(jobs, rows) if row is not None]
        requeued = [job for job, row in zip(jobs, rows) if row is None]
        if adopted:
            self.plan.ledger.adopt([job for job, _ in adopted], [row for _, row in adopted])
        self.plan.ledger.requeue(requeued)
        self.plan.queue.put_front(requeued)
        log.info(
            "download worker %d's %d chips: %d back in the queue, %d finished files adopted",
            index + 1,
            len(jobs),
            len(requeued),
            len(adopted),
        )

    def _late_checks(self, now: float) -> None:
        """Checks not answered within ADOPT_TIMEOUT_S: their chips are fetched again."""
        for ref, (index, jobs, *_, asked_at) in list(self.checking.items()):
            if now - asked_at > ADOPT_TIMEOUT_S:
                with self.lock:
                    self.checking.pop(ref, None)
                self.pending.pop(ref, None)
                self._take_back(index, jobs, [None] * len(jobs))

    def _check_remotely(self):
        """``adoptable_rows`` as a Ray task, preferably on the driver's node (which sees the files)."""
        if self._adoption_task is None:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            here = self.ray.get_runtime_context().get_node_id()
            self._adoption_task = self.ray.remote(
                num_cpus=0, max_retries=0, scheduling_strategy=(NodeAffinitySchedulingStrategy(here, soft=True))
            )(adoptable_rows)
        return self._adoption_task

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
            raise RunFailed(
                f"every download worker died and none could be replaced ({workforce.slots[0].failures} "
                "tries each); finished chips are kept, rerun the same command to resume"
            )

    def _placed(self, slot: Slot, ref, now: float) -> None:
        try:
            placement = self.ray.get(ref)
        except self.ray.exceptions.RayError as error:
            self.workforce.placement_failed(slot, error)
            return
        self.workforce.placed(slot, placement)
        log.info(
            "download worker %d replaced on node %s in %.1f s", slot.index + 1, slot.node[:12], now - slot.asked_at
        )
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
        ready, _ = self.ray.wait(
            refs, num_returns=len(refs), timeout=min(STATUS_TIMEOUT_S, self.download.stall_timeout_s)
        )
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
        parts = [
            f"{chips} chips in progress",
            f"{backing_off} waiting to retry" + (f" after '{last_error[:120]}'" if backing_off and last_error else ""),
        ]
        if unreachable:
            parts.append(f"endpoint unreachable since {time.strftime('%H:%M:%S', time.localtime(min(unreachable)))}")
        if silent:
            parts.append(
                f"worker(s) {', '.join(str(i + 1) for i in silent)} of {len(self.held)} not answering "
                f"for {STATUS_TIMEOUT_S:g} s"
            )
        replacing = [slot.index + 1 for slot in self.workforce.slots if not slot.live and not slot.abandoned]
        if replacing:
            parts.append(f"worker(s) {', '.join(map(str, replacing))} of {len(self.held)} being replaced")
        return "; ".join(parts)

    def salvage(self) -> None:
        """The run stops with chips out (its workers killed, or Ray's head dead): wait (bounded) for
        this machine's workers to end, then journal the valid files they wrote for chips they had
        not reported, so every file on disk is recorded (checked here: Ray may be gone)."""
        if not self.lock.acquire(timeout=2.0):
            return
        try:
            out = [
                (
                    slot.index,
                    list(self.held[slot.index].values()),
                    slot.node,
                    slot.placement.pid if slot.placement is not None else None,
                )
                for slot in self.workforce.slots
            ]
            out += [(index, jobs, node, pid) for index, jobs, node, pid, _ in self.checking.values()]
            for jobs in self.held:
                jobs.clear()
            self.checking.clear()
        finally:
            self.lock.release()
        host = socket.gethostname()
        pids = [
            slot.placement.pid
            for slot in self.workforce.slots
            if slot.placement is not None and slot.placement.host == host
        ]
        deadline = time.monotonic() + SALVAGE_WAIT_S
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        plan = self.plan
        for _, jobs, node, pid in out:
            if not jobs or not self.write_files:
                continue
            rows = adoptable_rows(jobs, len(plan.band_names), str(plan.dtype), plan.request.fingerprint, node, pid)
            adopted = [(job, row) for job, row in zip(jobs, rows) if row is not None]
            if adopted:
                plan.ledger.adopt([job for job, _ in adopted], [row for _, row in adopted])


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
