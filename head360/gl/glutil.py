"""Small OpenGL helpers shared by the renderer and the bakers: programs from ``shaders/``, buffers,
framebuffers with numpy read-back, and mesh geometry helpers. Internal to ``head360.gl``."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence

import numpy as np

# Importing any module of head360.gl runs head360/gl/__init__.py first, which chooses PyOpenGL's EGL
# platform before this first `import OpenGL`.
from OpenGL import GL
from OpenGL.raw.GL.VERSION.GL_2_0 import glVertexAttribPointer as _raw_vertex_attrib_pointer

from head360.assets import data_folder
from head360.errors import Head360Error
from head360.gl.context import GLContext

SHADER_DIR = data_folder("shaders")
"""GLSL sources (``#version 330 core``), in the repository's ``shaders/`` folder."""

# --- geometry -------------------------------------------------------------------------------


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals: vertices [N, 3], faces [M, 3] -> [N, 3] float32 (0 if isolated)."""
    v = np.asarray(vertices, dtype=np.float32)
    f = np.asarray(faces, dtype=np.int64)
    face_n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # length = 2 * area
    n = np.zeros_like(v)
    for k in range(3):
        _scatter_add(n, f[:, k], face_n)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.where(length > 0, n / np.maximum(length, 1e-30), 0.0).astype(np.float32)


def _scatter_add(out: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    for c in range(out.shape[1]):
        out[:, c] += np.bincount(index, weights=values[:, c], minlength=out.shape[0]).astype(out.dtype)


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# --- GL -------------------------------------------------------------------------------------


def compile_program(ctx: GLContext, vert: str, frag: str, defines: dict[str, int] | None = None) -> int:
    """Compile and link ``shaders/<vert>`` + ``shaders/<frag>`` once per context (and set of defines).

    ``defines`` become ``#define NAME value`` lines after the ``#version`` line of both shaders: a
    specialised program (one material, a fixed super-sampling factor) lets the compiler drop branches
    and unroll loops, which matters on llvmpipe.
    """
    defines = dict(sorted((defines or {}).items()))
    key = ("program", vert, frag, tuple(defines.items()))
    if key in ctx.cache:
        return ctx.cache[key]
    shaders = []
    for name, kind in ((vert, GL.GL_VERTEX_SHADER), (frag, GL.GL_FRAGMENT_SHADER)):
        path = SHADER_DIR / name
        if not path.is_file():
            raise Head360Error(f"shader '{path}' is missing; run from a complete checkout of Head360 Studio")
        source = _with_defines(path.read_text(), defines)
        shader = GL.glCreateShader(kind)
        GL.glShaderSource(shader, source)
        GL.glCompileShader(shader)
        if not GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS):
            log = GL.glGetShaderInfoLog(shader).decode(errors="replace")
            raise RuntimeError(f"GLSL compile error in {name}: {log}")
        shaders.append(shader)
    program = GL.glCreateProgram()
    for s in shaders:
        GL.glAttachShader(program, s)
    GL.glLinkProgram(program)
    if not GL.glGetProgramiv(program, GL.GL_LINK_STATUS):
        log = GL.glGetProgramInfoLog(program).decode(errors="replace")
        raise RuntimeError(f"GLSL link error in {vert}+{frag}: {log}")
    for s in shaders:
        GL.glDetachShader(program, s)
        GL.glDeleteShader(s)
    ctx.cache[key] = program
    return program


def _with_defines(source: str, defines: dict[str, int]) -> str:
    if not defines:
        return source
    head, newline, rest = source.partition("\n")  # the #version line must stay first
    lines = "".join(f"#define {name} {value}\n" for name, value in defines.items())
    return f"{head}{newline}{lines}#line 2\n{rest}"


class Uniforms:
    """Cached uniform locations of one program."""

    def __init__(self, program: int) -> None:
        self.program = program
        self._loc: dict[str, int] = {}

    def __getitem__(self, name: str) -> int:
        loc = self._loc.get(name)
        if loc is None:
            loc = self._loc[name] = GL.glGetUniformLocation(self.program, name)
        return loc


def uniforms(ctx: GLContext, program: int) -> Uniforms:
    key = ("uniforms", program)
    if key not in ctx.cache:
        ctx.cache[key] = Uniforms(program)
    return ctx.cache[key]


def mat4(m: np.ndarray) -> np.ndarray:
    """Row-major numpy matrix -> what glUniformMatrix4fv(..., GL_TRUE, ...) expects."""
    return np.ascontiguousarray(m, dtype=np.float32)


def upload_buffer(target: int, data: np.ndarray, usage: int = GL.GL_STATIC_DRAW, buffer: int | None = None) -> int:
    if buffer is None:
        buffer = int(GL.glGenBuffers(1))
    GL.glBindBuffer(target, buffer)
    data = np.ascontiguousarray(data)
    GL.glBufferData(target, data.nbytes, data, usage)
    return buffer


def attribute(location: int, buffer: int, width: int) -> None:
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, buffer)
    GL.glEnableVertexAttribArray(location)
    # The raw entry point: PyOpenGL's wrapper keeps the pointer in per-context data keyed by the platform's
    # current context, which does not exist for a glfw (GLX) context under PYOPENGL_PLATFORM=egl.
    _raw_vertex_attrib_pointer(location, width, GL.GL_FLOAT, GL.GL_FALSE, 0, ctypes.c_void_p(0))


def texture_2d(width: int, height: int, internal: int, fmt: int, kind: int, filt: int = GL.GL_NEAREST) -> int:
    tex = int(GL.glGenTextures(1))
    GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
    GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, internal, width, height, 0, fmt, kind, None)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, filt)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, filt)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
    return tex


class Framebuffer:
    """An FBO with colour attachments (internal, format, type) and an optional depth attachment."""

    def __init__(self, width: int, height: int, attachments: Sequence[tuple[int, int, int]], depth: bool) -> None:
        self.width, self.height = width, height
        self.fbo = int(GL.glGenFramebuffers(1))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        self.textures = []
        for i, (internal, fmt, kind) in enumerate(attachments):
            tex = texture_2d(width, height, internal, fmt, kind)
            GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0 + i, GL.GL_TEXTURE_2D, tex, 0)
            self.textures.append(tex)
        self.depth = None
        if depth:
            self.depth = int(GL.glGenRenderbuffers(1))
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self.depth)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT32F, width, height)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, self.depth)
        GL.glDrawBuffers(len(attachments), [GL.GL_COLOR_ATTACHMENT0 + i for i in range(len(attachments))])
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RuntimeError(f"framebuffer incomplete ({status:#x}) for {width}x{height}")

    def bind(self) -> None:
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        GL.glViewport(0, 0, self.width, self.height)

    def read(self, attachment: int, fmt: int, kind: int, dtype, channels: int) -> np.ndarray:
        """Read one colour attachment -> [H, W, channels] with rows top-down."""
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self.fbo)
        GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0 + attachment)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        out = np.empty((self.height, self.width, channels), dtype=dtype)
        GL.glReadPixels(0, 0, self.width, self.height, fmt, kind, out)
        return out[::-1]

    def delete(self) -> None:
        GL.glDeleteFramebuffers(1, [self.fbo])
        if self.textures:
            GL.glDeleteTextures(len(self.textures), self.textures)
        if self.depth is not None:
            GL.glDeleteRenderbuffers(1, [self.depth])
