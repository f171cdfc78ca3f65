"""Offscreen OpenGL: a headless context (``context``) and the mesh renderer (``renderer``).

Import order
------------
PyOpenGL picks its windowing platform (GLX, EGL, ...) once, from ``PYOPENGL_PLATFORM``, at the first
``import OpenGL`` anywhere in the process. Importing this package sets ``PYOPENGL_PLATFORM=egl`` and
``EGL_PLATFORM=surfaceless`` (unless they are already set) *before* anything imports OpenGL, so
import ``head360.gl`` (or any module under it) before any other code imports ``OpenGL``. If OpenGL was
imported first with another platform, the glfw fallback still works where there is an X display
(see :func:`head360.gl.context.create_context`).

Importing this package is cheap: it imports neither OpenGL nor numpy. Use
``from head360.gl.renderer import MeshRenderer, RenderMesh``.
"""

from __future__ import annotations

import os
import sys


def _choose_pyopengl_platform() -> None:
    """Ask PyOpenGL for its EGL platform unless OpenGL is already imported or the user chose one."""
    if "OpenGL" in sys.modules:
        return
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    # Mesa: eglGetDisplay(EGL_DEFAULT_DISPLAY) without an X server only initialises with this.
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")


_choose_pyopengl_platform()
