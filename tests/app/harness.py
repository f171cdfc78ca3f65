"""Runs the studio in this process with a test driver and writes what the driver reports as JSON.

    python tests/app/harness.py DRIVER.py CHECKPOINT EXPORT_DIR REPORT.json

DRIVER.py defines ``drive(studio, report)``: a generator advanced once per UI frame (``yield`` lets the
studio draw a frame). Helpers below are importable from the driver (``from harness import ...``):
waiting for frames, reading the displayed texture back, and real X input through xdotool.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np


def wait_until(predicate, timeout: float = 60.0, what: str = "condition"):
    """Yield frames until ``predicate()`` is true; raise after ``timeout`` seconds."""
    end = time.time() + timeout
    while not predicate():
        if time.time() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        yield


def frames(n: int):
    for _ in range(n):
        yield


def wait_frame(studio, timeout: float = 90.0, full: bool = True):
    """Yield until the newest render request has been rendered and shown (at rest quality unless ``full``
    is False) and nothing else is due; returns the shown result."""

    def ready():
        if full:
            return studio.settled and studio.last_result is not None
        return studio.last_done_id == studio.worker.submitted_id and not studio.worker.busy and not studio._dirty

    yield from frames(1)
    yield from wait_until(ready, timeout, "a rendered frame")
    return studio.last_result


def texture(tag: str = "viewport_texture") -> np.ndarray:
    """The displayed texture read back from DearPyGui: [H, W, 4] float32."""
    import dearpygui.dearpygui as dpg

    value = np.asarray(dpg.get_value(tag), np.float32)
    cfg = dpg.get_item_configuration(tag)
    w, h = cfg.get("width"), cfg.get("height")
    if not w or not h:
        w = h = int(round((value.size // 4) ** 0.5))
    return value.reshape(h, w, 4)


def xdotool(*args: str) -> str:
    return subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=20).stdout.strip()


def window_id(title: str = "Head360 Studio") -> str:
    ids = xdotool("search", "--name", title).split()
    if not ids:
        raise RuntimeError("studio window not found")
    return ids[0]


def item_center(tag) -> tuple[int, int]:
    """Centre of an item in viewport (window) pixel coordinates."""
    import dearpygui.dearpygui as dpg

    (x0, y0), (w, h) = dpg.get_item_rect_min(tag), dpg.get_item_rect_size(tag)
    return int(x0 + w / 2), int(y0 + h / 2)


def item_rect(tag) -> tuple[int, int, int, int]:
    import dearpygui.dearpygui as dpg

    (x0, y0), (w, h) = dpg.get_item_rect_min(tag), dpg.get_item_rect_size(tag)
    return int(x0), int(y0), int(w), int(h)


def mouse_move(x: int, y: int):
    xdotool("mousemove", "--window", window_id(), str(x), str(y))
    yield from frames(2)


def drag(x0: int, y0: int, x1: int, y1: int, button: int = 1, steps: int = 8):
    """A real X mouse drag (press, move in steps with frames between, release)."""
    yield from mouse_move(x0, y0)
    xdotool("mousedown", str(button))
    yield from frames(3)
    for i in range(1, steps + 1):
        x, y = x0 + (x1 - x0) * i // steps, y0 + (y1 - y0) * i // steps
        xdotool("mousemove", "--window", window_id(), str(x), str(y))
        yield from frames(2)
    xdotool("mouseup", str(button))
    yield from frames(3)


def click(x: int, y: int, button: int = 1, repeat: int = 1):
    yield from mouse_move(x, y)
    xdotool("click", "--repeat", str(repeat), "--delay", "60", str(button))
    yield from frames(4)


def file_drop(paths, timeout: float = 30.0):
    """Drop files on the studio window through X (XDND, tests/app/xdnd.py in a subprocess) while the
    studio keeps drawing frames; returns the sender's output (``status=True finished=True``)."""
    sender = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("xdnd.py")), window_id(), *[str(p) for p in paths]],
        stdout=subprocess.PIPE,
        text=True,
    )
    end = time.time() + timeout
    while sender.poll() is None:
        if time.time() > end:
            sender.kill()
            raise TimeoutError("the XDND drop did not finish")
        yield
    return sender.stdout.read().strip()


def screenshot(path: str | Path) -> None:
    """The whole X screen as a PNG (ImageMagick's import)."""
    if shutil.which("import") is None:
        raise RuntimeError("ImageMagick's `import` is not installed")
    subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=30)


def main() -> int:
    driver_path, checkpoint, export_dir, report_path = sys.argv[1:5]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    spec = importlib.util.spec_from_file_location("studio_test_driver", driver_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from app.studio import StudioOptions, run_studio

    report: dict = {}

    def driver(studio):
        try:
            yield from module.drive(studio, report)
            report["finished"] = True
        except Exception:
            report["error"] = traceback.format_exc()
            raise

    extra = getattr(module, "OPTIONS", {})
    options = StudioOptions(checkpoint=checkpoint, export_dir=Path(export_dir), driver=driver, **extra)
    code = run_studio(options)
    Path(report_path).write_text(json.dumps(report, default=str))
    return code


if __name__ == "__main__":
    sys.exit(main())
