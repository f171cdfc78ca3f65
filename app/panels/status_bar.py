"""The always-visible bottom bar: render time and frames per second of the viewport, the UI's own frame
time, requests dropped by the latest-wins worker, running jobs, and the last status or error message."""

from __future__ import annotations

import time
from collections import deque

import dearpygui.dearpygui as dpg

from app.panels import Panel

ERROR_COLOR = (255, 95, 95)
OK_COLOR = (190, 220, 190)
PERF_COLOR = (150, 200, 255)


class PerfStats:
    """Rolling figures: UI frame times and the arrival times / costs of rendered frames."""

    def __init__(self) -> None:
        self.ui_ms: deque[float] = deque(maxlen=60)
        self.draw_ms: deque[float] = deque(maxlen=60)
        self.ui_periods: deque[float] = deque(maxlen=60)
        self.frame_arrivals: deque[float] = deque(maxlen=30)
        self.render_ms = 0.0
        self.planes_ms = 0.0
        self.last_planes_ms = 0.0

    def ui_frame(self, ms: float, draw_ms: float = 0.0) -> None:
        """Work time of one UI frame (callbacks, panels, drawing; not the wait of the frame limiter), and
        of its drawing alone (DearPyGui's render call: the GPU driver's, or the CPU's under software GL)."""
        self.ui_ms.append(ms)
        self.draw_ms.append(draw_ms)

    def ui_period(self, seconds: float) -> None:
        """Time from one UI frame to the next (the wait included)."""
        self.ui_periods.append(seconds)

    @property
    def ui_fps(self) -> float:
        return len(self.ui_periods) / sum(self.ui_periods) if self.ui_periods else 0.0

    def frame(self, render_ms: float, planes_ms: float) -> None:
        self.frame_arrivals.append(time.perf_counter())
        self.render_ms = render_ms
        self.planes_ms = planes_ms
        if planes_ms > 0:
            self.last_planes_ms = planes_ms

    @property
    def ui_frame_ms(self) -> float:
        return sum(self.ui_ms) / len(self.ui_ms) if self.ui_ms else 0.0

    @property
    def ui_draw_ms(self) -> float:
        return sum(self.draw_ms) / len(self.draw_ms) if self.draw_ms else 0.0

    @property
    def render_fps(self) -> float:
        """Frames shown per second over the last few seconds (0 when the view is still)."""
        now = time.perf_counter()
        recent = [t for t in self.frame_arrivals if now - t < 3.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-6)


class StatusBar(Panel):
    title = "Status"

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self.perf = PerfStats()
        self.message = ""
        self.error = False
        self._next = 0.0

    def build(self, parent) -> None:
        with dpg.group(parent=parent, horizontal=False):
            dpg.add_text("", tag="perf_text", color=PERF_COLOR)
            dpg.add_text("", tag="status_text", color=OK_COLOR)

    def set_message(self, text: str, error: bool = False) -> None:
        self.message = " ".join(text.split())
        self.error = error
        dpg.set_value("status_text", ("Error: " if error else "") + self.message)
        dpg.configure_item("status_text", color=ERROR_COLOR if error else OK_COLOR)

    def update(self) -> None:
        now = time.perf_counter()
        if now < self._next:  # the text changes 5x per second: readable, and cheap
            return
        self._next = now + 0.2
        p = self.perf
        w = self.studio.worker
        jobs = self.studio.jobs.active()
        ui = p.ui_frame_ms
        fps = p.render_fps
        text = (
            f"render {p.render_ms:6.0f} ms ({f'{fps:4.1f} frames/s' if fps > 0 else 'view at rest'})"
            f"   planes {p.last_planes_ms:5.0f} ms"
            f"   UI {ui:5.1f} ms/frame (drawing {p.ui_draw_ms:4.1f}; {p.ui_fps:3.0f} fps)"
            f"   dropped {w.dropped}"
            + ("   rendering..." if w.busy else "")
            + (f"   jobs: {', '.join(j.name for j in jobs)}" if jobs else "")
        )
        dpg.set_value("perf_text", text)
