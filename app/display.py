"""Is there a display the studio can open a window on? Checked before DearPyGui is imported, because
DearPyGui aborts the process (exit 134) when GLFW cannot open one instead of raising."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

HEADLESS_COMMANDS = ("render", "turntable", "export-mesh", "fit")

HEADLESS_MESSAGE = (
    "Head360 Studio needs a display, and {reason}.\n"
    "Every studio action also runs headless, for example:\n"
    "  {cli} render --checkpoint C --yaw 30 --out head.png\n"
    "  {cli} turntable --checkpoint C --out turn.mp4\n"
    "  {cli} export-mesh --checkpoint C --out head.obj\n"
    "  {cli} fit PHOTO --out subject.h360\n"
    "(`{cli} --help` lists all commands; on a server, run the studio under Xvfb or X forwarding.)"
)


def display_problem() -> str | None:
    """None when a window can be opened here, else why not (one phrase, for :data:`HEADLESS_MESSAGE`).

    On Linux and other X11 systems: ``DISPLAY`` must be set and ``XOpenDisplay`` must succeed (checked with
    ctypes; nothing is imported that could abort). Windows and macOS always have a display.
    """
    if sys.platform.startswith("win") or sys.platform == "darwin":
        return None
    display = os.environ.get("DISPLAY", "")
    if not display:
        if os.environ.get("WAYLAND_DISPLAY"):
            return "DISPLAY is not set (on Wayland, run it through XWayland)"
        return "there is none (DISPLAY is not set)"
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    try:
        xlib = ctypes.CDLL(name)
    except OSError:
        return "the X11 client library (libX11) is not installed"
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = xlib.XOpenDisplay(display.encode())
    if not handle:
        return f"the X display '{display}' cannot be opened"
    xlib.XCloseDisplay(handle)
    return None


def headless_message(reason: str) -> str:
    """The message, naming the command line the way it was started (``python main.py`` or ``head360``)."""
    cli = "python main.py" if sys.argv and os.path.basename(sys.argv[0]) == "main.py" else "head360"
    return HEADLESS_MESSAGE.format(reason=reason, cli=cli)
