"""Connecting to a Dask cluster for ``--cluster ADDRESS``, and checking its workers before any work.

ADDRESS is a running scheduler (``tcp://host:8786``, or anything ``distributed.Client`` accepts) or
``local:N``: a ``LocalCluster`` of N worker processes on this computer, one thread each, started here and
stopped with the session. Dask is imported only here and only when a session opens, so nothing else of
imgclf pays for it.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from imgclf_gui.core.cluster.remote import ClusterError, Expected, ProbeReply, probe

#: ``local:N`` starts N worker processes here; ``local`` alone one per core
LOCAL = "local"
#: seconds to reach a scheduler
CONNECT_TIMEOUT_S = 20
#: seconds to wait for the first worker to join a scheduler (batch systems may queue them a while)
WORKER_WAIT_S = 600
#: image paths each worker is asked to see before any work is sent
SAMPLED_PATHS = 8

#: Dask defaults that cost an imgclf worker about a tenth of its CPU (``benchmarks/bench_cluster.py``):
#: its sampling profiler, and a 64 KB malloc trim threshold that hands each decoded photo's memory back to
#: the system only to fault it in again for the next one. Set for ``local:N``; docs/SCALING.md gives the
#: same settings for the workers of a scheduler.
WORKER_SETTINGS = {"distributed.worker.profile.enabled": False,
                   "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 32 * 2**20}

NEEDS_DASK = ("--cluster needs Dask: install it with pip install 'imgclf[cluster]', here and on every worker "
              "node (see docs/SCALING.md).")


class AddressError(ClusterError):
    """ADDRESS itself is malformed (``local:two``): the command line is wrong, not the cluster."""


def local_workers(address: str) -> int | None:
    """N for ``local:N`` (``local``: one per core); None for a scheduler address. Raises ClusterError."""
    name, _, count = address.strip().partition(":")
    if name.lower() != LOCAL:
        return None
    if not count:
        return os.cpu_count() or 1
    if not count.isdigit() or int(count) < 1:
        raise AddressError(f"{address!r}: local:N needs a number of worker processes, e.g. local:4.")
    return int(count)


class ClusterSession:
    """A Dask client (and the local cluster it started, if any); close it, or use it as a context manager."""

    def __init__(self, address: str, client: Any, local_cluster: Any = None) -> None:
        self.address = address
        self.client = client
        self._local_cluster = local_cluster

    def workers(self) -> dict[str, int]:
        """Worker address -> its threads, as the scheduler knows them now."""
        info = self.client.scheduler_info(n_workers=-1)
        return {address: int(w.get("nthreads", 1)) for address, w in info.get("workers", {}).items()}

    def threads(self) -> int:
        """How many tasks the workers can run at once (at least 1, so work is always sent)."""
        return max(1, sum(self.workers().values()))

    def describe(self) -> str:
        """"2 workers, 2 threads (local:2)"."""
        workers = self.workers()
        n, threads = len(workers), sum(workers.values())
        return f"{n} worker{'s' if n != 1 else ''}, {threads} thread{'s' if threads != 1 else ''} ({self.address})"

    def close(self) -> None:
        """Disconnect; a local cluster's worker processes are stopped."""
        try:
            self.client.close()
        finally:
            if self._local_cluster is not None:
                self._local_cluster.close()
                self._local_cluster = None

    def __enter__(self) -> ClusterSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(address: str, *, on_status: Callable[[str], None] | None = None) -> ClusterSession:
    """Open a session on ``address`` (see the module docstring) with at least one worker.

    ``on_status`` hears what is being waited for. Raises :class:`ClusterError` with one sentence: Dask
    not installed, a bad address, no scheduler there, no worker joining.
    """
    workers = local_workers(address)
    try:
        import distributed
    except ImportError:
        raise ClusterError(NEEDS_DASK) from None
    say = on_status or (lambda text: None)
    if workers is not None:
        say(f"Starting {workers} local worker process{'es' if workers != 1 else ''} ...")
        import dask

        preload = ["imgclf_gui.core.cluster.local_worker", *dask.config.get("distributed.worker.preload", [])]
        try:
            # One thread per worker: a worker is one share of the cores (imgclf limits its own pools to it).
            # The scheduler's web page on a free port: 8787 may be another cluster's.
            with dask.config.set(WORKER_SETTINGS):
                cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                   dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
                                                   preload=preload)
        except Exception as exc:  # noqa: BLE001 - Dask reports a failed start with many types; one sentence
            raise ClusterError(f"Could not start {workers} local worker processes: {exc}") from None
        return ClusterSession(address, distributed.Client(cluster), cluster)
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ClusterError(f"Could not reach a Dask scheduler at {address} ({exc or type(exc).__name__}): start "
                           "one with 'dask scheduler' and give the address it prints, e.g. tcp://host:8786, "
                           "or local:N for N worker processes on this computer.") from None
    session = ClusterSession(address, client)
    try:
        if not session.workers():
            say(f"Waiting for a worker to join the scheduler at {address} ...")
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT_S)
            except TimeoutError:
                raise ClusterError(f"No worker joined the scheduler at {address} within {WORKER_WAIT_S // 60} "
                                   "minutes: start workers with 'dask worker ADDRESS' (see docs/SCALING.md)."
                                   ) from None
    except BaseException:
        session.close()
        raise
    return session


def sample_paths(paths: Sequence[str], count: int = SAMPLED_PATHS) -> list[str]:
    """Up to ``count`` of ``paths``, spread from the first to the last, that this computer can see."""
    if not paths:
        return []
    step = max(1, (len(paths) - 1) // max(1, count - 1))
    picked = list(dict.fromkeys([*paths[::step][:count - 1], paths[-1]]))
    return [p for p in picked if os.path.exists(p)]


def check_workers(session: ClusterSession, expected: Expected, paths: Sequence[str], *, source: Any = None) -> None:
    """Before any work: every worker runs the same imgclf, decoder and backbone (and model) as this
    computer and sees the images at the same paths; each opens its backbone (or model) once here.

    ``paths`` are absolute; a few of them are tried. ``source``: the ``ModelSource`` to classify with (its
    folder absolute), None when extracting. Raises :class:`ClusterError` naming the worker, and
    the path it cannot see or what differs. Workers that join later are checked by their first task.
    """
    sample = sample_paths(list(paths))
    replies: dict[str, Any] = session.client.run(probe, expected, sample, source, on_error="return")
    for address, reply in sorted(replies.items()):
        if isinstance(reply, ImportError):  # the check itself could not be unpickled there
            raise ClusterError(f"The worker {address} cannot run imgclf ({reply}): install the same imgclf on "
                               f"every node (pip install 'imgclf[cluster]=={expected.imgclf}').")
        if not isinstance(reply, ProbeReply):
            raise ClusterError(f"The worker {address} could not be checked: {reply}")
        where = f"The worker {address} (on {reply.host})"
        if reply.problem:
            raise ClusterError(f"{where} {reply.problem}")
        if reply.missing:
            raise ClusterError(
                f"{where} cannot see {reply.missing[0]}: workers read the images by path, so every worker "
                f"needs the same shared file system mounted at the same place as this computer "
                f"({len(reply.missing)} of {len(sample)} sampled paths are missing there).")


__all__ = ["LOCAL", "AddressError", "ClusterError", "ClusterSession", "connect", "check_workers", "local_workers",
           "sample_paths"]
