"""Geometry of two interlocked chain links, worn at their contact, rasterised as swept spheres.

Each link is a stadium-shaped torus (two straight wires joined by two half circles) described by
its centre line and a wire radius. The surface is rasterised as the union of spheres swept along
the centre line: every sphere is splatted into a z-buffer in one vectorised scatter-max, and the
winning sphere of a pixel gives the exact surface normal. Wear removes material on the inner side
of each link at the contact point: the local wire radius shrinks by ``wear %`` of the diameter
(outer surface kept), so a more worn solid is always inside a less worn one and the mask area can
only fall as wear rises. The share of wire removed under each pixel is kept (``Geometry.worn``):
the shader polishes that steel bright, as worn chain contacts are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# independent random streams per scene, so that e.g. a texture change never moves the geometry
STREAM_GEOMETRY, STREAM_BACKGROUND, STREAM_TEXTURE, STREAM_LIGHT, STREAM_NOISE = 1, 2, 3, 4, 5

WEAR_MAX = 95.0
_DEPTH_STEPS = 64.0  # z-buffer depth resolution: 1/64 px
_INDEX_BITS = 22  # samples per scene < 4 million


def stream(seed: int, which: int) -> np.random.Generator:
    """The random generator of one stream of one scene."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), which]))


@dataclass(frozen=True)
class Geometry:
    """A rasterised pair of links.

    Attributes
    ----------
    mask : (H, W) bool
        Pixels covered by either link.
    normal : (H, W, 3) float32
        Unit surface normal (x right, y down, z towards the camera); zero off the object.
    link : (H, W) int8
        0 or 1 for the link a pixel shows, -1 off the object.
    worn : (H, W) float32
        Share of the wire removed under each pixel (0-0.95): where wear has polished the steel.
    wear : float
        Wear in percent (0-95).
    contact : (2,) float
        Contact point in pixel coordinates (x, y).
    scale : float
        Pixels per wire-free model unit (the links' arc radius is one unit).
    wire_px : float
        Unworn wire radius in pixels.
    """

    mask: np.ndarray
    normal: np.ndarray
    link: np.ndarray
    worn: np.ndarray
    wear: float
    contact: np.ndarray
    scale: float
    wire_px: float


def _rot_x(t: float) -> np.ndarray:
    c, s = np.cos(t), np.sin(t)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(t: float) -> np.ndarray:
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(t: float) -> np.ndarray:
    c, s = np.cos(t), np.sin(t)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _stadium(
    half_straight: float, radius: float, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centre line of a stadium link in the XY plane, sampled uniformly in arc length.

    Returns points (n, 3), inward unit normals (n, 3), and the arc-length distances of each point
    from the right apex (+x) and from the left apex (-x).
    """
    a, r = half_straight, radius
    quarter, straight = np.pi * r / 2, 2 * a
    perimeter = 4 * a + 2 * np.pi * r
    s = np.arange(n) * (perimeter / n)
    b1, b2, b3, b4 = quarter, quarter + straight, 3 * quarter + straight, 3 * quarter + 2 * straight
    pts = np.zeros((n, 3))
    inward = np.zeros((n, 3))

    right_top = s < b1
    top = (s >= b1) & (s < b2)
    left = (s >= b2) & (s < b3)
    bottom = (s >= b3) & (s < b4)
    right_bottom = s >= b4

    theta = np.where(right_top, s / r, 0.0) + np.where(right_bottom, (s - b4) / r + 1.5 * np.pi, 0.0)
    on_right = right_top | right_bottom
    pts[on_right, 0] = a + r * np.cos(theta[on_right])
    pts[on_right, 1] = r * np.sin(theta[on_right])
    inward[on_right, 0] = -np.cos(theta[on_right])
    inward[on_right, 1] = -np.sin(theta[on_right])

    pts[top, 0] = a - (s[top] - b1)
    pts[top, 1] = r
    inward[top, 1] = -1.0

    phi = (s[left] - b2) / r + 0.5 * np.pi
    pts[left, 0] = -a + r * np.cos(phi)
    pts[left, 1] = r * np.sin(phi)
    inward[left, 0] = -np.cos(phi)
    inward[left, 1] = -np.sin(phi)

    pts[bottom, 0] = -a + (s[bottom] - b3)
    pts[bottom, 1] = -r
    inward[bottom, 1] = 1.0

    from_right = np.minimum(s, perimeter - s)
    from_left = np.abs(s - (2 * quarter + straight))
    return pts, inward, from_right, from_left


@dataclass(frozen=True)
class LinkDraws:
    """A scene's geometric draws (`stream(seed, STREAM_GEOMETRY)`, in this order), shared by both engines."""

    wear: float
    radius: float  # arc radius of the centre line: the model unit
    wire: float  # thickness
    half: float  # from round links to long ones
    swing_x: float  # plane of link B against link A
    hinge_y: float  # B swings about A's wire (keeps the contact)
    hinge_z: float  # B slides along A's end arc
    roll: float
    tilt_x: float
    tilt_y: float
    fill: float  # object extent / image side; the far ends may leave the frame
    place: np.ndarray  # the joint is framed: within 12 % of the image centre

    @property
    def rotation(self) -> np.ndarray:
        """The pose of the pair of links (roll, then the two tilts)."""
        return _rot_z(self.roll) @ _rot_x(self.tilt_x) @ _rot_y(self.tilt_y)


def draw_links(seed: int, wear: float | None = None) -> LinkDraws:
    """The draws of scene ``seed``; the first is the wear label, which ``wear`` may override."""
    rng = stream(seed, STREAM_GEOMETRY)
    seed_wear = round(float(rng.uniform(0.0, WEAR_MAX)), 2)  # first draw: the label
    radius = 1.0
    wire = rng.uniform(0.2, 0.34) * radius
    half = rng.uniform(0.25, 1.0) * radius
    swing_x = np.pi / 2 + rng.uniform(-0.35, 0.35)
    hinge_y = rng.uniform(-0.6, 0.6)
    hinge_z = rng.uniform(-0.3, 0.3)
    roll = rng.uniform(0.0, 2 * np.pi)
    tilt_x, tilt_y = rng.uniform(-0.85, 0.85, size=2)
    fill = rng.uniform(0.65, 1.0)
    place = rng.uniform(-1.0, 1.0, size=2)
    return LinkDraws(wear=seed_wear if wear is None else float(wear), radius=radius, wire=wire, half=half,
                     swing_x=swing_x, hinge_y=hinge_y, hinge_z=hinge_z, roll=roll, tilt_x=tilt_x, tilt_y=tilt_y,
                     fill=fill, place=place)  # fmt: skip


def link_centres(d: LinkDraws, n: int) -> tuple[np.ndarray, ...]:
    """The two links' centre lines (``n`` samples each, before the pose), worn from the inner side.

    Returns ``(centres (2n, 3), inward normals (2n, 3), wear bump (2n,), tube radii (2n,), contact (3,))``.
    """
    half, radius, wire = d.half, d.radius, d.wire
    pa, na, ra, _ = _stadium(half, radius, n)
    pb, nb, _, lb = _stadium(half, radius, n)
    width = 0.55 * radius  # arc length over which wear fades out
    ga = np.exp(-0.5 * (ra / width) ** 2)
    gb = np.exp(-0.5 * (lb / width) ** 2)

    # link B: turned about its long axis, hooked through A's right end, then hinged about the contact
    rb = _rot_x(d.swing_x)
    pb, nb = pb @ rb.T, nb @ rb.T
    pb[:, 0] += 2 * half + 2 * radius - 2 * wire
    hy = _rot_y(d.hinge_y)
    pivot = np.array([half + radius, 0.0, 0.0])  # A's wire centre at the contact
    pb, nb = (pb - pivot) @ hy.T + pivot, nb @ hy.T
    hz = _rot_z(d.hinge_z)
    pivot = np.array([half, 0.0, 0.0])  # centre of A's end arc
    pb, nb = (pb - pivot) @ hz.T + pivot, nb @ hz.T
    contact = np.array([half + radius - wire, 0.0, 0.0])

    centres = np.concatenate([pa, pb])
    inward = np.concatenate([na, nb])
    bump = np.concatenate([ga, gb])
    radii = wire * (1.0 - d.wear / 100.0 * bump)
    centres = centres - (wire - radii)[:, None] * inward  # material goes from the inner side
    return centres, inward, bump, radii, contact


def draw_wear(seed: int) -> float:
    """The wear label (percent, two decimals) that ``seed`` draws."""
    return round(float(stream(seed, STREAM_GEOMETRY).uniform(0.0, WEAR_MAX)), 2)


def build_geometry(seed: int, size: int, *, wear: float | None = None) -> Geometry:
    """Pose two interlocked links from ``seed`` and rasterise them at ``size`` x ``size`` px.

    The pose, proportions and placement are drawn in size-free units, so one seed gives the same
    picture at every size. ``wear`` (percent) overrides the seed's own label.
    """
    d = draw_links(seed, wear)
    wear, wire, half, radius, fill, place = d.wear, d.wire, d.half, d.radius, d.fill, d.place

    # enough samples that the swept-sphere surface ripple stays far below a pixel
    scale_guess = fill * size / (4 * (half + radius + wire))
    perimeter = 4 * half + 2 * np.pi * radius
    n = int(np.clip(np.ceil(perimeter * scale_guess / max(0.5, 0.25 * wire * scale_guess)), 64, 1 << 16))

    centres, inward, bump, radii, contact = link_centres(d, n)
    omega = wear / 100.0
    link_id = np.repeat(np.array([0, 1], dtype=np.int8), n)

    pose = d.rotation
    centres = centres @ pose.T
    contact = contact @ pose.T

    lo = (centres[:, :2] - wire).min(axis=0)
    hi = (centres[:, :2] + wire).max(axis=0)
    scale = fill * size / float((hi - lo).max())
    offset = size * (0.5 + 0.12 * place) - scale * contact[:2]
    px = centres[:, :2] * scale + offset
    pz = centres[:, 2] * scale
    tangent = np.concatenate(
        [np.roll(c, -1, axis=0) - np.roll(c, 1, axis=0) for c in (centres[:n], centres[n:])]
    )
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    removed = (omega * bump).astype(np.float32)
    mask, normal, link, worn = _rasterise(px, pz, radii * scale, tangent, link_id, removed, size)
    return Geometry(
        mask=mask,
        normal=normal,
        link=link,
        worn=worn,
        wear=wear,
        contact=contact[:2] * scale + offset,
        scale=scale,
        wire_px=wire * scale,
    )


def _rasterise(
    xy: np.ndarray,
    z: np.ndarray,
    r: np.ndarray,
    tangent: np.ndarray,
    link_id: np.ndarray,
    removed: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Splat spheres (pixel centres ``xy``, depth ``z``, radius ``r``) into a z-buffer.

    One scatter-max over all (sphere, pixel) candidates; the key packs the quantised height with
    the sphere index, so the winner per pixel is exact and deterministic. The normal is the
    winning sphere's radius vector with its component along the centre line removed: the normal
    of the swept tube, free of the ripple a pure sphere normal would show.
    """
    reach = int(np.ceil(r.max())) + 1
    oy, ox = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    keep = ox**2 + oy**2 <= (reach + 0.5) ** 2
    ox, oy = ox[keep], oy[keep]

    base = np.floor(xy).astype(np.int64)
    ix = base[:, :1] + ox[None, :]
    iy = base[:, 1:] + oy[None, :]
    dx = ix + 0.5 - xy[:, :1]
    dy = iy + 0.5 - xy[:, 1:]
    d2 = dx * dx + dy * dy
    r2 = (r * r)[:, None]
    hit = (d2 < r2) & (ix >= 0) & (ix < size) & (iy >= 0) & (iy < size)
    sample = np.broadcast_to(np.arange(len(r))[:, None], hit.shape)[hit]
    height = z[sample] + np.sqrt(r2[sample, 0] - d2[hit])
    pix = iy[hit] * size + ix[hit]

    zmin = float((z - r).min())
    key = (np.round((height - zmin) * _DEPTH_STEPS).astype(np.int64) << _INDEX_BITS) | sample
    buffer = np.full(size * size, -1, dtype=np.int64)
    np.maximum.at(buffer, pix, key)

    covered = buffer >= 0
    win = buffer[covered] & ((1 << _INDEX_BITS) - 1)
    flat = np.flatnonzero(covered)
    px_x = flat % size + 0.5 - xy[win, 0]
    px_y = flat // size + 0.5 - xy[win, 1]
    pz = np.sqrt(np.maximum(r[win] ** 2 - px_x**2 - px_y**2, 0.0))
    nrm = np.stack([px_x, px_y, pz], axis=1)
    t = tangent[win]
    nrm -= np.sum(nrm * t, axis=1, keepdims=True) * t
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-12

    normal = np.zeros((size * size, 3), dtype=np.float32)
    normal[covered] = nrm
    link = np.full(size * size, -1, dtype=np.int8)
    link[covered] = link_id[win]
    worn = np.zeros(size * size, dtype=np.float32)
    worn[covered] = removed[win]
    return (
        covered.reshape(size, size),
        normal.reshape(size, size, 3),
        link.reshape(size, size),
        worn.reshape(size, size),
    )
