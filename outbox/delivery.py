"""The delivery worker: takes queued deliveries, signs and POSTs them, records what happened.

Owns the outbound half of federation's hot path: leasing due rows from `store.deliveries`,
per-host and global concurrency limits, timeouts, the one immediate retry of a dropped
keep-alive connection, signing with the actor's key, classifying the answer
(`outbox.retry.classify`), rescheduling with back-off, a per-host circuit breaker that
stops one dead peer from slowing the others, and pruning finished rows.

`run_forever` keeps a window of jobs in flight and leases more as each one finishes, so a
peer that never answers holds one job until its timeout, not a batch of healthy ones; the
outcomes of finished jobs are written a few at a time, in one transaction each.

Must not build activities or choose recipients (the publisher enqueues rows in the same
transaction as the status), hold durable state in memory (the rows are the truth: the
circuit breaker and the key cache are optimisations a restart forgets), or log bodies or
signatures.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

import httpx

from federation.keys import load_private_key
from federation.policy import PeerPolicy
from federation.signatures import HttpSignatureAuth
from outbox.retry import Outcome, classify, next_delay, parse_retry_after
from store import deliveries, keys
from store.db import Connection, Database
from store.deliveries import DeliveryRecord

__all__ = ["ACTIVITY_JSON", "DeliverySettings", "DeliveryWorker"]

log = logging.getLogger(__name__)

ACTIVITY_JSON = "application/activity+json"

_DROPPED_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""What a keep-alive connection the peer closed while idle looks like when we reuse it."""

_MAX_ERROR_TEXT = 300
_PRUNE_CHUNK = 500
"""Finished rows pruned per transaction, so a prune never holds the writer for long."""


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """Limits and the retry schedule of the delivery worker (the `[delivery]` config).

    The defaults retry 15 times over about two days (see `outbox.retry`). A batch must
    finish within its lease: each job may take two request timeouts (the keep-alive retry),
    and a job whose lease runs short before it gets a slot is left for the next run.
    """

    max_attempts: int = 15
    base_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=12)
    jitter: float = 0.5
    per_host_concurrency: int = 4
    total_concurrency: int = 8
    """Requests being sent at once. Signing, sending and reading a prompt answer take CPU,
    and more of them at once only queue up in the event loop, ahead of the API's requests
    (bench S5, S6). A request not answered within `slow_after` gives its slot back and
    waits for its peer; at most `max_waiting` requests wait that way."""
    slow_after: float = 0.03
    max_waiting: int = 256
    request_timeout: float = 10.0
    """Seconds for one POST from connect to the last byte of the answer we read."""
    lease_seconds: float = 60.0
    circuit_failures: int = 5
    """Consecutive failed attempts to a host that open its circuit."""
    circuit_cooldown: timedelta = timedelta(minutes=5)
    batch_size: int = 32
    """Most jobs a worker holds leased at once: a `run_once` batch, and the window of jobs
    `run_forever` keeps in flight (besides those waiting on slow peers)."""
    host_batch_size: int = 8
    """Most jobs of one host among them, so one host's backlog cannot fill the window."""
    idle_wait: float = 1.0
    """Seconds `run_forever` sleeps when nothing was due, unless `notify()` wakes it."""
    flush_after: float = 0.01
    """Seconds a finished job's outcome may wait, so that several share one transaction."""
    flush_size: int = 32
    """Outcomes written at once, without waiting out `flush_after`."""
    keep_finished: timedelta = timedelta(hours=1)
    """How long sent, gone and cancelled rows stay before `run_forever` prunes them (their
    counts, last success and last error stay in the per-host totals)."""
    prune_every: float = 60.0
    """Seconds between two prunes of finished rows."""
    max_response_bytes: int = 64 * 1024
    allow_http: bool = False
    """Deliver to plain-http inboxes (the test rig); otherwise they are dead on arrival."""

    def __post_init__(self) -> None:
        positive = {
            "max_attempts": self.max_attempts,
            "per_host_concurrency": self.per_host_concurrency,
            "total_concurrency": self.total_concurrency,
            "request_timeout": self.request_timeout,
            "circuit_failures": self.circuit_failures,
            "batch_size": self.batch_size,
            "host_batch_size": self.host_batch_size,
            "idle_wait": self.idle_wait,
            "max_response_bytes": self.max_response_bytes,
            "flush_size": self.flush_size,
            "prune_every": self.prune_every,
            "slow_after": self.slow_after,
            "max_waiting": self.max_waiting,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"delivery.{name} must be positive, not {value!r}")
        if not timedelta(0) < self.base_delay <= self.max_delay:
            raise ValueError("delivery.base_delay must be positive and at most max_delay")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("delivery.jitter must be between 0 and 1")
        if self.circuit_cooldown <= timedelta(0):
            raise ValueError("delivery.circuit_cooldown must be positive")
        if self.flush_after < 0 or self.keep_finished < timedelta(0):
            raise ValueError("delivery.flush_after and keep_finished must not be negative")
        if self.lease_seconds <= 2 * self.request_timeout:
            raise ValueError("delivery.lease_seconds must exceed twice request_timeout")


@dataclass(slots=True)
class _Slot:
    """Whether a request still holds its active slot (see `DeliveryWorker._active`)."""

    held: bool = True


@dataclass(slots=True)
class _Circuit:
    """One host's breaker. Closed while `open_until` is None; open until then; after that
    half-open: one probe job goes out, and its result closes or reopens the circuit."""

    failures: int = 0
    open_until: datetime | None = None
    probe_id: int | None = None


Action = Literal["sent", "retry", "gone", "dead", "cancel", "release"]


@dataclass(frozen=True, slots=True)
class _Result:
    """What to write for one leased job once the batch is done."""

    job: DeliveryRecord
    action: Action
    at: datetime
    attempts: int
    status: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


class _Flight:
    """The jobs `run_forever` holds: running tasks, how many per host, and the outcomes of
    finished ones waiting to be written. `on_finish` wakes the pump."""

    def __init__(self, on_finish: Callable[[], None]) -> None:
        self.tasks: set[asyncio.Task[_Result]] = set()
        self.per_host: Counter[str] = Counter()
        self.results: list[_Result] = []
        self.first_result_at = 0.0
        """Loop time when the oldest unwritten outcome arrived."""
        self.finished = 0
        self._on_finish = on_finish

    def start(self, job: DeliveryRecord, work: Coroutine[Any, Any, _Result]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        self.per_host[job.host] += 1
        task.add_done_callback(partial(self._done, job))

    def _done(self, job: DeliveryRecord, task: asyncio.Task[_Result]) -> None:
        self.tasks.discard(task)
        self.per_host[job.host] -= 1
        if self.per_host[job.host] <= 0:
            del self.per_host[job.host]
        self.finished += 1
        self._on_finish()
        if task.cancelled():
            return  # the worker is going away; the lease runs out and the job comes back
        error = task.exception()
        if error is not None:
            log.error(
                "delivery failed unexpectedly activity_uri=%s inbox=%s",
                job.activity_uri,
                job.inbox_url,
                exc_info=error,
            )
            return  # the lease runs out and the job is tried again
        if not self.results:
            self.first_result_at = asyncio.get_running_loop().time()
        self.results.append(task.result())

    def take(self) -> list[_Result]:
        results, self.results = self.results, []
        return results


class DeliveryWorker:
    """Delivers queued activities. `run_once()` for tests and `worker --once`;
    `run_forever(stop)` in the server's lifespan.

    `client` is the one shared `httpx.AsyncClient` (tests pass one over a
    `MockTransport`); `clock` and `rand` are injectable so tests control retries, leases and
    signature dates.
    """

    def __init__(
        self,
        db: Database,
        client: httpx.AsyncClient,
        *,
        policy: PeerPolicy,
        settings: DeliverySettings | None = None,
        clock: Callable[[], datetime],
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._db = db
        self._client = client
        self._policy = policy
        self._settings = settings or DeliverySettings()
        self._clock = clock
        self._rand = rand
        self._timeout = httpx.Timeout(self._settings.request_timeout)
        self._slots = asyncio.Semaphore(self._settings.total_concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._circuits: dict[str, _Circuit] = {}
        self._signers: dict[int, HttpSignatureAuth] = {}
        self._wake = asyncio.Event()
        self._notified = False
        self._waiting = 0
        """Requests past `slow_after`, waiting for their peers without an active slot."""

    @property
    def settings(self) -> DeliverySettings:
        return self._settings

    def notify(self) -> None:
        """Wake `run_forever` now: the publisher calls this after committing new rows."""
        self._notified = True
        self._wake.set()

    def open_circuits(self) -> dict[str, datetime]:
        """Hosts whose circuit is open, and until when (for `queue status` and tests)."""
        return {
            host: circuit.open_until
            for host, circuit in self._circuits.items()
            if circuit.open_until is not None
        }

    async def run_once(self) -> int:
        """Lease one batch of due deliveries, send them concurrently, record the outcomes
        in one transaction; returns how many jobs were leased (0: nothing was due)."""
        jobs, probes = await self._lease(self._clock(), self._settings.batch_size, {})
        if not jobs:
            return 0
        await self._load_signers({job.actor_account_id for job in jobs})
        results = await asyncio.gather(*(self._deliver(job, job.id in probes) for job in jobs))
        await self._write(results)
        return len(jobs)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set, with up to `batch_size` jobs in flight (besides
        those waiting on slow peers).

        Jobs are leased as room frees up, not a batch at a time. Outcomes are written every
        `flush_after` seconds or `flush_size` outcomes. With nothing due it sleeps until
        `notify()` or `idle_wait`; every `prune_every` seconds it prunes finished rows. A
        failing lease or write (the database briefly unavailable) is logged and tried again
        later: unwritten jobs keep their leases, which expire, so nothing is lost. Once
        `stop` is set nothing more is leased; the jobs in flight finish and are recorded.
        """
        flight = _Flight(self._wake.set)
        stopping = asyncio.ensure_future(stop.wait())
        stopping.add_done_callback(lambda _: self._wake.set())
        try:
            await self._pump(stop, flight)
        finally:
            stopping.cancel()
            for task in flight.tasks:  # only when cancelled: their leases run out
                task.cancel()

    async def _pump(self, stop: asyncio.Event, flight: _Flight) -> None:
        """`run_forever`'s loop: lease when there is room and something may be due, write
        outcomes when enough wait or the oldest has waited `flush_after`, prune now and
        then, and sleep until a job finishes, `notify()`, stop, or the next of those."""
        settings = self._settings
        loop = asyncio.get_running_loop()
        refill = max(1, settings.batch_size // 4)  # lease a few at a time, not one by one
        look = True  # due jobs may be waiting
        recheck = False  # the last lease capped a host's share: its due jobs may be left
        finished = flight.finished
        looked_at = prune_at = loop.time()
        while not (stop.is_set() and not flight.tasks):
            self._wake.clear()
            now = loop.time()
            if self._notified or now - looked_at >= settings.idle_wait:
                self._notified, look = False, True
            if flight.finished != finished:
                finished, look = flight.finished, look or recheck
            room = self._room(flight)
            can_lease = not stop.is_set() and room >= (refill if flight.tasks else 1)
            if look and can_lease:
                looked_at = now
                try:
                    leased, recheck = await self._start(flight, room)
                except Exception:
                    log.exception("delivery lease failed")
                    leased, recheck = 0, False
                look = leased == room  # a full lease: more may be due once there is room
            if flight.results and (
                len(flight.results) >= settings.flush_size
                or not flight.tasks
                or loop.time() - flight.first_result_at >= settings.flush_after
            ):
                await self._write_logged(flight.take())
            if loop.time() >= prune_at and not stop.is_set():
                more = await self._prune()
                prune_at = loop.time() + (0.0 if more else settings.prune_every)
            # Sleep until woken (a job finished, notify, stop) or the clock calls: a write
            # due, a prune due, or the idle look (only when there is room to lease).
            deadlines = []
            if flight.results:
                deadlines.append(flight.first_result_at + settings.flush_after)
            if not stop.is_set():
                deadlines.append(prune_at)
                if self._room(flight) >= (refill if flight.tasks else 1):
                    deadlines.append(looked_at + settings.idle_wait)
            await self._sleep(min(deadlines) - loop.time() if deadlines else None)
        if flight.results:
            await self._write_logged(flight.take())

    def _room(self, flight: _Flight) -> int:
        """How many more jobs `run_forever` may lease: its window, not counting the jobs
        waiting on slow peers, as long as not too many wait."""
        settings = self._settings
        return min(
            settings.batch_size - (len(flight.tasks) - self._waiting),
            settings.batch_size + settings.max_waiting - len(flight.tasks),
        )

    async def _sleep(self, seconds: float | None) -> None:
        """Until something wakes the pump (a job finished, `notify`, stop) or `seconds`."""
        if self._wake.is_set() or (seconds is not None and seconds <= 0):
            return
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _start(self, flight: _Flight, room: int) -> tuple[int, bool]:
        """Lease up to `room` due jobs and start delivering them. Returns how many, and
        whether the lease capped some host's share (held plus leased), so that host's other
        due jobs may be waiting for one of its jobs to finish."""
        held = Counter(flight.per_host)  # as the lease saw it: jobs may finish meanwhile
        jobs, probes = await self._lease(self._clock(), room, held)
        if jobs:
            await self._load_signers({job.actor_account_id for job in jobs})
        for job in jobs:
            flight.start(job, self._deliver(job, job.id in probes))
        held.update(job.host for job in jobs)
        return len(jobs), any(count >= self._settings.host_batch_size for count in held.values())

    async def _write_logged(self, results: Sequence[_Result]) -> None:
        try:
            await self._write(results)
        except Exception:
            log.exception("delivery outcomes not recorded count=%d", len(results))

    async def _write(self, results: Sequence[_Result]) -> None:
        """Record outcomes in one transaction, then log each.

        The commit does not wait for the disk (`Database.redoable`): an outcome lost to a
        power cut only means the job is leased and sent again once its lease runs out, and
        peers de-duplicate activities by id.
        """
        for result in results:
            circuit = self._circuits.get(result.job.host)
            if circuit is not None and circuit.probe_id == result.job.id:
                circuit.probe_id = None  # concluded; a probe that never reached HTTP goes again
        sent = [_sent(result) for result in results if result.action == "sent"]
        with self._db.redoable():
            async with self._db.transaction() as conn:
                await deliveries.mark_all_sent(conn, sent)
                for result in results:
                    if result.action != "sent":
                        await _record(conn, result)
        for result in results:
            _log(result)

    async def _prune(self) -> bool:
        """Prune one chunk of old finished rows; True when there may be more."""
        before = self._clock() - self._settings.keep_finished
        try:
            with self._db.redoable():
                async with self._db.transaction() as conn:
                    pruned = await deliveries.prune_finished(
                        conn, before=before, limit=_PRUNE_CHUNK
                    )
        except Exception:
            log.exception("delivery prune failed")
            return False
        if pruned:
            log.info("delivery pruned finished rows=%d before=%s", pruned, before.isoformat())
        return pruned == _PRUNE_CHUNK

    async def _lease(
        self, now: datetime, limit: int, held: Mapping[str, int]
    ) -> tuple[list[DeliveryRecord], set[int]]:
        """Up to `limit` due jobs (each host's share counting the `held` ones in flight), plus
        one probe per open circuit whose cooldown is over; and the probes' ids. Leases are
        redoable like outcomes: one lost to a power cut is taken again."""
        settings = self._settings
        lease_until = now + timedelta(seconds=settings.lease_seconds)
        skip, probe_hosts = self._circuit_view(now)
        probes: set[int] = set()
        with self._db.redoable():
            async with self._db.transaction() as conn:
                jobs = await deliveries.lease_due(
                    conn,
                    now=now,
                    lease_until=lease_until,
                    limit=limit,
                    skip_hosts=skip,
                    per_host_limit=settings.host_batch_size,
                    held=held,
                )
                for host in probe_hosts:
                    for job in await deliveries.lease_due(
                        conn, now=now, lease_until=lease_until, limit=1, host=host
                    ):
                        self._circuits[host].probe_id = job.id
                        probes.add(job.id)
                        jobs.append(job)
        return jobs, probes

    def _circuit_view(self, now: datetime) -> tuple[set[str], list[str]]:
        """Hosts not to lease (open circuits), and those among them due for a probe."""
        skip: set[str] = set()
        probe: list[str] = []
        for host, circuit in self._circuits.items():
            if circuit.open_until is None:
                continue
            skip.add(host)
            if circuit.probe_id is None and now >= circuit.open_until:
                probe.append(host)
        return skip, probe

    def _circuit_open(self, host: str) -> bool:
        circuit = self._circuits.get(host)
        return circuit is not None and circuit.open_until is not None

    def _track(self, host: str, *, failed: bool, probe: bool, now: datetime) -> None:
        """Count consecutive failures per host; open the circuit at the threshold, reopen it
        when a probe fails, close it on any answer that shows the host is healthy."""
        circuit = self._circuits.get(host)
        if not failed:
            if circuit is not None:
                if circuit.open_until is not None:
                    log.info("delivery circuit closed host=%s", host)
                del self._circuits[host]
            return
        if circuit is None:
            circuit = self._circuits[host] = _Circuit()
        circuit.failures += 1
        threshold = (
            circuit.open_until is None and circuit.failures >= self._settings.circuit_failures
        )
        if probe or threshold:
            circuit.open_until = now + self._settings.circuit_cooldown
            circuit.probe_id = None
            log.warning(
                "delivery circuit opened host=%s failures=%d until=%s",
                host,
                circuit.failures,
                circuit.open_until.isoformat(),
            )

    @asynccontextmanager
    async def _active(self) -> AsyncIterator[None]:
        """Hold one of the `total_concurrency` slots while the request is young: it is given
        back when the request ends or once it has waited `slow_after` for its answer, so a
        peer that answers slowly or never keeps no other delivery waiting (its per-host slot
        it keeps)."""
        await self._slots.acquire()
        slot = _Slot()

        def waiting() -> None:
            slot.held = False
            self._slots.release()
            self._waiting += 1
            self._wake.set()  # room for another job

        timer = asyncio.get_running_loop().call_later(self._settings.slow_after, waiting)
        try:
            yield
        finally:
            timer.cancel()
            if slot.held:
                self._slots.release()
            else:
                self._waiting -= 1

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        slot = self._host_slots.get(host)
        if slot is None:
            slot = self._host_slots[host] = asyncio.Semaphore(self._settings.per_host_concurrency)
        return slot

    async def _load_signers(self, account_ids: Iterable[int]) -> None:
        """Load each actor's private key once (parsing a PEM costs more than signing)."""
        missing = [account_id for account_id in account_ids if account_id not in self._signers]
        if not missing:
            return
        async with self._db.read() as conn:
            for account_id in missing:
                key = await keys.get_for_account(conn, account_id)
                if key is None or key.private_key_pem is None:
                    continue  # not cached: the key may exist by the next attempt
                try:
                    private_key = load_private_key(key.private_key_pem)
                except ValueError:
                    log.error(
                        "unusable signing key account_id=%d key_id=%s", account_id, key.key_uri
                    )
                    continue
                self._signers[account_id] = HttpSignatureAuth(
                    key.key_uri, private_key, now=self._clock
                )

    async def _deliver(self, job: DeliveryRecord, probe: bool) -> _Result:
        """One job: policy, then a slot, then the POST, then what the answer means."""
        if not self._policy.allows(job.host):
            self._policy.refused(job.host)
            return _Result(job, "cancel", self._clock(), job.attempts)
        scheme = job.inbox_url.partition(":")[0].lower()
        if scheme != "https" and not (scheme == "http" and self._settings.allow_http):
            return _Result(
                job, "dead", self._clock(), job.attempts, error=f"{scheme} inboxes not allowed"
            )
        auth = self._signers.get(job.actor_account_id)
        if auth is None:
            return _Result(job, "dead", self._clock(), job.attempts, error="no signing key")
        async with self._host_slot(job.host), self._active():
            now = self._clock()
            if self._circuit_open(job.host) and not probe:
                return _Result(job, "release", now, job.attempts, error="circuit open")
            needed = timedelta(seconds=2 * self._settings.request_timeout)
            if job.locked_until is None or now + needed > job.locked_until:
                return _Result(job, "release", now, job.attempts, error="lease too short")
            status, retry_after, error = await self._post(job, auth)
        return self._conclude(job, probe, status, retry_after, error)

    async def _post(
        self, job: DeliveryRecord, auth: HttpSignatureAuth
    ) -> tuple[int | None, str | None, Exception | None]:
        """(status, Retry-After, None) for an answer, (None, None, error) without one.

        A connection the peer dropped while it sat idle in the pool fails on reuse before
        the peer saw anything; that is not the peer failing, so it is retried once at once.
        """
        for first in (True, False):
            try:
                status, retry_after = await self._attempt(job, auth)
            except _DROPPED_CONNECTION as error:
                if not first:
                    return None, None, error
                log.info(
                    "delivery connection dropped, retrying at once activity_uri=%s inbox=%s"
                    " error=%s",
                    job.activity_uri,
                    job.inbox_url,
                    type(error).__name__,
                )
                continue
            except Exception as error:
                return None, None, error
            return status, retry_after, None
        raise AssertionError("unreachable")

    async def _attempt(
        self, job: DeliveryRecord, auth: HttpSignatureAuth
    ) -> tuple[int, str | None]:
        """One signed POST under one deadline, reading at most `max_response_bytes` back."""
        request = self._client.build_request(
            "POST",
            job.inbox_url,
            content=job.body.encode("utf-8"),
            headers={"Content-Type": ACTIVITY_JSON},
            timeout=self._timeout,
        )
        deadline = asyncio.get_running_loop().time() + self._settings.request_timeout
        async with asyncio.timeout_at(deadline):
            response = await self._client.send(request, auth=auth, stream=True)
        try:
            async with asyncio.timeout_at(deadline):
                await _discard_body(response, self._settings.max_response_bytes)
        except (httpx.HTTPError, TimeoutError):
            pass  # the status line is the answer; a broken body after it changes nothing
        finally:
            await response.aclose()
        return response.status_code, response.headers.get("Retry-After")

    def _conclude(
        self,
        job: DeliveryRecord,
        probe: bool,
        status: int | None,
        retry_after: str | None,
        error: Exception | None,
    ) -> _Result:
        now = self._clock()
        outcome = classify(status, error)
        attempts = job.attempts + 1
        self._track(job.host, failed=outcome.retries, probe=probe, now=now)
        if outcome is Outcome.SENT:
            return _Result(job, "sent", now, attempts, status)
        if outcome is Outcome.GONE:
            return _Result(job, "gone", now, attempts, status, f"HTTP {status}")
        text = _describe(status, error)
        if outcome is Outcome.DEAD:
            return _Result(job, "dead", now, attempts, status, text)
        delay = next_delay(attempts, settings=self._settings, rand=self._rand)
        if delay is None:
            return _Result(job, "dead", now, attempts, status, f"gave up after {attempts}: {text}")
        if outcome is Outcome.RETRY_AFTER:
            asked = parse_retry_after(retry_after, now)
            if asked is not None:
                delay = max(delay, min(asked, self._settings.max_delay))
        return _Result(job, "retry", now, attempts, status, text, now + delay)


async def _discard_body(response: httpx.Response, limit: int) -> None:
    """Read a short answer so the connection can be reused; stop reading a long one."""
    seen = 0
    async for chunk in response.aiter_bytes():
        seen += len(chunk)
        if seen > limit:
            break


def _describe(status: int | None, error: Exception | None) -> str:
    """A short, safe description of a failure: a status or an error type and message."""
    if error is None:
        return f"HTTP {status}"
    message = str(error)
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text[:_MAX_ERROR_TEXT]


def _sent(result: _Result) -> deliveries.Sent:
    assert result.status is not None
    return deliveries.Sent(result.job.id, result.attempts, result.status, result.at)


async def _record(conn: Connection, result: _Result) -> None:
    """Write one outcome other than "sent" (those go together through `_sent`)."""
    job, at = result.job, result.at
    if result.action == "gone":
        assert result.status is not None
        await deliveries.mark_gone(
            conn, job.id, attempts=result.attempts, status=result.status, now=at
        )
    elif result.action == "dead":
        await deliveries.mark_dead(
            conn,
            job.id,
            attempts=result.attempts,
            last_status=result.status,
            last_error=result.error,
            now=at,
        )
    elif result.action == "retry":
        assert result.next_attempt_at is not None
        await deliveries.reschedule(
            conn,
            job.id,
            attempts=result.attempts,
            next_attempt_at=result.next_attempt_at,
            last_status=result.status,
            last_error=result.error,
            now=at,
        )
    elif result.action == "cancel":
        await deliveries.cancel_for_host(conn, job.host, at)
    elif job.locked_until is not None:
        await deliveries.release(conn, job.id, lease=job.locked_until)


_LEVELS: dict[Action, int] = {
    "sent": logging.INFO,
    "retry": logging.INFO,
    "gone": logging.WARNING,
    "dead": logging.WARNING,
    "cancel": logging.INFO,
    "release": logging.DEBUG,
}


def _log(result: _Result) -> None:
    """One line per outcome, after it is committed; never the body or the signature."""
    job = result.job
    log.log(
        _LEVELS[result.action],
        "delivery %s activity_uri=%s inbox=%s attempt=%d status=%s error=%s next_attempt_at=%s",
        result.action,
        job.activity_uri,
        job.inbox_url,
        result.attempts,
        result.status,
        result.error,
        result.next_attempt_at.isoformat() if result.next_attempt_at else None,
    )
