"""An offscreen OpenGL 3.3+ core context: EGL without any window system first, a hidden glfw window second.

Backends, tried in this order by :func:`create_context` (``backend="auto"``):

1. ``egl-device``: a GPU found with ``eglQueryDevicesEXT`` and opened with ``eglGetPlatformDisplayEXT(
   EGL_PLATFORM_DEVICE_EXT, ...)``. This is how NVIDIA drivers render without an X server. Mesa's
   software device (``EGL_MESA_device_software``) is skipped here and tried last.
2. ``egl-surfaceless``: Mesa's surfaceless platform (``EGL_MESA_platform_surfaceless``): llvmpipe in
   software, or the GPU's Mesa driver where there is one. No X, no pbuffer: a configless context made
   current with ``EGL_NO_SURFACE``; the renderer draws into its own framebuffer objects.
3. ``egl-default``: ``eglGetDisplay(EGL_DEFAULT_DISPLAY)`` (honours ``EGL_PLATFORM``), then Mesa's
   software device.
4. ``glfw``: a hidden 16x16 glfw window with a 3.3 core context. Needs an X (or Wayland) display and,
   as glfw requires, must be created on the process's main thread.

``HEAD360_GL_BACKEND`` restricts the choice: ``egl``, ``glfw``, or one EGL kind (``egl-device``,
``egl-surfaceless``, ``egl-default``); ``auto`` is the default.

Threads
-------
An OpenGL context is current on at most one thread at a time, and each thread has one current context.
Every renderer call makes its context current on the calling thread first
(:meth:`GLContext.make_current`), so a context may be created on one thread and used on another, as long
as two threads never use it at the same time (the second one gets a Head360Error, not a crash).
:func:`thread_context` gives each thread its own shared context, which is what the renderer uses by
default: create the renderer in the thread that renders.

Processes: a process forked after it had made a context cannot render (Mesa's rasterizer threads do
not survive ``fork``; the child would hang), so every call raises a Head360Error there instead: start
data-factory workers with ``multiprocessing.get_context("spawn")``.

The studio renders in a worker thread while DearPyGui owns its own GL context on the main thread. With
libglvnd (every current Linux distribution), a thread whose current context belongs to another window
system library (DearPyGui's GLX context) cannot make an EGL context current: this module then raises a
:class:`~head360.errors.Head360Error` saying to render from a worker thread, instead of drawing into the
GUI's context.
"""

from __future__ import annotations

import ctypes
import os
import threading

from head360.errors import Head360Error

# Mesa's software rasterizer runs worker threads that a forked child does not inherit: a child process
# that renders after its parent had made a context hangs (measured: both with the inherited context and
# with a new one). Remember whether this process had a context when it forked, and refuse instead.
_state = {"context_made": False, "forked_after_context": False}


def _after_fork_in_child() -> None:
    if _state["context_made"]:
        _state["forked_after_context"] = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def _refuse_after_fork() -> None:
    if _state["forked_after_context"]:
        raise Head360Error(
            "this process was forked after its parent had started OpenGL, and OpenGL cannot render in such a "
            "child (it would hang); start worker processes with multiprocessing.get_context('spawn'), or "
            "create no renderer before forking"
        )


INSTALL_HINT = (
    "install Mesa's EGL and software OpenGL (Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 "
    "libgl1-mesa-dri libgl1, or `make system-deps`), or run with an X display (DISPLAY) for the glfw fallback"
)

_EGL_PLATFORM_SURFACELESS_MESA = 0x31DD
_EGL_PLATFORM_DEVICE_EXT = 0x313F
_EGL_CONTEXT_MAJOR_VERSION = 0x3098
_EGL_CONTEXT_MINOR_VERSION = 0x30FB
_EGL_CONTEXT_OPENGL_PROFILE_MASK = 0x30FD
_EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT = 0x1
_EGL_BAD_ACCESS = 0x3002


class GLContext:
    """One OpenGL >= 3.3 core context.

    Attributes: ``backend`` (``"egl-device"``, ``"egl-surfaceless"``, ``"egl-default"`` or ``"glfw"``),
    ``gl_renderer`` and ``gl_version`` (the driver's strings, e.g. ``"llvmpipe (LLVM 15.0.6, 256 bits)"``),
    ``cache`` (a dict where users of the context keep compiled programs and other per-context objects).
    """

    def __init__(self, backend: str, make_current, is_current, release, destroy) -> None:
        self.backend = backend
        self._make_current = make_current
        self._is_current = is_current
        self._release = release
        self._destroy = destroy
        self.closed = False
        self.cache: dict = {}
        self.gl_renderer = ""
        self.gl_version = ""

    def __repr__(self) -> str:
        return f"GLContext({self.backend}: {self.gl_renderer}, {self.gl_version})"

    @property
    def is_software(self) -> bool:
        """True for CPU rasterizers (llvmpipe, softpipe, swrast)."""
        name = self.gl_renderer.lower()
        return any(s in name for s in ("llvmpipe", "softpipe", "swrast", "software"))

    def is_current(self) -> bool:
        """Whether this context is current on the calling thread."""
        return not self.closed and not _state["forked_after_context"] and bool(self._is_current())

    def make_current(self) -> None:
        """Make the context current on the calling thread (no-op when it already is)."""
        _refuse_after_fork()
        if self.closed:
            raise Head360Error("this OpenGL context was closed; create a new renderer")
        if self._is_current():
            return
        self._make_current()

    def release(self) -> None:
        """Un-bind the context from the calling thread so that another thread may use it."""
        if not self.closed and not _state["forked_after_context"] and self._is_current():
            self._release()

    def close(self) -> None:
        """Destroy the context (GL objects created in it die with it)."""
        if self.closed or _state["forked_after_context"]:  # a forked child must not touch the parent's
            self.closed = True
            return
        self.release()
        self._destroy()
        self.closed = True
        self.cache.clear()


# --- EGL ---------------------------------------------------------------------------------------


def _egl():
    from OpenGL import EGL

    return EGL


_EGL_ERRORS = {
    0x3001: "EGL_NOT_INITIALIZED", 0x3002: "EGL_BAD_ACCESS", 0x3003: "EGL_BAD_ALLOC", 0x3004: "EGL_BAD_ATTRIBUTE",
    0x3005: "EGL_BAD_CONFIG", 0x3006: "EGL_BAD_CONTEXT", 0x3007: "EGL_BAD_CURRENT_SURFACE",
    0x3008: "EGL_BAD_DISPLAY", 0x3009: "EGL_BAD_MATCH", 0x300C: "EGL_BAD_PARAMETER", 0x300D: "EGL_BAD_SURFACE",
    0x300E: "EGL_CONTEXT_LOST",
}  # fmt: skip


def _egl_error_name(code: int) -> str:
    return _EGL_ERRORS.get(int(code), hex(int(code)))


def _describe(error: BaseException) -> str:
    """One line for an exception (PyOpenGL's EGLError/GLError reprs span many lines)."""
    err = getattr(error, "err", None)
    op = getattr(error, "baseOperation", None)
    if err is not None and op is not None:
        return f"{getattr(op, '__name__', op)} failed ({_egl_error_name(err)})"
    return " ".join(str(error).split()) or type(error).__name__


def _egl_client_extensions() -> set[str]:
    egl = _egl()
    try:
        ext = egl.eglQueryString(egl.EGL_NO_DISPLAY, egl.EGL_EXTENSIONS)
    except Exception:  # EGL 1.4 without client extensions raises EGL_BAD_DISPLAY
        return set()
    return set((ext or b"").decode().split())


def _egl_displays(client_ext: set[str]):
    """Yield ``(backend_name, description, lazy_display)`` candidates in order of preference."""
    egl = _egl()
    software_devices = []
    if {"EGL_EXT_device_enumeration", "EGL_EXT_platform_device"} <= client_ext or (
        "EGL_EXT_device_base" in client_ext and "EGL_EXT_platform_device" in client_ext
    ):
        from OpenGL.EGL.EXT.device_enumeration import eglQueryDevicesEXT
        from OpenGL.EGL.EXT.device_query import eglQueryDeviceStringEXT
        from OpenGL.EGL.EXT.platform_base import eglGetPlatformDisplayEXT

        devices = (egl.EGLDeviceEXT * 16)()
        count = egl.EGLint()
        try:
            ok = eglQueryDevicesEXT(16, devices, ctypes.pointer(count))
        except Exception:
            ok = False
        for i in range(count.value if ok else 0):
            try:
                dev_ext = (eglQueryDeviceStringEXT(devices[i], egl.EGL_EXTENSIONS) or b"").decode()
            except Exception:
                dev_ext = ""

            def open_device(dev=devices[i]):
                return eglGetPlatformDisplayEXT(_EGL_PLATFORM_DEVICE_EXT, dev, None)

            if "EGL_MESA_device_software" in dev_ext:
                software_devices.append(("egl-device", f"EGL software device {i}", open_device))
            else:
                yield "egl-device", f"EGL device {i}", open_device
    if "EGL_MESA_platform_surfaceless" in client_ext:
        from OpenGL.EGL.EXT.platform_base import eglGetPlatformDisplayEXT

        yield (
            "egl-surfaceless",
            "EGL Mesa surfaceless platform",
            lambda: eglGetPlatformDisplayEXT(_EGL_PLATFORM_SURFACELESS_MESA, egl.EGL_DEFAULT_DISPLAY, None),
        )
    yield "egl-default", "EGL default display", lambda: egl.eglGetDisplay(egl.EGL_DEFAULT_DISPLAY)
    yield from software_devices


def _egl_try_display(backend: str, open_display) -> GLContext:
    """Create a 3.3 core context on one EGL display or raise RuntimeError saying why not."""
    egl = _egl()
    display = open_display()
    if not display:
        raise RuntimeError("no display")
    major, minor = egl.EGLint(), egl.EGLint()
    if not egl.eglInitialize(display, ctypes.pointer(major), ctypes.pointer(minor)):
        raise RuntimeError("eglInitialize failed")
    if not egl.eglBindAPI(egl.EGL_OPENGL_API):
        raise RuntimeError("no desktop OpenGL API")
    extensions = set((egl.eglQueryString(display, egl.EGL_EXTENSIONS) or b"").decode().split())
    surfaceless = "EGL_KHR_surfaceless_context" in extensions

    def choose(attribs) -> object | None:
        configs = (egl.EGLConfig * 1)()
        n = egl.EGLint()
        arr = (egl.EGLint * len(attribs))(*attribs)
        if egl.eglChooseConfig(display, arr, configs, 1, ctypes.pointer(n)) and n.value > 0:
            return configs[0]
        return None

    base = [egl.EGL_RENDERABLE_TYPE, egl.EGL_OPENGL_BIT, egl.EGL_RED_SIZE, 8, egl.EGL_GREEN_SIZE, 8]
    base += [egl.EGL_BLUE_SIZE, 8]
    config = choose([*base, egl.EGL_SURFACE_TYPE, egl.EGL_PBUFFER_BIT, egl.EGL_NONE])
    if config is None:
        config = choose([*base, egl.EGL_SURFACE_TYPE, 0, egl.EGL_NONE])
    if config is None and "EGL_KHR_no_config_context" in extensions:
        config = egl.EGLConfig()  # EGL_NO_CONFIG_KHR
    if config is None:
        raise RuntimeError("no OpenGL-renderable EGL config")
    ctx_attribs = [
        _EGL_CONTEXT_MAJOR_VERSION, 3, _EGL_CONTEXT_MINOR_VERSION, 3,
        _EGL_CONTEXT_OPENGL_PROFILE_MASK, _EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, egl.EGL_NONE,
    ]  # fmt: skip
    context = egl.eglCreateContext(display, config, egl.EGL_NO_CONTEXT, (egl.EGLint * len(ctx_attribs))(*ctx_attribs))
    if not context:
        raise RuntimeError(f"eglCreateContext(3.3 core) failed ({_egl_error_name(egl.eglGetError())})")
    surface = egl.EGL_NO_SURFACE
    if not surfaceless:  # an old driver: a tiny pbuffer to be current on; we draw into FBOs anyway
        pb = (egl.EGLint * 5)(egl.EGL_WIDTH, 1, egl.EGL_HEIGHT, 1, egl.EGL_NONE)
        surface = egl.eglCreatePbufferSurface(display, config, pb)
        if not surface:
            egl.eglDestroyContext(display, context)
            raise RuntimeError("neither surfaceless contexts nor pbuffers are supported")
    ctx_address = ctypes.cast(context, ctypes.c_void_p).value

    get_current = egl.eglGetCurrentContext

    def is_current() -> bool:
        return ctypes.cast(get_current(), ctypes.c_void_p).value == ctx_address

    def make_current() -> None:
        try:
            ok, code = bool(egl.eglMakeCurrent(display, surface, surface, context)), 0
        except egl.EGLError as e:  # PyOpenGL raises on failure when its error checking is on
            ok, code = False, int(e.err)
        if not ok:
            code = code or egl.eglGetError()
            if code == _EGL_BAD_ACCESS:
                raise Head360Error(
                    "cannot make the renderer's OpenGL context current on this thread: it is in use by another "
                    "thread, or another library's context (e.g. the GUI's) is current here; create and use "
                    "the renderer in its own worker thread"
                )
            raise Head360Error(f"eglMakeCurrent failed ({_egl_error_name(code)}); {INSTALL_HINT}")

    def release() -> None:
        egl.eglMakeCurrent(display, egl.EGL_NO_SURFACE, egl.EGL_NO_SURFACE, egl.EGL_NO_CONTEXT)

    def destroy() -> None:
        # The display is shared by every context on it in this process: never eglTerminate it.
        if surface != egl.EGL_NO_SURFACE:
            egl.eglDestroySurface(display, surface)
        egl.eglDestroyContext(display, context)

    return GLContext(backend, make_current, is_current, release, destroy)


def _create_egl(only: str | None = None) -> tuple[GLContext | None, list[str]]:
    """The first EGL display that gives a 3.3 core context (``only``: one kind, e.g. "egl-device")."""
    errors: list[str] = []
    try:
        egl = _egl()
        egl.eglGetError  # noqa: B018 - loads libEGL
    except Exception as e:  # ImportError, OSError, AttributeError from a missing libEGL
        return None, [f"EGL: cannot load libEGL ({_describe(e)})"]
    client_ext = _egl_client_extensions()
    for backend, description, open_display in _egl_displays(client_ext):
        if only is not None and backend != only:
            continue
        try:
            ctx = _egl_try_display(backend, open_display)
        except Exception as e:  # any failure: try the next display
            errors.append(f"{description}: {_describe(e)}")
            continue
        try:
            _finish(ctx)
            return ctx, errors
        except Head360Error:
            ctx.close()  # e.g. another library's context is current on this thread
            raise
        except Exception as e:  # any failure: try the next display
            ctx.close()
            errors.append(f"{description}: {_describe(e)}")
    if not errors:
        errors.append(f"EGL: no {only or 'EGL'} display")
    return None, errors


# --- glfw --------------------------------------------------------------------------------------


def _create_glfw() -> tuple[GLContext | None, list[str]]:
    if threading.current_thread() is not threading.main_thread():
        return None, ["glfw: windows can only be created on the main thread"]
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None, ["glfw: no DISPLAY"]
    try:
        import glfw
    except Exception as e:  # the package or its shared library is missing
        return None, [f"glfw: {_describe(e)}"]
    if not glfw.init():
        return None, ["glfw: glfwInit failed"]
    glfw.window_hint(glfw.VISIBLE, glfw.FALSE)
    glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
    glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, glfw.TRUE)
    window = glfw.create_window(16, 16, "head360 offscreen", None, None)
    glfw.default_window_hints()
    if not window:
        return None, ["glfw: cannot create a hidden window with an OpenGL 3.3 core context"]

    def is_current() -> bool:
        cur = glfw.get_current_context()
        return bool(cur) and ctypes.addressof(cur.contents) == ctypes.addressof(window.contents)

    ctx = GLContext(
        "glfw",
        lambda: glfw.make_context_current(window),
        is_current,
        lambda: glfw.make_context_current(None),
        lambda: glfw.destroy_window(window),
    )
    try:
        _finish(ctx)
    except Exception as e:
        ctx.close()
        return None, [f"glfw: {_describe(e)}"]
    return ctx, []


# --- public ------------------------------------------------------------------------------------


def _finish(ctx: GLContext) -> None:
    """Make ``ctx`` current, read its strings and check the version (raises RuntimeError)."""
    _state["context_made"] = True
    ctx.make_current()
    from OpenGL import GL

    major = int(GL.glGetIntegerv(GL.GL_MAJOR_VERSION))
    minor = int(GL.glGetIntegerv(GL.GL_MINOR_VERSION))
    ctx.gl_renderer = (GL.glGetString(GL.GL_RENDERER) or b"").decode(errors="replace")
    ctx.gl_version = (GL.glGetString(GL.GL_VERSION) or b"").decode(errors="replace")
    if (major, minor) < (3, 3):
        ctx.close()
        raise RuntimeError(f"OpenGL {major}.{minor} < 3.3 ({ctx.gl_renderer})")


BACKENDS: tuple[str, ...] = ("auto", "egl", "egl-device", "egl-surfaceless", "egl-default", "glfw")
"""Values of ``create_context(backend=...)`` and ``HEAD360_GL_BACKEND``."""


def create_context(backend: str | None = None) -> GLContext:
    """Create an OpenGL 3.3+ core context and make it current on the calling thread.

    ``backend``: ``"auto"`` (EGL, then glfw), ``"egl"`` (any EGL display), one EGL kind
    (``"egl-device"``, ``"egl-surfaceless"``, ``"egl-default"``) or ``"glfw"``; ``None`` reads
    ``HEAD360_GL_BACKEND`` (default ``auto``). Raises :class:`Head360Error` naming what to install when
    no context can be made.
    """
    _refuse_after_fork()
    backend = (backend or os.environ.get("HEAD360_GL_BACKEND") or "auto").lower()
    if backend not in BACKENDS:
        raise Head360Error(f"unknown OpenGL backend '{backend}': use one of {', '.join(BACKENDS)} (HEAD360_GL_BACKEND)")
    errors: list[str] = []
    if backend != "glfw":
        ctx, errs = _create_egl(None if backend in ("auto", "egl") else backend)
        errors += errs
        if ctx is not None:
            return ctx
    if backend in ("auto", "glfw"):
        ctx, errs = _create_glfw()
        errors += errs
        if ctx is not None:
            return ctx
    raise Head360Error(f"no OpenGL 3.3 context could be created ({'; '.join(errors)}); {INSTALL_HINT}")


_thread_local = threading.local()


def thread_context() -> GLContext:
    """The calling thread's shared context (created on first use, then reused), made current.

    Renderers created on the same thread share it, so GL objects are cheap to share among them.
    Call :func:`close_thread_context` before a worker thread ends to free it.
    """
    ctx = getattr(_thread_local, "context", None)
    if ctx is None or ctx.closed:
        ctx = create_context()
        _thread_local.context = ctx
    ctx.make_current()
    return ctx


def close_thread_context() -> None:
    """Destroy the calling thread's shared context (every renderer using it stops working)."""
    ctx = getattr(_thread_local, "context", None)
    if ctx is not None:
        ctx.close()
        _thread_local.context = None
