"""Procedural chain-shackle scenes with the rendering knobs of the recommendation vocabulary.

Two interlocked chain links in varied poses, worn at their contact, over plain, cluttered or
photographic backgrounds, rendered through a small physical camera model whose knobs
(`KNOBS`) are the ones gapviz's recommendations name. Pure numpy/OpenCV: no TensorFlow here.

Examples
--------
>>> from gapviz.scenes import render_pair
>>> real, synth = render_pair(0, "field", "dataset1", size=96)
>>> real.image.shape, synth.settings["camera_focus"]
((96, 96, 3), 0.0)
"""

from gapviz.scenes._knobs import KNOBS, PRESETS, Knob, parse_overrides, resolve_settings
from gapviz.scenes._render import render_pair, render_scene
from gapviz.scenes._scene import Scene
from gapviz.scenes._write import write_scenes

__all__ = [
    "KNOBS",
    "PRESETS",
    "Knob",
    "Scene",
    "parse_overrides",
    "render_pair",
    "render_scene",
    "resolve_settings",
    "write_scenes",
]
