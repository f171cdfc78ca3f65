"""Files dropped onto the studio window from the desktop (DearPyGui has no API for it).

DearPyGui's shared library links GLFW statically and exports ``glfwGetCurrentContext`` and
``glfwSetDropCallback``. After the viewport is shown, the current GLFW window on the UI thread is the
studio's window: a ctypes callback registered on it receives the dropped paths (GLFW decodes the
``file://`` URIs). The callback only queues the paths; the studio handles them in its render loop.
The ctypes callback object is kept on this instance: if it were garbage-collected GLFW would call freed
memory. Where the library does not export GLFW (Windows builds use Direct3D), :meth:`install` says so.
"""

from __future__ import annotations

import ctypes
import threading

_DROP_FUNCTION = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p))


class FileDrop:
    """Queue of paths dropped on the window: :meth:`install` once after ``show_viewport``, then
    :meth:`take` every frame."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: list[str] = []
        self._callback = _DROP_FUNCTION(self._on_drop)  # kept alive as long as the window
        self.installed = False
        self.problem: str | None = None

    def _on_drop(self, window, count, paths) -> None:
        names = []
        for i in range(count):
            raw = paths[i]
            if raw:
                names.append(raw.decode("utf-8", errors="surrogateescape"))
        with self._lock:
            self._paths.extend(names)

    def install(self) -> bool:
        """Register the callback on the current GLFW window (call on the UI thread after the viewport is
        shown). False, with :attr:`problem` set, where this build of DearPyGui does not allow it."""
        try:
            import dearpygui._dearpygui as core

            lib = ctypes.CDLL(core.__file__)
            get_window = lib.glfwGetCurrentContext
            set_drop = lib.glfwSetDropCallback
        except (OSError, AttributeError, ImportError):
            self.problem = "this DearPyGui build does not expose its window (drop files: use File > Open instead)"
            return False
        get_window.restype = ctypes.c_void_p
        get_window.argtypes = []
        set_drop.restype = ctypes.c_void_p
        set_drop.argtypes = [ctypes.c_void_p, _DROP_FUNCTION]
        window = get_window()
        if not window:
            self.problem = "no window is current on this thread (drop files: use File > Open instead)"
            return False
        set_drop(window, self._callback)
        self.installed = True
        return True

    def push(self, paths: list[str]) -> None:
        """Queue paths as if they had been dropped (the File menu's open dialog uses the same route)."""
        with self._lock:
            self._paths.extend(paths)

    def take(self) -> list[str]:
        with self._lock:
            paths, self._paths = self._paths, []
        return paths
