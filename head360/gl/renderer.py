"""Offscreen mesh renderer: RGB, alpha, label map, depth and landmark visibility for one camera.

Conventions (see ``head360.cameras``): world +y up, the face looks along +z; cameras are OpenCV
cam2world with normalised intrinsics; a world point lands at the continuous pixel coordinates
``Camera.project`` gives (pixel ``i`` has its centre at ``i + 0.5``). Returned images have their rows
top-down. Textures are ``[H, W, C]`` uint8 arrays with row 0 at the top of the image, addressed by UVs in
the OpenGL convention (``v = 0`` at the bottom row, ``v = 1`` at the top row).

Shading is linear-light with sRGB output. Lights are fixed in the world, not to the camera, so the 72
views of the dataset see the same lit head; view-dependent terms are mild so that a radiance field
without a view direction can reproduce the images. See ``shaders/mesh.frag`` for the light rig.

Usage::

    renderer = MeshRenderer(512)
    renderer.set_scene([RenderMesh(vertices, faces, uvs=uvs, faces_uv=faces_uv, texture=texture)])
    out = renderer.render(Camera.orbit(30.0, 10.0), landmarks=points)   # out.rgb: [512, 512, 3] uint8

A renderer uses its thread's OpenGL context (``head360.gl.context.thread_context``): create it, and
call it, from the thread that renders (the studio's render worker), never from the GUI thread.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Importing any module of head360.gl runs head360/gl/__init__.py first, which chooses PyOpenGL's EGL
# platform before this first `import OpenGL`.
from OpenGL import GL

from head360.cameras import HEAD_BOX_HALF, Camera
from head360.errors import Head360Error
from head360.gl.bake import ambient_occlusion, rasterize_uv
from head360.gl.context import GLContext, thread_context
from head360.gl.glutil import (
    Framebuffer,
    attribute,
    compile_program,
    mat4,
    srgb_to_linear,
    uniforms,
    upload_buffer,
    vertex_normals,
)
from head360.labels import Label

MATERIALS: tuple[str, ...] = ("skin", "hair", "eye", "teeth", "cavity", "plain")
"""Shading models, in the order ``shaders/mesh.frag`` numbers them."""

DEFAULT_ALBEDO: dict[str, tuple[float, float, float]] = {
    "skin": (0.80, 0.62, 0.52),
    "hair": (0.30, 0.20, 0.13),
    "eye": (0.92, 0.92, 0.90),
    "teeth": (0.93, 0.90, 0.82),
    "cavity": (0.45, 0.14, 0.14),
    "plain": (0.75, 0.75, 0.75),
}
"""sRGB albedo used when a mesh has neither a texture, vertex colours nor ``base_color``."""

OUTPUTS: tuple[str, ...] = ("rgb", "alpha", "label", "depth")

_SCENE_BOUND_RADIUS = HEAD_BOX_HALF * 3**0.5  # the head box's corner distance from the origin


# --- data ------------------------------------------------------------------------------------------


@dataclass
class RenderMesh:
    """One mesh to draw. Arrays are numpy; N vertices, M triangles, T texture coordinates.

    vertices:   [N, 3] float32 world positions
    faces:      [M, 3] int vertex indices, counter-clockwise seen from outside
    uvs:        [T, 2] float texture coordinates, OpenGL convention (v up), optional
    faces_uv:   [M, 3] int indices into ``uvs`` (OBJ style, separate from ``faces``); required with ``uvs``
    texture:    [H, W, 3|4] uint8 sRGB, row 0 = top of the image (v = 1); 4 channels: alpha < 128 is a
                hole (hair cards); needs ``uvs``
    colors:     [N, 3] per-vertex sRGB albedo (float in 0..1 or uint8); multiplies the texture if both
    label:      head360.labels.Label of every face (ignored when ``face_label`` is given)
    face_label: [M] int per-face labels, optional
    material:   one of ``MATERIALS``: "skin", "hair", "eye", "teeth", "cavity", "plain"
    tangents:   [N, 3] hair strand directions (for the anisotropic highlight), optional
    occlusion:  [N] ambient occlusion factor in 0..1 (1 = unoccluded), e.g. from ``ambient_occlusion``
    base_color: sRGB albedo in 0..1 when there is no texture and no ``colors`` (default: by material)
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None = None
    faces_uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    colors: np.ndarray | None = None
    label: int = int(Label.SKIN)
    face_label: np.ndarray | None = None
    material: str = "skin"
    tangents: np.ndarray | None = None
    occlusion: np.ndarray | None = None
    base_color: tuple[float, float, float] | None = None

    def validate(self) -> None:
        """Raise Head360Error naming the first inconsistent field."""
        v, f = np.asarray(self.vertices), np.asarray(self.faces)
        if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
            raise Head360Error(f"RenderMesh.vertices must be [N, 3] with N > 0, got shape {v.shape}")
        if not np.isfinite(v).all():
            raise Head360Error("RenderMesh.vertices contain NaN or infinite values; fix the mesh before rendering")
        if f.ndim != 2 or f.shape[1] != 3 or not np.issubdtype(f.dtype, np.integer):
            raise Head360Error(f"RenderMesh.faces must be [M, 3] integers, got shape {f.shape} {f.dtype}")
        if len(f) and (f.min() < 0 or f.max() >= len(v)):
            raise Head360Error(f"RenderMesh.faces index vertices outside 0..{len(v) - 1}")
        if self.material not in MATERIALS:
            raise Head360Error(f"unknown material '{self.material}': use one of {', '.join(MATERIALS)}")
        if (self.uvs is None) != (self.faces_uv is None):
            raise Head360Error("RenderMesh needs both uvs and faces_uv (or neither)")
        if self.uvs is not None:
            uv, fuv = np.asarray(self.uvs), np.asarray(self.faces_uv)
            if uv.ndim != 2 or uv.shape[1] != 2:
                raise Head360Error(f"RenderMesh.uvs must be [T, 2], got shape {uv.shape}")
            if fuv.shape != f.shape:
                raise Head360Error(f"RenderMesh.faces_uv must have the shape of faces {f.shape}, got {fuv.shape}")
            if len(fuv) and (fuv.min() < 0 or fuv.max() >= len(uv)):
                raise Head360Error(f"RenderMesh.faces_uv index uvs outside 0..{len(uv) - 1}")
        if self.texture is not None:
            t = np.asarray(self.texture)
            if t.dtype != np.uint8 or t.ndim != 3 or t.shape[2] not in (3, 4):
                raise Head360Error(f"RenderMesh.texture must be [H, W, 3|4] uint8, got {t.shape} {t.dtype}")
            if self.uvs is None:
                raise Head360Error("RenderMesh.texture needs uvs and faces_uv to be mapped")
        for name, width in (("colors", 3), ("tangents", 3)):
            a = getattr(self, name)
            if a is not None and np.asarray(a).shape != (len(v), width):
                raise Head360Error(f"RenderMesh.{name} must be [{len(v)}, {width}], got {np.asarray(a).shape}")
        if self.occlusion is not None and np.asarray(self.occlusion).shape != (len(v),):
            raise Head360Error(f"RenderMesh.occlusion must be [{len(v)}], got {np.asarray(self.occlusion).shape}")
        if self.face_label is not None and np.asarray(self.face_label).shape != (len(f),):
            raise Head360Error(f"RenderMesh.face_label must be [{len(f)}], got {np.asarray(self.face_label).shape}")


@dataclass
class RenderOutput:
    """What one ``render`` call returns (outputs that were not asked for are None). H = W = resolution.

    rgb:               [H, W, 3] uint8 sRGB, anti-aliased, composited over the background
    alpha:             [H, W] uint8 coverage (255 = fully covered)
    label:             [H, W] uint8 head360.labels.Label, one label per pixel (never blended)
    depth:             [H, W] float32 camera-space z (along the view axis, world units), 0 where empty
    landmarks_px:      [L, 2] float32 continuous pixel coordinates (x right, y down), as Camera.project
    landmarks_visible: [L] bool, not hidden by the rendered surfaces
    """

    rgb: np.ndarray | None = None
    alpha: np.ndarray | None = None
    label: np.ndarray | None = None
    depth: np.ndarray | None = None
    landmarks_px: np.ndarray | None = None
    landmarks_visible: np.ndarray | None = None


# --- the renderer ------------------------------------------------------------------------------------

_LOC_POSITION, _LOC_NORMAL, _LOC_UV, _LOC_COLOR, _LOC_TANGENT, _LOC_OCCLUSION = range(6)


class _GpuMesh:
    """Buffers of one RenderMesh in one context. Seams are expanded: one GL vertex per (vertex, uv) pair."""

    def __init__(self, mesh: RenderMesh, textures: dict[int, tuple[int, bool]]) -> None:
        """``textures``: GL textures of this scene by ``id`` of the numpy image, shared between meshes
        (a head split by material uploads its texture once); the renderer deletes them."""
        faces = np.asarray(mesh.faces, dtype=np.int64)
        self.num_vertices = len(mesh.vertices)
        self.faces = faces
        if mesh.uvs is not None:
            faces_uv = np.asarray(mesh.faces_uv, dtype=np.int64)
            num_uv = len(mesh.uvs)
            keys = faces.reshape(-1) * num_uv + faces_uv.reshape(-1)
            unique, inverse = np.unique(keys, return_inverse=True)
            self.gl_vertex = (unique // num_uv).astype(np.int64)  # [K] source vertex of each GL vertex
            gl_uv = (unique % num_uv).astype(np.int64)
            gl_faces = inverse.reshape(-1, 3)
        else:
            self.gl_vertex = np.arange(self.num_vertices, dtype=np.int64)
            gl_uv = None
            gl_faces = faces
        self.num_indices = gl_faces.size
        self.material = MATERIALS.index(mesh.material)
        self.label = int(mesh.label)

        self.vao = int(GL.glGenVertexArrays(1))
        GL.glBindVertexArray(self.vao)
        self.buffers: list[int] = []
        v = np.asarray(mesh.vertices, dtype=np.float32)
        self.position_buffer = upload_buffer(GL.GL_ARRAY_BUFFER, v[self.gl_vertex], GL.GL_DYNAMIC_DRAW)
        attribute(_LOC_POSITION, self.position_buffer, 3)
        normals = vertex_normals(v, faces)
        self.normal_buffer = upload_buffer(GL.GL_ARRAY_BUFFER, normals[self.gl_vertex], GL.GL_DYNAMIC_DRAW)
        attribute(_LOC_NORMAL, self.normal_buffer, 3)
        self.buffers += [self.position_buffer, self.normal_buffer]

        # Optional attributes: a buffer when given, else a constant set before each draw.
        self.constants: dict[int, tuple[float, ...]] = {}
        if gl_uv is not None:
            self.buffers.append(upload_buffer(GL.GL_ARRAY_BUFFER, np.asarray(mesh.uvs, np.float32)[gl_uv]))
            attribute(_LOC_UV, self.buffers[-1], 2)
        else:
            GL.glDisableVertexAttribArray(_LOC_UV)
            self.constants[_LOC_UV] = (0.0, 0.0, 0.0, 1.0)
        if mesh.colors is not None:
            colors = np.asarray(mesh.colors)
            colors = colors.astype(np.float32) / 255.0 if colors.dtype == np.uint8 else colors.astype(np.float32)
            self.buffers.append(upload_buffer(GL.GL_ARRAY_BUFFER, np.clip(colors, 0, 1)[self.gl_vertex]))
            attribute(_LOC_COLOR, self.buffers[-1], 3)
        else:
            GL.glDisableVertexAttribArray(_LOC_COLOR)
            if mesh.base_color is not None:
                base = tuple(float(c) for c in mesh.base_color)
            elif mesh.texture is not None:
                base = (1.0, 1.0, 1.0)
            else:
                base = DEFAULT_ALBEDO[mesh.material]
            self.constants[_LOC_COLOR] = (*base, 1.0)
        self.tangent_buffer = None
        if mesh.tangents is not None:
            t = np.asarray(mesh.tangents, np.float32)[self.gl_vertex]
            self.tangent_buffer = upload_buffer(GL.GL_ARRAY_BUFFER, t, GL.GL_DYNAMIC_DRAW)
            self.buffers.append(self.tangent_buffer)
            attribute(_LOC_TANGENT, self.tangent_buffer, 3)
        else:
            GL.glDisableVertexAttribArray(_LOC_TANGENT)
            self.constants[_LOC_TANGENT] = (0.0, 0.0, 0.0, 1.0)
        if mesh.occlusion is not None:
            ao = np.clip(np.asarray(mesh.occlusion, np.float32), 0.0, 1.0)[self.gl_vertex]
            self.buffers.append(upload_buffer(GL.GL_ARRAY_BUFFER, ao))
            attribute(_LOC_OCCLUSION, self.buffers[-1], 1)
        else:
            GL.glDisableVertexAttribArray(_LOC_OCCLUSION)
            self.constants[_LOC_OCCLUSION] = (1.0, 0.0, 0.0, 1.0)
        self.buffers.append(upload_buffer(GL.GL_ELEMENT_ARRAY_BUFFER, gl_faces.astype(np.uint32)))
        GL.glBindVertexArray(0)

        self.texture = None
        self.texture_cutout = False
        if mesh.texture is not None:
            key = id(mesh.texture)
            if key not in textures:
                textures[key] = self._upload_texture(np.asarray(mesh.texture))
            self.texture, self.texture_cutout = textures[key]
        self.face_label_buffer = self.face_label_texture = None
        if mesh.face_label is not None:
            labels = np.ascontiguousarray(np.asarray(mesh.face_label), dtype=np.uint8)
            self.face_label_buffer = upload_buffer(GL.GL_TEXTURE_BUFFER, labels)
            self.face_label_texture = int(GL.glGenTextures(1))
            GL.glBindTexture(GL.GL_TEXTURE_BUFFER, self.face_label_texture)
            GL.glTexBuffer(GL.GL_TEXTURE_BUFFER, GL.GL_R8UI, self.face_label_buffer)
            GL.glBindTexture(GL.GL_TEXTURE_BUFFER, 0)
        self.bounds = (v.min(axis=0), v.max(axis=0))
        # which specialisation of shaders/mesh.frag draws this mesh
        self.program_key = (
            self.material,
            int(self.texture is not None),
            int(self.face_label_texture is not None),
            int(self.texture_cutout),
        )

    @staticmethod
    def _upload_texture(image: np.ndarray) -> tuple[int, bool]:
        h, w, c = image.shape
        tex = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        internal, fmt = (GL.GL_SRGB8_ALPHA8, GL.GL_RGBA) if c == 4 else (GL.GL_SRGB8, GL.GL_RGB)
        # GL's first row is v = 0 (the bottom of the image): upload the rows bottom-up.
        GL.glTexImage2D(
            GL.GL_TEXTURE_2D, 0, internal, w, h, 0, fmt, GL.GL_UNSIGNED_BYTE, np.ascontiguousarray(image[::-1])
        )
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
        cutout = c == 4 and bool((image[..., 3] < 128).any())
        return tex, cutout

    def update_vertices(self, vertices: np.ndarray, tangents: np.ndarray | None) -> None:
        v = np.asarray(vertices, dtype=np.float32)
        if v.shape != (self.num_vertices, 3):
            raise Head360Error(f"new vertices must be [{self.num_vertices}, 3] (same topology), got {v.shape}")
        if not np.isfinite(v).all():
            raise Head360Error("new vertices contain NaN or infinite values")
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.position_buffer)
        GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, None, np.ascontiguousarray(v[self.gl_vertex]))
        normals = vertex_normals(v, self.faces)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.normal_buffer)
        GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, None, np.ascontiguousarray(normals[self.gl_vertex]))
        if tangents is not None:
            t = np.asarray(tangents, np.float32)
            if t.shape != (self.num_vertices, 3) or self.tangent_buffer is None:
                raise Head360Error("new tangents must be [N, 3] and the mesh must have been given tangents")
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.tangent_buffer)
            GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, None, np.ascontiguousarray(t[self.gl_vertex]))
        self.bounds = (v.min(axis=0), v.max(axis=0))

    def draw(self) -> None:
        for loc, value in self.constants.items():
            GL.glVertexAttrib4f(loc, *value)
        GL.glBindVertexArray(self.vao)
        GL.glDrawElements(GL.GL_TRIANGLES, self.num_indices, GL.GL_UNSIGNED_INT, ctypes.c_void_p(0))

    def delete(self) -> None:
        GL.glDeleteVertexArrays(1, [self.vao])
        buffers = self.buffers + ([self.face_label_buffer] if self.face_label_buffer is not None else [])
        GL.glDeleteBuffers(len(buffers), buffers)
        if self.face_label_texture is not None:
            GL.glDeleteTextures(1, [self.face_label_texture])


class MeshRenderer:
    """Render a scene of :class:`RenderMesh` es from any camera into numpy images.

    resolution:  output size in pixels (square images)
    supersample: s; the scene is drawn at ``s * resolution`` and averaged down (1..4; 2 = 4 samples/pixel)
    background:  sRGB colour in 0..1 that the rgb output is composited over
    landmark_tolerance: world units a landmark may lie behind the rendered surface and still count as
                 visible (1 unit = 10 cm; the default 0.03 is 3 mm)
    context:     the GL context to use; default: the calling thread's (``thread_context()``)

    ``set_scene`` uploads geometry and textures once; ``render`` then only sets the camera's matrices,
    draws and reads back what was asked for. A renderer belongs to the thread that uses it.
    """

    def __init__(
        self,
        resolution: int,
        supersample: int = 2,
        background: tuple[float, float, float] = (1.0, 1.0, 1.0),
        landmark_tolerance: float = 0.03,
        context: GLContext | None = None,
    ) -> None:
        if not 1 <= int(supersample) <= 4:
            raise Head360Error(f"supersample must be 1..4, got {supersample}")
        self.ctx = context if context is not None else thread_context()
        self.ctx.make_current()
        max_size = int(GL.glGetIntegerv(GL.GL_MAX_RENDERBUFFER_SIZE))
        if not 8 <= int(resolution) * int(supersample) <= max_size:
            raise Head360Error(
                f"resolution {resolution} x supersample {supersample} must be between 8 and {max_size} pixels"
            )
        self.resolution = int(resolution)
        self.supersample = int(supersample)
        self.background = tuple(float(c) for c in background)
        self.landmark_tolerance = float(landmark_tolerance)
        self._meshes: list[_GpuMesh] = []
        self._textures: dict[int, tuple[int, bool]] = {}
        self._mesh_programs: dict[tuple[int, int, int, int], int] = {}
        self._resolve_program = compile_program(
            self.ctx, "fullscreen.vert", "resolve.frag", {"SUPERSAMPLE": self.supersample}
        )
        self._probe_program = compile_program(self.ctx, "landmark_probe.vert", "landmark_probe.frag")
        self._empty_vao = int(GL.glGenVertexArrays(1))
        self._points_vao = int(GL.glGenVertexArrays(1))
        self._points_buffer = int(GL.glGenBuffers(1))
        GL.glBindVertexArray(self._points_vao)
        attribute(0, self._points_buffer, 3)
        GL.glBindVertexArray(0)
        self._probe_fbo: Framebuffer | None = None
        self._id_fbo: Framebuffer | None = None
        self._allocate_targets()
        self.closed = False

    # --- targets -----------------------------------------------------------------------------
    def _allocate_targets(self) -> None:
        big = self.resolution * self.supersample
        self._scene_fbo = Framebuffer(
            big,
            big,
            [
                (GL.GL_RGBA16F, GL.GL_RGBA, GL.GL_FLOAT),
                (GL.GL_R8UI, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_BYTE),
                (GL.GL_R32F, GL.GL_RED, GL.GL_FLOAT),
            ],
            depth=True,
        )
        self._out_fbo = Framebuffer(
            self.resolution,
            self.resolution,
            [
                (GL.GL_RGBA8, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE),
                (GL.GL_R8UI, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_BYTE),
                (GL.GL_R32F, GL.GL_RED, GL.GL_FLOAT),
            ],
            depth=False,
        )

    def resize(self, resolution: int) -> None:
        """Change the output resolution (reallocates the render targets; the scene stays uploaded)."""
        self.ctx.make_current()
        if int(resolution) == self.resolution:
            return
        self._scene_fbo.delete()
        self._out_fbo.delete()
        self.resolution = int(resolution)
        self._allocate_targets()

    # --- scene -------------------------------------------------------------------------------
    def set_scene(self, meshes: Sequence[RenderMesh]) -> None:
        """Upload the meshes (replacing the previous scene). Validates each and raises Head360Error."""
        self._check_open()
        self.ctx.make_current()
        for m in meshes:
            m.validate()
        self._delete_scene()
        # the meshes keep their arrays alive during this call, so ids of textures are unique here
        self._meshes = [_GpuMesh(m, self._textures) for m in meshes]
        for m in self._meshes:
            if m.program_key not in self._mesh_programs:
                names = ("MATERIAL", "HAS_TEXTURE", "HAS_FACE_LABEL", "CUTOUT")
                defines = dict(zip(names, m.program_key, strict=True))
                self._mesh_programs[m.program_key] = compile_program(self.ctx, "mesh.vert", "mesh.frag", defines)

    def _delete_scene(self) -> None:
        for m in self._meshes:
            m.delete()
        self._meshes = []
        textures = [tex for tex, _ in self._textures.values()]
        if textures:
            GL.glDeleteTextures(len(textures), textures)
        self._textures = {}

    def update_vertices(self, mesh_index: int, vertices: np.ndarray, tangents: np.ndarray | None = None) -> None:
        """New positions [N, 3] (and optionally tangents [N, 3]) for mesh ``mesh_index``, same topology.

        Normals are recomputed; uvs, textures, labels and occlusion stay as uploaded.
        """
        self._check_open()
        self.ctx.make_current()
        if not 0 <= mesh_index < len(self._meshes):
            raise Head360Error(f"mesh_index {mesh_index} is out of range: the scene has {len(self._meshes)} meshes")
        self._meshes[mesh_index].update_vertices(vertices, tangents)

    @property
    def num_meshes(self) -> int:
        return len(self._meshes)

    def _near_far(self, camera: Camera) -> tuple[float, float]:
        """Clip planes around the head box (and anything of the scene that sticks out of it)."""
        radius = _SCENE_BOUND_RADIUS
        for m in self._meshes:
            lo, hi = m.bounds
            radius = max(radius, float(np.linalg.norm(np.maximum(np.abs(lo), np.abs(hi)))))
        distance = float(np.linalg.norm(camera.position))
        far = distance + radius * 1.01
        near = max(distance - radius * 1.01, far * 1e-4, 1e-3)
        return near, far

    def _matrices(self, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
        near, far = self._near_far(camera)
        return mat4(camera.gl_view()), mat4(camera.gl_projection(near, far))

    # --- rendering ---------------------------------------------------------------------------
    def render(
        self,
        camera: Camera,
        landmarks: np.ndarray | None = None,
        outputs: Sequence[str] = OUTPUTS,
    ) -> RenderOutput:
        """Render the scene from ``camera``.

        landmarks: [L, 3] world points, optional -> ``landmarks_px`` [L, 2] and ``landmarks_visible`` [L]
        outputs:   which of "rgb", "alpha", "label", "depth" to read back (fewer is faster)
        """
        self._check_open()
        unknown = set(outputs) - set(OUTPUTS)
        if unknown:
            raise Head360Error(f"unknown render outputs {sorted(unknown)}: choose from {', '.join(OUTPUTS)}")
        self.ctx.make_current()
        view, projection = self._matrices(camera)
        self._draw_scene(camera, view, projection)
        self._resolve()
        out = RenderOutput()
        if "rgb" in outputs or "alpha" in outputs:
            rgba = self._out_fbo.read(0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, np.uint8, 4)
            if "rgb" in outputs:
                out.rgb = np.ascontiguousarray(rgba[..., :3])
            if "alpha" in outputs:
                out.alpha = np.ascontiguousarray(rgba[..., 3])
        if "label" in outputs:
            label = self._out_fbo.read(1, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_BYTE, np.uint8, 1)
            out.label = np.ascontiguousarray(label[..., 0])
        if "depth" in outputs:
            depth = self._out_fbo.read(2, GL.GL_RED, GL.GL_FLOAT, np.float32, 1)
            out.depth = np.ascontiguousarray(depth[..., 0])
        if landmarks is not None:
            points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 3)
            out.landmarks_px = camera.project(points, self.resolution).astype(np.float32)
            out.landmarks_visible = self._landmark_visibility(points, view, projection)
        return out

    def _draw_scene(self, camera: Camera, view: np.ndarray, projection: np.ndarray) -> None:
        fbo = self._scene_fbo
        fbo.bind()
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LESS)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glClearBufferfv(GL.GL_COLOR, 0, (0.0, 0.0, 0.0, 0.0))
        GL.glClearBufferuiv(GL.GL_COLOR, 1, (0, 0, 0, 0))
        GL.glClearBufferfv(GL.GL_COLOR, 2, (0.0, 0.0, 0.0, 0.0))
        GL.glClearBufferfv(GL.GL_DEPTH, 0, (1.0,))
        camera_position = camera.position.astype(np.float32)
        current = None
        for m in self._meshes:
            program = self._mesh_programs[m.program_key]
            u = uniforms(self.ctx, program)
            if program != current:  # one specialised program per material / texture / label combination
                GL.glUseProgram(program)
                GL.glUniformMatrix4fv(u["u_view"], 1, GL.GL_TRUE, view)
                GL.glUniformMatrix4fv(u["u_projection"], 1, GL.GL_TRUE, projection)
                GL.glUniform3f(u["u_camera_position"], *camera_position)
                GL.glUniform1i(u["u_texture"], 0)
                GL.glUniform1i(u["u_face_label"], 1)
                current = program
            GL.glUniform1ui(u["u_label"], m.label)
            GL.glActiveTexture(GL.GL_TEXTURE0)
            GL.glBindTexture(GL.GL_TEXTURE_2D, m.texture or 0)
            GL.glActiveTexture(GL.GL_TEXTURE1)
            GL.glBindTexture(GL.GL_TEXTURE_BUFFER, m.face_label_texture or 0)
            m.draw()
        GL.glBindVertexArray(0)
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def _resolve(self) -> None:
        self._out_fbo.bind()
        GL.glDisable(GL.GL_DEPTH_TEST)
        program = self._resolve_program
        u = uniforms(self.ctx, program)
        GL.glUseProgram(program)
        for unit, (name, tex) in enumerate(
            zip(("u_color", "u_label", "u_depth"), self._scene_fbo.textures, strict=True)
        ):
            GL.glActiveTexture(GL.GL_TEXTURE0 + unit)
            GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
            GL.glUniform1i(u[name], unit)
        GL.glUniform3f(u["u_background"], *srgb_to_linear(self.background).astype(np.float32))
        GL.glBindVertexArray(self._empty_vao)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        GL.glBindVertexArray(0)
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def _upload_points(self, points: np.ndarray) -> None:
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._points_buffer)
        data = np.ascontiguousarray(points, dtype=np.float32)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, data.nbytes, data, GL.GL_STREAM_DRAW)

    def _landmark_visibility(self, points: np.ndarray, view: np.ndarray, projection: np.ndarray) -> np.ndarray:
        """[L, 3] -> [L] bool, tested on the GPU against the super-sampled depth of the last draw."""
        count = len(points)
        if count == 0:
            return np.zeros(0, dtype=bool)
        columns = 256
        rows = (count + columns - 1) // columns
        if self._probe_fbo is None or self._probe_fbo.height < rows:
            if self._probe_fbo is not None:
                self._probe_fbo.delete()
            self._probe_fbo = Framebuffer(columns, rows, [(GL.GL_R32F, GL.GL_RED, GL.GL_FLOAT)], depth=False)
        self._probe_fbo.bind()
        GL.glClearBufferfv(GL.GL_COLOR, 0, (0.0, 0.0, 0.0, 0.0))
        GL.glDisable(GL.GL_DEPTH_TEST)
        program = self._probe_program
        u = uniforms(self.ctx, program)
        GL.glUseProgram(program)
        GL.glUniformMatrix4fv(u["u_view"], 1, GL.GL_TRUE, view)
        GL.glUniformMatrix4fv(u["u_projection"], 1, GL.GL_TRUE, projection)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._scene_fbo.textures[2])
        GL.glUniform1i(u["u_depth"], 0)
        GL.glUniform1f(u["u_tolerance"], self.landmark_tolerance)
        GL.glUniform2i(u["u_target_size"], columns, self._probe_fbo.height)
        self._upload_points(points)
        GL.glBindVertexArray(self._points_vao)
        GL.glDrawArrays(GL.GL_POINTS, 0, count)
        GL.glBindVertexArray(0)
        flags = self._probe_fbo.read(0, GL.GL_RED, GL.GL_FLOAT, np.float32, 1)[::-1, :, 0]  # rows bottom-up
        return flags.reshape(-1)[:count] > 0.5

    def point_ids(self, camera: Camera, points: np.ndarray) -> np.ndarray:
        """Diagnostic: where the GL pipeline draws world points [L, 3] -> [H, W] int32 (point index or -1).

        Each point is drawn as one GL point (no depth test) through the same matrices as the meshes, at
        the output resolution; a pixel holds the index of the last point drawn there.
        """
        self._check_open()
        self.ctx.make_current()
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        if self._id_fbo is None or self._id_fbo.width != self.resolution:
            if self._id_fbo is not None:
                self._id_fbo.delete()
            self._id_fbo = Framebuffer(
                self.resolution, self.resolution, [(GL.GL_R32I, GL.GL_RED_INTEGER, GL.GL_INT)], depth=False
            )
        self._id_fbo.bind()
        GL.glClearBufferiv(GL.GL_COLOR, 0, (-1, -1, -1, -1))
        GL.glDisable(GL.GL_DEPTH_TEST)
        program = compile_program(self.ctx, "point_id.vert", "point_id.frag")
        u = uniforms(self.ctx, program)
        GL.glUseProgram(program)
        view, projection = self._matrices(camera)
        GL.glUniformMatrix4fv(u["u_view"], 1, GL.GL_TRUE, view)
        GL.glUniformMatrix4fv(u["u_projection"], 1, GL.GL_TRUE, projection)
        self._upload_points(points)
        GL.glBindVertexArray(self._points_vao)
        GL.glDrawArrays(GL.GL_POINTS, 0, len(points))
        GL.glBindVertexArray(0)
        return np.ascontiguousarray(self._id_fbo.read(0, GL.GL_RED_INTEGER, GL.GL_INT, np.int32, 1)[..., 0])

    # --- lifetime ----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise Head360Error("this MeshRenderer was closed; create a new one")

    def close(self) -> None:
        """Free the GL objects of this renderer (the shared context stays)."""
        if self.closed or self.ctx.closed:
            self.closed = True
            return
        try:
            self.ctx.make_current()
        except Head360Error:  # e.g. in a forked child: nothing of this context can be touched here
            self.closed = True
            return
        self._delete_scene()
        for fbo in (self._scene_fbo, self._out_fbo, self._probe_fbo, self._id_fbo):
            if fbo is not None:
                fbo.delete()
        GL.glDeleteVertexArrays(2, [self._empty_vao, self._points_vao])
        GL.glDeleteBuffers(1, [self._points_buffer])
        self.closed = True

    def __enter__(self) -> MeshRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = [
    "MATERIALS",
    "OUTPUTS",
    "MeshRenderer",
    "RenderMesh",
    "RenderOutput",
    "ambient_occlusion",
    "rasterize_uv",
    "vertex_normals",
]
