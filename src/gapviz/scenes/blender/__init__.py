"""The Blender engine of the built-in scenes: two steel links in 3D, rendered with Cycles.

The same seeds, knobs and presets as the 2D scenes, realised in a 3D scene: a physical camera
(50 mm lens, 36 mm sensor, thin-lens depth of field), a photo backdrop, a sun and a world light,
steel materials in the three texture styles, wear as material removed at the contact, and the
object mask from Cycles' object-index pass. bpy runs in a separate Python (see `blender_python`),
so importing this module never imports bpy.
"""

from gapviz.scenes.blender._engine import (
    DEFAULT_SAMPLES,
    ENV_VAR,
    RIG,
    BlenderNotFoundError,
    BlenderRequest,
    BlenderScene,
    blender_python,
    fstop_for_sigma,
    physical_settings,
    pose,
    render_requests,
    sigma_for_fstop,
)

__all__ = [
    "DEFAULT_SAMPLES",
    "ENV_VAR",
    "RIG",
    "BlenderNotFoundError",
    "BlenderRequest",
    "BlenderScene",
    "blender_python",
    "fstop_for_sigma",
    "physical_settings",
    "pose",
    "render_requests",
    "sigma_for_fstop",
]
