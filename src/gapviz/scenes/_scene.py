"""The `Scene` record every engine returns (the 2D compositor and Cycles alike)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Scene"]


@dataclass(frozen=True, eq=False, repr=False)
class Scene:
    """One rendered scene.

    Attributes
    ----------
    image : (H, W, 3) uint8
        The RGB image.
    mask : (H, W) bool
        Pixels of the two links (the geometric mask, unaffected by blur or noise).
    wear : float
        Wear label in percent (0-95): material removed at the contact, as a share of the wire diameter.
    seed : int
        The scene seed; with the settings and size it determines every pixel.
    preset : str
        The preset the settings started from.
    settings : dict
        Every knob's value as rendered (preset plus overrides).
    background_content : str
        What the background shows: ``"plain"``, ``"clutter"`` or a photo name (resolves ``"mixed"``).

    Examples
    --------
    >>> from gapviz.scenes import render_scene
    >>> scene = render_scene(7, preset="field", size=64)
    >>> scene
    Scene(seed=7, preset='field', size=64, wear=73.16%, background='clutter')
    >>> scene.image.shape, scene.image.dtype.name, scene.mask.shape, scene.mask.dtype.name
    ((64, 64, 3), 'uint8', (64, 64), 'bool')
    >>> scene.settings["camera_focus"], scene.size
    (3.0, 64)
    """

    image: np.ndarray
    mask: np.ndarray
    wear: float
    seed: int
    preset: str
    settings: dict[str, Any] = field(default_factory=dict)
    background_content: str = ""

    @property
    def size(self) -> int:
        """Image side in pixels."""
        return int(self.image.shape[0])

    def __repr__(self) -> str:
        return (
            f"Scene(seed={self.seed}, preset={self.preset!r}, size={self.size}, wear={self.wear:.2f}%, "
            f"background={self.background_content!r})"
        )
