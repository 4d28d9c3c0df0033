"""Chunks of images through a Dask cluster and back to the one writer: in order, bounded, retried.

- **Bounded**: chunks are made from the input as room frees up, at most about two per worker thread are
  waiting or running, and at most four times that are held (running, or done and waiting for an earlier
  chunk), so memory does not grow with the folder and the writer never falls behind unseen.
- **In order**: results are handed over in input order, so a CSV comes out row for row as one process
  writes it.
- **Retried**: a task on a worker that dies is run again by Dask on another one. Should one chunk keep
  killing its workers (Dask gives up after ``distributed.scheduler.allowed-failures``), it is split in
  halves and tried again, down to the one image that does it. Dask blames every task a dying worker held,
  so an innocent image that kept sharing a worker with the culprit can be blamed too: a single image is
  therefore tried once more *alone*, when nothing else runs, before it is reported as unreadable, like any
  other file that cannot be decoded. Each chunk is handed over exactly once.
- **Stoppable**: ``should_stop`` (or Ctrl+C) cancels what is still queued or running; what was handed
  over stays handed over.

Entry point: :func:`run_chunks`.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from imgclf_gui.core.cluster.connection import ClusterSession
from imgclf_gui.core.cluster.remote import ClusterError
from imgclf_gui.core.support.tasks_api import StopFn, check_stop

Item = TypeVar("Item")
Result = TypeVar("Result")

#: images per task: small enough to retry cheaply and spread well, large enough that Dask's ~1 ms per
#: task is nothing beside seconds of decoding
CHUNK_SIZE = 64
#: tasks waiting or running per worker thread: one running, one queued behind it, so no worker idles
_PER_THREAD = 2
#: chunks held (running, or finished and waiting for an earlier one) per chunk in flight
_HELD_PER_FLIGHT = 4
_POLL_S = 0.25
_WORKERS_EVERY_S = 2.0

LOST = "decoding it stopped a worker process every time it was tried, also alone ({tries} times), so it was skipped"


@dataclass
class _Part(Generic[Item]):
    items: list[Item]
    future: Any  # None: a single image waiting to be tried alone, once nothing else runs
    alone: bool = False  # this try ran with nothing else on the cluster


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_chunks(session: ClusterSession, task: Callable[..., Result], args: tuple[Any, ...], items: Iterable[Item],
               *, payload: Callable[[Item], Any], deliver: Callable[[list[Item], Result], None],
               lost: Callable[[Item, str], Result], chunk_size: int = CHUNK_SIZE, should_stop: StopFn = None) -> None:
    """Run ``task(*args, [payload(item) for item in chunk])`` on the cluster for every chunk of ``items``.

    ``deliver(chunk_items, result)`` is called on this thread, in input order, once per chunk (or per part
    of a split chunk). ``lost(item, reason)`` makes the result for one item that kept killing its workers.
    Any other error of a task (a :class:`~imgclf_gui.core.cluster.remote.WorkerProblem`, a bug) stops the
    run and is raised here; ``should_stop`` raises ``Cancelled``. Nothing is left running on the cluster.
    """
    from distributed import KilledWorker, wait

    client = session.client
    parts: deque[_Part[Item]] = deque()
    source = _chunks(items, max(1, chunk_size))
    exhausted = False
    flight_limit, checked_at = _PER_THREAD * session.threads(), time.monotonic()

    def submit(chunk: list[Item]) -> _Part[Item]:
        return _Part(chunk, client.submit(task, *args, [payload(item) for item in chunk], pure=False))

    try:
        while True:
            check_stop(should_stop)
            if time.monotonic() - checked_at > _WORKERS_EVERY_S:  # workers come and go (adaptive clusters)
                flight_limit, checked_at = _PER_THREAD * session.threads(), time.monotonic()
            isolating = any(p.future is None for p in parts)  # no new work while an image waits to run alone
            while not isolating and not exhausted and len(parts) < _HELD_PER_FLIGHT * flight_limit and sum(
                    not p.future.done() for p in parts) < flight_limit:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                else:
                    parts.append(submit(chunk))
            if not parts:
                return
            head = parts[0]
            if head.future is None:  # to be tried alone: first let everything else finish
                running = [p.future for p in list(parts)[1:] if p.future is not None and not p.future.done()]
                if running:
                    try:
                        wait(running, timeout=_POLL_S, return_when="FIRST_COMPLETED")
                    except TimeoutError:
                        pass
                    continue
                parts[0] = head = _Part(head.items, submit(head.items).future, alone=True)
            if not head.future.done():
                try:
                    wait([p.future for p in parts if p.future is not None and not p.future.done()],
                         timeout=_POLL_S, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
                continue
            parts.popleft()
            if head.future.status == "finished":
                deliver(head.items, head.future.result())
                continue
            if head.future.status == "cancelled":
                raise ClusterError("The work was cancelled on the cluster (was its scheduler restarted?).")
            error = head.future.exception()
            if not isinstance(error, KilledWorker):
                raise error
            if len(head.items) == 1 and head.alone:
                deliver(head.items, lost(head.items[0], LOST.format(tries=_tries(session))))
            elif len(head.items) == 1:  # perhaps only blamed for another task on its worker: once more, alone
                parts.appendleft(_Part(head.items, None))
            else:  # find the image that kills its workers; the others go through
                middle = len(head.items) // 2
                parts.appendleft(submit(head.items[middle:]))
                parts.appendleft(submit(head.items[:middle]))
    finally:
        pending = [p.future for p in parts if p.future is not None and not p.future.done()]
        if pending:
            try:
                client.cancel(pending)
            except Exception:  # noqa: BLE001 - the connection may be gone already; nothing is left to cancel
                pass


def _tries(session: ClusterSession) -> int:
    """How many times the scheduler runs a task whose workers keep dying (its setting, not ours)."""
    def allowed(dask_scheduler: Any) -> int:
        return int(dask_scheduler.allowed_failures)

    return session.client.run_on_scheduler(allowed) + 1


__all__ = ["CHUNK_SIZE", "LOST", "run_chunks"]
