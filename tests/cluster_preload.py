"""Dask worker preload for the cluster tests: registers the fake backbones in every worker process.

A worker is a fresh interpreter: what a test registered in its own process is not there. The tests start
their ``LocalCluster`` with ``distributed.worker.preload`` naming this module (see ``cluster_config`` in
``tests/core/test_cluster.py``), so a worker that Dask restarts after a crash has the fakes too.
Never used outside the tests.
"""
from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any

import numpy as np

from imgclf_gui.core.backbones import register_backbone
from tests.fakes import FAKE_SPEC, build_fake_keras, fake_features, register_fake_backbone

#: the fake backbone, slowed down so that a test can act while work is in flight
SLOW_ID = "fake-slow"
SLOW_SECONDS_PER_IMAGE = 0.05
#: the fake backbone, ending its process when it meets a picture that is all magenta (a decoder crash)
DEADLY_ID = "fake-deadly"
MAGENTA = (255, 0, 255)
#: the id of the counting fake of ``tests/core/conftest.py``: on a worker it only computes
COUNTING_ID = "fake-counting"


def slow_features(batch: np.ndarray) -> np.ndarray:
    time.sleep(SLOW_SECONDS_PER_IMAGE * len(batch))
    return fake_features(batch)


def deadly_features(batch: np.ndarray) -> np.ndarray:
    pixels = np.asarray(batch).reshape(len(batch), -1, 3)
    if any((image == MAGENTA).all() for image in pixels):
        os._exit(3)  # as a segfault in a decoder would: no exception, no goodbye
    return fake_features(batch)


def register_timed_fakes() -> None:
    """``fake-slow`` and ``fake-deadly``: what a test's own process needs beside the usual fixtures."""
    for backbone_id, features in ((SLOW_ID, slow_features), (DEADLY_ID, deadly_features)):
        register_backbone(replace(FAKE_SPEC, id=backbone_id), build_fake_keras, numpy_features=features,
                          replace=True)


def unregister_timed_fakes() -> None:
    """Take them out again: other tests list every registered backbone."""
    from imgclf_gui.core.backbones import unregister_backbone

    for backbone_id in (SLOW_ID, DEADLY_ID):
        unregister_backbone(backbone_id)


def register_test_backbones() -> None:
    """Every fake under its test id, as a worker needs them: the same vectors, with a delay, a fatal
    picture, or (``fake-counting``, counted in the test's own process only) plain."""
    register_fake_backbone()
    register_timed_fakes()
    register_backbone(replace(FAKE_SPEC, id=COUNTING_ID), build_fake_keras, numpy_features=fake_features,
                      replace=True)


def dask_setup(worker: Any) -> None:
    """Called by Dask in each worker process as it starts."""
    register_test_backbones()


def worker_config(**settings: Any) -> Any:
    """``dask.config.set`` context for clusters started inside it: workers preload this module (plus any
    ``settings``, e.g. ``{"distributed.scheduler.allowed-failures": 1}``)."""
    import dask
    import distributed  # noqa: F401 - its defaults must be loaded before setting, or leaving the context drops them

    return dask.config.set({"distributed.worker.preload": [__name__], **settings})
