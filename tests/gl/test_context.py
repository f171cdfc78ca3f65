"""The offscreen context: headless EGL, a clear error when there is none, and use from worker threads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from head360.cameras import Camera
from head360.errors import Head360Error

REPO = Path(__file__).resolve().parents[2]


def test_headless_context_is_opengl_3_3_core(gl_context):
    from OpenGL import GL

    assert gl_context.backend.startswith("egl") or os.environ.get("HEAD360_GL_BACKEND") == "glfw"
    major = int(GL.glGetIntegerv(GL.GL_MAJOR_VERSION))
    minor = int(GL.glGetIntegerv(GL.GL_MINOR_VERSION))
    assert (major, minor) >= (3, 3)
    assert gl_context.gl_renderer


def test_no_opengl_fails_fast_with_what_to_install(tmp_path):
    """With no EGL driver and no X display the user gets one line naming what to install (no hang)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["__EGL_VENDOR_LIBRARY_FILENAMES"] = str(tmp_path / "no-such-vendor.json")  # libglvnd: no EGL driver
    env["PYTHONPATH"] = str(REPO)
    code = (
        "from head360.errors import Head360Error\n"
        "from head360.gl.context import create_context\n"
        "try:\n    create_context()\nexcept Head360Error as e:\n    print('ERROR', e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    lines = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    assert len(lines) == 1, result.stdout + result.stderr
    assert "no OpenGL 3.3 context" in lines[0] and "apt-get install libegl1" in lines[0]


def test_renderer_in_a_worker_thread(gl_context):
    """The studio renders off its UI thread: a renderer made and used in a worker works, and a second
    thread that tries to use that renderer while the worker holds it gets a clear error."""
    from gl_test_meshes import icosphere

    from head360.gl.context import close_thread_context
    from head360.gl.renderer import MeshRenderer, RenderMesh

    result: dict = {}
    holding = threading.Event()
    done = threading.Event()

    def worker() -> None:
        try:
            r = MeshRenderer(64)
            v, f = icosphere(2)
            r.set_scene([RenderMesh(v, f)])
            result["alpha"] = r.render(Camera.orbit(0.0), outputs=("alpha",)).alpha
            result["renderer"] = r
            holding.set()
            done.wait(30)
            r.close()
        except BaseException as e:  # reported by the test below
            result["error"] = e
            holding.set()
        finally:
            close_thread_context()

    t = threading.Thread(target=worker)
    t.start()
    assert holding.wait(60)
    try:
        assert "error" not in result, result.get("error")
        assert result["alpha"].max() == 255
        assert gl_context.is_current()  # the main thread's context was not disturbed
        with pytest.raises(Head360Error, match="worker thread"):
            result["renderer"].render(Camera.orbit(0.0))
    finally:
        done.set()
        t.join(60)
    gl_context.make_current()


@pytest.fixture(scope="module")
def xvfb_display():
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (apt-get install xvfb, or `make system-deps`)", pytrace=False)
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "320x240x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start", pytrace=False)
    yield f":{number}"
    proc.terminate()
    proc.wait(10)


@pytest.mark.gui
def test_glfw_fallback_and_a_gui_context_on_the_main_thread(xvfb_display):
    """In a fresh process with an X display: the hidden-window fallback renders the same image as EGL,
    and while a window-system context (like DearPyGui's) is current on the main thread, the EGL renderer
    refuses that thread with a clear message but works from a worker thread."""
    env = dict(os.environ, DISPLAY=xvfb_display, PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'tests' / 'gl'}")
    code = r"""
import threading
import numpy as np
from gl_test_meshes import icosphere
from head360.cameras import Camera
from head360.errors import Head360Error
from head360.gl.context import create_context
from head360.gl.renderer import MeshRenderer, RenderMesh

v, f = icosphere(3)
def draw(ctx):
    r = MeshRenderer(64, context=ctx)
    r.set_scene([RenderMesh(v, f, label=2)])
    return r.render(Camera.orbit(20.0, 10.0))

window_ctx = create_context("glfw")       # current on the main thread, like a GUI's context
print("backend", window_ctx.backend)
glfw_out = draw(window_ctx)
try:
    create_context("egl")
    print("main EGL: allowed")
except Head360Error as e:
    print("main EGL: refused", "worker thread" in str(e))
box = {}
def worker():
    box["out"] = draw(create_context("egl"))
t = threading.Thread(target=worker); t.start(); t.join()
egl_out = box["out"]
print("labels equal", bool((glfw_out.label == egl_out.label).all()))
print("rgb max diff", int(np.abs(glfw_out.rgb.astype(int) - egl_out.rgb.astype(int)).max()))
"""
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "backend glfw" in out
    assert "main EGL: refused True" in out
    assert "labels equal True" in out
    assert int(out.split("rgb max diff")[1].split()[0]) <= 2


@pytest.mark.gui
def test_renders_in_a_worker_while_dearpygui_draws_on_the_main_thread(xvfb_display):
    """The studio's arrangement: DearPyGui's window and GL context on the main thread, the renderer in a
    worker thread handing frames over to a dynamic texture."""
    pytest.importorskip("dearpygui")
    env = dict(os.environ, DISPLAY=xvfb_display, PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'tests' / 'gl'}")
    code = r"""
import queue, threading, time
import numpy as np
import dearpygui.dearpygui as dpg
from gl_test_meshes import icosphere
from head360.cameras import Camera
from head360.gl.context import close_thread_context
from head360.gl.renderer import MeshRenderer, RenderMesh

frames, stop = queue.Queue(), threading.Event()
def worker():
    r = MeshRenderer(64)
    v, f = icosphere(3)
    r.set_scene([RenderMesh(v, f)])
    yaw = 0.0
    while not stop.is_set():
        frames.put(r.render(Camera.orbit(yaw, 10.0), outputs=("rgb", "alpha")))
        yaw += 10.0
        time.sleep(0.01)
    r.close()
    close_thread_context()

dpg.create_context()
dpg.create_viewport(title="head360 test", width=160, height=160)
with dpg.texture_registry():
    dpg.add_dynamic_texture(64, 64, [0.0] * 64 * 64 * 4, tag="frame")
with dpg.window(label="view"):
    dpg.add_image("frame")
dpg.setup_dearpygui()
dpg.show_viewport()
t = threading.Thread(target=worker)
t.start()
shown, covered, start = 0, 0, time.time()
while dpg.is_dearpygui_running() and time.time() - start < 1.5:
    try:
        out = frames.get_nowait()
        covered = max(covered, int((out.alpha == 255).sum()))
        dpg.set_value("frame", (np.dstack([out.rgb, out.alpha]).astype(np.float32) / 255.0).reshape(-1))
        shown += 1
    except queue.Empty:
        pass
    dpg.render_dearpygui_frame()
stop.set()
t.join()
dpg.destroy_context()
print("shown", shown, "covered", covered)
"""
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    words = result.stdout.split()
    shown, covered = int(words[words.index("shown") + 1]), int(words[words.index("covered") + 1])
    assert shown >= 5 and covered > 500  # the worker kept rendering real frames while the GUI ran


def test_every_egl_platform_renders_the_same_image(gl_context):
    """The device platform (how NVIDIA renders without X), Mesa's surfaceless platform and the default
    display all give a working context here (Mesa lists its software rasterizer as an EGL device)."""
    from gl_test_meshes import icosphere

    from head360.gl.context import create_context
    from head360.gl.renderer import MeshRenderer, RenderMesh

    v, f = icosphere(3)
    images = {}
    try:
        for backend in ("egl-device", "egl-surfaceless", "egl-default"):
            ctx = create_context(backend)
            assert ctx.backend == backend
            r = MeshRenderer(64, context=ctx)
            r.set_scene([RenderMesh(v, f, label=2)])
            images[backend] = r.render(Camera.orbit(20.0, 10.0))
            r.close()
            ctx.close()
    finally:
        gl_context.make_current()
    first = images["egl-device"]
    for out in images.values():
        assert (out.label == first.label).all()
        assert np.abs(out.rgb.astype(int) - first.rgb.astype(int)).max() <= 2
    with pytest.raises(Head360Error, match="unknown OpenGL backend"):
        create_context("vulkan")


def test_a_child_forked_after_opengl_started_is_refused_not_hung():
    """Mesa's rasterizer threads do not survive fork: such a child would hang on its first draw. It
    must get a clear error instead, while a child forked before any context renders fine."""
    env = dict(os.environ, PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'tests' / 'gl'}")
    code = r"""
import os
from gl_test_meshes import icosphere
from head360.cameras import Camera
from head360.errors import Head360Error
from head360.gl.renderer import MeshRenderer, RenderMesh

v, f = icosphere(2)
def draw():
    r = MeshRenderer(32)
    r.set_scene([RenderMesh(v, f)])
    return int(r.render(Camera.orbit(0.0), outputs=("alpha",)).alpha.max())

def in_child(fn):
    pid = os.fork()
    if pid == 0:
        try:
            print("child drew", fn(), flush=True)
        except Head360Error as e:
            print("child refused", "spawn" in str(e), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)

in_child(draw)          # no context in the parent yet: the child renders
print("parent drew", draw(), flush=True)
in_child(draw)          # the parent has a context now: the child is refused
"""
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    lines = result.stdout.splitlines()
    assert lines == ["child drew 255", "parent drew 255", "child refused True"], result.stdout + result.stderr
