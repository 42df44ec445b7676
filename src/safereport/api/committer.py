"""Group commit for the HTTP service: concurrent decisions share one durable commit.

Requests are queued by the event loop; one thread takes everything waiting (up to the commit
batch), decides it with `Firewall.decide_many` (one transaction, one tree update, committed
before any response is released) and resolves each caller's future. If anything fails, every
request of the group fails: nothing is answered that was not logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from safereport.api import metrics
from safereport.api.errors import ServiceUnavailable, log
from safereport.firewall import Firewall
from safereport.model import DisclosureRequest, Response


@dataclass(frozen=True, slots=True)
class _Job:
    requests: tuple[DisclosureRequest, ...]
    future: asyncio.Future[list[Response]]
    loop: asyncio.AbstractEventLoop


def _post(job: _Job, value: list[Response] | BaseException) -> None:
    with contextlib.suppress(RuntimeError):  # the caller's event loop has closed: nobody waits
        job.loop.call_soon_threadsafe(_resolve, job.future, value)


def _resolve(future: asyncio.Future[list[Response]], value: list[Response] | BaseException) -> None:
    if future.done():  # the caller went away
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


class GroupCommitter:
    def __init__(
        self,
        fw: Firewall,
        *,
        max_batch: int,
        lock_file: Path | None = None,
        warm: Callable[[], object] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.fw = fw
        self.max_batch = max_batch
        self.lock_file = lock_file
        self.warm = warm
        self.on_failure = on_failure
        self.warmed = threading.Event()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="safereport-group-commit", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closed

    async def decide(self, requests: Sequence[DisclosureRequest]) -> list[Response]:
        """Decide and log; returns once every decision is durable in the audit log."""
        if not self.alive:
            raise ServiceUnavailable("the decision worker is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Response]] = loop.create_future()
        self._queue.put(_Job(tuple(requests), future, loop))
        return await future

    def close(self, timeout: float = 10.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _take(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs = [first]
        size = len(first.requests)
        while size < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            size += len(job.requests)
        return jobs, False

    def _run(self) -> None:
        if self.warm is not None:
            # One-time loading (the narrative minimiser's models) before the first decision, not in it;
            # requests that arrive meanwhile wait in the queue.
            try:
                self.warm()
            except Exception as exc:
                log.warning(
                    "warming up failed (%s); the first decisions will load what it missed",
                    exc.__class__.__name__,
                )
        self.warmed.set()
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            jobs, stop = self._take(first)
            everything = [r for job in jobs for r in job.requests]
            try:
                with self._turn():
                    responses = list(self.fw.decide_many(everything, explain=True))
                if len(responses) != len(everything):
                    raise ServiceUnavailable("the decision worker lost a response")
            except BaseException as exc:  # fail closed: every waiting request is refused
                failure: BaseException = exc if isinstance(exc, Exception) else ServiceUnavailable("stopping")
                if self.on_failure is not None:
                    self.on_failure(failure)
                for job in jobs:
                    _post(job, failure)
                if not isinstance(exc, Exception):
                    raise
                continue
            metrics.COMMIT_GROUP.observe(len(everything))
            position = 0
            for job in jobs:
                part = responses[position : position + len(job.requests)]
                position += len(job.requests)
                _post(job, part)
        self._drain()

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """Workers on one SQLite file take turns through a file lock: a blocked worker wakes the
        moment the other is done, where SQLite's own busy handler would sleep and retry, and
        could leave one worker waiting for hundreds of milliseconds behind the other."""
        if self.lock_file is None:
            yield
            return
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _drain(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                _post(job, ServiceUnavailable("the service is stopping"))
