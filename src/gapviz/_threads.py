"""Helper threads that give way to the forward pass."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

#: niceness of the image-statistics thread on Linux (its results are needed only at the end)
HELPER_NICENESS = 10


def yield_to_model() -> None:
    """Lower the calling thread's scheduling priority, where the OS allows it per thread.

    The ``initializer`` of the image-statistics thread. The forward pass keeps every core busy
    with threads that wait for each other at each operation; a helper thread preempting one of
    them stalls the others. At a lower priority the statistics run in the gaps and the pending
    jobs absorb the delay (their results are read after the pass). The decoder threads keep the
    normal priority: the next batch must be ready when the model is. Linux only (threads are
    scheduled as tasks there); elsewhere, or where it is not permitted, nothing changes.
    """
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):  # pragma: no cover
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HELPER_NICENESS)
    except OSError:  # pragma: no cover - not permitted
        pass


def yielding(fn: Callable) -> Callable:
    """``fn`` run after lowering the thread's priority (`yield_to_model`).

    The statistics thread starts at normal priority: its first jobs feed the calibration sample,
    whose fit should start while TensorFlow traces the model on one core. Every other job lowers
    the thread for good, so the forward pass keeps its cores.
    """

    def run(*args: Any, **kwargs: Any) -> Any:
        yield_to_model()
        return fn(*args, **kwargs)

    return run
