"""Video-driven capture accuracy, as JSON: the factory's head rendered with known jawOpen and blink curves
(``head360.anim.reference_clip``) into an H.264 clip, captured back with ``main.py animate --video``'s
code (mediapipe face mesh + the bilinear mesh model). Per curve: Pearson r against the truth and the
amplitude (least-squares slope of recovered on true weights; 1 = full amplitude); plus seconds per frame.

    python bench/bench_capture.py [--frames 36] [--fps 15] [--size 320]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CURVES = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight")


def main() -> int:
    import numpy as np

    from head360.anim.capture import capture_video
    from head360.anim.reference_clip import render_clip, truth_curves
    from head360.arkit import index_of

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=36)
    p.add_argument("--fps", type=float, default=15.0)
    p.add_argument("--size", type=int, default=320)
    args = p.parse_args()
    truth = truth_curves(args.frames, args.fps)
    with tempfile.TemporaryDirectory() as tmp:
        path = render_clip(Path(tmp) / "performance.mp4", truth, args.fps, args.size)
        t0 = time.perf_counter()
        result = capture_video(path)
        seconds = time.perf_counter() - t0
    curves = {}
    for name in CURVES:
        got, want = result.track.weight(name), truth[:, index_of(name)]
        dg, dw = got - got.mean(), want - want.mean()
        curves[name] = {
            "pearson_r": round(float(np.corrcoef(got, want)[0, 1]), 3),
            "amplitude": round(float(np.dot(dg, dw) / np.dot(dw, dw)), 3),
        }
    others = [i for i in range(52) if i not in {index_of(n) for n in CURVES}]
    print(json.dumps({
        "frames": args.frames, "fps": args.fps, "size": args.size,
        "frames_without_face": result.frames_without_face,
        "curves": curves,
        "other_weights_mean": round(float(result.track.weights[:, others].mean()), 4),
        "capture_seconds_per_frame": round(seconds / args.frames, 3),
    }, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
