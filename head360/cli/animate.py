"""`python main.py animate`: ARKit weights in and out, video-driven capture, animation videos.

animate --video IN.mp4|.gif --out weights.json|.csv         capture a performance from a video
animate --video IN.mp4 --out anim.mp4 --checkpoint C        ... and drive a head with it
animate --weights W.json|.csv --out anim.mp4|.gif --checkpoint C [--subject S] [--orbit]
animate --weights W.csv --out W.json                        convert Live Link Face CSV <-> JSON
animate --animation A.json --out anim.mp4|.gif --checkpoint C   render a keyframed timeline
animate --animation A.json --out weights.csv                bake a timeline's weights per frame
animate --weights W.csv|--animation A.json|--video V --out take.glb --checkpoint C   the glTF rig animated by the take
"""

from __future__ import annotations

import argparse
import sys

TRACK_OUT = (".json", ".csv")
VIDEO_OUT = (".mp4", ".gif")
RIG_OUT = (".glb",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", help="video of a face to capture (.mp4, .mov, .webm, .avi, .mkv, .gif)")
    src.add_argument("--weights", help="ARKit weights per frame: our .json or a Live Link Face .csv")
    src.add_argument("--animation", help="keyframed timeline (.json, saved by the studio's Timeline panel)")
    parser.add_argument(
        "--out",
        required=True,
        help="weights.json | weights.csv (ARKit data), anim.mp4 | anim.gif (video) or take.glb (animated glTF rig)",
    )
    parser.add_argument(
        "--checkpoint", default=None, help="model checkpoint (.safetensors) for video output; default: the bundled demo"
    )
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto (cuda when available)")
    parser.add_argument("--subject", default=None, help="index into the checkpoint's subjects (default 0) or a .h360")
    hair = parser.add_mutually_exclusive_group()
    hair.add_argument("--hairstyle", default=None, help="hairstyle name (default: the subject's)")
    hair.add_argument("--no-hair", action="store_true", help="render the head without hair")
    parser.add_argument("--orbit", action="store_true", help="orbit the camera 360 degrees over the animation")
    parser.add_argument("--fps", type=float, default=None, help="output frame rate (default: the source's)")
    parser.add_argument("--resolution", type=int, default=None, help="video frame side in pixels (default: model's)")
    parser.add_argument("--quality", default="full", help="render quality preset: full or preview")
    parser.add_argument("--pitch", type=float, default=0.0, help="camera elevation in degrees (tracks)")
    parser.add_argument("--no-head-pose", action="store_true", help="ignore the recorded head rotation")
    parser.add_argument(
        "--timecode-fps", type=float, default=60.0, help="frame rate of Live Link Face timecodes (60 or 30)"
    )
    parser.add_argument("--smoothing", type=float, default=0.025, help="capture: temporal filter sigma in seconds")
    parser.add_argument("--max-frames", type=int, default=None, help="capture: read at most this many video frames")
    from head360.cli.export_rig import add_rig_arguments

    add_rig_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from head360.cli._model_args import check_output
    from head360.errors import Head360Error

    out = check_output(args.out, TRACK_OUT + VIDEO_OUT + RIG_OUT, "--out")
    to_rig = out.suffix.lower() in RIG_OUT
    to_video = out.suffix.lower() in VIDEO_OUT
    if to_video and args.fps is not None:
        from head360.export.video import check_fps

        check_fps(args.fps, out)
    if not args.timecode_fps > 0:
        raise Head360Error(f"--timecode-fps must be positive, got {args.timecode_fps}")
    if args.max_frames is not None and args.max_frames < 1:
        raise Head360Error(f"--max-frames must be at least 1, got {args.max_frames}")
    if args.smoothing < 0:
        raise Head360Error(f"--smoothing must be >= 0 seconds, got {args.smoothing}")
    config = _render_config(args)
    ckpt = None
    if to_video or to_rig:
        ckpt = _load_checkpoint(args)
    elif args.checkpoint is not None and args.video is None:
        print("note: --checkpoint is only used to render videos; ignored", file=sys.stderr)

    from head360.anim import arkit_io

    if args.video is not None:
        track = _capture(args, None if ckpt is None else ckpt[0].generator.mesh)
    elif args.weights is not None:
        track, report = arkit_io.read_track(Path(args.weights), args.timecode_fps)
        print(report.summary(), file=sys.stderr)
    else:
        from head360.anim.timeline import Timeline

        timeline = Timeline.load(args.animation)
        if not to_video:
            track = _bake(timeline, config.fps)
    if to_rig:
        return _write_rig(args, ckpt, track, config, out)
    if not to_video:
        if config.fps is not None and args.animation is None and config.fps != track.fps:
            track = track.resampled(config.fps)
        arkit_io.write_track(track, out, args.timecode_fps)
        print(f"wrote {out}: {len(track)} frames ({track.duration:.2f} s at {track.fps:g} fps)")
        return 0

    from head360.anim.render import timeline_states, track_states, write_animation

    checkpoint, subject = ckpt
    if args.animation is not None:
        states = timeline_states(timeline, config)
        fps = config.fps or timeline.fps
    else:
        states = track_states(track, config)
        fps = config.fps or track.fps
    from tqdm import tqdm

    with tqdm(total=len(states), unit="frame", desc="animate") as bar:
        n = write_animation(checkpoint.generator, subject, states, out, fps, config, progress=bar.update)
    print(f"wrote {out}: {n} frames at {fps:g} fps")
    return 0


def _write_rig(args, ckpt, track, config, out) -> int:
    from head360.cli.export_rig import rig_config
    from head360.export.rig import export_rig, summary

    if config.fps is not None and config.fps != track.fps:
        track = track.resampled(config.fps)
    checkpoint, subject = ckpt
    rig = export_rig(
        checkpoint.generator,
        subject,
        out,
        hairstyle=None if args.no_hair else "keep",
        config=rig_config(args),
        take=track,
        head_pose=not args.no_head_pose,
    )
    print(f"wrote {out}: {summary(rig)}")
    return 0


def _render_config(args):
    from head360.anim.render import AnimationRenderConfig

    return AnimationRenderConfig(
        fps=args.fps,
        resolution=args.resolution,
        quality=args.quality,
        orbit=args.orbit,
        pitch=args.pitch,
        head_pose=not args.no_head_pose,
        hair=not args.no_hair,
    ).validate()


def _load_checkpoint(args):
    """-> (checkpoint, subject with the chosen hairstyle)."""
    from dataclasses import replace

    from head360.assets import checkpoint_or_bundled
    from head360.device import resolve_device
    from head360.model.checkpoint import load_checkpoint, resolve_subject

    ckpt = load_checkpoint(checkpoint_or_bundled(args.checkpoint), device=resolve_device(args.device))
    ckpt.generator.quality(args.quality)
    subject = resolve_subject(ckpt, args.subject)
    if args.hairstyle is not None:
        ckpt.generator.hairstyle_index(args.hairstyle)
        style = None if args.hairstyle.strip().lower() == "none" else args.hairstyle
        subject = replace(subject, hairstyle=style)
    return ckpt, subject


def _capture(args, mesh):
    from tqdm import tqdm

    from head360.anim.capture import CaptureConfig, capture_video

    cfg = CaptureConfig(smoothing=args.smoothing, max_frames=args.max_frames)
    bars: dict = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage not in bars:
            for b in bars.values():
                b.close()
            bars[stage] = tqdm(total=total, unit="frame", desc="landmarks" if stage == "detect" else "fit")
        bars[stage].update(done - bars[stage].n)

    try:
        result = capture_video(args.video, mesh, cfg, progress)
    finally:
        for b in bars.values():
            b.close()
    print(result.summary(), file=sys.stderr)
    return result.track


def _bake(timeline, fps):
    from head360.anim.arkit_io import WeightTrack

    if fps is not None and fps != timeline.fps:
        from dataclasses import replace

        timeline = replace(timeline, fps=fps, _keys=list(timeline.keys))
    times = timeline.frame_times()
    return WeightTrack(times, timeline.weights_at(times), timeline.fps, None, None, timeline.name)
