"""The pipeline behind `gapviz.compare`: set up, stream, finalise, build the result.

One direction, top to bottom (no module here imports one above it)::

    gapviz.comparison.compare      the phases, in order, each timed
      _setup     arguments, model and Tapper, pairs, mask provenance, camera profile
      _shards    the sharded run: plan, cached shards, local or Dask runner, tree merge
        _dask    shards on Dask workers (imported by module path in the workers)
        _cache   finished shards' states on disk
        _shard   one shard: plan, spec, output, `execute_shard`
      _stream    one streaming pass (a whole plain run, or one shard)
      _finalise  accumulators -> statistics -> recommendations
      _result    examples, thumbnails, model impact -> `GapResult`

Dask, TensorFlow and Keras are imported inside the functions that need them.
"""
