"""Benchmark of the studio as a user runs it; prints one JSON object.

    python bench/bench_studio.py --checkpoint C [--seconds 10] [--size 1280x800]

Opens the studio under a private Xvfb display (or the current DISPLAY with --use-display) and measures,
from the studio's own readouts:

* ``ui_idle``: the UI frame's work time (callbacks, panels, drawing; not the limiter's wait) and the
  loop rate while nothing moves;
* ``spin``: the same while the head spins (a camera-only change every UI frame: the worker renders
  latest-wins and reuses the planes), with the render time of the frames shown and frames shown per
  second, for the preview quality (what dragging shows) and for the full quality;
* ``expression``: the render time when jawOpen changes (planes rebuilt).

Under Xvfb the UI is drawn by Mesa's llvmpipe in software: its frame time is the CPU's, much larger than
with a GPU driver. Figures, never assertions: compare runs on the same machine only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _stats(values: list[float]) -> dict:
    import numpy as np

    if not values:
        return {"n": 0}
    a = np.asarray(values, np.float64)
    return {"n": int(a.size), "median": round(float(np.median(a)), 1), "p95": round(float(np.percentile(a, 95)), 1)}


def make_driver(seconds: float, out: dict):
    def drive(studio):
        perf = studio.status_bar.perf

        def settle():
            yield
            while not (studio.settled and studio.last_result is not None):
                yield

        yield from settle()
        while studio.worker.busy or studio.hair.thumbnails_done < len(studio.hair._styles):
            yield  # thumbnails first: they are rendered once, in the worker's idle time
        perf.ui_ms.clear()
        perf.ui_periods.clear()
        end = time.perf_counter() + min(seconds, 5.0)
        while time.perf_counter() < end:
            yield
        out["ui_idle"] = {
            "work_ms": _stats(list(perf.ui_ms)),
            "drawing_ms": _stats(list(perf.draw_ms)),
            "fps": round(perf.ui_fps, 1),
        }
        for quality, preview in (("preview", True), ("full", False)):
            studio.preview_while_moving = preview
            studio.set_quality("full")
            yield from settle()
            perf.ui_ms.clear()
            perf.ui_periods.clear()
            shown, render_ms, planes_ms, last = 0, [], [], studio.last_result
            studio.spin = True
            end = time.perf_counter() + seconds
            ui, draw = [], []
            while time.perf_counter() < end:
                yield
                ui.append(perf.ui_ms[-1] if perf.ui_ms else 0.0)
                draw.append(perf.draw_ms[-1] if perf.draw_ms else 0.0)
                r = studio.last_result
                if r is not last:
                    last = r
                    shown += 1
                    render_ms.append(r.render_ms)
                    planes_ms.append(r.planes_ms)
            studio.spin = False
            out[f"spin_{quality}"] = {
                "ui_work_ms": _stats(ui),
                "ui_drawing_ms": _stats(draw),
                "ui_fps": round(perf.ui_fps, 1),
                "render_ms": _stats(render_ms),
                "frames_shown_per_s": round(shown / seconds, 2),
                "planes_rebuilt": sum(1 for p in planes_ms if p > 0),
                "dropped_requests": studio.worker.dropped,
            }
        studio.set_quality("full")
        times = []
        for w in (0.3, 0.6, 0.9):
            studio.set_blend_weights({"jawOpen": w})
            yield from settle()
            times.append((studio.last_result.render_ms, studio.last_result.planes_ms))
        out["expression_change"] = {
            "render_ms": _stats([t[0] for t in times]),
            "planes_ms": _stats([t[1] for t in times]),
        }
        cfg = studio.generator.config
        out["model"] = {
            "preset": cfg.name,
            "trained": bool(studio.model.checkpoint.info.get("trained", True)),
            "qualities": {
                k: {"neural_res": q.neural_resolution, "samples_per_ray": q.coarse_samples + q.importance_samples}
                for k, q in cfg.renderer.qualities.items()
            },
            "image_resolution": cfg.image_resolution,
        }

    return drive


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--seconds", type=float, default=10.0, help="seconds of spinning per quality")
    p.add_argument("--size", default="1280x800")
    p.add_argument("--use-display", action="store_true", help="use $DISPLAY instead of a private Xvfb")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    width, height = (int(x) for x in args.size.lower().split("x"))
    if args.child:
        from app.studio import StudioOptions, run_studio

        out: dict = {}
        code = run_studio(
            StudioOptions(checkpoint=args.checkpoint, width=width, height=height, driver=make_driver(args.seconds, out))
        )
        Path(args.child).write_text(json.dumps(out))
        return code
    result_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_studio_{os.getpid()}.json"
    child = [sys.executable, __file__, "--checkpoint", args.checkpoint, "--seconds", str(args.seconds)]
    child += ["--size", args.size, "--child", str(result_file)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    xvfb = None
    if not args.use_display:
        if shutil.which("Xvfb") is None:
            print("Xvfb is not installed (or pass --use-display)", file=sys.stderr)
            return 1
        n = next(i for i in range(150, 400) if not Path(f"/tmp/.X{i}-lock").exists())
        xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"])
        time.sleep(1.0)
        env["DISPLAY"] = f":{n}"
    try:
        code = subprocess.call(child, env=env)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    if code != 0 or not result_file.exists():
        print(f"the studio exited with {code}", file=sys.stderr)
        return code or 1
    data = json.loads(result_file.read_text())
    result_file.unlink()
    data["machine"] = {"cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2)}
    data["display"] = "own Xvfb (UI drawn by llvmpipe, in software)" if xvfb is not None else os.environ.get("DISPLAY")
    print(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
