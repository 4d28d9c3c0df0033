"""Image files scored on a Dask cluster, rows back in input order (``imgclf classify --cluster``).

Each worker loads the model once and runs its chunk through ``predict.score_files``, THE file -> scores
path, so a row is the row one process would make (same decode, same scores to the last bit). Rows come
back chunk by chunk in the order of ``paths``, each with the path as given here, for the caller to print,
write into a CSV and sort, as it goes: nothing is gathered, so memory stays flat for any number of files.

Entry point: :func:`score_on_cluster`.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from imgclf_gui.core.cluster.connection import ClusterSession, check_workers
from imgclf_gui.core.cluster.remote import Expected, score_chunk
from imgclf_gui.core.cluster.streaming import CHUNK_SIZE, run_chunks
from imgclf_gui.core.models.predict import ResultRow
from imgclf_gui.core.support.tasks_api import ProgressFn, StopFn


def score_on_cluster(session: ClusterSession, predictor: Any, paths: Sequence[str | os.PathLike[str]], *,
                     on_rows: Callable[[list[ResultRow]], None], on_progress: ProgressFn = None,
                     should_stop: StopFn = None, chunk_size: int = CHUNK_SIZE) -> int:
    """Score ``paths`` with ``predictor``'s model on the workers of ``session``; returns the rows delivered.

    ``predictor`` is this computer's ``Predictor`` of the model (from ``open_predictor``): the workers load
    the same source and must match its backbone and weights. ``on_rows(batch)`` gets every row once, in the
    order of ``paths``; ``on_progress(done, total)`` follows, ``(0, N)`` first; ``should_stop()`` (or
    Ctrl+C) stops between chunks with ``Cancelled`` (rows delivered so far stay delivered). Raises
    ``ClusterError`` for a worker that differs or cannot see the model or the images.
    """
    source = predictor.source
    if source is None:
        raise ValueError("a predictor made from a ModelSource (open_predictor) is needed to classify on a cluster")
    if source.path is not None:
        source = replace(source, path=Path(os.path.abspath(source.path)))  # workers have other working folders
    backbone_id = predictor.bundle.backbone_id if predictor.bundle is not None else source.backbone_id
    expected = Expected.here(backbone_id, predictor.bundle)
    files = [Path(p) for p in paths]
    check_workers(session, expected, [os.path.abspath(p) for p in files], source=source)
    total, done = len(files), 0
    if on_progress is not None:
        on_progress(0, total)

    def deliver(items: list[Path], rows: list[ResultRow]) -> None:
        nonlocal done
        on_rows([replace(row, path=item) for item, row in zip(items, rows)])
        done += len(items)
        if on_progress is not None:
            on_progress(done, total)

    run_chunks(session, score_chunk, (expected, source), files, payload=os.path.abspath, deliver=deliver,
               lost=lambda item, reason: [ResultRow(item, None, reason)], chunk_size=chunk_size,
               should_stop=should_stop)
    return done


__all__ = ["score_on_cluster"]
