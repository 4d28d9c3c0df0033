"""``--cluster ADDRESS`` for ``imgclf extract`` and ``imgclf classify``: the option and the session."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CLUSTER_HELP = ("do the work on a Dask cluster: a scheduler's address (tcp://host:8786) or local:N for N worker "
                "processes on this computer; the workers read the images by path (a shared file system), this "
                "computer writes the results. Needs pip install 'imgclf[cluster]' (docs/SCALING.md)")


def add_cluster_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", metavar="ADDRESS", help=CLUSTER_HELP)


@contextmanager
def cluster_session(address: str) -> Iterator[Any]:
    """A ``ClusterSession`` on ``address`` for the block, closed after it (local workers stopped); every
    ``ClusterError`` on the way, from connecting to a worker that differs, becomes a ``UserError``.
    What it says about the cluster goes to stderr, so stdout stays what the command prints without it."""
    from imgclf_gui.cli import UsageError, UserError
    from imgclf_gui.core.cluster.connection import AddressError, ClusterError, connect

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    try:
        session = connect(address, on_status=say)
    except AddressError as exc:  # the command line is wrong (exit 2), not the cluster
        raise UsageError(str(exc)) from None
    except ClusterError as exc:
        raise UserError(str(exc)) from None
    try:
        say(f"Cluster: {session.describe()}")
        yield session
    except ClusterError as exc:
        raise UserError(str(exc)) from None
    finally:
        session.close()
