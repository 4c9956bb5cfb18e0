"""The pass never queues more than MAX_PENDING batches for a statistics thread that falls behind.

Each queued job holds its batch's images, so an unbounded queue grows with the number of pairs when the
statistics are slower than the forward pass (a light model, a busy machine: the statistics thread runs at
a lower OS priority). With back-pressure memory is a few batches, and the numbers are the same.
"""

from __future__ import annotations

import time

import gapviz
from gapviz.pipeline import _stream
from json_equal import assert_same


def _run(model, folder, **kwargs):
    return gapviz.compare(model, folder / "real" / "images", folder / "synth" / "images",
                          masks={"real": folder / "real" / "masks", "synth": folder / "synth" / "masks"},
                          batch_size=2, progress=False, recommendations=False, impact=False, n_boot=50,
                          **kwargs)  # fmt: skip


def test_slow_statistics_are_waited_for_and_give_the_same_numbers(edge_model, scenes, monkeypatch):
    folder = scenes("same")
    before = _run(edge_model, folder).to_dict()

    fast = _stream.image_stats_pairs
    queued: list[int] = []
    drain = _stream._Pass._drain

    def slow_stats(*args, **kwargs):
        time.sleep(0.3)  # far slower than the tiny model's forward pass over 2 pairs
        return fast(*args, **kwargs)

    def watched_drain(self):
        drain(self)
        queued.append(len(self.pending))

    monkeypatch.setattr(_stream, "image_stats_pairs", slow_stats)
    monkeypatch.setattr(_stream._Pass, "_drain", watched_drain)
    after = _run(edge_model, folder).to_dict()

    assert len(queued) == 8  # 16 pairs in batches of 2
    assert max(queued) == _stream.MAX_PENDING  # the queue filled up to the bound, and no further
    for d in (before, after):
        d.pop("created")
        d.pop("execution")
    assert_same(after, before, rel=0, abs_=0)
