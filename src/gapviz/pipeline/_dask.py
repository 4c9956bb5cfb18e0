"""Shards on Dask workers (``compare(..., cluster=...)``); dask itself is imported only when a cluster is asked for.

Each worker process loads the model from its file itself (Keras models are never pickled), once
per process and model file, and keeps its traced forward pass for the next shards. TensorFlow's
thread pools in a worker are sized to the cores of its host divided by the workers on that host,
so N workers do not oversubscribe the cores. Tasks carry plain data only: the shard's sub-pair
set, the stream parameters, and back the shard's accumulator and records. The workers import
`run_shard_task` by this module's path.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from gapviz._errors import GapvizError
from gapviz.models import load_model, model_source
from gapviz.models._cache import cached_tapper
from gapviz.pipeline._shard import Shard, ShardOutput, StreamSpec, execute_shard
from gapviz.stats import make_layer_reducer
from gapviz.stats.examples import WithMaps

#: per worker process: (model path, mtime, safe_mode, layers) -> (model, Tapper, reducer)
_MODELS: dict[tuple, tuple] = {}
_LOCK = threading.Lock()


def _import_dask() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise GapvizError(
            f"cluster= needs dask.distributed ({exc}); install it with pip install 'gapviz[dask]'"
        ) from None
    return distributed


def tf_threads(n_workers_on_host: int, cores: int | None = None) -> int:
    """TensorFlow intra-op threads for one of ``n`` workers sharing a host's cores (at least 1)."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, int(n_workers_on_host)))


def _set_threads(n: int) -> None:
    """Size TensorFlow's pools (before its first use in this process; later calls change nothing)
    and OpenCV's. OpenCV's thread count can move a few Canny edge pixels, so a worker gives the
    numbers of a one-process run with ``n`` OpenCV threads (docs/performance.md)."""
    import cv2

    cv2.setNumThreads(n)
    if "tensorflow" not in sys.modules:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(n)
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # already initialised in this process: keep what it has
        pass


def _worker_tapper(spec: StreamSpec) -> tuple[Any, Any]:
    key = (spec.model_path, spec.model_sha256, spec.safe_mode, tuple(spec.layers))
    with _LOCK:
        if key not in _MODELS:
            model = load_model(spec.model_path, safe_mode=spec.safe_mode)
            found = model_source(model).sha256
            if found != spec.model_sha256:
                raise GapvizError(
                    f"the model file {spec.model_path} on worker host {os.uname().nodename} has sha256 {found}, "
                    f"not the driver's {spec.model_sha256}; give every worker the same file"
                )
            tapper = cached_tapper(model, list(spec.layers))
            _MODELS[key] = (model, tapper, WithMaps(make_layer_reducer()))
        _, tapper, reducer = _MODELS[key]
    return tapper, reducer


def run_shard_task(spec: StreamSpec, shard: Shard, ask: tuple, per_host: dict) -> ShardOutput:
    """The Dask task: one shard's stream in this worker process."""
    from distributed import get_worker

    try:
        worker = get_worker()
        address = worker.address
        host = _host(address)
    except ValueError:  # run outside a worker (tests)
        address, host = "", ""
    _set_threads(tf_threads(per_host.get(host, 1)))
    tapper, reducer = _worker_tapper(spec)
    return execute_shard(spec, shard, ask, tapper, reducer, worker=address)


def _host(address: str) -> str:
    rest = address.split("://", 1)[-1]
    return rest.rsplit(":", 1)[0]


class DaskRunner:
    """Runs shards on a cluster: ``cluster`` is a worker count (a local cluster of that many
    processes, started and stopped here), a scheduler address, or a ``distributed.Client``."""

    def __init__(self, cluster: Any, spec: StreamSpec) -> None:
        self.cluster_arg, self.spec = cluster, spec
        self._own: list = []
        self.client: Any = None
        self.kind = ""

    def __enter__(self) -> DaskRunner:
        distributed = _import_dask()
        arg = self.cluster_arg
        if isinstance(arg, distributed.Client):
            self.client, self.kind = arg, "client"
        elif isinstance(arg, str):
            try:
                self.client = distributed.Client(arg, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise GapvizError(f"could not reach the Dask scheduler at {arg!r} ({exc}); check --scheduler") from None
            self._own.append(self.client)
            self.kind = "scheduler"
        else:
            import logging

            n = int(arg)
            threads = tf_threads(n)
            env = {"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1",
                   "OMP_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "2"}  # fmt: skip
            cluster = distributed.LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                silence_logs=logging.ERROR, env=env,
            )  # fmt: skip
            self._own.append(cluster)
            self.client = distributed.Client(cluster)
            self._own.insert(0, self.client)
            self.kind = "local"
        return self

    def __exit__(self, *exc: object) -> None:
        for obj in self._own:
            try:
                obj.close()
            except Exception:  # noqa: BLE001 - closing a cluster that already went away
                pass
        self._own = []

    def _per_host(self) -> dict:
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {}) if self.client else {}
        out: dict[str, int] = {}
        for address in workers:
            out[_host(address)] = out.get(_host(address), 0) + 1
        return out

    def run(self, todo: Sequence[tuple[Shard, tuple]], done: Callable[[ShardOutput], None]) -> None:
        if not todo:
            return
        from distributed import as_completed

        per_host = self._per_host()
        if not per_host:
            self.client.wait_for_workers(1, timeout=60)
            per_host = self._per_host()
        futures = [
            self.client.submit(run_shard_task, self.spec, shard, ask, per_host, pure=False,
                               key=f"gapviz-shard-{shard.index}-{os.getpid()}-{id(self)}-{ask[0]}-{ask[1]}")
            for shard, ask in todo
        ]  # fmt: skip
        waiting = set(futures)
        try:
            for future in as_completed(futures):
                out = future.result()
                waiting.discard(future)
                future.release()  # the worker drops its copy now, not at the end of the run
                done(out)
        finally:
            for future in waiting:
                future.cancel()

    def describe(self) -> dict:
        if self.client is None:  # every shard came from the cache: no cluster was started
            return {"mode": "dask", "cluster": None, "workers": 0, "scheduler": None, "tf_threads_per_worker": None}
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        return {
            "mode": "dask",
            "cluster": self.kind,
            "workers": len(workers),
            "scheduler": getattr(self.client, "scheduler", None) and self.client.scheduler.address,
            "tf_threads_per_worker": {h: tf_threads(n) for h, n in self._per_host().items()} if self.kind == "local" else None,
        }
