"""GPU bakers for the data factory: per-vertex ambient occlusion and UV-space rasterization.

Both run in the calling thread's OpenGL context (``head360.gl.context.thread_context``) unless one is
given, on llvmpipe as well as on a GPU.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np
from OpenGL import GL

from head360.errors import Head360Error
from head360.gl.context import GLContext, thread_context
from head360.gl.glutil import (
    Framebuffer,
    attribute,
    compile_program,
    mat4,
    uniforms,
    upload_buffer,
    vertex_normals,
)


def hemisphere_axes(count: int) -> np.ndarray:
    """``count`` unit vectors spread evenly over the upper (+y) hemisphere -> [count, 3] float64.

    Together with their negations they cover the whole sphere evenly (a Fibonacci lattice).
    """
    i = np.arange(count, dtype=np.float64)
    y = 1.0 - (i + 0.5) / count
    r = np.sqrt(np.maximum(1.0 - y * y, 0.0))
    phi = i * np.pi * (3.0 - np.sqrt(5.0))
    return np.stack([r * np.cos(phi), y, r * np.sin(phi)], axis=1)


def _axis_rows(axis: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """[3, 4] world -> (x, y, s) of an orthographic map along ``axis``: x, y span the image plane in NDC and
    s = axis . (p - centre) / radius grows towards +axis; all in -1..1 over the bounding sphere."""
    helper = np.array([0.0, 1.0, 0.0]) if abs(axis[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    right = np.cross(axis, helper)
    right /= np.linalg.norm(right)
    up = np.cross(right, axis)
    rows = np.zeros((3, 4))
    for k, direction in enumerate((right, up, axis)):
        rows[k, :3] = direction / radius
        rows[k, 3] = -float(direction @ centre) / radius
    return rows


def ambient_occlusion(
    vertices: np.ndarray,
    faces: np.ndarray,
    directions: int = 64,
    resolution: int = 256,
    occluders: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    context: GLContext | None = None,
) -> np.ndarray:
    """Per-vertex ambient occlusion from depth maps rendered along many directions.

    vertices:   [N, 3] float world positions; faces: [M, 3] int (CCW from outside; used for the normals)
    directions: number of view directions, spread evenly over the sphere (64 is smooth enough for heads);
                rounded up to even: each depth map serves a direction and its opposite
    resolution: size of each orthographic depth map (256: a texel is ~1/100 of the mesh's size)
    occluders:  more (vertices [K, 3], faces [J, 3]) meshes that cast occlusion but get no values (hair)
    returns:    [N] float32 in 0..1: the cosine-weighted fraction of the vertex's hemisphere from which it is
                seen (1 = open, 0 = fully enclosed). Eye sockets, nostrils, ears, the region under the chin
                and the mouth cavity come out darker than the cheeks and the skull.

    A vertex counts as lit by a direction when it is not behind the nearest surface seen from that
    direction (2x2 percentage-closer filtered, tested a little off the surface along its normal). One
    orthographic map per axis holds the nearest surface from both of its ends (MAX blending of s and -s),
    so 64 directions cost 32 passes over the geometry.
    """
    v = np.asarray(vertices, dtype=np.float32)
    f = np.asarray(faces, dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0 or f.ndim != 2 or f.shape[1] != 3:
        raise Head360Error(f"ambient_occlusion needs vertices [N, 3] and faces [M, 3], got {v.shape} and {f.shape}")
    if len(f) and (f.min() < 0 or f.max() >= len(v)):
        raise Head360Error("ambient_occlusion: faces index vertices that do not exist")
    if not 1 <= directions <= 2048 or not 16 <= resolution <= 4096:
        raise Head360Error("ambient_occlusion: directions must be 1..2048 and resolution 16..4096")
    ctx = context if context is not None else thread_context()
    ctx.make_current()

    # every mesh that casts occlusion, as one indexed mesh (shared vertices are shaded once per map)
    all_vertices, all_faces, offset = [v], [f], len(v)
    for ov, of in occluders:
        ov, of = np.asarray(ov, dtype=np.float32).reshape(-1, 3), np.asarray(of, dtype=np.int64).reshape(-1, 3)
        if len(of) and (of.min() < 0 or of.max() >= len(ov)):
            raise Head360Error("ambient_occlusion: an occluder's faces index vertices that do not exist")
        all_vertices.append(ov)
        all_faces.append(of + offset)
        offset += len(ov)
    caster_vertices = np.concatenate(all_vertices)
    caster_faces = np.concatenate(all_faces).astype(np.uint32)
    used = caster_vertices[np.unique(caster_faces)] if len(caster_faces) else caster_vertices
    lo, hi = used.min(axis=0), used.max(axis=0)
    centre = (lo + hi) / 2.0
    radius = float(np.linalg.norm(np.concatenate([used, v]) - centre, axis=1).max()) * 1.02 + 1e-6
    texel = 2.0 * radius / resolution
    num_axes = (directions + 1) // 2  # each map serves an axis and its opposite
    rows = np.stack([_axis_rows(a, centre, radius) for a in hemisphere_axes(num_axes)])  # [A, 3, 4]

    max_layers = int(GL.glGetIntegerv(GL.GL_MAX_ARRAY_TEXTURE_LAYERS))
    if num_axes > max_layers:
        raise Head360Error(f"ambient_occlusion: this OpenGL allows at most {2 * max_layers} directions")

    objects = _AoObjects()
    try:
        # pass 1: per axis, the nearest surface from both ends, in the layers of an RG32F texture array
        objects.extents = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, objects.extents)
        GL.glTexImage3D(
            GL.GL_TEXTURE_2D_ARRAY, 0, GL.GL_RG32F, resolution, resolution, num_axes, 0, GL.GL_RG, GL.GL_FLOAT, None
        )
        for name, value in (
            (GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST),
            (GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST),
            (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE),
            (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE),
        ):
            GL.glTexParameteri(GL.GL_TEXTURE_2D_ARRAY, name, value)
        objects.fbo = int(GL.glGenFramebuffers(1))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, objects.fbo)
        GL.glDrawBuffers(1, [GL.GL_COLOR_ATTACHMENT0])
        GL.glViewport(0, 0, resolution, resolution)
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendEquation(GL.GL_MAX)
        GL.glBlendFunc(GL.GL_ONE, GL.GL_ONE)

        objects.caster_vao = int(GL.glGenVertexArrays(1))
        GL.glBindVertexArray(objects.caster_vao)
        objects.buffers.append(upload_buffer(GL.GL_ARRAY_BUFFER, caster_vertices))
        attribute(0, objects.buffers[-1], 3)
        objects.buffers.append(upload_buffer(GL.GL_ELEMENT_ARRAY_BUFFER, caster_faces))
        depth_program = compile_program(ctx, "ao_depth.vert", "ao_depth.frag")
        u = uniforms(ctx, depth_program)
        GL.glUseProgram(depth_program)
        light = np.zeros((4, 4))
        light[3, 3] = 1.0
        for i in range(num_axes):
            GL.glFramebufferTextureLayer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, objects.extents, 0, i)
            if i == 0 and GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER) != GL.GL_FRAMEBUFFER_COMPLETE:
                raise RuntimeError("ambient occlusion: RG32F framebuffer incomplete")
            GL.glClearBufferfv(GL.GL_COLOR, 0, (-2.0, -2.0, 0.0, 0.0))  # below any surface: empty
            light[:3] = rows[i]
            GL.glUniformMatrix4fv(u["u_light"], 1, GL.GL_TRUE, mat4(light))
            GL.glDrawElements(GL.GL_TRIANGLES, caster_faces.size, GL.GL_UNSIGNED_INT, ctypes.c_void_p(0))
        GL.glDisable(GL.GL_BLEND)
        GL.glBlendEquation(GL.GL_FUNC_ADD)

        # pass 2: one point per vertex, gathering visibility over the directions
        objects.lights = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, objects.lights)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        light_rows = np.ascontiguousarray(rows.astype(np.float32))  # [A, 3, 4]: texel (row k, axis i)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA32F, 3, num_axes, 0, GL.GL_RGBA, GL.GL_FLOAT, light_rows)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)

        columns = min(1024, len(v))
        target_rows = (len(v) + columns - 1) // columns
        objects.target = Framebuffer(columns, target_rows, [(GL.GL_R32F, GL.GL_RED, GL.GL_FLOAT)], depth=False)
        objects.target.bind()
        GL.glClearBufferfv(GL.GL_COLOR, 0, (1.0, 0.0, 0.0, 0.0))
        objects.vertex_vao = int(GL.glGenVertexArrays(1))
        GL.glBindVertexArray(objects.vertex_vao)
        objects.buffers.append(upload_buffer(GL.GL_ARRAY_BUFFER, v))
        attribute(0, objects.buffers[-1], 3)
        objects.buffers.append(upload_buffer(GL.GL_ARRAY_BUFFER, vertex_normals(v, f)))
        attribute(1, objects.buffers[-1], 3)
        gather = compile_program(ctx, "ao_gather.vert", "ao_gather.frag")
        u = uniforms(ctx, gather)
        GL.glUseProgram(gather)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glBindTexture(GL.GL_TEXTURE_2D_ARRAY, objects.extents)
        GL.glUniform1i(u["u_extents"], 0)
        GL.glActiveTexture(GL.GL_TEXTURE1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, objects.lights)
        GL.glUniform1i(u["u_lights"], 1)
        GL.glUniform1i(u["u_axes"], num_axes)
        GL.glUniform1f(u["u_normal_offset"], 1.5 * texel)
        GL.glUniform1f(u["u_bias"], 2.0 / resolution)  # one texel, in units of s (which spans 2)
        GL.glUniform2i(u["u_target_size"], columns, target_rows)
        GL.glDrawArrays(GL.GL_POINTS, 0, len(v))
        GL.glActiveTexture(GL.GL_TEXTURE0)
        values = objects.target.read(0, GL.GL_RED, GL.GL_FLOAT, np.float32, 1)[::-1, :, 0]  # rows bottom-up
        return np.clip(values.reshape(-1)[: len(v)], 0.0, 1.0).astype(np.float32)
    finally:
        objects.delete()


class _AoObjects:
    """GL objects of one ambient_occlusion call, deleted whatever happens."""

    def __init__(self) -> None:
        self.extents = self.fbo = self.caster_vao = self.vertex_vao = self.lights = None
        self.target: Framebuffer | None = None
        self.buffers: list[int] = []

    def delete(self) -> None:
        GL.glBindVertexArray(0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        textures = [t for t in (self.extents, self.lights) if t is not None]
        if textures:
            GL.glDeleteTextures(len(textures), textures)
        if self.fbo is not None:
            GL.glDeleteFramebuffers(1, [self.fbo])
        vaos = [a for a in (self.caster_vao, self.vertex_vao) if a is not None]
        if vaos:
            GL.glDeleteVertexArrays(len(vaos), vaos)
        if self.buffers:
            GL.glDeleteBuffers(len(self.buffers), self.buffers)
        if self.target is not None:
            self.target.delete()


def rasterize_uv(
    uvs: np.ndarray,
    faces_uv: np.ndarray,
    attributes: np.ndarray,
    size: int,
    dilate: int = 0,
    context: GLContext | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rasterize attributes into texture space (position / normal / part maps for painting textures).

    uvs:        [T, 2] texture coordinates in [0, 1], OpenGL convention (v up)
    faces_uv:   [M, 3] int indices into ``uvs``
    attributes: [M, 3, C] one value per triangle corner, or [T, C] (or [T]) one value per uv; any C
    size:       output size in texels (square)
    dilate:     copy each island's border values this many texels outwards (nearest covered texel), so
                that bilinear sampling of a texture painted from these maps shows no seams
    returns:    values [size, size, C] float32 and coverage [size, size] bool (texels whose centre lies
                inside a triangle, before dilation). Row 0 is the top of the texture (v = 1), like the
                ``texture`` of :class:`head360.gl.renderer.RenderMesh`; texel (row r, column c) has its centre
                at ``u = (c + 0.5) / size, v = 1 - (r + 0.5) / size``. Values are interpolated linearly in
                UV space; where islands overlap, the later triangle wins. Uncovered texels hold 0.
    """
    uv = np.asarray(uvs, dtype=np.float32)
    fuv = np.asarray(faces_uv, dtype=np.int64)
    if uv.ndim != 2 or uv.shape[1] != 2 or fuv.ndim != 2 or fuv.shape[1] != 3:
        raise Head360Error(f"rasterize_uv needs uvs [T, 2] and faces_uv [M, 3], got {uv.shape} and {fuv.shape}")
    if len(fuv) and (fuv.min() < 0 or fuv.max() >= len(uv)):
        raise Head360Error(f"rasterize_uv: faces_uv index uvs outside 0..{len(uv) - 1}")
    a = np.asarray(attributes, dtype=np.float32)
    if a.ndim == 3 and a.shape[:2] == fuv.shape:
        corners = a.reshape(-1, a.shape[2])  # [3M, C]
    elif a.ndim in (1, 2) and a.shape[0] == len(uv):
        corners = a.reshape(len(uv), -1)[fuv.reshape(-1)]
    else:
        raise Head360Error(
            f"rasterize_uv: attributes must be [M, 3, C] (M = {len(fuv)}) or [T, C] (T = {len(uv)}), got {a.shape}"
        )
    channels = corners.shape[1]
    ctx = context if context is not None else thread_context()
    ctx.make_current()
    max_size = int(GL.glGetIntegerv(GL.GL_MAX_TEXTURE_SIZE))
    if not 1 <= size <= max_size:
        raise Head360Error(f"rasterize_uv: size must be 1..{max_size}, got {size}")
    values = np.zeros((size, size, channels), dtype=np.float32)
    coverage = np.zeros((size, size), dtype=bool)
    if len(fuv) == 0:
        return values, coverage

    target = Framebuffer(
        size, size, [(GL.GL_RGBA32F, GL.GL_RGBA, GL.GL_FLOAT), (GL.GL_R8, GL.GL_RED, GL.GL_UNSIGNED_BYTE)], depth=False
    )
    vao = int(GL.glGenVertexArrays(1))
    buffers: list[int] = []
    try:
        target.bind()
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glDisable(GL.GL_BLEND)
        GL.glBindVertexArray(vao)
        buffers.append(upload_buffer(GL.GL_ARRAY_BUFFER, uv[fuv.reshape(-1)]))
        attribute(0, buffers[-1], 2)
        buffers.append(int(GL.glGenBuffers(1)))
        attribute(1, buffers[-1], 4)
        program = compile_program(ctx, "uv_raster.vert", "uv_raster.frag")
        GL.glUseProgram(program)
        for start in range(0, channels, 4):
            chunk = np.zeros((len(corners), 4), dtype=np.float32)
            stop = min(start + 4, channels)
            chunk[:, : stop - start] = corners[:, start:stop]
            upload_buffer(GL.GL_ARRAY_BUFFER, chunk, GL.GL_STREAM_DRAW, buffer=buffers[-1])
            GL.glClearBufferfv(GL.GL_COLOR, 0, (0.0, 0.0, 0.0, 0.0))
            GL.glClearBufferfv(GL.GL_COLOR, 1, (0.0, 0.0, 0.0, 0.0))
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, len(corners))
            # read() returns rows top-down: row 0 is v = 1, the top of the texture image
            values[..., start:stop] = target.read(0, GL.GL_RGBA, GL.GL_FLOAT, np.float32, 4)[..., : stop - start]
            if start == 0:
                coverage = target.read(1, GL.GL_RED, GL.GL_UNSIGNED_BYTE, np.uint8, 1)[..., 0] > 127
    finally:
        GL.glBindVertexArray(0)
        GL.glDeleteVertexArrays(1, [vao])
        GL.glDeleteBuffers(len(buffers), buffers)
        target.delete()
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
    if dilate > 0 and coverage.any() and not coverage.all():
        values = dilate_islands(values, coverage, dilate)
    return values, np.ascontiguousarray(coverage)


def dilate_islands(values: np.ndarray, coverage: np.ndarray, texels: int) -> np.ndarray:
    """Fill uncovered texels within ``texels`` of an island with the nearest covered value.

    values: [H, W, C], coverage: [H, W] bool -> a new [H, W, C] array (covered texels unchanged).
    """
    from scipy import ndimage

    distance, (rows, cols) = ndimage.distance_transform_edt(~coverage, return_indices=True)
    fill = (~coverage) & (distance <= texels)
    out = values.copy()
    out[fill] = values[rows[fill], cols[fill]]
    return out
