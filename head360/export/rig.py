"""Rig export: the head as a glTF 2.0 binary (``.glb``) that Blender, Unreal, Unity and three.js animate.

What the file holds (metres, +Y up, face along +Z: glTF's own conventions, so no axis change)::

    scene
    ├── node "head360"   the skeleton's one joint (skin "head360"); a take's head rotation animates it
    │   └── node "hair"  mesh "hair": marching cubes of the field with hair where it stands off the
    │                    head mesh, vertex colours from the field (absent when the head has no hair);
    │                    a child of the joint, so it follows the head rigidly
    └── node "head"      mesh "head", skinned to that joint (every vertex, weight 1): the bilinear mesh
                         V(s, 0) at the subject's shape code, in the template's UVs, one primitive per part
                         (skin, eyes, teeth, mouth), each with 52 morph targets named as ARKit names them
                         (``mesh.extras.targetNames``) and a material that reads the one baked colour
                         texture (PNG in the GLB)

The skin makes the head a skeletal mesh with morph targets, the kind of asset engines drive with Live Link
Face curves (Unreal keeps morph targets only on skeletal meshes); glTF puts a skinned mesh at the root.

The morph targets are the subject's own blendshape deltas, ``E_j + sum_k s_k X_jk`` of
:class:`head360.mesh.model.MeshModel`, so ``base + sum_j b_j target_j`` is exactly ``V(s, b)``.
A take (:class:`head360.anim.arkit_io.WeightTrack`) becomes a glTF animation at its frame rate: the
52 weights per frame (LINEAR) and, when recorded, the head rotation as the root's rotation.

Colour: :func:`field_colors` is the one place that decides how the model's field becomes the colour of
a surface point; :func:`bake_texture` calls it for every texel of the head's atlas, :func:`build_rig` for
the hair's vertices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from head360.arkit import ARKIT_NAMES, NUM_BLENDSHAPES
from head360.cameras import METRES_PER_UNIT
from head360.errors import Head360Error
from head360.fileio import atomic_path
from head360.labels import Label

RIG_SUFFIXES = (".glb",)

PART_GROUPS: dict[str, tuple[str, ...]] = {
    "skin": ("skin", "ear_left", "ear_right", "eye_socket_left", "eye_socket_right"),
    "eyes": ("eyeball_left", "eyeball_right"),
    "teeth": ("teeth_upper", "teeth_lower"),
    "mouth": ("mouth_bag", "tongue"),
}
"""glTF primitives (and materials) of the head and the template parts (``MeshModel.info["parts"]``) in each."""

ROUGHNESS = {"skin": 0.6, "eyes": 0.15, "teeth": 0.35, "mouth": 0.5, "hair": 0.8}

Progress = Callable[[float, str], None]


# --- configuration ---------------------------------------------------------------------------------
@dataclass
class BakeConfig:
    """How :func:`bake_texture` reads colour off the field (distances in world units, 1 = 10 cm)."""

    outside: float = 0.08
    """Each texel's ray starts this far outside the mesh surface, along its normal (8 mm): beyond the
    layer :func:`hair_mesh` leaves to the texture, so hair lying on the scalp shows in the texture."""
    inside: float = 0.03
    """... and ends this far inside it (3 mm)."""
    samples: int = 12
    """Field samples along that ray, composited front to back as the volume renderer does."""
    hair: bool = True
    """Read the field with the hair planes (where the head has hair), so a scalp the viewport shows through
    thin hair, or hair lying inside the bald head's surface, keeps the hair's colour. :func:`build_rig` bakes
    the bald head instead when the rig has no hair (``--no-hair``: a bald scalp for other hair)."""
    chunk: int = 1 << 16
    """Texels per field evaluation (memory)."""


@dataclass
class RigConfig:
    """What :func:`build_rig` puts in the file."""

    texture_resolution: int = 1024
    """Side of the baked colour texture in texels."""
    hair: bool = True
    """Include the hair mesh (when the head has a hairstyle)."""
    hair_resolution: int = 256
    """Grid cells per side for the hair's marching cubes."""
    hair_iso: float | None = None
    """Density level of the hair surface (None: :func:`head360.export.mesh.auto_iso`)."""
    hair_decimate: float | None = None
    """Keep about this fraction of the hair's faces (None: all)."""
    bake: BakeConfig = field(default_factory=BakeConfig)

    def validate(self) -> RigConfig:
        if not 16 <= self.texture_resolution <= 8192:
            raise Head360Error(f"texture resolution must be 16..8192 texels, got {self.texture_resolution}")
        if not 8 <= self.hair_resolution <= 1024:
            raise Head360Error(f"hair resolution must be 8..1024 grid cells, got {self.hair_resolution}")
        if self.hair_decimate is not None and not 0.0 < self.hair_decimate <= 1.0:
            raise Head360Error(f"hair decimation keeps a fraction of faces in (0, 1], got {self.hair_decimate}")
        if self.bake.samples < 1 or self.bake.outside < 0 or self.bake.inside < 0:
            raise Head360Error("bake needs at least one sample and non-negative distances")
        return self


# --- the rig in memory -----------------------------------------------------------------------------
@dataclass
class RigPart:
    """One primitive of the head mesh (glTF vertices: template vertices split at UV seams).

    positions: [N, 3] float32 metres (the neutral head V(s, 0))
    normals:   [N, 3] float32 unit
    texcoords: [N, 2] float32 glTF convention (origin top-left: v = 1 - template v)
    indices:   [M, 3] uint32 counter-clockwise from outside
    targets:   [52, N, 3] float32 metres, position deltas in ARKit order
    source:    [N] int64 template vertex of each glTF vertex
    """

    name: str
    positions: np.ndarray
    normals: np.ndarray
    texcoords: np.ndarray
    indices: np.ndarray
    targets: np.ndarray
    source: np.ndarray


@dataclass
class RigHair:
    """positions [N, 3] float32 metres, normals [N, 3], colors [N, 3] uint8 sRGB (written as linear
    COLOR_0), indices [M, 3] uint32."""

    positions: np.ndarray
    normals: np.ndarray
    colors: np.ndarray
    indices: np.ndarray


@dataclass
class RigAnimation:
    """times [T] float32 seconds (strictly increasing), weights [T, 52] float32, rotations [T, 4] float32
    unit quaternions (x, y, z, w) of the root or None."""

    name: str
    times: np.ndarray
    weights: np.ndarray
    rotations: np.ndarray | None = None


@dataclass
class Rig:
    parts: list[RigPart]
    texture: np.ndarray
    """[H, W, 3] uint8, row 0 at glTF v = 0 (the top)."""
    default_weights: np.ndarray
    """[52] the morph weights the mesh shows when nothing animates it."""
    hair: RigHair | None = None
    animation: RigAnimation | None = None
    source: str = ""

    @property
    def num_vertices(self) -> int:
        return sum(len(p.positions) for p in self.parts)


def field_colors(
    generator, planes, points: np.ndarray, normals: np.ndarray, config: BakeConfig | None = None
) -> np.ndarray:
    """The colour the model shows at surface points: points [N, 3] world, normals [N, 3] -> [N, 3] float32
    RGB in [0, 1] (the first three of :func:`field_features`)."""
    return np.clip(field_features(generator, planes, points, normals, config)[:, :3], 0.0, 1.0)


def field_features(
    generator, planes, points: np.ndarray, normals: np.ndarray, config: BakeConfig | None = None
) -> np.ndarray:
    """The field's features (0..2 = RGB) at surface points, as :func:`field_colors` reads them: [N, F].

    A short ray from ``config.outside`` outside each point to ``config.inside`` inside it (along its
    normal) is sampled ``config.samples`` times and the field's RGB is composited by the field's density
    as the volume renderer does, normalised by the opacity reached; where the ray meets almost nothing,
    the colour at the point itself."""
    import torch

    cfg = config or BakeConfig()
    n = np.asarray(normals, np.float32)
    n = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-8)
    points = np.asarray(points, np.float32)
    offsets = np.linspace(cfg.outside, -cfg.inside, cfg.samples, dtype=np.float32)  # [S] along +n
    step = (cfg.outside + cfg.inside) / max(cfg.samples - 1, 1)
    colors = np.zeros((len(points), generator.config.decoder.features), np.float32)
    dev = generator.device
    with torch.no_grad():
        for i in range(0, len(points), cfg.chunk):
            p = torch.as_tensor(points[i : i + cfg.chunk], device=dev)
            d = torch.as_tensor(n[i : i + cfg.chunk], device=dev)
            k = len(p)
            ray = p[:, None] + d[:, None] * torch.as_tensor(offsets, device=dev)[None, :, None]  # [k, S, 3]
            sigma, feats = generator.field(planes, ray.reshape(1, -1, 3), cfg.hair)
            sigma = sigma.reshape(k, cfg.samples)
            rgb = feats[0].reshape(k, cfg.samples, -1)
            alpha = 1.0 - torch.exp(-sigma * step)
            trans = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1.0 - alpha[:, :-1] + 1e-10], 1), 1)
            w = alpha * trans  # [k, S]
            opacity = w.sum(1, keepdim=True)
            composited = (w[..., None] * rgb).sum(1) / opacity.clamp_min(1e-6)
            at_point = generator.field(planes, p[None], cfg.hair)[1][0]
            colors[i : i + k] = torch.where(opacity > 1e-3, composited, at_point).cpu().numpy()
    return colors


# --- the texture -----------------------------------------------------------------------------------
def bake_texture(
    generator, planes, vertices: np.ndarray, resolution: int, config: BakeConfig | None = None
) -> np.ndarray:
    """The head's colour in the template's UV atlas: [resolution, resolution, 3] uint8; row 0 is template
    v = 1, i.e. glTF's v = 0 (the top of the image), so the array is the glTF image as it is.

    generator: :class:`head360.model.generator.Head360Generator`; planes: its planes for one head;
    vertices:  [V, 3] world units, the mesh those planes were made from (``V(s, b)`` at their expression).

    Each texel covered by the atlas is a point on that mesh with an interpolated normal, coloured by
    :func:`field_colors`. Texels outside the atlas take their nearest covered texel's colour, so
    filtering never shows the background at seams.
    """
    import head360.gl  # noqa: F401  (EGL before OpenGL is imported)
    from head360.gl.bake import dilate_islands, rasterize_uv
    from head360.gl.glutil import vertex_normals

    mesh = generator.mesh
    verts = np.asarray(vertices, np.float32)
    if verts.shape != (mesh.num_vertices, 3):
        raise Head360Error(f"bake_texture needs the mesh's {mesh.num_vertices} vertices, got {verts.shape}")
    normals = vertex_normals(verts, mesh.faces)
    corners = np.concatenate([verts[mesh.faces], normals[mesh.faces]], axis=2)  # [F, 3, 6]
    values, coverage = rasterize_uv(mesh.uvs, mesh.faces_uv, corners, resolution)
    features = field_features(generator, planes, values[coverage, :3], values[coverage, 3:6], config)
    image = np.zeros((resolution, resolution, 3), np.float32)
    image[coverage] = np.clip(features[:, :3], 0.0, 1.0)
    if generator.screen is not None and planes.texture is not None:
        # the camera-view path draws the viewport's face: bake what it shows with each texel seen head-on
        image = generator.screen.bake(planes.texture, image, features, coverage)
    if coverage.any() and not coverage.all():
        image = dilate_islands(image, coverage, 2 * resolution)
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


# --- building --------------------------------------------------------------------------------------
def face_groups(mesh) -> dict[str, np.ndarray]:
    """Face indices of each primitive (:data:`PART_GROUPS`), empty groups left out.

    From the template's part vertex ranges (``mesh.info["parts"]``; a face belongs to the part of its
    highest-numbered vertex, since linings and the mouth bag share the skin's rim vertices); for a mesh
    model without them, from the face labels (eyes, mouth interior, the rest skin)."""
    parts = mesh.info.get("parts")
    faces = np.asarray(mesh.faces, np.int64)
    if parts:
        vertex_part = np.full(mesh.num_vertices, "", dtype=object)
        for name, (start, end) in parts.items():
            vertex_part[start:end] = name
        face_part = vertex_part[faces.max(axis=1)]
        groups = {g: np.nonzero(np.isin(face_part, names))[0] for g, names in PART_GROUPS.items()}
        known = set().union(*PART_GROUPS.values())
        other = np.nonzero(~np.isin(face_part, list(known)))[0]
        groups["skin"] = np.sort(np.concatenate([groups["skin"], other]))
    else:
        label = np.asarray(mesh.face_label)
        groups = {
            "skin": np.nonzero((label != int(Label.EYES)) & (label != int(Label.MOUTH_INTERIOR)))[0],
            "eyes": np.nonzero(label == int(Label.EYES))[0],
            "mouth": np.nonzero(label == int(Label.MOUTH_INTERIOR))[0],
        }
    return {g: f for g, f in groups.items() if len(f)}


def subject_deltas(mesh, shape_code: np.ndarray) -> np.ndarray:
    """The subject's blendshape deltas [52, V, 3] world units: ``E_j + sum_{k<K} s_k X_jk``."""
    s = np.asarray(shape_code, np.float32)
    k = mesh.interaction_rank
    deltas = mesh.expr_basis.astype(np.float32)
    if k:
        deltas = deltas + np.tensordot(s[:k], mesh.expr_shape_basis, axes=([0], [1]))
    return deltas.astype(np.float32)


def _unit_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals [V, 3] float32, +y for isolated vertices (glTF wants unit normals)."""
    from head360.gl.glutil import vertex_normals

    n = vertex_normals(vertices, faces)
    return np.where(np.linalg.norm(n, axis=1, keepdims=True) > 0.5, n, np.float32([0, 1, 0])).astype(np.float32)


def head_parts(mesh, shape_code: np.ndarray) -> list[RigPart]:
    """The head's primitives at the shape code, in metres, split at UV seams."""
    base = mesh.vertices_np(shape_code, None)  # [V, 3]
    normals = _unit_normals(base, mesh.faces)
    deltas = subject_deltas(mesh, shape_code)
    faces = np.asarray(mesh.faces, np.int64)
    faces_uv = np.asarray(mesh.faces_uv, np.int64)
    uvs = np.asarray(mesh.uvs, np.float32)
    parts = []
    for name, idx in face_groups(mesh).items():
        corner_v = faces[idx].reshape(-1)
        corner_t = faces_uv[idx].reshape(-1)
        pairs, inverse = np.unique(np.stack([corner_v, corner_t], 1), axis=0, return_inverse=True)
        src, tex = pairs[:, 0], pairs[:, 1]
        texcoords = np.stack([uvs[tex, 0], 1.0 - uvs[tex, 1]], 1).astype(np.float32)
        parts.append(
            RigPart(
                name=name,
                positions=(base[src] * METRES_PER_UNIT).astype(np.float32),
                normals=np.ascontiguousarray(normals[src], np.float32),
                texcoords=texcoords,
                indices=inverse.reshape(-1, 3).astype(np.uint32),
                targets=np.ascontiguousarray(deltas[:, src] * METRES_PER_UNIT, np.float32),
                source=src.astype(np.int64),
            )
        )
    return parts


def hair_mesh(
    generator,
    planes,
    head_vertices: np.ndarray,
    resolution: int = 256,
    iso: float | None = None,
    decimate: float | None = None,
    margin: float = 0.04,
    color: BakeConfig | None = None,
):
    """Marching cubes of the hair: the field with hair where it is dense (above ``iso``) and lies more than
    ``margin`` (world units; 4 mm) outside the explicit head mesh ``head_vertices`` [V, 3] -> an
    :class:`head360.export.mesh.ExportedMesh` in world units with the field's colours, or None when the
    planes carry no hair or nothing of the field stands out of the head.

    Outside is judged by the nearest vertex of the head's outer parts and its normal (the signed distance
    to the mesh, to about half an edge). Density that hugs the head closer than ``margin`` (where the
    field's surface and the mesh disagree by a few millimetres, e.g. on the face) is not hair: it is the
    skin's texture. The gate ramps over ``margin`` so the hair's inner side is a smooth closed surface.
    Vertex colours: :func:`field_colors` with ``color`` (default: :class:`BakeConfig`, with hair)."""
    from scipy.spatial import cKDTree

    from head360.export.mesh import (
        ExportedMesh,
        auto_iso,
        decimate_mesh,
        density_grid,
        drop_small_parts,
        grid_coordinates,
        surface_from_grid,
    )
    from head360.gl.glutil import vertex_normals

    if planes.hair is None:
        return None
    mesh = generator.mesh
    dens = density_grid(generator, planes, resolution, hair=True, skip_empty=True)
    level = auto_iso(dens) if iso is None else float(iso)
    outer = _outer_vertices(mesh)
    verts = np.asarray(head_vertices, np.float32)
    normals = vertex_normals(verts, mesh.faces)[outer]
    anchors = verts[outer]
    tree = cKDTree(anchors)
    coords = grid_coordinates(resolution)
    gate = np.zeros_like(dens)
    dense = np.argwhere(dens > level)
    chunk = 1 << 20
    for i in range(0, len(dense), chunk):
        idx = dense[i : i + chunk]
        points = coords[idx]
        dist, near = tree.query(points)
        side = np.sign(np.einsum("ij,ij->i", points - anchors[near], normals[near]))
        gate[tuple(idx.T)] = np.clip((side * dist - margin) / margin, 0.0, 1.0)
    hair_only = np.minimum(dens, 2.0 * level * gate)
    if not hair_only.max() > level:
        return None
    hv, hf = surface_from_grid(hair_only, level)
    colors = field_colors(generator, planes, hv, _unit_normals(hv, hf), replace(color or BakeConfig(), hair=True))
    out = drop_small_parts(ExportedMesh(hv, hf, np.round(colors * 255.0).astype(np.uint8), level))
    if decimate is not None and decimate < 1.0:
        out = drop_small_parts(decimate_mesh(out, decimate))
    return out


def _outer_vertices(mesh) -> np.ndarray:
    """Vertices of the head's outer surface (skin and ears; every vertex for a model without part ranges)."""
    parts = mesh.info.get("parts")
    if not parts:
        return np.arange(mesh.num_vertices)
    keep = [np.arange(*parts[name]) for name in ("skin", "ear_left", "ear_right") if name in parts]
    return np.concatenate(keep) if keep else np.arange(mesh.num_vertices)


def rig_animation(track, head_pose: bool = True) -> RigAnimation:
    """A take at its own frame rate (``track.resampled(track.fps)``) -> :class:`RigAnimation`.
    head_pose: keep the recorded head rotation (yaw, pitch, roll: ``R = Ry Rx Rz``) as the root's."""
    from scipy.spatial.transform import Rotation

    if len(track) == 0:
        raise Head360Error("the take has no frames")
    take = track.resampled(track.fps) if len(track) > 1 else track
    times = np.asarray(take.times, np.float64)
    if len(times) > 1 and not (np.diff(times) > 0).all():
        raise Head360Error("the take's frame times do not increase")
    rotations = None
    if head_pose and take.head_rotation is not None:
        q = Rotation.from_euler("YXZ", np.asarray(take.head_rotation, np.float64), degrees=True).as_quat()
        rotations = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    weights = np.clip(np.asarray(take.weights, np.float32), 0.0, 1.0)
    name = Path(take.source).stem if take.source else "take"  # a file's name without its folder
    return RigAnimation(name or "take", times.astype(np.float32), weights, rotations)


def build_rig(
    generator,
    subject,
    weights: np.ndarray | None = None,
    hairstyle="keep",
    config: RigConfig | None = None,
    take=None,
    head_pose: bool = True,
    progress: Progress | None = None,
) -> Rig:
    """The rig of a subject (:class:`head360.model.checkpoint.Subject`).

    weights:   [52] the expression the mesh shows by default (None: the subject's); the geometry is
               always the neutral V(s, 0) with the 52 targets
    hairstyle: "keep" (the subject's), a name, or None for no hair mesh
    take:      a :class:`head360.anim.arkit_io.WeightTrack` to store as the animation, or None
    progress:  called with (fraction 0..1, what is being done)
    """
    import torch

    from head360.model.checkpoint import subject_planes

    cfg = (config or RigConfig()).validate()
    report = progress or (lambda fraction, message: None)
    mesh = generator.mesh
    shape = np.asarray(subject.shape_code, np.float32)
    if shape.shape != (mesh.shape_dim,):
        raise Head360Error(f"the subject's shape code has {shape.shape[0]} values, this model uses {mesh.shape_dim}")
    default = np.asarray(subject.blend_weights if weights is None else weights, np.float32).reshape(-1)
    if default.shape != (NUM_BLENDSHAPES,):
        raise Head360Error(f"expected {NUM_BLENDSHAPES} blendshape weights, got {default.shape[0]}")
    animation = None if take is None else rig_animation(take, head_pose)
    report(0.02, "building the mesh and its 52 morph targets")
    parts = head_parts(mesh, shape)
    # bake where the planes can be made: neutral, unless the subject's optimised planes fix an expression
    bake_weights = subject.blend_weights if subject.head_planes is not None else np.zeros(NUM_BLENDSHAPES, np.float32)
    style = (subject.hairstyle if hairstyle == "keep" else hairstyle) if cfg.hair else None
    with torch.no_grad():
        report(0.08, "building planes")
        planes = subject_planes(generator, subject, bake_weights, style)
        report(0.15, f"baking the {cfg.texture_resolution}² colour texture")
        bake = cfg.bake if style is not None else replace(cfg.bake, hair=False)
        texture = bake_texture(generator, planes, mesh.vertices_np(shape, bake_weights), cfg.texture_resolution, bake)
        hair = None
        if style is not None:
            report(0.6, f"hair: marching cubes {cfg.hair_resolution}³")
            exported = hair_mesh(
                generator,
                planes,
                mesh.vertices_np(shape, bake_weights),
                cfg.hair_resolution,
                cfg.hair_iso,
                cfg.hair_decimate,
                color=cfg.bake,
            )
            if exported is not None:
                hair = RigHair(
                    (exported.vertices * METRES_PER_UNIT).astype(np.float32),
                    _unit_normals(exported.vertices, exported.faces),
                    exported.colors.astype(np.uint8),
                    exported.faces.astype(np.uint32),
                )
    report(0.9, "writing")
    return Rig(parts, np.ascontiguousarray(texture), default, hair, animation, subject.source)


# --- writing ---------------------------------------------------------------------------------------
class _Blob:
    """The GLB's binary chunk, built view by view (each 4-byte aligned)."""

    def __init__(self, gltf) -> None:
        self.gltf = gltf
        self.chunks: list[bytes] = []
        self.size = 0

    def view(self, data: bytes, target: int | None = None) -> int:
        from pygltflib import BufferView

        pad = (-self.size) % 4
        if pad:
            self.chunks.append(b"\0" * pad)
            self.size += pad
        self.gltf.bufferViews.append(BufferView(buffer=0, byteOffset=self.size, byteLength=len(data), target=target))
        self.chunks.append(data)
        self.size += len(data)
        return len(self.gltf.bufferViews) - 1

    def accessor(self, array: np.ndarray, kind: str, target: int | None = None, bounds: bool = False, **kw) -> int:
        from pygltflib import Accessor

        codes = {np.dtype(np.float32): 5126, np.dtype(np.uint32): 5125, np.dtype(np.uint16): 5123,
                 np.dtype(np.uint8): 5121}  # fmt: skip
        array = np.ascontiguousarray(array)
        width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}[kind]
        rows = array.reshape(-1, width)
        acc = Accessor(
            bufferView=self.view(array.tobytes(), target),
            componentType=codes[array.dtype],
            count=len(rows),
            type=kind,
            **kw,
        )
        if bounds:
            acc.min = [float(x) for x in rows.min(0)]
            acc.max = [float(x) for x in rows.max(0)]
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    def data(self) -> bytes:
        out = b"".join(self.chunks)
        return out + b"\0" * ((-len(out)) % 4)


def rig_to_glb(rig: Rig) -> bytes:
    """The rig as glTF 2.0 binary bytes (see the module docstring for its layout)."""
    import io

    from PIL import Image
    from pygltflib import (
        GLTF2,
        Animation,
        AnimationChannel,
        AnimationChannelTarget,
        AnimationSampler,
        Asset,
        Attributes,
        Buffer,
        Material,
        Mesh,
        Node,
        PbrMetallicRoughness,
        Primitive,
        Sampler,
        Scene,
        Skin,
        Texture,
        TextureInfo,
    )
    from pygltflib import (
        Image as GltfImage,
    )

    array_buffer, element_buffer = 34962, 34963
    gltf = GLTF2(asset=Asset(version="2.0", generator="Head360 Studio rig export"))
    blob = _Blob(gltf)
    png = io.BytesIO()
    Image.fromarray(rig.texture).save(png, format="PNG", optimize=False, compress_level=6)
    gltf.images.append(GltfImage(bufferView=blob.view(png.getvalue()), mimeType="image/png", name="head_color"))
    gltf.samplers.append(Sampler(magFilter=9729, minFilter=9987, wrapS=33071, wrapT=33071))
    gltf.textures.append(Texture(sampler=0, source=0, name="head_color"))

    def material(name: str, textured: bool) -> int:
        pbr = PbrMetallicRoughness(
            baseColorFactor=[1.0, 1.0, 1.0, 1.0],
            metallicFactor=0.0,
            roughnessFactor=ROUGHNESS.get(name, 0.6),
            baseColorTexture=TextureInfo(index=0) if textured else None,
        )
        gltf.materials.append(Material(name=name, pbrMetallicRoughness=pbr, doubleSided=False))
        return len(gltf.materials) - 1

    primitives = []
    for part in rig.parts:
        small = len(part.positions) < 65536
        attrs = Attributes(
            POSITION=blob.accessor(part.positions, "VEC3", array_buffer, bounds=True),
            NORMAL=blob.accessor(part.normals, "VEC3", array_buffer),
            TEXCOORD_0=blob.accessor(part.texcoords, "VEC2", array_buffer),
            JOINTS_0=blob.accessor(np.zeros((len(part.positions), 4), np.uint8), "VEC4", array_buffer),
            WEIGHTS_0=blob.accessor(np.tile(np.float32([1, 0, 0, 0]), (len(part.positions), 1)), "VEC4", array_buffer),
        )
        targets = [
            {"POSITION": blob.accessor(part.targets[j], "VEC3", array_buffer, bounds=True)}
            for j in range(NUM_BLENDSHAPES)
        ]
        indices = part.indices.astype(np.uint16 if small else np.uint32)
        primitives.append(
            Primitive(
                attributes=attrs,
                indices=blob.accessor(indices, "SCALAR", element_buffer),
                material=material(part.name, True),
                mode=4,
                targets=targets,
                extras={"part": part.name},
            )
        )
    gltf.meshes.append(
        Mesh(
            name="head",
            primitives=primitives,
            weights=[float(w) for w in rig.default_weights],
            extras={"targetNames": list(ARKIT_NAMES)},
        )
    )
    gltf.nodes.append(Node(name="head360", children=[]))  # the joint
    gltf.nodes.append(Node(name="head", mesh=0, skin=0))
    bind = blob.accessor(np.eye(4, dtype=np.float32).reshape(1, 16), "MAT4")  # column-major identity
    gltf.skins.append(Skin(name="head360", joints=[0], skeleton=0, inverseBindMatrices=bind))
    if rig.hair is not None:
        h = rig.hair
        from head360.gl.glutil import srgb_to_linear

        linear = srgb_to_linear(h.colors.astype(np.float64) / 255.0).astype(np.float32)  # COLOR_0 is linear
        small = len(h.positions) < 65536
        hair_attrs = Attributes(
            POSITION=blob.accessor(h.positions, "VEC3", array_buffer, bounds=True),
            NORMAL=blob.accessor(h.normals, "VEC3", array_buffer),
            COLOR_0=blob.accessor(linear, "VEC3", array_buffer),
        )
        hair_indices = h.indices.astype(np.uint16 if small else np.uint32)
        gltf.meshes.append(
            Mesh(
                name="hair",
                primitives=[
                    Primitive(
                        attributes=hair_attrs,
                        indices=blob.accessor(hair_indices, "SCALAR", element_buffer),
                        material=material("hair", False),
                        mode=4,
                    )
                ],
            )
        )
        gltf.nodes.append(Node(name="hair", mesh=1))
        gltf.nodes[0].children.append(2)
    gltf.scenes.append(Scene(name="Head360", nodes=[0, 1]))
    gltf.scene = 0
    if rig.animation is not None:
        a = rig.animation
        times = blob.accessor(a.times.astype(np.float32), "SCALAR", bounds=True)
        samplers = [AnimationSampler(input=times, output=blob.accessor(a.weights.astype(np.float32), "SCALAR"))]
        channels = [AnimationChannel(sampler=0, target=AnimationChannelTarget(node=1, path="weights"))]
        if a.rotations is not None:
            samplers.append(AnimationSampler(input=times, output=blob.accessor(a.rotations, "VEC4")))
            channels.append(AnimationChannel(sampler=1, target=AnimationChannelTarget(node=0, path="rotation")))
        gltf.animations.append(Animation(name=a.name, samplers=samplers, channels=channels))
    data = blob.data()
    gltf.buffers.append(Buffer(byteLength=len(data)))
    gltf.extras = {"head360": {"units": "metres", "source": rig.source, "blendshapes": "ARKit"}}
    gltf.set_binary_blob(data)
    return b"".join(gltf.save_to_bytes())


def write_rig(rig: Rig, path: str | Path) -> Path:
    """Write the rig as ``.glb`` atomically (nothing under the final name unless it is complete)."""
    path = _rig_path(path)
    data = rig_to_glb(rig)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def export_rig(generator, subject, path: str | Path, progress: Progress | None = None, **options) -> Rig:
    """:func:`build_rig` (``options``: its keyword arguments) then :func:`write_rig`; returns the rig.
    A wrong suffix fails before any work."""
    path = _rig_path(path)
    rig = build_rig(generator, subject, progress=progress, **options)
    write_rig(rig, path)
    if progress is not None:
        progress(1.0, f"wrote {path}")
    return rig


def _rig_path(path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in RIG_SUFFIXES:
        raise Head360Error(f"a rig is written as .glb (glTF 2.0 binary); got '{path.name}'")
    return path


# --- takes -----------------------------------------------------------------------------------------
def read_take(weights: str | Path | None = None, animation: str | Path | None = None, timecode_fps: float = 60.0):
    """A take for the rig's animation from ``--weights`` (ARKit JSON / Live Link Face CSV) or
    ``--animation`` (a studio timeline, sampled at its frame rate) -> (WeightTrack, report lines:
    what the reader fixed or ignored, e.g. unknown columns)."""
    if (weights is None) == (animation is None):
        raise Head360Error("give one take: weights (.json / .csv) or an animation (.json)")
    if weights is not None:
        from head360.anim.arkit_io import read_track

        track, report = read_track(Path(weights), timecode_fps)
        return track, report.lines()
    from head360.anim.arkit_io import WeightTrack
    from head360.anim.timeline import Timeline

    timeline = Timeline.load(animation)
    times = timeline.frame_times()
    notes = []
    ignored = sorted(timeline.keyed_channels() - {"weights"})
    if ignored:
        notes.append(f"the rig animates blendshape weights only; keyed {', '.join(ignored)} ignored")
    track = WeightTrack(times, timeline.weights_at(times), timeline.fps, None, None, timeline.name or "animation")
    return track, notes


def summary(rig: Rig) -> str:
    """One line describing a rig."""
    faces = sum(len(p.indices) for p in rig.parts)
    parts = ", ".join(p.name for p in rig.parts)
    text = (
        f"{rig.num_vertices} vertices, {faces} faces ({parts}), {NUM_BLENDSHAPES} morph targets, "
        f"texture {rig.texture.shape[1]}x{rig.texture.shape[0]}"
    )
    if rig.hair is not None:
        text += f", hair {len(rig.hair.positions)} vertices"
    if rig.animation is not None:
        a = rig.animation
        fps = (len(a.times) - 1) / float(a.times[-1]) if len(a.times) > 1 and a.times[-1] > 0 else 0.0
        text += f", animation {len(a.times)} frames" + (f" at {fps:.4g} fps" if fps else "")
    return text
